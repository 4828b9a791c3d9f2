import type { Manifest } from '../manifest.ts';
import { pack, type TensorPacking } from './pack.ts';
import { hashChain, loadPoseidon } from './poseidon.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * Poseidon chain over tensors (`values[i]` for `packing[i]`) packed per their layouts (Poseidon must be
 * loaded): the digest a hashed commitment makes public, the same as the circuit's.
 */
export function packedDigest(packing: TensorPacking[], values: bigint[][]): bigint {
  return hashChain(digestFields(packing.flatMap((p, i) => pack(values[i], p.layout))));
}

/**
 * The fields a digest hashes: the packed fields, or a lone 0 when every tensor is empty (zero-element
 * tensors pack to no field, and Poseidon takes at least one input). Unambiguous: the layouts (element
 * counts) are part of the manifest, so a verifier knows which case a digest is.
 */
export function digestFields<T>(fields: T[], zero?: T): T[] {
  return fields.length ? fields : [zero ?? (0n as T)];
}

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
  const digestOf = (packing: TensorPacking[], values: Map<string, bigint[]>, what: string) =>
    packedDigest(
      packing,
      packing.map(({ tensor }) => {
        const v = values.get(tensor);
        if (!v) throw new ZkmlError(`no values for ${what} tensor "${tensor}"`, 'E_CLAIM');
        return v;
      }),
    );
  const out: Digests = {};
  if (c.input && claimed.inputs) out.inputDigest = digestOf(c.input, claimed.inputs, 'input');
  if (c.output && claimed.outputs) out.outputDigest = digestOf(c.output, claimed.outputs, 'output');
  if (c.single && out.inputDigest !== undefined && out.outputDigest !== undefined) {
    out.commitment = hashChain([BigInt(c.modelId), out.inputDigest, out.outputDigest]);
  }
  return out;
}
