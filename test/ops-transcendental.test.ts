/**
 * Sigmoid, Tanh, Exp, Log and Erf on piecewise-polynomial tables of the cheapest order (src/ops/nonlinear.ts,
 * src/ops/transcendental.ts, src/ops/secant-table.ts): at scales 8 and 16 the circuit's values are within the
 * bound the files state of the float op over a dense sweep of inputs (every cell, the saturated ends), and equal
 * onnxruntime's within it; the witness satisfies the circuit; at scale 16 Sigmoid/Tanh cost a fraction of the
 * tangent table they replace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../src/run.ts';
import { analyze } from '../src/compiler/compile.ts';
import { toFixed } from '../src/quantize/fixed.ts';
import { Expr } from '../src/ir/expr.ts';
import { SMOOTH, SMOOTH_TABLE, smoothEncoding, smoothOne, tableGrid } from '../src/ops/nonlinear.ts';
import { Program } from '../src/ir/program.ts';
import { cellPolynomial, tableEncoding } from '../src/ops/secant-table.ts';
import { ordersOf, tableFunction } from '../src/ops/transcendental.ts';
import * as b from '../fixtures/onnx-builder.ts';
import { compileAndCheck, tempDir } from './helpers/models.ts';

const dir = tempDir('ops-transcendental');

/** op(x) + 1/8: the Add keeps the op inside the circuit (a final Sigmoid would be derived outside it). */
function model(op: string, n: number): string {
  const path = join(dir, `${op}-${n}.onnx`);
  writeFileSync(path, b.serialize(b.model({
    name: op,
    nodes: [b.node(op, ['x'], ['s'], { name: 'op' }), b.node('Add', ['s', 'c'], ['y'], { name: 'after' })],
    initializers: [b.floatTensor('c', [1], [0.125])],
    inputs: [b.valueInfo('x', [n])],
    outputs: [b.valueInfo('y', [n])],
  })));
  return path;
}

for (const s of [8, 16]) {
  for (const op of ['Sigmoid', 'Tanh'] as const) {
    test(`${op} at scale ${s}: within the stated bound of the float op over a dense sweep, and equal to onnxruntime within it`, async () => {
      const range: [number, number] = [-16, 16];
      const { bound, order, grid } = smoothEncoding(op, ...range, s, s);
      assert.ok(bound <= 2 ** -(s + 1) * 1.6, `${op} s=${s}: bound ${bound} is within 1.6 half-steps of the scale`);
      // Dense sweep: 4097 inputs at exponent s, the integer reference executor.
      const n = 4097;
      const xs = Array.from({ length: n }, (_, i) => Math.round((range[0] + (i * (range[1] - range[0])) / (n - 1)) * 2 ** s) / 2 ** s);
      const path = model(op, n);
      const { lowered } = analyze(path, { inputRange: range, scale: s, inputScale: s });
      const E = lowered.outputs[0].exp;
      const out = lowered.program.execute(new Map([[lowered.inputs[0].name, xs.map((v) => toFixed(v, s, 'x'))]])).outputs.get(lowered.outputs[0].name)!;
      const worst = Math.max(...out.map((v, i) => Math.abs(Number(v) * 2 ** -E - 0.125 - SMOOTH[op].f(xs[i]))));
      assert.ok(worst <= bound, `${op} s=${s} order ${order} (t = ${grid.t}): worst error ${worst} exceeds the stated bound ${bound}`);
      // onnxruntime on a sample of the sweep (inputs on the grid, so the only error is the table's).
      const sample = xs.filter((_, i) => i % 64 === 0);
      const [o] = await run(model(op, sample.length), { x: sample }, { inputRange: range, scale: s, inputScale: s });
      o.dequantized.forEach((v, i) => assert.ok(Math.abs(v - o.float[i]) <= bound + 1e-6, `${op}(${sample[i]}): ${v} vs onnxruntime ${o.float[i]}`));
    });
  }
}

/** The op's float function, its input interval and the error allowed: the stated bound (relative for Exp). */
const TABLE_OPS: [string, [number, number]][] = [['Exp', [-8, 2]], ['Log', [0.125, 16]], ['Erf', [-4, 4]]];

for (const s of [8, 16]) {
  for (const [op, range] of TABLE_OPS) {
    test(`${op} at scale ${s}: the cheapest order, within its stated bound of the float op over a dense sweep`, () => {
      const fn = tableFunction({ node: { opType: op, attrs: new Map() } as never });
      // Log's table is wide: fewer elements keep the node under the per-node table limit.
      const n = op === 'Log' ? 257 : 4097;
      const xs = Array.from({ length: n }, (_, i) => Math.round((range[0] + (i * (range[1] - range[0])) / (n - 1)) * 2 ** s) / 2 ** s);
      const path = model(op, n);
      const { lowered } = analyze(path, { inputRange: range, scale: s, inputScale: s });
      // The bound for the interval the compile gives the input (the range widened to whole bits).
      const [lo, hi] = lowered.program.bounds(Expr.wire(lowered.program.inputs[0].wires[0])).map((v) => Number(v) * 2 ** -s);
      const { bound, order } = tableEncoding(fn, lo, hi, s, s, ordersOf(fn));
      const E = lowered.outputs[0].exp;
      const out = lowered.program.execute(new Map([[lowered.inputs[0].name, xs.map((v) => toFixed(v, s, 'x'))]])).outputs.get(lowered.outputs[0].name)!;
      // The bound of secant-table.ts is relative where |f| > 1 (Exp grows).
      out.forEach((v, i) => {
        const f = fn.f(xs[i]);
        const err = Math.abs(Number(v) * 2 ** -E - 0.125 - f);
        assert.ok(err <= bound * Math.max(1, Math.abs(f)), `${op}(${xs[i]}) s=${s} order ${order}: error ${err} > ${bound * Math.max(1, Math.abs(f))}`);
      });
    });
  }
}

test('at scale 16 the encoding costs under an eighth of the tangent table it replaces', () => {
  for (const op of ['Sigmoid', 'Tanh'] as const) {
    const path = model(op, 4);
    const { lowered } = analyze(path, { inputRange: [-16, 16], scale: 16, inputScale: 16 });
    const perElement = (lowered.program.costByNode().get('op') ?? 0) / 4;
    const tangentNodes = 2 * tableGrid(SMOOTH[op], 16).N + 1;
    assert.ok(perElement * 8 < tangentNodes, `${op}: ${perElement} constraints per element against a tangent table of ${tangentNodes} nodes`);
  }
});

test('Chebyshev cells of order 3 and 4 interpolate the function at their nodes', () => {
  for (const order of [3, 4] as const) {
    const fn = SMOOTH_TABLE.Tanh;
    const [a, h] = [0.25, 0.5];
    const c = cellPolynomial(fn, a, h, order);
    for (let k = 0; k <= order; k++) {
      const r = (h / 2) * Math.cos(((2 * k + 1) * Math.PI) / (2 * (order + 1)));
      const p = c.reduceRight((acc, cj) => acc * r + cj, 0);
      assert.ok(Math.abs(p - fn.f(a + h / 2 + r)) < 1e-12, `order ${order}, node ${k}`);
    }
  }
});

test('Sigmoid and Tanh at scale 16 in a circuit: the witness satisfies every constraint and equals the reference', async () => {
  for (const op of ['Sigmoid', 'Tanh']) {
    const r = await compileAndCheck(model(op, 6), { x: [-13, -2.5, -0.3, 0, 1.7, 9] }, { inputRange: [-16, 16], scale: 16, inputScale: 16 });
    assert.deepEqual(r.check.mismatches, []);
    assert.deepEqual(r.check.violated, []);
  }
});

test('smoothOne (one element at a time, as recurrent gates would) builds the op\'s encoding within its bound', () => {
  for (const op of ['Sigmoid', 'Tanh'] as const) {
    const s = 12;
    const program = new Program();
    const xs = program.addInput('x', [200], BigInt(-8 * 2 ** s), BigInt(8 * 2 ** s));
    const ys = xs.map((e) => smoothOne(program, e, s, op, s, 'op', 'test'));
    program.addOutput('y', [200], ys.map((y) => y.e), 'op');
    const values = Array.from({ length: 200 }, (_, i) => BigInt(Math.round((-8 + (16 * i) / 199) * 2 ** s)));
    const out = program.execute(new Map([['x', values]])).outputs.get('y')!;
    const { bound } = smoothEncoding(op, -8, 8, s, s);
    out.forEach((v, i) => {
      const err = Math.abs(Number(v) * 2 ** -ys[i].exp - SMOOTH[op].f(Number(values[i]) * 2 ** -s));
      assert.ok(err <= bound, `${op}: error ${err} > ${bound}`);
    });
  }
});

test('Sigmoid of a tensor with a huge interval (±2^20): the saturated ends absorb it, a one-hot over the same cells', () => {
  const path = model('Sigmoid', 4);
  const wide = analyze(path, { inputRange: [-(2 ** 20), 2 ** 20], scale: 8, inputScale: 8 });
  const narrow = analyze(path, { inputRange: [-16, 16], scale: 8, inputScale: 8 });
  const onehots = (a: typeof wide) => a.lowered.program.gadgets.filter((g) => g.node === 'op' && g.def.kind === 'onehot').map((g) => g.def.constraints(g.params));
  assert.deepEqual(onehots(wide), onehots(narrow));
});
