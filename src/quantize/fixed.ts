import { Expr } from '../ir/expr.ts';
import type { QTensor } from '../ir/qtensor.ts';
import type { Tensor } from '../onnx/tensor.ts';
import { ZkmlError } from '../util/errors.ts';

/** Round to nearest, ties away from zero (symmetric, so negated weights quantize to negated integers). */
export function roundNearest(x: number): number {
  return Math.sign(x) * Math.floor(Math.abs(x) + 0.5);
}

/** x · 2^exp rounded, as an exact integer. Refuses NaN/Inf weights with a clear message. */
export function toFixed(x: number, exp: number, where: string): bigint {
  if (!Number.isFinite(x)) throw new ZkmlError(`constant value ${x} cannot be quantized`, 'E_BAD_TENSOR', where);
  const scaled = x * 2 ** exp;
  if (Math.abs(scaled) < 2 ** 52) return BigInt(roundNearest(scaled));
  // Beyond 2^52 a double has no fractional part left: its integer value is exact.
  return BigInt(scaled);
}

/**
 * Exponent for a weight tensor: the largest e <= maxExp with every |round(w·2^e)| < 2^(bits-1), so the
 * tensor's largest weight keeps `bits`-1 significant bits. A zero tensor gets exponent 0.
 */
export function weightExp(values: number[], bits: number, maxExp: number): number {
  let maxAbs = 0;
  for (const v of values) maxAbs = Math.max(maxAbs, Math.abs(v));
  if (maxAbs === 0) return 0;
  const limit = 2 ** (bits - 1) - 1;
  let e = Math.min(maxExp, Math.floor(Math.log2(limit / maxAbs)));
  while (roundNearest(maxAbs * 2 ** e) > limit) e--;
  return e;
}

/** A constant tensor as integers at exponent `exp`. */
export function quantizeTensor(t: Tensor, exp: number, where: string): bigint[] {
  return t.data.map((v) => toFixed(v, exp, where));
}

/**
 * A bound on |x·2^exp − n| for n = toFixed(x, exp): the rounding of one constant, for the error bounds of
 * ir/expr.ts (the subtraction is exact below 2^53; the relative margin covers a value that was itself
 * computed in float64, such as a reciprocal).
 */
export function roundingError(x: number, exp: number, n: bigint): number {
  const scaled = x * 2 ** exp;
  return Math.abs(scaled - Number(n)) + Math.abs(scaled) * 2 ** -52;
}

/** A constant tensor as a QTensor of constant expressions (each carrying its rounding, see ir/expr.ts). */
export function constQTensor(t: Tensor, exp: number, where: string): QTensor {
  return { shape: t.dims, exp, exprs: quantizeTensor(t, exp, where).map((c, i) => Expr.constant(c, roundingError(t.data[i], exp, c))) };
}

/** Raises a tensor's exponent (exact: multiplies by 2^(exp - q.exp)); never lowers it. */
export function liftExp(q: QTensor, exp: number): QTensor {
  if (exp <= q.exp) return q;
  const k = 1n << BigInt(exp - q.exp);
  return { shape: q.shape, exp, exprs: q.exprs.map((e) => e.scaleExact(k)) };
}
