import { readFileSync } from 'node:fs';
import type { Manifest } from '../manifest.ts';
import { buildPaths } from '../manifest.ts';
import { recomputeDigests, type Digests } from '../commit/commitments.ts';
import { decodePublicSignals } from '../io/output.ts';
import { loadPoseidon } from '../commit/poseidon.ts';
import { decodeProgram, type DecodedProgram } from '../circuit/program-file.ts';
import { computeWitness } from '../circuit/witness.ts';
import { sha256Hex } from '../util/hash.ts';
import { ZkmlError } from '../util/errors.ts';
import { readParams, type BuildRef } from '../../prover/worker.ts';

/** True when the proof carries a digest of the outputs instead of the outputs themselves. */
export const outputsHashed = (m: Manifest) => m.visibility.singleSignal || m.visibility.output === 'hashed';

const programs = new Map<string, DecodedProgram>();

/** The build's program file, hash-checked against the manifest, decoded once per process. */
export function buildProgram(dir: string, manifest: Manifest): DecodedProgram {
  const expected = manifest.circuit.programSha256;
  const path = buildPaths(dir).program;
  if (!expected) throw new ZkmlError('manifest.json records no program file: recompile with zkml compile', 'E_BAD_MANIFEST', dir);
  let program = programs.get(expected);
  if (!program) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new ZkmlError(`cannot read (${(err as NodeJS.ErrnoException).code}): recompile with zkml compile`, 'E_ARTIFACT', path);
    }
    if (sha256Hex(bytes) !== expected) throw new ZkmlError('is not the program file the manifest records: recompile with zkml compile', 'E_ARTIFACT_HASH', path);
    program = decodeProgram(bytes, path);
    programs.set(expected, program);
  }
  return program;
}

/**
 * The output values behind a hashed-output proof, for output.json, and the digests they hash to (with the
 * input's): the prover knows them, the public signals only commit to them. They are what the witness step
 * reported (zkml's back end) or are computed from the build's program file (builds made with --circom), and are
 * checked against the proof's public digest before they are reported, so nothing stale can produce a wrong
 * report. Only the build folder is read.
 */
export async function committedOutputs(
  build: { manifest: Manifest; ref: BuildRef },
  witnessInput: Record<string, string[]>,
  publicSignals: string[],
  reported?: Record<string, string[]>,
): Promise<{ outputs: Map<string, bigint[]>; digests: Digests }> {
  const { manifest } = build;
  const inputs = new Map(manifest.inputs.map((s) => [s.name, witnessInput[s.signal].map(BigInt)]));
  let outputs: Map<string, bigint[]>;
  if (reported) outputs = new Map(Object.entries(reported).map(([k, v]) => [k, v.map(BigInt)]));
  else {
    const program = buildProgram(build.ref.dir, manifest);
    const { wires } = computeWitness(program, inputs, readParams(build.ref), program.labels);
    outputs = new Map(program.reports.map((o) => [o.name, o.exprs.map((e) => e.evaluate(wires))]));
  }
  await loadPoseidon();
  const proven = decodePublicSignals(manifest, publicSignals).digests;
  const recomputed = await recomputeDigests(manifest, { inputs, outputs });
  const key = manifest.visibility.singleSignal ? 'commitment' : 'outputDigest';
  if (recomputed[key] !== proven[key]) {
    throw new ZkmlError(`the recomputed ${key} does not match the proof's: the build's program and its circuit disagree`, 'E_COMMITMENT', build.ref.dir);
  }
  return { outputs, digests: recomputed };
}
