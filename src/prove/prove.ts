/**
 * `zkml prove` for one input, in-process: encode → witness → Groth16 proof → proof.json, public.json and
 * output.json in the output folder. Also the pieces batch.ts and verify.ts share: opening a build for proving,
 * describing outputs, and writing a result.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Groth16Proof } from 'snarkjs';
import type { ProverBackend } from './backend.ts';
import { buildPaths, readManifest, type Manifest } from '../manifest.ts';
import { dequantizeValue, encodeInputs, readInputFile, witnessInput } from '../io/input.ts';
import { committedOutputs, outputsHashed } from './committed.ts';
import { argmax, decodePublicSignals, softmaxAlong, type DecodedTensor } from '../io/output.ts';
import { writeJsonAtomic } from '../util/atomic.ts';
import { ZkmlError } from '../util/errors.ts';
import { sha256Hex } from '../util/hash.ts';
import { insecureWarning } from '../setup/setup.ts';
import { chooseThreads, proveInput, type BuildRef, type ThreadMode } from '../../prover/worker.ts';

export const RESULT_FILES = { proof: 'proof.json', public: 'public.json', output: 'output.json' } as const;

export interface ProvingBuild {
  manifest: Manifest;
  ref: BuildRef & { constraints: number };
  insecureSetup: boolean;
  /** Things the user must hear about, loudly (an insecure setup). */
  warnings: string[];
}

/** Reads the manifest and checks that setup has run; the artifacts' hashes are checked when they are loaded. */
export function openBuildForProving(dir: string): ProvingBuild {
  const manifest = readManifest(dir);
  const { zkey } = buildPaths(dir);
  if (!manifest.setup) throw new ZkmlError('manifest.json records no trusted setup: run `zkml setup` on this build first', 'E_NO_SETUP', dir);
  if (!existsSync(zkey)) throw new ZkmlError('circuit.zkey is missing: run `zkml setup` on this build first', 'E_NO_SETUP', dir);
  return {
    manifest,
    ref: {
      dir,
      witness: witnessRef(manifest),
      zkeySha256: manifest.setup.zkeySha256,
      constraints: manifest.constraints,
      ...(manifest.circuit.paramsSha256 ? { paramsSha256: manifest.circuit.paramsSha256 } : {}),
    },
    insecureSetup: manifest.setup.insecure,
    warnings: setupWarnings(manifest),
  };
}

/** Where a build's witnesses come from: its program file (zkml's back end) or circom's wasm. */
export function witnessRef(manifest: Manifest): BuildRef['witness'] {
  const c = manifest.circuit;
  if (c.backend === 'zkml' && c.programSha256) return { kind: 'program', sha256: c.programSha256 };
  if (c.backend === 'circom' && c.wasmSha256) return { kind: 'wasm', sha256: c.wasmSha256 };
  throw new ZkmlError(`manifest.json names no witness source for its ${c.backend} circuit: recompile with zkml compile`, 'E_BAD_MANIFEST');
}

export function setupWarnings(manifest: Manifest): string[] {
  const warning = manifest.setup && insecureWarning(manifest.setup);
  return warning ? [warning] : [];
}

/** One tensor as users read it: exact integers (decimal strings) and their dequantized values. */
export interface TensorReport {
  name: string;
  shape: number[];
  ints: string[];
  floats: number[];
  /** Softmax of the proven logits along the final activation's axis (models ending in Softmax/LogSoftmax). */
  probabilities?: number[];
  /** Index of the largest value, for a model whose one output is a vector. */
  argmax?: number;
}

/** What a proof's public signals say, decoded per the manifest. */
export interface OutputReport {
  /** Output tensors that are public signals (empty when the output is hashed: see `digests`). */
  outputs: TensorReport[];
  /** Model inputs that are public signals (empty when the input is private or hashed). */
  publicInputs: TensorReport[];
  /** Poseidon digests among the public signals (hashed input/output, single-signal commitment), decimal. */
  digests: { inputDigest?: string; outputDigest?: string; commitment?: string };
}

/** What a result was proven from, so a rerun can tell a current result from a stale one. */
export interface Provenance {
  modelSha256: string;
  zkeySha256: string;
  /** sha256 of the circuit inputs (the encoded integers), whatever the input file's formatting. */
  inputSha256: string;
}

/** output.json. */
export interface OutputFile extends OutputReport {
  insecureSetup: boolean;
  provenance: Provenance;
  /**
   * Single-signal builds: the two digests inside the public commitment Poseidon(model id, input digest, output
   * digest), so that `zkml verify` can check the outputs reported here against it without the input.
   */
  opening?: { inputDigest: string; outputDigest: string };
}

const isVector = (shape: number[]) => shape.filter((d) => d !== 1).length <= 1;


/**
 * Decodes public signals into tensors. The circuit proves logits; for a model ending in Softmax/LogSoftmax the
 * probabilities are derived here. The manifest names no output for the final activation, so it is applied only
 * when the model has exactly one output.
 */
export function describeOutputs(manifest: Manifest, publicSignals: string[], committed?: Map<string, bigint[]>): OutputReport {
  const decoded = decodePublicSignals(manifest, publicSignals);
  // Hashed outputs are not in the public signals: the prover reports the values it committed to.
  for (const spec of manifest.outputs) {
    const ints = committed?.get(spec.name);
    if (!ints || decoded.outputs.some((t) => t.name === spec.name)) continue;
    decoded.outputs.push({ name: spec.name, shape: spec.shape, ints, floats: ints.map((v) => dequantizeValue(v, spec.encoding)) });
  }
  const single = decoded.outputs.length === 1;
  // Builds before the manifest named the final op's output had one output only.
  const final = manifest.finalActivation;
  const derivedFrom = (t: DecodedTensor) => !!final && (final.output === undefined ? single : final.output === t.name);
  const tensor = (t: DecodedTensor): TensorReport => ({ name: t.name, shape: t.shape, ints: t.ints.map(String), floats: t.floats });
  const outputs = decoded.outputs.map((t) => {
    const report = tensor(t);
    if (derivedFrom(t)) report.probabilities = softmaxAlong(t.floats, t.shape, final!.axis, final!.op);
    if (single && isVector(t.shape)) report.argmax = argmax(t.ints);
    return report;
  });
  const digests = Object.fromEntries(Object.entries(decoded.digests).map(([k, v]) => [k, v.toString()]));
  return { outputs, publicInputs: decoded.inputs.map(tensor), digests };
}

export function provenance(build: ProvingBuild, encodedInput: Record<string, string[]>): Provenance {
  return { modelSha256: build.manifest.model.sha256, zkeySha256: build.ref.zkeySha256, inputSha256: sha256Hex(JSON.stringify(encodedInput)) };
}

/**
 * output.json for a proof: its decoded public signals, the output values behind a digest (hashed outputs,
 * with the commitment's opening for a single signal) and the provenance. The one writer of that report for
 * local, batch and fleet results.
 */
export async function resultReport(build: ProvingBuild, encoded: Record<string, string[]>, publicSignals: string[], reported?: Record<string, string[]>): Promise<OutputFile> {
  const { manifest } = build;
  const committed = outputsHashed(manifest) ? await committedOutputs(build, encoded, publicSignals, reported) : undefined;
  const opening = committed && manifest.visibility.singleSignal ? { inputDigest: String(committed.digests.inputDigest), outputDigest: String(committed.digests.outputDigest) } : undefined;
  return {
    ...describeOutputs(manifest, publicSignals, committed?.outputs),
    ...(opening ? { opening } : {}),
    insecureSetup: build.insecureSetup,
    provenance: provenance(build, encoded),
  };
}

/** Writes the three result files into `folder`, each atomically. */
export function writeResult(folder: string, proof: Groth16Proof, publicSignals: string[], output: OutputFile): void {
  writeJsonAtomic(join(folder, RESULT_FILES.proof), proof);
  writeJsonAtomic(join(folder, RESULT_FILES.public), publicSignals);
  writeJsonAtomic(join(folder, RESULT_FILES.output), output);
}

/** An input given as a file rather than as the JSON value itself. */
export interface InputFile {
  file: string;
}

function isInputFile(input: unknown): input is InputFile {
  return typeof input === 'object' && input !== null && !Array.isArray(input) && Object.keys(input).length === 1 && typeof (input as InputFile).file === 'string';
}

export interface ProveOptions {
  /** Output folder for proof.json, public.json and output.json (created if needed). */
  out: string;
  /** The input values are the circuit's integers already. */
  raw?: boolean;
  /** Groth16 prover: 'native' (default when the addon is built) or 'snarkjs'. */
  prover?: ProverBackend;
}

export interface ProveResult {
  out: string;
  proof: Groth16Proof;
  publicSignals: string[];
  outputs: OutputReport;
  insecureSetup: boolean;
  /** Things the user must hear about (printed loudly by the CLI). */
  warnings: string[];
  threads: ThreadMode;
  timings: { witnessMs: number; proveMs: number };
}

/**
 * Proves one input: `input` is the JSON value (any form `encodeInputs` reads) or `{file}`. snarkjs may keep a
 * multi-threaded curve alive afterwards: call `releaseCurve()` (src/util/snark.ts) before the process should exit.
 */
export async function prove(dir: string, input: InputFile | unknown, opts: ProveOptions): Promise<ProveResult> {
  const build = openBuildForProving(dir);
  const { manifest } = build;
  const source = isInputFile(input) ? input.file : 'input';
  const value = isInputFile(input) ? readInputFile(input.file) : input;
  const encoded = witnessInput(manifest, encodeInputs(manifest, value, { raw: opts.raw, source }));
  const result = await proveInput({ build: build.ref, input: encoded, threads: chooseThreads(1, manifest.constraints), prover: opts.prover });
  const report = await resultReport(build, encoded, result.publicSignals, result.reports);
  writeResult(opts.out, result.proof, result.publicSignals, report);
  const { outputs, publicInputs, digests } = report;
  return {
    out: opts.out,
    proof: result.proof,
    publicSignals: result.publicSignals,
    outputs: { outputs, publicInputs, digests },
    insecureSetup: build.insecureSetup,
    warnings: build.warnings,
    threads: result.threads,
    timings: { witnessMs: result.witnessMs, proveMs: result.proveMs },
  };
}
