import type { LowerCtx, OpDef, QTensor } from './op.ts';
import { isConst, qInput } from './common.ts';
import { attrInt } from '../onnx/graph.ts';
import { broadcastIndexer, broadcastShapes, sizeOf } from '../onnx/tensor.ts';
import { Expr } from '../ir/expr.ts';
import { liftExp, toFixed } from '../quantize/fixed.ts';
import { divmod, planDivMod } from '../gadgets/divmod.ts';
import { absOf, nonNegative, times } from './compare.ts';
import { floordiv, planFloorDiv } from '../gadgets/floordiv.ts';
import { MAX_ABS_BITS } from '../ir/program.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * Mod(A, B) with a constant divisor B (broadcast), integer or fixed point. X is A's integer at exponent e and
 * D = B·2^e (exact for integer tensors and for divisors on the grid; otherwise B rounded to it).
 *
 * Integer semantics, per element, with a = |D| and X mod a = X - floor(X/a)·a in [0, a) (gadgets/divmod.ts):
 * - fmod = 0 (integers; the result takes the divisor's sign): X mod a for D > 0, -((-X) mod a) for D < 0;
 * - fmod = 1 (C's fmod; the result takes the dividend's sign): X mod a where X >= 0 and -((-X) mod a) where
 *   X < 0. Where X's interval has both signs, both are computed and one sign test s = [X >= 0] selects them.
 * |D| = 1 gives 0. Error: none for integer tensors and grid divisors; a divisor off the grid moves the result by
 * at most |trunc(x/b)|·2^-(e+1) (and, where x/b is within that of an integer, by up to |b| at the jump).
 * Cost per element: one divmod (qBits + 2·bitLength(a - 1), one fewer set for a power of two), and for fmod with
 * a mixed-sign X a second divmod, a w-bit sign test and two products.
 *
 * A computed divisor Y (modComputed): the same semantics with a = |Y| computed, exact for integer tensors and
 * grid values (X and Y at their common exponent, r = X − floor(X/a)·a proven by ZkFloorDiv). Error: none on the
 * grid; off it, that of the operands' rounding, through the jumps of mod. Cost per element: one ZkFloorDiv
 * (qBits + 2·aBits + 1) where the sign that decides the result is known from the intervals, else two, a sign test
 * (w + 1) and a product; plus a ZkAbs (w + 1) when Y's interval has both signs.
 */

const floatMod = (a: number, b: number, fmod: boolean) => (fmod ? a % b : a - Math.floor(a / b) * b);

const modOp: OpDef = {
  ops: ['Mod'],
  shapes: (ctx) => [broadcastShapes(ctx.shapes[0], ctx.shapes[1], ctx.where)],
  fold(ctx, [a, b]) {
    const shape = broadcastShapes(a.dims, b.dims, ctx.where);
    const fmod = attrInt(ctx.node, 'fmod', 0) === 1;
    const [ia, ib] = [broadcastIndexer(shape, a.dims), broadcastIndexer(shape, b.dims)];
    return [{ dtype: a.dtype, dims: shape, data: Array.from({ length: sizeOf(shape) }, (_, i) => floatMod(a.data[ia(i)], b.data[ib(i)], fmod) + 0) }];
  },
  lower(ctx: LowerCtx) {
    const y = ctx.inputs[1];
    if (!isConst(y)) return [modComputed(ctx)];
    const x = qInput(ctx, 0);
    const shape = ctx.outShapes[0];
    const fmod = attrInt(ctx.node, 'fmod', 0) === 1;
    const [ix, iy] = [broadcastIndexer(shape, x.shape), broadcastIndexer(shape, y.tensor.dims)];
    const program = ctx.program;
    const node = ctx.node.name;
    /** X mod a, in [0, a). */
    const modPos = (e: Expr, a: bigint): Expr => {
      const [lo, hi] = program.checkRange(e, node);
      return program.apply(divmod, planDivMod(a, lo, hi), [e], node)[1];
    };
    const exprs = Array.from({ length: sizeOf(shape) }, (_, i) => {
      const e = x.exprs[ix(i)];
      const D = toFixed(y.tensor.data[iy(i)], x.exp, ctx.where);
      if (D === 0n) throw new ZkmlError(`Mod by zero (divisor element ${iy(i)})`, 'E_BAD_TENSOR', ctx.where);
      const a = D < 0n ? -D : D;
      if (a === 1n) return Expr.constant(0n);
      const negated = () => modPos(e.scale(-1n), a).scale(-1n);
      if (!fmod) return D > 0n ? modPos(e, a) : negated();
      const [lo, hi] = program.checkRange(e, node);
      if (lo >= 0n) return modPos(e, a);
      if (hi <= 0n) return negated();
      const s = nonNegative(program, e, node);
      const pos = modPos(e, a);
      const neg = negated();
      // s·pos + (1 - s)·neg = neg + s·(pos - neg)
      return neg.add(times(program, s, Expr.sum([[pos, 1n], [neg, -1n]]), node));
    });
    return [{ shape, exp: x.exp, exprs }];
  },
};

/**
 * Mod by a computed divisor Y (see the header): X and Y at their common exponent (the lower one lifted exactly),
 * a = |Y| (ZkAbs, or ±Y where Y's interval has one sign), m⁺ = X mod a and m⁻ = -((-X) mod a) from one
 * ZkFloorDiv each (gadgets/floordiv.ts), and the result m⁻ + s·(m⁺ − m⁻) with s = [Y >= 0] (fmod = 0: the
 * divisor's sign) or s = [X >= 0] (fmod = 1: the dividend's), one sign test and one product; where an interval
 * decides s only one ZkFloorDiv is made. Y = 0 has no witness (a = 0 fails the floor division's y >= 1).
 */
function modComputed(ctx: LowerCtx): QTensor {
  const shape = ctx.outShapes[0];
  const fmod = attrInt(ctx.node, 'fmod', 0) === 1;
  const [x0, y0] = [qInput(ctx, 0), qInput(ctx, 1)];
  const exp = Math.max(x0.exp, y0.exp);
  const [x, y] = [liftExp(x0, exp), liftExp(y0, exp)];
  const [ix, iy] = [broadcastIndexer(shape, x.shape), broadcastIndexer(shape, y.shape)];
  const program = ctx.program;
  const node = ctx.node.name;
  /** e mod a, in [0, a), for a >= 1. */
  const modPos = (e: Expr, a: Expr): Expr => {
    const [xlo, xhi] = program.checkRange(e, node);
    const [alo, ahi] = program.checkRange(a, node);
    if (ahi < 1n) throw new ZkmlError(`Mod by a divisor that is always 0 (${tensorOf(ctx)})`, 'E_RANGE', ctx.where);
    const params = planFloorDiv(xlo, xhi, alo < 1n ? 1n : alo, ahi);
    if (params.qBits + params.yBits + 3 > MAX_ABS_BITS) {
      throw new ZkmlError(`Mod: the quotient (${params.qBits} bits) times the divisor (${params.yBits} bits) could exceed ±2^${MAX_ABS_BITS}; narrow --input-range`, 'E_RANGE', ctx.where);
    }
    return program.apply(floordiv, params, [e, a], node)[1];
  };
  const exprs = Array.from({ length: sizeOf(shape) }, (_, i) => {
    const e = x.exprs[ix(i)];
    const d = y.exprs[iy(i)];
    const [dlo, dhi] = program.checkRange(d, node);
    const a = dlo >= 0n ? d : dhi <= 0n ? d.scale(-1n) : absOf(program, d, node);
    const plus = () => modPos(e, a);
    const minus = () => modPos(e.scale(-1n), a).scale(-1n);
    const s = fmod ? nonNegative(program, e, node) : nonNegative(program, d, node);
    if (s.isConstant) return s.c === 1n ? plus() : minus();
    const [p, m] = [plus(), minus()];
    return m.add(times(program, s, Expr.sum([[p, 1n], [m, -1n]]), node));
  });
  return { shape, exp, exprs };
}

const tensorOf = (ctx: LowerCtx) => `"${ctx.node.inputs[1]}" (input 1)`;

export const modOps: OpDef[] = [modOp];
