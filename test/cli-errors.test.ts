/** Bad input gets a clear error, a non-zero exit code, and leaves earlier results untouched. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zkml } from './helpers/cli.ts';
import { tempDir } from './helpers/models.ts';
import * as b from '../fixtures/onnx-builder.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'models');

test('compile: a missing model file', () => {
  const out = tempDir('cli');
  const r = zkml(['compile', join(out, 'nope.onnx'), '-o', join(out, 'build')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /nope\.onnx: no such file/);
  assert.deepEqual(readdirSync(out), [], 'nothing written');
});

test('compile: a file that is not ONNX', () => {
  const out = tempDir('cli');
  const bad = join(out, 'model.onnx');
  writeFileSync(bad, 'this is not a protobuf model, just text\n'.repeat(20));
  const r = zkml(['compile', bad, '-o', join(out, 'build')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /model\.onnx: not an ONNX model/);
  assert.deepEqual(readdirSync(out), ['model.onnx']);
});

test('compile: every unsupported node is listed in one error, with op type and opset', () => {
  const out = tempDir('cli');
  const r = zkml(['compile', join(FIXTURES, 'unsupported_ops.onnx'), '-o', join(out, 'build'), '--json']);
  assert.equal(r.status, 1);
  const err = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.equal(err.event, 'error');
  assert.equal(err.code, 'E_UNSUPPORTED_OP');
  assert.match(err.message, /2 node\(s\)/);
  assert.match(err.message, /rand_node \(RandomUniformLike, opset 13\)/);
  assert.match(err.message, /randn_node \(RandomNormalLike, opset 13\)/);
});

test('compile: external-data tensors are rejected clearly', () => {
  const out = tempDir('cli');
  const r = zkml(['compile', join(FIXTURES, 'external_data.onnx'), '-o', join(out, 'build')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /tensor "W" is stored as external data \(external_data\.weights\.bin\)/);
});

test('compile: a failing compile leaves an earlier build in the folder untouched and no staging folder behind', () => {
  const out = tempDir('cli');
  const build = join(out, 'build');
  assert.equal(zkml(['compile', join(FIXTURES, 'gemm_basic.onnx'), '-o', build]).status, 0);
  const manifest = readFileSync(join(build, 'manifest.json'), 'utf8');
  const r = zkml(['compile', join(FIXTURES, 'unsupported_ops.onnx'), '-o', build]);
  assert.equal(r.status, 1);
  assert.equal(readFileSync(join(build, 'manifest.json'), 'utf8'), manifest);
  assert.deepEqual(readdirSync(out), ['build']);
});

test('compile: an input range that pushes values past ±2^250 is refused, naming the node', () => {
  const out = tempDir('cli');
  const r = zkml(['compile', join(FIXTURES, 'gemm_basic.onnx'), '-o', join(out, 'build'), '--input-range', '-1e70,1e70', '--input-scale', '8']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /gemm_basic\.onnx: node "(fc1|relu|fc2)" \((Gemm|Relu)\)/);
  assert.match(r.stderr, /could reach ±2\^\d+/);
  assert.deepEqual(readdirSync(out), []);
});

test('compile: adversarial weights (largest magnitudes, worst-case signs, deep linear chain) are refused at compile time', () => {
  const out = tempDir('cli');
  // 40 chained 4x4 MatMuls with the largest weights of one sign (no cancellation) and no nonlinearity: each
  // layer adds bits until accumulators could exceed 2^250.
  const layers = 40;
  const nodes = [];
  const inits = [];
  for (let i = 0; i < layers; i++) {
    inits.push(b.floatTensor(`W${i}`, [4, 4], Array.from({ length: 16 }, (_, j) => 0.999 + 0 * j)));
    nodes.push(b.node('MatMul', [i === 0 ? 'x' : `h${i}`, `W${i}`], [i === layers - 1 ? 'y' : `h${i + 1}`], { name: `mm${i}` }));
  }
  const path = join(out, 'deep.onnx');
  writeFileSync(path, b.serialize(b.model({ name: 'deep', nodes, inputs: [b.valueInfo('x', [1, 4])], outputs: [b.valueInfo('y', [1, 4])], initializers: inits })));
  const r = zkml(['compile', path, '-o', join(out, 'build')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /node "mm\d+" \(MatMul\): a value could reach ±2\^\d+/);
});

test('run: wrong shape, NaN/Inf, strings and out-of-range values give clear errors', () => {
  const out = tempDir('cli');
  const model = join(FIXTURES, 'gemm_basic.onnx');
  const cases: [unknown, RegExp][] = [
    [{ input_data: [[1, 2, 3]] }, /input "input" has 3 values; expected 16 value\(s\) flat, or nested as \[1, 16\]/],
    [{ input_data: [[...Array(15).fill(0), 'NaN']] }, /input "input"\[15\] is the string "NaN": input values are JSON numbers, not strings/],
    [{ input_data: [[...Array(15).fill(0), 'abc']] }, /input "input"\[15\] is the string "abc"/],
    [{ input_data: [[...Array(15).fill(0), { a: 1 }]] }, /input "input"\[15\] is an object \(\{"a":1\}\), not a number/],
    [{ input_data: [[...Array(15).fill(0), 7]] }, /input "input"\[15\] = 7 quantizes to 1792, outside \[-256, 256\]/],
    [{}, /no value for model input "input"/],
  ];
  for (const [input, message] of cases) {
    const file = join(out, 'input.json');
    writeFileSync(file, JSON.stringify(input));
    const r = zkml(['run', model, '--input', file]);
    assert.equal(r.status, 1, JSON.stringify(input));
    assert.match(r.stderr, message);
  }
  // JSON has no NaN or Infinity literals; 1e999 parses as Infinity.
  writeFileSync(join(out, 'inf.json'), `{"input_data": [[${Array(15).fill(0).join(',')}, 1e999]]}`);
  const r = zkml(['run', model, '--input', join(out, 'inf.json')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Infinity: NaN and infinities cannot be proven/);
  writeFileSync(join(out, 'broken.json'), '{"input_data": [[1, 2');
  assert.match(zkml(['run', model, '--input', join(out, 'broken.json')]).stderr, /broken\.json: not valid JSON/);
});

test('run: an input file is read strictly: a string value, a ragged nesting and an unknown key are refused, naming the file, the tensor, expected vs got', () => {
  const out = tempDir('cli');
  const model = join(FIXTURES, 'iris.onnx'); // one input "features" of shape [1, 4]
  const cases: [string, unknown, RegExp][] = [
    // "0x2" was read as 2 (JavaScript's Number() reads hex): no format zkml reads has string values.
    ['hex.json', { input_data: [[5.1, '0x2', 1.4, 0.2]] }, /hex\.json: input "features"\[1\] is the string "0x2": input values are JSON numbers, not strings/],
    ['decimal-string.json', { features: [['5.1', 3.5, 1.4, 0.2]] }, /decimal-string\.json: input "features"\[0\] is the string "5\.1"/],
    // Ragged: four values, but not in the tensor's shape nor flat.
    ['ragged.json', { input_data: [[5.1, [3.5, [1.4, [0.2]]]]] }, /ragged\.json: input "features" has an array of 2 at the top level, where its shape \[1, 4\] has an array of 1; expected 4 value\(s\) flat, or nested as \[1, 4\]/],
    ['ragged-row.json', { features: [[5.1, 3.5], [1.4, 0.2]] }, /ragged-row\.json: input "features" has an array of 2 at the top level, where its shape \[1, 4\] has an array of 1/],
    ['too-deep.json', { features: [[[5.1], [3.5], [1.4], [0.2]]] }, /too-deep\.json: input "features" has an array at \[0\]\[0\], one level deeper than its shape \[1, 4\]/],
    // Unknown keys: a misspelt input name, or a key EZKL's format does not have.
    ['misspelt.json', { features: [[5.1, 3.5, 1.4, 0.2]], feature: [[1, 2, 3, 4]] }, /misspelt\.json: unknown key\(s\) "feature": the model's inputs are "features"/],
    ['ezkl-extra.json', { input_data: [[5.1, 3.5, 1.4, 0.2]], inputs: [] }, /ezkl-extra\.json: unknown key\(s\) "inputs" beside "input_data" \(an EZKL input file has "input_data", and optionally "output_data" and "input_shapes"\)/],
    ['ezkl-shapes.json', { input_data: [[5.1, 3.5, 1.4, 0.2]], input_shapes: [[1, 3]] }, /ezkl-shapes\.json: "input_shapes" gives input "features" shape \[1, 3\] \(3 values\); the model's is \[1, 4\] \(4\)/],
  ];
  for (const [name, input, message] of cases) {
    const file = join(out, name);
    writeFileSync(file, JSON.stringify(input));
    const r = zkml(['run', model, '--input', file, '--input-range', '0,8']);
    assert.equal(r.status, 1, `${name}: ${r.stdout}`);
    assert.match(r.stderr, message, name);
  }
  // What is read: flat, nested as the shape, name-keyed, and EZKL's file with its own optional keys.
  const good: unknown[] = [
    { input_data: [[5.1, 3.5, 1.4, 0.2]] },
    { features: [[5.1, 3.5, 1.4, 0.2]] },
    { features: [5.1, 3.5, 1.4, 0.2] },
    [[5.1, 3.5, 1.4, 0.2]],
    { input_data: [[5.1, 3.5, 1.4, 0.2]], input_shapes: [[1, 4]], output_data: [[9.4, 0.1, -13.5]] },
  ];
  for (const [i, input] of good.entries()) {
    const file = join(out, `good-${i}.json`);
    writeFileSync(file, JSON.stringify(input));
    const r = zkml(['run', model, '--input', file, '--input-range', '0,8']);
    assert.equal(r.status, 0, `${JSON.stringify(input)}: ${r.stderr}`);
  }
});

test('usage errors exit with code 2', () => {
  assert.equal(zkml(['compile']).status, 2);
  assert.equal(zkml(['no-such-command']).status, 2);
  assert.equal(zkml(['compile', 'x.onnx', '-o', 'y', '--scale', 'abc']).status, 2);
});
