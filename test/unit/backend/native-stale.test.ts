// A C kernel module built from older sources (it lacks a kernel the TypeScript side calls) is reported as out of
// date and not used, so training falls back to the other kernels instead of failing mid-step with "... is not a
// function". The stale module here is the smallest valid WebAssembly module: no exports at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../../support/temp';

test('an out-of-date C kernel module is reported by name and not used', async () => {
  const temp = tempDir('pawprint-stale-native-');
  const dir = temp.path;
  writeFileSync(path.join(dir, 'conv-kernels.wasm'), Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
  process.env.PAWPRINT_NATIVE_DIR = dir;
  const { nativeKernelStatus } = await import('../../../electron/tfjs/backend/native-kernels');
  const status = nativeKernelStatus();
  assert.equal(status.available, false);
  assert.match(status.detail, /out of date \(no conv2d_backprop_filter, .*add_channel_bias\); run "node scripts\/build-native.mjs"/);
  temp.cleanup();
});
