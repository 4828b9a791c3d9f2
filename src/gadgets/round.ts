import { type GadgetDef, pow2 } from './gadget.ts';

/**
 * Floor, Ceil and Round of a fixed-point value x · 2^-k (k >= 1 fractional bits) to an integer: ONNX's
 * Floor/Ceil/Round on a quantized tensor (ops/rounding.ts). The result is the integer itself (exp 0).
 *
 * Integer semantics, with q = floor(x / 2^k) and r = x - q·2^k in [0, 2^k):
 * - floor: q;
 * - ceil:  q + [r != 0];
 * - round: ONNX's round half to even: q + [r > 2^(k-1)] + [r = 2^(k-1)]·(q mod 2).
 *
 * Soundness: the caller guarantees from interval analysis that x lies in [lo, lo + 2^n), with lo a multiple of
 * 2^(k+1) and n >= k + 1 (roundParams). Then v = x - lo lies in [0, 2^n) and its n boolean digits are unique
 * (n <= 250). Because lo is a multiple of 2^k, the low k digits write r and the others q - lo/2^k; because lo
 * is even a multiple of 2^(k+1), digit k is q's parity. So every output is a linear function of pinned digits
 * and of the builder's isZero/product signals, each pinned by its own constraints: no free signal remains.
 * For round: the digit k-1 says r >= 2^(k-1); r > 2^(k-1) unless the k-1 digits below it are all 0 (z); so
 * up = b·(1 - z·(1 - parity)), which is 1 exactly when r > half, or r = half and q is odd.
 *
 * Cost per element: floor n; ceil n + 2 (a zero test of r); round n + 1 for k = 1 (r = half is the digit
 * itself), else n + 4 (a zero test and two products).
 */
export const ROUND_MODES = ['floor', 'ceil', 'round'] as const;
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
  if (mode === 'ceil') return r === 0n ? q : q + 1n;
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
    if (mode === 'ceil') return [g.linear([[q, 1n], [g.isZero('exact', bits.sum(0, p.k)), -1n]], 1n)];
    const half = bits.bit(p.k - 1);
    const odd = g.linear([[bits.bit(p.k), -1n]], 1n); // 1 - parity
    // r = half exactly when the digits below the half digit are 0 (none of them for k = 1).
    const tie = p.k === 1 ? odd : g.product('tie', g.isZero('low', bits.sum(0, p.k - 1)), odd);
    return [g.linear([[q, 1n], [g.product('up', half, g.linear([[tie, -1n]], 1n)), 1n]])];
  },
  evaluate: (p, [x]) => [roundInteger(ROUND_MODES[p.mode], p.k, x)],
  bounds: (p, [lo], [hi]) => [[roundInteger(ROUND_MODES[p.mode], p.k, lo), roundInteger(ROUND_MODES[p.mode], p.k, hi)]],
  constraints: (p) => p.n + [0, 2, p.k === 1 ? 1 : 4][p.mode],
  describe: (p) => `${ROUND_MODES[p.mode]} of ${p.k} fractional bits (${p.n}-bit range)`,
};
