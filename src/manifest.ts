import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ZkmlError } from './util/errors.ts';
import { writeJsonAtomic } from './util/atomic.ts';

/**
 * manifest.json: everything a later step (or another machine) needs about one build. Every command after
 * `compile` reads it and never re-derives it from the model.
 */
export const MANIFEST_FORMAT = 1;

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
  ptau: { path: string; power: number; sha256: string; insecure: boolean; source: 'ceremony' | 'dev' };
  zkeySha256: string;
  vkeySha256: string;
  contributions: { name: string; kind: 'contribution' | 'beacon' }[];
  /** True when the ptau or the phase-2 randomness is known: proofs can be forged by whoever knows it. */
  insecure: boolean;
  createdAt: string;
}

export interface Manifest {
  format: number;
  zkmlVersion: string;
  tools: Record<string, string>;
  createdAt: string;
  model: { path: string; sha256: string; opset: number; producer?: string };
  /** Output of the final op the circuit proves, and what the CLI derives from it (softmax/argmax policy). */
  finalActivation?: { op: 'Softmax' | 'LogSoftmax'; axis: number };
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  publicSignals: PublicSignal[];
  inputRangeChecked: boolean;
  /** Canonical model id (a field element, decimal): a hash of the quantized circuit, independent of visibility. */
  modelId: string;
  /** Packing and hashing of hashed inputs/outputs, so a verifier can recompute the public digests. */
  commitments: import('./compiler/visibility.ts').Commitments;
  visibility: import('./compiler/visibility.ts').VisibilityOptions;
  constraints: number;
  layers: LayerCost[];
  quantization: { scale: number; inputScale: number; weightBits: number; inputRange: [number, number]; checkInputs: boolean };
  circuit: {
    circom: string;
    r1cs: string;
    wasm: string;
    sym: string;
    r1csSha256: string;
    wasmSha256: string;
    /** params.json (private parameter signals' values, the prover's secret): with --param-visibility hashed|private. */
    paramsSha256?: string;
  };
  setup?: SetupInfo;
  deployments?: Record<string, { chainId: string; verifier: string; registry?: string; rpcUrl?: string; deployedAt: string }>;
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
    throw new ZkmlError(`manifest format ${value?.format} is not the supported format ${MANIFEST_FORMAT}`, 'E_BAD_MANIFEST', path);
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
    zkey: join(dir, 'circuit.zkey'),
    vkey: join(dir, 'verification_key.json'),
    verifierSol: join(dir, 'Verifier.sol'),
    verifierArtifact: join(dir, 'Verifier.json'),
  };
}
