/**
 * Per op family: constraints per element and the measured max abs error against the float op (onnxruntime),
 * at activation scales 8 (the default) and 16. Each case is a one-op (or one-pattern) model written with
 * fixtures/onnx-builder.ts over a [1, N] tensor; the cost is the op nodes' own (from the gadgets' cost model,
 * which equals the compiled count: see test/equivalence.test.ts), divided by the output elements; the error is
 * the largest |zkml − onnxruntime| over seeded inputs spread over the case's input range. Prints one JSON
 * object { ops: [...] } on its last line.
 *
 *   tsx scripts/bench-ops.ts [--only REGEX] [--trials N]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as b from '../fixtures/onnx-builder.ts';
import { analyze } from '../src/compiler/compile.ts';
import { run } from '../src/run.ts';
import { inputScaleFor } from '../src/compiler/lower.ts';
import { DEFAULT_QUANT } from '../src/quantize/options.ts';

const { values: args } = parseArgs({ options: { only: { type: 'string' }, trials: { type: 'string', default: '10' } } });
const only = args.only ? new RegExp(args.only) : undefined;
const trials = Number(args.trials);
const N = 32;
const F = b.DataType.FLOAT;

interface Case {
  family: string;
  op: string;
  /** Graph nodes between the inputs x (and y) and the output z. */
  nodes: b.Node[];
  initializers?: b.Tensor[];
  inputRange: [number, number];
  /** Input names and shapes (default x: [1, N]). */
  inputs?: [string, number[], number?][];
  output?: number[];
  outputType?: number;
  opset?: number;
  /** Cost per input element (a reduction) instead of per output element. */
  perInput?: boolean;
}

const unary = (family: string, op: string, inputRange: [number, number], attrs?: Record<string, b.Attr>): Case => ({ family, op, inputRange, nodes: [b.node(op, ['x'], ['z'], { name: 'op', attrs })] });
const binary = (family: string, op: string, inputRange: [number, number], outputType = F): Case => ({ family, op, inputRange, inputs: [['x', [1, N]], ['y', [1, N]]], outputType, nodes: [b.node(op, ['x', 'y'], ['z'], { name: 'op' })] });
const rand = b.mulberry32(7);
const weights = (n: number) => Array.from({ length: n }, () => rand() * 2 - 1);

const CASES: Case[] = [
  unary('piecewise linear', 'Relu', [-4, 4]),
  unary('piecewise linear', 'LeakyRelu', [-4, 4], { alpha: b.attr.float(0.1) }),
  unary('piecewise linear', 'HardSigmoid', [-4, 4]),
  unary('piecewise linear', 'Abs', [-4, 4]),
  unary('rounding', 'Floor', [-4, 4]),
  unary('rounding', 'Round', [-4, 4]),
  unary('rounding', 'Sign', [-4, 4]),
  unary('smooth (table)', 'Sigmoid', [-8, 8]),
  unary('smooth (table)', 'Tanh', [-4, 4]),
  unary('smooth (table)', 'Exp', [-4, 4]),
  unary('smooth (table)', 'Log', [0.25, 8]),
  unary('smooth (table)', 'Erf', [-3, 3]),
  unary('smooth (table)', 'Softplus', [-4, 4]),
  unary('smooth (table)', 'Sin', [-3, 3]),
  {
    family: 'smooth (table)', op: 'GELU (erf form)', inputRange: [-4, 4],
    initializers: [b.floatTensor('sqrt2', [], [Math.SQRT2]), b.floatTensor('one', [], [1]), b.floatTensor('half', [], [0.5])],
    nodes: [b.node('Div', ['x', 'sqrt2'], ['d'], { name: 'div' }), b.node('Erf', ['d'], ['e'], { name: 'erf' }), b.node('Add', ['e', 'one'], ['p'], { name: 'add' }), b.node('Mul', ['x', 'p'], ['m'], { name: 'mul' }), b.node('Mul', ['m', 'half'], ['z'], { name: 'half' })],
  },
  unary('proven inverse', 'Sqrt', [0, 4]),
  unary('proven inverse', 'Reciprocal', [0.5, 4]),
  binary('products of activations', 'Mul', [-2, 2]),
  binary('proven inverse', 'Div', [0.5, 4]),
  {
    family: 'products of activations', op: 'MatMul [4,8]·[8,4]', inputRange: [-2, 2], inputs: [['x', [4, 8]], ['y', [8, 4]]], output: [4, 4],
    nodes: [b.node('MatMul', ['x', 'y'], ['z'], { name: 'op' })],
  },
  binary('comparisons', 'Less', [-2, 2], b.DataType.BOOL),
  binary('comparisons', 'Equal', [-2, 2], b.DataType.BOOL),
  binary('comparisons', 'Max', [-2, 2]),
  {
    family: 'comparisons', op: 'Where(Less(x, y), x, y)', inputRange: [-2, 2], inputs: [['x', [1, N]], ['y', [1, N]]],
    nodes: [b.node('Less', ['x', 'y'], ['c'], { name: 'less' }), b.node('Where', ['c', 'x', 'y'], ['z'], { name: 'where' })],
  },
  { ...unary('reductions', 'ReduceMax', [-4, 4], { keepdims: b.attr.int(1) }), perInput: true },
  {
    family: 'reductions', op: 'Softmax (in circuit)', inputRange: [-4, 4], initializers: [b.floatTensor('two', [], [2])],
    nodes: [b.node('Softmax', ['x'], ['s'], { name: 'softmax', attrs: { axis: b.attr.int(-1) } }), b.node('Mul', ['s', 'two'], ['z'], { name: 'scale' })],
  },
  {
    family: 'normalization', op: 'LayerNormalization', inputRange: [-4, 4], opset: 17,
    initializers: [b.floatTensor('g', [N], weights(N)), b.floatTensor('h', [N], weights(N))],
    nodes: [b.node('LayerNormalization', ['x', 'g', 'h'], ['z'], { name: 'op', attrs: { axis: b.attr.int(-1) } })],
  },
  {
    family: 'selection', op: 'Gather (computed ids, 16×4 table)', inputRange: [0, 15], inputs: [['ids', [1, 8], b.DataType.INT64]], output: [1, 8, 4],
    initializers: [b.floatTensor('table', [16, 4], weights(64))],
    nodes: [b.node('Gather', ['table', 'ids'], ['z'], { name: 'op', attrs: { axis: b.attr.int(0) } })],
  },
];

/** The case's model, written once per case into the work folder. */
function write(c: Case, dir: string): { path: string; inputs: [string, number[], number][] } {
  const inputs = (c.inputs ?? [['x', [1, N]]]).map(([n, d, t]) => [n, d, t ?? F] as [string, number[], number]);
  const outputDims = c.output ?? inputs[0][1];
  const path = join(dir, `${c.op.replace(/\W+/g, '-')}.onnx`);
  writeFileSync(path, b.serialize(b.model({
    name: c.op, opset: c.opset ?? 13, nodes: c.nodes, initializers: c.initializers ?? [],
    inputs: inputs.map(([n, d, t]) => b.valueInfo(n, d, t)),
    outputs: [b.valueInfo('z', c.op === 'ReduceMax' ? [1, 1] : outputDims, c.outputType ?? F)],
  })));
  return { path, inputs };
}

/** Seeded inputs on the input grid (multiples of 2^-inputExp), so that the error measured is the op's, not the input's rounding. */
function sample(inputs: [string, number[], number][], range: [number, number], inputExp: number, seed: number): Record<string, number[]> {
  const r = b.mulberry32(seed);
  const [lo, hi] = range;
  const grid = (v: number) => Math.min(hi, Math.max(lo, Math.round(v * 2 ** inputExp) / 2 ** inputExp));
  return Object.fromEntries(inputs.map(([n, d, t]) => {
    const count = d.reduce((a, x) => a * x, 1);
    return [n, Array.from({ length: count }, () => (t === b.DataType.INT64 ? Math.floor(lo + r() * (hi - lo + 1)) : grid(lo + r() * (hi - lo))))];
  }));
}

const work = mkdtempSync(join(tmpdir(), 'zkml-bench-ops-'));
const rows: Record<string, unknown>[] = [];
try {
  for (const c of CASES.filter((c) => !only || only.test(c.op))) {
    const row: Record<string, unknown> = { family: c.family, op: c.op, inputRange: c.inputRange };
    rows.push(row);
    try {
      const { path, inputs } = write(c, work);
      for (const scale of [8, 16]) {
        const opts = { inputRange: c.inputRange, scale };
        const { lowered } = analyze(path, opts as never);
        const nodes = new Set(c.nodes.map((n) => n.name));
        const cost = [...lowered.program.costByNode()].filter(([node]) => nodes.has(node)).reduce((a, [, v]) => a + v, 0);
        const count = (ios: { shape: number[] }[]) => ios.reduce((a, o) => a + o.shape.reduce((x, y) => x * y, 1), 0);
        const elements = c.perInput ? count(lowered.inputs) : count(lowered.outputs);
        let maxAbsError = 0;
        let maxRelError = 0;
        const inputExp = inputScaleFor({ ...DEFAULT_QUANT, ...opts });
        for (let t = 0; t < trials; t++) {
          for (const o of await run(path, sample(inputs, c.inputRange, inputExp, 100 * scale + t), opts as never)) {
            o.float.forEach((f, i) => {
              const d = Math.abs(f - o.derived[i]);
              maxAbsError = Math.max(maxAbsError, d);
              maxRelError = Math.max(maxRelError, d / Math.max(1, Math.abs(f)));
            });
          }
        }
        row.per = c.perInput ? 'input element' : 'output element';
        row[`s${scale}`] = { constraintsPerElement: cost / elements, maxAbsError, maxRelError };
      }
      process.stderr.write(`ops ${c.op}: ${JSON.stringify(row.s8)} ${JSON.stringify(row.s16)}\n`);
    } catch (err) {
      row.error = (err as Error).message.split('\n')[0];
      process.stderr.write(`ops ${c.op}: FAILED ${row.error}\n`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log(JSON.stringify({ ops: rows, elementsPerCase: N, trials }));
