// Low-level helpers for kernels we add to the WebAssembly backend.
// Kernels run below the engine: they receive and return TensorInfo (not Tensor), must call other kernels
// through their kernelFunc (not tf ops, which would be recorded and tracked twice), and must dispose every
// intermediate TensorInfo they create with backend.disposeData.
import { tf } from '../tf';

export type TensorInfo = import('@tensorflow/tfjs').TensorInfo;
export type KernelConfig = import('@tensorflow/tfjs').KernelConfig;
type DataType = import('@tensorflow/tfjs').DataType;
type DataId = TensorInfo['dataId'];
type NamedAttrMap = import('@tensorflow/tfjs').NamedAttrMap;

/** The parts of tfjs-backend-wasm's BackendWasm that our kernels use. */
export interface WasmBackend {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: DataId, force?: boolean): boolean;
  /** One more tensor uses this buffer (it is freed when the last one is disposed). */
  incRef(dataId: DataId): void;
}

/** Original wasm kernel configs that we replaced; calls by name go to these so overrides never recurse. */
const originals = new Map<string, KernelConfig>();

export function rememberOriginal(name: string, config: KernelConfig): void {
  if (!originals.has(name)) originals.set(name, config);
}

export function originalKernel(name: string): KernelConfig | undefined {
  return originals.get(name);
}

/** Runs a wasm kernel (the original one when we replaced it) directly, outside the engine. */
export function runWasm(
  backend: WasmBackend,
  name: string,
  inputs: Record<string, TensorInfo>,
  attrs: Record<string, unknown> = {},
): TensorInfo {
  const config = originals.get(name) ?? tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`WebAssembly backend has no kernel ${name}`);
  const out = config.kernelFunc({
    inputs,
    backend: backend as unknown as Parameters<KernelConfig['kernelFunc']>[0]['backend'],
    attrs: attrs as NamedAttrMap,
  });
  if (Array.isArray(out)) throw new Error(`kernel ${name} returned several outputs`);
  return out;
}

/** Disposes intermediate results; skips undefined so callers can pass optional ones. */
export function release(backend: WasmBackend, ...infos: (TensorInfo | undefined)[]): void {
  for (const info of infos) if (info) backend.disposeData(info.dataId);
}

export function f32(backend: WasmBackend, t: TensorInfo): Float32Array {
  const a = backend.typedArrayFromHeap(t);
  if (!(a instanceof Float32Array)) throw new Error(`expected a float32 tensor, got ${t.dtype}`);
  return a;
}

export function reshape(backend: WasmBackend, x: TensorInfo, shape: number[]): TensorInfo {
  return runWasm(backend, 'Reshape', { x }, { shape });
}

/**
 * Swaps the first and last axes of a rank-4 tensor: [A,H,W,B] -> [B,H,W,A] (perm [3,1,2,0]), the layout
 * change the filter gradient needs. Done as a loop over the wasm heap that moves one AxB tile per pixel,
 * so reads and writes stay within a few cache lines; the wasm backend's generic Transpose walks element
 * by element with index arithmetic and was slower here.
 */
export function swapOuterAndChannels(backend: WasmBackend, x: TensorInfo): TensorInfo {
  if (x.shape.length !== 4) throw new Error(`swapOuterAndChannels needs a rank-4 tensor, got rank ${x.shape.length}`);
  const [A, H, W, B] = x.shape;
  const M = H * W;
  const out = backend.makeOutput([B, H, W, A], 'float32');
  // Views taken after makeOutput: an allocation can grow (and detach) the heap.
  const src = f32(backend, x);
  const dst = f32(backend, out);
  const srcRow = M * B; // stride of a in the input
  const dstRow = M * A; // stride of b in the output
  for (let m = 0; m < M; m++) {
    const sm = m * B;
    const dm = m * A;
    for (let b = 0; b < B; b++) {
      let si = sm + b;
      const di = dm + b * dstRow;
      for (let a = 0; a < A; a++, si += srcRow) dst[di + a] = src[si];
    }
  }
  return out;
}

/** Inserts (s-1) zeros after every row/column of a NHWC tensor: the "dilated" gradient of a strided conv. */
export function dilateNhwc(backend: WasmBackend, x: TensorInfo, sH: number, sW: number): TensorInfo {
  if (sH === 1 && sW === 1) return reshape(backend, x, x.shape);
  const [n, h, w, c] = x.shape;
  const hh = (h - 1) * sH + 1;
  const ww = (w - 1) * sW + 1;
  const out = backend.makeOutput([n, hh, ww, c], 'float32');
  const src = f32(backend, x);
  const dst = f32(backend, out);
  dst.fill(0);
  let s = 0;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const base = ((b * hh + i * sH) * ww + j * sW) * c;
        for (let k = 0; k < c; k++) dst[base + k] = src[s++];
      }
    }
  }
  return out;
}

/**
 * Pads (positive amounts) and crops (negative amounts) the two spatial axes of a NHWC tensor,
 * returning the tensor plus the non-negative padding still to apply (passed to the conv as explicit pads).
 */
export function cropForPads(
  backend: WasmBackend,
  x: TensorInfo,
  pads: { top: number; bottom: number; left: number; right: number },
): { x: TensorInfo; pad: [[number, number], [number, number], [number, number], [number, number]] } {
  const [n, h, w, c] = x.shape;
  const cropTop = Math.max(0, -pads.top);
  const cropBottom = Math.max(0, -pads.bottom);
  const cropLeft = Math.max(0, -pads.left);
  const cropRight = Math.max(0, -pads.right);
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [Math.max(0, pads.top), Math.max(0, pads.bottom)],
    [Math.max(0, pads.left), Math.max(0, pads.right)],
    [0, 0],
  ];
  if (cropTop + cropBottom + cropLeft + cropRight === 0) return { x: reshape(backend, x, x.shape), pad };
  const cropped = runWasm(backend, 'Slice', { x }, {
    begin: [0, cropTop, cropLeft, 0],
    size: [n, h - cropTop - cropBottom, w - cropLeft - cropRight, c],
  });
  return { x: cropped, pad };
}
