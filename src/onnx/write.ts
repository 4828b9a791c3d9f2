/**
 * Writing ONNX models with onnx-proto: tensors, nodes with typed attributes, graph inputs and outputs with
 * static or symbolic dims, and the model (IR version 8). `zkml quantize` writes its QDQ models with it, the
 * calibration run writes a temporary copy with extra outputs, and fixtures/onnx-builder.ts re-exports it for
 * the project's fixtures.
 *
 * Encoding is deterministic: the same calls give the same bytes (no dates, no versions unless the caller
 * passes them), which is what lets committed fixtures be checked by regenerating them.
 */
import p from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

// onnx-proto is CommonJS: under ESM only its default export is reliable, so the namespace comes from there.
export const { onnx } = p;

export type TensorProto = OnnxTypes.ITensorProto;
export type NodeProto = OnnxTypes.INodeProto;
export type ValueInfoProto = OnnxTypes.IValueInfoProto;
export type ModelProto = OnnxTypes.IModelProto;

export const DataType = onnx.TensorProto.DataType;

/**
 * How a tensor's values are stored. Exporters (PyTorch, numpy_helper) write `raw` little-endian bytes; the typed
 * repeated fields (`float_data`, `int64_data`) are also valid ONNX, so some fixtures use them to keep loaders honest.
 */
export type Encoding = 'raw' | 'typed';

function checkCount(name: string, dims: number[], n: number): void {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (expected !== n) throw new Error(`tensor ${name}: ${n} values for dims [${dims.join(', ')}] (expected ${expected})`);
}

/** A float32 tensor. Values are rounded to float32 here, so what is stored is exactly what ORT will read. */
export function floatTensor(name: string, dims: number[], values: ArrayLike<number>, encoding: Encoding = 'raw'): TensorProto {
  checkCount(name, dims, values.length);
  const f32 = Float32Array.from(values);
  if (encoding === 'typed') return { name, dims, dataType: DataType.FLOAT, floatData: Array.from(f32) };
  const bytes = new Uint8Array(f32.length * 4);
  const view = new DataView(bytes.buffer);
  f32.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return { name, dims, dataType: DataType.FLOAT, rawData: bytes };
}

/** An int64 tensor, e.g. a Reshape target shape or Squeeze/Unsqueeze axes (opset 13 passes them as inputs). */
export function int64Tensor(name: string, dims: number[], values: number[], encoding: Encoding = 'raw'): TensorProto {
  checkCount(name, dims, values.length);
  if (encoding === 'typed') return { name, dims, dataType: DataType.INT64, int64Data: values.slice() };
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return { name, dims, dataType: DataType.INT64, rawData: bytes };
}

/** Integer element types of quantized models, with their byte width and range. */
const INT_TYPES = {
  int8: { type: DataType.INT8, width: 1, min: -128, max: 127 },
  uint8: { type: DataType.UINT8, width: 1, min: 0, max: 255 },
  int32: { type: DataType.INT32, width: 4, min: -(2 ** 31), max: 2 ** 31 - 1 },
} as const;
export type SmallIntType = keyof typeof INT_TYPES;

/** An int8, uint8 or int32 tensor (quantized weights, zero points, biases), raw little-endian bytes. */
export function intTensor(name: string, dtype: SmallIntType, dims: number[], values: ArrayLike<number>): TensorProto {
  checkCount(name, dims, values.length);
  const t = INT_TYPES[dtype];
  const bytes = new Uint8Array(values.length * t.width);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < t.min || v > t.max) throw new Error(`tensor ${name}: ${v} is not a ${dtype}`);
    if (dtype === 'int8') view.setInt8(i, v);
    else if (dtype === 'uint8') view.setUint8(i, v);
    else view.setInt32(i * 4, v, true);
  }
  return { name, dims, dataType: t.type, rawData: bytes };
}

/**
 * Moves a raw-encoded tensor's bytes out of the model, as ONNX external data: the tensor keeps its name, dims and
 * type, gains data_location = EXTERNAL and the location/offset/length entries, and the caller writes `bytes` to
 * `location` (relative to the model file).
 */
export function toExternal(tensor: TensorProto, location: string, offset = 0): { tensor: TensorProto; bytes: Uint8Array } {
  if (!tensor.rawData) throw new Error(`tensor ${tensor.name}: only raw-encoded tensors can be made external`);
  const bytes = tensor.rawData;
  const external: TensorProto = {
    name: tensor.name,
    dims: tensor.dims,
    dataType: tensor.dataType,
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(bytes.length) },
    ],
  };
  return { tensor: external, bytes };
}

/** A typed attribute value; the attribute's name is the key it is given under in `node(..., { attrs })`. */
export type Attr =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'ints'; value: number[] }
  | { type: 'floats'; value: number[] }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: TensorProto };

export const attr = {
  float: (value: number): Attr => ({ type: 'float', value }),
  int: (value: number): Attr => ({ type: 'int', value }),
  ints: (value: number[]): Attr => ({ type: 'ints', value }),
  floats: (value: number[]): Attr => ({ type: 'floats', value }),
  string: (value: string): Attr => ({ type: 'string', value }),
  tensor: (value: TensorProto): Attr => ({ type: 'tensor', value }),
};

function attributeProto(name: string, a: Attr): OnnxTypes.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case 'float': return { name, type: T.FLOAT, f: a.value };
    case 'int': return { name, type: T.INT, i: a.value };
    case 'ints': return { name, type: T.INTS, ints: a.value };
    case 'floats': return { name, type: T.FLOATS, floats: a.value };
    case 'string': return { name, type: T.STRING, s: new TextEncoder().encode(a.value) };
    case 'tensor': return { name, type: T.TENSOR, t: a.value };
  }
}

export interface NodeOptions {
  /** Node name: error messages name nodes by it, so every written node should have one. */
  name?: string;
  attrs?: Record<string, Attr>;
  /** Empty for the default ONNX domain. */
  domain?: string;
}

/** A node. An empty string in `inputs` skips an optional input, as ONNX allows. */
export function node(opType: string, inputs: string[], outputs: string[], opts: NodeOptions = {}): NodeProto {
  const n: NodeProto = { opType, input: inputs, output: outputs };
  if (opts.name) n.name = opts.name;
  if (opts.domain) n.domain = opts.domain;
  const attrs = Object.entries(opts.attrs ?? {});
  if (attrs.length > 0) n.attribute = attrs.map(([k, v]) => attributeProto(k, v));
  return n;
}

/** A tensor held by a Constant node (as some exporters do) instead of an initializer; `output` names its value. */
export function constantNode(output: string, tensor: TensorProto, name = `${output}_const`): NodeProto {
  return node('Constant', [], [output], { name, attrs: { value: attr.tensor({ ...tensor, name: output }) } });
}

/** A graph input or output. A number is a fixed dim; a string is a symbolic one (dim_param), e.g. "batch_size". */
export function valueInfo(name: string, dims: (number | string)[], elemType: number = DataType.FLOAT): ValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

export interface ModelSpec {
  name: string;
  nodes: NodeProto[];
  inputs: ValueInfoProto[];
  outputs: ValueInfoProto[];
  initializers?: TensorProto[];
  /** Default-domain opset version; 13 unless said otherwise. */
  opset?: number;
  /** Opsets of other domains the nodes use, e.g. { 'com.microsoft': 1 }. */
  domains?: Record<string, number>;
  docString?: string;
  /** Fixed strings only where the bytes must be reproducible. */
  producerName?: string;
  producerVersion?: string;
}

export const IR_VERSION = 8;

export function model(spec: ModelSpec): ModelProto {
  return {
    irVersion: IR_VERSION,
    producerName: spec.producerName ?? 'zkml',
    producerVersion: spec.producerVersion,
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }, ...Object.entries(spec.domains ?? {}).map(([domain, version]) => ({ domain, version }))],
    docString: spec.docString,
    graph: {
      name: spec.name,
      node: spec.nodes,
      input: spec.inputs,
      output: spec.outputs,
      initializer: spec.initializers ?? [],
    },
  };
}

export function serialize(m: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(m).finish();
}
