// A C kernel module built from older sources (it lacks a kernel the TypeScript side calls) is reported as out of
// date and not used, so training falls back to the other kernels instead of failing mid-step with "... is not a
// function". The stale module here is the smallest valid WebAssembly module: no exports at all. A stale relaxed-SIMD
// module falls back to the plain one the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
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
  assert.match(status.detail, /out of date \(no conv2d_backprop_filter, .*add_channel_bias, conv2d_pointwise\); run "node scripts\/build-native.mjs"/);
  temp.cleanup();
});

test('an out-of-date relaxed-SIMD module beside a current plain one: the plain one is used, and the status says why', { skip: existsSync(path.join(process.cwd(), 'native', 'build', 'conv-kernels.wasm')) ? false : 'conv-kernels.wasm not built (node scripts/build-native.mjs needs clang and lld)' }, async () => {
  const temp = tempDir('pawprint-stale-relaxed-');
  copyFileSync(path.join(process.cwd(), 'native', 'build', 'conv-kernels.wasm'), path.join(temp.path, 'conv-kernels.wasm'));
  writeFileSync(path.join(temp.path, 'conv-kernels-relaxed.wasm'), Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
  process.env.PAWPRINT_NATIVE_DIR = temp.path;
  const { nativeKernelStatus, setNativeKernelBuild } = await import('../../../electron/tfjs/backend/native-kernels');
  setNativeKernelBuild('auto'); // forget the module the test above loaded
  const status = nativeKernelStatus();
  assert.equal(status.available, true, status.detail);
  assert.equal(status.relaxed, false);
  assert.match(status.detail, /conv-kernels\.wasm \(plain SIMD; .*conv-kernels-relaxed\.wasm is out of date\)/);
  temp.cleanup();
});
