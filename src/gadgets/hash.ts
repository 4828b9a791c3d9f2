import type { GadgetDef } from './gadget.ts';
import { chainSizes, hashChain } from '../commit/poseidon.ts';

/**
 * Poseidon digest of m field elements, used to commit to an input or an output tensor, or to several digests at
 * once: circomlib's Poseidon (at most 16 inputs per call) over the first 16, then over each further group of up to
 * 15 together with the previous digest, exactly as src/commit/poseidon.ts hashes outside the circuit. Callers pack
 * small integers into the inputs (src/commit/pack.ts) and range-check every packed value, which makes the packing
 * injective. Cost: circomlib's Poseidon per call of the chain (the table below is circom's --O2 count for each
 * width, which the constraint system reproduces: gadgets/poseidon.ts).
 */
export interface HashParams {
  m: number;
}

/** circom --O2 constraints of circomlib's Poseidon(n), n = 1..16, measured with circom2 0.2.23. */
const POSEIDON_COST = [0, 213, 240, 261, 297, 321, 354, 381, 402, 417, 459, 465, 504, 543, 537, 573, 609];

export const hash: GadgetDef<HashParams> = {
  kind: 'hash',
  template: 'ZkHashChain',
  inputs: (p) => Array.from({ length: p.m }, (_, i) => `in[${i}]`),
  outputs: ['out'],
  synthesize(g, p, inputs) {
    // The first 16 elements in one call, then each further group of up to 15 together with the previous digest.
    let digest: (typeof inputs)[number] | undefined;
    let pos = 0;
    chainSizes(p.m).forEach((size, j) => {
      const take = j === 0 ? size : size - 1;
      digest = g.poseidon(`h${j}`, [...(digest === undefined ? [] : [digest]), ...inputs.slice(pos, pos + take)]);
      pos += take;
    });
    return [digest!];
  },
  evaluate: (_p, inputs) => [hashChain(inputs)],
  // A digest is any field element, not an integer of the model: it is marked opaque (Program.opaque), only
  // ever hashed again or made public, never computed on.
  bounds: () => [[0n, 0n]],
  opaqueOutputs: true,
  constraints: (p) => chainSizes(p.m).reduce((a, n) => a + POSEIDON_COST[n], 0),
  describe: (p) => `Poseidon over ${p.m} field element${p.m === 1 ? '' : 's'}`,
};
