/**
 * Every gadget on its own, from its one definition (`synthesize`): wrapped in a program whose inputs are public
 * (so no folding can remove them, and a tampered witness is checked against fixed inputs) and whose one output is
 * y = Σ (j²+1)·out_j (not affine in the outputs, so they stay signals that folding may substitute, exactly as in a
 * compiled model), it must
 * - compute exactly the gadget's integer semantics (`evaluate`), output by output;
 * - cost what its cost model says, and what circom counts for the template zkml prints from the same definition
 *   (the two circuits are checked equivalent in both directions: test/helpers/equivalence.ts);
 * - break a constraint whenever any witness wire is changed by ±1 (the mutation test), with both folding policies;
 * - have no witness at all for an input outside the range it proves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type GadgetDef, signedWidth } from '../src/gadgets/gadget.ts';
import { requant, type RequantParams } from '../src/gadgets/requant.ts';
import { requantSplit, type RequantSplitParams } from '../src/gadgets/requant-split.ts';
import { range } from '../src/gadgets/range.ts';
import { product } from '../src/gadgets/product.ts';
import { max } from '../src/gadgets/max.ts';
import { oneHot } from '../src/gadgets/onehot.ts';
import { hash } from '../src/gadgets/hash.ts';
import { planRequantInt8, requantInt8, type RequantInt8Spec } from '../src/gadgets/requant-int8.ts';
import { exactMultiplier, qlinearMultiplier } from '../src/quantize/int8.ts';
import { computeWitness } from '../src/circuit/witness.ts';
import { hashChain, loadPoseidon } from '../src/commit/poseidon.ts';
import { checkGadget, inputsOf, mod, wrap } from './helpers/gadget-check.ts';
import { divide, divideCost, divmod, divmodCost, isqrt, sqrt, sqrtCost } from '../src/gadgets/arith.ts';

const requantCases: [RequantParams, bigint[]][] = [
  [{ k: 4, b: 6, signed: true, relu: true }, [-500n, -8n, -9n, 7n, 8n, 0n, 503n]],
  [{ k: 4, b: 6, signed: true, relu: false }, [-512n, -8n, 24n, 503n]],
  [{ k: 3, b: 5, signed: false, relu: false }, [0n, 3n, 4n, 251n]],
  [{ k: 0, b: 8, signed: true, relu: true }, [-128n, -1n, 0n, 127n]],
  [{ k: 0, b: 8, signed: true, relu: false }, [-128n, 127n]],
];
const requantRange = (p: RequantParams): [bigint, bigint] => {
  const half = p.k > 0 ? 1n << BigInt(p.k - 1) : 0n;
  const q = p.signed ? [-(1n << BigInt(p.b - 1)), (1n << BigInt(p.b - 1)) - 1n] : [0n, (1n << BigInt(p.b)) - 1n];
  return p.k === 0 ? [q[0], q[1]] : [(q[0] << BigInt(p.k)) - half, (q[1] << BigInt(p.k)) + half - 1n];
};
for (const [params, xs] of requantCases) {
  test(`requant ${requant.describe(params)}: exact, costed, tamper-proof, equivalent to circom's`, async () => {
    const r = requantRange(params);
    await checkGadget({ def: requant, params, ranges: [r], inputs: xs.map((x) => [x]), affine: params.k === 0 && !params.relu, outside: [[r[0] - 1n], [r[1] + 1n]] });
  });
}

test('requant rounds half up, including negative halves', () => {
  const p = { k: 2, b: 8, signed: true, relu: false };
  assert.deepEqual([-6n, -5n, -2n, -1n, 1n, 2n, 5n, 6n].map((x) => requant.evaluate(p, [x])[0]), [-1n, -1n, 0n, 0n, 0n, 1n, 1n, 2n]);
});

const splitCases: [RequantSplitParams, bigint[]][] = [
  [{ k: 4, b: 6, signed: true, relu: true }, [-500n, -8n, -9n, 7n, 8n, 0n, 503n]],
  [{ k: 4, b: 6, signed: true, relu: false }, [-512n, -8n, 24n, 503n]],
  [{ k: 3, b: 5, signed: false, relu: false }, [0n, 3n, 4n, 251n]],
  [{ k: 2, b: 4, signed: false, relu: true }, [0n, 1n, 2n, 61n]],
];
for (const [params, xs] of splitCases) {
  test(`requant-split ${requantSplit.describe(params)}: exact, costed, tamper-proof, equivalent to circom's`, async () => {
    const r = requantRange(params);
    await checkGadget({ def: requantSplit, params, ranges: [r], inputs: xs.map((x) => [x]), outside: [[r[0] - 1n], [r[1] + 1n]] });
  });
}

test('requant-split: q·2^k + rem = x with rem in [-2^(k-1), 2^(k-1)), and pos = max(q, 0)', () => {
  const p = { k: 3, b: 8, signed: true, relu: true };
  for (let x = -200n; x <= 200n; x++) {
    const [q, rem, pos] = requantSplit.evaluate(p, [x]);
    assert.equal(q * 8n + rem, x);
    assert.ok(rem >= -4n && rem < 4n);
    assert.equal(pos, q > 0n ? q : 0n);
  }
});

for (const [lo, hi, xs] of [
  [0n, 255n, [0n, 255n, 17n]],
  [-256n, 256n, [-256n, 256n, 0n]],
] as [bigint, bigint, bigint[]][]) {
  test(`range [${lo}, ${hi}]: exact, costed, tamper-proof, equivalent to circom's`, async () => {
    // The check admits [lo, lo + 2^b): the input's own interval is what the check covers.
    const top = lo + (1n << BigInt((hi - lo).toString(2).length)) - 1n;
    await checkGadget({ def: range, params: { lo, hi }, ranges: [[lo, top]], inputs: xs.map((x) => [x]), affine: true, outside: [[lo - 1n], [top + 1n]] });
  });
}

test("product: exact, costed, tamper-proof, equivalent to circom's", async () => {
  await checkGadget({ def: product, params: {}, ranges: [[-10n, 10n], [-10n, 10n]], inputs: [[3n, -7n], [0n, 5n]] });
});

const maxCases: [number, [bigint, bigint][], bigint[][]][] = [
  [signedWidth(-20n, 20n), [[-10n, 10n], [-10n, 10n]], [[5n, -3n], [-3n, 5n], [7n, 7n], [-10n, 10n], [10n, -10n], [0n, 0n]]],
  [40, [[-(1n << 37n), (1n << 37n) - 1n], [-(1n << 37n), (1n << 37n) - 1n]], [[(1n << 37n) - 1n, -(1n << 37n)], [-(1n << 37n), (1n << 37n) - 1n], [123456789n, 123456788n]]],
];
for (const [w, ranges, xs] of maxCases) {
  test(`max ${max.describe({ w })}: exact, costed, tamper-proof, equivalent to circom's`, async () => {
    await checkGadget({ def: max, params: { w }, ranges, inputs: xs });
  });
}

test('max: a difference outside the checked width has no witness, and ties pick a (sign 1)', () => {
  const program = wrap(max, { w: 5 }, [[-20n, 20n], [-20n, 20n]]); // a - b must lie in [-16, 16)
  const run = (a: bigint, b: bigint) => computeWitness(program, inputsOf(program, [a, b]));
  run(15n, 0n);
  run(0n, 16n);
  assert.throws(() => run(16n, 0n), /no witness/);
  assert.throws(() => run(0n, 17n), /no witness/);
  assert.deepEqual(max.evaluate({ w: 5 }, [4n, 4n]), [4n, 1n]);
  assert.deepEqual(max.evaluate({ w: 5 }, [3n, 4n]), [4n, 0n]);
});

for (const n of [2, 5, 33]) {
  test(`one-hot of ${n}: exact, costed, tamper-proof, equivalent to circom's`, async () => {
    const idx = [0, 1, n - 1, Math.floor(n / 2)].map((i) => [BigInt(i)]);
    // With n = 2, y = h0 + 2·h1 = 1 + idx is affine in the public input (see `affine`).
    await checkGadget({ def: oneHot(n), params: { n }, ranges: [[0n, BigInt(n - 1)]], inputs: idx, affine: n === 2, outside: [[-1n], [BigInt(n)]] });
  });
}

test("hash (Poseidon chain) of 1, 16 and 20 values: equals circomlibjs, costed, tamper-proof, equivalent to circom's", async () => {
  await loadPoseidon();
  for (const m of [1, 16, 20]) {
    const values = Array.from({ length: m }, (_, i) => BigInt(i * 7919 + 3));
    const program = wrap(hash, { m }, values.map(() => [0n, 1n << 64n] as [bigint, bigint]));
    const w = computeWitness(program, inputsOf(program, values));
    assert.equal(mod(w.outputs.get('y')![0]), hashChain(values), `Poseidon chain of ${m}: the circuit's digest is circomlibjs'`);
    await checkGadget({ def: hash, params: { m }, ranges: values.map(() => [0n, 1n << 64n]), inputs: [values] });
  }
});

const qm = exactMultiplier(qlinearMultiplier(0.0123, 0.00456, 0.0789), 'test');
const int8Cases: { name: string; spec: RequantInt8Spec; range: [bigint, bigint]; inputs: bigint[] }[] = [
  { name: 'M = 1/2 into int8: ties everywhere, both sides clamp', spec: { m0: 1n, n: 1, zp: 0n, lo: -128n, hi: 127n }, range: [-1000n, 1000n], inputs: [-1000n, -258n, -257n, -255n, -5n, -3n, -1n, 0n, 1n, 3n, 5n, 253n, 255n, 1000n] },
  { name: 'a 24-bit multiplier into uint8 with a fused Relu (clamp at the zero point)', spec: { ...qm, zp: 3n, lo: 3n, hi: 255n }, range: [-300000n, 300000n], inputs: [-300000n, -1n, 0n, 1n, 777n, 50000n, 300000n] },
  { name: 'no shift (integer multiplier 3), both sides clamp', spec: { m0: 3n, n: 0, zp: -10n, lo: -128n, hi: 127n }, range: [-100n, 100n], inputs: [-100n, -40n, -39n, 0n, 45n, 46n, 100n] },
  { name: 'ties at the clamp edges, odd zero point', spec: { m0: 3n, n: 2, zp: 7n, lo: 0n, hi: 255n }, range: [-50n, 400n], inputs: [-50n, -10n, -6n, -2n, 2n, 6n, 10n, 330n, 331n, 332n, 333n, 334n, 400n] },
];
for (const c of int8Cases) {
  test(`requant-int8, ${c.name}: exact, costed, tamper-proof, equivalent to circom's`, async () => {
    const plan = planRequantInt8(c.spec, ...c.range);
    assert.ok('params' in plan, 'needs a gadget');
    const p = plan.params;
    await checkGadget({ def: requantInt8, params: p, ranges: [c.range], inputs: c.inputs.map((a) => [a]), outside: [[c.range[1] + (1n << BigInt(p.n + p.b))]] });
  });
}

// ---- the arithmetic of gadgets/arith.ts, each in a test-only gadget ------------------------------------------

const floorDiv = (x: bigint, d: bigint) => (x >= 0n ? x / d : -((-x + d - 1n) / d));
const arithGadget = <P>(kind: string, outputs: string[], synthesize: GadgetDef<P>['synthesize'], evaluate: GadgetDef<P>['evaluate'], constraints: (p: P) => number): GadgetDef<P> => ({
  kind,
  template: `Test${kind}`,
  inputs: (p: any) => (p.inputs ?? ['in']) as string[],
  outputs,
  synthesize,
  evaluate,
  bounds: () => outputs.map(() => [-(1n << 200n), 1n << 200n] as [bigint, bigint]),
  constraints,
  describe: (p) => `${kind} ${JSON.stringify(p, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`,
});

interface DivmodParams { d: bigint; qLo: bigint; qBits: number }
const divmodDef = arithGadget<DivmodParams>(
  'divmod',
  ['q', 'r'],
  (g, p, [x]) => {
    const { q, r } = divmod(g, 'div', x, p.d, p.qLo, p.qBits);
    return [q, r];
  },
  (p, [x]) => [floorDiv(x, p.d), x - floorDiv(x, p.d) * p.d],
  (p) => divmodCost(p.d, p.qBits),
);
for (const [d, qLo, qBits, xs] of [
  [7n, -20n, 6, [-140n, -1n, 0n, 6n, 7n, 300n]],
  [8n, 0n, 5, [0n, 7n, 8n, 255n]],
  [1000003n, -3n, 3, [-3000009n, 0n, 1000002n, 4000011n]],
] as [bigint, bigint, number, bigint[]][]) {
  test(`divmod by ${d}: exact, costed, tamper-proof, equivalent to circom's`, async () => {
    const lo = qLo * d;
    const hi = (qLo + (1n << BigInt(qBits))) * d - 1n;
    await checkGadget({ def: divmodDef, params: { d, qLo, qBits }, ranges: [[lo, hi]], inputs: xs.map((x) => [x]), outside: [[lo - 1n], [hi + 1n]] });
  });
}

interface DivideParams { qLo: bigint; qBits: number; yBits: number; inputs: string[] }
const divideDef = arithGadget<DivideParams>(
  'divide',
  ['q', 'r'],
  (g, p, [x, y]) => {
    const { q, r } = divide(g, 'div', x, y, p.qLo, p.qBits, p.yBits);
    return [q, r];
  },
  (_p, [x, y]) => [floorDiv(x, y), x - floorDiv(x, y) * y],
  (p) => divideCost(p.qBits, p.yBits),
);
test("divide by a computed value: exact, costed, tamper-proof, equivalent to circom's", async () => {
  const params = { qLo: -64n, qBits: 7, yBits: 5, inputs: ['x', 'y'] };
  await checkGadget({ def: divideDef, params, ranges: [[-1000n, 1000n], [1n, 31n]], inputs: [[-1000n, 31n], [999n, 16n], [0n, 1n], [-1n, 7n]], outside: [[-1000n, 0n], [1000n, 1n]] });
});

const sqrtDef = arithGadget<{ xBits: number }>('sqrt', ['s'], (g, p, [x]) => [sqrt(g, 'root', x, p.xBits)], (_p, [x]) => [isqrt(x)], (p) => sqrtCost(p.xBits));
for (const xBits of [1, 9, 40]) {
  test(`integer square root of ${xBits}-bit values: exact, costed, tamper-proof, equivalent to circom's`, async () => {
    const top = (1n << BigInt(xBits)) - 1n;
    await checkGadget({ def: sqrtDef, params: { xBits }, ranges: [[0n, top]], inputs: [[0n], [1n], [top], [top / 3n]].filter(([v]) => v <= top), outside: [[-1n]] });
  });
}

test('isqrt is floor(√v)', () => {
  for (let v = 0n; v < 2000n; v++) {
    const s = isqrt(v);
    assert.ok(s * s <= v && (s + 1n) * (s + 1n) > v, `isqrt(${v}) = ${s}`);
  }
  const big = (1n << 200n) + 12345n;
  const s = isqrt(big);
  assert.ok(s * s <= big && (s + 1n) * (s + 1n) > big);
});
