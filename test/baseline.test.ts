/**
 * The circomlib-ml baseline (dev/bench/baseline.ts): it compiles, its witness satisfies its constraints, its
 * constraint count is what the cost structure predicts, and it really has the weakness that structure implies
 * (a division checked by `assert` only). Its cost is reported against zkml's own compile of the same model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBaseline, compileBaseline, baselineWitnessInput, RELU_CONSTRAINTS, MAX_ELEMENT_CONSTRAINTS } from '../dev/bench/baseline.ts';
import { model, node, attr, floatTensor, int64Tensor, valueInfo, serialize, mulberry32 } from '../fixtures/onnx-builder.ts';
import { FloatModel } from '../src/onnx/ort.ts';
import { trainMlp784 } from '../dev/bench/mlp784.ts';
import { compile } from '../src/compiler/compile.ts';
import { loadWitnessCalculator, computeWitness } from '../src/circom/witness.ts';
import { loadR1cs, violatedConstraints } from '../src/circom/r1cs.ts';
import { loadSymbols } from '../src/circom/sym.ts';
import { FIELD_P, argmax } from '../src/io/output.ts';
import { requireShared, SHARED, SHARED_MODELS, tempDir } from './helpers/models.ts';
import { loadMnist } from '../dev/data/mnist.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'models');
const GEMM = join(FIXTURES, 'gemm_basic.onnx');
const gemmInput: number[] = JSON.parse(readFileSync(join(FIXTURES, 'gemm_basic.input.json'), 'utf8')).input_data[0];
const mod = (v: bigint) => ((v % FIELD_P) + FIELD_P) % FIELD_P;

test('baseline of gemm_basic (16-8-4, ReLU): compiles to the predicted count, witness satisfies it, ratio vs zkml', async (t) => {
  const b = buildBaseline(GEMM);
  // Dense 16x8 + 8 ReLUs + Dense 8x4, the circomlib-ml way.
  assert.deepEqual(b.predicted.perLayer.map((l) => [l.kind, l.constraints]), [['Dense', 128], ['ReLU', 8 * RELU_CONSTRAINTS], ['Dense', 32]]);
  assert.equal(b.predicted.total, 128 + 8 * 517 + 32);

  const dir = tempDir('baseline');
  const circuit = await compileBaseline(b, dir);
  assert.equal(circuit.constraints, b.predicted.total, 'circom count = cost-structure prediction');

  const { input, output } = baselineWitnessInput(b, gemmInput);
  const witness = await computeWitness(await loadWitnessCalculator(circuit.wasm), input);
  const r1cs = await loadR1cs(circuit.r1cs);
  assert.deepEqual(violatedConstraints(r1cs, witness), []);
  // The public outputs are the generator's output integers (wire 0 is the constant 1).
  assert.deepEqual(witness.slice(1, 1 + output.length), output.map(mod));

  // The division is checked by an assert only: moving one unit from the remainder to the quotient of the last
  // layer changes the proven output and still satisfies every constraint. (--O2 merges the last layer's `out`
  // input with the circuit output: a signal it eliminated has index -1 and is skipped.)
  const sym = loadSymbols(circuit.sym);
  const last = b.layers.at(-1)!.id;
  const forged = witness.slice();
  const tampered: string[] = [];
  for (const [name, delta] of [['main.out[0]', 1n], [`main.${last}_out[0]`, 1n], [`main.${last}_remainder[0]`, -(1n << BigInt(b.scale))]] as const) {
    const index = sym.get(name);
    assert.ok(index !== undefined, `${name} in the symbols`);
    if (index < 0) continue;
    forged[index] = mod(forged[index] + delta);
    tampered.push(name);
  }
  assert.ok(tampered.includes('main.out[0]') && tampered.includes(`main.${last}_remainder[0]`), `tampered ${tampered}`);
  assert.deepEqual(violatedConstraints(r1cs, forged), [], 'a forged output satisfies the baseline');

  // Like for like, keras2circom's inputs are private and unchecked; zkml's defaults add range checks and a
  // Poseidon digest of the input (a statement the baseline cannot make at all).
  const zkml = async (name: string, opts: Parameters<typeof compile>[2]) => [name, (await compile(GEMM, tempDir('baseline-zkml'), opts)).constraints] as const;
  const figures = [
    await zkml('private input, unchecked (like keras2circom)', { inputVisibility: 'private', checkInputs: false }),
    await zkml('private input, range-checked', { inputVisibility: 'private' }),
    await zkml('zkml defaults (hashed input)', {}),
  ];
  assert.ok(figures[0][1] * 10 <= circuit.constraints && figures[1][1] * 10 <= circuit.constraints, JSON.stringify(figures));
  t.diagnostic(`gemm_basic: circomlib-ml baseline ${circuit.constraints} constraints; zkml ${figures.map(([n, c]) => `${n}: ${c} (${(circuit.constraints / c).toFixed(1)}x fewer)`).join('; ')}`);
});

/**
 * A tiny CNN in the zoo model's style: Conv (auto_pad SAME_UPPER, a 2x2 kernel so the padding is one-sided,
 * no bias) + Add (per-channel bias) + Relu + MaxPool 2x2 + Reshape + Gemm.
 */
function tinyCnn(path: string): void {
  const rand = mulberry32(3);
  const u = (n: number, a: number) => Array.from({ length: n }, () => (2 * rand() - 1) * a);
  writeFileSync(path, serialize(model({
    name: 'tiny_cnn',
    inputs: [valueInfo('x', [1, 2, 4, 4])],
    outputs: [valueInfo('y', [1, 3])],
    initializers: [
      floatTensor('W', [3, 2, 2, 2], u(24, 0.5)), floatTensor('B', [3, 1, 1], u(3, 0.2)), int64Tensor('shape', [2], [1, 12]),
      floatTensor('W2', [3, 12], u(36, 0.5)), floatTensor('b2', [3], u(3, 0.1)),
    ],
    nodes: [
      node('Conv', ['x', 'W'], ['c'], { name: 'conv', attrs: { kernel_shape: attr.ints([2, 2]), auto_pad: attr.string('SAME_UPPER') } }),
      node('Add', ['c', 'B'], ['cb'], { name: 'bias' }),
      node('Relu', ['cb'], ['r'], { name: 'relu' }),
      node('MaxPool', ['r'], ['p'], { name: 'pool', attrs: { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) } }),
      node('Reshape', ['p', 'shape'], ['f'], { name: 'flatten' }),
      node('Gemm', ['f', 'W2', 'b2'], ['y'], { name: 'fc', attrs: { transB: attr.int(1) } }),
    ],
  })));
}

test('baseline of a tiny CNN (Conv with one-sided padding, ReLU, MaxPool, Dense): predicted count, witness, ONNX layout', async () => {
  const dir = tempDir('baseline-cnn');
  const path = join(dir, 'tiny_cnn.onnx');
  tinyCnn(path);
  const b = buildBaseline(path);
  // Conv: per axis the taps inside the 4-wide input are 2, 2, 2, 1 (SAME_UPPER pads the end by 1): 7 x 7
  // positions x 2 channels x 3 filters. MaxPool: 12 windows of 4, the first element of each free.
  assert.deepEqual(b.predicted.perLayer.map((l) => [l.kind, l.constraints]), [
    ['Conv2D', 7 * 7 * 2 * 3], ['ReLU', 48 * RELU_CONSTRAINTS], ['MaxPooling2D', 12 * (4 * MAX_ELEMENT_CONSTRAINTS - 1)], ['Dense', 12 * 3],
  ]);
  const circuit = await compileBaseline(b, join(dir, 'build'));
  assert.equal(circuit.constraints, b.predicted.total, 'circom count = cost-structure prediction');

  const x = Array.from({ length: 32 }, (_, i) => Math.sin(i) * 0.9);
  const { input, output } = baselineWitnessInput(b, x);
  const witness = await computeWitness(await loadWitnessCalculator(circuit.wasm), input);
  assert.deepEqual(violatedConstraints(await loadR1cs(circuit.r1cs), witness), []);
  assert.deepEqual(witness.slice(1, 1 + output.length), output.map(mod));
  // The channels-last circuit computes the channels-first ONNX model: outputs agree with onnxruntime to the
  // fixed point's resolution (2^-8 per value, a few roundings deep).
  const [ort] = await (await FloatModel.load(path)).run([{ name: 'x', dims: [1, 2, 4, 4], data: x }]);
  output.forEach((v, i) => assert.ok(Math.abs(Number(v) / 2 ** b.scale - ort.data[i]) < 0.05, `output ${i}: ${Number(v) / 2 ** b.scale} vs ${ort.data[i]}`));
});

test('baseline cost structure of the 784-56-10 ReLU MLP: 73,416 constraints predicted', () => {
  // The cost does not depend on the weights: a quickly trained model is enough.
  const dir = tempDir('mlp784');
  const model = join(dir, 'mlp784.onnx');
  writeFileSync(model, trainMlp784({ mnistDir: join(requireShared(SHARED), 'datasets', 'mnist'), trainImages: 64, epochs: 1 }).onnx);
  const b = buildBaseline(model);
  assert.deepEqual(b.predicted.perLayer.map((l) => l.constraints), [784 * 56, 56 * RELU_CONSTRAINTS, 56 * 10]);
  assert.equal(b.predicted.total, 73_416);
});

test('baseline of the model zoo MNIST CNN: 7.7M constraints predicted; its witness generator computes the model', async () => {
  const path = join(requireShared(SHARED_MODELS), 'onnx-zoo-mnist', 'model.onnx');
  const b = buildBaseline(path);
  // Too large to compile here; the prediction's parts are each checked against circom above.
  assert.deepEqual(b.predicted.perLayer.map((l) => l.kind), ['Conv2D', 'ReLU', 'MaxPooling2D', 'Conv2D', 'ReLU', 'MaxPooling2D', 'Dense']);
  assert.equal(b.predicted.total, 7_710_912);
  const ort = await FloatModel.load(path);
  for (const image of loadMnist(join(SHARED, 'datasets', 'mnist'), 2).images) {
    const x = Array.from(image, Number);
    const { output } = baselineWitnessInput(b, x);
    const [expected] = await ort.run([{ name: 'Input3', dims: [1, 1, 28, 28], data: x }]);
    const got = output.map((v) => Number(v) / 2 ** b.scale);
    assert.equal(argmax(got), argmax(expected.data));
    // Logits in the thousands (raw pixels in): within 1% of the largest.
    const scale = Math.max(...expected.data.map(Math.abs));
    got.forEach((g, i) => assert.ok(Math.abs(g - expected.data[i]) < 0.01 * scale, `logit ${i}: ${g} vs ${expected.data[i]}`));
  }
});

test('baseline refuses what circomlib-ml cannot encode, naming the node', () => {
  assert.throws(() => buildBaseline(join(FIXTURES, 'arith_consts.onnx')), (err: Error) => /circomlib-ml baseline/.test(err.message) && /node "/.test(err.message));
});
