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
import { setup } from '../src/setup/setup.ts';
import { prove } from '../src/prove/prove.ts';
import { verify } from '../src/prove/verify.ts';

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

// Two-class, linear and regressor forms. `votes` are [tree, node, class, weight]; each tree is
// [featureId, threshold, mode] per internal node of a complete depth-2 tree (nodes 0..2 internal, 3..6 leaves).
const ints = (name: string, v: number[]) => ({ name, type: b.onnx.AttributeProto.AttributeType.INTS, ints: v });
const floatsAttr = (name: string, v: number[]) => ({ name, type: b.onnx.AttributeProto.AttributeType.FLOATS, floats: v });
const str = (name: string, v: string) => ({ name, type: b.onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(v) });

interface Ensemble {
  op: 'TreeEnsembleClassifier' | 'TreeEnsembleRegressor';
  splits: [number, number, string][][];
  votes: [number, number, number, number][];
  post: string;
  base?: number[];
  extra?: { name: string; type: number; [k: string]: unknown }[];
}

function ensembleModel(name: string, spec: Ensemble, features: number, outputs: number): string {
  const nodes: { tree: number; id: number; feature: number; value: number; t: number; f: number; mode: string }[] = [];
  spec.splits.forEach((splits, tree) => {
    for (let id = 0; id < 7; id++) {
      const s = splits[id];
      nodes.push(id < 3 ? { tree, id, feature: s[0], value: s[1], t: 2 * id + 1, f: 2 * id + 2, mode: s[2] } : { tree, id, feature: 0, value: 0, t: 0, f: 0, mode: 'LEAF' });
    }
  });
  const classifier = spec.op === 'TreeEnsembleClassifier';
  const prefix = classifier ? 'class' : 'target';
  const n = b.node(spec.op, ['x'], classifier ? ['label', 'scores'] : ['y'], { name: 'trees', domain: 'ai.onnx.ml' });
  (n.attribute ??= []).push(
    ints('nodes_treeids', nodes.map((x) => x.tree)), ints('nodes_nodeids', nodes.map((x) => x.id)),
    ints('nodes_featureids', nodes.map((x) => x.feature)), floatsAttr('nodes_values', nodes.map((x) => x.value)),
    ints('nodes_truenodeids', nodes.map((x) => x.t)), ints('nodes_falsenodeids', nodes.map((x) => x.f)),
    strings('nodes_modes', nodes.map((x) => x.mode)),
    ints(`${prefix}_treeids`, spec.votes.map((v) => v[0])), ints(`${prefix}_nodeids`, spec.votes.map((v) => v[1])),
    ints(`${prefix}_ids`, spec.votes.map((v) => v[2])), floatsAttr(`${prefix}_weights`, spec.votes.map((v) => v[3])),
    str('post_transform', spec.post), ...(spec.extra ?? []),
  );
  if (spec.base) n.attribute!.push(floatsAttr('base_values', spec.base));
  const outs = classifier ? [b.valueInfo('label', [1], b.DataType.INT64), b.valueInfo('scores', [1, outputs])] : [b.valueInfo('y', [1, outputs])];
  const path = join(dir, `${name}.onnx`);
  writeFileSync(path, b.serialize(b.model({ name, nodes: [n], inputs: [b.valueInfo('x', [1, features])], outputs: outs, domains: { 'ai.onnx.ml': 3 } })));
  return path;
}

/** Seeded dyadic inputs on the 1/64 grid of [-2, 2]. */
function gridInputs(seed: number, count: number, features: number): number[][] {
  const rand = b.mulberry32(seed);
  return Array.from({ length: count }, () => Array.from({ length: features }, () => Math.round((rand() * 4 - 2) * 64) / 64));
}

/** Every output of `run` equals onnxruntime's: labels exactly, scores within `tol` (0: exactly). */
async function agrees(path: string, xs: number[][], tol: number) {
  for (const x of xs) {
    for (const o of await run(path, { x }, { inputRange })) {
      const float = o.float.map(Number);
      if (tol === 0 || o.name === 'label') assert.deepEqual(o.derived, float, `${o.name} on ${x}`);
      else o.derived.forEach((v, i) => assert.ok(Math.abs(v - float[i]) <= tol, `${o.name}[${i}] on ${x}: ${v} vs ${float[i]}`));
    }
  }
}

const depth2 = (f: number[], t: number[]): [number, number, string][] => [[f[0], t[0], 'BRANCH_LEQ'], [f[1], t[1], 'BRANCH_LT'], [f[2], t[2], 'BRANCH_GTE']];
const leafVotes = (tree: number, cls: number, w: number[]) => w.map((v, i): [number, number, number, number] => [tree, 3 + i, cls, v]);

// Gradient boosting as skl2onnx/onnxmltools write it: signed margins on class 0, one base value, LOGISTIC.
const boosted: Ensemble = {
  op: 'TreeEnsembleClassifier',
  splits: [depth2([0, 1, 2], [0.25, -0.5, 0]), depth2([2, 0, 1], [0.5, 1, -1]), depth2([1, 2, 0], [0, 0.75, -0.25])],
  votes: [...leafVotes(0, 0, [-0.5, 0.25, 0.75, -0.125]), ...leafVotes(1, 0, [0.375, -0.25, 0.5, -0.75]), ...leafVotes(2, 0, [0.125, -0.375, 0.25, 0.625])],
  post: 'LOGISTIC',
  base: [-0.25],
  extra: [ints('classlabels_int64s', [0, 1])],
};

test('a binary gradient-boosted ensemble (margins on class 0, LOGISTIC) equals onnxruntime, and its proof verifies', async () => {
  const path = ensembleModel('boosted', boosted, 3, 2);
  await agrees(path, gridInputs(11, 12, 3), 1e-6);
  const r = await compileAndCheck(path, { x: [0.25, -0.5, 0.3] }, { inputRange });
  assert.deepEqual(r.check.mismatches, []);
  assert.deepEqual(r.check.violated, []);
  assert.equal(r.manifest.finalActivation?.op, 'Sigmoid');
  await setup(r.dir);
  const out = join(dir, 'boosted-proof');
  const proof = await prove(r.dir, { x: [0.25, -0.5, 0.3] }, { out });
  const scores = proof.outputs.outputs.find((o) => o.name === 'scores')!;
  const [float] = await run(path, { x: [0.25, -0.5, 0.3] }, { inputRange }).then((os) => os.filter((o) => o.name === 'scores'));
  scores.probabilities!.forEach((p, i) => assert.ok(Math.abs(p - float.float[i]) <= 1e-6, `probability ${i}: ${p} vs ${float.float[i]}`));
  assert.equal((await verify(r.dir, out)).valid, true);
});

test('a binary random forest (probabilities on class 0, NONE) equals onnxruntime: label by p > 0.5, scores [1 − p, p]', async () => {
  const forest: Ensemble = {
    op: 'TreeEnsembleClassifier',
    splits: [depth2([0, 1, 2], [0, 0.5, -0.5]), depth2([1, 2, 0], [0.25, 0, 0.5])],
    votes: [...leafVotes(0, 0, [0.125, 0.25, 0.375, 0.5]), ...leafVotes(1, 0, [0, 0.25, 0.5, 0.125])],
    post: 'NONE',
    extra: [ints('classlabels_int64s', [3, 8])],
  };
  await agrees(ensembleModel('forest', forest, 3, 2), gridInputs(12, 12, 3), 0);
});

test('a two-class ensemble whose leaves vote for class 1 is refused, naming the rule', async () => {
  const path = ensembleModel('class1', { ...boosted, votes: boosted.votes.map((v) => [v[0], v[1], 1, v[3]]) }, 3, 2);
  await assert.rejects(run(path, { x: [0, 0, 0] }, { inputRange }), (e: any) => e.code === 'E_UNSUPPORTED' && /vote for class 1/.test(e.message));
});

test('TreeEnsembleRegressor with AVERAGE over two targets and base values equals onnxruntime', async () => {
  const regressor: Ensemble = {
    op: 'TreeEnsembleRegressor',
    splits: [depth2([0, 1, 0], [0, 0.5, -1]), depth2([1, 0, 1], [-0.25, 0.75, 1])],
    votes: [...leafVotes(0, 0, [1, -0.5, 0.25, 2]), ...leafVotes(0, 1, [0.5, 0.5, -1, 0]), ...leafVotes(1, 0, [-1, 0.75, 1.5, 0.25]), ...leafVotes(1, 1, [0.25, -0.75, 0.5, 1])],
    post: 'NONE',
    base: [0.5, -0.25],
    extra: [{ name: 'n_targets', type: b.onnx.AttributeProto.AttributeType.INT, i: 2 }, str('aggregate_function', 'AVERAGE')],
  };
  await agrees(ensembleModel('regressor', regressor, 2, 2), gridInputs(13, 12, 2), 0);
});

function linearModel(name: string, coefficients: number[], intercepts: number[], labels: number[], post: string, features: number): string {
  const scaler = b.node('Scaler', ['x'], ['xs'], { name: 'scale', domain: 'ai.onnx.ml' });
  (scaler.attribute ??= []).push(floatsAttr('offset', [0.5, -0.25].slice(0, features)), floatsAttr('scale', [2, 0.5].slice(0, features)));
  const n = b.node('LinearClassifier', ['xs'], ['label', 'scores'], { name: 'linear', domain: 'ai.onnx.ml' });
  (n.attribute ??= []).push(floatsAttr('coefficients', coefficients), floatsAttr('intercepts', intercepts), ints('classlabels_ints', labels), str('post_transform', post));
  const classes = Math.max(2, intercepts.length);
  const path = join(dir, `${name}.onnx`);
  writeFileSync(path, b.serialize(b.model({ name, nodes: [scaler, n], inputs: [b.valueInfo('x', [1, features])], outputs: [b.valueInfo('label', [1], b.DataType.INT64), b.valueInfo('scores', [1, classes])], domains: { 'ai.onnx.ml': 1 } })));
  return path;
}

test('LinearClassifier after a Scaler equals onnxruntime: the one-row binary form (NONE, LOGISTIC) and three classes (SOFTMAX)', async () => {
  const xs = gridInputs(14, 10, 2);
  await agrees(linearModel('logreg-none', [0.75, -1.5], [0.125], [0, 1], 'NONE', 2), xs, 0);
  await agrees(linearModel('logreg-logistic', [0.75, -1.5], [0.125], [5, 6], 'LOGISTIC', 2), xs, 1e-6);
  await agrees(linearModel('multiclass', [0.5, -1, 1.25, 0.25, -0.75, 0.5], [0, 0.25, -0.5], [1, 2, 3], 'SOFTMAX', 2), xs, 1e-6);
});
