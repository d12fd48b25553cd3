// Reads the weights of a Keras HDF5 file: the weights-only files keras.applications downloads (e.g. the tutorial's
// mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5, written by Keras 2's save_weights) or a whole
// model saved with model.save('model.h5') (the same layout under /model_weights). HDF5 itself is read by h5wasm
// (the HDF Group's library compiled to WebAssembly), loaded only when an .h5 file is used.
//
// Keras's layout: the root (or /model_weights) has an attribute `layer_names`; each layer's group has
// `weight_names` such as "Conv1/kernel:0", and each weight is the dataset at <layer>/<weight name>. Attributes too
// big for an HDF5 object header are split by Keras into `<name>0`, `<name>1`, ...
import { open } from 'node:fs/promises';
import type { Dataset, Group } from 'h5wasm';

export interface NamedWeight {
  /** `layer/weight` as TF.js names it (e.g. `block_3_expand_BN/moving_mean`). */
  name: string;
  shape: number[];
  data: Float32Array;
}

export type KerasH5ErrorCode = 'not-hdf5' | 'corrupt' | 'not-keras';

export class KerasH5Error extends Error {
  override name = 'KerasH5Error';
  constructor(readonly code: KerasH5ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

type H5 = typeof import('h5wasm').default;
let library: Promise<H5> | undefined;

/** h5wasm, once per process, with HDF5 errors thrown as exceptions instead of printed. */
function h5wasm(): Promise<H5> {
  library ??= import('h5wasm/node').then(async (m) => {
    const lib = m.default as unknown as H5;
    const module = await lib.ready;
    module.activate_throwing_error_handler();
    return lib;
  });
  return library;
}

/** HDF5's error text is a stack; its last "minor:" line says what went wrong in words. */
function hdf5Reason(error: unknown): string {
  const text = String((error as Error)?.message ?? error);
  const minors = [...text.matchAll(/minor:\s*(.+)/g)].map((m) => m[1].trim());
  return minors.at(-1) ?? text.split('\n')[0].slice(0, 200);
}

/** True when the file starts with the HDF5 signature (Keras never writes a user block before it). */
export async function isHdf5File(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(HDF5_SIGNATURE.length);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return bytesRead === head.length && head.equals(HDF5_SIGNATURE);
  } finally {
    await handle.close();
  }
}

function asStrings(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flat(Infinity).map((v) => String(v));
  // Keras stores an empty name list as an empty float array.
  if (ArrayBuffer.isView(value) && (value as unknown as ArrayLike<unknown>).length === 0) return [];
  throw new KerasH5Error('not-keras', `a name list attribute holds ${Object.prototype.toString.call(value)}, not strings`);
}

/** A Keras name-list attribute, joined from its chunks when Keras had to split it; null when absent. */
function nameList(node: Group, name: string): string[] | null {
  const attrs = node.attrs;
  if (name in attrs) return asStrings(attrs[name].value);
  const chunks: string[] = [];
  let i = 0;
  for (; `${name}${i}` in attrs; i++) chunks.push(...asStrings(attrs[`${name}${i}`].value));
  return i > 0 ? chunks : null;
}

function float32(dataset: Dataset, where: string): Float32Array {
  const value = dataset.value;
  if (value instanceof Float32Array) return value;
  if (value instanceof Float64Array) return Float32Array.from(value);
  throw new KerasH5Error('not-keras', `${where} holds ${dataset.dtype} values, not float32 weights`);
}

/**
 * Every weight of every layer in a Keras .h5 file, in the file's layer order, named `layer/weight`. Throws a
 * KerasH5Error that says what is wrong: not HDF5, damaged, or HDF5 without Keras's layout.
 */
export async function readKerasH5Weights(file: string): Promise<NamedWeight[]> {
  if (!(await isHdf5File(file))) throw new KerasH5Error('not-hdf5', `${file} is not an HDF5 file (it lacks the HDF5 signature).`);
  const lib = await h5wasm();
  let h5: InstanceType<H5['File']>;
  try {
    h5 = new lib.File(file, 'r');
  } catch (error) {
    throw new KerasH5Error('corrupt', `${file} cannot be read as HDF5 (${hdf5Reason(error)}): it may be truncated or damaged.`, { cause: error });
  }
  try {
    const modelWeights = h5.get('model_weights');
    const root: Group = modelWeights instanceof lib.Group ? modelWeights : h5;
    const layers = nameList(root, 'layer_names');
    if (!layers) throw new KerasH5Error('not-keras', `${file} is HDF5 but not a Keras weights file (no layer_names attribute).`);
    const out: NamedWeight[] = [];
    for (const layer of layers) {
      const group = root.get(layer);
      if (!(group instanceof lib.Group)) throw new KerasH5Error('corrupt', `${file} lists layer ${layer} but has no group for it.`);
      const weightNames = nameList(group, 'weight_names') ?? [];
      // A nested model (the tutorial's `base_model` inside a saved whole model) is one entry of layer_names holding
      // the weights of many layers, each named "<its layer>/<weight>:0"; a plain layer's weights share one prefix.
      const prefixes = new Set(weightNames.map((n) => n.split('/').slice(-2, -1)[0] ?? ''));
      const nested = prefixes.size > 1;
      for (const weightName of weightNames) {
        const where = `${file}: ${layer}/${weightName}`;
        const dataset = group.get(weightName);
        if (!(dataset instanceof lib.Dataset)) throw new KerasH5Error('corrupt', `${where} is listed but missing.`);
        const shape = (dataset.shape ?? []).map(Number);
        const data = float32(dataset, where);
        // "Conv1/kernel:0" (Keras 2) or "kernel" (Keras 3) -> "kernel"; the layer is the group, or in a nested model
        // the weight's own prefix.
        const parts = weightName.replace(/:\d+$/, '').split('/');
        const weight = parts.at(-1)!;
        out.push({ name: `${nested ? parts.at(-2) : layer}/${weight}`, shape, data });
      }
    }
    return out;
  } catch (error) {
    if (error instanceof KerasH5Error) throw error;
    throw new KerasH5Error('corrupt', `${file} could not be read (${hdf5Reason(error)}): it may be truncated or damaged.`, { cause: error });
  } finally {
    h5.close();
  }
}
