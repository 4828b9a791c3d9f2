import type { Graph, OnnxNode } from '../../onnx/graph.ts';
import { attrFloat, attrInt } from '../../onnx/graph.ts';
import { broadcastIndexer, type Tensor } from '../../onnx/tensor.ts';
import { batchNormAffine } from '../../ops/normalization.ts';

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
      const out = graph.shapes.get(x);
      const C = lin.inputs[2] ? c.get(lin.inputs[2]) : undefined;
      if (!out || out.length !== 2 || out[1] !== N || (lin.inputs[2] && !C)) continue;
      const bias = gemmBias(C, attrFloat(lin, 'beta', 1), a, b, out[0]);
      if (!bias) continue;
      const w = W.data.map((v, i) => v * a[transB ? Math.floor(i / cols) : i % cols]);
      lin.inputs[1] = fresh('W', { dtype: 'float', dims: W.dims, data: w });
      lin.inputs[2] = fresh('C', bias);
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
      // Conv's bias is one value per output channel; any other length is the Conv's own error to report.
      if (lin.inputs[2] && (!B || B.data.length !== N)) continue;
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

/**
 * The Gemm bias after folding a BN with per-column affine map (a, b) into it: a[n]·β·C[m, n] + b[n] over the
 * [M, N] output. C broadcasts to [M, N] by ONNX's unidirectional rule, so it may be a scalar, per column ([N],
 * [1, N]), per row ([M, 1]) or full ([M, N]); only its dims say which (a [M, 1] C with M == N has as many
 * values as a per-column one). A bias constant along the rows folds to one value per column, [N]; any other to
 * the full [M, N]. Undefined when C does not broadcast to [M, N]: the Gemm is left as it is, for its own check.
 */
function gemmBias(C: Tensor | undefined, beta: number, a: number[], b: number[], M: number): Tensor | undefined {
  const N = a.length;
  if (!C) return { dtype: 'float', dims: [N], data: b.slice() };
  const dims = C.dims;
  if (dims.length > 2 || dims.some((d, i) => d !== 1 && d !== [M, N][i + 2 - dims.length])) return undefined;
  const index = broadcastIndexer([M, N], dims);
  const perColumn = dims.length < 2 || dims[0] === 1;
  const rows = perColumn ? 1 : M;
  const data = Array.from({ length: rows * N }, (_, i) => a[i % N] * beta * C.data[index(i)] + b[i % N]);
  return { dtype: 'float', dims: perColumn ? [N] : [M, N], data };
}
