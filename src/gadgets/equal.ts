import { type GadgetDef, pow2 } from './gadget.ts';

/**
 * [d = 0] of one computed integer d: ONNX Equal (ops/logic.ts).
 *
 * Integer semantics: out = 1 if d = 0, else 0.
 * Circuit: two sign tests as in gadgets/ge.ts, s = [d >= 0] and t = [-d >= 0], and out = s + t - 1 (at least one
 * of them holds, both exactly when d = 0). The caller guarantees from interval analysis that d and -d lie in
 * [-2^(w-1), 2^(w-1)); then each test's w boolean digits are unique (w <= 250) and its top digit is the sign
 * bit, so out is pinned. A zero test with a witness inverse (out = 1 - d·inv, d·out = 0) would cost 2, but its
 * inverse is free when d = 0 and `zkml audit`'s static determination (audit/determined.ts) has no rule for that
 * shape, so a build using it would not audit clean; every signal here is a digit the audit sees determined.
 * The gadget (rather than the sum of two ge gadgets) is what lets the interval analysis know out is in [0, 1],
 * so Equal's output is a boolean the logic ops accept.
 * Cost: 2w constraints per element.
 */
export interface EqualParams {
  /** Width of the signed range checks of d and -d. */
  w: number;
}

export const equal: GadgetDef<EqualParams> = {
  kind: 'equal',
  template: 'ZkEqual',
  inputs: ['d'],
  outputs: ['out'],
  synthesize(g, p, [d]) {
    const sign = (name: string, k: bigint) => g.bits(name, g.linear([[d, k]], pow2(p.w - 1)), p.w).bit(p.w - 1);
    return [g.linear([[sign('ge', 1n), 1n], [sign('le', -1n), 1n]], -1n)];
  },
  evaluate: (_p, [d]) => [d === 0n ? 1n : 0n],
  bounds: () => [[0n, 1n]],
  constraints: (p) => 2 * p.w,
  describe: (p) => `${p.w}-bit equality test`,
};
