import { existsSync, readFileSync, statSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import type { AttrValue, Graph, OnnxNode, ValueInfo } from './graph.ts';
import { nodeLabel } from './graph.ts';
import { DTYPE_NAMES, type Tensor } from './tensor.ts';
import { ZkmlError } from '../util/errors.ts';
import { sha256Hex } from '../util/hash.ts';
import { prepareGraph } from './prepare.ts';

const { onnx } = onnxProto;
type Long = { toNumber(): number } | number;
const num = (v: Long | null | undefined) => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

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
  else if (t.int32Data?.length) data = t.int32Data.slice();
  else if (t.uint64Data?.length) data = t.uint64Data.map(num);
  else if (dtype === 'string') throw new ZkmlError(`tensor "${name}" holds strings, which zkml does not read`, 'E_DTYPE', where);
  else data = [];
  if (data.length !== size) {
    throw new ZkmlError(`tensor "${name}" holds ${data.length} values; shape [${dims}] needs ${size}`, 'E_BAD_TENSOR', where);
  }
  return { dtype, dims, data };
}

function decodeAttr(a: onnxProto.onnx.IAttributeProto, where: string): AttrValue {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case T.FLOAT: return a.f ?? 0;
    case T.INT: return num(a.i);
    case T.STRING: return Buffer.from(a.s ?? []).toString('utf8');
    case T.TENSOR: return decodeTensor(a.t!, where);
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
  // A symbolic or missing dimension (dynamic batch) becomes 1: zkml circuits have static shapes.
  return dims.map((d) => (d.dimValue != null && num(d.dimValue) > 0 ? num(d.dimValue) : 1));
}

/** Orders nodes so every node comes after the producers of its inputs; refuses cycles. */
function topoSort(nodes: OnnxNode[], available: Set<string>, path: string): OnnxNode[] {
  const producers = new Map<string, OnnxNode>();
  for (const n of nodes) for (const o of n.outputs) if (o) producers.set(o, n);
  const state = new Map<OnnxNode, 'visiting' | 'done'>();
  const order: OnnxNode[] = [];
  const visit = (n: OnnxNode, stack: OnnxNode[]) => {
    const s = state.get(n);
    if (s === 'done') return;
    if (s === 'visiting') {
      throw new ZkmlError(`the graph has a cycle: ${[...stack, n].map((m) => m.name || m.opType).join(' -> ')}`, 'E_CYCLE', path);
    }
    state.set(n, 'visiting');
    for (const i of n.inputs) {
      if (!i || available.has(i)) continue;
      const p = producers.get(i);
      if (!p) throw new ZkmlError(`input "${i}" is produced by no node and is no graph input or initializer`, 'E_GRAPH', nodeLabel(n));
      visit(p, [...stack, n]);
    }
    state.set(n, 'done');
    order.push(n);
  };
  // Iterative over roots keeps recursion depth to the graph's depth.
  for (const n of nodes) visit(n, []);
  return order;
}

/** Reads an ONNX file into a Graph with static shapes and constants folded. */
export function loadOnnx(path: string): Graph {
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
  for (const input of inputs) {
    if (input.shape.some((d) => d > 1 << 24) || input.shape.reduce((a, b) => a * b, 1) > 1 << 24) {
      throw new ZkmlError(`input "${input.name}" has shape [${input.shape}], too large for a circuit`, 'E_SHAPE', path);
    }
  }

  const available = new Set([...constants.keys(), ...inputs.map((i) => i.name), '']);
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
  return prepareGraph(graph);
}
