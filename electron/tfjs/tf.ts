// The one place training code gets TensorFlow.js from.
// Loaded through require so that tfjs-core, tfjs-layers and every backend share one engine instance:
// mixing ESM and CJS entry points of these packages creates two engines, and a backend registered in one
// ("wasm") is then "not found in registry" in the other.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const tf = require('@tensorflow/tfjs') as typeof import('@tensorflow/tfjs');
export type Tensor = import('@tensorflow/tfjs').Tensor;
export type LayersModel = import('@tensorflow/tfjs').LayersModel;

/** Loads a module that registers itself with the shared engine (a backend), through the same loader. */
export function requireTfModule<T = unknown>(name: string): T {
  return require(name) as T;
}
