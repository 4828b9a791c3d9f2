import { type GadgetDef, bitLength } from './gadget.ts';
import { isqrt, sqrt, sqrtCost } from './arith.ts';

/**
 * Integer square root of a computed value: s = floor(√x) for x in [0, 2^xBits), by the `sqrt` arithmetic of
 * gadgets/arith.ts. The circuit: s = hinted h = ⌈xBits/2⌉ bits, the product s·s, e = x - s² and 2s - e range
 * checked to h + 1 bits, so s² <= x <= s² + 2s < (s + 1)²: only floor(√x) passes, and a negative x (or one past
 * 2^xBits) has no witness. The op (ops/arith.ts) proves x >= 0 from intervals before applying it.
 * Cost: 3h + 3.
 */
export interface RootParams {
  xBits: number;
}

export const root: GadgetDef<RootParams> = {
  kind: 'root',
  template: 'ZkRoot',
  inputs: ['in'],
  outputs: ['out'],
  synthesize: (g, p, [x]) => [sqrt(g, 'root', x, p.xBits)],
  evaluate: (_p, [x]) => [isqrt(x)],
  bounds: (_p, [lo], [hi]) => [[isqrt(lo < 0n ? 0n : lo), isqrt(hi)]],
  constraints: (p) => sqrtCost(p.xBits),
  describe: (p) => `square root of a ${p.xBits}-bit value`,
};

/** Parameters for x in [0, hi]. */
export const planRoot = (hi: bigint): RootParams => ({ xBits: Math.max(1, bitLength(hi)) });
