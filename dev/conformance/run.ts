/**
 * Conformance with the ONNX backend node tests: every node test whose model uses only ops in zkml's registry
 * is lowered, run through the integer reference executor and compared with the test's expected output; a few
 * (one per op, a small one) are also compiled to a circuit whose witness must match the reference exactly and
 * satisfy every constraint. Each case ends as pass, fail (with its largest error) or skip (with zkml's own
 * refusal: its ZkmlError code and message). A skip is never counted as a pass.
 *
 * Two variants per test, because the node tests feed every operand as a graph input while a zkml model takes
 * its data as circuit inputs and its parameters as constants:
 * - "computed": every graph input is a circuit input. Not generated when an input is int64 or bool: in the
 *   node tests those are always shapes, axes, pads, indices or flags, parameters that a zkml model holds as
 *   constants (its circuit inputs are numeric data).
 * - "constants": the first input is the circuit input and every other input becomes an initializer holding
 *   the test's value (weights, shapes, axes...). Only for tests with two or more inputs.
 *
 * Comparison: exact when the expected output has an integer element type (the integer program must then
 * produce exactly the expected integers; within one unit only where the program's error bound for the element
 * reaches a unit, see integerTolerance); otherwise within the tolerance of tolerance.ts, derived from the
 * program's own scales. A final Softmax/LogSoftmax follows zkml's final-op policy: the circuit proves the logits
 * and `zkml run` derives the probabilities, which are what is compared.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze, compile } from '../../src/compiler/compile.ts';
import { tensorSpec } from '../../src/compiler/build-manifest.ts';
import { crossCheck } from '../../src/compiler/crosscheck.ts';
import { encodeInputs } from '../../src/io/input.ts';
import type { Manifest } from '../../src/manifest.ts';
import { OPS } from '../../src/ops/registry.ts';
import type { Tensor } from '../../src/onnx/tensor.ts';
import type { QuantOptions } from '../../src/quantize/options.ts';
import { run as runModel } from '../../src/run.ts';
import { ZkmlError } from '../../src/util/errors.ts';
import { DEFAULT_NODE_TESTS, freezeInputs, listNodeTests, readDataSet, type DataSet, type NodeTest } from './testdata.ts';
import { ASSUMED_STEPS, errorBounds, UNIT_ROUNDOFF } from './tolerance.ts';

export type Status = 'pass' | 'fail' | 'skip';
export type Variant = 'computed' | 'constants';

export interface Worst {
  output: string;
  index: number;
  expected: number;
  got: number;
  tolerance: number;
}

export interface CircuitCheck {
  constraints: number;
  mismatches: number;
  violated: number;
  ms: number;
  /** Set when the circuit could not be compiled or run (then the counts above are 0 and mean nothing). */
  error?: string;
}

export interface CaseResult {
  test: string;
  /** The op the test is about (see primaryOp). */
  op: string;
  variant: Variant;
  /** Inputs turned into constants (the "constants" variant). */
  frozen: string[];
  status: Status;
  /** Why it failed or was skipped. */
  reason?: string;
  /** ZkmlError code of a skip (or of an unexpected error). */
  code?: string;
  comparison?: 'exact' | 'tolerance' | 'final-op';
  /** Largest |got − expected| over all outputs and data sets, and the largest ratio of error to tolerance. */
  maxError?: number;
  worst?: Worst;
  /** Gadget kinds whose error bound used the generic rule (tolerance.ts). */
  assumed?: string[];
  circuit?: CircuitCheck;
  /** Total elements of the circuit inputs: the circuit cross-check picks the smallest case of each op. */
  inputSize: number;
  ms: number;
}

export interface UnsupportedTest {
  test: string;
  /** Ops of the model that are not in the registry. */
  missing: string[];
}

export interface ConformanceReport {
  root: string;
  scale: number;
  cases: CaseResult[];
  /** Node tests not run because their model uses an op zkml does not support. */
  unsupported: UnsupportedTest[];
  ms: number;
}

export interface ConformanceOptions {
  root?: string;
  /** Only node tests for which this is true (after the registry filter). */
  include?: (t: NodeTest) => boolean;
  /** Fractional bits of inputs, activations and constants (default 16). */
  scale?: number;
  /** Compile and cross-check at most this many circuits, one per op (default: one for every op). 0: none. */
  maxCircuits?: number;
  /** Only these ops get a circuit cross-check (default: every op). */
  circuitOps?: string[];
  /** Called as each case is run against the reference executor, and after each circuit cross-check. */
  onCase?: (r: CaseResult) => void;
  onCircuit?: (r: CaseResult) => void;
}

export const DEFAULT_SCALE = 16;

/** A case's display name: the test, plus the inputs frozen into constants. */
export const caseLabel = (r: Pick<CaseResult, 'test' | 'variant' | 'frozen'>) =>
  r.variant === 'constants' ? `${r.test} [constants: ${r.frozen.join(', ')}]` : r.test;

/**
 * The op a node test is about: the model's op whose name, lowercased without underscores, is the longest
 * prefix of the test's name (test_batchnorm_example → BatchNormalization is matched by "batchnorm" through
 * the op's name starting the same way); else the op of the model's last node that is not a Constant.
 */
export function primaryOp(test: NodeTest): string {
  const name = test.name.replace(/^test_/, '').replace(/_/g, '').toLowerCase();
  let best: string | undefined;
  let bestLen = 0;
  for (const op of test.ops) {
    const o = op.toLowerCase();
    let n = 0;
    while (n < o.length && n < name.length && o[n] === name[n]) n++;
    // At least the op's whole name or 6 letters of it (batchnorm ~ batchnormalization, castlike ~ cast).
    if ((n === o.length || n >= 6) && n > bestLen) [best, bestLen] = [op, n];
  }
  return best ?? test.ops.filter((o) => o !== 'Constant').at(-1) ?? test.ops.at(-1) ?? '?';
}

const PARAMETER_TYPES = new Set(['int64', 'bool']);

/**
 * Quantization for one case: every value at `scale` fractional bits (inputs, activations, and constants: the
 * weight width is set so wide that no constant's exponent is capped below `scale`), the input range the
 * inputs' span with 1/8 of it (at least 1) as margin on each side.
 */
function quantFor(values: number[], scale: number): Partial<QuantOptions> {
  const finite = values.filter(Number.isFinite);
  const lo = finite.length ? Math.min(...finite) : 0;
  const hi = finite.length ? Math.max(...finite) : 0;
  const margin = Math.max(1, (hi - lo) / 8);
  return { scale, inputScale: scale, weightBits: 32, maxWeightExp: scale, inputRange: [lo - margin, hi + margin], checkInputs: true };
}

const elapsed = (t0: number) => Math.round(performance.now() - t0);

class Skip extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** zkml's refusals become skips; anything else (a crash, an internal error) is a failure. */
function classifyError(err: unknown): { status: Status; reason: string; code: string } {
  if (err instanceof Skip) return { status: 'skip', reason: err.message, code: err.code };
  if (err instanceof ZkmlError && err.code !== 'E_INTERNAL') return { status: 'skip', reason: err.message, code: err.code };
  const e = err as Error;
  return { status: 'fail', reason: `unexpected error: ${e?.stack?.split('\n').slice(0, 3).join(' | ') ?? String(err)}`, code: (err as ZkmlError)?.code ?? 'CRASH' };
}

interface Prepared {
  modelPath: string;
  quant: Partial<QuantOptions>;
  /** Circuit inputs by name (flat values), as `zkml run`/`prove` take them. */
  inputJson: Record<string, number[]>;
}

/** The model file and options of one case on one data set (a frozen variant writes its own model). */
function prepare(test: NodeTest, variant: Variant, ds: DataSet, scale: number, workDir: string, tag: string): Prepared {
  const frozen = new Map<string, Tensor>();
  if (variant === 'constants') test.inputs.slice(1).forEach((io, k) => frozen.set(io.name, ds.inputs[k + 1]));
  let modelPath = test.modelPath;
  if (frozen.size > 0) {
    modelPath = join(workDir, `${test.name}.${tag}.onnx`);
    writeFileSync(modelPath, freezeInputs(test, frozen));
  }
  const inputJson: Record<string, number[]> = {};
  test.inputs.forEach((io, k) => {
    if (!frozen.has(io.name)) inputJson[io.name] = ds.inputs[k].data;
  });
  return { modelPath, quant: quantFor(Object.values(inputJson).flat(), scale), inputJson };
}

const LOOSENESS = { exact: 0, tolerance: 1, 'final-op': 2 } as const;

interface Compared {
  comparison: CaseResult['comparison'];
  maxError: number;
  worst?: Worst;
  failed?: string;
  assumed: string[];
}

/** Runs the reference executor on one data set and compares every output with the expected one. */
async function compareDataSet(test: NodeTest, p: Prepared, ds: DataSet): Promise<Compared> {
  const { lowered, graph, quant } = analyze(p.modelPath, p.quant);
  const specs = lowered.inputs.map((io) => tensorSpec(io, 'private', p.quant.inputRange));
  const encoded = encodeInputs({ inputs: specs } as Manifest, p.inputJson, { source: test.name });
  const { wires, outputs } = lowered.program.execute(encoded);
  const errors = errorBounds(lowered, new Map(Object.entries(p.inputJson)), wires, graph.constants.size);
  const allowance = errors.assumed.length > 0 ? ASSUMED_STEPS * 2 ** -quant.scale : 0;
  const final = lowered.finalActivation;
  const derived = final ? await runModel(p.modelPath, p.inputJson, p.quant, test.name) : undefined;

  const result: Compared = { comparison: 'exact', maxError: 0, assumed: errors.assumed };
  let worstRatio = -1;
  for (const [k, io] of test.outputs.entries()) {
    const expected = ds.outputs[k];
    const lo = lowered.outputs.find((o) => o.name === io.name);
    if (!lo) throw new ZkmlError(`graph output "${io.name}" is not an output of the lowered program`, 'E_INTERNAL', test.name);
    if (lo.shape.join(',') !== expected.dims.join(',')) {
      return { ...result, failed: `output "${io.name}" has shape [${lo.shape}], expected [${expected.dims}]` };
    }
    const ints = outputs.get(io.name)!;
    const isFinal = final?.output === io.name;
    const exact = !isFinal && /int|bool/.test(expected.dtype);
    const got = isFinal ? derived!.find((d) => d.name === io.name)!.derived : ints.map((v) => Number(v) * 2 ** -lo.exp);
    const err = errors.outputs.get(io.name)!;
    const u = UNIT_ROUNDOFF[expected.dtype] ?? 2 ** -24;
    const logitBound = Math.max(0, ...err.quantization);
    // A case is described by its loosest comparison: final-op, then tolerance, then exact.
    const kind = isFinal ? 'final-op' : exact ? 'exact' : 'tolerance';
    if (LOOSENESS[kind] > LOOSENESS[result.comparison!]) result.comparison = kind;
    expected.data.forEach((y, i) => {
      const tol = exact
        ? integerTolerance(err.quantization[i])
        : (isFinal ? 2 * logitBound + 8 * u * Math.max(1, Math.abs(y)) : err.quantization[i] + u * (err.terms[i] + 1) * err.magnitude[i]) +
          allowance * Math.max(1, Math.abs(y));
      const e = Math.abs(got[i] - y);
      const diff = Number.isNaN(e) ? Infinity : e;
      const ratio = tol === 0 ? (diff === 0 ? 0 : Infinity) : diff / tol;
      if (diff > result.maxError) result.maxError = diff;
      if (ratio > worstRatio) {
        worstRatio = ratio;
        result.worst = { output: io.name, index: i, expected: y, got: got[i], tolerance: tol };
      }
      if (diff > tol && !result.failed) {
        result.failed = exact
          ? `output "${io.name}"[${i}]: expected ${y} exactly, got ${got[i]}`
          : `output "${io.name}"[${i}]: expected ${y}, got ${got[i]} (error ${diff.toExponential(2)} > tolerance ${tol.toExponential(2)})`;
      }
    });
  }
  return result;
}

/** Runs one case on every data set of the test. */
async function runCase(test: NodeTest, variant: Variant, scale: number, workDir: string): Promise<CaseResult & { prepared?: Prepared }> {
  const t0 = performance.now();
  const frozen = variant === 'constants' ? test.inputs.slice(1).map((i) => i.name) : [];
  const base = { test: test.name, op: primaryOp(test), variant, frozen };
  let inputSize = 0;
  try {
    const nonTensor = [...test.inputs, ...test.outputs].find((io) => !io.isTensor);
    if (nonTensor) throw new Skip(`"${nonTensor.name}" is a ${nonTensor.dtype}, not a tensor: zkml models take and produce tensors`, 'E_IO_TYPE');
    if (test.dataSets.length === 0) throw new Skip('the test has no data set', 'E_NO_DATA');
    let first: Prepared | undefined;
    const agg: Compared = { comparison: undefined, maxError: 0, assumed: [] };
    for (const [n, dir] of test.dataSets.entries()) {
      const ds = readDataSet(test, dir);
      const p = prepare(test, variant, ds, scale, workDir, `${variant}.${n}`);
      first ??= p;
      inputSize = Math.max(inputSize, Object.values(p.inputJson).reduce((a, v) => a + v.length, 0));
      const c = await compareDataSet(test, p, ds);
      agg.comparison = c.comparison;
      agg.assumed = [...new Set([...agg.assumed, ...c.assumed])];
      if (c.maxError >= agg.maxError) [agg.maxError, agg.worst] = [c.maxError, c.worst];
      if (c.failed) {
        const where = test.dataSets.length > 1 ? ` (data set ${n})` : '';
        return { ...base, status: 'fail', reason: c.failed + where, comparison: c.comparison, maxError: c.maxError, worst: c.worst, inputSize, ms: elapsed(t0), ...(c.assumed.length ? { assumed: c.assumed } : {}) };
      }
    }
    return {
      ...base,
      status: 'pass',
      comparison: agg.comparison,
      maxError: agg.maxError,
      worst: agg.worst,
      inputSize,
      ms: elapsed(t0),
      ...(agg.assumed.length ? { assumed: agg.assumed } : {}),
      prepared: first,
    };
  } catch (err) {
    return { ...base, ...classifyError(err), inputSize, ms: elapsed(t0) };
  }
}

/** Compiles the case's circuit and checks its witness against the reference executor, gadget by gadget. */
async function checkCircuit(p: Prepared, workDir: string, tag: string): Promise<CircuitCheck> {
  const t0 = performance.now();
  const dir = join(workDir, `circuit-${tag}`);
  try {
    const manifest = await compile(p.modelPath, dir, p.quant);
    const { lowered, graph, quant } = analyze(p.modelPath, p.quant);
    const check = await crossCheck(dir, manifest, lowered.program, encodeInputs(manifest, p.inputJson));
    return { constraints: manifest.constraints, mismatches: check.mismatches.length, violated: check.violated.length, ms: elapsed(t0) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The variants a test gets (see the file comment). */
export function variantsOf(test: NodeTest): Variant[] {
  const v: Variant[] = [];
  if (!test.inputs.some((io) => PARAMETER_TYPES.has(io.dtype))) v.push('computed');
  if (test.inputs.length >= 2) v.push('constants');
  return v;
}

/** Runs the node tests of every supported op. */
export async function runConformance(opts: ConformanceOptions = {}): Promise<ConformanceReport> {
  const t0 = performance.now();
  const root = opts.root ?? DEFAULT_NODE_TESTS;
  const scale = opts.scale ?? DEFAULT_SCALE;
  const tests = listNodeTests(root);
  const unsupported: UnsupportedTest[] = [];
  const cases: (CaseResult & { prepared?: Prepared })[] = [];
  const workDir = mkdtempSync(join(tmpdir(), 'zkml-conformance-'));
  try {
    for (const test of tests) {
      const missing = test.ops.filter((op) => !OPS.has(op));
      if (missing.length > 0) {
        unsupported.push({ test: test.name, missing });
        continue;
      }
      if (opts.include && !opts.include(test)) continue;
      for (const variant of variantsOf(test)) {
        const r = await runCase(test, variant, scale, workDir);
        cases.push(r);
        opts.onCase?.(r);
      }
    }

    // One circuit per op, within the budget: a passing case of the "computed" variant if there is one (its
    // operands are all circuit inputs, so the op's gadgets between computed values are exercised), else of
    // the "constants" variant; the one with the fewest input elements.
    const budget = opts.maxCircuits ?? Infinity;
    const byOp = new Map<string, CaseResult & { prepared?: Prepared }>();
    const rank = (c: CaseResult) => [c.variant === 'computed' ? 0 : 1, c.inputSize];
    const better = (a: CaseResult, b: CaseResult) => {
      const [x, y] = [rank(a), rank(b)];
      return x[0] !== y[0] ? x[0] < y[0] : x[1] < y[1];
    };
    for (const c of cases) {
      if (c.status !== 'pass' || !c.prepared || (opts.circuitOps && !opts.circuitOps.includes(c.op))) continue;
      const best = byOp.get(c.op);
      if (!best || better(c, best)) byOp.set(c.op, c);
    }
    let compiled = 0;
    for (const c of byOp.values()) {
      if (compiled >= budget) break;
      compiled++;
      const t1 = performance.now();
      try {
        c.circuit = await checkCircuit(c.prepared!, workDir, String(compiled));
        if (c.circuit.mismatches > 0 || c.circuit.violated > 0) {
          c.status = 'fail';
          c.reason = `circuit: ${c.circuit.mismatches} witness values differ from the reference executor, ${c.circuit.violated} constraints violated`;
        }
      } catch (err) {
        // The reference executor accepted this case, so a refusal here is the circuit path's failure.
        const message = (err as Error).message;
        c.circuit = { constraints: 0, mismatches: 0, violated: 0, ms: elapsed(t1), error: message };
        c.status = 'fail';
        c.reason = `circuit: ${message}`;
        c.code = (err as ZkmlError).code ?? 'CRASH';
      }
      opts.onCircuit?.(c);
    }
    for (const c of cases) delete c.prepared;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  return { root, scale, cases, unsupported, ms: elapsed(t0) };
}

export interface OpSummary {
  op: string;
  passed: number;
  failed: number;
  skipped: number;
  total: number;
  /** The op's circuit cross-check: passed, failed, or not run. */
  circuit?: 'passed' | 'failed';
}

/** Per-op counts, ops sorted by name. */
export function summarize(report: ConformanceReport): OpSummary[] {
  const rows = new Map<string, OpSummary>();
  for (const c of report.cases) {
    const row = rows.get(c.op) ?? { op: c.op, passed: 0, failed: 0, skipped: 0, total: 0 };
    row.total++;
    if (c.status === 'pass') row.passed++;
    else if (c.status === 'fail') row.failed++;
    else row.skipped++;
    if (c.circuit) row.circuit = !c.circuit.error && c.circuit.mismatches === 0 && c.circuit.violated === 0 ? 'passed' : 'failed';
    rows.set(c.op, row);
  }
  return [...rows.values()].sort((a, b) => a.op.localeCompare(b.op));
}

/**
 * An integer-typed output is compared exactly, unless the program's proven error bound for it (tolerance.ts, in
 * the integer's units) reaches a whole unit: a rounding of an inexact value (e.g. QuantizeLinear by a computed
 * scale, itself rounded) may then break a near tie the other way than the test's float32 arithmetic did. Then one
 * unit, never more: a tie broken the other way is off by exactly one, and anything further is a failure even where
 * the bound (loose over wide intervals) would allow it. A bound below 1 (any exactly computed integer: Cast,
 * ArgMax, a rounding of an exact value) still means exactly.
 */
function integerTolerance(bound: number): number {
  return bound >= 1 ? 1 : 0;
}
