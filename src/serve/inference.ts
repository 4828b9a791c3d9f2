/**
 * The output served at once, and why it cannot differ from the proven one. An inference's input is encoded and
 * its witness computed by the build's exact integer executor (the program file: the same `witnessFile` the
 * prover runs); the public signals are read from that witness's wires 1..n, exactly where snarkjs takes them
 * from, and the served output is decoded from those signals by `resultReport`, the writer of every output.json.
 * When the proof arrives, its public signals must equal these (and the proof must verify against the model's
 * key) before the inference is marked proven, and the proven output is decoded from the proof's own signals by
 * the same function: equal signals give the same output.
 */
import { readFileSync } from 'node:fs';
import { buildProgram } from '../prove/committed.ts';
import { openBuildForProving, resultReport, type ProvingBuild } from '../prove/prove.ts';
import { encodeInputs, witnessInput } from '../io/input.ts';
import { witnessFile } from '../circuit/witness.ts';
import { readParams, withThreads } from '../../prover/worker.ts';
import { FIELD_P } from '../io/output.ts';
import { buildPaths } from '../manifest.ts';
import { loadSnarkjs } from '../util/snark.ts';
import { ZkmlError } from '../util/errors.ts';

/** Where the wires start in a .wtns file (src/circuit/wtns-file.ts' header). */
const WTNS_HEADER = 76;

function readWire(wtns: Uint8Array, wire: number): string {
  const view = Buffer.from(wtns.buffer, wtns.byteOffset, wtns.byteLength);
  let v = 0n;
  for (let i = 3; i >= 0; i--) v = (v << 64n) | view.readBigUInt64LE(WTNS_HEADER + wire * 32 + 8 * i);
  return v.toString();
}

const builds = new Map<string, ProvingBuild>();

/** A ready model's build, opened (and hash-checked) once per process. */
export function openBuild(dir: string): ProvingBuild {
  let b = builds.get(dir);
  if (!b) {
    b = openBuildForProving(dir);
    builds.set(dir, b);
  }
  return b;
}

/** The decoded output of a set of public signals: outputs, public inputs and digests (output.json's fields). */
export async function servedOutput(build: ProvingBuild, encoded: Record<string, string[]>, publicSignals: string[], reports?: Record<string, string[]>) {
  const { provenance: _p, insecureSetup, ...report } = await resultReport(build, encoded, publicSignals, reports);
  return { ...report, insecureSetup };
}

export interface Executed {
  /** The witness input the proof job proves (may be private: never served). */
  encoded: Record<string, string[]>;
  publicSignals: string[];
  output: Awaited<ReturnType<typeof servedOutput>>;
}

/** Encodes `input` (zkml's or EZKL's input format; ZkmlError on a bad one) and runs the exact integer executor. */
export async function execute(build: ProvingBuild, input: unknown): Promise<Executed> {
  const { manifest, ref } = build;
  if (ref.witness.kind !== 'program') throw new ZkmlError('the build has no program file (compiled with circom): the service needs zkml\'s back end', 'E_ARTIFACT', ref.dir);
  const encoded = witnessInput(manifest, encodeInputs(manifest, input, { source: 'input' }));
  const program = buildProgram(ref.dir, manifest);
  const { wtns, reports } = witnessFile(program, encoded, readParams(ref));
  const publicSignals = manifest.publicSignals.map((_, k) => readWire(wtns, k + 1));
  return { encoded, publicSignals, output: await servedOutput(build, encoded, publicSignals, Object.keys(reports).length ? reports : undefined) };
}

const keys = new Map<string, unknown>();

export function verificationKey(dir: string): unknown {
  let vk = keys.get(dir);
  if (!vk) {
    vk = JSON.parse(readFileSync(buildPaths(dir).vkey, 'utf8'));
    keys.set(dir, vk);
  }
  return vk;
}

/** Groth16 verification against the model's key; a malformed proof is simply invalid. */
export async function verifyProof(build: ProvingBuild, proof: unknown, publicSignals: string[]): Promise<boolean> {
  // A signal at or above the field order is the same field element as a smaller one: refused, not reduced.
  if (publicSignals.length !== build.manifest.publicSignals.length || publicSignals.some((s) => BigInt(s) >= FIELD_P)) return false;
  const snarkjs = await loadSnarkjs();
  try {
    return await withThreads('single', () => snarkjs.groth16.verify(verificationKey(build.ref.dir) as never, publicSignals, proof as never));
  } catch {
    return false;
  }
}
