import type { LowerCtx, OpDef } from './op.ts';
import { isConst, qInput } from './common.ts';
import { attrInt } from '../onnx/graph.ts';
import { broadcastIndexer, broadcastShapes, sizeOf } from '../onnx/tensor.ts';
import { Expr } from '../ir/expr.ts';
import { toFixed } from '../quantize/fixed.ts';
import { divmod, planDivMod } from '../gadgets/divmod.ts';
import { nonNegative, times } from './compare.ts';
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
 * a mixed-sign X a second divmod, a w-bit sign test and two products. A computed divisor is refused.
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
    if (!isConst(y)) throw new ZkmlError('Mod by a computed divisor is not supported (only by constants)', 'E_UNSUPPORTED', ctx.where);
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

export const modOps: OpDef[] = [modOp];
