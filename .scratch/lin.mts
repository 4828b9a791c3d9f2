import * as b from '/work/main/fixtures/onnx-builder.ts';
import { writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
async function probe(label: string, coef: number[], icpt: number[], post: string, labels = [4, 9]) {
  const n = b.node('LinearClassifier', ['x'], ['label', 'scores'], { name: 't', domain: 'ai.onnx.ml', attrs: {
    coefficients: b.attr.floats(coef), intercepts: b.attr.floats(icpt), classlabels_ints: b.attr.ints(labels) } });
  n.attribute!.push({ name: 'post_transform', type: b.onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(post) });
  const p = `/tmp/exp/${label}.onnx`;
  writeFileSync(p, b.serialize(b.model({ name: 't', nodes: [n], inputs: [b.valueInfo('x', [1, 1])], outputs: [b.valueInfo('label', [1], b.DataType.INT64), b.valueInfo('scores', [1, 2])], domains: { 'ai.onnx.ml': 1 } })));
  const s = await ort.InferenceSession.create(p);
  const out = [];
  for (const x of [-1, 0.2, 1]) { const r = await s.run({ x: new ort.Tensor('float32', [x], [1, 1]) }); out.push(`x=${x}: label ${r.label.data} scores ${[...r.scores.data as Float32Array].map(v=>v.toFixed(3))}`); }
  console.log(label.padEnd(30), out.join(' | '));
}
for (const post of ['NONE', 'LOGISTIC', 'SOFTMAX']) {
  await probe(`one-row-${post}`, [0.5], [-0.05], post);
  await probe(`two-rows-${post}`, [-0.5, 0.5], [0.05, -0.05], post);
}
