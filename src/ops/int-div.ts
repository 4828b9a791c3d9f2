import type { LowerCtx } from './op.ts';
import { Expr } from '../ir/expr.ts';
import { MAX_ABS_BITS } from '../ir/program.ts';
import { divmod, planDivMod } from '../gadgets/divmod.ts';
import { planQuotient, quotient } from '../gadgets/quotient.ts';
import { nonNegative, times, zeroTest } from './compare.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * ONNX Div of integer tensors (exponent 0 on both sides): the quotient truncated toward zero, an integer
 * (exponent 0). Exact: no error against the integer op.
 *
 * - The denominator's interval must have one sign (as for real Div, ops/arith.ts): a negative one is negated
 *   with the numerator (truncation is odd in each). A denominator 0 has no witness (ONNX leaves it undefined).
 * - floor(x / y): by a constant d >= 2 one ZkDivMod (gadgets/divmod.ts: qBits + w or 2w constraints); by a
 *   computed y >= 1 one ZkQuotient (gadgets/quotient.ts) of 2x - y by 2y with no extra bits, since
 *   round((2x - y)/(2y)) = floor((4x - 2y + 2y)/(4y)) = floor(x/y) (qBits + 2(yBits + 2) + 1 constraints).
 * - Truncation: a numerator known to be >= 0 takes the floor; one known to be <= 0 is negated around it
 *   (-floor(-x/y)); one of both signs adds [x < 0]·[r != 0] to the floor, r = x - q·y the remainder: a sign test
 *   of x (w constraints), a zero test of r (2 + w'), one product, and for a computed y one more for q·y.
 */
export function truncatedDivision(ctx: LowerCtx, xs: Expr[], ys: Expr[], what: string): Expr[] {
  const program = ctx.program;
  const node = ctx.node.name;
  return xs.map((x0, i) => {
    let x = x0;
    let y = ys[i];
    const [ylo, yhi] = program.checkRange(y, node);
    if (ylo < 0n && yhi > 0n) {
      throw new ZkmlError(`the denominator ${what} can be negative or positive (element ${i} in [${ylo}, ${yhi}]): zkml divides only by a tensor of one sign`, 'E_RANGE', ctx.where);
    }
    if (yhi <= 0n && ylo < 0n) {
      x = x.scale(-1n);
      y = y.scale(-1n);
    }
    if (y.isConstant && y.c === 0n) throw new ZkmlError(`the denominator ${what} is 0 (element ${i})`, 'E_RANGE', ctx.where);
    if (y.isConstant && y.c === 1n) return x;
    const [xlo, xhi] = program.checkRange(x, node);
    if (xlo >= 0n) return floorDivision(ctx, x, y, what).q;
    if (xhi <= 0n) return floorDivision(ctx, x.scale(-1n), y, what).q.scale(-1n);
    const { q, r } = floorDivision(ctx, x, y, what);
    const negative = Expr.sum([[Expr.constant(1n), 1n], [nonNegative(program, x, node), -1n]]);
    const inexact = Expr.sum([[Expr.constant(1n), 1n], [zeroTest(program, r, node), -1n]]);
    return q.add(times(program, negative, inexact, node));
  });
}

/** q = floor(x / y) and r = x - q·y for y >= 1 (a constant, or computed with an interval in [0, ...)). */
function floorDivision(ctx: LowerCtx, x: Expr, y: Expr, what: string): { q: Expr; r: Expr } {
  const program = ctx.program;
  const node = ctx.node.name;
  if (y.isConstant) {
    const [q, r] = program.apply(divmod, planDivMod(y.c, ...program.checkRange(x, node)), [x], node);
    return { q, r };
  }
  const num = Expr.sum([[x, 2n], [y, -1n]]);
  const den = y.scale(2n);
  const [nlo, nhi] = program.checkRange(num, node);
  const [dlo, dhi] = program.checkRange(den, node);
  const params = planQuotient(nlo, nhi, dlo < 2n ? 2n : dlo, dhi, 0);
  if (params.qBits + params.yBits + 3 > MAX_ABS_BITS) {
    throw new ZkmlError(`the quotient (${params.qBits} bits) times the denominator ${what} (${params.yBits} bits) could exceed ±2^${MAX_ABS_BITS}`, 'E_RANGE', ctx.where);
  }
  const q = program.apply(quotient, params, [num, den], node)[0];
  return { q, r: Expr.sum([[x, 1n], [times(program, q, y, node), -1n]]) };
}
