import type { GadgetDef } from './gadget.ts';

/**
 * out = x² of a computed value: one constraint, as a product, but with the interval a square has ([0, max(lo², hi²)],
 * or [min², max²] away from 0) instead of a product's lo·hi lower end, so that a variance or a norm that follows is
 * known to be non-negative (a square root or a division after it needs that).
 */
export const square: GadgetDef<Record<string, never>> = {
  kind: 'square',
  template: 'ZkSquare',
  inputs: ['in'],
  outputs: ['out'],
  synthesize: (g, _p, [x]) => [g.product('sq', x, x)],
  evaluate: (_p, [x]) => [x * x],
  bounds(_p, [lo], [hi]) {
    const [a, b] = [lo * lo, hi * hi];
    const top = a > b ? a : b;
    if (lo <= 0n && hi >= 0n) return [[0n, top]];
    return [[a < b ? a : b, top]];
  },
  constraints: () => 1,
  describe: () => 'square',
};
