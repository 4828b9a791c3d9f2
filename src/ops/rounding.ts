import type { LowerCtx, OpDef, QTensor } from './op.ts';
import { qInput, sameShapes } from './common.ts';
import { Expr } from '../ir/expr.ts';
import { ZkmlError } from '../util/errors.ts';
import { absOf, nonNegative } from './compare.ts';
import { round, roundInteger, roundParams, type RoundMode } from '../gadgets/round.ts';

/**
 * Sign-and-integer-part ops on fixed-point tensors (value = X·2^-exp): Neg, Abs, Sign, Floor, Ceil, Round.
 *
 * Integer semantics and error bound against the float op (on the grid value the circuit holds; the op adds no
 * error of its own, every one being exact on the grid):
 * - Neg: -X at the same exponent. Free.
 * - Abs: |X| at the same exponent (gadgets/abs.ts: w + 1 constraints, w the signed width of X's interval;
 *   free where the interval has one sign).
 * - Sign: [X >= 0] - [X <= 0], an integer (exp 0): two sign tests, 2w constraints (ops/compare.ts; fewer where
 *   the interval decides either: w for a tensor known non-negative).
 * - Floor, Ceil, Round (ONNX rounds half to even): the integer floor/ceil/round(X / 2^exp) (exp 0), one
 *   gadgets/round.ts per element (Ceil is -Floor(-X)): n constraints for Floor and Ceil, n + exp for Round
 *   (n + 1 at exp 1), n the bit width of X's interval. A tensor with exp <= 0 holds integers: the identity.
 */

/** ONNX Round on floats: to the nearest integer, halves to the even one. */
export const halfToEven = (v: number) => {
  const f = Math.floor(v);
  return v - f === 0.5 ? (f % 2 === 0 ? f : f + 1) : Math.round(v);
};

const FLOAT: Record<string, (v: number) => number> = {
  Neg: (v) => -v,
  Abs: Math.abs,
  Sign: Math.sign,
  Floor: Math.floor,
  Ceil: Math.ceil,
  Round: halfToEven,
};

/** Floor or Round of every element: the integer (exp 0), one gadgets/round.ts each unless the interval decides it. */
export function lowerRounding(ctx: LowerCtx, mode: RoundMode, x: QTensor): QTensor {
  if (x.exp <= 0) return x; // integers (times 2^-exp) already
  const exprs = x.exprs.map((e) => {
    const [lo, hi] = ctx.program.checkRange(e, ctx.node.name);
    const [a, b] = [roundInteger(mode, x.exp, lo), roundInteger(mode, x.exp, hi)];
    if (a === b) return Expr.constant(a);
    const p = roundParams(mode, x.exp, lo, hi);
    // The digits' weighted sum must stay below the field size (builder.ts: n <= 250).
    if (p.n > 250) throw new ZkmlError(`${ctx.node.opType} would need a ${p.n}-bit range check; the field allows 250`, 'E_RANGE', ctx.where);
    return ctx.program.apply(round, p, [e], ctx.node.name)[0];
  });
  return { shape: x.shape, exp: 0, exprs };
}

export const negate = (q: QTensor): QTensor => ({ ...q, exprs: q.exprs.map((e) => e.scale(-1n)) });

const rounding: OpDef = {
  ops: Object.keys(FLOAT),
  shapes: sameShapes,
  fold: (ctx, [x]) => [{ ...x, data: x.data.map((v) => FLOAT[ctx.node.opType](v) + 0) }], // + 0: no -0
  lower(ctx) {
    const x = qInput(ctx, 0);
    const node = ctx.node.name;
    const op = ctx.node.opType;
    if (op === 'Neg') return [negate(x)];
    if (op === 'Abs') return [{ ...x, exprs: x.exprs.map((e) => absOf(ctx.program, e, node)) }];
    if (op === 'Sign') {
      const exprs = x.exprs.map((e) => Expr.sum([[nonNegative(ctx.program, e, node), 1n], [nonNegative(ctx.program, e.scale(-1n), node), -1n]]));
      return [{ shape: x.shape, exp: 0, exprs }];
    }
    if (op === 'Ceil') return [negate(lowerRounding(ctx, 'floor', negate(x)))]; // ceil(x) = -floor(-x)
    return [lowerRounding(ctx, op === 'Floor' ? 'floor' : 'round', x)];
  },
};

export const roundingOps: OpDef[] = [rounding];
