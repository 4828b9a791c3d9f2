import { type GadgetDef, pow2 } from './gadget.ts';

/**
 * Floor and Round of a fixed-point value x · 2^-k (k >= 1 fractional bits) to an integer: ONNX's Floor/Round on
 * a quantized tensor (ops/rounding.ts; Ceil is -Floor(-x) there). The result is the integer itself (exp 0).
 *
 * Integer semantics, with q = floor(x / 2^k) and r = x - q·2^k in [0, 2^k):
 * - floor: q;
 * - round: ONNX's round half to even: q + [r > 2^(k-1)] + [r = 2^(k-1)]·(q mod 2).
 *
 * Soundness: the caller guarantees from interval analysis that x lies in [lo, lo + 2^n), with lo a multiple of
 * 2^(k+1) and n >= k + 1 (roundParams). Then v = x - lo lies in [0, 2^n) and its n boolean digits are unique
 * (n <= 250). Because lo is a multiple of 2^k, the low k digits write r and the others q - lo/2^k; because lo
 * is even a multiple of 2^(k+1), digit k is q's parity. For round: digit k-1 (h) says r >= 2^(k-1), and r is
 * exactly 2^(k-1) when the k-1 digits below it are all 0, z = Π (1 - digit i); so up = h·(1 - z·(1 - parity)) is
 * 1 exactly when r > half, or r = half and q is odd. Every signal is a digit or a product of pinned values: no
 * free signal (and none that `zkml audit` cannot see determined; a zero test's inverse would be one).
 *
 * Cost per element: floor n; round n + 1 for k = 1 (r = half is the digit itself), else n + k (k - 2 products
 * for z, and two for up).
 */
export const ROUND_MODES = ['floor', 'round'] as const;
export type RoundMode = (typeof ROUND_MODES)[number];

export interface RoundParams {
  /** Index in ROUND_MODES (a build's program file holds integers, not strings). */
  mode: number;
  /** Fractional bits of x. */
  k: number;
  /** Offset, a multiple of 2^(k+1), with x - lo in [0, 2^n). */
  lo: bigint;
  n: number;
}

/** The parameters that cover x in [xlo, xhi]. */
export function roundParams(mode: RoundMode, k: number, xlo: bigint, xhi: bigint): RoundParams {
  const lo = (xlo >> BigInt(k + 1)) << BigInt(k + 1);
  return { mode: ROUND_MODES.indexOf(mode), k, lo, n: Math.max(k + 1, (xhi - lo).toString(2).length) };
}

export function roundInteger(mode: RoundMode, k: number, x: bigint): bigint {
  const q = x >> BigInt(k);
  const r = x - (q << BigInt(k));
  if (mode === 'floor') return q;
  const half = pow2(k - 1);
  return r > half || (r === half && (q & 1n) === 1n) ? q + 1n : q;
}

export const round: GadgetDef<RoundParams> = {
  kind: 'round',
  template: 'ZkRound',
  inputs: ['in'],
  outputs: ['out'],
  synthesize(g, p, [x]) {
    const mode = ROUND_MODES[p.mode];
    const bits = g.bits('bits', g.linear([[x, 1n]], -p.lo), p.n);
    const q = g.linear([[bits.sum(p.k, p.n - p.k), 1n]], p.lo >> BigInt(p.k));
    if (mode === 'floor') return [q];
    const half = bits.bit(p.k - 1);
    const odd = g.linear([[bits.bit(p.k), -1n]], 1n); // 1 - parity
    // z = [the digits below the half digit are all 0] (none of them for k = 1).
    let z = g.constant(1n);
    for (let i = 0; i < p.k - 1; i++) {
      const notBit = g.linear([[bits.bit(i), -1n]], 1n);
      z = i === 0 ? notBit : g.product(`zero${i}`, z, notBit);
    }
    const tie = p.k === 1 ? odd : g.product('tie', z, odd);
    return [g.linear([[q, 1n], [g.product('up', half, g.linear([[tie, -1n]], 1n)), 1n]])];
  },
  evaluate: (p, [x]) => [roundInteger(ROUND_MODES[p.mode], p.k, x)],
  bounds: (p, [lo], [hi]) => [[roundInteger(ROUND_MODES[p.mode], p.k, lo), roundInteger(ROUND_MODES[p.mode], p.k, hi)]],
  constraints: (p) => p.n + (p.mode === 0 ? 0 : p.k === 1 ? 1 : p.k),
  describe: (p) => `${ROUND_MODES[p.mode]} of ${p.k} fractional bits (${p.n}-bit range)`,
};
