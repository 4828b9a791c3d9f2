import type { GadgetDef } from './gadget.ts';

/**
 * One-hot vector of an integer idx in [0, n): h[i] = [idx = i]. A lookup in a constant table is then the
 * linear combination Σ table[i]·h[i], free. Cost: n booleans (the sums Σh = 1 and Σ i·h[i] = idx are linear).
 * Soundness: each h[i] is boolean, exactly one is set and it is h[idx]; an idx outside [0, n) has no witness.
 */
export interface OneHotParams {
  n: number;
}

export const onehot: GadgetDef<OneHotParams> = {
  kind: 'onehot',
  template: 'ZkOneHot',
  inputs: ['idx'],
  outputs: (p) => Array.from({ length: p.n }, (_, i) => `h[${i}]`),
  synthesize: (g, p, [idx]) => g.oneHot('hot', idx, p.n),
  evaluate: (p, [idx]) => Array.from({ length: p.n }, (_, i) => (idx === BigInt(i) ? 1n : 0n)),
  bounds: (p, [lo], [hi]) =>
    Array.from({ length: p.n }, (_, i) => (BigInt(i) < lo || BigInt(i) > hi ? [0n, 0n] : lo === hi ? [1n, 1n] : [0n, 1n]) as [bigint, bigint]),
  constraints: (p) => p.n,
  describe: (p) => `one-hot of ${p.n}`,
};

/** The one-hot gadget, checking that n makes sense (a vector of fewer than 2 entries is a constant). */
export function oneHot(n: number): GadgetDef<OneHotParams> {
  if (!Number.isInteger(n) || n < 2) throw new Error(`a one-hot vector needs at least 2 entries, got ${n}`);
  return onehot;
}
