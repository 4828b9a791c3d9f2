/**
 * ai.onnx.ml tree ensembles (src/ops/ml-tree.ts): a 3-class, 2-tree classifier built with fixtures/onnx-builder.ts,
 * zkml's reference executor against onnxruntime on seeded grid inputs (labels equal, scores exact: dyadic weights),
 * and the circuit's witness checked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../src/run.ts';
import * as b from '../fixtures/onnx-builder.ts';
import { compileAndCheck, tempDir } from './helpers/models.ts';

const dir = tempDir('ops-ml');
const inputRange: [number, number] = [-2, 2];
const strings = (name: string, v: string[]) => ({ name, type: b.onnx.AttributeProto.AttributeType.STRINGS, strings: v.map((s) => new TextEncoder().encode(s)) });

// Two depth-2 trees over 4 features; each leaf votes for all 3 classes (dyadic weights).
function classifierModel(): string {
  const n = b.node('TreeEnsembleClassifier', ['x'], ['label', 'scores'], {
    name: 'trees',
    domain: 'ai.onnx.ml',
    attrs: {
      nodes_treeids: b.attr.ints([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]),
      nodes_nodeids: b.attr.ints([0, 1, 2, 3, 4, 0, 1, 2, 3, 4]),
      nodes_featureids: b.attr.ints([0, 1, 0, 0, 0, 2, 0, 3, 0, 0]),
      nodes_values: b.attr.floats([0.25, -0.5, 0, 0, 0, 0.3, 0, 1, 0, 0]),
      nodes_truenodeids: b.attr.ints([1, 3, 0, 0, 0, 1, 0, 3, 0, 0]),
      nodes_falsenodeids: b.attr.ints([2, 4, 0, 0, 0, 2, 0, 4, 0, 0]),
      nodes_missing_value_tracks_true: b.attr.ints(new Array(10).fill(0)),
      classlabels_int64s: b.attr.ints([3, 5, 7]),
    },
  });
  const modes = ['BRANCH_LEQ', 'BRANCH_GT', 'LEAF', 'LEAF', 'LEAF', 'BRANCH_LT', 'LEAF', 'BRANCH_GTE', 'LEAF', 'LEAF'];
  const leaves: [number, number][] = [[0, 2], [0, 3], [0, 4], [1, 1], [1, 3], [1, 4]];
  const cls: number[][] = [[0.5, 0.25, 0.25], [0.125, 0.75, 0.125], [0.25, 0.25, 0.5], [0.625, 0.25, 0.125], [0, 0.5, 0.5], [0.375, 0.125, 0.5]];
  const votes = leaves.flatMap(([t, id], i) => [0, 1, 2].map((c) => [t, id, c, cls[i][c]]));
  n.attribute!.push(
    strings('nodes_modes', modes),
    ...Object.entries({ class_treeids: 0, class_nodeids: 1, class_ids: 2 }).map(([k, j]) => ({ name: k, type: b.onnx.AttributeProto.AttributeType.INTS, ints: votes.map((v) => v[j]) })),
    { name: 'class_weights', type: b.onnx.AttributeProto.AttributeType.FLOATS, floats: votes.map((v) => v[3]) },
    { name: 'post_transform', type: b.onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode('NONE') },
  );
  const path = join(dir, 'trees.onnx');
  writeFileSync(path, b.serialize(b.model({ name: 'trees', nodes: [n], inputs: [b.valueInfo('x', [1, 4])], outputs: [b.valueInfo('label', [1], b.DataType.INT64), b.valueInfo('scores', [1, 3])], domains: { 'ai.onnx.ml': 3 } })));
  return path;
}

test('TreeEnsembleClassifier: labels and scores equal onnxruntime on grid inputs, and the witness satisfies the circuit', async () => {
  const path = classifierModel();
  const rand = b.mulberry32(7);
  for (let t = 0; t < 10; t++) {
    const x = Array.from({ length: 4 }, () => Math.round((rand() * 4 - 2) * 64) / 64);
    for (const o of await run(path, { x }, { inputRange })) {
      assert.deepEqual(o.dequantized, o.float.map(Number), `${o.name} on ${x}`);
    }
  }
  const r = await compileAndCheck(path, { x: [0.25, -0.5, 0.3, 1] }, { inputRange });
  assert.deepEqual(r.check.mismatches, []);
  assert.deepEqual(r.check.violated, []);
});
