import type { Graph, OnnxNode } from '../../onnx/graph.ts';
import { attrFloat, attrInt, nodeLabel } from '../../onnx/graph.ts';
import { broadcastIndexer, sizeOf, type Tensor } from '../../onnx/tensor.ts';
import { ZkmlError } from '../../util/errors.ts';

/**
 * Compiles QDQ models (QuantizeLinear/DequantizeLinear around float ops, as onnxruntime's quantizer and
 * `zkml quantize` write them) to the integer ops of ops/qlinear.ts, the way onnxruntime's own QDQ transformer
 * fuses them before running, so the circuit computes exactly the int8 arithmetic onnxruntime does:
 *
 * 1. a float graph input used only by QuantizeLinear (one scale and zero point): the circuit input becomes that
 *    int8 tensor itself (ValueInfo.quantization; the manifest's encoding quantizes the user's floats);
 * 2. DequantizeLinear → data movement (Reshape, Flatten, Transpose, MaxPool, ...) → QuantizeLinear: the op runs on
 *    the integers (these ops commute with a positive affine map); with equal parameters the pair disappears,
 *    otherwise a DQ → Q requantization follows. DQ → Q with equal parameters is the identity;
 * 3. DQ(x), DQ(W constant), optional DQ(int32 bias) → Conv | MatMul | Gemm | MatMul + Add(bias) → [Relu] → Q:
 *    QLinearConv, QLinearMatMul or com.microsoft QGemm, a Relu fused as a clamp at the output zero point;
 * 4. DQ(a) + DQ(b) → [Relu] → Q: com.microsoft QLinearAdd.
 * A DequantizeLinear left over (e.g. before a graph output) lowers to a dequantized tensor (ops/op.ts); a float op
 * that then receives one is refused with a message naming it (ops/common.ts refuseScaledInputs).
 * Runs on the prepared graph (shapes known, constants folded), before lowering; a float model is unchanged.
 */
export function rewriteQdq(graph: Graph): Graph {
  if (!graph.nodes.some((n) => isOp(n, 'QuantizeLinear') || isOp(n, 'DequantizeLinear'))) return graph;
  quantizedInputs(graph);
  while (integerDataMovement(graph));
  integerLinear(graph);
  integerAdd(graph);
  removeDeadQdq(graph);
  return graph;
}

const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
const isOp = (n: OnnxNode | undefined, op: string) => n !== undefined && n.opType === op && (n.domain === '' || n.domain === 'ai.onnx');

/** Producers and consumers of every tensor, recomputed after each rewrite (graphs are small). */
function index(graph: Graph) {
  const producer = new Map<string, OnnxNode>();
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of graph.nodes) {
    for (const o of n.outputs) if (o) producer.set(o, n);
    for (const i of n.inputs) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  }
  const outputs = new Set(graph.outputs.map((o) => o.name));
  /** `name` feeds exactly `node` and is no graph output: the pattern may swallow it. */
  const only = (name: string, node: OnnxNode) => !outputs.has(name) && (consumers.get(name) ?? []).length === 1 && consumers.get(name)![0] === node;
  return { producer, consumers, outputs, only };
}

interface QParams {
  node: OnnxNode;
  /** The quantized (DQ input) or float (Q input) tensor. */
  x: string;
  scale: Tensor;
  zp?: Tensor;
  /** Names of the scale and zero point inputs ('' when absent). */
  scaleName: string;
  zpName: string;
}

/**
 * A Q or DQ node's constant parameters, or undefined when they are computed or a scale is not positive: every
 * rewrite here relies on x ↦ (x - zp)·scale being increasing (a max of the integers is the max of the values).
 * onnxruntime accepts a negative scale; left alone, the Q/DQ op refuses it by name when it is lowered.
 */
function params(graph: Graph, n: OnnxNode): QParams | undefined {
  const scale = graph.constants.get(n.inputs[1]);
  const zpName = n.inputs[2] ?? '';
  const zp = zpName ? graph.constants.get(zpName) : undefined;
  if (!scale || (zpName && !zp) || scale.data.some((s) => !(s > 0 && Number.isFinite(s)))) return undefined;
  return { node: n, x: n.inputs[0], scale, zp, scaleName: n.inputs[1], zpName };
}

const perTensor = (p: QParams) => p.scale.data.length === 1 && (!p.zp || p.zp.data.length === 1);
const zpDtype = (p: QParams) => p.zp?.dtype ?? 'uint8';
const zpValue = (p: QParams) => p.zp?.data[0] ?? 0;
const same = (a: QParams, b: QParams) => perTensor(a) && perTensor(b) && a.scale.data[0] === b.scale.data[0] && zpValue(a) === zpValue(b) && zpDtype(a) === zpDtype(b);

/** DQ of a computed tensor, per tensor: the activations of a QDQ group. */
function dqOfComputed(graph: Graph, producer: Map<string, OnnxNode>, name: string): QParams | undefined {
  const n = producer.get(name);
  if (!isOp(n, 'DequantizeLinear')) return undefined;
  const p = params(graph, n!);
  return p && perTensor(p) && !graph.constants.has(p.x) ? p : undefined;
}

/** DQ of a constant: weights (per tensor or per channel) and biases. */
function dqOfConstant(graph: Graph, producer: Map<string, OnnxNode>, name: string): QParams | undefined {
  const n = producer.get(name);
  if (!isOp(n, 'DequantizeLinear')) return undefined;
  const p = params(graph, n!);
  return p && graph.constants.has(p.x) ? p : undefined;
}

/** Renames a tensor everywhere it is read. */
function rename(graph: Graph, from: string, to: string): void {
  for (const n of graph.nodes) n.inputs = n.inputs.map((i) => (i === from ? to : i));
}

function replace(graph: Graph, remove: OnnxNode[], add: OnnxNode, at: OnnxNode): void {
  const i = graph.nodes.indexOf(at);
  graph.nodes.splice(i, 1, add);
  graph.nodes = graph.nodes.filter((n) => n === add || !remove.includes(n));
}

// 1 ---------------------------------------------------------------------------------------------------------------

function quantizedInputs(graph: Graph): void {
  const { consumers, outputs } = index(graph);
  for (const input of graph.inputs) {
    const uses = consumers.get(input.name) ?? [];
    if (input.quantization || input.dtype !== 'float' || uses.length === 0 || outputs.has(input.name)) continue;
    if (!uses.every((n) => isOp(n, 'QuantizeLinear') && n.inputs[0] === input.name)) continue;
    const ps = uses.map((n) => params(graph, n));
    if (ps.some((p) => !p || !perTensor(p) || !same(p, ps[0]!))) continue;
    if (uses.some((n) => outputs.has(n.outputs[0]))) continue;
    const p = ps[0]!;
    input.quantization = { scale: p.scale.data[0], zeroPoint: zpValue(p), dtype: zpDtype(p) };
    input.dtype = zpDtype(p);
    for (const q of uses) rename(graph, q.outputs[0], input.name);
    graph.nodes = graph.nodes.filter((n) => !uses.includes(n));
  }
}

// 2 ---------------------------------------------------------------------------------------------------------------

/** Ops whose output elements are input elements (or their max): they commute with x ↦ (x - zp)·scale, scale > 0. */
const DATA_MOVEMENT = new Set(['Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout', 'Slice', 'Gather', 'MaxPool', 'GlobalMaxPool']);

function integerDataMovement(graph: Graph): boolean {
  const { producer, consumers, only } = index(graph);
  for (const d of graph.nodes) {
    // DQ → Q with the same parameters: Q(DQ(x)) = x for every x of the type.
    if (isOp(d, 'QuantizeLinear')) {
      const dq = dqOfComputed(graph, producer, d.inputs[0]);
      const q = params(graph, d);
      if (dq && q && same(dq, q) && !index(graph).outputs.has(d.outputs[0])) {
        rename(graph, d.outputs[0], dq.x);
        graph.nodes = graph.nodes.filter((n) => n !== d);
        return true;
      }
      continue;
    }
    if (!DATA_MOVEMENT.has(d.opType) || d.domain || d.outputs.filter(Boolean).length !== 1) continue;
    const dq = dqOfComputed(graph, producer, d.inputs[0]);
    if (!dq || d.inputs.slice(1).some((i) => i && !graph.constants.has(i))) continue;
    const t = d.outputs[0];
    const q = consumers.get(t)?.[0];
    if (!isOp(q, 'QuantizeLinear') || !only(t, q!)) continue;
    const qp = params(graph, q!);
    if (!qp || !perTensor(qp)) continue;
    d.inputs[0] = dq.x;
    if (same(dq, qp)) {
      // D(x) is already the quantized result: it takes the Q's output name, the Q goes.
      d.outputs[0] = q!.outputs[0];
      graph.nodes = graph.nodes.filter((n) => n !== q);
    } else {
      // D on the integers, then DQ → Q requantizes to the new parameters.
      const inner = `${t}__int`;
      d.outputs[0] = inner;
      graph.shapes.set(inner, graph.shapes.get(t)!);
      const redq: OnnxNode = { name: `${d.name}__dq`, opType: 'DequantizeLinear', domain: '', inputs: [inner, dq.scaleName, dq.zpName], outputs: [t], attrs: new Map() };
      graph.nodes.splice(graph.nodes.indexOf(d) + 1, 0, redq);
    }
    return true;
  }
  return false;
}

// 3 ---------------------------------------------------------------------------------------------------------------

/** The Q node's input chain: [Relu →] producer, when each link feeds only the next. */
function chain(graph: Graph, ix: ReturnType<typeof index>, q: OnnxNode): { lin: OnnxNode; relu?: OnnxNode } | undefined {
  const t = q.inputs[0];
  const first = ix.producer.get(t);
  if (!first || !ix.only(t, q)) return undefined;
  if (isOp(first, 'Relu')) {
    const lin = ix.producer.get(first.inputs[0]);
    if (!lin || !ix.only(first.inputs[0], first)) return undefined;
    return { lin, relu: first };
  }
  return { lin: first };
}

/** The scale of each element of a DQ'd constant of shape `dims`: per tensor, or per axis (the DQ's `axis`, default 1). */
function elementScale(p: QParams, dims: number[]): ((e: number) => number) | undefined {
  if (p.scale.data.length === 1) return () => p.scale.data[0];
  const declared = attrInt(p.node, 'axis', 1);
  const axis = declared < 0 ? declared + dims.length : declared;
  if (axis < 0 || axis >= dims.length || dims[axis] !== p.scale.data.length) return undefined;
  const inner = sizeOf(dims.slice(axis + 1));
  return (e) => p.scale.data[Math.floor(e / inner) % dims[axis]];
}

/**
 * The int32 bias of a QDQ group: DQ(int32, zero point 0) that broadcasts to the accumulator's `target` shape
 * ([M] channels for Conv, [M, N] for Gemm), every element with scale input scale × the weight scale of its
 * channel (`channel` of a target position), as onnxruntime requires: only then is adding the int32 values to
 * the accumulator the same as adding the dequantized bias. Its dims, not its element count, say where each value
 * lands: a [M, 1] bias with M == N is per row. Undefined when the bias cannot join the accumulator (it does not
 * broadcast to `target`, or one value spans channels whose weight scales differ): the group then stays unfused.
 */
function biasOf(graph: Graph, producer: Map<string, OnnxNode>, name: string, inScale: number, wScale: Tensor, target: number[], channel: (i: number) => number, where: string): string | undefined {
  const b = dqOfConstant(graph, producer, name);
  if (!b) return undefined;
  const ints = graph.constants.get(b.x)!;
  if (ints.dtype !== 'int32' || (b.zp && b.zp.data.some((z) => z !== 0))) {
    throw new ZkmlError(`the bias "${name}" must be DequantizeLinear of int32 with zero point 0 (got ${ints.dtype})`, 'E_UNSUPPORTED', where);
  }
  const dims = ints.dims;
  const broadcasts = dims.length <= target.length && dims.every((d, i) => d === 1 || d === target[target.length - dims.length + i]);
  const scaleAt = elementScale(b, dims);
  if (!broadcasts || !scaleAt) return undefined;
  const index = broadcastIndexer(target, dims);
  const wAt = (c: number) => wScale.data[wScale.data.length === 1 ? 0 : c];
  const perChannel = new Map<number, number>();
  for (let i = 0; i < sizeOf(target); i++) {
    const e = index(i);
    const w = wAt(channel(i));
    // One bias value added to accumulators of different weight scales has no single int32 value.
    if (perChannel.has(e) && perChannel.get(e) !== w) return undefined;
    perChannel.set(e, w);
  }
  for (const [e, w] of perChannel) {
    const expected = Math.fround(inScale * w);
    const got = scaleAt(e);
    if (Math.abs(got - expected) > 1e-6 * expected) {
      throw new ZkmlError(
        `the bias "${name}" has scale ${got} at element ${e}; an int32 bias must have scale input_scale × weight_scale = ${expected} ` +
          '(onnxruntime adds the int32 values to the accumulator as they are)',
        'E_UNSUPPORTED',
        where,
      );
    }
  }
  return b.x;
}

/** Weights DQ per tensor, or per channel along `axis` with `channels` values. */
function weightsOf(graph: Graph, producer: Map<string, OnnxNode>, name: string, axis: number, channels: number): QParams | undefined {
  const w = dqOfConstant(graph, producer, name);
  if (!w) return undefined;
  if (perTensor(w)) return w;
  const declared = attrInt(w.node, 'axis', 1);
  const rank = graph.constants.get(w.x)!.dims.length;
  if ((declared < 0 ? declared + rank : declared) !== axis || w.scale.data.length !== channels) return undefined;
  return w;
}

function integerLinear(graph: Graph): void {
  for (const q of graph.nodes.filter((n) => isOp(n, 'QuantizeLinear'))) {
    const ix = index(graph);
    const qp = params(graph, q);
    if (!qp || !perTensor(qp)) continue;
    const c = chain(graph, ix, q);
    if (!c) continue;
    const { relu } = c;
    let lin = c.lin;
    const where = `${graph.path}: ${nodeLabel(lin)}`;
    const swallowed: OnnxNode[] = [q, ...(relu ? [relu] : []), lin];
    let biasInput: string | undefined;
    // MatMul + Add(DQ(int32 bias)) is a Gemm with a bias.
    if (isOp(lin, 'Add')) {
      const k = lin.inputs.findIndex((i) => isOp(ix.producer.get(i), 'MatMul') && ix.only(i, lin));
      if (k < 0) continue;
      biasInput = lin.inputs[1 - k];
      lin = ix.producer.get(lin.inputs[k])!;
      swallowed.push(lin);
    }
    const x = dqOfComputed(graph, ix.producer, lin.inputs[0]);
    if (!x) continue;
    const xShape = graph.shapes.get(x.x) ?? [];
    const sx = x.scale.data[0];
    const out = [qp.scaleName, qp.zpName];
    const attrs = new Map(lin.attrs);
    if (relu) attrs.set('zkml_relu', 1);
    let fused: OnnxNode | undefined;

    if (isOp(lin, 'Conv')) {
      const wT = graph.constants.get(dqOfConstant(graph, ix.producer, lin.inputs[1])?.x ?? '');
      const M = wT?.dims[0] ?? 0;
      const w = weightsOf(graph, ix.producer, lin.inputs[1], 0, M);
      if (!w) continue;
      const b = lin.inputs[2] ? biasOf(graph, ix.producer, lin.inputs[2], sx, w.scale, [M], (m) => m, where) : undefined;
      if (lin.inputs[2] && !b) continue;
      fused = node(lin, 'QLinearConv', '', [x.x, x.scaleName, x.zpName, w.x, w.scaleName, w.zpName, ...out, ...(b ? [b] : [])], attrs, q);
    } else if (isOp(lin, 'MatMul') || isOp(lin, 'Gemm')) {
      const gemm = isOp(lin, 'Gemm');
      const transB = gemm && attrInt(lin, 'transB', 0) === 1;
      const wT = graph.constants.get(dqOfConstant(graph, ix.producer, lin.inputs[1])?.x ?? '');
      if (!wT || wT.dims.length !== 2) continue;
      const N = transB ? wT.dims[0] : wT.dims[1];
      const w = weightsOf(graph, ix.producer, lin.inputs[1], transB ? 0 : 1, N);
      if (!w) continue;
      const biasName = gemm ? lin.inputs[2] : biasInput;
      // The accumulator is the MatMul's (or Gemm's) output; an Add whose bias broadcasts it to another shape
      // (a [1, 1, N] bias makes it rank 3) is not a Gemm bias.
      const acc = graph.shapes.get(lin.outputs[0]) ?? [];
      if (biasInput && !sameShape(graph.shapes.get(q.inputs[0]) ?? [], acc)) continue;
      const b = biasName ? biasOf(graph, ix.producer, biasName, sx, w.scale, acc, (i) => i % N, where) : undefined;
      if (biasName && !b) continue;
      if (gemm && (attrFloat(lin, 'alpha', 1) !== 1 || (b && attrFloat(lin, 'beta', 1) !== 1))) continue;
      if (!gemm && !b) {
        fused = node(lin, 'QLinearMatMul', '', [x.x, x.scaleName, x.zpName, w.x, w.scaleName, w.zpName, ...out], attrs, q);
      } else {
        if (xShape.length !== 2) continue;
        const gattrs = new Map([...attrs].filter(([k]) => ['transA', 'transB', 'zkml_relu'].includes(k)));
        fused = node(lin, 'QGemm', 'com.microsoft', [x.x, x.scaleName, x.zpName, w.x, w.scaleName, w.zpName, b ?? '', ...out], gattrs, q);
      }
    }
    if (!fused) continue;
    replace(graph, swallowed, fused, q);
  }
}

function node(like: OnnxNode, opType: string, domain: string, inputs: string[], attrs: Map<string, unknown>, q: OnnxNode): OnnxNode {
  // The fused node keeps the float op's name, so per-layer costs and messages name the layer the user knows.
  return { name: like.name, opType, domain, inputs, outputs: [q.outputs[0]], attrs: attrs as OnnxNode['attrs'] };
}

// 4 ---------------------------------------------------------------------------------------------------------------

function integerAdd(graph: Graph): void {
  for (const q of graph.nodes.filter((n) => isOp(n, 'QuantizeLinear'))) {
    const ix = index(graph);
    const qp = params(graph, q);
    const c = chain(graph, ix, q);
    if (!qp || !perTensor(qp) || !c || !isOp(c.lin, 'Add')) continue;
    const [a, b] = c.lin.inputs.map((i) => {
      const p = ix.producer.get(i);
      if (!isOp(p, 'DequantizeLinear')) return undefined;
      const pp = params(graph, p!);
      return pp && perTensor(pp) ? pp : undefined;
    });
    if (!a || !b) continue;
    const attrs = new Map<string, unknown>(c.relu ? [['zkml_relu', 1]] : []);
    const fused = node(c.lin, 'QLinearAdd', 'com.microsoft', [a.x, a.scaleName, a.zpName, b.x, b.scaleName, b.zpName, qp.scaleName, qp.zpName], attrs, q);
    replace(graph, [q, c.lin, ...(c.relu ? [c.relu] : [])], fused, q);
  }
}

// -----------------------------------------------------------------------------------------------------------------

/** Q/DQ nodes whose outputs nothing reads any more. */
function removeDeadQdq(graph: Graph): void {
  for (;;) {
    const { consumers, outputs } = index(graph);
    const dead = graph.nodes.filter((n) => (isOp(n, 'DequantizeLinear') || isOp(n, 'QuantizeLinear')) && n.outputs.every((o) => !o || (!consumers.has(o) && !outputs.has(o))));
    if (dead.length === 0) return;
    graph.nodes = graph.nodes.filter((n) => !dead.includes(n));
  }
}
