import type { Manifest } from '../manifest.ts';
import { pack } from './pack.ts';
import { hashChain, loadPoseidon } from './poseidon.ts';
import { ZkmlError } from '../util/errors.ts';

export interface Digests {
  inputDigest?: bigint;
  outputDigest?: bigint;
  commitment?: bigint;
}

/**
 * Recomputes, outside the circuit, the digests a build's public signals carry, from claimed input and/or
 * output integers (by tensor name): the verifier's side of hashed visibility. Same packing
 * (manifest.commitments) and the same Poseidon chain as the circuit.
 */
export async function recomputeDigests(manifest: Manifest, claimed: { inputs?: Map<string, bigint[]>; outputs?: Map<string, bigint[]> }): Promise<Digests> {
  await loadPoseidon();
  const c = manifest.commitments;
  const digestOf = (packing: NonNullable<typeof c.input>, values: Map<string, bigint[]>, what: string) => {
    const fields = packing.flatMap((p) => {
      const v = values.get(p.tensor);
      if (!v) throw new ZkmlError(`no values for ${what} tensor "${p.tensor}"`, 'E_CLAIM');
      return pack(v, p.layout);
    });
    return hashChain(fields);
  };
  const out: Digests = {};
  if (c.input && claimed.inputs) out.inputDigest = digestOf(c.input, claimed.inputs, 'input');
  if (c.output && claimed.outputs) out.outputDigest = digestOf(c.output, claimed.outputs, 'output');
  if (c.single && out.inputDigest !== undefined && out.outputDigest !== undefined) {
    out.commitment = hashChain([BigInt(c.modelId), out.inputDigest, out.outputDigest]);
  }
  return out;
}
