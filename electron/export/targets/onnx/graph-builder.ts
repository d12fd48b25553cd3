// Collects ONNX nodes and initializers with unique names while a Keras graph is walked. Values carry their logical
// (Keras, channels-last) shape and how they are laid out in ONNX: convolutions and pooling need NCHW, so a rank-4
// value is transposed only where an op needs the other layout, and each transposition is made once.
import { ATTRIBUTE_TYPE, ONNX_FLOAT, ONNX_INT64, type OnnxAttribute, type OnnxNode, type OnnxTensor } from './onnx-proto';

/** 'last': Keras's own order ([N, H, W, C] for images, [N, units] after Flatten). 'first': rank 4 as [N, C, H, W]. */
export type Layout = 'last' | 'first';

export interface Value {
  name: string;
  layout: Layout;
  /** Keras shape without the batch axis (channels last, whatever the layout). */
  shape: number[];
}

/** A bare number is an INT attribute; a float one is written { float: x }, so 1.0 never becomes the integer 1. */
export type AttributeValue = number | number[] | string | { floats: number[] } | { float: number };

export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private readonly used = new Set<string>();
  private readonly transposed = new Map<string, Value>();

  /** A name not used before, readable in a graph viewer (Keras layer names are kept where they are unique). */
  unique(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./:-]/g, '_') || 'value';
    let name = clean;
    for (let i = 1; this.used.has(name); i++) name = `${clean}_${i}`;
    this.used.add(name);
    return name;
  }

  reserve(name: string): void {
    this.used.add(name);
  }

  floatTensor(base: string, dims: number[], data: Float32Array | number[]): string {
    const values = data instanceof Float32Array ? data : Float32Array.from(data);
    if (values.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`internal: ${base} has ${values.length} values for dims [${dims.join(', ')}]`);
    const name = this.unique(base);
    const raw = new Uint8Array(values.length * 4);
    const view = new DataView(raw.buffer); // ONNX raw_data is little-endian
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
    this.initializers.push({ name, dims, dataType: ONNX_FLOAT, rawData: raw });
    return name;
  }

  int64Tensor(base: string, values: number[]): string {
    const name = this.unique(base);
    const raw = new Uint8Array(values.length * 8);
    const view = new DataView(raw.buffer);
    values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
    this.initializers.push({ name, dims: [values.length], dataType: ONNX_INT64, rawData: raw });
    return name;
  }

  scalar(base: string, value: number): string {
    return this.floatTensor(base, [], [value]);
  }

  /** Adds a node; returns the name of its (single) output. */
  node(opType: string, inputs: string[], base: string, attributes: Record<string, AttributeValue> = {}): string {
    const output = this.unique(base);
    this.nodes.push({ name: output, opType, input: inputs, output: [output], attribute: Object.entries(attributes).map(([name, value]) => toAttribute(name, value)) });
    return output;
  }

  /** The value in NCHW (rank 4 only). */
  asFirst(value: Value): Value {
    if (value.layout === 'first') return value;
    if (value.shape.length !== 3) throw new Error(`internal: only image maps can be made channels-first, not shape [${value.shape.join(', ')}]`);
    return this.transpose(value, 'first', [0, 3, 1, 2]);
  }

  /** The value in Keras's own order. */
  asLast(value: Value): Value {
    if (value.layout === 'last') return value;
    return this.transpose(value, 'last', [0, 2, 3, 1]);
  }

  as(value: Value, layout: Layout): Value {
    return layout === 'first' ? this.asFirst(value) : this.asLast(value);
  }

  private transpose(value: Value, layout: Layout, perm: number[]): Value {
    const key = `${value.name}\u0000${layout}`;
    const known = this.transposed.get(key);
    if (known) return known;
    const name = this.node('Transpose', [value.name], `${value.name}_${layout === 'first' ? 'nchw' : 'nhwc'}`, { perm });
    const result: Value = { name, layout, shape: value.shape };
    this.transposed.set(key, result);
    // Going back gives the original value, without a second transposition.
    this.transposed.set(`${name}\u0000${value.layout}`, value);
    return result;
  }
}

function toAttribute(name: string, value: AttributeValue): OnnxAttribute {
  if (typeof value === 'string') return { name, type: ATTRIBUTE_TYPE.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: ATTRIBUTE_TYPE.INTS, ints: value };
  if (typeof value === 'number') return { name, type: ATTRIBUTE_TYPE.INT, i: value };
  if ('floats' in value) return { name, type: ATTRIBUTE_TYPE.FLOATS, floats: value.floats };
  return { name, type: ATTRIBUTE_TYPE.FLOAT, f: value.float };
}
