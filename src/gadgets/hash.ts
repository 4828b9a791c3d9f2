import type { GadgetDef } from './gadget.ts';
import { chainSizes, hashChain } from '../commit/poseidon.ts';

/**
 * Poseidon digest of m field elements (circuits/hash.circom), used to commit to an input or an output
 * tensor, or to several digests at once. Cost: circomlib's Poseidon per call of the chain (measured by circom;
 * the table below was read off circom's --O2 count for each width).
 */
export interface HashParams {
  m: number;
}

/** circom --O2 constraints of circomlib's Poseidon(n), n = 1..16, measured with circom2 0.2.23. */
const POSEIDON_COST = [0, 213, 240, 261, 297, 321, 354, 381, 402, 417, 459, 465, 504, 543, 537, 573, 609];

export const hash: GadgetDef<HashParams> = {
  kind: 'hash',
  file: 'hash.circom',
  template: 'ZkHashChain',
  inputs: (p) => Array.from({ length: p.m }, (_, i) => `in[${i}]`),
  outputs: ['out'],
  templateArgs: (p) => [p.m],
  evaluate: (_p, inputs) => [hashChain(inputs)],
  // A digest is any field element, not an integer of the model: it is marked opaque (Program.opaque), only
  // ever hashed again or made public, never computed on.
  bounds: () => [[0n, 0n]],
  opaqueOutputs: true,
  constraints: (p) => chainSizes(p.m).reduce((a, n) => a + POSEIDON_COST[n], 0),
  describe: (p) => `Poseidon over ${p.m} field element${p.m === 1 ? '' : 's'}`,
};
