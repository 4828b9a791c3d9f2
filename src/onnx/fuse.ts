import type { Graph, OnnxNode } from './graph.ts';
import { attrFloat, attrInt } from './graph.ts';
import type { Tensor } from './tensor.ts';
import { batchNormAffine } from '../ops/normalization.ts';

/**
 * Folds BatchNormalization into the linear layer before it (Gemm, 2-D MatMul, Conv with constant weights),
 * in float, before quantization: the BN's per-channel scale multiplies the weights and its shift joins the
 * bias, so the pair quantizes as one layer with one rounding. A BN that cannot be folded stays and is applied
 * as a per-channel affine op.
 */
export function foldBatchNorms(graph: Graph): Graph {
  const uses = new Map<string, number>();
  for (const n of graph.nodes) for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const producer = new Map<string, OnnxNode>();
  for (const n of graph.nodes) for (const o of n.outputs) producer.set(o, n);
  const c = graph.constants;
  const removed = new Set<OnnxNode>();

  for (const bn of graph.nodes) {
    if (bn.opType !== 'BatchNormalization' || bn.domain) continue;
    const x = bn.inputs[0];
    const lin = producer.get(x);
    const params = bn.inputs.slice(1, 5).map((i) => c.get(i));
    if (!lin || uses.get(x) !== 1 || outputs.has(x) || params.some((p) => !p) || c.has(x)) continue;
    const { a, b } = batchNormAffine(params[0]!, params[1]!, params[2]!, params[3]!, attrFloat(bn, 'epsilon', 1e-5));
    const N = a.length;
    const fresh = (suffix: string, t: Tensor) => {
      const name = `${lin.name}__bn_${suffix}`;
      c.set(name, t);
      graph.shapes.set(name, t.dims);
      return name;
    };
    const W = c.get(lin.inputs[1]);
    if (!W) continue;
    let folded = false;
    if (lin.opType === 'Gemm' && W.dims.length === 2) {
      const transB = attrInt(lin, 'transB', 0) === 1;
      const [r, cols] = W.dims;
      if ((transB ? r : cols) !== N) continue;
      const w = W.data.map((v, i) => v * a[transB ? Math.floor(i / cols) : i % cols]);
      const beta = attrFloat(lin, 'beta', 1);
      const C = lin.inputs[2] ? c.get(lin.inputs[2]) : undefined;
      // Fold only a bias that is per column (or scalar): then the new bias is one value per channel.
      if (lin.inputs[2] && (!C || (C.data.length !== 1 && C.data.length !== N))) continue;
      const bias = a.map((an, n) => beta * (C ? C.data[C.data.length === 1 ? 0 : n] : 0) * an + b[n]);
      lin.inputs[1] = fresh('W', { dtype: 'float', dims: W.dims, data: w });
      lin.inputs[2] = fresh('C', { dtype: 'float', dims: [N], data: bias });
      lin.attrs.set('beta', 1);
      folded = true;
    } else if (lin.opType === 'MatMul' && W.dims.length === 2 && W.dims[1] === N && graph.shapes.get(lin.inputs[0])?.length === 2) {
      const w = W.data.map((v, i) => v * a[i % N]);
      lin.opType = 'Gemm';
      lin.attrs = new Map();
      lin.inputs = [lin.inputs[0], fresh('W', { dtype: 'float', dims: W.dims, data: w }), fresh('C', { dtype: 'float', dims: [N], data: b })];
      folded = true;
    } else if (lin.opType === 'Conv' && W.dims[0] === N) {
      const per = W.data.length / N;
      const w = W.data.map((v, i) => v * a[Math.floor(i / per)]);
      const B = lin.inputs[2] ? c.get(lin.inputs[2]) : undefined;
      if (lin.inputs[2] && !B) continue;
      const bias = a.map((an, n) => (B ? B.data[n] : 0) * an + b[n]);
      lin.inputs = [lin.inputs[0], fresh('W', { dtype: 'float', dims: W.dims, data: w }), fresh('B', { dtype: 'float', dims: [N], data: bias })];
      folded = true;
    }
    if (folded) {
      lin.outputs[0] = bn.outputs[0];
      graph.shapes.set(bn.outputs[0], graph.shapes.get(x)!);
      removed.add(bn);
    }
  }
  graph.nodes = graph.nodes.filter((n) => !removed.has(n));
  return graph;
}
