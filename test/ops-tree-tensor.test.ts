/**
 * Tree ensembles in the tensorized form converters such as hummingbird write (its GEMM strategy): the splits as
 * Less(x·A, B) with a constant feature-selection matrix A and thresholds B, the leaves as Equal((splits)·C, D)
 * with a constant path matrix C and path counts D, and the output as (leaves)·E with the leaf values E: only
 * constant matrices, comparisons and casts. zkml's reference executor equals onnxruntime on seeded grid inputs
 * (exact: dyadic thresholds and values) and the circuit's witness is checked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../src/run.ts';
import * as b from '../fixtures/onnx-builder.ts';
import { compileAndCheck, tempDir } from './helpers/models.ts';

const dir = tempDir('ops-tree-tensor');
const inputRange: [number, number] = [-2, 2];

// One depth-2 tree over 3 features: internal nodes n0 (x0 < 0.25), n1 (x1 < -0.5), n2 (x2 < 0.75); leaves
// l0 = n0∧n1, l1 = n0∧¬n1, l2 = ¬n0∧n2, l3 = ¬n0∧¬n2. C[i][l] = 1 if leaf l needs node i true, -1 if false;
// D[l] = the number of true conditions leaf l needs, so (splits)·C = D exactly on the reached leaf.
const A = [1, 0, 0, 0, 1, 0, 0, 0, 1]; // [3 features, 3 nodes]
const B = [0.25, -0.5, 0.75];
const C = [1, 1, -1, -1, 1, -1, 0, 0, 0, 0, 1, -1]; // [3 nodes, 4 leaves]
const D = [2, 1, 1, 0];
const E = [0.5, -1.25, 2, 0.75, 1, -0.5, 0.25, 1.5]; // [4 leaves, 2 outputs]

function tensorizedModel(): string {
  const path = join(dir, 'tree-gemm.onnx');
  writeFileSync(path, b.serialize(b.model({
    name: 'tree-gemm',
    nodes: [
      b.node('MatMul', ['x', 'A'], ['xa'], { name: 'select' }),
      b.node('Less', ['xa', 'B'], ['t'], { name: 'splits' }),
      b.node('Cast', ['t'], ['tf'], { name: 'splits_f', attrs: { to: b.attr.int(b.DataType.FLOAT) } }),
      b.node('MatMul', ['tf', 'C'], ['paths'], { name: 'paths' }),
      b.node('Equal', ['paths', 'D'], ['leaf'], { name: 'leaves' }),
      b.node('Cast', ['leaf'], ['leaf_f'], { name: 'leaves_f', attrs: { to: b.attr.int(b.DataType.FLOAT) } }),
      b.node('MatMul', ['leaf_f', 'E'], ['y'], { name: 'values' }),
    ],
    initializers: [b.floatTensor('A', [3, 3], A), b.floatTensor('B', [3], B), b.floatTensor('C', [3, 4], C), b.floatTensor('D', [4], D), b.floatTensor('E', [4, 2], E)],
    inputs: [b.valueInfo('x', [1, 3])],
    outputs: [b.valueInfo('y', [1, 2])],
  })));
  return path;
}

test('a tree in the tensorized GEMM form (Less, Cast, MatMul, Equal over constant matrices) equals onnxruntime, and the witness satisfies the circuit', async () => {
  const path = tensorizedModel();
  const rand = b.mulberry32(31);
  for (let t = 0; t < 12; t++) {
    const x = Array.from({ length: 3 }, () => Math.round((rand() * 4 - 2) * 64) / 64);
    const [o] = await run(path, { x }, { inputRange });
    assert.deepEqual(o.dequantized, o.float.map((v) => Number(v) + 0), `on ${x}`);
  }
  const r = await compileAndCheck(path, { x: [0.25, -0.75, 1] }, { inputRange });
  assert.deepEqual(r.check.mismatches, []);
  assert.deepEqual(r.check.violated, []);
});
