import { type GadgetDef, pow2 } from './gadget.ts';

/**
 * [d >= 0] of one computed integer d: the sign test behind Less/Greater(OrEqual), Sign (ops/logic.ts,
 * ops/rounding.ts). The max gadget (max.ts) gives the same bit plus a product for the max; a comparison whose
 * max is not wanted should not pay that product.
 *
 * Integer semantics: out = 1 if d >= 0, else 0.
 * Soundness: the caller guarantees from interval analysis that d lies in [-2^(w-1), 2^(w-1)) (ops/compare.ts
 * sizes w with signedWidth). Then v = d + 2^(w-1) lies in [0, 2^w); its w boolean digits are unique (w <= 250),
 * and the top digit is 1 exactly when v >= 2^(w-1), i.e. d >= 0. A d outside the range has no witness at all.
 * The output is that digit itself, so it is constrained boolean.
 * Cost: w constraints per element (the digits; their sum equal to v folds into them).
 */
export interface GeParams {
  /** Width of the signed range check of d. */
  w: number;
}

export const ge: GadgetDef<GeParams> = {
  kind: 'ge',
  template: 'ZkGe',
  inputs: ['d'],
  outputs: ['out'],
  synthesize: (g, p, [d]) => [g.bits('bits', g.linear([[d, 1n]], pow2(p.w - 1)), p.w).bit(p.w - 1)],
  evaluate: (_p, [d]) => [d >= 0n ? 1n : 0n],
  bounds: () => [[0n, 1n]],
  constraints: (p) => p.w,
  describe: (p) => `${p.w}-bit sign test`,
};
