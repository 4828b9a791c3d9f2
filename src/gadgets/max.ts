import { type GadgetDef, pow2 } from './gadget.ts';

/**
 * max(a, b) of two computed values, with the comparison bit: sign = [a >= b], out = b + (a - b)·sign.
 * The sign is the top bit of a range check of a - b exactly as wide as the interval analysis says a - b can
 * be (w = signedWidth of that interval), so comparing two narrow activations is cheap and comparing wide
 * accumulators costs more. Cost: w booleans + 1 product. Ties (a = b) give sign 1: ArgMax's tie rule is
 * chosen by the order of the operands (ops/compare.ts).
 *
 * The circuit: the caller guarantees, from interval analysis, that d = a - b lies in [-2^(w-1), 2^(w-1)). Then
 * v = d + 2^(w-1) lies in [0, 2^w) and its w bits are unique; the top bit is 1 exactly when d >= 0 (a d outside the
 * range has no witness at all). The output is b plus one product of d with that bit.
 */
export interface MaxParams {
  /** Width of the signed range check of a - b. */
  w: number;
}

export const max: GadgetDef<MaxParams> = {
  kind: 'max',
  template: 'ZkMax',
  inputs: ['a', 'b'],
  outputs: ['out', 'sign'],
  synthesize(g, p, [a, b]) {
    const d = g.linear([[a, 1n], [b, -1n]]);
    const sign = g.bits('bits', g.linear([[d, 1n]], pow2(p.w - 1)), p.w).bit(p.w - 1);
    return [g.linear([[b, 1n], [g.product('sel', d, sign), 1n]]), sign];
  },
  evaluate: (_p, [a, b]) => (a >= b ? [a, 1n] : [b, 0n]),
  bounds: (_p, [alo, blo], [ahi, bhi]) => [
    [alo > blo ? alo : blo, ahi > bhi ? ahi : bhi],
    [0n, 1n],
  ],
  constraints: (p) => p.w + 1,
  describe: (p) => `${p.w}-bit comparison`,
};
