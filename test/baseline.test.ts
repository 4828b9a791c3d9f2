/**
 * The circomlib-ml baseline (src/bench/baseline.ts): it compiles, its witness satisfies its constraints, its
 * constraint count is what the cost structure predicts, and it really has the weakness that structure implies
 * (a division checked by `assert` only). Its cost is reported against zkml's own compile of the same model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBaseline, compileBaseline, baselineWitnessInput, RELU_CONSTRAINTS } from '../src/bench/baseline.ts';
import { trainMlp784 } from '../src/bench/mlp784.ts';
import { compile } from '../src/compiler/compile.ts';
import { loadWitnessCalculator, computeWitness } from '../src/circom/witness.ts';
import { loadR1cs, violatedConstraints } from '../src/circom/r1cs.ts';
import { loadSymbols } from '../src/circom/sym.ts';
import { FIELD_P } from '../src/io/output.ts';
import { requireShared, SHARED, tempDir } from './helpers/models.ts';

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

test('baseline cost structure of the 784-56-10 ReLU MLP: 73,416 constraints predicted', () => {
  // The cost does not depend on the weights: a quickly trained model is enough.
  const dir = tempDir('mlp784');
  const model = join(dir, 'mlp784.onnx');
  writeFileSync(model, trainMlp784({ mnistDir: join(requireShared(SHARED), 'datasets', 'mnist'), trainImages: 64, epochs: 1 }).onnx);
  const b = buildBaseline(model);
  assert.deepEqual(b.predicted.perLayer.map((l) => l.constraints), [784 * 56, 56 * RELU_CONSTRAINTS, 56 * 10]);
  assert.equal(b.predicted.total, 73_416);
});

test('baseline refuses what circomlib-ml cannot encode, naming the node', () => {
  assert.throws(() => buildBaseline(join(FIXTURES, 'arith_consts.onnx')), (err: Error) => /circomlib-ml baseline/.test(err.message) && /node "/.test(err.message));
});
