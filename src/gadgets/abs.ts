import { type GadgetDef, pow2 } from './gadget.ts';

/**
 * |x| of one computed integer x: ONNX Abs (ops/rounding.ts). max(x, -x) through the max gadget would cost one
 * constraint more (its range check is of 2x) and leave the output's interval as wide as x's on both sides (the
 * max gadget cannot know its operands are negatives of each other); this one gives |x| the interval
 * [0, max(-lo, hi)], which keeps whatever follows narrow (Sign of an Abs is then a zero test only).
 *
 * Integer semantics: out = x if x >= 0, else -x.
 * Soundness: as gadgets/ge.ts, the caller guarantees from interval analysis that x lies in [-2^(w-1), 2^(w-1)),
 * so the top digit s of the w boolean digits of x + 2^(w-1) is exactly [x >= 0] (unique digits, w <= 250; an x
 * outside has no witness). Then out = x·(2s - 1) = 2·(x·s) - x, the product x·s one constrained signal.
 * Cost: w + 1 constraints per element.
 */
export interface AbsParams {
  /** Width of the signed range check of x. */
  w: number;
}

export const abs: GadgetDef<AbsParams> = {
  kind: 'abs',
  template: 'ZkAbs',
  inputs: ['in'],
  outputs: ['out'],
  synthesize(g, p, [x]) {
    const s = g.bits('bits', g.linear([[x, 1n]], pow2(p.w - 1)), p.w).bit(p.w - 1);
    return [g.linear([[g.product('xs', x, s), 2n], [x, -1n]])];
  },
  evaluate: (_p, [x]) => [x < 0n ? -x : x],
  bounds(_p, [lo], [hi]) {
    if (lo >= 0n) return [[lo, hi]];
    if (hi <= 0n) return [[-hi, -lo]];
    return [[0n, -lo > hi ? -lo : hi]];
  },
  constraints: (p) => p.w + 1,
  describe: (p) => `${p.w}-bit absolute value`,
};
