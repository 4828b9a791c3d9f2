/**
 * Zero-element tensors (ONNX allows a dim_value of 0): the loader keeps a 0 dimension (a symbolic or missing one
 * still becomes 1), and an empty tensor flows through the data-movement ops as a tensor with no elements: no
 * signals, no constraints. Split with zero-size parts, Reshape to a shape with a 0 (allowzero=1) and an empty
 * graph input are compared with onnxruntime and compiled (the witness equals the reference and satisfies every
 * constraint); a digest over only empty tensors hashes a lone 0 (commit/commitments.ts digestFields).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as b from '../fixtures/onnx-builder.ts';
import { readOnnx } from '../src/onnx/load.ts';
import { run } from '../src/run.ts';
import { floatOpHarness } from './helpers/float-ops.ts';

const { save, randomInputs, worstErrors, compiles, inputRange } = floatOpHarness('empty-tensors', [-2, 2]);

// x [2,3] split on axis 0 into [0,3] and [2,3]; the empty part reshaped to [3,0] (allowzero: the 0 is a size,
// not "copy the input's dim"); z [0,4] an empty graph input through Relu.
const model = save({
  name: 'empty-tensors',
  nodes: [
    b.node('Split', ['x', 'split'], ['e', 'y'], { name: 'split', attrs: { axis: b.attr.int(0) } }),
    b.node('Reshape', ['e', 'shape'], ['r'], { name: 'reshape', attrs: { allowzero: b.attr.int(1) } }),
    b.node('Relu', ['y'], ['yr'], { name: 'relu' }),
    b.node('Relu', ['z'], ['zr'], { name: 'relu_empty' }),
  ],
  inputs: [b.valueInfo('x', [2, 3]), b.valueInfo('z', [0, 4])],
  outputs: [b.valueInfo('r', [3, 0]), b.valueInfo('yr', [2, 3]), b.valueInfo('zr', [0, 4])],
  initializers: [b.int64Tensor('split', [2], [0, 2]), b.int64Tensor('shape', [2], [3, 0])],
  opset: 14,
});

test('a dim_value of 0 stays 0; a symbolic or missing dimension becomes 1', () => {
  const g = readOnnx(model);
  assert.deepEqual(g.inputs.map((i) => i.shape), [[2, 3], [0, 4]]);
  const sym = save({ name: 'symbolic', nodes: [b.node('Relu', ['x'], ['y'])], inputs: [b.valueInfo('x', ['batch', 3])], outputs: [b.valueInfo('y', ['batch', 3])] });
  assert.deepEqual(readOnnx(sym).inputs[0].shape, [1, 3]);
});

test('Split with a zero-size part, Reshape to a 0 dim and an empty input: agree with onnxruntime, no signals for empty tensors', async () => {
  const worst = await worstErrors(model, { x: 6, z: 0 }, 3, 5);
  assert.deepEqual([...worst.keys()].sort(), ['r', 'yr', 'zr']);
  for (const [name, d] of worst) assert.equal(d, 0, `${name}: data movement and Relu are exact on the grid`);
  const out = await run(model, { x: randomInputs(1, 6), z: [] }, { inputRange });
  assert.deepEqual(out.map((o) => [o.name, o.dequantized.length]), [['r', 0], ['yr', 6], ['zr', 0]]);
  const { cost } = await compiles(model, { x: randomInputs(2, 6), z: [] });
  assert.equal(cost('split'), 0, 'Split copies wires');
  assert.equal(cost('reshape'), 0, 'an empty tensor has no signals');
  assert.equal(cost('relu_empty'), 0, 'Relu of an empty tensor has no elements to constrain');
});

test('a digest over only empty tensors is the digest of a lone 0 field, in and out of the circuit', async () => {
  const empty = save({
    name: 'all-empty',
    nodes: [b.node('Relu', ['z'], ['zr'], { name: 'relu' })],
    inputs: [b.valueInfo('z', [0, 2])],
    outputs: [b.valueInfo('zr', [0, 2])],
  });
  await compiles(empty, { z: [] }); // hashed input (the default): the circuit's digest equals the reference executor's
});
