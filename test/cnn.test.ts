/**
 * The ops CNNs need (Conv, pools, reductions, Max/Min/Sum/Mean, ArgMax, Clip, LeakyRelu, PRelu, HardSigmoid,
 * HardSwish, Sigmoid, Tanh), in four layers of evidence:
 *  1. semantics: small one-op models, every attribute form, run by the reference executor (the exact integer
 *     program) and by onnxruntime; they agree within the stated tolerance, exactly where the op only picks values;
 *  2. circuits: small multi-op models compiled with circom; the witness equals the reference executor gadget by
 *     gadget, satisfies every constraint, and circom's count equals the gadgets' cost model;
 *  3. third-party models (../shared/models/ezkl-examples) as shipped, against onnxruntime and their own outputs;
 *     out-of-scope ops give a clear error naming the node;
 *  4. the model-zoo MNIST CNN.
 *
 * Tolerances. With s fractional activation bits, every requantization rounds by at most 2^-(s+1), every input by
 * 2^-(e+1) (e its fractional bits) and every weight keeps weightBits significant bits; the models here are at most a
 * few layers deep with modest fan-in, so 8 steps of 2^-s (relative to the output's magnitude when above 1: the
 * project's `tolerance` helper) bound the quantization error with margin. Sigmoid and Tanh add their table's
 * stated bound (ops/nonlinear.ts, tableErrorBound), checked on its own below over a sweep of inputs. Ops that only
 * pick or move values (MaxPool, Max, ArgMax, pads) are exact on inputs on the quantization grid.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { attr, floatTensor, int64Tensor, model, node, serialize, valueInfo, mulberry32, DataType, type Node, type Tensor as TensorProto } from '../fixtures/onnx-builder.ts';
import { analyze } from '../src/compiler/compile.ts';
import { constraintCount } from '../src/compiler/backend.ts';
import { FloatModel } from '../src/onnx/ort.ts';
import { decodeTensor } from '../src/onnx/load.ts';
import { toFixed } from '../src/quantize/fixed.ts';
import { violatedConstraints } from '../src/circom/r1cs.ts';
import { DEFAULT_QUANT } from '../src/quantize/options.ts';
import { readInputValues } from '../src/io/input.ts';
import { SMOOTH, tableGrid, tableErrorBound } from '../src/ops/nonlinear.ts';
import { compileAndCheck, tolerance, maxAbsDiff, requireShared, tempDir, SHARED_MODELS } from './helpers/models.ts';
import { setup } from '../src/setup/setup.ts';
import { prove } from '../src/prove/prove.ts';
import { verify } from '../src/prove/verify.ts';
import { releaseCurve } from '../src/util/snark.ts';

test.after(releaseCurve);

const S = DEFAULT_QUANT.scale;
const rand = mulberry32(7);
/** Values on the 2^-s grid in [-1, 1): the input quantization is then exact. */
const grid = (n: number, scale = 1) => Array.from({ length: n }, () => (Math.floor(rand() * 512) - 256) / 256 * scale);
const weights = (n: number, scale = 0.5) => Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

interface Case {
  name: string;
  nodes: Node[];
  inputs: { name: string; dims: number[]; data?: number[] }[];
  outputs: { name: string; dims: number[]; int?: boolean }[];
  inits?: TensorProto[];
  opset?: number;
  /** Exact agreement with onnxruntime (ops that only pick values, on grid inputs). */
  exact?: boolean;
  inputRange?: [number, number];
  inputScale?: number;
}

function writeCase(c: Case): string {
  const path = join(tempDir('cnn-op'), `${c.name.replace(/\W+/g, '_')}.onnx`);
  const m = model({
    name: c.name,
    nodes: c.nodes,
    inputs: c.inputs.map((i) => valueInfo(i.name, i.dims)),
    outputs: c.outputs.map((o) => valueInfo(o.name, o.dims, o.int ? DataType.INT64 : DataType.FLOAT)),
    initializers: c.inits ?? [],
    opset: c.opset ?? 13,
  });
  writeFileSync(path, serialize(m));
  return path;
}

/** Runs the reference executor (exact integers, dequantized) and onnxruntime on the same input. */
async function bothWays(path: string, inputs: { name: string; dims: number[]; data: number[] }[], opts = {}) {
  const { lowered } = analyze(path, opts);
  const encoded = new Map(lowered.inputs.map((io, k) => [io.name, inputs[k].data.map((v) => toFixed(v, io.exp, io.name))]));
  const run = lowered.program.execute(encoded);
  const ours = lowered.outputs.map((o) => run.outputs.get(o.name)!.map((v) => Number(v) * 2 ** -o.exp));
  const ort = (await (await FloatModel.load(path)).run(inputs)).map((t) => t.data);
  return { ours, ort, lowered };
}

async function semantics(c: Case) {
  const path = writeCase(c);
  const inputs = c.inputs.map((i) => ({ name: i.name, dims: i.dims, data: i.data ?? grid(size(i.dims)) }));
  const { ours, ort, lowered } = await bothWays(path, inputs, { inputRange: c.inputRange ?? [-1, 1], inputScale: c.inputScale });
  ours.forEach((o, k) => {
    assert.equal(o.length, ort[k].length, `${c.name}: output ${k} size`);
    if (c.exact) assert.deepEqual(o, ort[k], `${c.name}: output ${k} equals onnxruntime exactly`);
    else {
      const tol = tolerance(S, ort[k]);
      assert.ok(maxAbsDiff(o, ort[k]) <= tol, `${c.name}: output ${k} differs from onnxruntime by ${maxAbsDiff(o, ort[k])} > ${tol}`);
    }
  });
  return lowered;
}

// ---- 1. semantics ------------------------------------------------------------------------------------------

function convCase(name: string, x: number[], w: number[], attrs: Record<string, ReturnType<typeof attr.int>>, opts: { bias?: boolean; out: number[] }): Case {
  const inits = [floatTensor('W', w, weights(size(w)))];
  if (opts.bias) inits.push(floatTensor('B', [w[0]], weights(w[0])));
  return {
    name,
    nodes: [node('Conv', ['x', 'W', ...(opts.bias ? ['B'] : [])], ['y'], { name: 'conv', attrs })],
    inputs: [{ name: 'x', dims: x }],
    outputs: [{ name: 'y', dims: opts.out }],
    inits,
  };
}

const convCases: Case[] = [
  convCase('Conv 2-D pads strides bias', [1, 2, 5, 5], [3, 2, 3, 3], { pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([2, 2]) }, { bias: true, out: [1, 3, 3, 3] }),
  convCase('Conv dilations, asymmetric pads, no bias', [1, 2, 6, 6], [2, 2, 3, 3], { dilations: attr.ints([2, 2]), pads: attr.ints([2, 1, 0, 2]) }, { out: [1, 2, 4, 5] }),
  convCase('Conv group 2', [1, 4, 6, 6], [6, 2, 3, 3], { group: attr.int(2) }, { bias: true, out: [1, 6, 4, 4] }),
  convCase('Conv depthwise SAME_UPPER stride 2', [1, 3, 5, 5], [3, 1, 3, 3], { group: attr.int(3), auto_pad: attr.string('SAME_UPPER'), strides: attr.ints([2, 2]) }, { bias: true, out: [1, 3, 3, 3] }),
  convCase('Conv SAME_LOWER even kernel', [1, 1, 5, 5], [2, 1, 2, 2], { auto_pad: attr.string('SAME_LOWER') }, { out: [1, 2, 5, 5] }),
  convCase('Conv SAME_UPPER even kernel stride 2', [1, 1, 6, 6], [2, 1, 4, 4], { auto_pad: attr.string('SAME_UPPER'), strides: attr.ints([2, 2]) }, { out: [1, 2, 3, 3] }),
  convCase('Conv VALID with kernel_shape', [1, 2, 5, 4], [2, 2, 3, 2], { auto_pad: attr.string('VALID'), kernel_shape: attr.ints([3, 2]) }, { out: [1, 2, 3, 3] }),
  convCase('Conv 1-D', [1, 2, 9], [4, 2, 3], { pads: attr.ints([1, 2]), strides: attr.ints([2]) }, { bias: true, out: [1, 4, 5] }),
  convCase('Conv 3-D', [1, 1, 4, 4, 3], [2, 1, 2, 2, 2], {}, { bias: true, out: [1, 2, 3, 3, 2] }),
  convCase('Conv batch 2', [2, 1, 4, 4], [2, 1, 3, 3], { pads: attr.ints([1, 1, 1, 1]) }, { bias: true, out: [2, 2, 4, 4] }),
];

const pool = (op: string, x: number[], out: number[], attrs: Record<string, ReturnType<typeof attr.int>>, opset = 13, exact = op.includes('Max')): Case => ({
  name: `${op} ${JSON.stringify(Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, v.value])))} on [${x}]`,
  nodes: [node(op, ['x'], ['y'], { name: 'pool', attrs })],
  inputs: [{ name: 'x', dims: x }],
  outputs: [{ name: 'y', dims: out }],
  opset,
  exact,
});

const poolCases: Case[] = [
  pool('MaxPool', [1, 2, 6, 6], [1, 2, 3, 3], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]), ceil_mode: attr.int(1) }),
  pool('MaxPool', [1, 1, 7, 7], [1, 1, 4, 4], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]), ceil_mode: attr.int(1) }),
  pool('MaxPool', [1, 1, 7, 7], [1, 1, 3, 3], { kernel_shape: attr.ints([3, 3]), dilations: attr.ints([2, 2]) }),
  pool('MaxPool', [1, 2, 5, 5], [1, 2, 3, 3], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]), auto_pad: attr.string('SAME_UPPER') }),
  pool('MaxPool', [1, 2, 5, 5], [1, 2, 3, 3], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]), auto_pad: attr.string('SAME_LOWER') }),
  pool('MaxPool', [1, 3, 8], [1, 3, 4], { kernel_shape: attr.ints([3]), strides: attr.ints([2]), pads: attr.ints([1, 0]) }),
  pool('AveragePool', [1, 2, 6, 6], [1, 2, 3, 3], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]), ceil_mode: attr.int(1) }),
  pool('AveragePool', [1, 2, 6, 6], [1, 2, 3, 3], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]), count_include_pad: attr.int(1) }),
  pool('AveragePool', [1, 1, 7, 7], [1, 1, 4, 4], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]), count_include_pad: attr.int(1), ceil_mode: attr.int(1) }),
  // 2x2 windows: the division by 4 is exact (folded into the exponent), so the average is exact.
  pool('AveragePool', [1, 2, 4, 4], [1, 2, 2, 2], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) }, 13, true),
  pool('AveragePool', [1, 2, 5, 5], [1, 2, 3, 3], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]), auto_pad: attr.string('SAME_UPPER') }),
  pool('GlobalAveragePool', [1, 3, 5, 5], [1, 3, 1, 1], {}),
  pool('GlobalAveragePool', [1, 3, 4, 4], [1, 3, 1, 1], {}, 13, true),
  pool('GlobalMaxPool', [1, 3, 5, 5], [1, 3, 1, 1], {}),
];

const x345 = [1, 3, 4, 5];
const reduceCases: Case[] = [
  { name: 'ReduceMean axes attr keepdims', nodes: [node('ReduceMean', ['x'], ['y'], { name: 'r', attrs: { axes: attr.ints([2, 3]) } })], inputs: [{ name: 'x', dims: x345 }], outputs: [{ name: 'y', dims: [1, 3, 1, 1] }] },
  { name: 'ReduceMean axis of 4 (exact)', nodes: [node('ReduceMean', ['x'], ['y'], { name: 'r', attrs: { axes: attr.ints([2]), keepdims: attr.int(0) } })], inputs: [{ name: 'x', dims: x345 }], outputs: [{ name: 'y', dims: [1, 3, 5] }], exact: true },
  { name: 'ReduceSum axes input keepdims 0', nodes: [node('ReduceSum', ['x', 'axes'], ['y'], { name: 'r', attrs: { keepdims: attr.int(0) } })], inputs: [{ name: 'x', dims: x345 }], outputs: [{ name: 'y', dims: [1, 4] }], inits: [int64Tensor('axes', [2], [1, -1])], exact: true },
  { name: 'ReduceSum noop_with_empty_axes', nodes: [node('ReduceSum', ['x'], ['y'], { name: 'r', attrs: { noop_with_empty_axes: attr.int(1) } })], inputs: [{ name: 'x', dims: x345 }], outputs: [{ name: 'y', dims: x345 }], exact: true },
  { name: 'ReduceMax opset 18 axes input', nodes: [node('ReduceMax', ['x', 'axes'], ['y'], { name: 'r' })], inputs: [{ name: 'x', dims: x345 }], outputs: [{ name: 'y', dims: [1, 3, 4, 1] }], inits: [int64Tensor('axes', [1], [3])], opset: 18, exact: true },
  { name: 'ReduceMin all axes keepdims 0', nodes: [node('ReduceMin', ['x'], ['y'], { name: 'r', attrs: { keepdims: attr.int(0) } })], inputs: [{ name: 'x', dims: x345 }], outputs: [{ name: 'y', dims: [] }], exact: true },
  { name: 'Max Min Sum Mean of three with broadcasting', nodes: [
    node('Max', ['a', 'b', 'c'], ['mx'], { name: 'max' }),
    node('Min', ['a', 'b', 'c'], ['mn'], { name: 'min' }),
    node('Sum', ['a', 'b', 'c'], ['sm'], { name: 'sum' }),
    node('Mean', ['a', 'b', 'c'], ['mean'], { name: 'mean' }),
  ], inputs: [{ name: 'a', dims: [2, 3] }, { name: 'b', dims: [3] }], inits: [floatTensor('c', [2, 1], [0.25, -0.5])],
  outputs: [{ name: 'mx', dims: [2, 3] }, { name: 'mn', dims: [2, 3] }, { name: 'sm', dims: [2, 3] }, { name: 'mean', dims: [2, 3] }] },
];

// Ties on purpose: ArgMax's first/last index rule is observable.
const ties = [0.5, -0.25, 0.5, 0.125, -1, 0.75, 0.75, 0.75, 0, 0, -0.5, 0];
const argCases: Case[] = [
  { name: 'ArgMax axis 1 keepdims 0, first index on ties', nodes: [node('ArgMax', ['x'], ['y'], { name: 'a', attrs: { axis: attr.int(1), keepdims: attr.int(0) } })], inputs: [{ name: 'x', dims: [3, 4], data: ties }], outputs: [{ name: 'y', dims: [3], int: true }], exact: true },
  { name: 'ArgMax select_last_index', nodes: [node('ArgMax', ['x'], ['y'], { name: 'a', attrs: { axis: attr.int(1), select_last_index: attr.int(1) } })], inputs: [{ name: 'x', dims: [3, 4], data: ties }], outputs: [{ name: 'y', dims: [3, 1], int: true }], exact: true },
  { name: 'ArgMin axis 0', nodes: [node('ArgMin', ['x'], ['y'], { name: 'a', attrs: { axis: attr.int(0) } })], inputs: [{ name: 'x', dims: [3, 4], data: ties }], outputs: [{ name: 'y', dims: [1, 4], int: true }], exact: true },
];

const act = (name: string, nodes: Node[], opts: Partial<Case> = {}): Case => ({ name, nodes, inputs: [{ name: 'x', dims: [2, 3, 4] }], outputs: [{ name: 'y', dims: [2, 3, 4] }], ...opts });
const activationCases: Case[] = [
  act('Clip min and max inputs (ReLU6 on [-8, 8))', [node('Clip', ['x', 'lo', 'hi'], ['y'], { name: 'c' })], { inits: [floatTensor('lo', [], [0]), floatTensor('hi', [], [6])], inputs: [{ name: 'x', dims: [2, 3, 4], data: grid(24, 8) }], inputRange: [-8, 8] }),
  act('Clip max only', [node('Clip', ['x', '', 'hi'], ['y'], { name: 'c' })], { inits: [floatTensor('hi', [], [0.25])], exact: true }),
  act('Clip opset 6 attributes', [node('Clip', ['x'], ['y'], { name: 'c', attrs: { min: attr.float(-0.5), max: attr.float(0.375) } })], { opset: 6, exact: true }),
  act('Clip min > max gives max', [node('Clip', ['x', 'lo', 'hi'], ['y'], { name: 'c' })], { inits: [floatTensor('lo', [], [0.5]), floatTensor('hi', [], [0.25])], exact: true }),
  act('LeakyRelu alpha 0.1', [node('LeakyRelu', ['x'], ['y'], { name: 'l', attrs: { alpha: attr.float(0.1) } })]),
  act('PRelu per channel', [node('PRelu', ['x', 'slope'], ['y'], { name: 'p' })], { inits: [floatTensor('slope', [3, 1], [0.25, -0.5, 0.01])] }),
  act('HardSigmoid alpha beta', [node('HardSigmoid', ['x'], ['y'], { name: 'h', attrs: { alpha: attr.float(0.3), beta: attr.float(0.4) } })], { inputs: [{ name: 'x', dims: [2, 3, 4], data: grid(24, 4) }], inputRange: [-4, 4] }),
  act('HardSwish', [node('HardSwish', ['x'], ['y'], { name: 'h' })], { opset: 14, inputs: [{ name: 'x', dims: [2, 3, 4], data: grid(24, 4) }], inputRange: [-4, 4] }),
  act('Sigmoid', [node('Sigmoid', ['x'], ['y'], { name: 's' })], { inputs: [{ name: 'x', dims: [2, 3, 4], data: grid(24, 8) }], inputRange: [-8, 8] }),
  act('Tanh', [node('Tanh', ['x'], ['y'], { name: 't' })], { inputs: [{ name: 'x', dims: [2, 3, 4], data: grid(24, 4) }], inputRange: [-4, 4] }),
  // Integer inputs, coarser than the table's grid: raised to it, no remainder and no interpolation product.
  act('Sigmoid of integers', [node('Sigmoid', ['x'], ['y'], { name: 's' })], { inputs: [{ name: 'x', dims: [2, 3, 4], data: grid(24, 8).map(Math.round) }], inputRange: [-8, 8], inputScale: 0 }),
];

for (const c of [...convCases, ...poolCases, ...reduceCases, ...argCases, ...activationCases]) {
  test(`semantics: ${c.name} agrees with onnxruntime${c.exact ? ' exactly' : ''}`, async () => {
    await semantics(c);
  });
}

test('semantics: Conv and linear pools cost no constraints; comparisons cost n - 1 per window', async () => {
  const conv = await semantics(convCases[0]);
  assert.equal(conv.program.gadgets.filter((g) => g.node === 'conv').length, 0, 'a convolution is linear');
  const avg = await semantics(poolCases[9]);
  assert.equal(avg.program.gadgets.filter((g) => g.node === 'pool').length, 0, 'an average pool is linear');
  const mp = await semantics(poolCases[1]);
  // 7x7, 2x2 windows, stride 2, ceil_mode: 9 full windows (3 comparisons), 6 edge windows of 2 (1), 1 corner of 1 (0).
  assert.equal(mp.program.gadgets.filter((g) => g.node === 'pool').length, 9 * 3 + 6 * 1, 'n - 1 comparisons per window');
});

test('Sigmoid and Tanh tables: exact integers within the stated error bound over a sweep of inputs', async () => {
  for (const op of ['Sigmoid', 'Tanh'] as const) {
    const fn = SMOOTH[op];
    const g = tableGrid(fn, S);
    // Inputs with 12 fractional bits over [-16, 16]: every cell, both clamps and the remainder's full resolution.
    const xs = Array.from({ length: 2049 }, (_, i) => -16 + i / 64);
    const c = act(op, [node(op, ['x'], ['y'], { name: 's' })], { inputs: [{ name: 'x', dims: [xs.length], data: xs }], outputs: [{ name: 'y', dims: [xs.length] }] });
    const path = writeCase(c);
    const { lowered } = analyze(path, { inputRange: [-16, 16], inputScale: 12 });
    const E = lowered.outputs[0].exp;
    const bound = tableErrorBound(fn, g, E);
    assert.ok(bound < 0.0022, `${op}: the stated bound at s = 8 is below 0.0022 (${bound})`);
    const run = lowered.program.execute(new Map([[lowered.inputs[0].name, xs.map((v) => toFixed(v, 12, 'x'))]]));
    const y = run.outputs.get(lowered.outputs[0].name)!.map((v) => Number(v) * 2 ** -E);
    const worst = Math.max(...y.map((v, i) => Math.abs(v - fn.f(xs[i]))));
    assert.ok(worst <= bound, `${op}: worst error ${worst} exceeds the stated bound ${bound}`);
  }
});

test('Clip with both bounds fuses the lower one into the requantization: one decomposition and one comparison', async () => {
  const lowered = await semantics(activationCases[0]);
  const kinds = lowered.program.gadgets.filter((g) => g.node === 'c').map((g) => g.def.kind);
  assert.equal(kinds.filter((k) => k === 'requant').length, 24);
  assert.equal(kinds.filter((k) => k === 'max').length, 24);
});

test('pool before ReLU: swapped only where the gadgets count fewer constraints, and the integers are identical', async () => {
  const { loadOnnx } = await import('../src/compiler/passes/load.ts');
  const { lowerGraph } = await import('../src/compiler/lower.ts');
  const { lowerPoolsFirst } = await import('../src/compiler/passes/reorder-pools.ts');
  const opts = { ...DEFAULT_QUANT, inputRange: [-1, 1] as [number, number] };
  // Disjoint 2x2 windows: one requantization per window instead of four. Overlapping 3x3 windows at stride 1:
  // nine comparisons of wide accumulators per output cost more than one narrow requantization per element.
  for (const [poolAttrs, out, swapExpected] of [
    [{ kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) }, [1, 2, 3, 3], true],
    [{ kernel_shape: attr.ints([3, 3]) }, [1, 2, 4, 4], false],
  ] as const) {
    const path = writeCase({
      name: `conv_relu_pool_${swapExpected}`,
      nodes: [
        node('Conv', ['x', 'W'], ['c'], { name: 'conv' }),
        node('Relu', ['c'], ['r'], { name: 'relu' }),
        node('MaxPool', ['r'], ['y'], { name: 'pool', attrs: poolAttrs }),
      ],
      inputs: [{ name: 'x', dims: [1, 2, 8, 8] }],
      outputs: [{ name: 'y', dims: [...out] }],
      inits: [floatTensor('W', [2, 2, 3, 3], weights(36))],
    });
    const reports: { before: number; after: number; swapped: boolean }[] = [];
    const swapped = lowerPoolsFirst(loadOnnx(path), opts, (r) => reports.push(r));
    const plain = lowerGraph(loadOnnx(path), opts);
    assert.equal(reports.length, 1);
    assert.equal(reports[0].swapped, swapExpected, JSON.stringify(reports[0]));
    assert.equal(reports[0].swapped, reports[0].after < reports[0].before);
    const cost = (l: typeof plain) => [...l.program.costByNode().values()].reduce((a, b) => a + b, 0);
    assert.equal(cost(swapped), Math.min(reports[0].before, reports[0].after) + cost(plain) - reports[0].before, 'the chosen order costs what was predicted');
    assert.equal(swapped.outputs[0].exp, plain.outputs[0].exp);
    for (let trial = 0; trial < 5; trial++) {
      const x = new Map([[plain.inputs[0].name, grid(128).map((v) => toFixed(v, plain.inputs[0].exp, 'x'))]]);
      assert.deepEqual(swapped.program.execute(x).outputs, plain.program.execute(x).outputs, 'MaxPool commutes with requantization and ReLU, exactly');
    }
  }
});

// ---- 2. circuits -------------------------------------------------------------------------------------------

async function ortOutputs(path: string, manifestInputs: { name: string; shape: number[] }[], input: unknown): Promise<number[][]> {
  const values = readInputValues(input, manifestInputs, path);
  const f = await FloatModel.load(path);
  const out = await f.run(manifestInputs.map((s, k) => ({ name: s.name, dims: s.shape, data: values[k] })));
  return out.map((t) => t.data);
}

/**
 * Compiles, cross-checks (witness = reference, gadget by gadget; every constraint satisfied), compares every
 * output with onnxruntime within `tol` (per output; exact where 0), checks circom's count against the cost
 * model, and checks that a changed output breaks a constraint.
 */
async function circuit(path: string, input: Record<string, number[]> | unknown, opts: { inputRange: [number, number]; inputScale?: number }, tol: (expected: number[], k: number) => number) {
  const r = await compileAndCheck(path, input, opts);
  assert.deepEqual(r.check.mismatches, [], 'every gadget output and circuit output equals the reference executor');
  assert.deepEqual(r.check.violated, [], 'the witness satisfies every constraint');
  const ort = await ortOutputs(path, r.manifest.inputs, input);
  r.floats.forEach((got, k) => {
    const t = tol(ort[k], k);
    const diff = maxAbsDiff(got, ort[k]);
    assert.ok(diff <= t, `output ${k}: ${diff} from onnxruntime exceeds ${t}`);
  });
  const estimated = r.manifest.layers.reduce((a, l) => a + l.constraints, 0);
  const outputs = r.manifest.outputs.reduce((a, o) => a + size(o.shape), 0);
  assert.ok(r.manifest.constraints >= estimated && r.manifest.constraints <= estimated + outputs, `circom counts ${r.manifest.constraints}, the gadgets' cost model ${estimated}`);
  const out = r.check.symbols.get('main.out0[0]')!;
  const tampered = r.check.witness.slice();
  tampered[out] += 1n;
  assert.ok(violatedConstraints(r.check.r1cs, tampered, 1).length > 0, 'a changed output violates a constraint');
  return { ...r, ort };
}

const scaled = (expected: number[]) => tolerance(S, expected);

test('circuit: a small CNN (grouped conv, ReLU, MaxPool, depthwise SAME conv, ReLU6, AveragePool, Gemm, ArgMax)', async () => {
  const c: Case = {
    name: 'tiny_cnn',
    nodes: [
      node('Conv', ['x', 'W1', 'B1'], ['c1'], { name: 'conv1', attrs: { group: attr.int(2), pads: attr.ints([1, 1, 1, 1]) } }),
      node('Relu', ['c1'], ['r1'], { name: 'relu1' }),
      node('MaxPool', ['r1'], ['p1'], { name: 'pool1', attrs: { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) } }),
      node('Conv', ['p1', 'W2'], ['c2'], { name: 'conv2', attrs: { group: attr.int(4), auto_pad: attr.string('SAME_UPPER') } }),
      node('Clip', ['c2', 'zero', 'six'], ['r2'], { name: 'relu6' }),
      node('AveragePool', ['r2'], ['p2'], { name: 'pool2', attrs: { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) } }),
      node('Flatten', ['p2'], ['f'], { name: 'flatten' }),
      node('Gemm', ['f', 'W3', 'B3'], ['logits'], { name: 'fc', attrs: { transB: attr.int(1) } }),
      node('ArgMax', ['logits'], ['label'], { name: 'argmax', attrs: { axis: attr.int(1) } }),
    ],
    inputs: [{ name: 'x', dims: [1, 2, 8, 8] }],
    outputs: [{ name: 'logits', dims: [1, 3] }, { name: 'label', dims: [1, 1], int: true }],
    inits: [
      floatTensor('W1', [4, 1, 3, 3], weights(36)), floatTensor('B1', [4], weights(4, 0.1)),
      floatTensor('W2', [4, 1, 3, 3], weights(36)),
      floatTensor('zero', [], [0]), floatTensor('six', [], [6]),
      floatTensor('W3', [3, 16], weights(48)), floatTensor('B3', [3], weights(3, 0.1)),
    ],
  };
  const path = writeCase(c);
  const r = await circuit(path, { x: grid(128) }, { inputRange: [-1, 1] }, (e, k) => (k === 1 ? 0 : scaled(e)));
  // The MaxPool ran on the accumulator, before the ReLU, because that was cheaper here.
  const order = analyze(path, { inputRange: [-1, 1] }).graph.nodes.map((n) => n.name);
  assert.ok(order.indexOf('pool1') < order.indexOf('relu1'), `pool before relu: ${order.join(', ')}`);
  assert.equal(r.manifest.layers.find((l) => l.node === 'conv1')?.constraints ?? 0, 0, 'convolutions cost nothing');
});

test('circuit: activations (LeakyRelu, PRelu, HardSigmoid, HardSwish, Sigmoid, Tanh, Clip)', async () => {
  const ops: [string, string[], Record<string, ReturnType<typeof attr.int>>?][] = [
    ['LeakyRelu', ['x'], { alpha: attr.float(0.2) }], ['PRelu', ['x', 'slope']], ['HardSigmoid', ['x']], ['HardSwish', ['x']],
    ['Sigmoid', ['x']], ['Tanh', ['x']], ['Clip', ['x', 'lo', 'hi']],
  ];
  const c: Case = {
    name: 'activations',
    nodes: ops.map(([op, ins, attrs], k) => node(op, ins, [`y${k}`], { name: op.toLowerCase(), attrs })),
    inputs: [{ name: 'x', dims: [1, 8] }],
    outputs: ops.map((_, k) => ({ name: `y${k}`, dims: [1, 8] })),
    inits: [floatTensor('slope', [8], weights(8)), floatTensor('lo', [], [-0.5]), floatTensor('hi', [], [0.5])],
    opset: 14,
  };
  const path = writeCase(c);
  const table = (op: 'Sigmoid' | 'Tanh') => tableErrorBound(SMOOTH[op], tableGrid(SMOOTH[op], S), 2 * S);
  const tol = (e: number[], k: number) => scaled(e) + (k === 4 ? table('Sigmoid') : k === 5 ? table('Tanh') : 0);
  await circuit(path, { x: grid(8, 4) }, { inputRange: [-4, 4], inputScale: S }, tol);
});

test('circuit: reductions (ReduceMax, ReduceMin, ReduceMean, ArgMin, Max, Sum, GlobalMaxPool)', async () => {
  const c: Case = {
    name: 'reductions',
    nodes: [
      node('ReduceMax', ['x'], ['r0'], { name: 'rmax', attrs: { axes: attr.ints([3]) } }),
      node('ReduceMin', ['x'], ['r1'], { name: 'rmin', attrs: { keepdims: attr.int(0) } }),
      node('ReduceMean', ['x'], ['r2'], { name: 'rmean', attrs: { axes: attr.ints([1]) } }),
      node('ArgMin', ['x'], ['r3'], { name: 'argmin', attrs: { axis: attr.int(2), select_last_index: attr.int(1) } }),
      node('Max', ['x', 'c'], ['r4'], { name: 'max' }),
      node('Sum', ['x', 'x', 'c'], ['r5'], { name: 'sum' }),
      node('GlobalMaxPool', ['x'], ['r6'], { name: 'gmp' }),
    ],
    inputs: [{ name: 'x', dims: [1, 2, 3, 4] }],
    outputs: [
      { name: 'r0', dims: [1, 2, 3, 1] }, { name: 'r1', dims: [] }, { name: 'r2', dims: [1, 1, 3, 4] }, { name: 'r3', dims: [1, 2, 1, 4], int: true },
      { name: 'r4', dims: [1, 2, 3, 4] }, { name: 'r5', dims: [1, 2, 3, 4] }, { name: 'r6', dims: [1, 2, 1, 1] },
    ],
    inits: [floatTensor('c', [4], [0.25, -0.5, 0, 0.125])],
  };
  const path = writeCase(c);
  const x = grid(24);
  x[5] = x[9]; // a tie along ArgMin's axis
  // Everything but the mean (a division by 2: exact too) only picks or adds grid values: exact.
  await circuit(path, { x }, { inputRange: [-1, 1] }, () => 0);
});

test('Softmax inside the network, MaxPool with its Indices output and Conv with computed weights lower (they were once refused)', async () => {
  const c: Case = {
    name: 'softmax_inside',
    nodes: [node('Softmax', ['x'], ['s'], { name: 'inner_softmax' }), node('Relu', ['s'], ['y'], { name: 'relu' })],
    inputs: [{ name: 'x', dims: [1, 4] }],
    outputs: [{ name: 'y', dims: [1, 4] }],
  };
  assert.doesNotThrow(() => analyze(writeCase(c)));
  const pooled: Case = {
    name: 'maxpool_indices',
    nodes: [node('MaxPool', ['x'], ['y', 'idx'], { name: 'mp', attrs: { kernel_shape: attr.ints([2, 2]) } })],
    inputs: [{ name: 'x', dims: [1, 1, 4, 4] }],
    outputs: [{ name: 'y', dims: [1, 1, 3, 3] }, { name: 'idx', dims: [1, 1, 3, 3], int: true }],
  };
  // The Indices output is the first maximum's flat index per window (ops/pool.ts; values in test/ops-static.test.ts).
  assert.deepEqual(analyze(writeCase(pooled)).lowered.outputs.map((o) => o.name), ['y', 'idx']);
  const computedWeights: Case = {
    name: 'conv_computed_weights',
    nodes: [node('Conv', ['x', 'w'], ['y'], { name: 'conv' })],
    inputs: [{ name: 'x', dims: [1, 1, 3, 3] }, { name: 'w', dims: [1, 1, 2, 2] }],
    outputs: [{ name: 'y', dims: [1, 1, 2, 2] }],
  };
  // Computed weights are products of activations now (ops/conv.ts; values checked in test/ops-computed.test.ts).
  assert.ok(analyze(writeCase(computedWeights)).lowered.program.gadgets.some((g) => g.node === 'conv' && g.def.kind === 'product'));
});

// ---- 3. third-party models ---------------------------------------------------------------------------------

const EZKL = join(SHARED_MODELS, 'ezkl-examples');

/** Model, input range covering its shipped input, and the extra error of its table activations if any. */
const EZKL_MODELS: [string, [number, number], number?][] = [
  ['1l_conv', [-1, 1]],
  ['1l_downsample', [-1, 1]],
  ['1l_max_pool', [-1, 1]],
  ['1l_average', [-1, 1]],
  ['1l_pad', [-1, 1]],
  ['1l_concat', [-1, 1]],
  ['1l_leakyrelu', [-1, 1]],
  ['1l_prelu', [-1, 1]],
  ['1l_sigmoid', [-1, 1], tableErrorBound(SMOOTH.Sigmoid, tableGrid(SMOOTH.Sigmoid, S), 2 * S)],
  ['1l_tanh', [-4, 4], tableErrorBound(SMOOTH.Tanh, tableGrid(SMOOTH.Tanh, S), 2 * S)],
  ['clip', [-1, 1]],
  ['hard_sigmoid', [-1, 1]],
  ['hard_swish', [-1, 1]],
  ['max', [-1, 1]],
  ['min', [-1, 1]],
  ['1l_mean', [0, 128]],
  ['1l_var', [-1, 1]],
  ['1l_softmax', [-1, 1]],
  ['sklearn_mlp', [-1, 1]],
  ['3l_relu_conv_fc', [-1, 1]],
  ['2l_relu_sigmoid_conv', [-1, 1], tableErrorBound(SMOOTH.Sigmoid, tableGrid(SMOOTH.Sigmoid, S), 2 * S)],
];

for (const [name, inputRange, extra] of EZKL_MODELS) {
  test(`ezkl example ${name}: circuit = reference, and matches onnxruntime and the shipped output`, async () => {
    const path = join(requireShared(EZKL), name, 'network.onnx');
    const input = JSON.parse(readFileSync(join(EZKL, name, 'input.json'), 'utf8'));
    // Inputs keep s fractional bits whatever their range, so the tolerance is in steps of 2^-s throughout.
    const tol = (e: number[]) => scaled(e) + (extra ?? 0);
    const r = await circuit(path, input, { inputRange, inputScale: S }, tol);
    if (input.output_data) {
      const shipped: number[] = input.output_data.flat(Infinity);
      const t = tol(shipped);
      assert.ok(maxAbsDiff(r.floats[0], shipped) <= t, `vs shipped output: ${maxAbsDiff(r.floats[0], shipped)} > ${t}`);
    }
  });
}

test('ezkl example variable_cnn: the integer program matches onnxruntime and the shipped output', async () => {
  const path = join(requireShared(EZKL), 'variable_cnn', 'network.onnx');
  const input = JSON.parse(readFileSync(join(EZKL, 'variable_cnn', 'input.json'), 'utf8'));
  const data = (input.input_data as unknown[]).flat(Infinity) as number[];
  const { ours, ort } = await bothWays(path, [{ name: 'input', dims: [1, 1, 28, 28], data }], { inputRange: [-4, 4], inputScale: S });
  const shipped: number[] = input.output_data.flat(Infinity);
  assert.ok(maxAbsDiff(ours[0], ort[0]) <= scaled(ort[0]), `vs onnxruntime: ${maxAbsDiff(ours[0], ort[0])}`);
  assert.ok(maxAbsDiff(ours[0], shipped) <= scaled(shipped), `vs shipped: ${maxAbsDiff(ours[0], shipped)}`);
});

// The full circuit of variable_cnn (a 1568→100 Gemm, ~157k linear terms) takes about two minutes to compile on
// 2 cores: its integer program is checked above on every run; ZKML_CNN_FULL=1 also compiles the circuit.
const full = (why: string) => (process.env.ZKML_CNN_FULL ? {} : { skip: `${why}; set ZKML_CNN_FULL=1 to run` });

test('ezkl example variable_cnn: full circuit', full('two minutes of circom'), async () => {
  const path = join(requireShared(EZKL), 'variable_cnn', 'network.onnx');
  const input = JSON.parse(readFileSync(join(EZKL, 'variable_cnn', 'input.json'), 'utf8'));
  await circuit(path, input, { inputRange: [-4, 4], inputScale: S }, scaled);
});

// Once out of scope (Pow, LayerNormalization): Pow by a constant is products and a root (ops/arith.ts), LayerNorm
// a proven mean, variance and reciprocal square root (ops/normalization.ts). Their error is those ops' bounds
// (quotients and roots at scale s) summed over a few layers: 16 steps of 2^-s bounds it with room.
for (const name of ['large_op_graph', 'layernorm']) {
  test(`ezkl example ${name}: circuit = reference, and matches onnxruntime`, async () => {
    const path = join(requireShared(EZKL), name, 'network.onnx');
    const input = JSON.parse(readFileSync(join(EZKL, name, 'input.json'), 'utf8'));
    const flat = (input.input_data as unknown[]).flat(Infinity) as number[];
    const m = Math.ceil(Math.max(1, ...flat.map(Math.abs)));
    await circuit(path, input, { inputRange: [-m, m] }, (e) => 2 * scaled(e));
  });
}

// ---- 4. the model-zoo MNIST CNN ----------------------------------------------------------------------------

const ZOO = join(SHARED_MODELS, 'onnx-zoo-mnist');
const readPb = (p: string) => decodeTensor(onnxProto.onnx.TensorProto.decode(readFileSync(p)), p);

test('model-zoo MNIST CNN: the integer program matches the shipped outputs and onnxruntime; per-layer costs', async () => {
  const path = join(requireShared(ZOO), 'model.onnx');
  const started = Date.now();
  const { lowered, graph } = analyze(path, { inputRange: [0, 255] });
  const analyzeMs = Date.now() - started;
  const ort = await FloatModel.load(path);
  for (const set of [0, 1, 2]) {
    const x = readPb(join(ZOO, `test_data_set_${set}`, 'input_0.pb'));
    const y = readPb(join(ZOO, `test_data_set_${set}`, 'output_0.pb'));
    assert.ok(x.data.every((v) => Number.isInteger(v) && v >= 0 && v <= 255), 'raw pixels: integers, exact at 0 fractional bits');
    const run = lowered.program.execute(new Map([[lowered.inputs[0].name, x.data.map((v) => BigInt(v))]]));
    const out = run.outputs.get(lowered.outputs[0].name)!.map((v) => Number(v) * 2 ** -lowered.outputs[0].exp);
    const [o] = await ort.run([{ name: 'Input3', dims: [1, 1, 28, 28], data: x.data }]);
    // Logits reach ~6,000 (raw 0..255 pixels): the tolerance is relative, 8 steps of 2^-s times their magnitude.
    assert.ok(maxAbsDiff(out, y.data) <= tolerance(S, y.data), `set ${set}: vs shipped ${maxAbsDiff(out, y.data)} > ${tolerance(S, y.data)}`);
    assert.ok(maxAbsDiff(out, o.data) <= tolerance(S, o.data), `set ${set}: vs onnxruntime ${maxAbsDiff(out, o.data)}`);
    assert.equal(out.indexOf(Math.max(...out)), y.data.indexOf(Math.max(...y.data)), 'same class');
  }
  // Both MaxPools run before their ReLUs (cheaper here), and the convolutions cost nothing.
  const order = graph.nodes.map((n) => n.name);
  assert.ok(order.indexOf('Pooling66') < order.indexOf('ReLU32') && order.indexOf('Pooling160') < order.indexOf('ReLU114'), order.join(', '));
  const costs = lowered.program.costByNode();
  const total = [...costs.values()].reduce((a, b) => a + b, 0);
  assert.ok(!costs.has('Convolution28') && !costs.has('Convolution110'));
  console.log(`# MNIST CNN: ${total} constraints (analysis ${analyzeMs} ms): ${[...costs].map(([n, c]) => `${n} ${c}`).join(', ')}`);
  assert.ok(total < 210_000, `the MNIST CNN costs ${total} constraints`);
});

// The full circuit: 203k constraints, compiled by circom2 in about two minutes; the witness must equal the
// reference executor gadget by gadget and satisfy every constraint. Proving it needs a 2^18 ptau and minutes of
// setup: ZKML_CNN_FULL=1 does that too (npm run bench always does, and reports the times).
test('model-zoo MNIST CNN: full circuit, witness = reference on one test set (and proven with ZKML_CNN_FULL=1)', async () => {
  const path = join(requireShared(ZOO), 'model.onnx');
  const x = readPb(join(ZOO, 'test_data_set_0', 'input_0.pb'));
  const y = readPb(join(ZOO, 'test_data_set_0', 'output_0.pb'));
  const r = await compileAndCheck(path, { Input3: x.data }, { inputRange: [0, 255] });
  assert.deepEqual(r.check.mismatches, []);
  assert.deepEqual(r.check.violated, []);
  assert.ok(maxAbsDiff(r.floats[0], y.data) <= tolerance(S, y.data));
  const cost = [...r.program.costByNode().values()].reduce((a, b) => a + b, 0);
  // The default back end adds a row per long linear combination kept out of the matrices; in circom's
  // elimination mode it counts exactly what the cost model (and circom --O2) says.
  assert.equal(r.manifest.constraints, constraintCount(r.program, false), 'compile counts what its back end builds');
  assert.equal(constraintCount(r.program, false, 'circom'), cost, 'circom elimination counts what the cost model says');
  if (!process.env.ZKML_CNN_FULL) return;
  await setup(r.dir);
  const out = join(tempDir('cnn-proof'), 'out');
  const proof = await prove(r.dir, { Input3: x.data }, { out });
  assert.equal(proof.outputs.outputs[0].argmax, y.data.indexOf(Math.max(...y.data)));
  assert.equal((await verify(r.dir, out)).valid, true);
});
