import { type GadgetDef, bitLength } from './gadget.ts';

/**
 * Range check lo <= x <= hi by decomposing x - lo into b = bitLength(hi - lo) bits. Sound for the interval
 * [lo, lo + 2^b), which contains [lo, hi]; used where the statement needs inputs bounded (hashed inputs, or
 * on request). Cost: b booleans (b <= 250, so the weighted sum of the bits cannot wrap around the field). Output:
 * x itself, so it can be chained, with the interval the check proves: the input's, cut to [lo, lo + 2^b).
 */
export interface RangeParams {
  lo: bigint;
  hi: bigint;
}

export const rangeBits = (p: RangeParams) => Math.max(1, bitLength(p.hi - p.lo));

export const range: GadgetDef<RangeParams> = {
  kind: 'range',
  template: 'ZkRange',
  inputs: ['in'],
  outputs: ['out'],
  synthesize(g, p, [x]) {
    g.bits('bits', g.linear([[x, 1n]], -p.lo), rangeBits(p));
    return [x];
  },
  evaluate: (_p, [x]) => [x],
  bounds: (p, [lo], [hi]) => {
    const top = p.lo + (1n << BigInt(rangeBits(p))) - 1n;
    return [[lo > p.lo ? lo : p.lo, hi < top ? hi : top]];
  },
  constraints: rangeBits,
  describe: (p) => `${rangeBits(p)}-bit range check`,
};
