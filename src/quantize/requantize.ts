import { Expr } from '../ir/expr.ts';
import type { Program } from '../ir/program.ts';
import type { QTensor } from '../ir/qtensor.ts';
import { requant, roundShift, type RequantParams } from '../gadgets/requant.ts';
import { bitLength, signedWidth } from '../gadgets/gadget.ts';

/**
 * Brings a tensor down to `targetExp` fractional bits (if it has more) and applies ReLU if asked, sizing each
 * element's range check from its own interval. Elements that need no constraint get none: constants are
 * computed, a ReLU of a never-positive value is 0, a ReLU of a never-negative value without a shift is the
 * value itself.
 */
export function requantize(program: Program, q: QTensor, targetExp: number, relu: boolean, node: string): QTensor {
  const k = Math.max(0, q.exp - targetExp);
  const exprs = q.exprs.map((e) => {
    if (k === 0 && !relu) return e;
    const [lo, hi] = program.checkRange(e, node);
    const apply = (x: bigint) => requant.evaluate({ k, b: 0, signed: false, relu }, [x])[0];
    if (e.isConstant) return Expr.constant(apply(e.c));
    if (relu && apply(hi) <= 0n) return Expr.constant(0n);
    if (k === 0 && lo >= 0n) return e;
    const qlo = roundShift(lo, k);
    const qhi = roundShift(hi, k);
    const signed = qlo < 0n;
    const b = Math.max(1, signed ? signedWidth(qlo, qhi) : bitLength(qhi));
    const params: RequantParams = { k, b, signed, relu };
    return program.apply(requant, params, [e], node)[0];
  });
  return { shape: q.shape, exp: q.exp - k, exprs };
}
