import type { AttrValue, Graph, OnnxNode } from './graph.ts';
import type { Tensor } from './tensor.ts';
import {
  DataType, attr, floatTensor, int64Tensor, intTensor, model, node, serialize, valueInfo,
  type Attr, type ModelProto, type NodeProto, type TensorProto,
} from './write.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * Writes a zkml Graph (as loaded and rewritten: constants folded, static shapes) back to an ONNX model, for the
 * models `zkml quantize` produces and for its calibration copy. Folded nodes are left out; the constants the
 * written nodes read become initializers.
 *
 * The loader keeps attribute values, not their ONNX types: a number is written as an INT unless the attribute
 * is one ONNX declares as a float (the list below) or the value is not an integer.
 */
const FLOAT_ATTRS = new Set(['alpha', 'beta', 'epsilon', 'momentum', 'ratio', 'gamma', 'lambd', 'bias', 'scale', 'min', 'max', 'value_float', 'value_floats', 'threshold', 'spatial_scale']);

const ELEM: Record<string, number> = { float: DataType.FLOAT, uint8: DataType.UINT8, int8: DataType.INT8, int32: DataType.INT32, int64: DataType.INT64 };

export function tensorProto(name: string, t: Tensor): TensorProto {
  switch (t.dtype) {
    case 'float':
      return floatTensor(name, t.dims, t.data);
    case 'int64':
      return int64Tensor(name, t.dims, t.data);
    case 'int8':
    case 'uint8':
    case 'int32':
      return intTensor(name, t.dtype, t.dims, t.data);
    default:
      throw new ZkmlError(`cannot write a constant of element type ${t.dtype}`, 'E_DTYPE', `tensor "${name}"`);
  }
}

function attrOf(name: string, v: AttrValue): Attr {
  if (typeof v === 'string') return attr.string(v);
  if (typeof v === 'number') return FLOAT_ATTRS.has(name) || !Number.isInteger(v) ? attr.float(v) : attr.int(v);
  if (Array.isArray(v)) {
    const nums = v as number[];
    if (nums.some((x) => typeof x === 'string')) throw new ZkmlError(`attribute ${name}: string lists are not written`, 'E_ATTR');
    return FLOAT_ATTRS.has(name) || nums.some((x) => !Number.isInteger(x)) ? attr.floats(nums) : attr.ints(nums);
  }
  return attr.tensor(tensorProto('', v as Tensor));
}

export function nodeProto(n: OnnxNode): NodeProto {
  const attrs = Object.fromEntries([...n.attrs].map(([k, v]) => [k, attrOf(k, v)]));
  return node(n.opType, n.inputs, n.outputs, { name: n.name, attrs, domain: n.domain || undefined });
}

export interface WriteOptions {
  /** Extra graph outputs (float tensors of known shape), e.g. every intermediate tensor for calibration. */
  extraOutputs?: string[];
  opset?: number;
  domains?: Record<string, number>;
  docString?: string;
}

export function graphToModel(graph: Graph, opts: WriteOptions = {}): ModelProto {
  const live = graph.nodes.filter((n) => !n.outputs.every((o) => !o || graph.constants.has(o)));
  const used = new Set(live.flatMap((n) => n.inputs));
  const initializers = [...graph.constants].filter(([name]) => used.has(name)).map(([name, t]) => tensorProto(name, t));
  const io = (name: string, dtype: string) => valueInfo(name, graph.shapes.get(name) ?? [], ELEM[dtype] ?? DataType.FLOAT);
  return model({
    name: 'zkml',
    nodes: live.map(nodeProto),
    inputs: graph.inputs.map((i) => io(i.name, i.dtype)),
    outputs: [...graph.outputs.map((o) => io(o.name, o.dtype)), ...(opts.extraOutputs ?? []).map((o) => io(o, 'float'))],
    initializers,
    opset: opts.opset ?? graph.opset,
    domains: opts.domains,
    docString: opts.docString,
  });
}

export const graphToBytes = (graph: Graph, opts: WriteOptions = {}): Uint8Array => serialize(graphToModel(graph, opts));
