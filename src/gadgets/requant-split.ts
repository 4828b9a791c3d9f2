import { type GadgetDef, pow2 } from './gadget.ts';
import { decompose, roundShift } from './requant.ts';

/**
 * Requantization that exposes its parts: q = floor((x + 2^(k-1)) / 2^k) (round half up), the remainder
 * rem = x - q·2^k in [-2^(k-1), 2^(k-1)), and pos = relu ? max(q, 0) : q. The same decomposition as ZkRequant
 * (k remainder bits, b quotient bits, offset when q can be negative), so the same cost: k + b booleans, plus
 * 1 for the ReLU product when q can be negative. q and rem are linear in the bits, hence free. Used where an
 * activation needs more than the clamped quotient: LeakyRelu/PRelu (q and max(q, 0)) and the interpolated tables of
 * Sigmoid/Tanh (the clamped index and the remainder). Soundness as for requant.ts: the digits are unique.
 */
export interface RequantSplitParams {
  k: number;
  b: number;
  signed: boolean;
  relu: boolean;
}

export const requantSplit: GadgetDef<RequantSplitParams> = {
  kind: 'requant-split',
  template: 'ZkRequantSplit',
  inputs: ['in'],
  outputs: ['q', 'rem', 'pos'],
  synthesize(g, p, [x]) {
    const { bits, q } = decompose(g, p, x);
    const rem = g.linear([[bits.sum(0, p.k), 1n]], p.k > 0 ? -pow2(p.k - 1) : 0n);
    return [q, rem, p.relu && p.signed ? g.product('relu', q, bits.bit(p.k + p.b - 1)) : q];
  },
  evaluate(p, [x]) {
    const q = roundShift(x, p.k);
    return [q, x - (q << BigInt(p.k)), p.relu && q < 0n ? 0n : q];
  },
  bounds(p, [lo], [hi]) {
    const qlo = roundShift(lo, p.k);
    const qhi = roundShift(hi, p.k);
    const half = p.k > 0 ? 1n << BigInt(p.k - 1) : 0n;
    const relu = (v: bigint) => (p.relu && v < 0n ? 0n : v);
    return [
      [qlo, qhi],
      // The whole remainder range is possible unless x is confined to one quotient.
      qlo === qhi ? [lo - (qlo << BigInt(p.k)), hi - (qlo << BigInt(p.k))] : [-half, p.k > 0 ? half - 1n : 0n],
      [relu(qlo), relu(qhi)],
    ];
  },
  constraints: (p) => p.k + p.b + (p.relu && p.signed ? 1 : 0),
  describe: (p) => `shift ${p.k} (with remainder), ${p.b}-bit ${p.signed ? 'signed ' : ''}quotient${p.relu ? ', relu' : ''}`,
};
