import type { FinalOp, Manifest, TensorSpec } from '../manifest.ts';
import { ZkmlError } from '../util/errors.ts';
import { dequantizeValue } from './input.ts';

/** The BN254 scalar field order: snarkjs writes negative integers as p - |x|. */
export const FIELD_P = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

export function fieldToSigned(value: string | bigint): bigint {
  const v = BigInt(value);
  if (v < 0n || v >= FIELD_P) throw new ZkmlError(`public signal ${value} is not a field element`, 'E_PUBLIC');
  return v > FIELD_P / 2n ? v - FIELD_P : v;
}

export interface DecodedTensor {
  name: string;
  shape: number[];
  ints: bigint[];
  floats: number[];
}

export interface DecodedOutputs {
  outputs: DecodedTensor[];
  /** Public model inputs (only when the input is public). */
  inputs: DecodedTensor[];
  /** Public Poseidon digests (hashed input/output, single-signal commitment), as field elements. */
  digests: Partial<Record<'inputDigest' | 'outputDigest' | 'commitment' | 'modelId', bigint>>;
}

function emptyTensor(spec: TensorSpec): DecodedTensor {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  return { name: spec.name, shape: spec.shape, ints: new Array(size).fill(0n), floats: new Array(size).fill(0) };
}

/** At most this many out-of-range values are named in one error. */
const MAX_NAMED = 3;

/**
 * The error for public tensor values outside the manifest's integer ranges. An honest prover never makes one:
 * zkml's prover refuses inputs outside the declared range, and the interval analysis gives every output the
 * bounds its gadgets keep it in for inputs in range. Such a value means a prover who built the witness by hand
 * went where the statement does not hold: without input range checks (--no-check-inputs) a public input can
 * be any field element, and values near ±p/2 wrap around the field, so the proven outputs are not the integer
 * model's outputs for the inputs as decoded.
 */
function outOfRange(bad: { kind: 'input' | 'output'; name: string; index: number; value: bigint; range: [string, string] }[], manifest: Manifest): ZkmlError {
  const named = bad.slice(0, MAX_NAMED).map((b) => `public ${b.kind} "${b.name}"[${b.index}] is ${b.value}, outside the build's integer range [${b.range[0]}, ${b.range[1]}]`);
  const more = bad.length > MAX_NAMED ? `; and ${bad.length - MAX_NAMED} more` : '';
  const why = bad.some((b) => b.kind === 'input')
    ? manifest.inputRangeChecked
      ? "zkml's prover never proves such an input; the statement covers inputs in the declared range only"
      : "this build does not range-check its inputs (--no-check-inputs), so a hand-made witness can put any field element there, and values that wrap around the field make the proven outputs other than the integer model's for the inputs shown"
    : 'no input in the declared range gives such an output: the proof was made from a witness outside the statement (an input outside the range), or the manifest is not the one of this circuit';
  return new ZkmlError(`${named.join('; ')}${more}: ${why}`, 'E_PUBLIC_RANGE');
}

/**
 * Reads public.json per the manifest's public-signal layout into integer and dequantized tensors. Public
 * inputs and outputs must lie within their manifest intRange: anything else is refused (E_PUBLIC_RANGE, see
 * outOfRange), never decoded into a report.
 */
export function decodePublicSignals(manifest: Manifest, publicSignals: string[]): DecodedOutputs {
  if (!Array.isArray(publicSignals) || publicSignals.length !== manifest.publicSignals.length) {
    throw new ZkmlError(`expected ${manifest.publicSignals.length} public signals, got ${Array.isArray(publicSignals) ? publicSignals.length : typeof publicSignals}`, 'E_PUBLIC');
  }
  const tensors = new Map<string, { spec: TensorSpec; t: DecodedTensor }>();
  for (const spec of [...manifest.outputs, ...manifest.inputs]) tensors.set(spec.name, { spec, t: emptyTensor(spec) });
  const digests: DecodedOutputs['digests'] = {};
  const bad: Parameters<typeof outOfRange>[0] = [];
  manifest.publicSignals.forEach((sig, i) => {
    if (sig.kind === 'inputDigest' || sig.kind === 'outputDigest' || sig.kind === 'commitment' || sig.kind === 'modelId') {
      const v = BigInt(publicSignals[i]);
      if (v < 0n || v >= FIELD_P) throw new ZkmlError(`public signal ${publicSignals[i]} is not a field element`, 'E_PUBLIC');
      digests[sig.kind] = v;
      return;
    }
    const entry = tensors.get(sig.tensor);
    if (!entry) throw new ZkmlError(`manifest names unknown tensor ${sig.tensor}`, 'E_BAD_MANIFEST');
    const v = fieldToSigned(publicSignals[i]);
    const range = entry.spec.intRange;
    if (v < BigInt(range[0]) || v > BigInt(range[1])) bad.push({ kind: sig.kind, name: sig.tensor, index: sig.index, value: v, range });
    entry.t.ints[sig.index] = v;
    entry.t.floats[sig.index] = dequantizeValue(v, entry.spec.encoding);
  });
  if (bad.length) throw outOfRange(bad, manifest);
  const pick = (specs: TensorSpec[], kind: 'output' | 'input') =>
    specs.filter((s) => manifest.publicSignals.some((p) => p.kind === kind && p.tensor === s.name)).map((s) => tensors.get(s.name)!.t);
  return { outputs: pick(manifest.outputs, 'output'), inputs: pick(manifest.inputs, 'input'), digests };
}

/** Softmax of a flat logit vector (the final-op policy: the circuit proves logits; softmax is derived). */
export function softmax(logits: number[]): number[] {
  const m = Math.max(...logits);
  const e = logits.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/**
 * Softmax (or LogSoftmax) over `axis` of a row-major tensor, or Sigmoid of each value: the final activation
 * applied to proven logits.
 */
export function softmaxAlong(values: number[], shape: number[], axis: number, op: FinalOp = 'Softmax'): number[] {
  if (op === 'Sigmoid') return values.map((v) => 1 / (1 + Math.exp(-v)));
  const a = axis < 0 ? axis + shape.length : axis;
  const n = shape[a];
  const inner = shape.slice(a + 1).reduce((x, y) => x * y, 1);
  const out = new Array<number>(values.length);
  for (let o = 0; o < values.length / (n * inner); o++) {
    for (let i = 0; i < inner; i++) {
      const at = (k: number) => (o * n + k) * inner + i;
      softmax(Array.from({ length: n }, (_, k) => values[at(k)])).forEach((p, k) => (out[at(k)] = op === 'Softmax' ? p : Math.log(p)));
    }
  }
  return out;
}

export function argmax(values: number[] | bigint[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
