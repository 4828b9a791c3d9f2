/**
 * Gather and GatherElements with computed indices (src/ops/select.ts): an embedding lookup of int64 token ids
 * in a constant table, negative ids counting from the end, and a selection from a computed tensor. zkml's
 * reference executor against onnxruntime on seeded ids (exact: the tables are dyadic, the ids integers), the
 * witness checked against the circuit, and an out-of-range id shown to have no witness. Integer inputs take
 * --input-range as their integer range.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../src/run.ts';
import * as b from '../fixtures/onnx-builder.ts';
import { floatOpHarness } from './helpers/float-ops.ts';
import { compileAndCheck } from './helpers/models.ts';

// One range for every input: the ids' (integer inputs take it rounded inward) and the float data's.
const bed = floatOpHarness('ops-select', [-7, 6]);
const { inputRange, save } = bed;
const INT64 = b.DataType.INT64;
const V = 7;
const D = 3;
// Dyadic table values, so the activation grid holds them exactly.
const table = Array.from({ length: V * D }, (_, i) => ((i * 37) % 23) / 8 - 1.25);


async function agrees(path: string, input: Record<string, unknown>) {
  for (const o of await run(path, input, { inputRange })) {
    assert.deepEqual(o.dequantized, o.float.map((v) => Number(v) + 0), `${o.name} on ${JSON.stringify(input)}`); // + 0: -0 is 0
  }
}

/** Token embedding, then a linear layer on the embeddings: ids [1, 4] → [1, 4, D] → [1, 4, 2]. */
const embedding = () => save({
  name: 'embedding',
  nodes: [b.node('Gather', ['table', 'ids'], ['e'], { name: 'embed' }), b.node('MatMul', ['e', 'w'], ['y'], { name: 'proj' })],
  initializers: [b.floatTensor('table', [V, D], table), b.floatTensor('w', [D, 2], [0.5, -1, 0.25, 0.75, -0.5, 1])],
  inputs: [b.valueInfo('ids', [1, 4], INT64)],
  outputs: [b.valueInfo('y', [1, 4, 2])],
});

test('Gather of int64 token ids in a constant table (an embedding) equals onnxruntime, negative ids included, and the witness satisfies the circuit', async () => {
  const path = embedding();
  const rand = b.mulberry32(5);
  for (let t = 0; t < 8; t++) await agrees(path, { ids: [Array.from({ length: 4 }, () => Math.floor(rand() * 2 * V) - V)] });
  const r = await compileAndCheck(path, { ids: [[0, 6, -1, 3]] }, { inputRange });
  assert.deepEqual(r.check.mismatches, []);
  assert.deepEqual(r.check.violated, []);
});

test('an id outside [-V, V) has no witness: the circuit cannot be satisfied', async () => {
  const r = await compileAndCheck(embedding(), { ids: [[0, V, 1, 2]] }, { inputRange }).catch((e: Error) => e);
  if (r instanceof Error) assert.match(r.message, /violat|constraint|witness|range/i);
  else assert.notDeepEqual(r.check.violated, [], 'an out-of-range id must violate a constraint');
});

test('Gather and GatherElements select from a computed tensor by computed indices, along a middle axis', async () => {
  const path = save({
    name: 'select-computed',
    nodes: [
      b.node('Mul', ['x', 'two'], ['x2'], { name: 'double' }),
      b.node('Gather', ['x2', 'i'], ['g'], { name: 'gather', attrs: { axis: b.attr.int(1) } }),
      b.node('GatherElements', ['x2', 'j'], ['ge'], { name: 'gather_elements', attrs: { axis: b.attr.int(1) } }),
    ],
    initializers: [b.floatTensor('two', [1], [2])],
    inputs: [b.valueInfo('x', [2, 4, 3]), b.valueInfo('i', [2], INT64), b.valueInfo('j', [2, 2, 3], INT64)],
    outputs: [b.valueInfo('g', [2, 2, 3]), b.valueInfo('ge', [2, 2, 3])],
  });
  const rand = b.mulberry32(9);
  // The 1/32 grid: the input scale of the range [-7, 6] at the default scale.
  const grid = () => Math.round((rand() * 4 - 2) * 32) / 32;
  for (let t = 0; t < 6; t++) {
    const input = {
      x: Array.from({ length: 24 }, grid),
      i: [Math.floor(rand() * 8) - 4, Math.floor(rand() * 8) - 4],
      j: Array.from({ length: 12 }, () => Math.floor(rand() * 8) - 4),
    };
    await agrees(path, input);
    if (t === 0) {
      const r = await compileAndCheck(path, input, { inputRange });
      assert.deepEqual(r.check.mismatches, []);
      assert.deepEqual(r.check.violated, []);
    }
  }
});
