import type { GadgetDef } from './gadget.ts';

/**
 * max(a, b) of two computed values, with the comparison bit: sign = [a >= b], out = b + (a - b)·sign.
 * The sign is the top bit of a range check of a - b exactly as wide as the interval analysis says a - b can
 * be (w = signedWidth of that interval), so comparing two narrow activations is cheap and comparing wide
 * accumulators costs more. Cost: w booleans + 1 product. Ties (a = b) give sign 1: ArgMax's tie rule is
 * chosen by the order of the operands (ops/compare.ts).
 */
export interface MaxParams {
  /** Width of the signed range check of a - b. */
  w: number;
}

export const max: GadgetDef<MaxParams> = {
  kind: 'max',
  file: 'max.circom',
  template: 'ZkMax',
  inputs: ['a', 'b'],
  outputs: ['out', 'sign'],
  templateArgs: (p) => [p.w],
  evaluate: (_p, [a, b]) => (a >= b ? [a, 1n] : [b, 0n]),
  bounds: (_p, [alo, blo], [ahi, bhi]) => [
    [alo > blo ? alo : blo, ahi > bhi ? ahi : bhi],
    [0n, 1n],
  ],
  constraints: (p) => p.w + 1,
  describe: (p) => `${p.w}-bit comparison`,
};
