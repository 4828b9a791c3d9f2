import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ZkmlError } from './util/errors.ts';
import { writeJsonAtomic } from './util/atomic.ts';

/**
 * A final transform the circuit does not prove: it proves the transform's input (logits, margins) and the CLI
 * derives the rest (Softmax/LogSoftmax along an axis; Sigmoid elementwise, for classifiers' LOGISTIC scores).
 */
export type FinalOp = 'Softmax' | 'LogSoftmax' | 'Sigmoid';

// What a build's visibility options and commitments are (compiler/visibility.ts applies them, commit/ computes them).

/**
 * How weights enter the circuit: `fixed` constants (the default: the verifying key itself commits to the
 * model, and linear layers cost nothing), or private signals, `hashed` (a Poseidon digest of them is the
 * public model id, proven in the circuit) or `private` (unbound: the proof says "some weights").
 */
export type ParamVisibility = 'fixed' | 'hashed' | 'private';

export type InputVisibility = 'public' | 'private' | 'hashed';
export type OutputVisibility = 'public' | 'hashed';

export interface VisibilityOptions {
  input: InputVisibility;
  output: OutputVisibility;
  /**
   * One public signal: Poseidon(model id, input digest, output digest). Implies hashed input and output. With
   * hashed weights the proven model id stays a public signal before it (two signals).
   */
  singleSignal: boolean;
  /** How weights enter the circuit (QuantOptions.paramVisibility); absent in older manifests: fixed. */
  params?: ParamVisibility;
}

/** What the public signals commit to, recorded in the manifest so a verifier can recompute them. */
export interface Commitments {
  /**
   * Field element identifying the quantized model: with fixed weights a hash of the quantized circuit (see
   * modelIdFromDigest); with hashed weights the Poseidon digest of their packed integers, proven in the circuit.
   */
  modelId: string;
  /** Packing of the parameter tensors (hashed weights). */
  params?: TensorPacking[];
  input?: TensorPacking[];
  output?: TensorPacking[];
  single: boolean;
}

/** How a tensor's values are packed into field elements before hashing (commit/pack.ts). */
export interface PackLayout {
  lo: string;
  width: number;
  perElement: number;
  count: number;
  fieldElements: number;
}

/** How one tensor is packed into a commitment (recorded in the manifest). */
export interface TensorPacking {
  tensor: string;
  layout: PackLayout;
}

/**
 * manifest.json: everything a later step (or another machine) needs about one build. Every command after
 * `compile` reads it and never re-derives it from the model.
 */

/** 2: the circuit section names its back end (zkml's own r1cs and program, or circom's r1cs and wasm). */
export const MANIFEST_FORMAT = 2;

/** How a tensor's integers map to real numbers: real = (int - zeroPoint) * scale. */
export interface Encoding {
  /** Power-of-two fixed point: scale = 2^-scaleExp (float models). Absent for QDQ/QLinear int8 models. */
  scaleExp?: number;
  scale: number;
  zeroPoint: number;
}

export interface TensorSpec {
  /** The ONNX name of the tensor. */
  name: string;
  /** The circuit's signal array holding it, flattened row-major (e.g. `in0`, `out0`). */
  signal: string;
  shape: number[];
  encoding: Encoding;
  /** Integer bounds of every element (min and max over the tensor), as decimal strings. */
  intRange: [string, string];
  /** Float range the input was quantized for (inputs only). */
  floatRange?: [number, number];
  visibility: 'public' | 'private' | 'hashed';
}

/** One public signal, in the order snarkjs puts them in public.json (circuit outputs first, then public inputs). */
export interface PublicSignal {
  /** A tensor element, or a Poseidon digest (see `commitments`). */
  kind: 'output' | 'input' | 'outputDigest' | 'inputDigest' | 'commitment' | 'modelId';
  tensor: string;
  /** Flat (row-major) index into the tensor. */
  index: number;
}

export interface LayerCost {
  node: string;
  op: string;
  outputShape: number[];
  constraints: number;
  /** Human note: e.g. "requant shift 8, q 14 bits, relu". */
  detail?: string;
}

export interface SetupInfo {
  /**
   * The ptau: for method 'dev-known-secret' the development ptau the zkey corresponds to, which is never read
   * (path is where it would be cached, sha256 is absent).
   */
  ptau: { path: string; power: number; sha256?: string; insecure: boolean; source: 'ceremony' | 'dev' };
  /**
   * How the zkey was made: snarkjs' generic phase 2 over the ptau file, or written from the development secrets
   * (src/setup/dev-zkey.ts; INSECURE, for development only). Absent in manifests of before 'dev-known-secret'.
   */
  method?: 'snarkjs' | 'dev-known-secret';
  /** 'dev-known-secret': the public seed of δ (τ, α, β are the development ptau's, from its own public seed). */
  seed?: string;
  zkeySha256: string;
  vkeySha256: string;
  contributions: { name: string; kind: 'contribution' | 'beacon' }[];
  /** True when the ptau or the phase-2 randomness is known: proofs can be forged by whoever knows it. */
  insecure: boolean;
  createdAt: string;
}

/** A verifier (and registry) deployed for this build, under manifest.deployments[network]. */
export interface Deployment {
  chainId: string;
  verifier: string;
  registry?: string;
  rpcUrl?: string;
  deployedAt: string;
  /** The verification key the verifier checks (setup.vkeySha256 when it was deployed). */
  vkeySha256?: string;
}

export interface Manifest {
  format: number;
  zkmlVersion: string;
  tools: Record<string, string>;
  createdAt: string;
  model: { path: string; sha256: string; opset: number; producer?: string };
  /** Output of the final op the circuit proves, and what the CLI derives from it (softmax/argmax policy). */
  finalActivation?: { op: FinalOp; axis: number; output?: string };
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  publicSignals: PublicSignal[];
  inputRangeChecked: boolean;
  /** Canonical model id (a field element, decimal): a hash of the quantized circuit, independent of visibility. */
  modelId: string;
  /** Packing and hashing of hashed inputs/outputs, so a verifier can recompute the public digests. */
  commitments: Commitments;
  visibility: VisibilityOptions;
  constraints: number;
  layers: LayerCost[];
  quantization: { scale: number; inputScale: number; weightBits: number; inputRange: [number, number]; checkInputs: boolean };
  circuit: CircuitArtifacts;
  setup?: SetupInfo;
  deployments?: Record<string, Deployment>;
  /**
   * Deployments of an earlier setup: a new setup (or phase-2 step) makes a new verification key, which those
   * verifiers refuse, so it moves them here, where `verify --onchain` finds them to say so.
   */
  retiredDeployments?: Record<string, Deployment & { retiredAt: string }>;
}

/**
 * The circuit's files. circuit.circom is always written; the r1cs and the witness come from zkml's own back end
 * (circuit.r1cs + circuit.program, from which zkml computes witnesses) or, with `compile --circom`, from circom
 * (circuit.r1cs + circuit_js/circuit.wasm, circom's witness calculator).
 */
export interface CircuitArtifacts {
  backend: 'zkml' | 'circom';
  /** zkml back end: how linear constraints were folded (src/circuit/eliminate.ts). */
  elimination?: 'cost' | 'circom';
  circom: string;
  r1cs: string;
  sym: string;
  r1csSha256: string;
  program?: string;
  programSha256?: string;
  wasm?: string;
  wasmSha256?: string;
  /** params.json (private parameter signals' values, the prover's secret): with --param-visibility hashed|private. */
  paramsSha256?: string;
}

export const MANIFEST_FILE = 'manifest.json';

export function readManifest(dir: string): Manifest {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) throw new ZkmlError(`no ${MANIFEST_FILE} here: is this a folder written by 'zkml compile'?`, 'E_NO_MANIFEST', dir);
  let value: Manifest;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ZkmlError(`not valid JSON (${(err as Error).message})`, 'E_BAD_MANIFEST', path);
  }
  if (value?.format !== MANIFEST_FORMAT) {
    throw new ZkmlError(`manifest format ${value?.format} is not the supported format ${MANIFEST_FORMAT}: recompile the model with this zkml`, 'E_BAD_MANIFEST', path);
  }
  return value;
}

export function writeManifest(dir: string, manifest: Manifest): void {
  writeJsonAtomic(join(dir, MANIFEST_FILE), manifest);
}

/** Paths of a build's artifacts, in one place so no command spells them differently. */
export function buildPaths(dir: string) {
  return {
    manifest: join(dir, MANIFEST_FILE),
    circom: join(dir, 'circuit.circom'),
    r1cs: join(dir, 'circuit.r1cs'),
    wasm: join(dir, 'circuit_js', 'circuit.wasm'),
    sym: join(dir, 'circuit.sym'),
    program: join(dir, 'circuit.program'),
    params: join(dir, 'params.json'),
    zkey: join(dir, 'circuit.zkey'),
    vkey: join(dir, 'verification_key.json'),
    verifierSol: join(dir, 'Verifier.sol'),
    verifierArtifact: join(dir, 'Verifier.json'),
  };
}
