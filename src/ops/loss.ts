import type { LowerCtx, OpDef, ShapeCtx } from './op.ts';
import { constInput, qInput } from './common.ts';
import { attrInt, attrString } from '../onnx/graph.ts';
import { sizeOf, type Tensor } from '../onnx/tensor.ts';
import { Expr } from '../ir/expr.ts';
import { roundingError, toFixed, weightExp } from '../quantize/fixed.ts';
import { logSumExp } from './reduce-extra.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss with constant targets (and constant class weights): what
 * an evaluation circuit proves, "the model's loss on this labelled set is L".
 *
 * NLL, input x [N, C, d...], target t [N, d...]: loss[n, d] = -w[t]·x[n, t, d] (0 where t = ignore_index),
 * then reduction none / sum / mean (mean divides by Σ w[t] over the kept positions). With constant targets the
 * selection x[n, t, d] is wiring and the loss is a linear expression of x with constant coefficients: free.
 * Integer semantics: the coefficients -w[t] (none, sum) or -w[t]/Σw (mean) quantized at one exponent with
 * weightBits significant bits (exact -1 without weights, and for sum/none); error the coefficients' rounding,
 * at most 2^-(c+1)·Σ|x| for coefficient exponent c.
 *
 * SoftmaxCrossEntropyLoss(x, t, w) = NLL(log_softmax(x, axis 1), t, w), with log_prob = x - LSE(x) along the
 * class axis by the log-sum-exp of ops/reduce-extra.ts (error below 2·2^-s per position, s the activation
 * scale; cost per position: C - 1 comparisons, C Exp tables, one Log table, one comparison, two
 * requantizations), then the NLL above (free). Outputs: the loss and, when asked, log_prob.
 */

interface Selection {
  /** Output shape of the loss. */
  shape: number[];
  /** Per output element: the terms (flat index into x, real coefficient). */
  terms: [number, number][][];
}

function selection(ctx: ShapeCtx | LowerCtx, xShape: number[], target: Tensor, weight: Tensor | undefined): Selection {
  const [N, C, ...rest] = xShape;
  const inner = sizeOf(rest);
  if (target.dims.join(',') !== [N, ...rest].join(',')) {
    throw new ZkmlError(`target has shape [${target.dims}], expected [${[N, ...rest]}] for input [${xShape}]`, 'E_SHAPE', ctx.where);
  }
  const ignore = attrInt(ctx.node, 'ignore_index');
  const reductionMode = attrString(ctx.node, 'reduction', 'mean');
  const per: [number, number][] = [];
  let total = 0;
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < inner; d++) {
      const t = target.data[n * inner + d];
      if (t === ignore) {
        per.push([-1, 0]);
        continue;
      }
      if (!Number.isInteger(t) || t < 0 || t >= C) throw new ZkmlError(`target ${t} at [${n}, ${d}] is not a class in [0, ${C})`, 'E_BAD_TENSOR', ctx.where);
      const w = weight ? weight.data[t] : 1;
      total += w;
      per.push([(n * C + t) * inner + d, -w]);
    }
  }
  const kept = (p: [number, number]) => (p[0] < 0 ? [] : [p]);
  if (reductionMode === 'none') return { shape: [N, ...rest], terms: per.map(kept) };
  if (reductionMode === 'sum') return { shape: [], terms: [per.flatMap(kept)] };
  if (reductionMode !== 'mean') throw new ZkmlError(`reduction "${reductionMode}" is not one of none, sum, mean`, 'E_ATTR', ctx.where);
  if (total === 0) throw new ZkmlError('mean reduction over no kept targets (every target ignored, or zero weights): the loss is undefined', 'E_BAD_TENSOR', ctx.where);
  return { shape: [], terms: [per.flatMap(kept).map(([i, c]) => [i, c / total] as [number, number])] };
}

const weightOf = (ctx: ShapeCtx | LowerCtx) => (ctx.node.inputs[2] ? constInput(ctx, 2, 'weight') : undefined);

/** The loss as linear expressions of the (log-probability) tensor `x` given as expressions at exponent e. */
function lossExprs(ctx: LowerCtx, xShape: number[], xs: Expr[], e: number): { shape: number[]; exp: number; exprs: Expr[] } {
  const sel = selection(ctx, xShape, constInput(ctx, 1, 'target'), weightOf(ctx));
  const coefs = sel.terms.flat().map(([, c]) => c);
  // Exact when every coefficient is ±1 (no weights, none/sum): exponent 0.
  const c = coefs.every((v) => Math.abs(v) === 1) ? 0 : weightExp(coefs, ctx.opts.weightBits, ctx.opts.maxWeightExp);
  return {
    shape: sel.shape,
    exp: e + c,
    // Each coefficient's rounding recorded (ir/expr.ts), so the weighted loss keeps a proven error bound.
    exprs: sel.terms.map((ts) =>
      Expr.sum(ts.map(([i, v]) => {
        const n = toFixed(v, c, ctx.where);
        return [xs[i].scaleRounded(n, roundingError(v, c, n)), 1n];
      })),
    ),
  };
}

function floatLoss(ctx: ShapeCtx, x: Tensor, target: Tensor, weight: Tensor | undefined): Tensor {
  const sel = selection(ctx, x.dims, target, weight);
  return { dtype: x.dtype, dims: sel.shape, data: sel.terms.map((ts) => ts.reduce((a, [i, v]) => a + v * x.data[i], 0)) };
}

function floatLogSoftmax(x: Tensor): Tensor {
  const [N, C, ...rest] = x.dims;
  const inner = sizeOf(rest);
  const data = [...x.data];
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < inner; d++) {
      const idx = Array.from({ length: C }, (_, c) => (n * C + c) * inner + d);
      const m = Math.max(...idx.map((i) => x.data[i]));
      const lse = m + Math.log(idx.reduce((a, i) => a + Math.exp(x.data[i] - m), 0));
      for (const i of idx) data[i] = x.data[i] - lse;
    }
  }
  return { ...x, data };
}

const lossShape = (ctx: ShapeCtx) => (attrString(ctx.node, 'reduction', 'mean') === 'none' ? [ctx.shapes[0][0], ...ctx.shapes[0].slice(2)] : []);

const nll: OpDef = {
  ops: ['NegativeLogLikelihoodLoss'],
  shapes: (ctx) => [lossShape(ctx)],
  fold: (ctx, [x, t, w]) => [floatLoss(ctx, x, t, w)],
  lower(ctx) {
    const x = qInput(ctx, 0);
    return [lossExprs(ctx, x.shape, x.exprs, x.exp)];
  },
};

const sce: OpDef = {
  ops: ['SoftmaxCrossEntropyLoss'],
  shapes: (ctx) => [lossShape(ctx), ctx.shapes[0]].slice(0, ctx.node.outputs.length),
  fold(ctx, [x, t, w]) {
    const lp = floatLogSoftmax(x);
    return [floatLoss(ctx, lp, t, w), lp].slice(0, ctx.node.outputs.length);
  },
  lower(ctx) {
    const x = qInput(ctx, 0);
    const [N, C, ...rest] = x.shape;
    if (C === undefined) throw new ZkmlError(`scores must have shape [N, C, ...], got [${x.shape}]`, 'E_SHAPE', ctx.where);
    const inner = sizeOf(rest);
    const groups: number[][] = [];
    for (let n = 0; n < N; n++) for (let d = 0; d < inner; d++) groups.push(Array.from({ length: C }, (_, c) => (n * C + c) * inner + d));
    const lse = logSumExp(ctx.program, groups.map((g) => g.map((i) => x.exprs[i])), x.exp, ctx.opts.scale, ctx.node.name, ctx.where);
    const k = 1n << BigInt(lse.exp - x.exp);
    const logProb = new Array<Expr>(x.exprs.length);
    groups.forEach((g, j) => g.forEach((i) => (logProb[i] = Expr.sum([[x.exprs[i], k], [lse.exprs[j], -1n]]))));
    const loss = lossExprs(ctx, x.shape, logProb, lse.exp);
    return [loss, { shape: x.shape, exp: lse.exp, exprs: logProb }].slice(0, ctx.node.outputs.length);
  },
};

export const lossOps: OpDef[] = [nll, sce];
