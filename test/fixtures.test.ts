/**
 * The committed fixtures (fixtures/models, fixtures/iris-samples) are what `npm run fixtures` writes, and each
 * model's committed expected output is what onnxruntime computes on its committed input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { onnx, valueInfo, serialize, type Model } from '../fixtures/onnx-builder.ts';
import { buildAll, runOrt } from '../fixtures/build.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const MODELS = join(FIXTURES, 'models');
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const loadModel = (name: string): Model => onnx.ModelProto.decode(readFileSync(join(MODELS, `${name}.onnx`)));
const modelNames = () => readdirSync(MODELS).filter((f) => f.endsWith('.onnx')).map((f) => f.slice(0, -'.onnx'.length)).sort();

/** Float32 outputs of onnxruntime can differ in the last bits between CPUs (different SIMD kernels). */
function assertClose(actual: number[][], expected: number[][], where: string): void {
  assert.equal(actual.length, expected.length, `${where}: number of outputs`);
  actual.forEach((out, o) => {
    assert.equal(out.length, expected[o].length, `${where}: output ${o} length`);
    out.forEach((a, i) => {
      const e = expected[o][i];
      assert.ok(Math.abs(a - e) <= 1e-5 + 1e-5 * Math.abs(e), `${where}: output ${o}[${i}] = ${a}, expected ${e}`);
    });
  });
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]))
    .sort();
}

test('regenerating the fixtures reproduces the committed files', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'zkml-fixtures-'));
  try {
    await buildAll(tmp);
    for (const sub of ['models', 'iris-samples']) {
      const committed = listFiles(join(FIXTURES, sub));
      assert.deepEqual(listFiles(join(tmp, sub)), committed, `${sub}: same set of files`);
      for (const file of committed) {
        const a = readFileSync(join(tmp, sub, file));
        const b = readFileSync(join(FIXTURES, sub, file));
        if (sub === 'models' && file.endsWith('.expected.json')) {
          // Computed by onnxruntime on this machine: equal up to float32 rounding differences between CPUs.
          assertClose(JSON.parse(a.toString()).output_data, JSON.parse(b.toString()).output_data, file);
        } else {
          assert.ok(a.equals(b), `${sub}/${file} differs from a fresh build: rerun \`npm run fixtures\``);
        }
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('each committed expected output is what onnxruntime computes on the committed input', async () => {
  const names = modelNames();
  assert.ok(names.length >= 15, `found ${names.length} models`);
  for (const name of names) {
    const input = readJson(join(MODELS, `${name}.input.json`)).input_data;
    const expected = readJson(join(MODELS, `${name}.expected.json`)).output_data;
    const actual = await runOrt(join(MODELS, `${name}.onnx`), loadModel(name), input);
    assertClose(actual, expected, name);
  }
});

test('synthetic inputs are in [-1, 1] and every model is small', () => {
  for (const name of modelNames()) {
    const input: number[][] = readJson(join(MODELS, `${name}.input.json`)).input_data;
    assert.ok(input.flat().length <= 64, `${name}: at most 64 inputs`);
    if (name !== 'iris') assert.ok(input.flat().every((v) => v >= -1 && v <= 1), `${name}: inputs in [-1, 1]`);
  }
});

test('the fixture set covers every op and model form the loader must handle', () => {
  const ops = new Set(modelNames().flatMap((n) => loadModel(n).graph!.node!.map((x) => x.opType!)));
  for (const op of [
    'Gemm', 'MatMul', 'Add', 'Sub', 'Mul', 'Div', 'Relu', 'Flatten', 'Reshape', 'Identity', 'Dropout',
    'Squeeze', 'Unsqueeze', 'BatchNormalization', 'Softmax', 'LogSoftmax', 'Constant',
  ]) assert.ok(ops.has(op), `no fixture uses ${op}`);

  const dims = loadModel('dynamic_batch').graph!.input![0].type!.tensorType!.shape!.dim!;
  assert.equal(dims[0].dimParam, 'batch_size');

  const opsets = (n: string) => loadModel(n).opsetImport!.map((o) => Number(o.version));
  assert.deepEqual(opsets('reshape_ops_opset11'), [11]);
  assert.deepEqual(opsets('reshape_ops'), [13]);

  const w = loadModel('external_data').graph!.initializer!.find((t) => t.name === 'W')!;
  assert.equal(w.dataLocation, onnx.TensorProto.DataLocation.EXTERNAL);
  assert.ok(w.externalData!.some((e) => e.key === 'location'));

  const unsupported = loadModel('unsupported_ops').graph!.node!.filter((x) => x.opType!.startsWith('Random'));
  assert.deepEqual(unsupported.map((x) => [x.opType, x.name]), [['RandomUniformLike', 'rand_node'], ['RandomNormalLike', 'randn_node']]);

  const constant = loadModel('constant_node').graph!;
  assert.equal(constant.initializer!.length, 0, 'constant_node has no initializers');
});

test('Dropout (ratio 0.5, no training_mode) is an inference no-op in onnxruntime', async () => {
  for (const name of ['reshape_ops', 'reshape_ops_opset11']) {
    // Expose Dropout's input and output as extra graph outputs and compare them.
    const m = loadModel(name);
    const dropout = m.graph!.node!.find((x) => x.opType === 'Dropout')!;
    const [x, y] = [dropout.input![0], dropout.output![0]];
    m.graph!.output!.push(valueInfo(x, [1, 4, 2]), valueInfo(y, [1, 4, 2]));
    const session = await ort.InferenceSession.create(serialize(m), { logSeverityLevel: 3 });
    const input = readJson(join(MODELS, `${name}.input.json`)).input_data[0];
    const out = await session.run({ input: new ort.Tensor('float32', Float32Array.from(input), [1, 2, 3, 4]) });
    await session.release();
    assert.deepEqual(Array.from(out[y].data as Float32Array), Array.from(out[x].data as Float32Array), name);
  }
});

test('iris samples: name-keyed raw inputs, and onnxruntime predicts the recorded class', async () => {
  const dir = join(FIXTURES, 'iris-samples');
  const { classes, samples } = readJson(join(dir, 'expected.json'));
  assert.deepEqual(classes, ['setosa', 'versicolor', 'virginica']);
  assert.equal(samples.length, 6);
  const session = await ort.InferenceSession.create(join(MODELS, 'iris.onnx'), { logSeverityLevel: 3 });
  for (const s of samples) {
    const features: number[][] = readJson(join(dir, s.file)).features;
    const out = await session.run({ features: new ort.Tensor('float32', Float32Array.from(features.flat()), [1, 4]) });
    const p = Array.from(out.probabilities.data as Float32Array);
    assert.equal(classes[p.indexOf(Math.max(...p))], s.predictedClass, s.file);
  }
  await session.release();
  // Two per class, so a demo shows every class.
  for (const c of classes) assert.equal(samples.filter((s: { trueClass: string }) => s.trueClass === c).length, 2);
});
