import type { LowerCtx, QTensor } from './op.ts';
import { isConst, qInput } from './common.ts';
import { spread } from './elementwise.ts';
import { atMostScale, mul } from './arith.ts';
import { maxOf, minOf } from './compare.ts';
import { Expr } from '../ir/expr.ts';
import { liftExp } from '../quantize/fixed.ts';
import { requantize } from '../quantize/requantize.ts';
import { broadcastIndexer } from '../onnx/tensor.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * PRelu and Clip whose parameters are computed tensors (graph inputs or activations) rather than constants;
 * nonlinear.ts lowers the constant forms and hands these over. s is the activation scale; every operand is
 * first brought to at most s (requantized, round half up, where it is above).
 *
 * - PRelu(x, α) with α computed: y = max(q, 0) + α·(q − max(q, 0)), q = x at most at s. max(q, 0) is one ZkMax
 *   (free where q's interval has one sign), α·min(q, 0) one product (ZkProduct) at exponent e_q + e_α, to which
 *   max(q, 0) is lifted exactly; the sum is requantized back to s. Integer semantics: y = round_half_up((relu(Q)
 *   ·2^e_α + A·(Q − relu(Q))) / 2^e_α) at exponent e_q. Error: 2^-(s+1) for the final rounding, plus |α|·δq + |q|·δα
 *   of requantized operands. Cost per element: one ZkMax (w + 2 constraints, w the width of q) + one product +
 *   (k + b) for the requantization.
 * - Clip(x, min, max) with min and/or max computed (scalars, as ONNX says; absent: no bound): y = min(max(q, L), H)
 *   at the largest exponent of q, L and H (the others lifted exactly), as onnxruntime computes it (so min > max
 *   gives max). Each bound is one ZkMax comparison, free where the intervals decide it. Integer semantics exact;
 *   error: only the requantization of operands above s (2^-(s+1)). Cost per element: up to two ZkMax (w + 2 each).
 */

/** PRelu with a computed slope, broadcast unidirectionally to the input. */
export function preluComputed(ctx: LowerCtx): QTensor {
  const q = atMostScale(ctx, qInput(ctx, 0));
  const a = atMostScale(ctx, qInput(ctx, 1));
  const node = ctx.node.name;
  if (a.shape.length > q.shape.length || a.shape.some((d, i) => d !== 1 && d !== q.shape[q.shape.length - a.shape.length + i])) {
    throw new ZkmlError(`slope [${a.shape}] does not broadcast to the input [${q.shape}]`, 'E_SHAPE', ctx.where);
  }
  const slopes = spread(a, q.shape);
  const lift = 1n << BigInt(a.exp);
  const exprs = q.exprs.map((e, i) => {
    const pos = maxOf(ctx.program, e, Expr.constant(0n, 0), node);
    const neg = Expr.sum([[e, 1n], [pos, -1n]]);
    return Expr.sum([[pos.scaleExact(lift), 1n], [mul(ctx.program, slopes[i], neg, node), 1n]]);
  });
  return requantize(ctx.program, { shape: q.shape, exp: q.exp + a.exp, exprs }, ctx.opts.scale, false, node);
}

/** True when Clip (opset 11+) has a bound given as a computed tensor. */
export function clipHasComputedBound(ctx: LowerCtx): boolean {
  return ctx.opset >= 11 && [1, 2].some((i) => ctx.node.inputs[i] && ctx.inputs[i] !== undefined && !isConst(ctx.inputs[i]));
}

/** Clip with at least one computed bound; a constant bound is quantized at the common exponent. */
export function clipComputed(ctx: LowerCtx): QTensor {
  const x = atMostScale(ctx, qInput(ctx, 0));
  const bound = (i: number): QTensor | undefined => {
    if (!ctx.node.inputs[i]) return undefined;
    const v = ctx.inputs[i];
    if (isConst(v) && v.tensor.data.every((d) => !Number.isFinite(d) || Math.abs(d) >= 3.4e38)) return undefined;
    const b = atMostScale(ctx, qInput(ctx, i));
    if (b.exprs.length !== 1) throw new ZkmlError(`Clip ${i === 1 ? 'min' : 'max'} must be a scalar, got shape [${b.shape}]`, 'E_SHAPE', ctx.where);
    return b;
  };
  const [lo, hi] = [bound(1), bound(2)];
  const exp = Math.max(x.exp, lo?.exp ?? -Infinity, hi?.exp ?? -Infinity);
  const at = (t: QTensor | undefined) => (t ? liftExp(t, exp) : undefined);
  const [X, L, H] = [at(x)!, at(lo), at(hi)];
  const one = broadcastIndexer(x.shape, []);
  const node = ctx.node.name;
  const exprs = X.exprs.map((e, i) => {
    let y = L ? maxOf(ctx.program, e, L.exprs[one(i)], node) : e;
    if (H) y = minOf(ctx.program, y, H.exprs[one(i)], node);
    return y;
  });
  return { shape: x.shape, exp, exprs };
}
