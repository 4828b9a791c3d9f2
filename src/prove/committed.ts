import { existsSync } from 'node:fs';
import type { Manifest } from '../manifest.ts';
import { analyze, analyzeOptionsOf, type Analysis } from '../compiler/compile.ts';
import { recomputeDigests } from '../commit/commitments.ts';
import { decodePublicSignals } from '../io/output.ts';
import { loadPoseidon } from '../commit/poseidon.ts';
import { sha256File } from '../util/hash.ts';
import { ZkmlError } from '../util/errors.ts';

/** True when the proof carries a digest of the outputs instead of the outputs themselves. */
export const outputsHashed = (m: Manifest) => m.visibility.singleSignal || m.visibility.output === 'hashed';

const analyses = new Map<string, Analysis>();

/**
 * The output values behind a hashed-output proof, for output.json: the prover knows them, the public signals
 * only commit to them. They come from the exact reference executor (the circuit's witness equals it, see
 * crosscheck.ts), which needs the model file the build was compiled from; they are checked against the
 * proof's public digest before they are reported, so a stale model cannot produce a wrong report.
 */
export async function committedOutputs(manifest: Manifest, witnessInput: Record<string, string[]>, publicSignals: string[]): Promise<Map<string, bigint[]>> {
  const path = manifest.model.path;
  if (!existsSync(path) || sha256File(path) !== manifest.model.sha256) {
    throw new ZkmlError(`the outputs of this hashed-output build are recomputed from the model, which is missing or changed (expected sha256 ${manifest.model.sha256})`, 'E_MODEL_CHANGED', path);
  }
  await loadPoseidon();
  let analysis = analyses.get(manifest.model.sha256 + JSON.stringify(analyzeOptionsOf(manifest)));
  if (!analysis) {
    analysis = analyze(path, analyzeOptionsOf(manifest));
    analyses.set(manifest.model.sha256 + JSON.stringify(analyzeOptionsOf(manifest)), analysis);
  }
  const inputs = new Map(manifest.inputs.map((s) => [s.name, witnessInput[s.signal].map(BigInt)]));
  const { wires } = analysis.lowered.program.execute(inputs);
  const outputs = new Map(analysis.tensorOutputs.map((o) => [o.name, o.exprs.map((e) => e.evaluate(wires))]));
  const proven = decodePublicSignals(manifest, publicSignals).digests;
  const recomputed = await recomputeDigests(manifest, { inputs, outputs });
  const key = manifest.visibility.singleSignal ? 'commitment' : 'outputDigest';
  if (recomputed[key] !== proven[key]) {
    throw new ZkmlError(`the recomputed ${key} does not match the proof's: the build and the model disagree`, 'E_COMMITMENT', path);
  }
  return outputs;
}
