import type { LowerCtx, QTensor } from './op.ts';
import { qInput } from './common.ts';
import { attrInt } from '../onnx/graph.ts';
import { normAxis, sizeOf, strides } from '../onnx/tensor.ts';
import { Expr } from '../ir/expr.ts';
import { minOf } from './compare.ts';
import { EXP, logSumExp } from './reduce-extra.ts';
import { secantTable } from './secant-table.ts';

/**
 * Softmax and LogSoftmax inside the network (ops/softmax.ts keeps the final-op policy: a final one is derived
 * from the proven logits and never reaches here).
 *
 * Integer semantics, per group along the axis (opset >= 13: one axis, default -1; before: the dimensions from
 * `axis`, default 1, flattened into one group): LSE = log-sum-exp of the group (ops/reduce-extra.ts: max,
 * Exp table, Log table, at the activation scale s), log_prob_i = x_i - LSE; Softmax then clamps log_prob_i at 0
 * (one comparison; a no-op on honest values) and applies the Exp table.
 * Error: |LSE - lse| < 2·2^-s, so LogSoftmax is within 2·2^-s plus x's own error; Softmax within
 * p·(2·2^-s + 2^-(s+2)) + the table's rounding, relative to each probability p <= 1.
 * Cost per element: LSE's (two comparisons and one Exp table per element, a Log table per group) plus, for
 * Softmax, one comparison and a second Exp table.
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
  const lse = logSumExp(ctx.program, groups.map((g) => g.map((i) => x.exprs[i])), x.exp, ctx.opts.scale, node, ctx.where);
  const k = 1n << BigInt(lse.exp - x.exp);
  const logProb = new Array<Expr>(x.exprs.length);
  groups.forEach((g, j) => g.forEach((i) => (logProb[i] = Expr.sum([[x.exprs[i], k], [lse.exprs[j], -1n]]))));
  if (ctx.node.opType === 'LogSoftmax') return { shape: x.shape, exp: lse.exp, exprs: logProb };
  const zero = Expr.constant(0n);
  const clamped = logProb.map((e) => minOf(ctx.program, e, zero, node));
  return secantTable(ctx.program, { shape: x.shape, exp: lse.exp, exprs: clamped }, EXP, ctx.opts.scale, node, ctx.where);
}
