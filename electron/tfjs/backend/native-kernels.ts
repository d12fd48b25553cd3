// Pawprint's own C kernels (native/*.c, built to WebAssembly with SIMD by scripts/build-native.mjs), run on
// tfjs-backend-wasm's own memory: the module imports the backend's WebAssembly.Memory, so kernels read and
// write tensors in place. When the .wasm was not built (no clang at install time) or cannot be instantiated,
// callers keep using the XNNPACK-based kernels; `nativeKernelStatus()` says which and why.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const NATIVE_WASM = 'conv-kernels.wasm';

export interface NativeConvKernels {
  /** See native/conv-kernels.c. Pointers are byte offsets into the backend's heap. */
  conv2d_backprop_filter(
    x: number, dy: number, dw: number, N: number, H: number, W: number, C: number, OH: number, OW: number,
    CO: number, FH: number, FW: number, SH: number, SW: number, PT: number, PL: number,
  ): void;
  conv2d_forward(
    x: number, w: number, y: number, N: number, H: number, W: number, C: number, OH: number, OW: number,
    CO: number, FH: number, FW: number, SH: number, SW: number, PT: number, PL: number,
  ): void;
  max_pool_grad_2x2(x: number, dy: number, dx: number, N: number, H: number, W: number, C: number, OH: number, OW: number): void;
  /** C[M][N] = A . B, B [K][N] row-major, A[m][k] at A + 4 * (m * sam + k * sak). */
  matmul_nn(a: number, b: number, c: number, M: number, K: number, N: number, sam: number, sak: number): void;
  /** C[M][N] = A . B^T, A [M][K], B [N][K] row-major. */
  matmul_nt(a: number, b: number, c: number, M: number, K: number, N: number): void;
  /** y[r][c] = x[r][c] + b[c], C a multiple of 4. */
  add_channel_bias(x: number, b: number, y: number, rows: number, C: number): void;
}

const KERNEL_NAMES: readonly (keyof NativeConvKernels)[] = [
  'conv2d_backprop_filter', 'conv2d_forward', 'max_pool_grad_2x2', 'matmul_nn', 'matmul_nt', 'add_channel_bias',
];

// The WebAssembly JS API, typed here because this project's TypeScript libs (no DOM) do not declare it.
type WasmMemory = object;
interface WasmApi {
  Memory: abstract new (...args: never[]) => WasmMemory;
  Module: (new (bytes: Uint8Array) => object) & { exports(module: object): { name: string; kind: string }[] };
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface Loaded { module: object; file: string }

/** Inside an Electron asar archive a .wasm must be read from its unpacked twin (as in select-backend.ts). */
function unpackedAsarPath(p: string): string {
  const marker = `app.asar${path.sep}`;
  const unpacked = p.replace(marker, `app.asar.unpacked${path.sep}`);
  return p.includes(marker) && existsSync(unpacked) ? unpacked : p;
}

let loaded: Loaded | null | undefined;
let reason = '';
const instances = new WeakMap<WasmMemory, NativeConvKernels>();

/** Where the built module may be: PAWPRINT_NATIVE_DIR, next to the sources, the project folder, a packaged app. */
function candidates(): string[] {
  const out: string[] = [];
  if (process.env.PAWPRINT_NATIVE_DIR) out.push(process.env.PAWPRINT_NATIVE_DIR);
  try {
    out.push(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../native/build'));
  } catch {
    // Bundled as CommonJS without import.meta.url: the other places still apply.
  }
  try {
    const pkg = createRequire(path.join(process.cwd(), 'package.json')).resolve('./package.json');
    out.push(path.join(path.dirname(pkg), 'native', 'build'));
  } catch {
    out.push(path.join(process.cwd(), 'native', 'build'));
  }
  const resourcesPath = (process as { resourcesPath?: string }).resourcesPath;
  if (resourcesPath) out.push(path.join(resourcesPath, 'app.asar.unpacked', 'native', 'build'));
  return [...new Set(out.map((d) => unpackedAsarPath(path.resolve(d))))];
}

function load(): Loaded | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.env.PAWPRINT_NATIVE_KERNELS === '0') {
    reason = 'Pawprint C kernels turned off (PAWPRINT_NATIVE_KERNELS=0)';
    return null;
  }
  const searched = candidates();
  const file = searched.map((d) => path.join(d, NATIVE_WASM)).find((f) => existsSync(f));
  if (!file) {
    reason = `Pawprint C kernels not built (${NATIVE_WASM} not in ${searched.join(', ')}; run "node scripts/build-native.mjs" with clang and lld installed)`;
    return null;
  }
  try {
    const module = new WA.Module(readFileSync(file));
    // A module built from older sources lacks newer kernels: use none rather than fail mid-training.
    const exported = new Set(WA.Module.exports(module).map((e) => e.name));
    const missing = KERNEL_NAMES.filter((name) => !exported.has(name));
    if (missing.length) {
      reason = `Pawprint C kernels in ${file} are out of date (no ${missing.join(', ')}); run "node scripts/build-native.mjs"`;
      return null;
    }
    loaded = { module, file };
    reason = `Pawprint C kernels from ${file}`;
  } catch (e) {
    reason = `Pawprint C kernels in ${file} could not be compiled: ${e instanceof Error ? e.message : String(e)}`;
  }
  return loaded;
}

/** The backend's heap as a WebAssembly.Memory (tfjs-backend-wasm 4.x single-threaded build: Module.asm.memory). */
function backendMemory(backend: unknown): WasmMemory | null {
  const wasm = (backend as { wasm?: { asm?: { memory?: unknown }; wasmMemory?: unknown } }).wasm;
  const memory = wasm?.asm?.memory ?? wasm?.wasmMemory;
  return memory instanceof WA.Memory ? memory : null;
}

let enabled = true;

/** Turns the C kernels off and on within a process (the peer bench's before/after in one run). */
export function setNativeKernelsEnabled(on: boolean): void {
  enabled = on;
}

/** The C kernels bound to this backend's memory, or null (then use the other kernels). */
export function nativeKernels(backend: unknown): NativeConvKernels | null {
  if (!enabled) return null;
  const mod = load();
  if (!mod) return null;
  const memory = backendMemory(backend);
  if (!memory) {
    reason = 'Pawprint C kernels unused: the WebAssembly backend does not expose its memory';
    return null;
  }
  let kernels = instances.get(memory);
  if (!kernels) {
    try {
      const instance = new WA.Instance(mod.module, { env: { memory } });
      kernels = instance.exports as unknown as NativeConvKernels;
      instances.set(memory, kernels);
    } catch (e) {
      reason = `Pawprint C kernels could not be instantiated: ${e instanceof Error ? e.message : String(e)}`;
      loaded = null;
      return null;
    }
  }
  return kernels;
}

/** Whether the C kernels are available, and from where or why not (recorded with the backend choice). */
export function nativeKernelStatus(): { available: boolean; detail: string } {
  const mod = load();
  return { available: mod !== null, detail: reason };
}
