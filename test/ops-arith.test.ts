/**
 * Arithmetic between computed tensors (src/ops/arith.ts): products of activations (Mul, MatMul, Gemm, Einsum),
 * division by a computed denominator (Div, Reciprocal), Sqrt and constant powers (Pow). Small models written with
 * fixtures/onnx-builder.ts are compared with onnxruntime on seeded random inputs, compiled (the witness equals
 * the reference executor and satisfies every constraint), and the new gadgets (gadgets/quotient.ts, root.ts,
 * square.ts) pass the gadget check: exact, costed as their circuit, and every witness wire tampered breaks it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze } from '../src/compiler/compile.ts';
import { DEFAULT_QUANT } from '../src/quantize/options.ts';
import { planQuotient, quotient, roundedQuotient } from '../src/gadgets/quotient.ts';
import { planRoot, root } from '../src/gadgets/root.ts';
import { square } from '../src/gadgets/square.ts';
import * as b from '../fixtures/onnx-builder.ts';
import { floatOpHarness } from './helpers/float-ops.ts';
import { checkGadget } from './helpers/gadget-check.ts';

const inputRange: [number, number] = [-2, 2];
/** Seeded grid inputs, worst error against onnxruntime, checked compiles (test/helpers/float-ops.ts). */
const { save, randomInputs, worstErrors, compiles } = floatOpHarness('ops-arith', inputRange);
const SCALE = DEFAULT_QUANT.scale;

// x [2,3], y [3,2], z [2,3], all computed: products of activations.
const productModel = save({
  name: 'products',
  nodes: [
    b.node('MatMul', ['x', 'y'], ['mm'], { name: 'matmul' }),
    b.node('Mul', ['mm', 'mm'], ['sq'], { name: 'square' }),
    b.node('Gemm', ['x', 'y'], ['g'], { name: 'gemm', attrs: { alpha: b.attr.float(0.5) } }),
    b.node('Einsum', ['x', 'z'], ['e'], { name: 'einsum', attrs: { equation: b.attr.string('ij,kj->ik') } }),
    b.node('Mul', ['x', 'z'], ['xz'], { name: 'mul' }),
    b.node('MatMul', ['sq', 'mm'], ['deep'], { name: 'deep' }),
  ],
  inputs: [b.valueInfo('x', [2, 3]), b.valueInfo('y', [3, 2]), b.valueInfo('z', [2, 3])],
  outputs: [b.valueInfo('mm', [2, 2]), b.valueInfo('sq', [2, 2]), b.valueInfo('g', [2, 2]), b.valueInfo('e', [2, 2]), b.valueInfo('xz', [2, 3]), b.valueInfo('deep', [2, 2])],
});

test('products of two computed tensors (MatMul, Mul, Gemm, Einsum): agree with onnxruntime, one constraint per product, requantized to the scale', async () => {
  const worst = await worstErrors(productModel, { x: 6, y: 6, z: 6 }, 6, 3);
  // Each output is within a few steps of 2^-8 (relative above 1): operands exact on the grid, one rounding per
  // requantization (2^-9), the depth-3 `deep` carries the rounding of sq and mm times |mm| <= 12.
  for (const [name, d] of worst) assert.ok(d <= (name === 'deep' ? 64 : 4) * 2 ** -SCALE, `${name}: error ${d}`);
  const { cost, kinds } = await compiles(productModel, { x: randomInputs(1, 6), y: randomInputs(2, 6), z: randomInputs(3, 6) });
  assert.equal(kinds('matmul').filter((k) => k === 'product').length, 12, 'MatMul [2,3]x[3,2]: 12 products');
  assert.equal(kinds('matmul').filter((k) => k === 'requant').length, 4, 'each output requantized back to the scale');
  assert.deepEqual(kinds('square').filter((k) => k !== 'requant'), ['square', 'square', 'square', 'square'], 'x·x is one ZkSquare');
  assert.equal(kinds('einsum').filter((k) => k === 'product').length, 12);
  assert.equal(kinds('mul').filter((k) => k === 'product').length, 6);
  assert.ok(cost('deep') > 8, 'a product of products is as wide as its interval at the scale, not the accumulated exponent');
});

// x [1,6], d [1,6]: den = d² + 1 >= 1, so every denominator is bounded away from 0.
const divisionModel = save({
  name: 'division',
  nodes: [
    b.node('Pow', ['d', 'two'], ['d2'], { name: 'pow2' }),
    b.node('Add', ['d2', 'one'], ['den'], { name: 'den' }),
    b.node('Div', ['x', 'den'], ['q'], { name: 'div' }),
    b.node('Reciprocal', ['den'], ['r'], { name: 'reciprocal' }),
    b.node('Sqrt', ['den'], ['s'], { name: 'sqrt' }),
    b.node('Pow', ['den', 'mhalf'], ['rs'], { name: 'rsqrt' }),
    b.node('Pow', ['x', 'three'], ['p3'], { name: 'pow3' }),
    b.node('Pow', ['den', 'threehalves'], ['ph'], { name: 'pow15' }),
  ],
  inputs: [b.valueInfo('x', [1, 6]), b.valueInfo('d', [1, 6])],
  outputs: ['q', 'r', 's', 'rs', 'p3', 'ph'].map((n) => b.valueInfo(n, [1, 6])),
  initializers: [
    b.floatTensor('two', [], [2]),
    b.floatTensor('one', [], [1]),
    b.floatTensor('mhalf', [], [-0.5]),
    b.floatTensor('three', [], [3]),
    b.floatTensor('threehalves', [], [1.5]),
  ],
});

test('Div by a computed tensor, Reciprocal, Sqrt and Pow (2, 3, -0.5, 1.5): agree with onnxruntime and compile to a sound circuit', async () => {
  const worst = await worstErrors(divisionModel, { x: 6, d: 6 }, 6, 11);
  // den = d² + 1 carries one rounding of d² (2^-9); 1/den, √den, den^-½ are 1-Lipschitz in it at den >= 1,
  // plus their own rounding. x³ = x·x² (two requantizations, |x| <= 2), den^1.5 = den·√den (|den| <= 5).
  const allowed: Record<string, number> = { q: 4, r: 2, s: 2, rs: 2, p3: 8, ph: 8 };
  for (const [name, d] of worst) assert.ok(d <= allowed[name] * 2 ** -SCALE, `${name}: error ${d}`);
  const { kinds } = await compiles(divisionModel, { x: randomInputs(5, 6), d: randomInputs(6, 6) });
  assert.deepEqual(kinds('div'), Array(6).fill('quotient'), 'one ZkQuotient per element');
  assert.deepEqual(kinds('sqrt'), Array(6).fill('root'), 'one ZkRoot per element');
  assert.deepEqual(kinds('pow2').filter((k) => k !== 'requant'), Array(6).fill('square'));
});

// Attention-shaped products: q, k, v [2, 3, 4] (heads, sequence, features): scores = q·kᵀ (Einsum), then
// scores·v (batched MatMul), and a Gemm with a computed C and beta = 0.5.
const attentionModel = save({
  name: 'attention',
  nodes: [
    b.node('Einsum', ['q', 'k'], ['s'], { name: 'scores', attrs: { equation: b.attr.string('hqd,hkd->hqk') } }),
    b.node('MatMul', ['s', 'v'], ['o'], { name: 'mix' }),
    b.node('Gemm', ['a', 'bm', 'c'], ['g'], { name: 'gemm_c', attrs: { beta: b.attr.float(0.5), transB: b.attr.int(1) } }),
  ],
  inputs: [b.valueInfo('q', [2, 3, 4]), b.valueInfo('k', [2, 3, 4]), b.valueInfo('v', [2, 3, 4]), b.valueInfo('a', [2, 3]), b.valueInfo('bm', [4, 3]), b.valueInfo('c', [2, 4])],
  outputs: [b.valueInfo('o', [2, 3, 4]), b.valueInfo('g', [2, 4])],
});

test('attention-shaped products (Einsum q·kᵀ, batched MatMul) and Gemm with a computed C: agree with onnxruntime, sound circuit', async () => {
  const worst = await worstErrors(attentionModel, { q: 24, k: 24, v: 24, a: 6, bm: 12, c: 8 }, 4, 41);
  // o = s·v: s rounded once (2^-9 per element, times |v| <= 2, 3 terms) plus o's own rounding.
  for (const [name, d] of worst) assert.ok(d <= 8 * 2 ** -SCALE, `${name}: error ${d}`);
  const { kinds } = await compiles(attentionModel, { q: randomInputs(1, 24), k: randomInputs(2, 24), v: randomInputs(3, 24), a: randomInputs(4, 6), bm: randomInputs(5, 12), c: randomInputs(6, 8) });
  assert.equal(kinds('scores').filter((k) => k === 'product').length, 2 * 3 * 3 * 4, 'one product per term');
  assert.equal(kinds('mix').filter((k) => k === 'product').length, 2 * 3 * 4 * 3, 'one product per term');
});

const straddleModel = save({
  name: 'straddle',
  nodes: [b.node('Div', ['x', 'd'], ['q'], { name: 'div_signed' })],
  inputs: [b.valueInfo('x', [1, 2]), b.valueInfo('d', [1, 2])],
  outputs: [b.valueInfo('q', [1, 2])],
});

test('Div by a tensor that can be negative or positive: a sign test and a division by |d| (test/ops-computed.test.ts checks the values)', () => {
  const { lowered } = analyze(straddleModel, { inputRange });
  const kinds = lowered.program.gadgets.filter((g) => g.node === 'div_signed').map((g) => g.def.kind);
  assert.equal(kinds.filter((k) => k === 'ge').length, 2, 'one sign test per element');
  assert.equal(kinds.filter((k) => k === 'quotient').length, 2);
});

test('ZkQuotient: round(2^t·x/y), exact, costed, tamper-proof; no witness for y <= 0', async () => {
  assert.equal(roundedQuotient(7n, 2n, 0), 4n);
  assert.equal(roundedQuotient(-7n, 2n, 0), -3n);
  assert.equal(roundedQuotient(-5n, 3n, 1), -3n);
  const params = planQuotient(-300n, 300n, 1n, 40n, 2);
  await checkGadget({ def: quotient, params, ranges: [[-300n, 300n], [1n, 40n]], inputs: [[-300n, 1n], [300n, 1n], [17n, 40n], [0n, 7n], [-1n, 3n]], outside: [[5n, 0n], [5n, -1n]] });
});

test('ZkRoot: floor(√x), exact, costed, tamper-proof; no witness for a negative x', async () => {
  const params = planRoot(5000n);
  await checkGadget({ def: root, params, ranges: [[0n, 5000n]], inputs: [[0n], [1n], [4999n], [1024n]], outside: [[-1n]] });
});

test('ZkSquare: x², exact, tamper-proof, and a non-negative interval', async () => {
  await checkGadget({ def: square, params: {}, ranges: [[-20n, 20n]], inputs: [[-20n], [0n], [7n]] });
  assert.deepEqual(square.bounds({}, [-20n], [3n]), [[0n, 400n]]);
  assert.deepEqual(square.bounds({}, [-5n], [-2n]), [[4n, 25n]]);
});
