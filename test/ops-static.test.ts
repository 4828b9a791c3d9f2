/**
 * Static long-tail ops: Pad in modes reflect, edge and wrap (wiring, no constraint) and MaxPool's Indices output
 * (the argmax chain), each equal to onnxruntime; the MaxPool circuit's witness satisfies every constraint.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../src/run.ts';
import { analyze } from '../src/compiler/compile.ts';
import * as b from '../fixtures/onnx-builder.ts';
import { compileAndCheck, tempDir } from './helpers/models.ts';

const dir = tempDir('ops-static');
const inputRange: [number, number] = [-4, 4];

function write(name: string, spec: Omit<b.ModelSpec, 'name'>): string {
  const path = join(dir, `${name}.onnx`);
  writeFileSync(path, b.serialize(b.model({ name, ...spec })));
  return path;
}

for (const mode of ['reflect', 'edge', 'wrap']) {
  test(`Pad mode ${mode} equals onnxruntime and costs no constraint`, async () => {
    const path = write(`pad-${mode}`, {
      opset: mode === 'wrap' ? 19 : 13,
      nodes: [b.node('Pad', ['x', 'pads'], ['y'], { name: 'pad', attrs: { mode: b.attr.string(mode) } })],
      initializers: [b.int64Tensor('pads', [4], [0, 2, 0, 1])],
      inputs: [b.valueInfo('x', [3, 3])],
      outputs: [b.valueInfo('y', [3, 6])],
    });
    const x = [1, 1.5, -2, 0.25, 3, -0.5, 2, -1, 0.75];
    const [o] = await run(path, { x }, { inputRange });
    assert.deepEqual(o.dequantized, o.float);
    const { lowered } = analyze(path, { inputRange });
    assert.equal(lowered.program.costByNode().get('pad') ?? 0, 0);
  });
}

test('Pad mode reflect wider than the axis allows is refused with the axis and the pads', () => {
  const path = write('pad-reflect-wide', {
    opset: 13,
    nodes: [b.node('Pad', ['x', 'pads'], ['y'], { name: 'pad', attrs: { mode: b.attr.string('reflect') } })],
    initializers: [b.int64Tensor('pads', [4], [0, 3, 0, 0])],
    inputs: [b.valueInfo('x', [2, 3])],
    outputs: [b.valueInfo('y', [2, 6])],
  });
  assert.throws(() => analyze(path, { inputRange }), /reflect.*axis 1 of size 3 by \[3, 0\]/);
});

for (const storageOrder of [0, 1]) {
  test(`MaxPool's Indices (storage_order ${storageOrder}) equal onnxruntime, ties to the first maximum, and the circuit is satisfied`, async () => {
    const path = write(`maxpool-indices-${storageOrder}`, {
      opset: 12,
      nodes: [
        b.node('MaxPool', ['x'], ['y', 'i'], { name: 'pool', attrs: { kernel_shape: b.attr.ints([2, 2]), strides: b.attr.ints([1, 2]), storage_order: b.attr.int(storageOrder) } }),
        b.node('Add', ['y', 'c'], ['z'], { name: 'after' }),
      ],
      initializers: [b.floatTensor('c', [1], [0.5])],
      inputs: [b.valueInfo('x', [1, 2, 3, 4])],
      outputs: [b.valueInfo('z', [1, 2, 2, 2]), b.valueInfo('i', [1, 2, 2, 2], b.DataType.INT64)],
    });
    // Ties in the first window of each plane (1 = 1, -2 = -2 = -2).
    const x = [1, 1, 0.5, 2, -1, 0, 3, -3, 0.25, 2.5, 1.5, 1, -2, -2, 0, 1, -2, -3, 0.5, 0.5, 4, -1, 0.5, 1];
    const outputs = await run(path, { x }, { inputRange });
    for (const o of outputs) assert.deepEqual(o.dequantized, o.float.map(Number), o.name);
    const r = await compileAndCheck(path, { x }, { inputRange });
    assert.deepEqual(r.check.mismatches, []);
    assert.deepEqual(r.check.violated, []);
  });
}

test('Cast of a computed tensor to uint8 truncates like onnxruntime; a tensor that can leave int8 is refused', async () => {
  const cast = (name: string, to: number) => write(name, {
    opset: 13,
    nodes: [
      b.node('Relu', ['x'], ['r'], { name: 'relu' }),
      b.node('Cast', ['r'], ['u'], { name: 'cast', attrs: { to: b.attr.int(to) } }),
      b.node('Cast', ['u'], ['f'], { name: 'back', attrs: { to: b.attr.int(1) } }),
      b.node('Add', ['f', 'c'], ['y'], { name: 'after' }),
    ],
    initializers: [b.floatTensor('c', [1], [1])],
    inputs: [b.valueInfo('x', [6])],
    outputs: [b.valueInfo('y', [6])],
  });
  const path = cast('cast-uint8', 2);
  const x = [-1.5, 0, 0.75, 1, 2.5, 3.99];
  const [o] = await run(path, { x }, { inputRange });
  assert.deepEqual(o.dequantized, o.float);
  const r = await compileAndCheck(path, { x }, { inputRange });
  assert.deepEqual(r.check.violated, []);
  assert.throws(() => analyze(cast('cast-int8', 3), { inputRange: [-200, 200] }), /Cast to int8: element 0 can be in \[0, \d+\], outside the type's \[-128, 127\]/);
});

test('integer Div truncates toward zero like onnxruntime, by constants of both signs and by a computed divisor; the circuit is satisfied', async () => {
  const INT32 = b.DataType.INT32;
  const path = write('int-div', {
    opset: 13,
    nodes: [
      b.node('Div', ['x', 'three'], ['a'], { name: 'by3' }),
      b.node('Div', ['x', 'minus2'], ['c'], { name: 'byminus2' }),
      b.node('Abs', ['y'], ['ay'], { name: 'abs' }),
      b.node('Add', ['ay', 'one'], ['d'], { name: 'plus1' }),
      b.node('Div', ['x', 'd'], ['q'], { name: 'byd' }),
    ],
    initializers: [b.intTensor('three', 'int32', [1], [3]), b.intTensor('minus2', 'int32', [1], [-2]), b.intTensor('one', 'int32', [1], [1])],
    inputs: [b.valueInfo('x', [8], INT32), b.valueInfo('y', [8], INT32)],
    outputs: [b.valueInfo('a', [8], INT32), b.valueInfo('c', [8], INT32), b.valueInfo('q', [8], INT32)],
  });
  const range: [number, number] = [-7, 6];
  const x = [-7, -6, -5, -1, 0, 1, 5, 6];
  const y = [2, -3, 0, 6, -7, 1, -2, 3];
  for (const o of await run(path, { x, y }, { inputRange: range })) assert.deepEqual(o.dequantized, o.float.map((v) => Number(v) + 0), o.name);
  const r = await compileAndCheck(path, { x, y }, { inputRange: range });
  assert.deepEqual(r.check.mismatches, []);
  assert.deepEqual(r.check.violated, []);
});

for (const mode of ['nearest', 'linear']) {
  test(`Resize tf_crop_and_resize (${mode}, extrapolation value 2) equals onnxruntime, and costs no constraint`, async () => {
    const path = write(`resize-crop-${mode}`, {
      opset: 13,
      nodes: [b.node('Resize', ['x', 'roi', '', 'sizes'], ['y'], { name: 'resize', attrs: { mode: b.attr.string(mode), coordinate_transformation_mode: b.attr.string('tf_crop_and_resize'), extrapolation_value: b.attr.float(2) } })],
      // The roi reaches past the input on the last axis (1.25), so some outputs are the extrapolation value.
      initializers: [b.floatTensor('roi', [8], [0, 0, 0.25, 0.5, 1, 1, 0.75, 1.25]), b.int64Tensor('sizes', [4], [1, 1, 3, 3])],
      inputs: [b.valueInfo('x', [1, 1, 4, 4])],
      outputs: [b.valueInfo('y', [1, 1, 3, 3])],
    });
    const x = Array.from({ length: 16 }, (_, i) => (i % 5) - 2 + i / 16);
    const [o] = await run(path, { x }, { inputRange });
    o.dequantized.forEach((v, i) => assert.ok(Math.abs(v - o.float[i]) <= 2 ** -8, `${i}: ${v} vs onnxruntime ${o.float[i]}`));
    assert.ok(o.float.includes(2), 'some outputs are the extrapolation value');
    const { lowered } = analyze(path, { inputRange });
    assert.equal(lowered.program.costByNode().get('resize') ?? 0, 0);
  });
}

test('Cast of a fractional tensor of both signs to int8 truncates toward zero like onnxruntime; the circuit is satisfied', async () => {
  const path = write('cast-int8-mixed', {
    opset: 13,
    nodes: [
      b.node('Cast', ['x'], ['i'], { name: 'cast', attrs: { to: b.attr.int(3) } }),
      b.node('Cast', ['i'], ['f'], { name: 'back', attrs: { to: b.attr.int(1) } }),
      b.node('Add', ['f', 'c'], ['y'], { name: 'after' }),
    ],
    initializers: [b.floatTensor('c', [1], [1])],
    inputs: [b.valueInfo('x', [8])],
    outputs: [b.valueInfo('y', [8])],
  });
  const x = [-3.75, -2, -1.5, -0.25, 0, 0.5, 1, 3.5];
  const [o] = await run(path, { x }, { inputRange });
  assert.deepEqual(o.dequantized, o.float);
  const r = await compileAndCheck(path, { x }, { inputRange });
  assert.deepEqual(r.check.mismatches, []);
  assert.deepEqual(r.check.violated, []);
});
