/**
 * Softmax inside the network (src/ops/softmax-circuit.ts): proven with a max, an exp table and a proven
 * division. Compared with onnxruntime within the bound the file states (plus the input's rounding through the
 * scaling Mul), along a last axis (opset 13), a middle axis, and the flattened trailing axes of opset 11; the
 * witness satisfies the circuit. LogSoftmax inside the network (x − log-sum-exp) within its bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../src/run.ts';
import { softmaxErrorBound } from '../src/ops/softmax-circuit.ts';
import * as b from '../fixtures/onnx-builder.ts';
import { compileAndCheck, tempDir } from './helpers/models.ts';

const dir = tempDir('ops-softmax');
const inputRange: [number, number] = [-2, 2];

function attentionLike(name: string, opset: number, axis: number, shape: number[]): string {
  const path = join(dir, `${name}.onnx`);
  writeFileSync(path, b.serialize(b.model({
    name,
    opset,
    nodes: [
      b.node('Mul', ['x', 'k'], ['z'], { name: 'scale' }),
      b.node('Softmax', ['z'], ['p'], { name: 'softmax', attrs: { axis: b.attr.int(axis) } }),
      b.node('Add', ['p', 'c'], ['y'], { name: 'after' }),
    ],
    initializers: [b.floatTensor('k', [1], [2.5]), b.floatTensor('c', [1], [0.125])],
    inputs: [b.valueInfo('x', shape)],
    outputs: [b.valueInfo('y', shape)],
  })));
  return path;
}

async function withinBound(path: string, shape: number[], groupSize: number, seed: number) {
  const rand = b.mulberry32(seed);
  const size = shape.reduce((a, c) => a * c, 1);
  // Scale 8, input scale 7 over [-2, 2]: the Mul by 2.5 keeps exponent 7 (after a 9-bit weight's requant).
  const bound = softmaxErrorBound(groupSize, 8) + 2 ** -9;
  let worst = 0;
  for (let t = 0; t < 6; t++) {
    const x = Array.from({ length: size }, () => Math.round((rand() * 4 - 2) * 128) / 128);
    const [o] = await run(path, { x }, { inputRange });
    o.dequantized.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - o.float[i]))));
  }
  assert.ok(worst <= bound, `max error ${worst} > bound ${bound}`);
  return worst;
}

test('Softmax along the last axis inside the network equals onnxruntime within its stated bound; the witness satisfies the circuit', async () => {
  const path = attentionLike('last', 13, -1, [2, 5]);
  await withinBound(path, [2, 5], 5, 1);
  const r = await compileAndCheck(path, { x: [0.5, -1, 2, 0, 1.25, -2, -2, -2, -2, -2] }, { inputRange });
  assert.deepEqual(r.check.mismatches, []);
  assert.deepEqual(r.check.violated, []);
});

test('Softmax along a middle axis (opset 13) and over the flattened trailing axes (opset 11)', async () => {
  await withinBound(attentionLike('middle', 13, 1, [2, 3, 2]), [2, 3, 2], 3, 2);
  await withinBound(attentionLike('flat', 11, 1, [2, 2, 3]), [2, 2, 3], 6, 3);
});

test('LogSoftmax inside the network equals onnxruntime within 2·2^-s plus its input rounding', async () => {
  const path = join(dir, 'logsoftmax.onnx');
  writeFileSync(path, b.serialize(b.model({
    name: 'logsoftmax',
    nodes: [b.node('LogSoftmax', ['x'], ['l'], { name: 'ls' }), b.node('Add', ['l', 'c'], ['y'], { name: 'after' })],
    initializers: [b.floatTensor('c', [1], [1])],
    inputs: [b.valueInfo('x', [1, 4])],
    outputs: [b.valueInfo('y', [1, 4])],
  })));
  const [o] = await run(path, { x: [0.5, -1.25, 2, 0] }, { inputRange });
  o.dequantized.forEach((v, i) => assert.ok(Math.abs(v - o.float[i]) <= 3 * 2 ** -8, `${i}: ${v} vs ${o.float[i]}`));
});
