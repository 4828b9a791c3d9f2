import type { LowerCtx, QTensor } from './op.ts';
import { qInput } from './common.ts';
import { attrInt } from '../onnx/graph.ts';
import { normAxis, sizeOf, strides } from '../onnx/tensor.ts';
import { Expr } from '../ir/expr.ts';
import { extremum } from './compare.ts';
import { range } from '../gadgets/range.ts';
import { quotientOf } from './arith.ts';
import { EXP, logSumExp } from './reduce-extra.ts';
import { secantTable } from './secant-table.ts';

/**
 * Softmax and LogSoftmax inside the network (ops/softmax.ts keeps the final-op policy: a final one is derived
 * from the proven logits and never reaches here). Groups along the axis: opset >= 13, one axis (default -1);
 * before, the dimensions from `axis` (default 1) flattened into one group. s is the activation scale.
 *
 * Softmax: the max-subtracted exp and a proven division. Per group of n values x_j at exponent e:
 *   m = max_j x_j                   (n − 1 ZkMax comparisons, widths from the intervals)
 *   d_j = m − x_j ≥ 0               (proven by the max; one range check of d's width tells the interval
 *                                    analysis, so the Exp table covers only [−d_max, 0])
 *   E_j = exp(−d_j)                 (ops/secant-table.ts, at most 1: absolute error δ ≤ 2^-(s+2) + 2^-(s+1))
 *   p_j = round(2^s·E_j / Σ_k E_k)  (ZkQuotient, gadgets/quotient.ts; Σ E ≥ E_max = 1: one range check of the
 *                                    sum to [1/2, 2n] proves the denominator positive, and p_j ∈ [0, 1] lets
 *                                    the quotient be checked to s + 1 bits)
 * Error against the float softmax of the quantized input: |p_j − softmax_j| ≤ (1 + n)·δ/(1 − n·δ) + 2^-(s+1)
 * (softmaxErrorBound). Cost per element: d's range check (about its bit width), the Exp table (its cells plus
 * a requantization), the quotient (s + 1 + 2·(bits of Σ E + 1) + 1), (n − 1)/n comparisons for the max and 1/n
 * of the sum's range check.
 *
 * LogSoftmax: LSE = log-sum-exp of the group (ops/reduce-extra.ts: max, Exp table, Log table, at scale s),
 * log_prob_i = x_i − LSE. Error: |LSE − lse| < 2·2^-s, so within 2·2^-s plus x's own error. Cost per element:
 * LSE's (two comparisons and one Exp table per element, a Log table per group).
 */
export function lowerSoftmax(ctx: LowerCtx): QTensor {
  const x = qInput(ctx, 0);
  const rank = x.shape.length;
  const legacy = ctx.opset < 13;
  const axis = normAxis(attrInt(ctx.node, 'axis', legacy ? 1 : -1), rank, ctx.where);
  // Groups: one axis (opset 13+), or every dimension from `axis` on (the 2-D coercion of older opsets).
  const inner = legacy ? sizeOf(x.shape.slice(axis)) : x.shape[axis];
  const stride = legacy ? 1 : strides(x.shape)[axis];
  const groups: number[][] = [];
  for (let flat = 0; flat < x.exprs.length; flat++) {
    if (Math.floor(flat / stride) % inner !== 0) continue;
    groups.push(Array.from({ length: inner }, (_, j) => flat + j * stride));
  }
  const node = ctx.node.name;
  if (ctx.node.opType === 'Softmax') return provenSoftmax(ctx, x, groups);
  const lse = logSumExp(ctx.program, groups.map((g) => g.map((i) => x.exprs[i])), x.exp, ctx.opts.scale, node, ctx.where);
  const k = 1n << BigInt(lse.exp - x.exp);
  const logProb = new Array<Expr>(x.exprs.length);
  groups.forEach((g, j) => g.forEach((i) => (logProb[i] = Expr.sum([[x.exprs[i], k], [lse.exprs[j], -1n]]))));
  return { shape: x.shape, exp: lse.exp, exprs: logProb };
}

/** Softmax by the max-subtracted exp and a proven division (see the header). */
function provenSoftmax(ctx: LowerCtx, x: QTensor, groups: number[][]): QTensor {
  const s = ctx.opts.scale;
  const node = ctx.node.name;
  const out = new Array<Expr>(x.exprs.length);
  for (const group of groups) {
    const row = group.map((i) => x.exprs[i]);
    const m = extremum(ctx.program, row, node, 'max');
    const negated = row.map((v) => {
      const d = m.add(v.scale(-1n));
      const [, hi] = ctx.program.checkRange(d, node);
      if (hi <= 0n) return Expr.constant(0n);
      return ctx.program.apply(range, { lo: 0n, hi }, [d], node)[0].scale(-1n);
    });
    const e = secantTable(ctx.program, { shape: [row.length], exp: x.exp, exprs: negated }, EXP, s, node, ctx.where);
    // Σ E lies in [1, n] up to the table's error (the max's own term is exp(0) = 1); the interval analysis cannot
    // see that through the table's one-hot sums, so one range check of the sum proves it.
    const one = 1n << BigInt(e.exp);
    const total = ctx.program.apply(range, { lo: one / 2n, hi: 2n * BigInt(row.length) * one }, [Expr.sum(e.exprs.map((v) => [v, 1n]))], node)[0];
    const p = quotientOf(ctx, e, { shape: [1], exp: e.exp, exprs: [total] }, [row.length], 'the softmax sum', 1);
    group.forEach((i, k) => (out[i] = p.exprs[k]));
  }
  return { shape: x.shape, exp: s, exprs: out };
}

/** The bound of the header for a group of n at activation scale s. */
export function softmaxErrorBound(n: number, s: number): number {
  const delta = 2 ** -(s + 2) + 2 ** -(s + 1);
  return ((1 + n) * delta) / (1 - n * delta) + 2 ** -(s + 1);
}
