import { readFileSync } from 'node:fs';
import type { Manifest, TensorSpec } from '../manifest.ts';
import { ZkmlError } from '../util/errors.ts';

/** A model input given by the user: nested arrays of numbers, shaped like the ONNX tensor. */
export type NestedNumbers = number | NestedNumbers[];

export interface InputOptions {
  /** The values are the circuit's integers already (no quantization). */
  raw?: boolean;
  /** For error messages. */
  source?: string;
}

/**
 * Reads the forms users already have:
 * - EZKL's `{"input_data": [[...], ...]}`: one flat or nested array per model input, in model order;
 * - name-keyed `{"<input name>": nested array, ...}`;
 * - a bare array, when the model has one input.
 * Returns one entry per manifest input, in manifest order.
 */
export function parseInputJson(value: unknown, inputs: TensorSpec[], source = 'input'): unknown[] {
  if (Array.isArray(value)) {
    if (inputs.length !== 1) throw new ZkmlError(`a bare array only fits a model with one input; this one has ${inputs.length} (${inputs.map((i) => i.name).join(', ')})`, 'E_INPUT', source);
    return [value];
  }
  if (value === null || typeof value !== 'object') throw new ZkmlError('expected a JSON object or array', 'E_INPUT', source);
  const obj = value as Record<string, unknown>;
  if (Object.hasOwn(obj, 'input_data')) {
    const data = obj.input_data;
    if (!Array.isArray(data)) throw new ZkmlError('"input_data" must be an array with one array per model input', 'E_INPUT', source);
    if (data.length !== inputs.length) throw new ZkmlError(`"input_data" has ${data.length} arrays; the model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')})`, 'E_INPUT', source);
    return data;
  }
  return inputs.map((spec) => {
    // Own keys only: an input named like an Object.prototype member ("toString") must not find the prototype's.
    if (!Object.hasOwn(obj, spec.name)) throw new ZkmlError(`no value for model input "${spec.name}" (keys present: ${Object.keys(obj).join(', ') || 'none'})`, 'E_INPUT', source);
    return obj[spec.name];
  });
}

/** Far beyond any tensor's rank: deeper nesting is a malformed (or cyclic) input, not a tensor. */
const MAX_NESTING = 64;

/** Flattens nested arrays row-major and checks element count against the tensor's shape. */
export function flattenTensor(value: unknown, spec: { name: string; shape: number[] }, source: string): unknown[] {
  // Iterative, depth-bounded: the nesting is the input file's to choose, and recursion would overflow the call
  // stack on a deeply nested array (and never end on a cyclic one passed through the library).
  const out: unknown[] = [];
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (!Array.isArray(v)) {
      out.push(v);
      continue;
    }
    if (depth >= MAX_NESTING) throw new ZkmlError(`input "${spec.name}" has arrays nested more than ${MAX_NESTING} deep; the tensor has rank ${spec.shape.length}`, 'E_INPUT_SHAPE', source);
    for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], depth + 1]);
  }
  const expected = spec.shape.reduce((a, b) => a * b, 1);
  if (out.length !== expected) {
    throw new ZkmlError(`input "${spec.name}" has ${out.length} values; expected ${expected} (shape [${spec.shape.join(', ')}])`, 'E_INPUT_SHAPE', source);
  }
  return out;
}

function toNumber(v: unknown, spec: TensorSpec, index: number, source: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (typeof v !== 'number' && typeof v !== 'string') throw new ZkmlError(`input "${spec.name}"[${index}] is ${JSON.stringify(v)}, not a number`, 'E_INPUT_VALUE', source);
  if (!Number.isFinite(n)) throw new ZkmlError(`input "${spec.name}"[${index}] is ${typeof v === 'number' ? v : JSON.stringify(v)}: NaN and infinities cannot be proven`, 'E_INPUT_VALUE', source);
  return n;
}

/** Float → the circuit's integer for one element: round half to even of x/scale, plus the zero point. */
export function quantizeValue(x: number, spec: TensorSpec): bigint {
  const { scale, zeroPoint } = spec.encoding;
  const scaled = x / scale;
  const floor = Math.floor(scaled);
  const diff = scaled - floor;
  const rounded = diff > 0.5 || (diff === 0.5 && floor % 2 !== 0) ? floor + 1 : floor;
  return BigInt(rounded) + BigInt(zeroPoint);
}

export function dequantizeValue(q: bigint, enc: { scale: number; zeroPoint: number }): number {
  return Number(q - BigInt(enc.zeroPoint)) * enc.scale;
}

/**
 * Turns one user input into the circuit's integers, per input tensor. Values outside the tensor's integer range
 * (from the input range given at compile time) are refused: the interval analysis, and so the soundness of
 * every range check downstream, assumes them.
 */
export function encodeInputs(manifest: Manifest, value: unknown, opts: InputOptions = {}): Map<string, bigint[]> {
  const source = opts.source ?? 'input';
  const perInput = parseInputJson(value, manifest.inputs, source);
  const result = new Map<string, bigint[]>();
  manifest.inputs.forEach((spec, k) => {
    const flat = flattenTensor(perInput[k], spec, source);
    const lo = BigInt(spec.intRange[0]);
    const hi = BigInt(spec.intRange[1]);
    const ints = flat.map((v, i) => {
      const n = toNumber(v, spec, i, source);
      if (opts.raw && !Number.isInteger(n)) throw new ZkmlError(`input "${spec.name}"[${i}] is ${n}; --raw takes integers`, 'E_INPUT_VALUE', source);
      const range = () => (spec.floatRange ? ` (float range [${spec.floatRange.join(', ')}] set at compile time with --input-range)` : '');
      // n / scale can overflow a double (1e308 at scale 2^-8): that value is outside any range, like the others.
      if (!opts.raw && !Number.isFinite(n / spec.encoding.scale)) {
        throw new ZkmlError(`input "${spec.name}"[${i}] = ${n} is far outside [${lo}, ${hi}] (it overflows when quantized)${range()}`, 'E_INPUT_RANGE', source);
      }
      const q = opts.raw ? BigInt(n) : quantizeValue(n, spec);
      if (q < lo || q > hi) {
        throw new ZkmlError(`input "${spec.name}"[${i}] = ${n} quantizes to ${q}, outside [${lo}, ${hi}]${range()}`, 'E_INPUT_RANGE', source);
      }
      return q;
    });
    result.set(spec.name, ints);
  });
  return result;
}

/** The object snarkjs' witness calculator takes: signal name → decimal strings (negative values as is). */
export function witnessInput(manifest: Manifest, encoded: Map<string, bigint[]>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const spec of manifest.inputs) out[spec.signal] = encoded.get(spec.name)!.map((v) => v.toString());
  return out;
}

export function readInputFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ZkmlError(`cannot read input file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'E_INPUT_FILE', path);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ZkmlError(`not valid JSON (${(err as Error).message})`, 'E_INPUT_FILE', path);
  }
}
