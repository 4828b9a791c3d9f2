/**
 * The ONNX long tail (src/ops/transcendental.ts with src/ops/secant-table.ts, and the small ops of
 * src/ops/tail.ts), end to end: small models written with fixtures/onnx-builder.ts, compiled (the witness equals
 * the reference executor and satisfies every constraint), and the reference executor compared with onnxruntime
 * on seeded inputs of the input grid, within each op's stated error bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../src/run.ts';
import { inputScaleFor } from '../src/compiler/lower.ts';
import { DEFAULT_QUANT } from '../src/quantize/options.ts';
import { ZkmlError } from '../src/util/errors.ts';
import { secantGrid, secantErrorBound } from '../src/ops/secant-table.ts';
import { tableFunction } from '../src/ops/transcendental.ts';
import * as b from '../fixtures/onnx-builder.ts';
import { compileAndCheck, tempDir } from './helpers/models.ts';

const dir = tempDir('ops-tail');
const inputRange: [number, number] = [-2, 2];
const scale = DEFAULT_QUANT.scale;
const exp = inputScaleFor({ ...DEFAULT_QUANT, inputRange });

function save(spec: b.ModelSpec): string {
  const path = join(dir, `${spec.name}.onnx`);
  writeFileSync(path, b.serialize(b.model(spec)));
  return path;
}

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
  nodes: SMOOTH_OPS.map(([op, attrs]) => b.node(op, ['x'], [op.toLowerCase()], { name: op.toLowerCase(), ...attrs })),
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
  // Exp over [-2, 6) at scale 8: cells of 2^-4 (the relative target 2^-10: h²/8 <= 2^-10), 128 of them.
  const g = secantGrid(tableFunction({ node: node('Exp') }), ...checked, scale, 'Exp');
  assert.deepEqual([g.t, g.last - g.first + 1], [4, 128]);
  const expGadgets = r.program.gadgets.filter((x) => x.node === 'exp');
  assert.deepEqual([...new Set(expGadgets.map((x) => x.def.kind))].sort(), ['onehot', 'product', 'requant-split']);
  assert.ok(cost.get('exp')! <= 6 * (128 + 1 + 2 * exp + 8), `Exp: one constraint per cell, a split and one product per element (got ${cost.get('exp')})`);
});

test('a function with a bounded domain is refused when its input interval leaves the domain, naming the interval', async () => {
  const path = save({ name: 'log', nodes: [b.node('Log', ['x'], ['y'], { name: 'log' })], inputs: [b.valueInfo('x', [1, 3])], outputs: [b.valueInfo('y', [1, 3])] });
  await assert.rejects(run(path, { x: [1, 1, 1] }, { inputRange }), (e: unknown) => e instanceof ZkmlError && /Log is defined on \(0, Infinity\) but its input interval is \[-2, 5\.99/.test(e.message));
  // Inside the domain it is a table like the others.
  const outs = await run(path, { x: [0.5, 1, 3.75] }, { inputRange: [0.25, 4] });
  outs[0].float.forEach((f, i) => assert.ok(Math.abs(f - outs[0].dequantized[i]) < 4 * 2 ** -scale, `Log: ort ${f}, zkml ${outs[0].dequantized[i]}`));
});
