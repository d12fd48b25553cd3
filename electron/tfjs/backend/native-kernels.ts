// Pawprint's own C kernels (native/*.c, built to WebAssembly with SIMD by scripts/build-native.mjs), run on
// tfjs-backend-wasm's own memory: the module imports the backend's WebAssembly.Memory, so kernels read and
// write tensors in place. When the .wasm was not built (no clang at install time) or cannot be instantiated,
// callers keep using the XNNPACK-based kernels; `nativeKernelStatus()` says which and why.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';

export const NATIVE_WASM = 'conv-kernels.wasm';
/** The same kernels built with relaxed SIMD (fused multiply-add); used instead where the engine runs them. */
export const NATIVE_RELAXED_WASM = 'conv-kernels-relaxed.wasm';

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
  /** y = act(x . w + b) for x [M][K], w [K][CO], b [CO] or 0 (no bias); CO a multiple of 8; act 0 none, 1 relu, 2 relu6. */
  conv2d_pointwise(x: number, w: number, b: number, y: number, M: number, K: number, CO: number, act: number): void;
}

const KERNEL_NAMES: readonly (keyof NativeConvKernels)[] = [
  'conv2d_backprop_filter', 'conv2d_forward', 'max_pool_grad_2x2', 'matmul_nn', 'matmul_nt', 'add_channel_bias',
  'conv2d_pointwise',
];

// The WebAssembly JS API, typed here because this project's TypeScript libs (no DOM) do not declare it.
type WasmMemory = object;
interface WasmApi {
  Memory: abstract new (...args: never[]) => WasmMemory;
  Module: (new (bytes: Uint8Array) => object) & { exports(module: object): { name: string; kind: string }[] };
  validate(bytes: Uint8Array): boolean;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface Loaded {
  module: object;
  file: string;
  relaxed: boolean;
  /** The module instantiated on each backend heap it has run on. */
  instances: WeakMap<WasmMemory, NativeConvKernels>;
}

/** Inside an Electron asar archive a .wasm must be read from its unpacked twin (as in select-backend.ts). */
function unpackedAsarPath(p: string): string {
  const marker = `app.asar${path.sep}`;
  const unpacked = p.replace(marker, `app.asar.unpacked${path.sep}`);
  return p.includes(marker) && existsSync(unpacked) ? unpacked : p;
}

let loaded: Loaded | null | undefined;
let reason = '';
let build: 'auto' | 'plain' = 'auto';

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

/**
 * The relaxed-SIMD build (fused multiply-add, see MADD in native/conv-kernels.c) where this engine runs it: Electron's
 * V8 does by default; Node 20's only behind --experimental-wasm-relaxed-simd, which is turned on here for that (V8
 * reads it when it compiles a module; it changes nothing else). PAWPRINT_RELAXED_SIMD=0 keeps the plain build, whose
 * arithmetic is the same on every machine. Returns why the relaxed build is not used when it is not.
 */
function relaxedModule(dir: string): { module: object; file: string } | string {
  if (process.env.PAWPRINT_RELAXED_SIMD === '0') return 'relaxed SIMD turned off (PAWPRINT_RELAXED_SIMD=0)';
  if (build === 'plain') return 'plain build chosen';
  const file = path.join(dir, NATIVE_RELAXED_WASM);
  if (!existsSync(file)) return `${NATIVE_RELAXED_WASM} not built (needs clang >= 16)`;
  const bytes = readFileSync(file);
  if (!WA.validate(bytes)) {
    try {
      setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      // An engine without the flag: the check below says so.
    }
    if (!WA.validate(bytes)) return `this engine (V8 ${process.versions.v8}) does not run relaxed SIMD`;
  }
  try {
    return { module: new WA.Module(bytes), file };
  } catch (e) {
    return `${file} could not be compiled: ${e instanceof Error ? e.message : String(e)}`;
  }
}

function missingKernels(module: object): string[] {
  // A module built from older sources lacks newer kernels: use none rather than fail mid-training.
  const exported = new Set(WA.Module.exports(module).map((e) => e.name));
  return KERNEL_NAMES.filter((name) => !exported.has(name));
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
  const relaxed = relaxedModule(path.dirname(file));
  if (typeof relaxed !== 'string' && missingKernels(relaxed.module).length === 0) {
    loaded = { ...relaxed, relaxed: true, instances: new WeakMap() };
    reason = `Pawprint C kernels from ${relaxed.file} (relaxed SIMD: fused multiply-add)`;
    return loaded;
  }
  const whyPlain = typeof relaxed === 'string' ? relaxed : `${relaxed.file} is out of date`;
  try {
    const module = new WA.Module(readFileSync(file));
    const missing = missingKernels(module);
    if (missing.length) {
      reason = `Pawprint C kernels in ${file} are out of date (no ${missing.join(', ')}); run "node scripts/build-native.mjs"`;
      return null;
    }
    loaded = { module, file, relaxed: false, instances: new WeakMap() };
    reason = `Pawprint C kernels from ${file} (plain SIMD; ${whyPlain})`;
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

/**
 * Which build to load from now on: 'auto' (relaxed SIMD where the engine runs it) or 'plain' (multiply then add,
 * the same on every machine). For tests and benches that compare the two in one process.
 */
export function setNativeKernelBuild(choice: 'auto' | 'plain'): void {
  build = choice;
  loaded = undefined;
}

const calls = new Map<keyof NativeConvKernels, number>();

/**
 * The exports, each counting its calls: tests tell which kernel ran from the counts rather than from timings, and a
 * count per whole-tensor kernel call costs nothing beside the kernel.
 */
function counted(exports: NativeConvKernels): NativeConvKernels {
  const wrapped: Partial<Record<keyof NativeConvKernels, (...args: number[]) => void>> = {};
  for (const name of KERNEL_NAMES) {
    const kernel = exports[name] as (...args: number[]) => void;
    wrapped[name] = (...args: number[]) => {
      calls.set(name, (calls.get(name) ?? 0) + 1);
      kernel(...args);
    };
  }
  return wrapped as unknown as NativeConvKernels;
}

/** How many times each C kernel has run in this thread (all builds and heaps together; a worker thread counts its own). */
export function nativeKernelCalls(): Record<keyof NativeConvKernels, number> {
  return Object.fromEntries(KERNEL_NAMES.map((name) => [name, calls.get(name) ?? 0])) as Record<keyof NativeConvKernels, number>;
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
  let kernels = mod.instances.get(memory);
  if (!kernels) {
    try {
      const instance = new WA.Instance(mod.module, { env: { memory } });
      kernels = counted(instance.exports as unknown as NativeConvKernels);
      mod.instances.set(memory, kernels);
    } catch (e) {
      reason = `Pawprint C kernels could not be instantiated: ${e instanceof Error ? e.message : String(e)}`;
      loaded = null;
      return null;
    }
  }
  return kernels;
}

/** Whether the C kernels are available, and from where or why not (recorded with the backend choice). */
export function nativeKernelStatus(): { available: boolean; relaxed: boolean; detail: string } {
  const mod = load();
  return { available: mod !== null, relaxed: mod?.relaxed === true, detail: reason };
}
