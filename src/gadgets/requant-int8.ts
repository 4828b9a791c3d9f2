import { type GadgetDef, bitLength, floorShift, pow2 } from './gadget.ts';

/**
 * Integer requantization as ONNX's QLinear ops and QuantizeLinear define it:
 *
 *   y = clamp(round_half_to_even(a · m0 / 2^n) + zp, lo, hi)
 *
 * `a` is an exact integer accumulator (int32 in ONNX, any size here), m0 / 2^n the real multiplier
 * (M = s_a·s_b/s_y, see quantize/int8.ts for how it is written), zp the output zero point, [lo, hi] the output
 * type's range ([qmin, qmax], or [max(qmin, zp), qmax] when a Relu is fused: Q(Relu(v)) = max(Q(v), zp)).
 *
 * The circuit (`synthesize` below), sized from the interval of `a`:
 * - one binary decomposition of w = a·m0 + 2^(n-1) - base·2^n into n + b bits: the low n bits are the remainder,
 *   the high b bits are r_up - base, where r_up = floor((a·m0 + 2^(n-1)) / 2^n) is "round half up";
 * - round half to even differs from half up only at an exact tie (remainder 0 after adding the half) when
 *   r_up is odd; then r = r_up - 1. The flag d = [remainder + 1 - parity(r_up) == 0] is one IsZero (2
 *   constraints). Ties can occur only where a·m0 ≡ 2^(n-1) (mod 2^n); the plan checks whether any `a` of the
 *   interval that lands in the unsaturated output range is such a value, and drops the tie logic when none is
 *   (the common case: with a 24-bit odd m0, a tie needs |a·M| ≥ m0/2, far beyond any int8 output);
 * - saturation compares r_up (not r) with L + 1 and H + 1 (L = lo - zp, H = hi - zp): max(r, L) is r when
 *   r_up ≥ L + 1 and L otherwise, min(r, H) is H when r_up ≥ H + 1 and r otherwise, with or without the tie
 *   correction (without ties, r = r_up and the low threshold is L itself). One comparison comes almost free: `base` is chosen so that the top bit of the decomposition is
 *   exactly [r_up ≥ T] (as the float requant's ReLU reuses its sign bit). The other side, when the interval says
 *   it can trigger, gets its own comparison as wide as r_up's interval around its threshold; a side that cannot
 *   trigger costs nothing. Selection: y - zp = L + sL·(r - L) - sH·(r - H), one product per live side.
 *
 * Cost: n + b booleans, + c for the second comparison, + 2 for ties, + 1 per live clamp side.
 *
 * Soundness: every bit is boolean-constrained and the weighted sums equal w (resp. r_up - T + 2^(c-1)), with
 * n + b <= 250 and c <= 250 (the interval analysis bounds |a·m0| below 2^250), so each decomposition is the unique
 * binary representation: r_up, the remainder and the comparison bits are fixed by `a`. d is an IsZero of
 * m = remainder + 1 - parity(r_up) in [0, 2^n]. The output is a fixed polynomial of these signals.
 * max(r, L) = (r_up >= L + 1 ? r : L) and min(r, H) = (r_up >= H + 1 ? H : r) hold with or without the tie
 * correction (without it r = r_up, and r_up >= L works as well), so the comparisons use r_up, whose bits are there.
 */
/** Where a saturation comparison sL = [r_up ≥ tl] or sH = [r_up ≥ H + 1] comes from. */
export enum Side {
  /** The interval decides it: always 0 or always 1 (no constraint). */
  False = 0,
  True = 1,
  /** The top bit of the main decomposition (base chosen to align the threshold). */
  TopBit = 2,
  /** A decomposition of its own, c bits of r_up - T + 2^(c-1): its top bit is the answer. */
  Own = 3,
}

export interface RequantInt8Spec {
  /** Positive multiplier. */
  m0: bigint;
  /** Shift (remainder bits). */
  n: number;
  zp: bigint;
  lo: bigint;
  hi: bigint;
}

export interface RequantInt8Params extends RequantInt8Spec {
  /** r_up = base + (high b bits of the decomposition). */
  base: bigint;
  b: number;
  /** The decomposition includes the round-half-to-even correction. */
  tie: boolean;
  /** Low threshold: sL = [r_up ≥ tl], tl = L + 1 with the tie correction (r = r_up - 1 at r_up = L), else L. */
  tl: bigint;
  /** sL = [r_up ≥ L + 1] and sH = [r_up ≥ H + 1]: constant, the top bit, or an own comparison of c bits. */
  low: Side;
  high: Side;
  c: number;
}

/** round_half_to_even(v / 2^n), exactly. */
export function roundHalfEvenShift(v: bigint, n: number): bigint {
  if (n === 0) return v;
  const q = floorShift(v, n);
  const t = v - (q << BigInt(n));
  const half = 1n << BigInt(n - 1);
  return t > half || (t === half && (q & 1n) === 1n) ? q + 1n : q;
}

export function evaluateRequantInt8(p: RequantInt8Spec, a: bigint): bigint {
  const y = roundHalfEvenShift(a * p.m0, p.n) + p.zp;
  return y < p.lo ? p.lo : y > p.hi ? p.hi : y;
}

const ceilDiv = (x: bigint, d: bigint) => -floorDiv(-x, d);
const floorDiv = (x: bigint, d: bigint) => (x >= 0n ? x / d : -((-x + d - 1n) / d));
const mod = (x: bigint, m: bigint) => ((x % m) + m) % m;

/** floor((a·m0 + 2^(n-1)) / 2^n): round half up. */
const roundUp = (s: RequantInt8Spec, a: bigint) => floorShift(a * s.m0 + (s.n > 0 ? 1n << BigInt(s.n - 1) : 0n), s.n);

/** Width c of a comparison [r ≥ T] for r in [lo, hi]: r - T + 2^c lies in [0, 2^(c+1)), its top bit is the answer. */
function cmpWidth(lo: bigint, hi: bigint, T: bigint): number {
  return Math.max(bitLength(T - lo - 1n), bitLength(hi - T));
}

/**
 * The gadget for `a` in [aLo, aHi], or the output itself when the interval fixes it (both clamp sides decided
 * and no shift: y = a·m0 + zp is linear; or every `a` saturates to the same value).
 */
export function planRequantInt8(s: RequantInt8Spec, aLo: bigint, aHi: bigint): { params: RequantInt8Params } | { constant: bigint } | { linear: true } {
  if (s.m0 <= 0n || s.n < 0 || s.lo > s.hi || aLo > aHi) throw new Error(`planRequantInt8: bad spec ${JSON.stringify({ ...s, aLo, aHi }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
  const yLo = evaluateRequantInt8(s, aLo);
  const yHi = evaluateRequantInt8(s, aHi);
  if (yLo === yHi) return { constant: yLo };
  const uLo = roundUp(s, aLo);
  const uHi = roundUp(s, aHi);
  const L = s.lo - s.zp;
  const H = s.hi - s.zp;
  const TH = H + 1n;

  // Ties matter only where the output follows r: r_up in [L, H] (at r_up = L a tie would give L - 1).
  let tie = false;
  if (s.n > 0) {
    const n = BigInt(s.n);
    const h = 1n << (n - 1n);
    const first = maxBig(aLo, ceilDiv((L << n) - h, s.m0));
    const last = minBig(aHi, floorDiv((TH << n) - h - 1n, s.m0));
    let j = 0n;
    while (((s.m0 >> j) & 1n) === 0n) j++;
    if (j < n && first <= last) {
      // a·m0 ≡ 2^(n-1) (mod 2^n) ⇔ a ≡ 2^(n-1-j) (mod 2^(n-j)) for m0 = odd·2^j.
      const m = 1n << (n - j);
      const r = 1n << (n - 1n - j);
      tie = first + mod(r - first, m) <= last;
    }
  }
  // Without ties r = r_up, so r_up = L needs no clamp and the low threshold can be L itself.
  const TL = tie ? L + 1n : L;
  // A side is live when r_up's interval straddles its threshold.
  const lowLive = uLo < TL && uHi >= TL;
  const highLive = uLo < TH && uHi >= TH;
  if (s.n === 0 && !lowLive && !highLive) return { linear: true };

  type Option = { base: bigint; b: number; low: Side; high: Side; c: number; cost: number };
  const options: Option[] = [];
  const fixed = (live: boolean, alwaysTrue: boolean) => (live ? undefined : alwaysTrue ? Side.True : Side.False);
  const lowFixed = fixed(lowLive, uLo >= TL);
  const highFixed = fixed(highLive, uLo >= TH);
  // No comparison aligned with the main decomposition: its b bits just cover r_up's interval.
  if (!lowLive && !highLive) {
    options.push({ base: uLo, b: bitLength(uHi - uLo), low: lowFixed!, high: highFixed!, c: 0, cost: 0 });
  }
  for (const side of ['low', 'high'] as const) {
    const T = side === 'low' ? TL : TH;
    if (!(side === 'low' ? lowLive : highLive)) continue;
    const c = cmpWidth(uLo, uHi, T);
    const other = side === 'low' ? highLive : lowLive;
    const otherT = side === 'low' ? TH : TL;
    const c2 = other ? cmpWidth(uLo, uHi, otherT) + 1 : 0;
    options.push({
      base: T - (1n << BigInt(c)),
      b: c + 1,
      low: side === 'low' ? Side.TopBit : (lowFixed ?? Side.Own),
      high: side === 'high' ? Side.TopBit : (highFixed ?? Side.Own),
      c: c2,
      cost: c + 1 + c2,
    });
  }
  options.sort((x, y) => x.b + x.c - (y.b + y.c));
  const o = options[0];
  return { params: { ...s, base: o.base, b: o.b, tie, tl: TL, low: o.low, high: o.high, c: o.c } };
}

const maxBig = (a: bigint, b: bigint) => (a > b ? a : b);
const minBig = (a: bigint, b: bigint) => (a < b ? a : b);
const live = (s: Side) => s === Side.TopBit || s === Side.Own;

export const requantInt8: GadgetDef<RequantInt8Params> = {
  kind: 'requant-int8',
  template: 'ZkRequantInt8',
  inputs: ['in'],
  outputs: ['out'],
  synthesize(g, p, [a]) {
    const L = p.lo - p.zp;
    const H = p.hi - p.zp;
    const bits = g.bits('bits', g.linear([[a, p.m0]], (p.n > 0 ? pow2(p.n - 1) : 0n) - p.base * pow2(p.n)), p.n + p.b);
    const rup = g.linear([[bits.sum(p.n, p.b), 1n]], p.base);
    let r = rup;
    if (p.tie) {
      // parity(r_up) = parity(base) xor the lowest quotient bit.
      const baseOdd = p.base & 1n;
      const parity = p.b > 0 ? g.linear([[bits.bit(p.n), 1n - 2n * baseOdd]], baseOdd) : g.constant(baseOdd);
      const d = g.isZero('d', g.linear([[bits.sum(0, p.n), 1n], [parity, -1n]], 1n));
      r = g.linear([[rup, 1n], [d, -1n]]);
    }
    const top = () => bits.bit(p.n + p.b - 1);
    let sL = p.low === Side.TopBit ? top() : g.constant(p.low === Side.True ? 1n : 0n);
    let sH = p.high === Side.TopBit ? top() : g.constant(p.high === Side.True ? 1n : 0n);
    if (p.c > 0) {
      // The comparison of its own (at most one side needs it): its top bit is [r_up >= T].
      const own = p.low === Side.Own;
      const T = own ? p.tl : H + 1n;
      const cmp = g.bits('cbits', g.linear([[rup, 1n]], pow2(p.c - 1) - T), p.c).bit(p.c - 1);
      if (own) sL = cmp;
      else sH = cmp;
    }
    // out - zp = L + sL·(r - L) - sH·(r - H): L below, r in between, H above. A constant side is linear.
    const aL = g.product('pL', sL, g.linear([[r, 1n]], -L));
    const aH = g.product('pH', sH, g.linear([[r, 1n]], -H));
    return [g.linear([[aL, 1n], [aH, -1n]], p.zp + L)];
  },
  evaluate: (p, [a]) => [evaluateRequantInt8(p, a)],
  bounds: (p, [lo], [hi]) => [[evaluateRequantInt8(p, lo), evaluateRequantInt8(p, hi)]],
  constraints: (p) => p.n + p.b + p.c + (p.tie ? 2 : 0) + (live(p.low) ? 1 : 0) + (live(p.high) ? 1 : 0),
  describe: (p) =>
    `×${p.m0}>>${p.n} (${p.n}+${p.b} bits${p.tie ? ', ties' : ''}), clamp [${p.lo}, ${p.hi}]` +
    (p.c ? ` (+${p.c}-bit comparison)` : ''),
};
