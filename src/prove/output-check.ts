/**
 * `zkml verify`'s check of a result's output.json. It is the file people and scripts read, and nothing but this
 * check ties it to the proof, so a valid proof must never vouch for an edited one. Every value in it must be
 * the proven one: public outputs, public inputs and digests are the decoded public signals; outputs behind a
 * digest (hashed outputs) must hash to the proven output digest, or, with the opening output.json carries, to
 * the proven single-signal commitment; derived values (dequantized floats, probabilities, argmax) must be what
 * the proven integers give; the setup and model it names must be the build's.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Manifest } from '../manifest.ts';
import { recomputeDigests } from '../commit/commitments.ts';
import { hashChain } from '../commit/poseidon.ts';
import { decodePublicSignals } from '../io/output.ts';
import { readResultJson } from '../io/result-file.ts';
import { ZkmlError } from '../util/errors.ts';
import { outputsHashed } from './committed.ts';
import { describeOutputs, RESULT_FILES, type OutputFile, type OutputReport } from './prove.ts';

/** Floats are derived from proven integers by the same code: equal up to the last bits of a libm. */
const FLOAT_TOLERANCE = 1e-12;

const show = (v: unknown) => (JSON.stringify(v) ?? String(v)).slice(0, 100);

const child = (path: string, key: string) => (path ? `${path}.${key}` : key);

/** The first place where `actual` differs from `expected` (same keys, same lengths, equal leaves), or undefined. */
function difference(actual: unknown, expected: unknown, path: string): string | undefined {
  if (typeof expected === 'number') {
    const ok = typeof actual === 'number' && Math.abs(actual - expected) <= FLOAT_TOLERANCE * Math.max(1, Math.abs(expected));
    return ok ? undefined : `${path} is ${show(actual)}; the proof says ${show(expected)}`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return `${path} is ${show(actual)}; the proof says ${expected.length} values`;
    for (let i = 0; i < expected.length; i++) {
      const d = difference(actual[i], expected[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return `${path} is ${show(actual)}; the proof says an object`;
    const extra = Object.keys(actual).find((k) => !Object.hasOwn(expected, k));
    if (extra !== undefined) return `${child(path, extra)} is ${show((actual as Record<string, unknown>)[extra])}, which the proof does not say`;
    for (const [k, v] of Object.entries(expected)) {
      const d = difference((actual as Record<string, unknown>)[k], v, child(path, k));
      if (d) return d;
    }
    return undefined;
  }
  return actual === expected ? undefined : `${path} is ${show(actual)}; the proof says ${show(expected)}`;
}

const mismatch = (message: string) => new ZkmlError(`output.json: ${message}`, 'E_OUTPUT_MISMATCH');

/** The output integers output.json reports, by tensor name, shaped as the manifest says (or a mismatch). */
function reportedOutputs(manifest: Manifest, file: Partial<OutputFile>): Map<string, bigint[]> {
  const out = new Map<string, bigint[]>();
  const tensors = Array.isArray(file.outputs) ? file.outputs : [];
  for (const spec of manifest.outputs) {
    const t = tensors.find((x) => x?.name === spec.name);
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (!t || !Array.isArray(t.ints) || t.ints.length !== size || !t.ints.every((v) => typeof v === 'string' && /^-?\d{1,80}$/.test(v))) {
      throw mismatch(`expected ${size} integers (decimal strings) for output "${spec.name}", the values the proof commits to`);
    }
    out.set(spec.name, t.ints.map(BigInt));
  }
  return out;
}

/**
 * For hashed outputs: output.json's values, once they hash to what the proof commits to (the output digest,
 * or the single-signal commitment through output.json's opening).
 */
async function checkedCommittedOutputs(manifest: Manifest, file: Partial<OutputFile>, publicSignals: string[]): Promise<Map<string, bigint[]>> {
  const outputs = reportedOutputs(manifest, file);
  const proven = decodePublicSignals(manifest, publicSignals).digests;
  let digest: bigint | undefined;
  try {
    digest = (await recomputeDigests(manifest, { outputs })).outputDigest;
  } catch (err) {
    // pack() refuses values outside the packed range: no proof commits to them.
    if (!(err instanceof ZkmlError)) throw err;
  }
  if (!manifest.visibility.singleSignal) {
    if (digest === undefined || digest !== proven.outputDigest) throw mismatch("its outputs do not match the proof's outputDigest");
    return outputs;
  }
  const o = file.opening;
  const isField = (v: unknown): v is string => typeof v === 'string' && /^\d{1,78}$/.test(v);
  if (!o || !isField(o.inputDigest) || !isField(o.outputDigest)) {
    throw mismatch('it has no opening {inputDigest, outputDigest} of the single-signal commitment, so its outputs cannot be checked against the proof (prove again with this zkml)');
  }
  const commitment = hashChain([BigInt(manifest.commitments.modelId), BigInt(o.inputDigest), BigInt(o.outputDigest)]);
  if (digest === undefined || digest !== BigInt(o.outputDigest) || commitment !== proven.commitment) throw mismatch("its outputs do not match the proof's commitment");
  return outputs;
}

/**
 * What verify reports for a result folder whose proof is valid: the proven public values, and for hashed
 * outputs the values of output.json once they hash to the proven digest. Throws a ZkmlError naming the first
 * difference when output.json says anything the proof does not (E_OUTPUT_MISMATCH), or when a public value is
 * outside its integer range (E_PUBLIC_RANGE). A folder without output.json reports the proven values only.
 */
export async function checkOutputFile(manifest: Manifest, folder: string, publicSignals: string[]): Promise<OutputReport> {
  const path = join(folder, RESULT_FILES.output);
  if (!existsSync(path)) return describeOutputs(manifest, publicSignals);
  const file = readResultJson(path) as Partial<OutputFile>;
  if (file === null || typeof file !== 'object' || Array.isArray(file)) throw mismatch(`expected the report zkml prove writes, got ${show(file)}`);
  const committed = outputsHashed(manifest) ? await checkedCommittedOutputs(manifest, file, publicSignals) : undefined;
  const report = describeOutputs(manifest, publicSignals, committed);
  const expected: Record<string, unknown> = { ...report, ...(file.opening && committed ? { opening: file.opening } : {}) };
  const { insecureSetup, provenance, ...rest } = file;
  const diff = difference(rest, expected, '');
  if (diff) throw mismatch(diff);
  if (insecureSetup !== manifest.setup?.insecure) {
    throw mismatch(`insecureSetup is ${show(insecureSetup)}; the build's setup is ${manifest.setup?.insecure ? 'insecure' : 'not known to be insecure'}`);
  }
  if (provenance?.zkeySha256 !== manifest.setup?.zkeySha256) throw mismatch(`provenance.zkeySha256 is ${show(provenance?.zkeySha256)}; the build's zkey is ${manifest.setup?.zkeySha256}`);
  if (provenance?.modelSha256 !== manifest.model.sha256) throw mismatch(`provenance.modelSha256 is ${show(provenance?.modelSha256)}; the build's model is ${manifest.model.sha256}`);
  return report;
}
