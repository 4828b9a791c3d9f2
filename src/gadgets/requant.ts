import { type GadgetDef, floorShift, pow2 } from './gadget.ts';
import type { BitArray, GadgetBuilder } from '../ir/builder.ts';

/**
 * Requantization with optional ReLU: q = floor((x + 2^(k-1)) / 2^k) (round half up; k = 0 is no shift),
 * out = relu ? max(q, 0) : q. One binary decomposition of x + 2^(k-1) (+ an offset when q can be negative)
 * into k remainder bits and b quotient bits proves q exactly; the ReLU reuses the quotient's sign bit.
 * Cost: k + b booleans, plus 1 for the ReLU product when q can be negative.
 *
 * The circuit: v = x + 2^(k-1) (+ 2^(k+b-1) when signed) is decomposed into k + b bits. The caller guarantees, from
 * interval analysis, that q fits b bits (q in [0, 2^b), or [-2^(b-1), 2^(b-1)) when signed); then v lies in
 * [0, 2^(k+b)) and its bits are unique: the low k are the remainder, the high b are q (+ 2^(b-1) when signed), and
 * an x outside the range has no witness at all. The ReLU multiplies q by the top bit, which is q's sign.
 */
export interface RequantParams {
  /** Shift (remainder bits). */
  k: number;
  /** Quotient bits (from the interval analysis). */
  b: number;
  /** q can be negative: the decomposition is offset by 2^(b-1) and its top bit is q's sign. */
  signed: boolean;
  relu: boolean;
}

/** The decomposition shared with requant-split: the bits of v and the quotient q they write. */
export function decompose<L>(g: GadgetBuilder<L>, p: RequantParams, x: L): { bits: BitArray<L>; q: L } {
  const half = p.k > 0 ? pow2(p.k - 1) : 0n;
  const offset = p.signed ? pow2(p.k + p.b - 1) : 0n;
  const bits = g.bits('bits', g.linear([[x, 1n]], half + offset), p.k + p.b);
  const q = g.linear([[bits.sum(p.k, p.b), 1n]], p.signed ? -pow2(p.b - 1) : 0n);
  return { bits, q };
}

/** The quotient alone: floor((x + 2^(k-1)) / 2^k), round half up. */
export function roundShift(x: bigint, k: number): bigint {
  return k === 0 ? x : floorShift(x + (1n << BigInt(k - 1)), k);
}

export const requant: GadgetDef<RequantParams> = {
  kind: 'requant',
  template: 'ZkRequant',
  inputs: ['in'],
  outputs: ['out'],
  synthesize(g, p, [x]) {
    const { bits, q } = decompose(g, p, x);
    return [p.relu && p.signed ? g.product('relu', q, bits.bit(p.k + p.b - 1)) : q];
  },
  evaluate(p, [x]) {
    const q = roundShift(x, p.k);
    return [p.relu && q < 0n ? 0n : q];
  },
  bounds(p, [lo], [hi]) {
    const [qlo] = this.evaluate(p, [lo]);
    const [qhi] = this.evaluate(p, [hi]);
    return [[qlo, qhi]];
  },
  constraints: (p) => p.k + p.b + (p.relu && p.signed ? 1 : 0),
  describe: (p) => `shift ${p.k}, ${p.b}-bit ${p.signed ? 'signed ' : ''}quotient${p.relu ? ', relu' : ''}`,
};
