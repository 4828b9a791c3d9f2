/**
 * Reading model inputs from users (input files, JSON lines, library values) into the circuit's integers: one
 * strict reader for every command, so a file that `zkml run` refuses is refused by prove, verify, calibrate and
 * quantize alike, with the same message naming the file, the tensor and what was expected.
 */
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

/** Keys of EZKL's input file (its GraphData): zkml reads `input_data`; the other two are EZKL's own and ignored. */
const EZKL_KEYS = ['input_data', 'output_data', 'input_shapes'];

const names = (inputs: { name: string }[]) => inputs.map((i) => JSON.stringify(i.name)).join(', ');

/**
 * Reads the forms users already have, and nothing looser (a key zkml does not read is refused, not skipped: it
 * is a misspelt input name, or a file meant for another model):
 * - EZKL's `{"input_data": [[...], ...]}`: one array per model input, in model order; EZKL's optional
 *   `output_data` (expected outputs) and `input_shapes` (checked against the model's element counts) may be there;
 * - name-keyed `{"<input name>": array, ...}`, one key per model input;
 * - a bare array, when the model has one input.
 * Returns one entry per input, in the given order.
 */
export function parseInputJson(value: unknown, inputs: { name: string; shape: number[] }[], source = 'input'): unknown[] {
  if (Array.isArray(value)) {
    if (inputs.length !== 1) throw new ZkmlError(`a bare array only fits a model with one input; this one has ${inputs.length} (${names(inputs)})`, 'E_INPUT', source);
    return [value];
  }
  if (value === null || typeof value !== 'object') throw new ZkmlError(`expected a JSON object or array, got ${value === null ? 'null' : typeof value}`, 'E_INPUT', source);
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (Object.hasOwn(obj, 'input_data')) {
    const unknown = keys.filter((k) => !EZKL_KEYS.includes(k));
    if (unknown.length > 0) {
      throw new ZkmlError(`unknown key(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')} beside "input_data" (an EZKL input file has "input_data", and optionally "output_data" and "input_shapes")`, 'E_INPUT', source);
    }
    const data = obj.input_data;
    if (!Array.isArray(data)) throw new ZkmlError('"input_data" must be an array with one array per model input', 'E_INPUT', source);
    if (data.length !== inputs.length) throw new ZkmlError(`"input_data" has ${data.length} arrays; the model has ${inputs.length} inputs (${names(inputs)})`, 'E_INPUT', source);
    if (obj.input_shapes !== undefined) checkEzklShapes(obj.input_shapes, inputs, source);
    return data;
  }
  const unknown = keys.filter((k) => !inputs.some((i) => i.name === k));
  if (unknown.length > 0) {
    throw new ZkmlError(
      `unknown key(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}: the model's inputs are ${names(inputs)} (or give EZKL's {"input_data": [...]})`,
      'E_INPUT',
      source,
    );
  }
  return inputs.map((spec) => {
    // Own keys only: an input named like an Object.prototype member ("toString") must not find the prototype's.
    if (!Object.hasOwn(obj, spec.name)) throw new ZkmlError(`no value for model input "${spec.name}" (keys present: ${keys.map((k) => JSON.stringify(k)).join(', ') || 'none'})`, 'E_INPUT', source);
    return obj[spec.name];
  });
}

/** EZKL's `input_shapes`, when given, must describe the model's inputs: one shape each, of the same size. */
function checkEzklShapes(shapes: unknown, inputs: { name: string; shape: number[] }[], source: string): void {
  const valid = Array.isArray(shapes) && shapes.length === inputs.length && shapes.every((s) => Array.isArray(s) && s.every((d) => Number.isInteger(d) && d >= 0));
  if (!valid) throw new ZkmlError(`"input_shapes" must be one array of dimensions per model input (${inputs.length}), got ${JSON.stringify(shapes)}`, 'E_INPUT', source);
  (shapes as number[][]).forEach((s, k) => {
    const size = s.reduce((a, b) => a * b, 1);
    const expected = sizeOf(inputs[k].shape);
    if (size !== expected) {
      throw new ZkmlError(`"input_shapes" gives input "${inputs[k].name}" shape [${s.join(', ')}] (${size} values); the model's is [${inputs[k].shape.join(', ')}] (${expected})`, 'E_INPUT_SHAPE', source);
    }
  });
}

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Where a nested element sits, as indices: `[0][1]`. */
const at = (path: number[]) => path.map((i) => `[${i}]`).join('');

/**
 * One input's values in row-major order. The value must be flat (one array of all the tensor's values), nested
 * exactly as the tensor's shape (every array as long as its dimension, numbers at the innermost level), or a
 * bare number for a tensor of rank 0. Anything else (ragged rows, an extra or missing level) is refused: the
 * values of a misshapen array have no defined place in the tensor.
 */
export function flattenTensor(value: unknown, spec: { name: string; shape: number[] }, source: string): unknown[] {
  const { shape } = spec;
  const size = sizeOf(shape);
  const wanted = `${size} value(s) flat, or nested as [${shape.join(', ')}]`;
  if (!Array.isArray(value)) {
    if (shape.length === 0) return [value];
    throw new ZkmlError(`input "${spec.name}" is ${describe(value)}; expected an array: ${wanted}`, 'E_INPUT_SHAPE', source);
  }
  // Flat: every element a leaf (a non-array), as many as the tensor has values.
  if (!value.some(Array.isArray)) {
    if (value.length === size) return value;
    if (shape.length <= 1 || value.length !== shape[0]) throw new ZkmlError(`input "${spec.name}" has ${value.length} values; expected ${wanted}`, 'E_INPUT_SHAPE', source);
  }
  // The wrong number of values is the error to report first, whatever the nesting.
  const count = countLeaves(value, spec.name, source);
  if (count !== size) throw new ZkmlError(`input "${spec.name}" has ${count} values; expected ${wanted}`, 'E_INPUT_SHAPE', source);
  // Nested: level d must be an array of shape[d] elements; the level below the last dimension holds leaves.
  // The walk goes no deeper than the tensor's rank, however deep the file nests.
  const out: unknown[] = [];
  const stack: { v: unknown; path: number[] }[] = [{ v: value, path: [] }];
  while (stack.length) {
    const { v, path } = stack.pop()!;
    const d = path.length;
    if (d === shape.length) {
      if (Array.isArray(v)) throw new ZkmlError(`input "${spec.name}" has an array at ${at(path)}, one level deeper than its shape [${shape.join(', ')}]; expected ${wanted}`, 'E_INPUT_SHAPE', source);
      out.push(v);
      continue;
    }
    if (!Array.isArray(v) || v.length !== shape[d]) {
      const got = Array.isArray(v) ? `an array of ${v.length}` : describe(v);
      throw new ZkmlError(`input "${spec.name}" has ${got} at ${at(path) || 'the top level'}, where its shape [${shape.join(', ')}] has an array of ${shape[d]}; expected ${wanted}`, 'E_INPUT_SHAPE', source);
    }
    for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: [...path, i] });
  }
  return out;
}

/** Far beyond any tensor's rank: deeper nesting is a malformed (or cyclic) input, not a tensor. */
const MAX_NESTING = 64;

/**
 * Values (non-arrays) in a nested array. Iterative and depth-bounded: the nesting is the file's to choose, and
 * recursion would overflow the call stack on a deeply nested array (and never end on a cyclic one passed
 * through the library).
 */
function countLeaves(value: unknown, name: string, source: string): number {
  let count = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (!Array.isArray(v)) {
      count++;
      continue;
    }
    if (depth >= MAX_NESTING) throw new ZkmlError(`input "${name}" has arrays nested more than ${MAX_NESTING} deep`, 'E_INPUT_SHAPE', source);
    for (const x of v) stack.push([x, depth + 1]);
  }
  return count;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (v === null) return 'null';
  if (typeof v === 'object') return `an object (${JSON.stringify(v).slice(0, 40)})`;
  if (typeof v === 'number') return `the number ${v}`;
  return `${typeof v} ${String(v)}`;
}

/**
 * One value: a finite JSON number and nothing else. Strings are refused, numeric or not ("0x2", "1.5"): no
 * input format zkml reads writes its values as strings, and guessing a string's meaning (JavaScript's Number()
 * reads hex, binary, whitespace...) would prove a value the user did not write.
 */
function toNumber(v: unknown, name: string, index: number, source: string): number {
  if (typeof v !== 'number') {
    const hint = typeof v === 'string' ? ': input values are JSON numbers, not strings' : ', not a number';
    throw new ZkmlError(`input "${name}"[${index}] is ${describe(v)}${hint}`, 'E_INPUT_VALUE', source);
  }
  if (!Number.isFinite(v)) throw new ZkmlError(`input "${name}"[${index}] is ${v}: NaN and infinities cannot be proven`, 'E_INPUT_VALUE', source);
  return v;
}

/** Every input of a JSON value (any form parseInputJson reads) as flat float arrays, in the given order. */
export function readInputValues(value: unknown, inputs: { name: string; shape: number[] }[], source = 'input'): number[][] {
  const perInput = parseInputJson(value, inputs, source);
  return inputs.map((spec, k) => flattenTensor(perInput[k], spec, source).map((v, i) => toNumber(v, spec.name, i, source)));
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
  const values = readInputValues(value, manifest.inputs, source);
  const result = new Map<string, bigint[]>();
  manifest.inputs.forEach((spec, k) => {
    const lo = BigInt(spec.intRange[0]);
    const hi = BigInt(spec.intRange[1]);
    const ints = values[k].map((n, i) => {
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
