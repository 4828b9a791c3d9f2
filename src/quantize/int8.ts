import { Expr } from '../ir/expr.ts';
import type { Program } from '../ir/program.ts';
import { MAX_ABS_BITS } from '../ir/program.ts';
import { planRequantInt8, requantInt8, evaluateRequantInt8, type RequantInt8Spec } from '../gadgets/requant-int8.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * The integer side of quantized (int8/uint8) ONNX models: element type ranges, the real multiplier written as
 * an integer and a shift, and requantization of accumulators through the requant-int8 gadget.
 *
 * The multiplier. ONNX defines y = saturate(round(acc · M) + zp_y) with M = s_a·s_b/s_y; onnxruntime (and the
 * ONNX reference implementation) compute M in float32: M = fl(fl(s_a·s_b) / s_y). A float32 is exactly
 * m0 · 2^-n with m0 an odd integer of at most 24 bits, so the circuit uses that float32 value exactly
 * (`exactMultiplier`): no approximation of M at all, and the smallest n (fewest remainder bits) that is exact.
 * Where M is a true real ratio (QuantizeLinear of a fixed-point or dequantized tensor: M = scale_in / s_y, which
 * onnxruntime evaluates as a float32 division per element), it is rounded to a 32-bit m0 (`approxMultiplier`):
 * relative error ≤ 2^-32, below float32's own 2^-24.
 */

/** Integer element types of quantized tensors and their ranges. */
export const INT_RANGES: Record<string, [bigint, bigint]> = {
  int8: [-128n, 127n],
  uint8: [0n, 255n],
  int16: [-32768n, 32767n],
  uint16: [0n, 65535n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  // A bool model input is the integers 0/1 at exp 0, what the logic ops take (ops/logic.ts).
  bool: [0n, 1n],
};

/**
 * The integer element types a model input may have: the quantization types, plus the index types (token ids,
 * positions: int64, uint32), held exactly at exponent 0 over their type's whole range.
 */
export const INPUT_INT_RANGES: Record<string, [bigint, bigint]> = {
  ...INT_RANGES,
  uint32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
};

export function intRange(dtype: string, where: string): [bigint, bigint] {
  const r = INT_RANGES[dtype];
  if (!r) throw new ZkmlError(`element type ${dtype} is not an integer type zkml quantizes to (int8, uint8, int16, uint16, int32)`, 'E_DTYPE', where);
  return r;
}

export interface Multiplier {
  m0: bigint;
  n: number;
}

/** A finite positive double written exactly as m0 · 2^-n, m0 odd (n may be negative: then m0 · 2^-n is an integer). */
export function exactMultiplier(x: number, where: string): Multiplier {
  if (!(x > 0) || !Number.isFinite(x)) throw new ZkmlError(`the requantization multiplier ${x} is not a positive finite number (check the scales)`, 'E_BAD_TENSOR', where);
  // Scale into [2^52, 2^53): the double's 53-bit significand as an exact integer.
  let e = 0;
  let v = x;
  while (v < 2 ** 52) {
    v *= 2;
    e++;
  }
  while (v >= 2 ** 53) {
    v /= 2;
    e--;
  }
  let m0 = BigInt(v);
  let n = e;
  while ((m0 & 1n) === 0n) {
    m0 >>= 1n;
    n--;
  }
  return normalize(m0, n);
}

/** A positive real ratio rounded to a `bits`-bit m0 (then made odd). */
export function approxMultiplier(x: number, where: string, bits = 32): Multiplier {
  const exact = exactMultiplier(x, where);
  const extra = exact.m0.toString(2).length - bits;
  if (extra <= 0) return exact;
  // Round to nearest at `bits` significant bits.
  const m0 = (exact.m0 + (1n << BigInt(extra - 1))) >> BigInt(extra);
  let n = exact.n - extra;
  let m = m0;
  while ((m & 1n) === 0n && m > 0n) {
    m >>= 1n;
    n--;
  }
  return normalize(m, n);
}

/** n < 0 means an integer multiplier: fold 2^-n into m0. */
function normalize(m0: bigint, n: number): Multiplier {
  return n < 0 ? { m0: m0 << BigInt(-n), n: 0 } : { m0, n };
}

/** float32 arithmetic as onnxruntime's kernels do it: fl(fl(a·b)/c). */
export const f32 = Math.fround;

/** The float32 multiplier fl(fl(s_a·s_b)/s_y) of a QLinear op (alpha folded in first for QGemm). */
export function qlinearMultiplier(sa: number, sb: number, sy: number, alpha = 1): number {
  const a = alpha === 1 ? f32(sa) : f32(f32(alpha) * f32(sa));
  return f32(f32(a * f32(sb)) / f32(sy));
}

/**
 * y = clamp(round_half_to_even(a · m0 / 2^n) + zp, lo, hi) for each accumulator `a` (an exact integer linear
 * expression), with that element's multiplier. Constants are computed, elements whose interval fixes the
 * result or makes it linear get no gadget; the others one requant-int8 gadget each, sized by their interval.
 */
export function requantizeInt8(program: Program, acc: Expr[], mult: (i: number) => Multiplier, out: { zp: bigint; lo: bigint; hi: bigint }, node: string, where: string): Expr[] {
  return acc.map((a, i) => {
    const { m0, n } = mult(i);
    const spec: RequantInt8Spec = { m0, n, zp: out.zp, lo: out.lo, hi: out.hi };
    if (a.isConstant) return Expr.constant(evaluateRequantInt8(spec, a.c));
    const [lo, hi] = program.checkRange(a, node);
    const plan = planRequantInt8(spec, lo, hi);
    if ('constant' in plan) return Expr.constant(plan.constant);
    if ('linear' in plan) return a.scale(m0).addConst(out.zp);
    const p = plan.params;
    // The template multiplies by m0 and decomposes n + b bits: both must stay inside the field.
    const top = (lo < 0n ? -lo : hi) * m0;
    if (p.n + p.b > MAX_ABS_BITS || p.c > MAX_ABS_BITS || top.toString(2).length > MAX_ABS_BITS) {
      throw new ZkmlError(`requantization of an accumulator in [${lo}, ${hi}] by ${m0}/2^${n} needs more than ${MAX_ABS_BITS} bits`, 'E_RANGE', where);
    }
    return program.apply(requantInt8, p, [a], node)[0];
  });
}

/** Refuses an accumulator that could leave int32, where ONNX's int32 arithmetic would wrap and the circuit's would not. */
export function checkInt32(program: Program, acc: Expr[], node: string, where: string, what = 'int32 accumulator'): void {
  const [min, max] = INT_RANGES.int32;
  for (const a of acc) {
    const [lo, hi] = program.checkRange(a, node);
    if (lo < min || hi > max) {
      throw new ZkmlError(
        `the ${what} could reach [${lo}, ${hi}], outside int32: onnxruntime would wrap around, the circuit computes exactly; ` +
          'narrow the input range or use fewer/lower weights',
        'E_RANGE',
        where,
      );
    }
  }
}
