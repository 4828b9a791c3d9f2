import type { GadgetDef } from './gadget.ts';

/** out = a · b of two computed values (a product with a constant is linear and needs no gadget): one constraint. */
export const product: GadgetDef<Record<string, never>> = {
  kind: 'product',
  template: 'ZkProduct',
  inputs: ['a', 'b'],
  outputs: ['out'],
  synthesize: (g, _p, [a, b]) => [g.product('prod', a, b)],
  evaluate: (_p, [a, b]) => [a * b],
  bounds(_p, [alo, blo], [ahi, bhi]) {
    const c = [alo * blo, alo * bhi, ahi * blo, ahi * bhi];
    return [[c.reduce((x, y) => (y < x ? y : x)), c.reduce((x, y) => (y > x ? y : x))]];
  },
  constraints: () => 1,
  describe: () => 'product',
};
