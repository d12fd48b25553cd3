import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf } from '../../../electron/tfjs/tf';
import { locateWasmDir, selectBackend, unpackedAsarPath } from '../../../electron/tfjs/backend/select-backend';
import { installUtilShim, isNullOrUndefined } from '../../../electron/tfjs/backend/node-util-shim';

const require = createRequire(import.meta.url);
const tfjsNodeInstalled = (() => {
  try {
    require.resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();

/** One tiny conv training step: needs Conv2DBackpropFilter, which stock wasm 4.22 lacks. */
function convTrainingStepLoss(): number {
  // Variables are not tracked by tidy: dispose it (and its initial value) explicitly.
  const init = tf.randomNormal([3, 3, 2, 4], 0, 0.1, 'float32', 1);
  const w = tf.variable(init);
  init.dispose();
  const value = tf.tidy(() => {
    const x = tf.randomNormal([2, 8, 8, 2], 0, 1, 'float32', 2) as import('@tensorflow/tfjs').Tensor4D;
    const optimizer = tf.train.sgd(0.1);
    const loss = optimizer.minimize(() => tf.mean(tf.square(tf.conv2d(x, w as import('@tensorflow/tfjs').Tensor4D, 1, 'valid'))), true);
    optimizer.dispose();
    return loss!.dataSync()[0];
  });
  w.dispose();
  return value;
}

describe('util.isNullOrUndefined shim for tfjs-node on Node 23+', () => {
  test('isNullOrUndefined has the old semantics', () => {
    assert.equal(isNullOrUndefined(null), true);
    assert.equal(isNullOrUndefined(undefined), true);
    for (const v of [0, '', false, Number.NaN, {}, []]) assert.equal(isNullOrUndefined(v), false);
  });

  test('installs the function only where it is missing', () => {
    const bare: { isNullOrUndefined?: unknown } = {};
    assert.equal(installUtilShim(bare), true);
    assert.equal(typeof bare.isNullOrUndefined, 'function');
    assert.equal((bare.isNullOrUndefined as (v: unknown) => boolean)(null), true);
    assert.equal((bare.isNullOrUndefined as (v: unknown) => boolean)(1), false);

    const original = () => 'kept';
    const modern = { isNullOrUndefined: original };
    assert.equal(installUtilShim(modern), false);
    assert.equal(modern.isNullOrUndefined, original);
  });
});

describe('locating the WebAssembly binaries', () => {
  test('finds the package dist folder holding the .wasm files', () => {
    const { dir, searched } = locateWasmDir();
    assert.ok(dir, `not found in ${searched.join(', ')}`);
    assert.ok(existsSync(path.join(dir, 'tfjs-backend-wasm-simd.wasm')));
  });

  test('an override without the binaries is skipped, not trusted', () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'pawprint-wasm-'));
    const previous = process.env.PAWPRINT_WASM_DIR;
    process.env.PAWPRINT_WASM_DIR = empty;
    try {
      const { dir, searched } = locateWasmDir();
      assert.equal(searched[0], path.resolve(empty));
      assert.notEqual(dir, path.resolve(empty));
    } finally {
      if (previous === undefined) delete process.env.PAWPRINT_WASM_DIR;
      else process.env.PAWPRINT_WASM_DIR = previous;
      rmSync(empty, { recursive: true, force: true });
    }
  });

  test('maps app.asar paths to app.asar.unpacked when the unpacked copy exists', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'pawprint-asar-'));
    try {
      const inside = path.join(root, 'app.asar', 'node_modules', 'wasm');
      const unpacked = path.join(root, 'app.asar.unpacked', 'node_modules', 'wasm');
      assert.equal(unpackedAsarPath(inside), inside, 'no unpacked copy: unchanged');
      mkdirSync(unpacked, { recursive: true });
      writeFileSync(path.join(unpacked, 'x'), '');
      assert.equal(unpackedAsarPath(inside), unpacked);
      assert.equal(unpackedAsarPath(unpacked), unpacked);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('selectBackend', () => {
  test('auto picks the best available backend and says why it skipped better ones', async () => {
    const info = await selectBackend('auto');
    assert.equal(info.requested, 'auto');
    assert.equal(info.name, tf.getBackend());
    assert.equal(info.versions['tfjs-core'], tf.version['tfjs-core']);
    assert.equal(info.versions['tfjs-layers'], tf.version['tfjs-layers']);
    assert.equal(info.versions.node, process.versions.node);
    if (tfjsNodeInstalled) {
      assert.equal(info.name, 'tensorflow');
      assert.deepEqual(info.fallbackReasons, []);
    } else {
      assert.equal(info.name, 'wasm');
      assert.equal(info.fallbackReasons.length, 1);
      assert.match(info.fallbackReasons[0], /tfjs-node.*not installed/);
      assert.ok(info.versions['tfjs-backend-wasm']);
      assert.ok((info.threads ?? 0) >= 1);
      assert.ok(info.wasmKernels?.added.includes('Conv2DBackpropFilter'));
    }
    assert.ok(Number.isFinite(convTrainingStepLoss()));
  });

  test('an explicit node request fails with a clear error when tfjs-node is missing', { skip: tfjsNodeInstalled && 'tfjs-node is installed here' }, async () => {
    await assert.rejects(selectBackend('node'), (e: Error) => {
      assert.match(e.message, /--backend node was requested/);
      assert.match(e.message, /not installed/);
      return true;
    });
  });

  test('wasm trains a conv layer and records versions and threads', async () => {
    const info = await selectBackend('wasm');
    assert.equal(info.name, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.deepEqual(info.fallbackReasons, []);
    assert.equal(info.versions['tfjs-backend-wasm'], '4.22.0');
    // Which kernel build ran goes into every run record with the versions; the relaxed one wherever it was built
    // (this Node needs the V8 flag the loader turns on).
    const built = (file: string) => existsSync(path.join(process.cwd(), 'native', 'build', file));
    const expected = built('conv-kernels-relaxed.wasm') ? 'C, relaxed SIMD (fused multiply-add)' : built('conv-kernels.wasm') ? 'C, plain SIMD' : 'none (tfjs kernels)';
    assert.equal(info.versions['pawprint-kernels'], expected, info.nativeKernels);
    const before = tf.memory().numTensors;
    assert.ok(Number.isFinite(convTrainingStepLoss()));
    assert.equal(tf.memory().numTensors, before);
  });

  test('cpu always works and has no fallback reasons', async () => {
    const info = await selectBackend('cpu');
    assert.equal(info.name, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
    assert.deepEqual(info.fallbackReasons, []);
    assert.ok(info.versions['tfjs-backend-cpu']);
    assert.ok(Number.isFinite(convTrainingStepLoss()));
  });

  test('selecting again switches back (one engine shared by all backends)', async () => {
    assert.equal((await selectBackend('wasm')).name, 'wasm');
    assert.equal((await selectBackend('cpu')).name, 'cpu');
    assert.equal((await selectBackend('wasm')).name, 'wasm');
  });
});
