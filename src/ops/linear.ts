import type { LowerCtx, OpDef, QTensor } from './op.ts';
import { addBias, dot, weights, type Weights } from './params.ts';
import { constInput, isConst, optionalConst, qInput } from './common.ts';
import { attrFloat, attrInt } from '../onnx/graph.ts';
import { broadcastIndexer, broadcastShapes, sizeOf, type Tensor } from '../onnx/tensor.ts';
import { Expr } from '../ir/expr.ts';
import { liftExp, quantizeTensor, weightExp } from '../quantize/fixed.ts';
import { matmulOf } from './arith.ts';
import { spread } from './elementwise.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * out[r, n] = Σ_k a[r, k] · W[k, n] (+ bias[r, n]) with W constant: a linear combination, no constraint.
 * `a` is viewed as rows of length K; W's integers carry exponent `wExp`, so out has a.exp + wExp.
 */
function denseRows(ctx: LowerCtx, a: QTensor, rows: number, K: number, W: Weights, N: number, bias: Weights | undefined, at: (r: number, k: number) => number): Expr[] {
  const out: Expr[] = [];
  for (let r = 0; r < rows; r++) {
    for (let n = 0; n < N; n++) {
      const terms: [Expr, number][] = [];
      for (let k = 0; k < K; k++) terms.push([a.exprs[at(r, k)], k * N + n]);
      out.push(addBias(dot(ctx, W, terms), bias, r * N + n));
    }
  }
  return out;
}

function quantizeWeights(ctx: Parameters<NonNullable<OpDef['lower']>>[0], w: Tensor, scaleBy = 1): { ints: bigint[]; exp: number } {
  const values = scaleBy === 1 ? w.data : w.data.map((v) => v * scaleBy);
  const exp = weightExp(values, ctx.opts.weightBits, ctx.opts.maxWeightExp);
  return { ints: quantizeTensor({ ...w, data: values }, exp, ctx.where), exp };
}

/** The bias broadcast to [M, N] as integers at exponent `exp`. */
function biasAt(ctx: Parameters<NonNullable<OpDef['lower']>>[0], c: Tensor | undefined, scaleBy: number, M: number, N: number, exp: number): bigint[] | undefined {
  if (!c) return undefined;
  broadcastShapes([M, N], c.dims, ctx.where);
  const index = broadcastIndexer([M, N], c.dims);
  const scaled = { ...c, data: Array.from({ length: M * N }, (_, i) => c.data[index(i)] * scaleBy), dims: [M, N] };
  return quantizeTensor(scaled, exp, ctx.where);
}

/** Output shape of MatMul (numpy semantics: 1-D operands promoted, batch dimensions broadcast). */
export function matmulShape(a: number[], b: number[], where: string): number[] {
  const A = a.length === 1 ? [1, a[0]] : a;
  const B = b.length === 1 ? [b[0], 1] : b;
  const K = A[A.length - 1];
  if (B[B.length - 2] !== K) throw new ZkmlError(`inner dimensions differ: [${a}] x [${b}]`, 'E_SHAPE', where);
  const batch = broadcastShapes(A.slice(0, -2), B.slice(0, -2), where);
  const out = [...batch, A[A.length - 2], B[B.length - 1]];
  if (a.length === 1) out.splice(out.length - 2, 1);
  if (b.length === 1) out.splice(out.length - 1, 1);
  return out;
}

/** Float MatMul of two constants (numpy semantics), for constant folding: weights computed from weights. */
function matmulFloat(a: Tensor, b: Tensor, where: string): Tensor {
  const A = a.dims.length === 1 ? [1, a.dims[0]] : a.dims;
  const B = b.dims.length === 1 ? [b.dims[0], 1] : b.dims;
  const [M, K] = A.slice(-2);
  const N = B[B.length - 1];
  const batch = broadcastShapes(A.slice(0, -2), B.slice(0, -2), where);
  const ia = broadcastIndexer(batch, A.slice(0, -2));
  const ib = broadcastIndexer(batch, B.slice(0, -2));
  const data: number[] = [];
  for (let t = 0; t < sizeOf(batch); t++) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let sum = 0;
        for (let k = 0; k < K; k++) sum += a.data[ia(t) * M * K + m * K + k] * b.data[ib(t) * K * N + k * N + n];
        data.push(sum);
      }
    }
  }
  return { dtype: a.dtype, dims: matmulShape(a.dims, b.dims, where), data };
}

const matmul: OpDef = {
  ops: ['MatMul'],
  shapes: (ctx) => [matmulShape(ctx.shapes[0], ctx.shapes[1], ctx.where)],
  fold: (ctx, [a, b]) => [matmulFloat(a, b, ctx.where)],
  lower(ctx) {
    const [left, right] = ctx.inputs;
    const outShape = ctx.outShapes[0];
    if (isConst(right) && right.tensor.dims.length <= 2) {
      // Activations times fixed weights: every leading dimension of `a` is a row.
      const a = qInput(ctx, 0);
      const W = right.tensor.dims.length === 1 ? { ...right.tensor, dims: [right.tensor.dims[0], 1] } : right.tensor;
      const [K, N] = W.dims;
      const { ints, exp } = quantizeWeights(ctx, W);
      const rows = a.exprs.length / K;
      const w = weights(ctx, 'weight', ints, ctx.opts.weightBits);
      return [{ shape: outShape, exp: a.exp + exp, exprs: denseRows(ctx, a, rows, K, w, N, undefined, (r, k) => r * K + k) }];
    }
    if (isConst(left) && left.tensor.dims.length === 2) {
      // Fixed matrix times activations: out[m, n] = Σ_k A[m, k] b[k, n], i.e. the transposed problem.
      const b = qInput(ctx, 1);
      const [M, K] = left.tensor.dims;
      const N = b.exprs.length / K;
      if (!Number.isInteger(N) || b.shape.length > 2) throw new ZkmlError(`a constant [${left.tensor.dims}] times a computed [${b.shape}] is supported for 2-D operands only`, 'E_UNSUPPORTED', ctx.where);
      const { ints, exp } = quantizeWeights(ctx, left.tensor);
      // Reuse denseRows on the transpose: rows = n, weights W'[k, m] = A[m, k].
      const WT = Array.from({ length: K * M }, (_, i) => ints[(i % M) * K + Math.floor(i / M)]);
      const t = denseRows(ctx, b, N, K, weights(ctx, 'weight', WT, ctx.opts.weightBits), M, undefined, (n, k) => k * N + n);
      const exprs = Array.from({ length: M * N }, (_, i) => t[(i % N) * M + Math.floor(i / N)]);
      return [{ shape: outShape, exp: b.exp + exp, exprs }];
    }
    // Two computed operands, or batched constant weights: one product per term (ops/arith.ts).
    return [matmulOf(ctx, qInput(ctx, 0), qInput(ctx, 1), outShape)];
  },
};

const gemm: OpDef = {
  ops: ['Gemm'],
  shapes(ctx) {
    const [a, b] = ctx.shapes;
    if (a.length !== 2 || b.length !== 2) throw new ZkmlError(`Gemm takes 2-D A and B, got [${a}] and [${b}]`, 'E_SHAPE', ctx.where);
    const M = attrInt(ctx.node, 'transA', 0) ? a[1] : a[0];
    const KA = attrInt(ctx.node, 'transA', 0) ? a[0] : a[1];
    const KB = attrInt(ctx.node, 'transB', 0) ? b[1] : b[0];
    const N = attrInt(ctx.node, 'transB', 0) ? b[0] : b[1];
    if (KA !== KB) throw new ZkmlError(`inner dimensions differ: A' is [${M}, ${KA}], B' is [${KB}, ${N}]`, 'E_SHAPE', ctx.where);
    return [[M, N]];
  },
  fold(ctx, [a, b, c]) {
    // alpha·A'·B' + beta·C, C broadcast to [M, N].
    const t = (x: Tensor, on: boolean): Tensor => (on ? { ...x, dims: [x.dims[1], x.dims[0]], data: Array.from(x.data, (_, i) => x.data[(i % x.dims[0]) * x.dims[1] + Math.floor(i / x.dims[0])]) } : x);
    const ab = matmulFloat(t(a, attrInt(ctx.node, 'transA', 0) === 1), t(b, attrInt(ctx.node, 'transB', 0) === 1), ctx.where);
    const alpha = attrFloat(ctx.node, 'alpha', 1);
    const beta = attrFloat(ctx.node, 'beta', 1);
    const [M, N] = ab.dims;
    if (c) broadcastShapes([M, N], c.dims, ctx.where);
    const ic = c ? broadcastIndexer([M, N], c.dims) : undefined;
    return [{ ...ab, data: ab.data.map((v, i) => alpha * v + (c ? beta * c.data[ic!(i)] : 0)) }];
  },
  lower(ctx) {
    if (!isConst(ctx.inputs[1])) return [gemmComputed(ctx)];
    const a = qInput(ctx, 0);
    const B = constInput(ctx, 1, 'Gemm weight B');
    const alpha = attrFloat(ctx.node, 'alpha', 1);
    const beta = attrFloat(ctx.node, 'beta', 1);
    const transA = attrInt(ctx.node, 'transA', 0) === 1;
    const transB = attrInt(ctx.node, 'transB', 0) === 1;
    const [M, N] = ctx.outShapes[0];
    const K = transA ? a.shape[0] : a.shape[1];
    // W[k, n] = alpha · B'[k, n], quantized once (alpha folded into the weights).
    const Bk = transB ? { ...B, dims: [K, N], data: Array.from({ length: K * N }, (_, i) => B.data[(i % N) * K + Math.floor(i / N)]) } : B;
    const { ints, exp } = quantizeWeights(ctx, Bk, alpha);
    const outExp = a.exp + exp;
    const biasInts = biasAt(ctx, optionalConst(ctx, 2, 'Gemm bias C'), beta, M, N, outExp);
    const w = weights(ctx, 'weight', ints, ctx.opts.weightBits);
    const bias = biasInts && weights(ctx, 'bias', biasInts);
    const at = transA ? (r: number, k: number) => k * M + r : (r: number, k: number) => r * K + k;
    return [{ shape: [M, N], exp: outExp, exprs: denseRows(ctx, a, M, K, w, N, bias, at) }];
  },
};

/**
 * Gemm with a computed B (a product of activations): alpha·A'·B' by matmulOf (requantized to the activation scale),
 * alpha as a weight when it is not 1, plus beta·C added at the product's exponent. Error and cost: ops/arith.ts.
 */
function gemmComputed(ctx: LowerCtx): QTensor {
  const alpha = attrFloat(ctx.node, 'alpha', 1);
  const beta = attrFloat(ctx.node, 'beta', 1);
  const t = (q: QTensor, on: boolean): QTensor =>
    on ? { ...q, shape: [q.shape[1], q.shape[0]], exprs: Array.from(q.exprs, (_, i) => q.exprs[(i % q.shape[0]) * q.shape[1] + Math.floor(i / q.shape[0])]) } : q;
  const a = t(qInput(ctx, 0), attrInt(ctx.node, 'transA', 0) === 1);
  const b = t(qInput(ctx, 1), attrInt(ctx.node, 'transB', 0) === 1);
  const [M, N] = ctx.outShapes[0];
  let ab = matmulOf(ctx, a, b, [M, N]);
  if (alpha !== 1) {
    const { ints, exp } = quantizeWeights(ctx, { dtype: 'float', dims: [1], data: [alpha] });
    ab = { ...ab, exp: ab.exp + exp, exprs: ab.exprs.map((e) => e.scale(ints[0])) };
  }
  const c = ctx.inputs[2];
  if (!c || ctx.node.inputs[2] === '' || beta === 0) return ab;
  if (isConst(c)) {
    const bias = biasAt(ctx, c.tensor, beta, M, N, ab.exp)!;
    return { ...ab, exprs: ab.exprs.map((e, i) => e.addConst(bias[i])) };
  }
  // beta·C with C computed: beta quantized like a weight (exact when it is 1).
  const bw = beta === 1 ? { ints: [1n], exp: 0 } : quantizeWeights(ctx, { dtype: 'float', dims: [1], data: [beta] });
  const cq: QTensor = { ...c.q, exp: c.q.exp + bw.exp, exprs: c.q.exprs.map((e) => e.scale(bw.ints[0])) };
  const exp = Math.max(ab.exp, cq.exp);
  const cc = spread(liftExp(cq, exp), [M, N]);
  const lifted = liftExp(ab, exp);
  return { shape: [M, N], exp, exprs: lifted.exprs.map((e, i) => e.add(cc[i])) };
}

export const linearOps: OpDef[] = [matmul, gemm];
