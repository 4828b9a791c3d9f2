/**
 * Models written by other projects (../shared/models): the compiler must handle them as they are. The
 * witness equals the reference executor, and the outputs match onnxruntime and the outputs shipped with the
 * model within the tolerance derived from the scales (helpers/models.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileAndCheck, tolerance, maxAbsDiff, requireShared, SHARED, SHARED_MODELS } from './helpers/models.ts';
import { FloatModel } from '../src/onnx/ort.ts';
import { loadMnist } from '../dev/data/mnist.ts';
import { readInputValues } from '../src/io/input.ts';
import { DEFAULT_QUANT } from '../src/quantize/options.ts';

const EZKL = join(SHARED_MODELS, 'ezkl-examples');

async function onnxruntime(model: string, manifestInputs: { name: string; shape: number[] }[], input: unknown): Promise<number[]> {
  const values = readInputValues(input, manifestInputs, model);
  const f = await FloatModel.load(model);
  const out = await f.run(manifestInputs.map((s, k) => ({ name: s.name, dims: s.shape, data: values[k] })));
  return out[0].data;
}

for (const name of ['1l_mlp', '2l_relu_fc', '1l_linear', '1l_relu', '2l_relu_small', 'linear_regression', '1l_flatten', '1l_reshape', '1l_batch_norm']) {
  test(`ezkl example ${name}`, async () => {
    const model = join(requireShared(EZKL), name, 'network.onnx');
    const input = JSON.parse(readFileSync(join(EZKL, name, 'input.json'), 'utf8'));
    const r = await compileAndCheck(model, input, { inputRange: [-4, 4] });
    assert.deepEqual(r.check.mismatches, []);
    assert.deepEqual(r.check.violated, []);
    const ort = await onnxruntime(model, r.manifest.inputs, input);
    const tol = tolerance(DEFAULT_QUANT.scale, ort);
    assert.ok(maxAbsDiff(r.floats[0], ort) <= tol, `vs onnxruntime: ${maxAbsDiff(r.floats[0], ort)} > ${tol}`);
    if (input.output_data) {
      const shipped: number[] = input.output_data.flat(Infinity);
      assert.ok(maxAbsDiff(r.floats[0], shipped) <= tol, `vs shipped output: ${maxAbsDiff(r.floats[0], shipped)} > ${tol}`);
    }
  });
}

test('model-zoo MNIST MLP (pytorch.onnx, MatMul + BatchNormalization) on real test images', async () => {
  const model = join(requireShared(SHARED_MODELS), 'onnx-zoo-mnist', 'pytorch.onnx');
  const mnist = loadMnist(join(requireShared(SHARED), 'datasets', 'mnist'), 3);
  for (const image of mnist.images) {
    const input = { network_input: [Array.from(image, (p) => p / 255)] };
    const r = await compileAndCheck(model, input, { inputRange: [0, 1] });
    assert.deepEqual(r.check.mismatches, []);
    assert.deepEqual(r.check.violated, []);
    // BatchNormalization was folded into the MatMul before it: no BN layer remains.
    assert.ok(!r.manifest.layers.some((l) => l.op === 'BatchNormalization'));
    const ort = await onnxruntime(model, r.manifest.inputs, input);
    const tol = tolerance(DEFAULT_QUANT.scale, ort);
    assert.ok(maxAbsDiff(r.floats[0], ort) <= tol, `vs onnxruntime: ${maxAbsDiff(r.floats[0], ort)} > ${tol}`);
  }
});
