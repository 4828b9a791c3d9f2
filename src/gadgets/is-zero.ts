import type { GadgetDef } from './gadget.ts';

/**
 * [x = 0] of one computed integer x: Equal of two tensors (ops/logic.ts) and the zero case of Sign
 * (ops/rounding.ts).
 *
 * Integer semantics: out = 1 if x = 0, else 0.
 * Soundness: the builder's isZero primitive (builder.ts): with a witness inverse inv, out = 1 - x·inv and
 * x·out = 0. If x = 0 the first gives out = 1 whatever inv is; if x != 0 the second forces out = 0, and then
 * the first forces inv = 1/x. No other assignment satisfies both, so out is exactly [x = 0] (in the field; x
 * is an integer far inside it, so x = 0 in the field means x = 0). No range condition on x.
 * Cost: 2 constraints per element.
 */
export const isZero: GadgetDef<Record<string, never>> = {
  kind: 'iszero',
  template: 'ZkIsZero',
  inputs: ['in'],
  outputs: ['out'],
  synthesize: (g, _p, [x]) => [g.isZero('z', x)],
  evaluate: (_p, [x]) => [x === 0n ? 1n : 0n],
  bounds: () => [[0n, 1n]],
  constraints: () => 2,
  describe: () => 'zero test',
};
