import { existsSync, readFileSync, statSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import type { AttrValue, Graph, OnnxNode, ValueInfo } from './graph.ts';
import { nodeLabel } from './graph.ts';
import { DTYPE_NAMES, type Tensor } from './tensor.ts';
import { ZkmlError } from '../util/errors.ts';
import { sha256Hex } from '../util/hash.ts';

const { onnx } = onnxProto;
type Long = { toNumber(): number } | number;
const num = (v: Long | null | undefined) => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

/** IEEE half precision bits → number (sign, 5-bit exponent, 10-bit mantissa; subnormals, Inf, NaN). */
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** bfloat16 bits are the top half of a float32. */
function bfloat16ToFloat(bits: number): number {
  return new Float32Array(new Uint32Array([bits << 16]).buffer)[0];
}

/** Decodes a TensorProto into zkml's Tensor (every element as a number). */
export function decodeTensor(t: onnxProto.onnx.ITensorProto, where: string): Tensor {
  const name = t.name ?? '';
  const dtype = DTYPE_NAMES[t.dataType ?? 0] ?? `type ${t.dataType}`;
  const dims = (t.dims ?? []).map(num);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    const loc = t.externalData?.find((e) => e.key === 'location')?.value;
    throw new ZkmlError(
      `tensor "${name}" is stored as external data (${loc ?? 'unknown file'}); zkml reads self-contained models only: ` +
        're-save it with the weights inside the .onnx file (onnx.save_model(..., save_as_external_data=False))',
      'E_EXTERNAL_DATA',
      where,
    );
  }
  const size = dims.reduce((a, b) => a * b, 1);
  let data: number[];
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  if (raw) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const readers: Record<string, [number, (o: number) => number]> = {
      float: [4, (o) => view.getFloat32(o, true)],
      double: [8, (o) => view.getFloat64(o, true)],
      int8: [1, (o) => view.getInt8(o)],
      uint8: [1, (o) => view.getUint8(o)],
      bool: [1, (o) => view.getUint8(o)],
      int16: [2, (o) => view.getInt16(o, true)],
      uint16: [2, (o) => view.getUint16(o, true)],
      int32: [4, (o) => view.getInt32(o, true)],
      uint32: [4, (o) => view.getUint32(o, true)],
      int64: [8, (o) => Number(view.getBigInt64(o, true))],
      float16: [2, (o) => halfToFloat(view.getUint16(o, true))],
      bfloat16: [2, (o) => bfloat16ToFloat(view.getUint16(o, true))],
      uint64: [8, (o) => Number(view.getBigUint64(o, true))],
    };
    const reader = readers[dtype];
    if (!reader) throw new ZkmlError(`tensor "${name}" has element type ${dtype}, which zkml does not read`, 'E_DTYPE', where);
    const [width, read] = reader;
    if (raw.byteLength !== size * width) {
      throw new ZkmlError(`tensor "${name}" holds ${raw.byteLength} bytes; shape [${dims}] of ${dtype} needs ${size * width}`, 'E_BAD_TENSOR', where);
    }
    data = Array.from({ length: size }, (_, i) => read(i * width));
  } else if (t.floatData?.length) data = t.floatData.slice();
  else if (t.doubleData?.length) data = t.doubleData.slice();
  else if (t.int64Data?.length) data = t.int64Data.map(num);
  else if (t.int32Data?.length) data = dtype === 'float16' ? t.int32Data.map(halfToFloat) : dtype === 'bfloat16' ? t.int32Data.map(bfloat16ToFloat) : t.int32Data.slice();
  else if (t.uint64Data?.length) data = t.uint64Data.map(num);
  else if (dtype === 'string') throw new ZkmlError(`tensor "${name}" holds strings, which zkml does not read`, 'E_DTYPE', where);
  else data = [];
  if (data.length !== size) {
    throw new ZkmlError(`tensor "${name}" holds ${data.length} values; shape [${dims}] needs ${size}`, 'E_BAD_TENSOR', where);
  }
  // A NaN has no integer value: refused here, where the tensor is named (infinities can be meaningful, e.g. a
  // Clip bound, and are refused only where one would have to be quantized).
  const nan = data.findIndex((v) => Number.isNaN(v));
  if (nan >= 0) throw new ZkmlError(`tensor "${name}" holds NaN (element ${nan}), which has no integer value`, 'E_BAD_TENSOR', where);
  return { dtype, dims, data };
}

function decodeAttr(a: onnxProto.onnx.IAttributeProto, where: string): AttrValue {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case T.FLOAT: return a.f ?? 0;
    case T.INT: return num(a.i);
    case T.STRING: return Buffer.from(a.s ?? []).toString('utf8');
    case T.TENSOR:
      if (!a.t) throw new ZkmlError(`attribute "${a.name}" is of type TENSOR but holds no tensor`, 'E_ATTR', where);
      return decodeTensor(a.t, where);
    case T.FLOATS: return (a.floats ?? []).slice();
    case T.INTS: return (a.ints ?? []).map(num);
    case T.STRINGS: return (a.strings ?? []).map((s) => Buffer.from(s).toString('utf8'));
    default:
      // Old exporters leave `type` unset: infer from the populated field.
      if (a.ints?.length) return a.ints.map(num);
      if (a.floats?.length) return a.floats.slice();
      if (a.t) return decodeTensor(a.t, where);
      if (a.s?.length) return Buffer.from(a.s).toString('utf8');
      if (a.i != null && num(a.i) !== 0) return num(a.i);
      return a.f ?? 0;
  }
}

function shapeOf(v: onnxProto.onnx.IValueInfoProto): number[] {
  const dims = v.type?.tensorType?.shape?.dim ?? [];
  // A symbolic or missing dimension (dynamic batch: dim_param, or neither field set) becomes 1: zkml circuits
  // have static shapes. A dim_value of 0 is a real empty axis (ONNX allows zero-element tensors): it stays 0, so
  // the tensor flows as a tensor with no elements (no signals). protobufjs names the set oneof member in `value`.
  return dims.map((d) => {
    const set = (d as { value?: string }).value === 'dimValue' || (d.dimValue != null && !d.dimParam);
    const n = set && d.dimValue != null ? num(d.dimValue) : -1;
    return n >= 0 ? n : 1;
  });
}

/**
 * Inputs [min, max] and outputs max of the standard ONNX ops zkml reads (from the ONNX operator schemas, over
 * the opsets zkml accepts). Checked on load, so an op implementation can rely on its required inputs being
 * there: a malformed node (from a broken exporter, or a damaged file) is refused with its name, not met later as
 * an undefined tensor. Ops not listed (other domains, ops zkml does not support) are not checked here.
 */
const ARITY: Record<string, [number, number, number?]> = {
  Relu: [1, 1], Sigmoid: [1, 1], Tanh: [1, 1], LeakyRelu: [1, 1], HardSigmoid: [1, 1], HardSwish: [1, 1],
  Softmax: [1, 1], LogSoftmax: [1, 1], Identity: [1, 1], Flatten: [1, 1], Shape: [1, 1], Transpose: [1, 1],
  ArgMax: [1, 1], ArgMin: [1, 1], GlobalMaxPool: [1, 1], GlobalAveragePool: [1, 1], AveragePool: [1, 1], MaxPool: [1, 1, 2],
  PRelu: [2, 2], Add: [2, 2], Sub: [2, 2], Mul: [2, 2], Div: [2, 2], MatMul: [2, 2],
  Gemm: [2, 3], Conv: [2, 3], BatchNormalization: [5, 5, 5], Clip: [1, 3], Dropout: [1, 3, 2],
  Reshape: [1, 2], Squeeze: [1, 2], Unsqueeze: [1, 2], Constant: [0, 0],
  ReduceSum: [1, 2], ReduceMean: [1, 2], ReduceMax: [1, 2], ReduceMin: [1, 2],
  QuantizeLinear: [2, 3], DequantizeLinear: [2, 3], MatMulInteger: [2, 4], ConvInteger: [2, 4], QLinearMatMul: [8, 8], QLinearConv: [8, 9],
};

function checkStructure(nodes: OnnxNode[], graphNames: Set<string>, path: string): void {
  const producer = new Map<string, OnnxNode>();
  for (const n of nodes) {
    const arity = n.domain === '' || n.domain === 'ai.onnx' ? ARITY[n.opType] : undefined;
    if (arity) {
      const [min, max, maxOut = 1] = arity;
      // Trailing empty names are omitted optional inputs; a required input must be named.
      let count = n.inputs.length;
      while (count > 0 && n.inputs[count - 1] === '') count--;
      const missing = n.inputs.slice(0, min).findIndex((i) => !i);
      if (count < min || count > max || missing >= 0) {
        const takes = min === max ? `${min}` : `${min} to ${max}`;
        throw new ZkmlError(`${n.opType} takes ${takes} input(s); this node has ${count}${missing >= 0 ? ` (input ${missing} is empty)` : ''}`, 'E_GRAPH', `${path}: ${nodeLabel(n)}`);
      }
      if (n.outputs.length === 0 || n.outputs.length > maxOut || !n.outputs[0]) {
        throw new ZkmlError(`${n.opType} has ${maxOut === 1 ? 'one output' : `1 to ${maxOut} outputs`}; this node has ${n.outputs.filter(Boolean).length}`, 'E_GRAPH', `${path}: ${nodeLabel(n)}`);
      }
    }
    // Every value has one definition: a second producer, or a node writing over an input or initializer,
    // would make the graph mean two things.
    for (const o of n.outputs) {
      if (!o) continue;
      const other = producer.get(o);
      if (other) throw new ZkmlError(`value "${o}" is produced twice, by ${nodeLabel(other)} and ${nodeLabel(n)}`, 'E_GRAPH', path);
      if (graphNames.has(o)) throw new ZkmlError(`${nodeLabel(n)} writes "${o}", which is a graph input or initializer`, 'E_GRAPH', path);
      producer.set(o, n);
    }
  }
}

/**
 * Orders nodes so every node comes after the producers of its inputs; refuses cycles. Depth-first with an
 * explicit stack: a graph's depth is the file's to choose, and recursion would overflow the call stack on a
 * long chain (a few thousand nodes listed in reverse order).
 */
function topoSort(nodes: OnnxNode[], available: Set<string>, path: string): OnnxNode[] {
  const producers = new Map<string, OnnxNode>();
  for (const n of nodes) for (const o of n.outputs) if (o) producers.set(o, n);
  const state = new Map<OnnxNode, 'visiting' | 'done'>();
  const order: OnnxNode[] = [];
  for (const root of nodes) {
    if (state.has(root)) continue;
    // Each frame: a node and the index of the next input to look at. The frames are the current path.
    const stack: { n: OnnxNode; next: number }[] = [{ n: root, next: 0 }];
    state.set(root, 'visiting');
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (top.next === top.n.inputs.length) {
        state.set(top.n, 'done');
        order.push(top.n);
        stack.pop();
        continue;
      }
      const i = top.n.inputs[top.next++];
      if (!i || available.has(i)) continue;
      const p = producers.get(i);
      if (!p) throw new ZkmlError(`input "${i}" is produced by no node and is no graph input or initializer`, 'E_GRAPH', nodeLabel(top.n));
      const s = state.get(p);
      if (s === 'done') continue;
      if (s === 'visiting') {
        const cycle = [...stack.slice(stack.findIndex((f) => f.n === p)).map((f) => f.n), p];
        throw new ZkmlError(`the graph has a cycle: ${cycle.map((m) => m.name || m.opType).join(' -> ')}`, 'E_CYCLE', path);
      }
      state.set(p, 'visiting');
      stack.push({ n: p, next: 0 });
    }
  }
  return order;
}

/**
 * Reads an ONNX file into a Graph: decoded tensors and attributes, arity and single-definition checks, nodes in
 * dependency order. Shapes are those of the inputs and constants only: shape inference and constant folding need
 * the ops and are the compiler's first pass (compiler/passes/prepare.ts; compiler/passes/load.ts runs both).
 */
export function readOnnx(path: string): Graph {
  if (!existsSync(path)) throw new ZkmlError('no such file', 'E_NO_FILE', path);
  if (!statSync(path).isFile()) throw new ZkmlError('not a file', 'E_NO_FILE', path);
  const bytes = readFileSync(path);
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new ZkmlError(`not an ONNX model (protobuf decoding failed: ${(err as Error).message})`, 'E_NOT_ONNX', path);
  }
  const g = model.graph;
  if (!g || (g.node ?? []).length === 0 || !(g.output ?? []).length) {
    throw new ZkmlError('not an ONNX model (no graph, nodes or outputs found)', 'E_NOT_ONNX', path);
  }
  const opset = Math.max(0, ...(model.opsetImport ?? []).filter((o) => !o.domain || o.domain === 'ai.onnx').map((o) => num(o.version)));

  const constants = new Map<string, Tensor>();
  for (const t of g.initializer ?? []) constants.set(t.name ?? '', decodeTensor(t, `${path}: initializer "${t.name}"`));

  const nodes: OnnxNode[] = (g.node ?? []).map((n, i) => ({
    name: n.name || `${n.opType}_${i}`,
    opType: n.opType ?? '',
    domain: n.domain ?? '',
    inputs: (n.input ?? []).slice(),
    outputs: (n.output ?? []).slice(),
    attrs: new Map((n.attribute ?? []).map((a) => [a.name ?? '', decodeAttr(a, `${path}: node "${n.name}"`)])),
  }));

  // IR < 4 lists initializers among graph inputs: those are constants, not model inputs.
  const inputs: ValueInfo[] = (g.input ?? [])
    .filter((v) => !constants.has(v.name ?? ''))
    .map((v) => ({ name: v.name ?? '', shape: shapeOf(v), dtype: DTYPE_NAMES[v.type?.tensorType?.elemType ?? 1] ?? 'float' }));
  const outputs: ValueInfo[] = (g.output ?? []).map((v) => ({ name: v.name ?? '', shape: shapeOf(v), dtype: DTYPE_NAMES[v.type?.tensorType?.elemType ?? 1] ?? 'float' }));
  for (const input of inputs) checkSize(`input "${input.name}"`, input.shape, path);

  const available = new Set([...constants.keys(), ...inputs.map((i) => i.name), '']);
  checkStructure(nodes, new Set([...constants.keys(), ...inputs.map((i) => i.name)]), path);
  const sorted = topoSort(nodes, available, path);
  const graph: Graph = {
    path,
    sha256: sha256Hex(bytes),
    opset,
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    inputs,
    outputs,
    nodes: sorted,
    constants,
    shapes: new Map(),
  };
  return graph;
}

/**
 * Every element of a computed tensor is a circuit value (an expression, often a signal and its range check), so
 * sizes are bounded before any is built: 2^20 values per tensor is far beyond what Groth16 proves (snarkjs'
 * largest ptau holds 2^28 constraints, a few per value) and keeps an absurd shape from exhausting memory here.
 */
export const MAX_TENSOR_ELEMENTS = 1 << 20;

export function checkSize(what: string, shape: number[], path: string): void {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size > MAX_TENSOR_ELEMENTS) {
    throw new ZkmlError(`${what} has shape [${shape}] (${size} values), too large for a circuit (at most ${MAX_TENSOR_ELEMENTS} values per tensor)`, 'E_SHAPE', path);
  }
}
