import { gptModel } from '/work/main/fixtures/gpt.ts';
import { serialize } from '/work/main/fixtures/onnx-builder.ts';
import { writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
writeFileSync('/tmp/exp/gpt.onnx', serialize(gptModel()));
const s = await ort.InferenceSession.create('/tmp/exp/gpt.onnx');
const r = await s.run({ ids: new ort.Tensor('int64', BigInt64Array.from([1n, 5n, 9n, 3n]), [1, 4]) });
console.log([...(r.logits.data as Float32Array)].slice(0, 16).map((v) => v.toFixed(3)).join(' '));
