// Chooses the TensorFlow.js backend a training run uses, and records why.
//
// Order for 'auto': tfjs-node (native libtensorflow, optional dependency) -> WebAssembly (with the training
// kernels it lacks registered by us) -> plain CPU (correct but minutes per CNN step at 160x160).
// An explicit request ('node' or 'wasm') that cannot be honoured throws instead of silently falling back,
// so `--backend node` never trains on something else.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { tf, requireTfModule } from '../tf';
import { installUtilShim } from './node-util-shim';
import { registerWasmTrainingKernels, type WasmKernelRegistration } from './wasm-gradients';
import { nativeKernelStatus } from './native-kernels';

export type BackendRequest = 'auto' | 'node' | 'wasm' | 'cpu';
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  /** tf.getBackend() after selection. */
  name: BackendName;
  requested: BackendRequest;
  /** Why better backends were skipped, in plain words (empty when the first choice worked). */
  fallbackReasons: string[];
  /** tfjs-core, tfjs-layers, the backend package, node (and electron/libtensorflow when known). */
  versions: Record<string, string>;
  /** WebAssembly worker threads in use (1 = single-threaded). */
  threads?: number;
  /** Kernels we added to / replaced in the WebAssembly backend. */
  wasmKernels?: WasmKernelRegistration;
  /** Whether Pawprint's C convolution kernels run inside the WebAssembly backend, and from where or why not. */
  nativeKernels?: string;
}

const requireHere = createRequire(import.meta.url);

interface WasmModule {
  setWasmPaths(prefixOrFileMap: string | Record<string, string>, usePlatformFetch?: boolean): void;
  getThreadsCount?(): number;
  version_wasm?: string;
}

interface NodeModule {
  version?: { 'tfjs-node'?: string } | string;
}

const WASM_BINARY = 'tfjs-backend-wasm-simd.wasm';

/** Turns a path inside an Electron asar archive into its unpacked twin when that exists (wasm must be a real file). */
export function unpackedAsarPath(p: string): string {
  const marker = `app.asar${path.sep}`;
  if (!p.includes(marker)) return p;
  const unpacked = p.replace(marker, `app.asar.unpacked${path.sep}`);
  return existsSync(unpacked) ? unpacked : p;
}

/**
 * The folder holding tfjs-backend-wasm's .wasm files. Resolved from the package itself (not from the code's
 * own location) so it also works when our code is bundled into dist/ by esbuild, and inside Electron where the
 * package may live in app.asar.unpacked. PAWPRINT_WASM_DIR overrides.
 */
export function locateWasmDir(): { dir: string | null; searched: string[] } {
  const candidates: string[] = [];
  const override = process.env.PAWPRINT_WASM_DIR;
  if (override) candidates.push(override);
  const resolvers = [
    () => requireHere.resolve('@tensorflow/tfjs-backend-wasm'),
    // Running from the project folder with code loaded from elsewhere (tests, scripts).
    () => createRequire(path.join(process.cwd(), 'package.json')).resolve('@tensorflow/tfjs-backend-wasm'),
  ];
  for (const resolve of resolvers) {
    try {
      candidates.push(path.dirname(resolve()));
    } catch {
      // Not resolvable from there; try the next place.
    }
  }
  // Packaged Electron app: asarUnpack'ed node_modules under the resources folder.
  const resourcesPath = (process as { resourcesPath?: string }).resourcesPath;
  if (resourcesPath) {
    candidates.push(path.join(resourcesPath, 'app.asar.unpacked', 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist'));
  }
  // A bundled app may ship the binaries next to its entry script.
  if (process.argv[1]) candidates.push(path.dirname(path.resolve(process.argv[1])));
  const searched: string[] = [];
  for (const c of candidates) {
    const dir = unpackedAsarPath(path.resolve(c));
    if (searched.includes(dir)) continue;
    searched.push(dir);
    if (existsSync(path.join(dir, WASM_BINARY))) return { dir, searched };
  }
  return { dir: null, searched };
}

function baseVersions(): Record<string, string> {
  const v = tf.version as Record<string, string>;
  const versions: Record<string, string> = {
    'tfjs-core': v['tfjs-core'] ?? 'unknown',
    'tfjs-layers': v['tfjs-layers'] ?? 'unknown',
    node: process.versions.node,
  };
  if (process.versions.electron) versions.electron = process.versions.electron;
  return versions;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Loads tfjs-node and makes it the backend; returns null on success or the reason it is unavailable. */
async function tryNode(versions: Record<string, string>): Promise<string | null> {
  // Must happen before tfjs-node is first required (it captures util at load time).
  installUtilShim(requireHere('node:util') as object);
  let mod: NodeModule;
  try {
    mod = requireTfModule<NodeModule>('@tensorflow/tfjs-node');
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'MODULE_NOT_FOUND' && message(e).includes("'@tensorflow/tfjs-node'")) {
      return 'native TensorFlow (@tensorflow/tfjs-node, an optional dependency) is not installed';
    }
    return `native TensorFlow (@tensorflow/tfjs-node) is installed but failed to load: ${message(e)}`;
  }
  let ok = false;
  try {
    ok = await tf.setBackend('tensorflow');
  } catch (e) {
    return `native TensorFlow failed to start: ${message(e)}`;
  }
  if (!ok || tf.getBackend() !== 'tensorflow') return 'native TensorFlow failed to start (see the log for the error)';
  const nodeVersion = typeof mod.version === 'string' ? mod.version : mod.version?.['tfjs-node'];
  versions['tfjs-node'] = nodeVersion ?? 'unknown';
  const binding = (tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding;
  if (binding?.TF_Version) versions.libtensorflow = binding.TF_Version;
  return null;
}

/** Sets up the WebAssembly backend with our training kernels; returns null on success or the reason. */
async function tryWasm(versions: Record<string, string>, info: Partial<BackendInfo>): Promise<string | null> {
  let wasm: WasmModule;
  try {
    wasm = requireTfModule<WasmModule>('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    return `the WebAssembly backend package could not be loaded: ${message(e)}`;
  }
  const { dir, searched } = locateWasmDir();
  if (!dir) return `the WebAssembly binaries (${WASM_BINARY}) were not found (looked in: ${searched.join(', ')})`;
  try {
    wasm.setWasmPaths(dir.endsWith(path.sep) ? dir : dir + path.sep);
  } catch (e) {
    return `the WebAssembly backend could not be configured: ${message(e)}`;
  }
  info.wasmKernels = registerWasmTrainingKernels();
  let ok = false;
  try {
    ok = await tf.setBackend('wasm');
  } catch (e) {
    return `the WebAssembly backend failed to start: ${message(e)}`;
  }
  if (!ok || tf.getBackend() !== 'wasm') return 'the WebAssembly backend failed to start (see the log for the error)';
  versions['tfjs-backend-wasm'] = wasm.version_wasm ?? 'unknown';
  info.threads = wasm.getThreadsCount?.() ?? 1;
  const kernels = nativeKernelStatus();
  info.nativeKernels = kernels.detail;
  // In the versions, so every run record says which arithmetic ran (the relaxed build's last bits depend on the CPU).
  versions['pawprint-kernels'] = kernels.available ? (kernels.relaxed ? 'C, relaxed SIMD (fused multiply-add)' : 'C, plain SIMD') : 'none (tfjs kernels)';
  return null;
}

async function useCpu(versions: Record<string, string>): Promise<void> {
  const ok = await tf.setBackend('cpu');
  if (!ok) throw new Error('the CPU backend failed to start');
  versions['tfjs-backend-cpu'] = (tf.version as Record<string, string>)['tfjs-backend-cpu'] ?? 'unknown';
}

/**
 * Selects and initialises the backend. 'auto' tries tfjs-node, then WebAssembly, then CPU, recording
 * each skipped backend's reason; 'node' / 'wasm' throw a clear Error when unavailable; 'cpu' always works.
 */
export async function selectBackend(requested: BackendRequest): Promise<BackendInfo> {
  const versions = baseVersions();
  const fallbackReasons: string[] = [];
  const extra: Partial<BackendInfo> = {};

  if (requested === 'node' || requested === 'auto') {
    const reason = await tryNode(versions);
    if (reason === null) return { name: 'tensorflow', requested, fallbackReasons, versions };
    if (requested === 'node') throw new Error(`--backend node was requested, but ${reason}. Use --backend auto, wasm or cpu.`);
    fallbackReasons.push(`Not using native TensorFlow: ${reason}.`);
  }

  if (requested === 'wasm' || requested === 'auto') {
    const reason = await tryWasm(versions, extra);
    if (reason === null) return { name: 'wasm', requested, fallbackReasons, versions, ...extra };
    if (requested === 'wasm') throw new Error(`--backend wasm was requested, but ${reason}. Use --backend auto or cpu.`);
    fallbackReasons.push(`Not using WebAssembly: ${reason}.`);
  }

  await useCpu(versions);
  return { name: 'cpu', requested, fallbackReasons, versions };
}
