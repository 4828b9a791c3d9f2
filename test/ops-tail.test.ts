/**
 * The ONNX long tail (src/ops/transcendental.ts with src/ops/secant-table.ts, and the small ops of
 * src/ops/tail.ts, src/ops/mod.ts, src/ops/loss.ts, src/ops/reduce-extra.ts), end to end: small models written with fixtures/onnx-builder.ts, compiled (the witness equals
 * the reference executor and satisfies every constraint), and the reference executor compared with onnxruntime
 * on seeded inputs of the input grid, within each op's stated error bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../src/run.ts';
import { DEFAULT_QUANT } from '../src/quantize/options.ts';
import { ZkmlError } from '../src/util/errors.ts';
import { secantGrid, secantErrorBound } from '../src/ops/secant-table.ts';
import { tableFunction } from '../src/ops/transcendental.ts';
import { divmod, planDivMod } from '../src/gadgets/divmod.ts';
import * as b from '../fixtures/onnx-builder.ts';
import { floatOpHarness } from './helpers/float-ops.ts';
import { checkGadget } from './helpers/gadget-check.ts';
import { compileAndCheck } from './helpers/models.ts';

const bed = floatOpHarness('ops-tail', [-2, 2]);
const { inputRange, save } = bed;
const scale = DEFAULT_QUANT.scale;
const exp = bed.inputExp;


function gridInputs(seed: number, n: number): number[] {
  const rand = b.mulberry32(seed);
  const special = [0, 0.5, -0.5, 1, -2, 2 - 2 ** -exp, -1.25];
  return Array.from({ length: n }, (_, i) => (rand() < 0.3 ? special[i % special.length] : Math.round((rand() * 4 - 2) * 2 ** exp) / 2 ** exp));
}

/** The interval the input's range check admits: [-2, 6) at this exponent (a power-of-two span). */
const checked: [number, number] = [-2, 6 - 2 ** -exp];

const node = (opType: string, attrs: Record<string, number> = {}) => ({ opType, attrs: new Map(Object.entries(attrs)) }) as never;

const SMOOTH_OPS: [string, Record<string, number>][] = [
  ['Exp', {}],
  ['Sin', {}],
  ['Cos', {}],
  ['Erf', {}],
  ['Elu', { alpha: 0.5 }],
  ['Selu', {}],
  ['Softplus', {}],
  ['Softsign', {}],
  ['Mish', {}],
  ['Atan', {}],
];

const smoothModel = save({
  name: 'smooth',
  opset: 18, // Mish
  nodes: SMOOTH_OPS.map(([op, attrs]) => b.node(op, ['x'], [op.toLowerCase()], { name: op.toLowerCase(), attrs: Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, b.attr.float(v)])) })),
  inputs: [b.valueInfo('x', [1, 6])],
  outputs: SMOOTH_OPS.map(([op]) => b.valueInfo(op.toLowerCase(), [1, 6])),
});

test('smooth elementwise ops as secant tables: within the stated bound of onnxruntime, and a sound circuit', async () => {
  for (let t = 0; t < 6; t++) {
    const x = gridInputs(40 + t, 6);
    const outs = await run(smoothModel, { x }, { inputRange });
    for (const [op, attrs] of SMOOTH_OPS) {
      const o = outs.find((v) => v.name === op.toLowerCase())!;
      const fn = tableFunction({ node: node(op, attrs) });
      // Inputs are on the grid (exact), so the whole error is the table's: the bound of secant-table.ts.
      const g = secantGrid(fn, ...checked, scale, op);
      const bound = secantErrorBound(fn, g, Math.max(exp, g.t + 1) + scale, scale);
      o.float.forEach((f, i) => {
        const allowed = bound * Math.max(1, Math.abs(f)) + 1e-6 * Math.abs(f);
        assert.ok(Math.abs(f - o.dequantized[i]) <= allowed, `${op}(${x[i]}): ort ${f}, zkml ${o.dequantized[i]}, bound ${allowed}`);
      });
    }
  }
  const r = await compileAndCheck(smoothModel, { x: [0.5, -1, 0, 1.75, -2, 0.125] }, { inputRange });
  assert.deepEqual(r.check.mismatches, [], 'every gadget output and circuit output equals the reference');
  assert.deepEqual(r.check.violated, [], 'the witness satisfies every constraint');
  const cost = r.program.costByNode();
  // Exp over [-2, 6) at scale 8, relative target 2^-10: the chord table (order 1) needs cells of 2^-4
  // (h²/8 <= 2^-10), 128 of them; the parabola (order 2, the default) cells of 2^-2, 32.
  const expFn = tableFunction({ node: node('Exp') });
  const g1 = secantGrid(expFn, ...checked, scale, 'Exp', 1);
  const g2 = secantGrid(expFn, ...checked, scale, 'Exp', 2);
  assert.deepEqual([g1.t, g1.last - g1.first + 1, g2.t, g2.last - g2.first + 1], [4, 128, 2, 32]);
  const expGadgets = r.program.gadgets.filter((x) => x.node === 'exp');
  assert.deepEqual([...new Set(expGadgets.map((x) => x.def.kind))].sort(), ['onehot', 'product', 'requant', 'requant-split']);
  // Per element: a split (K + b), 32 one-hot constraints, two products, and the final requantization.
  assert.ok(cost.get('exp')! <= 6 * (32 + 2 + 4 * exp + 16), `Exp: one constraint per cell, a split, two products and a requantization per element (got ${cost.get('exp')})`);
});

test('a function with a bounded domain is refused when its input interval leaves the domain, naming the interval', async () => {
  const path = save({ name: 'log', nodes: [b.node('Log', ['x'], ['y'], { name: 'log' })], inputs: [b.valueInfo('x', [1, 3])], outputs: [b.valueInfo('y', [1, 3])] });
  await assert.rejects(run(path, { x: [1, 1, 1] }, { inputRange }), (e: unknown) => e instanceof ZkmlError && /Log is defined on \(0, Infinity\) but its input interval is \[-2, 5\.99/.test(e.message));
  // Inside the domain it is a table like the others.
  const outs = await run(path, { x: [0.5, 1, 3.75] }, { inputRange: [0.25, 4] });
  outs[0].float.forEach((f, i) => assert.ok(Math.abs(f - outs[0].dequantized[i]) < 4 * 2 ** -scale, `Log: ort ${f}, zkml ${outs[0].dequantized[i]}`));
});

test("divmod: floor division by a constant exact, costed, tamper-proof, equivalent to circom's", async () => {
  for (const d of [3n, 4n, 7n]) {
    const p = planDivMod(d, -20n, 25n);
    const xs = [-20n, -8n, -7n, -1n, 0n, 1n, 6n, 7n, 25n];
    await checkGadget({ def: divmod, params: p, ranges: [[-20n, 25n]], inputs: xs.map((x) => [x]) });
    for (const x of xs) assert.deepEqual(divmod.evaluate(p, [x]), [BigInt(Math.floor(Number(x) / Number(d))), BigInt(((Number(x) % Number(d)) + Number(d)) % Number(d))]);
  }
});

// The small ops on one input: TopK (largest, k = 3), Hardmax, CumSum, Mod (fmod and integer-style), Shrink,
// ThresholdedRelu, an NLL loss with constant targets and a softmax cross-entropy with its log_prob.
const smallModel = save({
  name: 'small',
  nodes: [
    b.node('TopK', ['x', 'k'], ['topv', 'topi'], { name: 'topk' }),
    b.node('Hardmax', ['x'], ['hard'], { name: 'hardmax' }),
    b.node('CumSum', ['x', 'axis'], ['cum'], { name: 'cumsum', attrs: { exclusive: b.attr.int(1) } }),
    b.node('Mod', ['x', 'divisor'], ['fmod'], { name: 'fmod', attrs: { fmod: b.attr.int(1) } }),
    b.node('Shrink', ['x'], ['shrink'], { name: 'shrink', attrs: { lambd: b.attr.float(0.75), bias: b.attr.float(0.25) } }),
    b.node('ThresholdedRelu', ['x'], ['trelu'], { name: 'trelu', attrs: { alpha: b.attr.float(0.5) } }),
    b.node('NegativeLogLikelihoodLoss', ['x', 'target'], ['nll'], { name: 'nll', attrs: { reduction: b.attr.string('mean') } }),
    b.node('SoftmaxCrossEntropyLoss', ['x', 'target', 'weights'], ['sce', 'logp'], { name: 'sce', attrs: { reduction: b.attr.string('sum') } }),
  ],
  inputs: [b.valueInfo('x', [2, 5])],
  outputs: [
    b.valueInfo('topv', [2, 3]),
    b.valueInfo('topi', [2, 3], b.DataType.INT64),
    ...['hard', 'cum', 'fmod', 'shrink', 'trelu', 'logp'].map((n) => b.valueInfo(n, [2, 5])),
    b.valueInfo('nll', []),
    b.valueInfo('sce', []),
  ],
  initializers: [
    b.int64Tensor('k', [1], [3]),
    b.int64Tensor('axis', [], [1]),
    b.floatTensor('divisor', [5], [0.5, 0.75, -1, 1.5, 2]),
    b.int64Tensor('target', [2], [3, 0]),
    b.floatTensor('weights', [5], [0.5, 1, 0.25, 2, 1]),
  ],
});

test('TopK, Hardmax, CumSum, Mod, Shrink, ThresholdedRelu, NLL and softmax cross-entropy: agreement with onnxruntime, and a sound circuit', async () => {
  for (let t = 0; t < 6; t++) {
    // Distinct values per row (ties order differently between a sort and onnxruntime only in their indices).
    const x = [...new Set(gridInputs(60 + t, 40))].slice(0, 10);
    if (x.length < 10) continue;
    const outs = await run(smallModel, { x }, { inputRange });
    for (const o of outs) {
      // Exact ops on the grid: TopK, Hardmax, CumSum, Mod by grid divisors, Shrink and ThresholdedRelu (grid λ, α,
      // bias), NLL (a mean over 2 targets: a division by 2); SCE's log-sum-exp: within 2·2^-scale per position.
      const allowed = o.name === 'sce' || o.name === 'logp' ? 3 * 2 * 2 ** -scale : 1e-6;
      const diff = Math.max(0, ...o.float.map((f, i) => Math.abs(f - o.dequantized[i])));
      assert.ok(diff <= allowed, `${o.name} on ${JSON.stringify(x)}:\n  ort  ${o.float}\n  zkml ${o.dequantized}`);
    }
  }
  const r = await compileAndCheck(smallModel, { x: [0.5, -1, 0, 1.75, -2, 0.125, 1, 1.5, -0.5, 0.25] }, { inputRange });
  assert.deepEqual(r.check.mismatches, [], 'every gadget output and circuit output equals the reference');
  assert.deepEqual(r.check.violated, [], 'the witness satisfies every constraint');
  const cost = r.program.costByNode();
  assert.equal(cost.get('cumsum') ?? 0, 0, 'CumSum is linear');
  assert.equal(cost.get('nll') ?? 0, 0, 'NLL with constant targets is linear');
  // TopK: k passes of n - 1 - j compare-swaps per row: (4 + 3 + 2)·2 comparisons.
  assert.equal(r.program.gadgets.filter((g) => g.node === 'topk' && g.def.kind === 'max').length, 18);
});

test('BitShift of uint8 by constants: LEFT wraps at 8 bits as onnxruntime does, RIGHT floors; a sound circuit', async () => {
  const U8 = b.DataType.UINT8;
  const path = save({
    name: 'bitshift',
    nodes: [
      b.node('BitShift', ['x', 'amount'], ['left'], { name: 'left', attrs: { direction: b.attr.string('LEFT') } }),
      b.node('BitShift', ['x', 'amount'], ['right'], { name: 'right', attrs: { direction: b.attr.string('RIGHT') } }),
    ],
    inputs: [b.valueInfo('x', [4], U8)],
    outputs: [b.valueInfo('left', [4], U8), b.valueInfo('right', [4], U8)],
    initializers: [b.intTensor('amount', 'uint8', [4], [1, 2, 3, 7])],
  });
  const opts = { inputRange: [0, 255] as [number, number] };
  for (const x of [[0, 1, 2, 3], [255, 200, 37, 129], [128, 64, 31, 1]]) {
    for (const o of await run(path, { x }, opts)) assert.deepEqual(o.dequantized, o.float, `${o.name}(${x})`);
  }
  const r = await compileAndCheck(path, { x: [255, 200, 37, 129] }, opts);
  assert.deepEqual(r.check.mismatches, []);
  assert.deepEqual(r.check.violated, []);
});

test("GELU's decomposed form x·0.5·(1 + erf(x/√2)) compiles (Erf table, then a product of two computed tensors)", async () => {
  const path = save({
    name: 'gelu',
    nodes: [
      b.node('Div', ['x', 'sqrt2'], ['xs'], { name: 'div' }),
      b.node('Erf', ['xs'], ['e'], { name: 'erf' }),
      b.node('Add', ['e', 'one'], ['e1'], { name: 'add' }),
      b.node('Mul', ['x', 'e1'], ['xe'], { name: 'mul' }),
      b.node('Mul', ['xe', 'half'], ['y'], { name: 'half' }),
    ],
    inputs: [b.valueInfo('x', [1, 6])],
    outputs: [b.valueInfo('y', [1, 6])],
    initializers: [b.floatTensor('sqrt2', [], [Math.SQRT2]), b.floatTensor('one', [], [1]), b.floatTensor('half', [], [0.5])],
  });
  const x = [0.5, -1, 0, 1.75, -2, 0.125];
  const [o] = await run(path, { x }, { inputRange });
  // Erf's table (a quarter step) times |x| <= 6 over the checked interval, plus x/√2's rounding through erf' <= 1.13.
  o.float.forEach((f, i) => assert.ok(Math.abs(f - o.dequantized[i]) <= 4 * 2 ** -scale * Math.max(1, Math.abs(x[i])), `GELU(${x[i]}): ort ${f}, zkml ${o.dequantized[i]}`));
  const r = await compileAndCheck(path, { x }, { inputRange });
  assert.deepEqual(r.check.mismatches, []);
  assert.deepEqual(r.check.violated, []);
  assert.ok(r.program.gadgets.some((g) => g.node === 'mul' && g.def.kind === 'product'), 'x·(1 + erf) is one product per element');
});

test('Softmax and LogSoftmax inside the network (log-sum-exp by tables): within 2·2^-scale of onnxruntime, and a sound circuit', async () => {
  const path = save({
    name: 'softmax_inside',
    nodes: [
      b.node('Softmax', ['x'], ['p'], { name: 'softmax', attrs: { axis: b.attr.int(0) } }),
      b.node('LogSoftmax', ['x'], ['lp'], { name: 'logsoftmax' }),
      b.node('Add', ['p', 'lp'], ['y'], { name: 'add' }),
    ],
    inputs: [b.valueInfo('x', [2, 4])],
    outputs: [b.valueInfo('y', [2, 4])],
  });
  for (let t = 0; t < 4; t++) {
    const x = gridInputs(80 + t, 8);
    const [o] = await run(path, { x }, { inputRange });
    o.float.forEach((f, i) => assert.ok(Math.abs(f - o.dequantized[i]) <= 3 * 2 * 2 ** -scale, `softmax + log-softmax of ${x}: ort ${f}, zkml ${o.dequantized[i]}`));
  }
  const r = await compileAndCheck(path, { x: gridInputs(90, 8) }, { inputRange });
  assert.deepEqual(r.check.mismatches, []);
  assert.deepEqual(r.check.violated, []);
});
