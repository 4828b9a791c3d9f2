/**
 * Ops whose parameters are computed tensors (graph inputs or activations) instead of constants: Conv and
 * ConvTranspose with computed weights and bias (ops/conv.ts); MatMulInteger, ConvInteger, QLinearMatMul with a
 * computed second operand (ops/qlinear.ts); PRelu and Clip with computed slope and bounds (ops/computed-activation.ts);
 * BatchNormalization with computed statistics (ops/normalization.ts), Dropout with a computed ratio (ops/shape.ts);
 * Mod by a computed divisor (ops/mod.ts, with the ZkFloorDiv gadget, gadgets/floordiv.ts); BitShift by computed
 * amounts (ops/bitshift.ts); Pow with a computed integer exponent (ops/arith.ts); OneHot with computed indices
 * (ops/select.ts); QuantizeLinear, DequantizeLinear and QLinearMatMul with computed scales and zero points
 * (ops/qlinear.ts). Small models written with
 * fixtures/onnx-builder.ts are compared with onnxruntime on seeded random inputs and compiled (the witness equals
 * the reference executor and satisfies every constraint).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import ort from 'onnxruntime-node';
import { analyze } from '../src/compiler/compile.ts';
import { DEFAULT_QUANT } from '../src/quantize/options.ts';
import * as b from '../fixtures/onnx-builder.ts';
import { checkGadget } from './helpers/gadget-check.ts';
import { floatOpHarness, type Gen } from './helpers/float-ops.ts';
import { compileAndCheck } from './helpers/models.ts';
import { run } from '../src/run.ts';
import { floordiv, planFloorDiv } from '../src/gadgets/floordiv.ts';
import { computeWitness } from '../src/circuit/witness.ts';
import { ZkmlError } from '../src/util/errors.ts';

const inputRange: [number, number] = [-2, 2];
const SCALE = DEFAULT_QUANT.scale;
const { inputExp: INPUT_EXP, grid, save, randomInputs, worstErrors, compiles } = floatOpHarness('ops-computed', inputRange);

const count = (kinds: string[], kind: string) => kinds.filter((k) => k === kind).length;

// x [1,2,3,3], w [2,2,2,2], bias [2] computed; ConvTranspose of x by v [2,1,2,2] (computed).
const convModel = save({
  name: 'conv-computed',
  nodes: [
    b.node('Conv', ['x', 'w', 'bias'], ['y'], { name: 'conv', attrs: { pads: b.attr.ints([1, 0, 0, 1]) } }),
    b.node('ConvTranspose', ['x', 'v'], ['t'], { name: 'convt', attrs: { strides: b.attr.ints([2, 1]) } }),
  ],
  inputs: [b.valueInfo('x', [1, 2, 3, 3]), b.valueInfo('w', [2, 2, 2, 2]), b.valueInfo('bias', [2]), b.valueInfo('v', [2, 1, 2, 2])],
  outputs: [b.valueInfo('y', [1, 2, 3, 3]), b.valueInfo('t', [1, 1, 6, 4])],
});

test('Conv and ConvTranspose with computed weights and bias: agree with onnxruntime, one constraint per product', async () => {
  const worst = await worstErrors(convModel, { x: 18, w: 16, bias: 2, v: 8 }, 4, 21);
  // Operands exact on the grid: one rounding (2^-(s+1)) of the requantized sum.
  for (const [name, d] of worst) assert.ok(d <= 2 * 2 ** -SCALE, `${name}: error ${d}`);
  const { kinds } = await compiles(convModel, { x: randomInputs(1, 18), w: randomInputs(2, 16), bias: randomInputs(3, 2), v: randomInputs(4, 8) });
  // Conv: 2 output channels × 9 positions, windows of 2×2 taps × 2 channels inside the padded input.
  assert.ok(count(kinds('conv'), 'product') > 0 && count(kinds('conv'), 'product') <= 2 * 9 * 8);
  assert.equal(count(kinds('conv'), 'requant'), 18, 'each output requantized back to the scale');
  assert.equal(count(kinds('convt'), 'product'), 2 * 9 * 4, 'ConvTranspose: every input element times every tap, per input channel');
  assert.equal(count(kinds('convt'), 'requant'), 24);
});

// Integer products with a computed second operand (ops/qlinear.ts): MatMulInteger and ConvInteger with computed
// weights and zero points, QLinearMatMul with a computed b (constant scales and output zero point).
const I = b.DataType;
const integerModel = save({
  name: 'integer-computed',
  nodes: [
    b.node('MatMulInteger', ['a', 'bm', 'za', 'zb'], ['mi'], { name: 'mmi' }),
    b.node('ConvInteger', ['x', 'w', 'zx'], ['ci'], { name: 'convi', attrs: { pads: b.attr.ints([1, 1, 0, 0]) } }),
    b.node('QLinearMatMul', ['a', 'sa', 'za', 'bq', 'sb', 'zq', 'sy', 'zy'], ['q'], { name: 'qmm' }),
  ],
  inputs: [
    b.valueInfo('a', [2, 3], I.UINT8), b.valueInfo('bm', [3, 2], I.UINT8), b.valueInfo('za', [], I.UINT8), b.valueInfo('zb', [], I.UINT8),
    b.valueInfo('x', [1, 1, 3, 3], I.UINT8), b.valueInfo('w', [2, 1, 2, 2], I.UINT8), b.valueInfo('zx', [], I.UINT8),
    b.valueInfo('bq', [3, 2], I.INT8),
  ],
  outputs: [b.valueInfo('mi', [2, 2], I.INT32), b.valueInfo('ci', [1, 2, 4, 2], I.INT32), b.valueInfo('q', [2, 2], I.UINT8)],
  initializers: [
    b.floatTensor('sa', [], [0.05]), b.floatTensor('sb', [], [0.02]), b.floatTensor('sy', [], [0.3]),
    b.intTensor('zq', 'int8', [], [-3]), b.intTensor('zy', 'uint8', [], [7]),
  ],
});

test('MatMulInteger, ConvInteger and QLinearMatMul with a computed second operand: exactly onnxruntime, one product per term', async () => {
  const rand = b.mulberry32(5);
  const u8 = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 256));
  const i8 = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 256) - 128);
  const shapes: Record<string, [number[], 'uint8' | 'int8']> = {
    a: [[2, 3], 'uint8'], bm: [[3, 2], 'uint8'], za: [[], 'uint8'], zb: [[], 'uint8'], x: [[1, 1, 3, 3], 'uint8'], w: [[2, 1, 2, 2], 'uint8'], zx: [[], 'uint8'], bq: [[3, 2], 'int8'],
  };
  const session = await ort.InferenceSession.create(integerModel, { logSeverityLevel: 3 });
  try {
    for (let t = 0; t < 4; t++) {
      const input = Object.fromEntries(Object.entries(shapes).map(([n, [s, dt]]) => [n, (dt === 'uint8' ? u8 : i8)(s.reduce((x, y) => x * y, 1))]));
      const feeds = Object.fromEntries(Object.entries(shapes).map(([n, [s, dt]]) => [n, new ort.Tensor(dt, dt === 'uint8' ? Uint8Array.from(input[n]) : Int8Array.from(input[n]), s)]));
      const theirs = await session.run(feeds);
      const { lowered } = analyze(integerModel, { inputRange });
      const ours = lowered.program.execute(new Map(lowered.inputs.map((io) => [io.name, input[io.name].map(BigInt)]))).outputs;
      for (const name of ['mi', 'ci', 'q']) assert.deepEqual(ours.get(name)!.map(Number), Array.from(theirs[name].data as ArrayLike<number>), `${name} (trial ${t})`);
    }
  } finally {
    await session.release();
  }
  const { kinds } = await compiles(integerModel, { a: [1, 200, 3, 4, 5, 6], bm: [9, 8, 7, 6, 5, 255], za: [3], zb: [128], x: [0, 1, 2, 3, 4, 5, 6, 7, 255], w: [1, 2, 3, 4, 5, 6, 7, 8], zx: [2], bq: [-128, 127, 0, 1, -1, 5] });
  assert.equal(count(kinds('mmi'), 'product'), 12, 'MatMulInteger [2,3]x[3,2]: one product per term');
  assert.ok(count(kinds('convi'), 'product') > 0);
  assert.equal(count(kinds('qmm'), 'product'), 12);
});

// PRelu with a computed slope [3] broadcast over x [2,3]; Clip with computed min and max scalars (and one each).
const activationModel = save({
  name: 'activation-computed',
  nodes: [
    b.node('PRelu', ['x', 'slope'], ['p'], { name: 'prelu' }),
    b.node('Clip', ['x', 'lo', 'hi'], ['c'], { name: 'clip' }),
    b.node('Clip', ['x', 'lo'], ['cl'], { name: 'clip_min' }),
    b.node('Clip', ['x', '', 'hi'], ['ch'], { name: 'clip_max' }),
  ],
  inputs: [b.valueInfo('x', [2, 3]), b.valueInfo('slope', [3]), b.valueInfo('lo', []), b.valueInfo('hi', [])],
  outputs: [b.valueInfo('p', [2, 3]), b.valueInfo('c', [2, 3]), b.valueInfo('cl', [2, 3]), b.valueInfo('ch', [2, 3])],
});

test('PRelu with a computed slope and Clip with computed bounds: agree with onnxruntime, one comparison per bound', async () => {
  const worst = await worstErrors(activationModel, { x: 6, slope: 3, lo: 1, hi: 1 }, 8, 31);
  // Clip is exact on the grid; PRelu has one rounding of α·min(q, 0) back to the scale.
  for (const [name, d] of worst) assert.ok(d <= (name === 'p' ? 1 : 0) * 2 ** -SCALE, `${name}: error ${d}`);
  const { kinds } = await compiles(activationModel, { x: randomInputs(7, 6), slope: randomInputs(8, 3), lo: [-0.5], hi: [0.75] });
  assert.equal(count(kinds('prelu'), 'product'), 6, 'one product per element');
  assert.equal(count(kinds('prelu'), 'max'), 6, 'one ZkMax per element for max(q, 0)');
  assert.equal(count(kinds('clip'), 'max'), 12, 'two comparisons per element');
  assert.equal(count(kinds('clip_min'), 'max'), 6);
  assert.equal(count(kinds('clip_max'), 'max'), 6);
});

// BatchNormalization with every parameter computed; Dropout (inference) with a computed ratio and its mask.
const bnModel = save({
  name: 'batchnorm-computed',
  nodes: [
    b.node('BatchNormalization', ['x', 'gamma', 'beta', 'mean', 'var'], ['y'], { name: 'bn', attrs: { epsilon: b.attr.float(0.01) } }),
    b.node('Dropout', ['x', 'ratio'], ['d', 'mask'], { name: 'dropout' }),
  ],
  inputs: [b.valueInfo('x', [1, 2, 2, 2]), b.valueInfo('gamma', [2]), b.valueInfo('beta', [2]), b.valueInfo('mean', [2]), b.valueInfo('var', [2]), b.valueInfo('ratio', [])],
  outputs: [b.valueInfo('y', [1, 2, 2, 2]), b.valueInfo('d', [1, 2, 2, 2]), b.valueInfo('mask', [1, 2, 2, 2], I.BOOL)],
});

test('BatchNormalization with computed scale, bias, mean and variance, and Dropout with a computed ratio: agree with onnxruntime', async () => {
  const variance: Gen = (rand) => Math.round((0.25 + rand() * 1.75) * 2 ** INPUT_EXP) / 2 ** INPUT_EXP;
  const ratio: Gen = (rand) => Math.floor(rand() * 16) / 16;
  const worst = await worstErrors(bnModel, { x: 8, gamma: 2, beta: 2, mean: 2, var: [2, variance], ratio: [1, ratio] }, 6, 41);
  // |x − μ| <= 4 over σ >= 0.5: the root's floor (2^-(s+1) at s + 1, relative to σ) times |x − μ|/σ <= 8, the
  // quotient's and the product's roundings, times |γ| <= 2.
  for (const [name, d] of worst) assert.ok(d <= (name === 'y' ? 48 : 0) * 2 ** -SCALE, `${name}: error ${d}`);
  const { kinds } = await compiles(bnModel, { x: randomInputs(9, 8), gamma: [0.5, -1.25], beta: [0.25, 1], mean: [0.5, -0.5], var: [0.75, 1.5], ratio: [0.3] });
  assert.equal(count(kinds('bn'), 'root'), 2, 'one ZkRoot per channel');
  assert.equal(count(kinds('bn'), 'quotient'), 8, 'one ZkQuotient per element');
  assert.equal(count(kinds('bn'), 'product'), 8, 'a computed γ: one product per element');
  assert.deepEqual(kinds('dropout'), [], 'Dropout in inference: the identity, no constraint');
});

// Mod by a computed divisor: int16 with fmod 0 (the divisor's sign) and 1 (the dividend's), and float with fmod 1.
const modModel = save({
  name: 'mod-computed',
  nodes: [
    b.node('Mod', ['a', 'd'], ['m0'], { name: 'mod0' }),
    b.node('Mod', ['a', 'd'], ['m1'], { name: 'mod1', attrs: { fmod: b.attr.int(1) } }),
    b.node('Mod', ['x', 'y'], ['mf'], { name: 'modf', attrs: { fmod: b.attr.int(1) } }),
  ],
  inputs: [b.valueInfo('a', [6], I.INT16), b.valueInfo('d', [6], I.INT16), b.valueInfo('x', [6]), b.valueInfo('y', [6])],
  outputs: [b.valueInfo('m0', [6], I.INT16), b.valueInfo('m1', [6], I.INT16), b.valueInfo('mf', [6])],
});

test('Mod by a computed divisor (both signs, fmod 0 and 1, integer and float): exactly onnxruntime, sound circuit', async () => {
  const rand = b.mulberry32(13);
  const int16 = () => Math.floor(rand() * 65536) - 32768;
  const nonzero = () => (Math.floor(rand() * 2) * 2 - 1) * (1 + Math.floor(rand() * 300));
  const session = await ort.InferenceSession.create(modModel, { logSeverityLevel: 3 });
  const { lowered } = analyze(modModel, { inputRange });
  try {
    for (let t = 0; t < 6; t++) {
      const input: Record<string, number[]> = {
        a: Array.from({ length: 6 }, int16),
        d: Array.from({ length: 6 }, nonzero),
        x: Array.from({ length: 6 }, () => grid(rand() * 4 - 2)),
        y: Array.from({ length: 6 }, () => grid((rand() < 0.5 ? -1 : 1) * (0.25 + rand() * 1.5))),
      };
      const theirs = await session.run({
        a: new ort.Tensor('int16', Int16Array.from(input.a), [6]),
        d: new ort.Tensor('int16', Int16Array.from(input.d), [6]),
        x: new ort.Tensor('float32', Float32Array.from(input.x), [6]),
        y: new ort.Tensor('float32', Float32Array.from(input.y), [6]),
      });
      const enc = new Map(lowered.inputs.map((io) => [io.name, input[io.name].map((v) => BigInt(Math.round(v * 2 ** io.exp)))]));
      const ours = lowered.program.execute(enc).outputs;
      for (const name of ['m0', 'm1']) assert.deepEqual(ours.get(name)!.map(Number), Array.from(theirs[name].data as Int16Array), `${name} (trial ${t})`);
      const exp = lowered.outputs.find((o) => o.name === 'mf')!.exp;
      // On the grid the remainder is exact; float32 rounds it once (relative 2^-24).
      ours.get('mf')!.forEach((v, i) => assert.ok(Math.abs(Number(v) * 2 ** -exp - (theirs.mf.data as Float32Array)[i]) <= 2 ** -20, `mf[${i}] (trial ${t})`));
    }
  } finally {
    await session.release();
  }
  const { kinds } = await compiles(modModel, { a: [-7, 7, -7, 7, 300, -32768], d: [3, 3, -3, -3, -7, 5], x: [1.5, -1.5, 0.75, -2, 1.25, 0], y: [0.5, 0.5, -0.75, 1.25, -0.25, 1] });
  assert.equal(count(kinds('mod0'), 'floordiv'), 12, 'a mixed-sign divisor: two floor divisions per element');
  assert.equal(count(kinds('mod0'), 'abs'), 6);
});

test('ZkFloorDiv: floor(x / y) and its remainder, exact, costed, tamper-proof; no witness for y <= 0', async () => {
  const params = planFloorDiv(-300n, 300n, 1n, 40n);
  await checkGadget({ def: floordiv, params, ranges: [[-300n, 300n], [1n, 40n]], inputs: [[-300n, 1n], [300n, 1n], [17n, 40n], [0n, 7n], [-1n, 3n], [-40n, 40n]], outside: [[5n, 0n], [5n, -1n]] });
});

// BitShift of uint8 by computed uint8 amounts, both directions (LEFT wraps at 8 bits, as ONNX does).
const shiftModel = save({
  name: 'bitshift-computed',
  nodes: [
    b.node('BitShift', ['x', 's'], ['l'], { name: 'left', attrs: { direction: b.attr.string('LEFT') } }),
    b.node('BitShift', ['x', 's'], ['r'], { name: 'right', attrs: { direction: b.attr.string('RIGHT') } }),
  ],
  inputs: [b.valueInfo('x', [6], I.UINT8), b.valueInfo('s', [6], I.UINT8)],
  outputs: [b.valueInfo('l', [6], I.UINT8), b.valueInfo('r', [6], I.UINT8)],
});

test('BitShift by computed amounts: exactly onnxruntime (LEFT wrapping at the type width), a one-hot of the amount per element', async () => {
  const rand = b.mulberry32(17);
  const session = await ort.InferenceSession.create(shiftModel, { logSeverityLevel: 3 });
  const { lowered } = analyze(shiftModel, { inputRange });
  try {
    for (let t = 0; t < 6; t++) {
      const x = Array.from({ length: 6 }, () => Math.floor(rand() * 256));
      const s = Array.from({ length: 6 }, () => Math.floor(rand() * 8));
      const theirs = await session.run({ x: new ort.Tensor('uint8', Uint8Array.from(x), [6]), s: new ort.Tensor('uint8', Uint8Array.from(s), [6]) });
      const ours = lowered.program.execute(new Map([['x', x.map(BigInt)], ['s', s.map(BigInt)]])).outputs;
      for (const name of ['l', 'r']) assert.deepEqual(ours.get(name)!.map(Number), Array.from(theirs[name].data as Uint8Array), `${name} (trial ${t})`);
    }
  } finally {
    await session.release();
  }
  const { kinds } = await compiles(shiftModel, { x: [255, 1, 128, 7, 0, 200], s: [7, 0, 1, 3, 5, 2] });
  assert.equal(count(kinds('left'), 'onehot'), 6, 'one one-hot of the amount per element');
  assert.equal(count(kinds('left'), 'divmod'), 6, 'LEFT: the wrap to 8 bits');
  assert.equal(count(kinds('right'), 'floordiv'), 6, 'RIGHT: one floor division by 2^s');
});

// Pow with a computed exponent: integer exponents in the interval [-2, 2] of the inputs (negative ones have no witness).
const powModel = save({
  name: 'pow-computed',
  nodes: [b.node('Pow', ['x', 'y'], ['p'], { name: 'pow' })],
  inputs: [b.valueInfo('x', [6]), b.valueInfo('y', [6])],
  outputs: [b.valueInfo('p', [6])],
});

test('Pow with a computed integer exponent: agrees with onnxruntime, a one-hot over the exponents; a non-integer exponent has no witness', async () => {
  const exponent: Gen = (rand) => Math.floor(rand() * 3);
  const worst = await worstErrors(powModel, { x: 6, y: [6, exponent] }, 6, 51);
  // x² has one rounding (2^-(s+1)); x on the input grid and x^0, x^1 are exact.
  for (const [name, d] of worst) assert.ok(d <= 2 ** -SCALE, `${name}: error ${d}`);
  const { kinds } = await compiles(powModel, { x: randomInputs(10, 6), y: [0, 1, 2, 2, 1, 0] });
  assert.equal(count(kinds('pow'), 'onehot'), 6, 'one one-hot over the exponents 0, 1, 2 per element');
  assert.equal(count(kinds('pow'), 'round'), 6, 'the exponent floored to an integer');
  const { lowered } = analyze(powModel, { inputRange });
  const enc = (y: number) => new Map([['x', Array(6).fill(1n << BigInt(INPUT_EXP))], ['y', Array(6).fill(BigInt(Math.round(y * 2 ** INPUT_EXP)))]]);
  assert.throws(() => computeWitness(lowered.program, enc(1.5)), (e: unknown) => e instanceof ZkmlError && e.code === 'E_WITNESS', 'y = 1.5: no witness');
  assert.throws(() => computeWitness(lowered.program, enc(-1)), (e: unknown) => e instanceof ZkmlError && e.code === 'E_WITNESS', 'y = -1: no witness');
});

// OneHot with computed int64 indices in [-2, 2] (negative ones count from the end), depth 4, computed values.
const oneHotModel = save({
  name: 'onehot-computed',
  nodes: [b.node('OneHot', ['k', 'depth', 'values'], ['h'], { name: 'onehot', attrs: { axis: b.attr.int(0) } })],
  inputs: [b.valueInfo('k', [3], I.INT64), b.valueInfo('values', [2])],
  outputs: [b.valueInfo('h', [4, 3])],
  initializers: [b.int64Tensor('depth', [], [4])],
});

test('OneHot with computed indices and values: exactly onnxruntime, one one-hot per index', async () => {
  const session = await ort.InferenceSession.create(oneHotModel, { logSeverityLevel: 3 });
  const { lowered } = analyze(oneHotModel, { inputRange });
  try {
    for (const [k, values] of [[[0, -1, 2], [0.25, -1.5]], [[-2, 1, 0], [1, 2]], [[2, 2, -1], [-0.75, 0.5]]] as const) {
      const theirs = await session.run({ k: new ort.Tensor('int64', BigInt64Array.from(k.map(BigInt)), [3]), values: new ort.Tensor('float32', Float32Array.from(values), [2]) });
      const vExp = lowered.inputs.find((io) => io.name === 'values')!.exp;
      const ours = lowered.program.execute(new Map([['k', k.map(BigInt)], ['values', values.map((v) => BigInt(v * 2 ** vExp))]])).outputs.get('h')!;
      const exp = lowered.outputs[0].exp;
      assert.deepEqual(ours.map((v) => Number(v) * 2 ** -exp), Array.from(theirs.h.data as Float32Array), `indices [${k}]`);
    }
  } finally {
    await session.release();
  }
  const { kinds } = await compiles(oneHotModel, { k: [0, -1, 2], values: [0.25, -1.5] });
  assert.equal(count(kinds('onehot'), 'onehot'), 3, 'one one-hot per index');
  assert.equal(count(kinds('onehot'), 'product'), 12, 'computed values: one product per output element');
});

// Div and Reciprocal by a computed denominator whose interval holds both signs.
const mixedDivModel = save({
  name: 'div-mixed-sign',
  nodes: [
    b.node('Div', ['x', 'y'], ['q'], { name: 'div' }),
    b.node('Reciprocal', ['y'], ['r'], { name: 'reciprocal' }),
  ],
  inputs: [b.valueInfo('x', [6]), b.valueInfo('y', [6])],
  outputs: [b.valueInfo('q', [6]), b.valueInfo('r', [6])],
});

test('Div by a denominator of either sign: agrees with onnxruntime (a sign test and |y|), and y = 0 has no witness', async () => {
  const away: Gen = (rand) => grid((rand() < 0.5 ? -1 : 1) * (0.5 + rand() * 1.5));
  const worst = await worstErrors(mixedDivModel, { x: 6, y: [6, away] }, 6, 61);
  // |y| >= 0.5 on the grid: the quotient's rounding 2^-(s+1), exact operands.
  for (const [name, d] of worst) assert.ok(d <= 2 ** -SCALE, `${name}: error ${d}`);
  const { kinds } = await compiles(mixedDivModel, { x: randomInputs(11, 6), y: [-1.5, 0.5, 2, -0.75, 1, -2] });
  assert.equal(count(kinds('div'), 'ge'), 6, 'one sign test per element');
  assert.equal(count(kinds('div'), 'quotient'), 6);
  const { lowered } = analyze(mixedDivModel, { inputRange });
  const zero = new Map([['x', Array(6).fill(1n)], ['y', [0n, 1n, 1n, 1n, 1n, 1n]]]);
  assert.throws(() => computeWitness(lowered.program, zero), (e: unknown) => e instanceof ZkmlError && e.code === 'E_WITNESS', 'y = 0: no witness');
});

// Div of integer tensors truncates toward zero (ONNX, onnxruntime): int32 of both signs (an index-type input: its interval is --input-range), computed divisor.
const intDivModel = save({
  name: 'div-integer',
  nodes: [b.node('Div', ['a', 'd'], ['q'], { name: 'idiv' })],
  inputs: [b.valueInfo('a', [6], I.INT32), b.valueInfo('d', [6], I.INT32)],
  outputs: [b.valueInfo('q', [6], I.INT32)],
});

test('Div of integer tensors by a computed divisor: truncated exactly as onnxruntime, sound circuit', async () => {
  const rand = b.mulberry32(23);
  const session = await ort.InferenceSession.create(intDivModel, { logSeverityLevel: 3 });
  const wide: [number, number] = [-40000, 40000];
  const { lowered } = analyze(intDivModel, { inputRange: wide });
  try {
    for (let t = 0; t < 6; t++) {
      const a = Array.from({ length: 6 }, () => Math.floor(rand() * 65536) - 32768);
      const d = Array.from({ length: 6 }, () => (rand() < 0.5 ? -1 : 1) * (1 + Math.floor(rand() * 500)));
      const theirs = await session.run({ a: new ort.Tensor('int32', Int32Array.from(a), [6]), d: new ort.Tensor('int32', Int32Array.from(d), [6]) });
      const ours = lowered.program.execute(new Map([['a', a.map(BigInt)], ['d', d.map(BigInt)]])).outputs.get('q')!;
      assert.deepEqual(ours.map(Number), Array.from(theirs.q.data as Int32Array), `trial ${t}`);
    }
  } finally {
    await session.release();
  }
  const r = await compileAndCheck(intDivModel, { a: [-7, 7, -7, 7, 32767, -32768], d: [2, 2, -2, -2, 3, 7] }, { inputRange: wide });
  assert.deepEqual([r.check.mismatches, r.check.violated], [[], []], 'the witness equals the reference and satisfies every constraint');
  assert.equal(r.program.gadgets.filter((g) => g.node === 'idiv' && g.def.kind === 'floordiv').length, 6, 'one floor division of the magnitudes per element');
});

// QuantizeLinear by a computed scale (ops/qlinear.ts quantizeComputed): per tensor with a computed uint8 zero
// point, and per axis (scale [3] along axis 1) with a constant int8 zero point; DequantizeLinear back by the
// computed scale and zero point; a constant scale (0.1, not a power of two) with the computed zero point.
const quantizeModel = save({
  name: 'quantize-computed',
  nodes: [
    b.node('QuantizeLinear', ['x', 'sc', 'zp'], ['y'], { name: 'q' }),
    b.node('QuantizeLinear', ['x', 'sv', 'zq'], ['yv'], { name: 'qv', attrs: { axis: b.attr.int(1) } }),
    b.node('DequantizeLinear', ['y', 'sc', 'zp'], ['d'], { name: 'dq' }),
    b.node('QuantizeLinear', ['x', 'sk', 'zp'], ['yk'], { name: 'qk' }),
  ],
  inputs: [b.valueInfo('x', [2, 3]), b.valueInfo('sc', []), b.valueInfo('zp', [], I.UINT8), b.valueInfo('sv', [3])],
  outputs: [b.valueInfo('y', [2, 3], I.UINT8), b.valueInfo('yv', [2, 3], I.INT8), b.valueInfo('d', [2, 3]), b.valueInfo('yk', [2, 3], I.UINT8)],
  initializers: [b.intTensor('zq', 'int8', [3], [-1, 0, 2]), b.floatTensor('sk', [], [0.1])],
});

test('QuantizeLinear and DequantizeLinear by a computed scale (per tensor with a computed zero point, per axis): onnxruntime within one unit at near ties, sound circuit', async () => {
  // Scales on the grid in [1/16, 2]: x/scale is then in [-32, 32], so both saturating ends of int8/uint8 are met.
  const positive: Gen = (rand) => Math.max(grid(rand() * 2), 1 / 16);
  const zeroPoint: Gen = (rand) => Math.floor(rand() * 3);
  let exact = 0;
  let total = 0;
  for (let t = 0; t < 6; t++) {
    const input = { x: randomInputs(40 + t, 6), sc: randomInputs(50 + t, 1, positive), zp: randomInputs(60 + t, 1, zeroPoint), sv: randomInputs(70 + t, 3, positive) };
    for (const o of await run(quantizeModel, input, { inputRange })) {
      // d = (y - zp)·sc is exact on the grid: off only by the scale where y is off by one.
      const unit = o.name === 'd' ? input.sc[0] : 1;
      o.float.forEach((f, i) => {
        assert.ok(Math.abs(f - o.dequantized[i]) <= unit + 1e-6, `${o.name}[${i}] (trial ${t}): ort ${f}, zkml ${o.dequantized[i]}`);
        exact += f === o.dequantized[i] ? 1 : 0;
        total++;
      });
    }
  }
  assert.ok(exact >= total - 4, `exact on all but near ties: ${exact} of ${total}`);
  const { kinds } = await compiles(quantizeModel, { x: [-2, -0.5, 0.75, 1, 1.5, 2], sc: [0.25], zp: [1], sv: [0.5, 0.125, 2] });
  assert.ok(kinds('q').includes('round'), 'the quotient rounded half to even');
  assert.ok(kinds('qv').length > 0);
  assert.deepEqual(kinds('dq'), ['product', 'product', 'product', 'product', 'product', 'product'], 'DequantizeLinear: one product per element');
});

// QLinearMatMul with computed a_scale and y_scale (ops/qlinear.ts requantizeComputed): b, its scale and the zero
// points constants; a uint8 [2,3] by b uint8 [3,2].
const qlinearScalesModel = save({
  name: 'qlinear-scales-computed',
  nodes: [b.node('QLinearMatMul', ['a', 'sa', 'za', 'bq', 'sb', 'zb', 'sy', 'zy'], ['q'], { name: 'qmm' })],
  inputs: [b.valueInfo('a', [2, 3], I.UINT8), b.valueInfo('sa', []), b.valueInfo('sy', [])],
  outputs: [b.valueInfo('q', [2, 2], I.UINT8)],
  initializers: [
    b.intTensor('za', 'uint8', [], [3]), b.intTensor('bq', 'uint8', [3, 2], [9, 8, 7, 6, 200, 255]),
    b.floatTensor('sb', [], [0.5]), b.intTensor('zb', 'uint8', [], [128]), b.intTensor('zy', 'uint8', [], [100]),
  ],
});

test('QLinearMatMul with computed scales: onnxruntime within one unit at near ties, sound circuit', async () => {
  const rand = b.mulberry32(17);
  const range: [number, number] = [0, 255];
  let exact = 0;
  for (let t = 0; t < 5; t++) {
    // Scales multiples of 1/4 in [1/4, 2] (exact at input scale 8): sa·sb/sy spans 1/16 … 4.
    const quarter = () => (1 + Math.floor(rand() * 8)) / 4;
    const input = { a: Array.from({ length: 6 }, () => Math.floor(rand() * 256)), sa: [quarter() / 64], sy: [quarter() * 4] };
    const [o] = await run(qlinearScalesModel, input, { inputRange: range, inputScale: 8 });
    o.float.forEach((f, i) => assert.ok(Math.abs(f - o.dequantized[i]) <= 1, `q[${i}] (trial ${t}): ort ${f}, zkml ${o.dequantized[i]}`));
    exact += o.float.filter((f, i) => f === o.dequantized[i]).length;
  }
  assert.ok(exact >= 18, `exact on all but near ties: ${exact} of 20`);
  const r = await compileAndCheck(qlinearScalesModel, { a: [1, 200, 3, 4, 5, 255], sa: [0.015625], sy: [0.75] }, { inputRange: range, inputScale: 8 });
  assert.deepEqual(r.check.mismatches, [], 'every gadget output and circuit output equals the reference');
  assert.deepEqual(r.check.violated, [], 'the witness satisfies every constraint');
  assert.ok(r.program.gadgets.some((g) => g.node === 'qmm' && g.def.kind === 'round'), 'the quotient rounded half to even');
});
