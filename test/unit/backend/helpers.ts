// Shared helpers for the backend tests: run the same computation on the CPU and WebAssembly backends
// from identical input values and compare the results.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../../../electron/tfjs/tf';
import { selectBackend } from '../../../electron/tfjs/backend/select-backend';
import { NATIVE_RELAXED_WASM, NATIVE_WASM } from '../../../electron/tfjs/backend/native-kernels';

export type Tensor = import('@tensorflow/tfjs').Tensor;

let wasmReady: Promise<unknown> | null = null;

/** Initialises the wasm backend (with our kernels) once per test file; leaves CPU active. */
export async function setupBackends(): Promise<void> {
  wasmReady ??= selectBackend('wasm');
  await wasmReady;
  await tf.setBackend('cpu');
}

/** Deterministic pseudo-random values (mulberry32), so failures reproduce. */
export function randomValues(size: number, seed: number, scale = 1): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** Runs fn on a backend and returns its outputs' values (all tensors disposed). */
export async function runOn(backend: 'cpu' | 'wasm', fn: () => Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const outs = tf.tidy(fn);
  const values = outs.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(outs);
  return values;
}

/** max |a-b| / max |b| (0 when both are all zeros). */
export function relativeError(actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= diff)) diff = d; // also catches NaN
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  if (scale === 0) return diff;
  return diff / scale;
}

/** Number of live data buffers the wasm backend holds (catches intermediates a kernel forgot to free). */
export function wasmDataCount(): number {
  const backend = tf.findBackend('wasm') as unknown as { dataIdMap: { numDataIds(): number } } | undefined;
  if (!backend) throw new Error('wasm backend not initialised');
  return backend.dataIdMap.numDataIds();
}

/**
 * Runs fn on the CPU backend and on WebAssembly from the same inputs, checks WebAssembly frees every buffer it made,
 * and that the results agree within `tolerance` (relative error; 0 = exactly). Leaves the CPU backend active.
 */
export async function sameOnBoth(label: string, fn: () => Tensor, tolerance: number): Promise<void> {
  const [expected] = await runOn('cpu', () => [fn()]);
  await tf.setBackend('wasm');
  const buffers = wasmDataCount();
  const [actual] = await runOn('wasm', () => [fn()]);
  assert.equal(wasmDataCount(), buffers, `${label}: wasm buffers leaked`);
  await tf.setBackend('cpu');
  const err = relativeError(actual!, expected!);
  if (tolerance === 0) assert.equal(err, 0, `${label}: differs from the CPU backend`);
  else assert.ok(err < tolerance, `${label}: relative error ${err.toExponential(2)} >= ${tolerance}`);
}

const builtHere = (file: string) => existsSync(path.join(process.cwd(), 'native', 'build', file));
const skipPlain = builtHere(NATIVE_WASM) ? false : `${NATIVE_WASM} not built (node scripts/build-native.mjs needs clang and lld)`;
const skipRelaxed = skipPlain
  || (builtHere(NATIVE_RELAXED_WASM) ? false : `${NATIVE_RELAXED_WASM} not built (relaxed SIMD needs clang >= 16: apt-get install clang-16 lld-16)`);

/** The two builds of Pawprint's C kernels a test runs on (setNativeKernelBuild's choice), each skipped with the reason when not built. */
export const NATIVE_BUILDS = [
  { name: 'relaxed SIMD', choice: 'auto', relaxed: true, skip: skipRelaxed },
  { name: 'plain SIMD', choice: 'plain', relaxed: false, skip: skipPlain },
] as const;
