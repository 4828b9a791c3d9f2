/**
 * Normalizations with proven statistics (src/ops/normalization.ts) and the squared/absolute reductions
 * (src/ops/reduce.ts): LayerNormalization (opset 17, any axis, with Mean and InvStdDev), its decomposed form
 * (ReduceMean/Sub/Pow/Add/Sqrt/Div, through ops/arith.ts), InstanceNormalization, MeanVarianceNormalization,
 * LpNormalization, ReduceSumSquare/L1/L2. Each model is compared with onnxruntime on seeded random inputs and
 * compiled (the witness equals the reference executor and satisfies every constraint).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_QUANT } from '../src/quantize/options.ts';
import * as b from '../fixtures/onnx-builder.ts';
import { floatOpHarness } from './helpers/float-ops.ts';
import { witnessedBuild } from './helpers/builds.ts';
import { classifySignals, MutationTarget, sweep } from '../src/audit/mutate.ts';

const inputRange: [number, number] = [-2, 2];
/** Seeded grid inputs, worst error against onnxruntime, checked compiles (test/helpers/float-ops.ts). */
const harness = floatOpHarness('ops-norm', inputRange);
const { save, randomInputs, worstErrors } = harness;
const compiles = async (path: string, input: Record<string, number[]>) => (await harness.compiles(path, input)).kinds;
const SCALE = DEFAULT_QUANT.scale;


const gamma = [1, 0.5, -0.75, 2, 0.25, 1.5];
const beta = [0, 0.25, -0.5, 0.125, 1, -1];

// x [2, 6]: LayerNormalization over the last axis, and the same thing decomposed.
const layerNormModel = save({
  name: 'layernorm',
  opset: 17,
  nodes: [
    b.node('LayerNormalization', ['x', 'gamma', 'beta'], ['y', 'mean', 'inv'], { name: 'ln', attrs: { axis: b.attr.int(-1), epsilon: b.attr.float(1e-3) } }),
    b.node('ReduceMean', ['x'], ['mu'], { name: 'mu', attrs: { axes: b.attr.ints([-1]) } }),
    b.node('Sub', ['x', 'mu'], ['d'], { name: 'd' }),
    b.node('Pow', ['d', 'two'], ['d2'], { name: 'd2' }),
    b.node('ReduceMean', ['d2'], ['var'], { name: 'var', attrs: { axes: b.attr.ints([-1]) } }),
    b.node('Add', ['var', 'eps'], ['ve'], { name: 've' }),
    b.node('Sqrt', ['ve'], ['sd'], { name: 'sd' }),
    b.node('Div', ['d', 'sd'], ['z'], { name: 'z' }),
    b.node('Mul', ['z', 'gamma'], ['zg'], { name: 'zg' }),
    b.node('Add', ['zg', 'beta'], ['y2'], { name: 'y2' }),
  ],
  inputs: [b.valueInfo('x', [2, 6])],
  outputs: [b.valueInfo('y', [2, 6]), b.valueInfo('mean', [2, 1]), b.valueInfo('inv', [2, 1]), b.valueInfo('y2', [2, 6])],
  initializers: [b.floatTensor('gamma', [6], gamma), b.floatTensor('beta', [6], beta), b.floatTensor('two', [], [2]), b.floatTensor('eps', [], [1e-3])],
});

test('LayerNormalization and its decomposed form agree with onnxruntime; variance and 1/σ are proven', async () => {
  const worst = await worstErrors(layerNormModel, { x: 12 }, 8, 21);
  // Rows of 6 values in [-2, 2]: σ is rarely below 0.3, where R = floor(√T) is off by < 2^-9/σ relative; the
  // output is within a few steps of 2^-8 times |γ| <= 2 (inv: 1/σ up to ~30 in rare rows, relative error).
  for (const [name, d] of worst) assert.ok(d <= 16 * 2 ** -SCALE, `${name}: error ${d}`);
  const kinds = await compiles(layerNormModel, { x: randomInputs(4, 12) });
  const ln = kinds('ln');
  assert.equal(ln.filter((k) => k === 'square').length, 12, 'one ZkSquare per element (the variance)');
  assert.equal(ln.filter((k) => k === 'root').length, 2, 'one ZkRoot per row (the standard deviation)');
  assert.equal(ln.filter((k) => k === 'quotient').length, 12 + 2, 'one ZkQuotient per element, and one per row for InvStdDev');
});

// LayerNormalization over the last two axes with a computed Scale and B (inputs g, h of shape [2, 3]).
const computedScaleModel = save({
  name: 'layernorm_computed_scale',
  opset: 17,
  nodes: [b.node('LayerNormalization', ['x', 'g', 'h'], ['y'], { name: 'ln2', attrs: { axis: b.attr.int(-2) } })],
  inputs: [b.valueInfo('x', [2, 2, 3]), b.valueInfo('g', [2, 3]), b.valueInfo('h', [2, 3])],
  outputs: [b.valueInfo('y', [2, 2, 3])],
});

test('LayerNormalization over two axes with a computed Scale and B: agrees with onnxruntime, one product per element for the Scale', async () => {
  const worst = await worstErrors(computedScaleModel, { x: 12, g: 6, h: 6 }, 8, 51);
  for (const [name, d] of worst) assert.ok(d <= 16 * 2 ** -SCALE, `${name}: error ${d}`);
  const kinds = await compiles(computedScaleModel, { x: randomInputs(9, 12), g: randomInputs(10, 6), h: randomInputs(11, 6) });
  assert.equal(kinds('ln2').filter((k) => k === 'product').length, 12, 'y·γ: one product per element');
  assert.equal(kinds('ln2').filter((k) => k === 'root').length, 2, 'one square root per group of 6');
});

// x [1, 2, 2, 3]: InstanceNormalization and MVN over the spatial axes; LpNormalization p = 1, 2; reductions.
const otherModel = save({
  name: 'norms',
  opset: 17,
  nodes: [
    b.node('InstanceNormalization', ['x', 's', 'bias'], ['inorm'], { name: 'inorm', attrs: { epsilon: b.attr.float(1e-2) } }),
    b.node('MeanVarianceNormalization', ['x'], ['mvn'], { name: 'mvn' }),
    b.node('LpNormalization', ['x'], ['l2n'], { name: 'l2n', attrs: { axis: b.attr.int(-1), p: b.attr.int(2) } }),
    b.node('LpNormalization', ['x'], ['l1n'], { name: 'l1n', attrs: { axis: b.attr.int(1), p: b.attr.int(1) } }),
    b.node('ReduceSumSquare', ['x'], ['ss'], { name: 'ss', attrs: { axes: b.attr.ints([2, 3]) } }),
    b.node('ReduceL1', ['x'], ['l1'], { name: 'l1', attrs: { axes: b.attr.ints([3]) } }),
    b.node('ReduceL2', ['x'], ['l2'], { name: 'l2', attrs: { axes: b.attr.ints([1]), keepdims: b.attr.int(0) } }),
  ],
  inputs: [b.valueInfo('x', [1, 2, 2, 3])],
  outputs: [
    b.valueInfo('inorm', [1, 2, 2, 3]), b.valueInfo('mvn', [1, 2, 2, 3]), b.valueInfo('l2n', [1, 2, 2, 3]), b.valueInfo('l1n', [1, 2, 2, 3]),
    b.valueInfo('ss', [1, 2, 1, 1]), b.valueInfo('l1', [1, 2, 2, 1]), b.valueInfo('l2', [1, 2, 3]),
  ],
  initializers: [b.floatTensor('s', [2], [1.5, -0.5]), b.floatTensor('bias', [2], [0.25, 0])],
});

test('InstanceNormalization, MeanVarianceNormalization, LpNormalization, ReduceSumSquare/L1/L2 agree with onnxruntime and compile soundly', async () => {
  const worst = await worstErrors(otherModel, { x: 12 }, 8, 31);
  // Normalized outputs: as LayerNorm; l2n, l1n divide by norms >= |x_i| (error a few steps); the reductions are
  // exact (ss, l1) or one floor square root (l2).
  for (const [name, d] of worst) assert.ok(d <= 16 * 2 ** -SCALE, `${name}: error ${d}`);
  const kinds = await compiles(otherModel, { x: randomInputs(8, 12) });
  assert.equal(kinds('ss').filter((k) => k === 'square').length, 12);
  assert.equal(kinds('l2').filter((k) => k === 'root').length, 6);
  assert.equal(kinds('l2n').filter((k) => k === 'quotient').length, 12);
});

// A LayerNormalization row of 4 followed by a Div by a computed norm: every witness signal of the compiled
// circuit (quotients, roots, squares, their remainders and bits) is tampered with, and each tamper must break
// a constraint.
const mutationModel = save({
  name: 'norm_mutation',
  opset: 17,
  nodes: [
    b.node('LayerNormalization', ['x', 'g4', 'b4'], ['y'], { name: 'ln_m' }),
    b.node('LpNormalization', ['x'], ['z'], { name: 'lp_m', attrs: { p: b.attr.int(2) } }),
  ],
  inputs: [b.valueInfo('x', [1, 4])],
  outputs: [b.valueInfo('y', [1, 4]), b.valueInfo('z', [1, 4])],
  initializers: [b.floatTensor('g4', [4], [1, -0.5, 2, 0.25]), b.floatTensor('b4', [4], [0, 0.5, -0.25, 1])],
});

test('mutation: every tampered signal of a LayerNormalization/LpNormalization circuit breaks a constraint', async () => {
  const { program, check } = await witnessedBuild(mutationModel, { x: [0.5, -1.25, 1.75, 0.125] }, { inputRange });
  assert.deepEqual(check.mismatches, []);
  assert.deepEqual(check.violated, []);
  const signals = classifySignals(program, check.symbols, check.r1cs);
  const classes = new Set(signals.map((s) => s.cls));
  for (const c of ['quotient signal', 'root signal', 'square signal']) assert.ok(classes.has(c as never), `the build has ${c}s to tamper with (has: ${[...classes].join(', ')})`);
  const tally = sweep(new MutationTarget(check.r1cs, check.witness, signals), signals);
  assert.deepEqual(tally.uncaught.map((r) => `${r.signal.name}: ${r.outcome}`), []);
  assert.equal(tally.total().caught, 3 * signals.length);
});
