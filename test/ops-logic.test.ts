/**
 * Comparisons, logic, selection and rounding (src/ops/logic.ts, src/ops/rounding.ts), end to end: small models
 * written with fixtures/onnx-builder.ts, compiled (the witness equals the reference executor and satisfies every
 * constraint), and the reference executor compared with onnxruntime on seeded random inputs drawn from the input
 * grid (value = k·2^-exp). On grid values every one of these ops is exact, and the models are built so the
 * tensors before them are exact too (weights and biases that are short dyadic fractions), so the agreement
 * asked of them is exact: booleans and integers equal, the rest to float32's rounding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../src/run.ts';
import { analyze } from '../src/compiler/compile.ts';
import { audit } from '../src/audit/audit.ts';
import { ZkmlError } from '../src/util/errors.ts';
import * as b from '../fixtures/onnx-builder.ts';
import { floatOpHarness } from './helpers/float-ops.ts';
import { compileAndCheck } from './helpers/models.ts';

const bed = floatOpHarness('ops-logic', [-2, 2]);
const { inputRange, save } = bed;
const exp = bed.inputExp;
const BOOL = b.DataType.BOOL;


/** A bool initializer (ONNX data type 9), one byte per element. */
function boolTensor(name: string, dims: number[], values: boolean[]): b.Tensor {
  return { name, dims, dataType: BOOL, rawData: Uint8Array.from(values, Number) };
}

/** Seeded grid values in the input range, with the edges and a few thresholds' neighbours mixed in. */
function gridInputs(seed: number, n: number): number[] {
  const rand = b.mulberry32(seed);
  const special = [0, 0.5, -0.5, 0.3, 1, -2, 2 - 2 ** -exp];
  return Array.from({ length: n }, (_, i) => {
    if (rand() < 0.3) return special[i % special.length];
    return Math.round((rand() * 4 - 2) * 2 ** exp) / 2 ** exp;
  }).map((v) => Math.min(inputRange[1], Math.max(inputRange[0], Math.round(v * 2 ** exp) / 2 ** exp)));
}

/** Every output of zkml's reference executor equals onnxruntime's on `trials` random grid inputs. */
async function agreesExactly(path: string, inputs: Record<string, number>, trials: number, seed: number): Promise<void> {
  for (let t = 0; t < trials; t++) {
    const input = Object.fromEntries(Object.entries(inputs).map(([name, n], k) => [name, gridInputs(seed + 97 * t + k, n)]));
    const outs = await run(path, input, { inputRange });
    for (const o of outs) {
      const diff = Math.max(0, ...o.float.map((f, i) => Math.abs(f - o.dequantized[i])));
      assert.ok(diff <= 1e-6, `${o.name} on ${JSON.stringify(input)}:\n  ort  ${o.float}\n  zkml ${o.dequantized}`);
    }
  }
}

/** Compiles `path`, checks the witness on one input and audits the build, and returns the constraints and gadgets per node. */
async function compiles(path: string, input: Record<string, number[]>) {
  const r = await compileAndCheck(path, input, { inputRange });
  assert.deepEqual(r.check.mismatches, [], 'every gadget output and circuit output equals the reference');
  assert.deepEqual(r.check.violated, [], 'the witness satisfies every constraint');
  const report = await audit(r.dir);
  assert.deepEqual(report.findings, [], '`zkml audit` is clean: every signal determined by the inputs');
  const cost = r.program.costByNode();
  return { cost: (node: string) => cost.get(node) ?? 0, gadgets: (node: string) => r.program.gadgets.filter((g) => g.node === node) };
}

/** Dyadic weights (multiples of 1/4): the Gemm is exact in fixed point and in float32. */
const dyadic = (seed: number, n: number) => {
  const rand = b.mulberry32(seed);
  return Array.from({ length: n }, () => Math.round((rand() * 2 - 1) * 4) / 4);
};

// x → Gemm → h; m = h < 0.3 (not on the grid: h <= floor(0.3·2^e)); Where(m, h, g) with g = Gemm of x too.
const selectModel = save({
  name: 'select',
  nodes: [
    b.node('Gemm', ['x', 'W1', 'B1'], ['h'], { name: 'gemm1' }),
    b.node('Gemm', ['x', 'W2', 'B2'], ['g'], { name: 'gemm2' }),
    b.node('Less', ['h', 'thr'], ['m'], { name: 'less' }),
    b.node('Where', ['m', 'h', 'g'], ['y'], { name: 'where' }),
    b.node('GreaterOrEqual', ['h', 'g'], ['hg'], { name: 'ge' }),
    b.node('Where', ['hg', 'half', 'g'], ['z'], { name: 'where_const' }),
  ],
  inputs: [b.valueInfo('x', [1, 4])],
  outputs: [b.valueInfo('y', [1, 3]), b.valueInfo('m', [1, 3], BOOL), b.valueInfo('hg', [1, 3], BOOL), b.valueInfo('z', [1, 3])],
  initializers: [
    b.floatTensor('W1', [4, 3], dyadic(1, 12)),
    b.floatTensor('B1', [3], [0.125, -0.25, 0.5]),
    b.floatTensor('W2', [4, 3], dyadic(2, 12)),
    b.floatTensor('B2', [3], [0, 0.375, -0.125]),
    b.floatTensor('thr', [], [0.3]),
    b.floatTensor('half', [], [0.5]),
  ],
});

test('Gemm → Less against a constant → Where between two computed tensors: exact agreement with onnxruntime, and a sound circuit', async () => {
  await agreesExactly(selectModel, { x: 4 }, 12, 10);
  const { cost, gadgets } = await compiles(selectModel, { x: [0.5, -1, 0.3, 1.25] });
  assert.equal(cost('where'), 3, 'Where of two computed tensors: one product per element');
  assert.equal(cost('where_const'), 3, 'Where with one constant branch: still one product per element');
  for (const n of ['less', 'ge']) {
    // One sign test per element, as wide as the difference's interval (Gemm accumulators: ~19 bits here).
    assert.deepEqual(gadgets(n).map((g) => g.def.kind), ['ge', 'ge', 'ge'], `${n}: one sign test per element`);
    assert.equal(cost(n), gadgets(n).reduce((a, g) => a + g.params.w, 0), `${n}: w constraints per element`);
  }
});

// Comparisons of two inputs, and the logic ops on their booleans; Equal on integer-valued tensors.
const logicModel = save({
  name: 'logic',
  nodes: [
    b.node('Greater', ['x', 'mhalf'], ['a'], { name: 'gt' }),
    b.node('LessOrEqual', ['x', 'half'], ['bb'], { name: 'le' }),
    b.node('Less', ['x', 'y'], ['c'], { name: 'lt' }),
    b.node('And', ['a', 'bb'], ['and'], { name: 'and' }),
    b.node('Not', ['a'], ['na'], { name: 'not' }),
    b.node('Or', ['na', 'c'], ['or'], { name: 'or' }),
    b.node('Xor', ['a', 'c'], ['xor'], { name: 'xor' }),
    b.node('And', ['c', 'mask'], ['masked'], { name: 'and_const' }),
    b.node('Round', ['x'], ['rx'], { name: 'round_x' }),
    b.node('Floor', ['y'], ['fy'], { name: 'floor_y' }),
    b.node('Equal', ['rx', 'fy'], ['eq'], { name: 'eq' }),
    b.node('Equal', ['x', 'half'], ['eqc'], { name: 'eq_const' }),
    b.node('Equal', ['x', 'third'], ['eqoff'], { name: 'eq_off_grid' }),
  ],
  inputs: [b.valueInfo('x', [1, 5]), b.valueInfo('y', [1, 5])],
  outputs: ['and', 'or', 'xor', 'masked', 'eq', 'eqc', 'eqoff'].map((n) => b.valueInfo(n, [1, 5], BOOL)),
  initializers: [
    b.floatTensor('half', [], [0.5]),
    b.floatTensor('mhalf', [], [-0.5]),
    b.floatTensor('third', [], [1 / 3]),
    boolTensor('mask', [5], [true, false, true, true, false]),
  ],
});

test('Greater/LessOrEqual/Less, And/Or/Xor/Not and Equal: exact agreement with onnxruntime, and a sound circuit', async () => {
  await agreesExactly(logicModel, { x: 5, y: 5 }, 12, 20);
  const { cost, gadgets } = await compiles(logicModel, { x: [0.5, -0.5, 1.5, 0.25, -1], y: [0.5, 1, -2, 0.25, -0.75] });
  assert.equal(cost('and'), 5, 'And: one product per element');
  assert.equal(cost('or'), 5, 'Or: one product per element');
  assert.equal(cost('xor'), 5, 'Xor: one product per element');
  assert.equal(cost('not'), 0, 'Not is free');
  assert.equal(cost('and_const'), 0, 'And with a constant is wiring');
  // One equality test (two sign tests) per element, as wide as the difference's interval.
  for (const node of ['eq', 'eq_const']) {
    assert.deepEqual(gadgets(node).map((g) => g.def.kind), Array(5).fill('equal'), `${node}: one equality test per element`);
    assert.equal(cost(node), gadgets(node).reduce((a, g) => a + 2 * g.params.w, 0), `${node}: 2w per element`);
  }
  assert.equal(cost('eq_off_grid'), 0, 'Equal to a constant off the grid is constant false');
  // x and y at the same exponent: x - y spans 2^(exp+3) values, so a (exp+4)-bit sign test.
  assert.equal(cost('lt'), 5 * (exp + 4), 'Less of two inputs: w constraints per element');
});

// Neg, Abs, Sign, Floor, Ceil, Round of a fixed-point tensor, and of a Gemm output (wider intervals).
const roundingModel = save({
  name: 'rounding',
  nodes: [
    b.node('Neg', ['x'], ['neg'], { name: 'neg' }),
    b.node('Abs', ['x'], ['abs'], { name: 'abs' }),
    b.node('Sign', ['x'], ['sign'], { name: 'sign' }),
    b.node('Floor', ['x'], ['floor'], { name: 'floor' }),
    b.node('Ceil', ['x'], ['ceil'], { name: 'ceil' }),
    b.node('Round', ['x'], ['round'], { name: 'round' }),
    b.node('Gemm', ['x', 'W'], ['h'], { name: 'gemm' }),
    b.node('Round', ['h'], ['rh'], { name: 'round_h' }),
    b.node('Abs', ['rh'], ['arh'], { name: 'abs_rh' }),
    b.node('Sign', ['arh'], ['srh'], { name: 'sign_nonneg' }),
  ],
  inputs: [b.valueInfo('x', [1, 6])],
  outputs: ['neg', 'abs', 'sign', 'floor', 'ceil', 'round', 'arh', 'srh'].map((n) => b.valueInfo(n, n === 'arh' || n === 'srh' ? [1, 2] : [1, 6])),
  initializers: [b.floatTensor('W', [6, 2], dyadic(3, 12))],
});

test('Neg/Abs/Sign/Floor/Ceil/Round: exact agreement with onnxruntime (Round halves to even), and a sound circuit', async () => {
  await agreesExactly(roundingModel, { x: 6 }, 12, 30);
  const { cost, gadgets } = await compiles(roundingModel, { x: [0.5, -0.5, 1.5, -1.5, 2.5 - 2, -1.96875] });
  assert.equal(cost('neg'), 0, 'Neg is free');
  // The input's range check admits [-2^(exp+1), -2^(exp+1) + 2^(exp+3)): n = exp + 3 bits.
  const n = exp + 3;
  assert.equal(cost('floor'), 6 * n, 'Floor: n constraints per element');
  // Ceil is -Floor(-x): -x's interval is the mirror image, one bit wider at the offset multiple of 2^(exp+1).
  assert.equal(cost('ceil'), gadgets('ceil').reduce((a, g) => a + g.params.n, 0), 'Ceil: -Floor(-x), n per element');
  assert.equal(gadgets('ceil').length, 6);
  assert.equal(cost('round'), 6 * (n + exp), 'Round: n + exp per element');
  const w = n + 1; // the signed width of that interval (the sign test's range includes negatives)
  assert.equal(cost('sign'), 6 * 2 * w, 'Sign: two w-bit sign tests per element');
  assert.equal(cost('abs'), 6 * (w + 1), 'Abs: a w-bit sign and one product per element');
  // |x| >= 0 decides [x >= 0]: only [-x >= 0] is left, one sign test per element.
  assert.equal(gadgets('sign_nonneg').length, 2, 'Sign of a non-negative tensor: one sign test per element');
  assert.equal(cost('sign_nonneg'), gadgets('sign_nonneg').reduce((a, g) => a + g.params.w, 0));
});

test('all-constant comparisons, logic and Where fold (bool initializers load); Where on a folded mask costs nothing', async () => {
  const path = save({
    name: 'folded',
    nodes: [
      b.node('Less', ['c1', 'c2'], ['lt'], { name: 'lt' }),
      b.node('Xor', ['lt', 'flags'], ['cond'], { name: 'xor' }),
      b.node('Where', ['cond', 'c1', 'c2'], ['picked'], { name: 'where_folded' }),
      b.node('Round', ['picked'], ['rp'], { name: 'round_folded' }),
      b.node('Add', ['x', 'rp'], ['xp'], { name: 'add' }),
      b.node('Where', ['cond', 'x', 'xp'], ['y'], { name: 'where' }),
    ],
    inputs: [b.valueInfo('x', [1, 3])],
    outputs: [b.valueInfo('y', [1, 3])],
    initializers: [b.floatTensor('c1', [3], [0.25, 1.5, -1]), b.floatTensor('c2', [3], [0.5, -0.5, 2.5]), boolTensor('flags', [3], [false, false, true])],
  });
  await agreesExactly(path, { x: 3 }, 4, 40);
  const { cost } = await compiles(path, { x: [0.5, -1, 1.75] });
  assert.equal(cost('where'), 0, 'a constant condition is wiring');
});

test('logic on a tensor that is not boolean is refused, naming the node, the input and what it got', () => {
  // Not a valid ONNX model (Not takes bool), so only zkml's lowering sees it: the check guards the formulas.
  const path = save({
    name: 'not_bool',
    nodes: [b.node('Not', ['x'], ['y'], { name: 'not_float' })],
    inputs: [b.valueInfo('x', [1, 2])],
    outputs: [b.valueInfo('y', [1, 2], BOOL)],
  });
  assert.throws(() => analyze(path, { inputRange }), (e: unknown) => {
    assert.ok(e instanceof ZkmlError && e.code === 'E_UNSUPPORTED', String(e));
    assert.match(e.message, /not_float|Not/);
    assert.match(e.message, /input 0 \("x"\).*boolean.*exponent/);
    return true;
  });
});

// A bool graph input (a mask, as attention and selection models take): onnxruntime is fed bool, zkml 0/1.
const maskInputModel = save({
  name: 'mask_input',
  nodes: [b.node('Where', ['mask', 'x', 'zero'], ['y'], { name: 'where_mask' }), b.node('Not', ['mask'], ['nm'], { name: 'not_mask' })],
  inputs: [b.valueInfo('x', [1, 4]), b.valueInfo('mask', [1, 4], BOOL)],
  outputs: [b.valueInfo('y', [1, 4]), b.valueInfo('nm', [1, 4], BOOL)],
  initializers: [b.floatTensor('zero', [], [0])],
});

test('a bool graph input: run() feeds onnxruntime bools and agrees with it exactly', async () => {
  const outs = await run(maskInputModel, { x: [0.5, -1, 0.25, 1.5], mask: [1, 0, 0, 1] }, { inputRange });
  const byName = new Map(outs.map((o) => [o.name, o]));
  assert.deepEqual(byName.get('y')!.float, [0.5, 0, 0, 1.5]);
  assert.deepEqual(byName.get('y')!.dequantized, [0.5, 0, 0, 1.5]);
  assert.deepEqual(byName.get('nm')!.float, [0, 1, 1, 0]);
  assert.deepEqual(byName.get('nm')!.dequantized, [0, 1, 1, 0]);
});
