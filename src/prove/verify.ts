/**
 * `zkml verify`, off-chain: checks proof.json + public.json against the build's verification key with snarkjs,
 * for one result folder or for every result of a batch output folder.
 */
import { readResultJson } from '../io/result-file.ts';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Groth16Proof } from 'snarkjs';
import { buildPaths, readManifest, type Manifest } from '../manifest.ts';
import { ZkmlError } from '../util/errors.ts';
import { loadSnarkjs } from '../util/snark.ts';
import { readVerified, withThreads } from '../../prover/worker.ts';
import { checkClaims, type Claims, type ClaimCheck } from './claims.ts';
import { RESULT_FILES, setupWarnings, type OutputFile, type OutputReport } from './prove.ts';
import { checkOutputFile } from './output-check.ts';
import { ERRORS_FILE, readBatchErrors, type BatchError } from './batch.ts';

export interface ResultVerification {
  /** The result's input id (batch) or undefined (a single result folder). */
  id?: string;
  folder: string;
  valid: boolean;
  /** Why the result is not valid. */
  reason?: string;
  /**
   * The proven values, decoded from the verified public signals; for hashed outputs, output.json's values once
   * they hash to the proven digest (src/prove/output-check.ts). Absent when the result is not valid.
   */
  outputs?: OutputReport;
  /** Claimed input/output values checked against the public signals (when given). */
  claims?: ClaimCheck;
}

export interface VerifyResult {
  /** Every proof verified, and (for a batch) no input failed. */
  valid: boolean;
  kind: 'single' | 'batch';
  insecureSetup: boolean;
  /** Things the user must hear about, loudly (an insecure setup, weights the proof leaves unbound). */
  warnings: string[];
  /** The outputs of a single result folder, when valid. */
  outputs?: OutputReport;
  results: ResultVerification[];
  /** Inputs that a batch could not prove (from errors.jsonl). */
  failedInputs: BatchError[];
}


const isDecimal = (v: unknown): v is string => typeof v === 'string' && /^[0-9]{1,78}$/.test(v);
const isPoint = (v: unknown, isCoord: (c: unknown) => boolean) => Array.isArray(v) && (v.length === 2 || v.length === 3) && v.every(isCoord);
const isG2Coord = (c: unknown) => Array.isArray(c) && c.length === 2 && c.every(isDecimal);
const describe = (v: unknown) => (JSON.stringify(v) ?? String(v)).slice(0, 80);

/** Reads and shape-checks a result folder's proof.json and public.json. */
function readProofFiles(folder: string, manifest: Manifest): { proof: Groth16Proof; publicSignals: string[] } {
  const proofPath = join(folder, RESULT_FILES.proof);
  const proof = readResultJson(proofPath) as Record<string, unknown>;
  if (typeof proof !== 'object' || proof === null || Array.isArray(proof)) throw new ZkmlError(`expected a Groth16 proof object, got ${describe(proof)}`, 'E_PROOF_FORMAT', proofPath);
  if (proof.protocol !== undefined && proof.protocol !== 'groth16') throw new ZkmlError(`protocol is ${describe(proof.protocol)}, expected "groth16"`, 'E_PROOF_FORMAT', proofPath);
  if (proof.curve !== undefined && proof.curve !== 'bn128') throw new ZkmlError(`curve is ${describe(proof.curve)}, expected "bn128"`, 'E_PROOF_FORMAT', proofPath);
  for (const [key, isCoord, what] of [
    ['pi_a', isDecimal, 'a G1 point: 2 or 3 decimal strings'],
    ['pi_b', isG2Coord, 'a G2 point: 2 or 3 pairs of decimal strings'],
    ['pi_c', isDecimal, 'a G1 point: 2 or 3 decimal strings'],
  ] as const) {
    if (!isPoint(proof[key], isCoord)) throw new ZkmlError(`${key} must be ${what}; got ${describe(proof[key])}`, 'E_PROOF_FORMAT', proofPath);
  }
  const publicPath = join(folder, RESULT_FILES.public);
  const publicSignals = readResultJson(publicPath);
  const expected = manifest.publicSignals.length;
  if (!Array.isArray(publicSignals) || publicSignals.length !== expected || !publicSignals.every(isDecimal)) {
    throw new ZkmlError(`expected an array of ${expected} decimal strings (this build's public signals), got ${describe(publicSignals)}`, 'E_PROOF_FORMAT', publicPath);
  }
  return { proof: proof as unknown as Groth16Proof, publicSignals };
}

/** A hint for an invalid proof whose output.json says it was made with another setup. */
function provenanceHint(folder: string, manifest: Manifest): string {
  try {
    const output = JSON.parse(readFileSync(join(folder, RESULT_FILES.output), 'utf8')) as OutputFile;
    const theirs = output.provenance?.zkeySha256;
    if (theirs && theirs !== manifest.setup?.zkeySha256) return ` (output.json says it was proven with another setup, zkey ${theirs.slice(0, 16)}…)`;
  } catch {
    // output.json is informational only; a missing or broken one changes nothing.
  }
  return '';
}

/** snarkjs' verdict on a proof, or why it refused to give one. */
async function groth16Verify(vkey: unknown, publicSignals: string[], proof: Groth16Proof): Promise<{ valid: boolean; error?: string }> {
  const snarkjs = await loadSnarkjs();
  try {
    // Verification is one pairing check: a single-threaded curve answers it faster than starting worker threads.
    return { valid: await withThreads('single', () => snarkjs.groth16.verify(vkey, publicSignals, proof)) };
  } catch (err) {
    return { valid: false, error: `snarkjs rejected the proof: ${(err as Error).message}` };
  }
}

async function verifyFolder(folder: string, manifest: Manifest, vkey: unknown, id?: string): Promise<ResultVerification> {
  const { proof, publicSignals } = readProofFiles(folder, manifest);
  const { valid, error } = await groth16Verify(vkey, publicSignals, proof);
  if (error) return { id, folder, valid: false, reason: error };
  if (!valid) return { id, folder, valid, reason: `the proof does not verify against this build's verification key${provenanceHint(folder, manifest)}` };
  // Hashed weights: the verifying key fits every model of this architecture; the model id signal says which.
  const modelId = manifest.publicSignals.findIndex((s) => s.kind === 'modelId');
  if (modelId >= 0 && publicSignals[modelId] !== manifest.commitments.modelId) {
    return { id, folder, valid: false, reason: `the proof is for model id ${publicSignals[modelId]}, not this build's ${manifest.commitments.modelId} (other weights of the same architecture)` };
  }
  // Public values outside their integer ranges, and an output.json that says anything the proof does not,
  // make the result invalid: what verify reports, and what people read next to the proof, is what it proves.
  try {
    return { id, folder, valid, outputs: await checkOutputFile(manifest, folder, publicSignals) };
  } catch (err) {
    if (!(err instanceof ZkmlError)) throw err;
    return { id, folder, valid: false, reason: err.message };
  }
}

/** Whether `folder`'s proof verifies against the build's verification key (nothing else is checked). */
export async function verifiesOffchain(dir: string, folder: string): Promise<boolean> {
  const manifest = readManifest(dir);
  const vkey = readVerificationKey(dir, manifest);
  const { proof, publicSignals } = readProofFiles(folder, manifest);
  return (await groth16Verify(vkey, publicSignals, proof)).valid;
}

/** What a valid proof of this build leaves open by the build's own choice, said with every verdict. */
function statementWarnings(manifest: Manifest): string[] {
  return manifest.visibility.params === 'private'
    ? ['this build\'s weights are private and unbound (--param-visibility private): a valid proof says "some weights of this architecture", not which']
    : [];
}

/** Checks that verification_key.json is the one this build's setup produced, then loads it. */
function readVerificationKey(dir: string, manifest: Manifest): unknown {
  if (!manifest.setup) throw new ZkmlError('manifest.json records no trusted setup: run `zkml setup` on this build first', 'E_NO_SETUP', dir);
  const path = buildPaths(dir).vkey;
  const bytes = readVerified(path, manifest.setup.vkeySha256, "verify with this build's own key (rerun zkml setup if the build was set up again)");
  return JSON.parse(bytes.toString('utf8'));
}

/**
 * Verifies `out`: a result folder (proof.json, public.json) or a batch output folder (one result folder per input,
 * plus errors.jsonl for inputs that failed). Malformed files throw for a single result and mark that result
 * invalid in a batch.
 */
export async function verify(dir: string, out: string, claims: Claims = {}): Promise<VerifyResult> {
  const manifest = readManifest(dir);
  const vkey = readVerificationKey(dir, manifest);
  const base = { insecureSetup: manifest.setup!.insecure, warnings: [...setupWarnings(manifest), ...statementWarnings(manifest)] };
  if (existsSync(join(out, RESULT_FILES.proof))) {
    const result = await verifyFolder(out, manifest, vkey);
    if (result.valid && (claims.input !== undefined || claims.output !== undefined)) {
      const publicSignals = JSON.parse(readFileSync(join(out, RESULT_FILES.public), 'utf8'));
      result.claims = await checkClaims(manifest, publicSignals, claims);
      if (result.claims.reasons.length) {
        result.valid = false;
        result.reason = result.claims.reasons.join('; ');
      }
    }
    return { valid: result.valid, kind: 'single', ...base, outputs: result.outputs, results: [result], failedInputs: [] };
  }
  if (claims.input !== undefined || claims.output !== undefined) throw new ZkmlError('claimed input/output files check a single result folder, not a batch', 'E_CLAIM', out);
  if (!existsSync(out)) throw new ZkmlError('no such folder: expected the output folder of zkml prove', 'E_PROOF_FORMAT', out);
  const ids = readdirSync(out, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const failedInputs = readBatchErrors(out);
  if (ids.length === 0 && failedInputs.length === 0) {
    throw new ZkmlError(`no ${RESULT_FILES.proof}, no result folders and no ${ERRORS_FILE}: expected the output folder of zkml prove`, 'E_PROOF_FORMAT', out);
  }
  const results: ResultVerification[] = [];
  for (const id of ids) {
    const folder = join(out, id);
    try {
      results.push(await verifyFolder(folder, manifest, vkey, id));
    } catch (err) {
      if (!(err instanceof ZkmlError)) throw err;
      results.push({ id, folder, valid: false, reason: err.message });
    }
  }
  return { valid: results.every((r) => r.valid) && failedInputs.length === 0, kind: 'batch', ...base, results, failedInputs };
}
