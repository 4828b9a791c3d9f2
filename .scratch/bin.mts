import * as b from '/work/main/fixtures/onnx-builder.ts';
import { writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
const strings = (name: string, v: string[]) => ({ name, type: b.onnx.AttributeProto.AttributeType.STRINGS, strings: v.map((s) => new TextEncoder().encode(s)) });
// one tree, one split on x0 <= 0 ; leaves 1 (true) and 2 (false)
async function probe(label: string, votes: [number, number, number][], base: number[] | undefined, post: string) {
  const n = b.node('TreeEnsembleClassifier', ['x'], ['label', 'scores'], { name: 't', domain: 'ai.onnx.ml', attrs: {
    nodes_treeids: b.attr.ints([0, 0, 0]), nodes_nodeids: b.attr.ints([0, 1, 2]), nodes_featureids: b.attr.ints([0, 0, 0]),
    nodes_values: b.attr.floats([0, 0, 0]), nodes_truenodeids: b.attr.ints([1, 0, 0]), nodes_falsenodeids: b.attr.ints([2, 0, 0]),
    classlabels_int64s: b.attr.ints([4, 9]) } });
  n.attribute!.push(strings('nodes_modes', ['BRANCH_LEQ', 'LEAF', 'LEAF']),
    ...Object.entries({ class_treeids: 0, class_nodeids: 1, class_ids: 2 }).map(([k, j]) => ({ name: k, type: b.onnx.AttributeProto.AttributeType.INTS, ints: votes.map((v) => (j === 0 ? 0 : j === 1 ? v[0] : v[1])) })),
    { name: 'class_weights', type: b.onnx.AttributeProto.AttributeType.FLOATS, floats: votes.map((v) => v[2]) },
    { name: 'post_transform', type: b.onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(post) });
  if (base) n.attribute!.push({ name: 'base_values', type: b.onnx.AttributeProto.AttributeType.FLOATS, floats: base });
  const p = `/tmp/exp/${label}.onnx`;
  writeFileSync(p, b.serialize(b.model({ name: 't', nodes: [n], inputs: [b.valueInfo('x', [1, 1])], outputs: [b.valueInfo('label', [1], b.DataType.INT64), b.valueInfo('scores', [1, 2])], domains: { 'ai.onnx.ml': 3 } })));
  const s = await ort.InferenceSession.create(p);
  const out = [];
  for (const x of [-1, 1]) { const r = await s.run({ x: new ort.Tensor('float32', [x], [1, 1]) }); out.push(`x=${x}: label ${r.label.data} scores ${[...r.scores.data as Float32Array].map(v=>v.toFixed(3))}`); }
  console.log(label.padEnd(40), out.join(' | '));
}
// votes: [node, class, weight]
const cases: [string, [number, number, number][]][] = [
  ['c0only-pos', [[1, 0, 0.3], [2, 0, 0.7]]],
  ['c0only-mixed', [[1, 0, -0.3], [2, 0, 0.7]]],
  ['c1only-pos', [[1, 1, 0.3], [2, 1, 0.7]]],
  ['c1only-mixed', [[1, 1, -0.3], [2, 1, 0.7]]],
  ['both-prob', [[1, 0, 0.8], [1, 1, 0.2], [2, 0, 0.4], [2, 1, 0.6]]],
  ['both-mixed', [[1, 0, 0.8], [1, 1, -0.2], [2, 0, -0.4], [2, 1, 0.6]]],
];
for (const post of ['NONE', 'LOGISTIC'])
  for (const [name, v] of cases)
    for (const base of [undefined, [0.25], [0.25, -0.1]]) await probe(`${name}-${post}-b${base?.length ?? 0}`, v, base, post);
