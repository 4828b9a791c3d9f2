import type { GadgetDef } from './gadget.ts';

/**
 * One-hot vector of an integer idx in [0, n): h[i] = [idx = i]. A lookup in a constant table is then the
 * linear combination Σ table[i]·h[i], free. Cost: n booleans. One gadget definition per size n (its output
 * ports are h[0..n-1]), created on demand.
 */
export interface OneHotParams {
  n: number;
}

const defs = new Map<number, GadgetDef<OneHotParams>>();

export function oneHot(n: number): GadgetDef<OneHotParams> {
  if (!Number.isInteger(n) || n < 2) throw new Error(`a one-hot vector needs at least 2 entries, got ${n}`);
  let def = defs.get(n);
  if (!def) {
    def = {
      kind: 'onehot',
      file: 'onehot.circom',
      template: 'ZkOneHot',
      inputs: ['idx'],
      outputs: Array.from({ length: n }, (_, i) => `h[${i}]`),
      templateArgs: (p) => [p.n],
      evaluate: (p, [idx]) => Array.from({ length: p.n }, (_, i) => (idx === BigInt(i) ? 1n : 0n)),
      bounds: (p, [lo], [hi]) =>
        Array.from({ length: p.n }, (_, i) => (BigInt(i) < lo || BigInt(i) > hi ? [0n, 0n] : lo === hi ? [1n, 1n] : [0n, 1n]) as [bigint, bigint]),
      constraints: (p) => p.n,
      describe: (p) => `one-hot of ${p.n}`,
    };
    defs.set(n, def);
  }
  return def;
}
