import type { Manifest } from '../manifest.ts';
import { encodeInputs } from '../io/input.ts';
import { decodePublicSignals } from '../io/output.ts';
import { recomputeDigests } from '../commit/commitments.ts';
import { ZkmlError } from '../util/errors.ts';

/** What a verifier claims the proof is about: an input file's values and/or an output file's values. */
export interface Claims {
  /** Any input form zkml reads (floats quantized per the manifest). */
  input?: unknown;
  /** Where the claimed input came from (its file), for error messages. */
  inputSource?: string;
  /** output.json as `zkml prove` writes it, or `{"<output name>": [integers]}`. */
  output?: unknown;
}

export interface ClaimCheck {
  input?: boolean;
  output?: boolean;
  /** Why a claim does not match. */
  reasons: string[];
}

function claimedOutputs(manifest: Manifest, value: unknown): Map<string, bigint[]> {
  const out = new Map<string, bigint[]>();
  const obj = value as { outputs?: { name: string; ints: (string | number)[] }[] } & Record<string, unknown>;
  if (Array.isArray(obj?.outputs)) for (const t of obj.outputs) out.set(t.name, t.ints.map((v) => BigInt(v)));
  else if (obj && typeof obj === 'object') for (const spec of manifest.outputs) if (Array.isArray(obj[spec.name])) out.set(spec.name, (obj[spec.name] as (string | number)[]).flat(Infinity as 1).map((v) => BigInt(v as string)));
  for (const spec of manifest.outputs) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (!out.has(spec.name)) throw new ZkmlError(`the claimed output has no values for "${spec.name}"`, 'E_CLAIM');
    if (out.get(spec.name)!.length !== size) throw new ZkmlError(`the claimed output "${spec.name}" has ${out.get(spec.name)!.length} values; expected ${size}`, 'E_CLAIM');
  }
  return out;
}

const equal = (a: bigint[], b: bigint[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Checks claimed input/output values against a valid proof's public signals: directly where they are
 * public, through the Poseidon digests where they are hashed. This is how a verifier learns "this model, this
 * input, this output" from one proof.
 */
export async function checkClaims(manifest: Manifest, publicSignals: string[], claims: Claims): Promise<ClaimCheck> {
  const decoded = decodePublicSignals(manifest, publicSignals);
  const result: ClaimCheck = { reasons: [] };
  const inputs = claims.input !== undefined ? encodeInputs(manifest, claims.input, { source: claims.inputSource ?? 'claimed input' }) : undefined;
  const outputs = claims.output !== undefined ? claimedOutputs(manifest, claims.output) : undefined;
  const digests = await recomputeDigests(manifest, { inputs, outputs });
  if (inputs) {
    const publicOk = decoded.inputs.every((t) => equal(t.ints, inputs.get(t.name)!));
    const digestOk = decoded.digests.inputDigest === undefined || decoded.digests.inputDigest === digests.inputDigest;
    result.input = publicOk && digestOk && (decoded.inputs.length > 0 || decoded.digests.inputDigest !== undefined || manifest.visibility.singleSignal);
    if (!result.input) result.reasons.push(decoded.inputs.length || decoded.digests.inputDigest !== undefined ? 'the claimed input does not match the proof' : 'the input is private: a proof says nothing about which input was used');
  }
  if (outputs) {
    const publicOk = decoded.outputs.every((t) => equal(t.ints, outputs.get(t.name)!));
    const digestOk = decoded.digests.outputDigest === undefined || decoded.digests.outputDigest === digests.outputDigest;
    result.output = publicOk && digestOk;
    if (!result.output) result.reasons.push('the claimed output does not match the proof');
  }
  if (manifest.visibility.singleSignal) {
    if (!inputs || !outputs) throw new ZkmlError('a single-signal proof commits to the model, the input and the output together: give both --input and --output', 'E_CLAIM');
    const ok = digests.commitment === decoded.digests.commitment;
    result.input = ok;
    result.output = ok;
    if (!ok) result.reasons.push('the claimed input and output do not match the proof\'s commitment');
  }
  return result;
}
