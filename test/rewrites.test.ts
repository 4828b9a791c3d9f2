/**
 * The graph rewrites (BatchNorm folding in compiler/passes/fuse-batchnorm.ts, the QDQ rewrite in compiler/passes/qdq.ts, pool-before-ReLU in
 * compiler/passes/reorder-pools.ts, constant folding in compiler/passes/prepare.ts and the ops' `fold`) must compile the function the model
 * means, on every shape they accept. Each test builds a small model on an odd shape — a broadcast bias, a batch
 * above 1, a rank other than 4, a transposed operand, per-channel parameters — and compares `zkml run` (the
 * integer program the circuit proves) with onnxruntime on the same model: a rewrite that assumed the common
 * shape shows up as a gap of whole units, far above the quantization error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { run } from '../src/run.ts';
import { analyze } from '../src/compiler/compile.ts';
import { loadOnnx } from '../src/compiler/passes/load.ts';
import { foldBatchNorms } from '../src/compiler/passes/fuse-batchnorm.ts';
import { rewriteQdq } from '../src/compiler/passes/qdq.ts';
import { lowerPoolsFirst } from '../src/compiler/passes/reorder-pools.ts';
import { DEFAULT_QUANT } from '../src/quantize/options.ts';
import * as b from '../fixtures/onnx-builder.ts';
import { ZkmlError } from '../src/util/errors.ts';
import { scratchDirs } from './helpers/scratch.ts';

const tempDir = scratchDirs();
const dir = tempDir('rewrites');

/** Writes a model into the scratch folder and returns its path. */
function save(spec: b.ModelSpec): string {
  const path = join(dir, `${spec.name}.onnx`);
  writeFileSync(path, b.serialize(b.model(spec)));
  return path;
}

/** Seeded values in [-1, 1): the same model and input on every run. */
function values(seed: number) {
  const rand = b.mulberry32(seed);
  return (n: number, scale = 1) => Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
}

/** BatchNormalization's four parameter tensors over `c` channels, with variances away from zero. */
function bnParams(v: ReturnType<typeof values>, prefix: string, c: number): b.Tensor[] {
  return [
    b.floatTensor(`${prefix}.scale`, [c], v(c, 2)),
    b.floatTensor(`${prefix}.B`, [c], v(c)),
    b.floatTensor(`${prefix}.mean`, [c], v(c)),
    b.floatTensor(`${prefix}.var`, [c], v(c).map((x) => 0.5 + Math.abs(x))),
  ];
}
const bnInputs = (x: string, p: string) => [x, `${p}.scale`, `${p}.B`, `${p}.mean`, `${p}.var`];

/**
 * onnxruntime with its graph optimizations off: the ONNX semantics of the model as written, not after
 * onnxruntime's own fusions (whose QDQ rewrites are what zkml's imitate, so they must not be the oracle).
 */
async function reference(path: string, input: Record<string, number[]>, dims: Record<string, number[]>): Promise<number[]> {
  const session = await ort.InferenceSession.create(path, { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 });
  try {
    const feeds = Object.fromEntries(Object.entries(input).map(([name, data]) => [name, new ort.Tensor('float32', Float32Array.from(data), dims[name])]));
    const out = await session.run(feeds);
    return Array.from(out[session.outputNames[0]].data as Float32Array, Number);
  } finally {
    await session.release();
  }
}

/**
 * `zkml run` (the integer program the circuit proves) against onnxruntime on the model's first output. The
 * default bound is several quantization steps (2^-8 at the default scale) times the outputs' magnitude, far
 * below the unit-sized gaps a wrong rewrite gives; int8 models pass their own (a few output steps).
 */
async function agrees(path: string, input: Record<string, number[]>, opts: Parameters<typeof run>[2] = {}, bound?: number): Promise<void> {
  const [out] = await run(path, input, { inputRange: [-2, 2], ...opts });
  const lowered = analyze(path, { inputRange: [-2, 2], ...opts, inputVisibility: 'private', outputVisibility: 'public' }).lowered;
  const expected = await reference(path, input, Object.fromEntries(lowered.inputs.map((i) => [i.name, i.shape])));
  const magnitude = Math.max(1, ...expected.map(Math.abs));
  const limit = bound ?? 16 * 2 ** -8 * magnitude;
  assert.equal(out.derived.length, expected.length, 'onnxruntime and zkml give the same number of values');
  const diff = Math.max(0, ...expected.map((e, i) => Math.abs(e - out.derived[i])));
  assert.ok(diff <= limit, `zkml run differs from onnxruntime by ${diff} (bound ${limit}):\n  ort  ${expected.map((x) => x.toFixed(3))}\n  zkml ${out.derived.map((x) => x.toFixed(3))}`);
}

// BatchNorm folding ---------------------------------------------------------------------------------------------

test('BN folding: a Gemm whose bias C is [M,1] (per row) with M == N, then BatchNormalization, computes what onnxruntime does', async () => {
  const v = values(1);
  const M = 3;
  const K = 4;
  const N = 3;
  const path = save({
    name: 'gemm_rowbias_bn',
    inputs: [b.valueInfo('x', [M, K])],
    outputs: [b.valueInfo('y', [M, N])],
    initializers: [b.floatTensor('W', [K, N], v(K * N)), b.floatTensor('C', [M, 1], [1.5, -1.5, 0.75]), ...bnParams(v, 'bn', N)],
    nodes: [
      b.node('Gemm', ['x', 'W', 'C'], ['g'], { name: 'gemm' }),
      b.node('BatchNormalization', bnInputs('g', 'bn'), ['y'], { name: 'bn' }),
    ],
  });
  await agrees(path, { x: v(M * K) });
});

test('BN folding: Gemm biases of every broadcast shape (scalar, [N], [1,N], [M,1], [M,N]), with transA/transB and batch > 1', async () => {
  const v = values(2);
  const M = 4;
  const K = 3;
  const N = 4; // M == N: a per-row bias has as many values as a per-column one
  const cases: [string, number[], Record<string, b.Attr>][] = [
    ['scalar', [], {}],
    ['one', [1], { beta: b.attr.float(0.5) }],
    ['cols', [N], { transB: b.attr.int(1) }],
    ['cols2', [1, N], { transA: b.attr.int(1), alpha: b.attr.float(0.75) }],
    ['rows', [M, 1], { transA: b.attr.int(1), transB: b.attr.int(1), beta: b.attr.float(-2) }],
    ['full', [M, N], {}],
  ];
  for (const [label, cDims, attrs] of cases) {
    const transA = attrs.transA?.value === 1;
    const transB = attrs.transB?.value === 1;
    const path = save({
      name: `gemm_bias_${label}_bn`,
      inputs: [b.valueInfo('x', transA ? [K, M] : [M, K])],
      outputs: [b.valueInfo('y', [M, N])],
      initializers: [b.floatTensor('W', transB ? [N, K] : [K, N], v(K * N)), b.floatTensor('C', cDims, v(cDims.reduce((p, d) => p * d, 1))), ...bnParams(v, 'bn', N)],
      nodes: [
        b.node('Gemm', ['x', 'W', 'C'], ['g'], { name: 'gemm', attrs }),
        b.node('BatchNormalization', bnInputs('g', 'bn'), ['y'], { name: 'bn' }),
      ],
    });
    await agrees(path, { x: v(M * K) });
    // Every one of these is folded (a per-row or full bias folds to a full [M, N] bias): no BN is left to apply.
    assert.deepEqual(foldBatchNorms(loadOnnx(path)).nodes.map((n) => n.opType), ['Gemm'], label);
  }
});

test('BN folding: MatMul with a batch of rows, and Conv (1-D, batch 2, grouped, with bias) before BatchNormalization', async () => {
  const v = values(3);
  const matmul = save({
    name: 'matmul_rows_bn',
    inputs: [b.valueInfo('x', [3, 5])],
    outputs: [b.valueInfo('y', [3, 2])],
    initializers: [b.floatTensor('W', [5, 2], v(10)), ...bnParams(v, 'bn', 2)],
    nodes: [b.node('MatMul', ['x', 'W'], ['m'], { name: 'mm' }), b.node('BatchNormalization', bnInputs('m', 'bn'), ['y'], { name: 'bn' })],
  });
  await agrees(matmul, { x: v(15) });

  // Conv1d over [2, 4, 6] with 2 groups: W is [M=6, C/group=2, k=3].
  const conv = save({
    name: 'conv1d_grouped_bn',
    inputs: [b.valueInfo('x', [2, 4, 6])],
    outputs: [b.valueInfo('y', [2, 6, 4])],
    initializers: [b.floatTensor('W', [6, 2, 3], v(36)), b.floatTensor('B', [6], v(6)), ...bnParams(v, 'bn', 6)],
    nodes: [
      b.node('Conv', ['x', 'W', 'B'], ['c'], { name: 'conv', attrs: { group: b.attr.int(2), kernel_shape: b.attr.ints([3]) } }),
      b.node('BatchNormalization', bnInputs('c', 'bn'), ['y'], { name: 'bn' }),
    ],
  });
  await agrees(conv, { x: v(48) });
});

test('BN left unfolded: on a rank-3 input and after a MatMul of rank 3 (channel axis 1 is not the last one)', async () => {
  const v = values(4);
  const standalone = save({
    name: 'bn_rank3',
    inputs: [b.valueInfo('x', [2, 3, 4])],
    outputs: [b.valueInfo('y', [2, 3, 4])],
    initializers: bnParams(v, 'bn', 3),
    nodes: [b.node('BatchNormalization', bnInputs('x', 'bn'), ['y'], { name: 'bn' })],
  });
  await agrees(standalone, { x: v(24) });

  // MatMul [1, 3, 4] x [4, 3]: the BN's channels are axis 1 (the 3 rows), not the MatMul's columns.
  const batched = save({
    name: 'matmul_rank3_bn',
    inputs: [b.valueInfo('x', [1, 3, 4])],
    outputs: [b.valueInfo('y', [1, 3, 3])],
    initializers: [b.floatTensor('W', [4, 3], v(12)), ...bnParams(v, 'bn', 3)],
    nodes: [b.node('MatMul', ['x', 'W'], ['m'], { name: 'mm' }), b.node('BatchNormalization', bnInputs('m', 'bn'), ['y'], { name: 'bn' })],
  });
  await agrees(batched, { x: v(12) });
});

/** The ops of a model after the rewrites `zkml compile` makes before lowering. */
const opsAfterRewrites = (path: string) => rewriteQdq(foldBatchNorms(loadOnnx(path))).nodes.map((n) => n.opType);

// QDQ rewrite ---------------------------------------------------------------------------------------------------

const f32 = Math.fround;
/** int8 values of a seeded weight tensor. */
const int8s = (v: ReturnType<typeof values>, n: number) => v(n).map((x) => Math.round(x * 100));

/** Q then DQ of a float tensor, per tensor (int8, zero point 0): the activations of a QDQ model. */
function qdq(x: string, out: string, scale: string): b.Node[] {
  return [
    b.node('QuantizeLinear', [x, scale, 'zp8'], [`${out}_q`], { name: `${out}_quant` }),
    b.node('DequantizeLinear', [`${out}_q`, scale, 'zp8'], [out], { name: `${out}_dequant` }),
  ];
}

interface LinearSpec {
  name: string;
  M: number;
  K: number;
  N: number;
  /** One weight scale (per tensor) or N (per column). */
  wScales: number[];
  /** The int32 bias's dims and its DequantizeLinear's scale (per tensor, or per axis `biasAxis`). */
  biasDims: number[];
  biasScales: number[];
  biasAxis?: number;
  /** The input's scale (default 1/64). */
  sx?: number;
}

/** x → Q/DQ → MatMul(DQ(int8 W)) → Add(DQ(int32 bias)) → Q/DQ → y, as onnxruntime's quantizer lays out a layer. */
function qdqLinear(s: LinearSpec, seed: number): { path: string; input: Record<string, number[]> } {
  const v = values(seed);
  const size = (d: number[]) => d.reduce((p, q) => p * q, 1);
  const outDims = s.biasDims.length > 2 ? [...s.biasDims.slice(0, -2).map(() => 1), s.M, s.N] : [s.M, s.N];
  const path = save({
    name: s.name,
    inputs: [b.valueInfo('x', [s.M, s.K])],
    outputs: [b.valueInfo('y', outDims)],
    initializers: [
      b.floatTensor('sx', [], [s.sx ?? 1 / 64]), b.floatTensor('sy', [], [1 / 16]), b.intTensor('zp8', 'int8', [], [0]),
      b.intTensor('W', 'int8', [s.K, s.N], int8s(v, s.K * s.N)),
      b.floatTensor('sw', s.wScales.length === 1 ? [] : [s.N], s.wScales), b.intTensor('zw', 'int8', s.wScales.length === 1 ? [] : [s.N], s.wScales.map(() => 0)),
      b.intTensor('C', 'int32', s.biasDims, v(size(s.biasDims)).map((x) => Math.round(x * 2000))),
      b.floatTensor('sc', s.biasScales.length === 1 ? [] : [s.biasScales.length], s.biasScales),
      b.intTensor('zc', 'int32', s.biasScales.length === 1 ? [] : [s.biasScales.length], s.biasScales.map(() => 0)),
    ],
    nodes: [
      ...qdq('x', 'xd', 'sx'),
      b.node('DequantizeLinear', ['W', 'sw', 'zw'], ['Wd'], { name: 'w_dequant', attrs: { axis: b.attr.int(1) } }),
      b.node('DequantizeLinear', ['C', 'sc', 'zc'], ['Cd'], { name: 'c_dequant', attrs: { axis: b.attr.int(s.biasAxis ?? 0) } }),
      b.node('MatMul', ['xd', 'Wd'], ['mm'], { name: 'matmul' }),
      b.node('Add', ['mm', 'Cd'], ['acc'], { name: 'bias_add' }),
      ...qdq('acc', 'y', 'sy'),
    ],
  });
  return { path, input: { x: v(s.M * s.K) } };
}

test('QDQ: MatMul + Add(int32 bias) with a per-row bias [M,1], M == N, and per-tensor weights computes what onnxruntime does', async () => {
  const sw = 1 / 128;
  const { path, input } = qdqLinear({ name: 'qdq_rowbias', M: 3, K: 4, N: 3, wScales: [sw], biasDims: [3, 1], biasScales: [f32(f32(1 / 64) * sw)] }, 5);
  await agrees(path, input, {}, 2 / 16);
  assert.ok(opsAfterRewrites(path).includes('QGemm'), 'fused into a QGemm');
});

test('QDQ: a per-row bias with per-column weight scales is not fused (no int32 value fits); the float path computes it or refuses by name', async () => {
  // The bias's per-row scales equal sx·sw[m]: a check that reads them as per column (M == N) passes them, and
  // the fused QGemm added row m's bias at column n's scale.
  const sw = [1 / 128, 1 / 32, 1 / 512];
  const spec = { M: 3, K: 4, N: 3, wScales: sw, biasDims: [3, 1], biasAxis: 0 };
  const pow2 = qdqLinear({ ...spec, name: 'qdq_rowbias_perchannel', biasScales: sw.map((w) => f32(f32(1 / 64) * w)) }, 6);
  // Power-of-two activation scales: the unfused layer is ordinary fixed point, within a unit of onnxruntime.
  await agrees(pow2.path, pow2.input, {}, 2 / 16);
  assert.ok(!opsAfterRewrites(pow2.path).includes('QGemm'), 'left unfused');
  // Other activation scales: the float MatMul cannot take the dequantized tensor, and says so.
  const sx = 0.01;
  const odd = qdqLinear({ ...spec, name: 'qdq_rowbias_perchannel_odd', sx, biasScales: sw.map((w) => f32(f32(sx) * w)) }, 6);
  await assert.rejects(run(odd.path, odd.input, { inputRange: [-2, 2] }), (err: Error) => err instanceof ZkmlError && /"matmul" \(MatMul\).*dequantized/.test(err.message));
});

test('QDQ: MatMul + Add whose bias [1,1,N] makes the output rank 3 keeps that shape', async () => {
  const sw = 1 / 128;
  const { path, input } = qdqLinear({ name: 'qdq_rank3bias', M: 2, K: 4, N: 3, wScales: [sw], biasDims: [1, 1, 3], biasScales: [f32(f32(1 / 64) * sw)] }, 7);
  const [out] = await run(path, input, { inputRange: [-2, 2] });
  assert.deepEqual(out.shape, [1, 2, 3]);
  await agrees(path, input, {}, 2 / 16);
});

/** A QDQ model: the shared per-tensor parameters it uses (scales sx = 1/64, sy = 1/16, int8 zero point 0) plus `initializers`. */
function qdqModel(name: string, inputs: b.ValueInfo[], outputs: b.ValueInfo[], nodes: b.Node[], initializers: b.Tensor[]): string {
  const used = new Set(nodes.flatMap((n) => n.input ?? []));
  const shared = [b.floatTensor('sx', [], [1 / 64]), b.floatTensor('sy', [], [1 / 16]), b.intTensor('zp8', 'int8', [], [0])].filter((t) => used.has(t.name!));
  return save({ name, inputs, outputs, nodes, initializers: [...shared, ...initializers] });
}

/** A per-channel int8 weight DQ along `axis`, with scales 2^-6..2^-9 by channel and zero points 0. */
function perChannelWeights(v: ReturnType<typeof values>, name: string, dims: number[], axis: number): { tensors: b.Tensor[]; node: b.Node; scales: number[] } {
  const C = dims[axis];
  const scales = Array.from({ length: C }, (_, c) => 2 ** -(6 + (c % 4)));
  return {
    scales,
    tensors: [b.intTensor(`${name}_q`, 'int8', dims, int8s(v, dims.reduce((p, q) => p * q, 1))), b.floatTensor(`${name}_s`, [C], scales), b.intTensor(`${name}_z`, 'int8', [C], scales.map(() => 0))],
    node: b.node('DequantizeLinear', [`${name}_q`, `${name}_s`, `${name}_z`], [name], { name: `${name}_dequant`, attrs: { axis: b.attr.int(axis) } }),
  };
}

/** An int32 bias DQ with scale sx·w (per channel), as onnxruntime's quantizer writes it. */
function int32Bias(v: ReturnType<typeof values>, name: string, wScales: number[]): { tensors: b.Tensor[]; node: b.Node } {
  const C = wScales.length;
  return {
    tensors: [b.intTensor(`${name}_q`, 'int32', [C], v(C).map((x) => Math.round(x * 3000))), b.floatTensor(`${name}_s`, [C], wScales.map((w) => f32(f32(1 / 64) * w))), b.intTensor(`${name}_z`, 'int32', [C], wScales.map(() => 0))],
    node: b.node('DequantizeLinear', [`${name}_q`, `${name}_s`, `${name}_z`], [name], { name: `${name}_dequant`, attrs: { axis: b.attr.int(0) } }),
  };
}

test('QDQ: per-channel weights on odd shapes (MatMul on rank 3, transposed Gemm with batch 2, grouped 1-D Conv with batch 2) match onnxruntime', async () => {
  const v = values(8);
  // MatMul [2, 3, 4] x [4, 5] → QLinearMatMul, per-column scales.
  const w1 = perChannelWeights(v, 'W', [4, 5], 1);
  const matmul = qdqModel('qdq_matmul_rank3', [b.valueInfo('x', [2, 3, 4])], [b.valueInfo('y', [2, 3, 5])], [
    ...qdq('x', 'xd', 'sx'), w1.node, b.node('MatMul', ['xd', 'W'], ['mm'], { name: 'matmul' }), ...qdq('mm', 'y', 'sy'),
  ], w1.tensors);
  assert.ok(opsAfterRewrites(matmul).includes('QLinearMatMul'));
  await agrees(matmul, { x: v(24) }, {}, 2 / 16);

  // Gemm transB [2, 4] x [5, 4]' + bias [5] → QGemm, per-channel along axis 0 of the transposed weights.
  const w2 = perChannelWeights(v, 'W', [5, 4], 0);
  const b2 = int32Bias(v, 'B', w2.scales);
  const gemm = qdqModel('qdq_gemm_transb', [b.valueInfo('x', [2, 4])], [b.valueInfo('y', [2, 5])], [
    ...qdq('x', 'xd', 'sx'), w2.node, b2.node, b.node('Gemm', ['xd', 'W', 'B'], ['g'], { name: 'gemm', attrs: { transB: b.attr.int(1) } }), b.node('Relu', ['g'], ['r'], { name: 'relu' }), ...qdq('r', 'y', 'sy'),
  ], [...w2.tensors, ...b2.tensors]);
  assert.ok(opsAfterRewrites(gemm).includes('QGemm'));
  await agrees(gemm, { x: v(8) }, {}, 2 / 16);

  // Conv1d [2, 4, 6], 2 groups, weights [6, 2, 3] per output channel, bias [6] → QLinearConv.
  const w3 = perChannelWeights(v, 'W', [6, 2, 3], 0);
  const b3 = int32Bias(v, 'B', w3.scales);
  const conv = qdqModel('qdq_conv1d_grouped', [b.valueInfo('x', [2, 4, 6])], [b.valueInfo('y', [2, 6, 4])], [
    ...qdq('x', 'xd', 'sx'), w3.node, b3.node, b.node('Conv', ['xd', 'W', 'B'], ['c'], { name: 'conv', attrs: { group: b.attr.int(2), kernel_shape: b.attr.ints([3]) } }), ...qdq('c', 'y', 'sy'),
  ], [...w3.tensors, ...b3.tensors]);
  assert.ok(opsAfterRewrites(conv).includes('QLinearConv'));
  await agrees(conv, { x: v(48) }, {}, 2 / 16);
});

test('QDQ: integer data movement (Transpose with new parameters, Gather on axis 1, MaxPool) and a broadcast QLinearAdd match onnxruntime', async () => {
  const v = values(9);
  const path = qdqModel('qdq_movement', [b.valueInfo('x', [2, 3, 4])], [b.valueInfo('y', [2, 2, 3])], [
    ...qdq('x', 'xd', 'sx'),
    b.node('Transpose', ['xd'], ['t'], { name: 'transpose', attrs: { perm: b.attr.ints([0, 2, 1]) } }), // [2, 4, 3]
    ...qdq('t', 'td', 'sy'), // other parameters: integer Transpose, then a requantization
    b.node('Gather', ['td', 'idx'], ['g'], { name: 'gather', attrs: { axis: b.attr.int(1) } }), // [2, 2, 3]
    ...qdq('g', 'gd', 'sy'),
    b.node('DequantizeLinear', ['c_q', 'sy', 'zp8'], ['c'], { name: 'c_dequant' }),
    b.node('Add', ['gd', 'c'], ['a'], { name: 'add' }), // [2, 2, 3] + [3]
    ...qdq('a', 'y', 'sy'),
  ], [b.int64Tensor('idx', [2], [3, -4]), b.intTensor('c_q', 'int8', [3], [5, -7, 20])]);
  const ops = opsAfterRewrites(path);
  assert.ok(ops.includes('QLinearAdd') && ops.includes('Transpose'), ops.join(' '));
  await agrees(path, { x: v(24) }, {}, 2 / 16);

  const pool = qdqModel('qdq_maxpool_1d', [b.valueInfo('x', [2, 3, 5])], [b.valueInfo('y', [2, 3, 2])], [
    ...qdq('x', 'xd', 'sy'),
    b.node('MaxPool', ['xd'], ['p'], { name: 'pool', attrs: { kernel_shape: b.attr.ints([3]), strides: b.attr.ints([2]), pads: b.attr.ints([1, 0]) } }),
    ...qdq('p', 'y', 'sy'), // the same parameters: the pair goes, MaxPool runs on the integers
  ], []);
  assert.ok(!opsAfterRewrites(pool).includes('QuantizeLinear'));
  await agrees(pool, { x: v(30) }, {}, 0);
});

test('QDQ: a negative scale (onnxruntime accepts it; max of the integers is then the min of the values) is refused, not rewritten', async () => {
  const path = save({
    name: 'qdq_negative_scale',
    inputs: [b.valueInfo('x', [1, 1, 2, 2])],
    outputs: [b.valueInfo('y', [1, 1, 1, 1], b.DataType.INT8)],
    initializers: [b.floatTensor('s', [], [-1 / 64]), b.intTensor('z', 'int8', [], [0])],
    nodes: [
      b.node('QuantizeLinear', ['x', 's', 'z'], ['xq'], { name: 'quant' }),
      b.node('DequantizeLinear', ['xq', 's', 'z'], ['xd'], { name: 'dequant' }),
      b.node('MaxPool', ['xd'], ['p'], { name: 'pool', attrs: { kernel_shape: b.attr.ints([2, 2]) } }),
      b.node('QuantizeLinear', ['p', 's', 'z'], ['y'], { name: 'requant' }),
    ],
  });
  await assert.rejects(run(path, { x: [0.5, -0.5, 0.25, 0.1] }, { inputRange: [-1, 1] }), (err: Error) => err instanceof ZkmlError && /scale must be positive/.test(err.message));
});

// Pool before ReLU ----------------------------------------------------------------------------------------------

/** The pool/ReLU pairs lowerPoolsFirst swapped on the model. */
function swapped(path: string): string[] {
  const names: string[] = [];
  lowerPoolsFirst(rewriteQdq(foldBatchNorms(loadOnnx(path))), { ...DEFAULT_QUANT, inputRange: [-2, 2] }, (r) => r.swapped && names.push(r.pool));
  return names;
}

test('pool before ReLU: MaxPool with pads, ceil_mode, dilations and strides, 1-D and 3-D, batch 2, matches onnxruntime where swapped', async () => {
  const v = values(10);
  // Conv1d [2, 2, 9] → [2, 3, 7], Relu, MaxPool k2 s3 pads [1,1] dilation 2, ceil_mode: [2, 3, 3].
  const oneD = save({
    name: 'relu_maxpool_1d',
    inputs: [b.valueInfo('x', [2, 2, 9])],
    outputs: [b.valueInfo('y', [2, 3, 3])],
    initializers: [b.floatTensor('W', [3, 2, 3], v(18)), b.floatTensor('B', [3], v(3))],
    nodes: [
      b.node('Conv', ['x', 'W', 'B'], ['c'], { name: 'conv', attrs: { kernel_shape: b.attr.ints([3]) } }),
      b.node('Relu', ['c'], ['r'], { name: 'relu' }),
      b.node('MaxPool', ['r'], ['y'], { name: 'pool', attrs: { kernel_shape: b.attr.ints([2]), strides: b.attr.ints([3]), pads: b.attr.ints([1, 1]), dilations: b.attr.ints([2]), ceil_mode: b.attr.int(1) } }),
    ],
  });
  assert.deepEqual(swapped(oneD), ['pool']);
  await agrees(oneD, { x: v(36) });

  // Conv3d [1, 1, 5, 5, 5] → [1, 2, 4, 4, 4], Relu, MaxPool 2x2x2 with stride 2 over rank 5.
  const threeD = save({
    name: 'relu_maxpool_3d',
    inputs: [b.valueInfo('x', [1, 1, 5, 5, 5])],
    outputs: [b.valueInfo('y', [1, 2, 2, 2, 2])],
    initializers: [b.floatTensor('W', [2, 1, 2, 2, 2], v(16))],
    nodes: [
      b.node('Conv', ['x', 'W'], ['c'], { name: 'conv', attrs: { kernel_shape: b.attr.ints([2, 2, 2]) } }),
      b.node('Relu', ['c'], ['r'], { name: 'relu' }),
      b.node('MaxPool', ['r'], ['y'], { name: 'pool', attrs: { kernel_shape: b.attr.ints([2, 2, 2]), strides: b.attr.ints([2, 2, 2]) } }),
    ],
  });
  assert.deepEqual(swapped(threeD), ['pool']);
  await agrees(threeD, { x: v(125) });
});

// Constant folding ----------------------------------------------------------------------------------------------

test('constant folding: shape arithmetic on a batch of 2 (Shape, Gather, Concat, Reshape) and weights built from constants match onnxruntime', async () => {
  const v = values(11);
  const path = save({
    name: 'fold_shapes',
    inputs: [b.valueInfo('x', [2, 3, 4])],
    outputs: [b.valueInfo('y', [2, 3, 4])],
    initializers: [
      b.floatTensor('W0', [4, 3], v(12)), b.int64Tensor('i0', [1], [0]), b.int64Tensor('minus1', [1], [-1]),
      b.int64Tensor('starts', [1], [-1]), b.int64Tensor('ends', [1], [-1000]), b.int64Tensor('axes', [1], [1]), b.int64Tensor('steps', [1], [-1]),
      b.int64Tensor('unsq', [1], [-1]), b.floatTensor('col', [3, 1], v(3)), b.floatTensor('row', [1, 4], v(4)),
    ],
    nodes: [
      // Reshape x to [batch, -1] and back through its own Shape.
      b.node('Shape', ['x'], ['s'], { name: 'shape' }),
      b.node('Gather', ['s', 'i0'], ['batch'], { name: 'gather' }),
      b.node('Concat', ['batch', 'minus1'], ['flat_shape'], { name: 'concat', attrs: { axis: b.attr.int(0) } }),
      b.node('Reshape', ['x', 'flat_shape'], ['xf'], { name: 'flatten' }),
      b.node('Reshape', ['xf', 's'], ['xr'], { name: 'unflatten' }),
      // A weight [3, 4]: W0 transposed, reversed along axis 1 (negative step), plus a broadcast [3,1] + [1,4].
      b.node('Transpose', ['W0'], ['wt'], { name: 'transpose' }),
      b.node('Slice', ['wt', 'starts', 'ends', 'axes', 'steps'], ['wr'], { name: 'reverse' }),
      b.node('Add', ['col', 'row'], ['grid'], { name: 'grid' }),
      b.node('Mul', ['wr', 'grid'], ['w'], { name: 'weight' }),
      b.node('Unsqueeze', ['w', 'unsq'], ['w3'], { name: 'unsqueeze' }), // [3, 4, 1]
      b.node('Squeeze', ['w3', 'unsq'], ['w2'], { name: 'squeeze' }),
      b.node('Mul', ['xr', 'w2'], ['y'], { name: 'scale' }),
    ],
  });
  await agrees(path, { x: v(24) });
});

test('constant folding: Cast of constants gives the target type (bool is 0/1, int8 wraps) and onnxruntime\'s values', async () => {
  const v = values(12);
  const path = save({
    name: 'fold_cast',
    inputs: [b.valueInfo('x', [1, 4])],
    outputs: [b.valueInfo('y', [1, 4])],
    initializers: [b.floatTensor('c', [4], [0.5, 0, -2.75, 1]), b.int64Tensor('big', [4], [200, -3, 130, 7])],
    nodes: [
      b.node('Cast', ['c'], ['cb'], { name: 'to_bool', attrs: { to: b.attr.int(b.DataType.BOOL) } }),
      b.node('Cast', ['cb'], ['cf'], { name: 'bool_to_float', attrs: { to: b.attr.int(b.DataType.FLOAT) } }),
      b.node('Cast', ['big'], ['b8'], { name: 'to_int8', attrs: { to: b.attr.int(b.DataType.INT8) } }),
      b.node('Cast', ['b8'], ['bf'], { name: 'int8_to_float', attrs: { to: b.attr.int(b.DataType.FLOAT) } }),
      b.node('Mul', ['x', 'cf'], ['xc'], { name: 'mask' }),
      b.node('Mul', ['bf', 'xc'], ['y'], { name: 'scale' }),
    ],
  });
  await agrees(path, { x: v(4) }, { inputRange: [-1, 1] });
});

test('constant folding: weights computed by MatMul, Gemm (transposed, broadcast C) and BatchNormalization of constants fold', async () => {
  const v = values(13);
  const path = save({
    name: 'fold_linear',
    inputs: [b.valueInfo('x', [2, 3])],
    outputs: [b.valueInfo('y', [2, 4])],
    initializers: [b.floatTensor('A', [2, 3, 4], v(24)), b.floatTensor('B', [4, 4], v(16)), b.floatTensor('G', [4, 3], v(12)), b.int64Tensor('axis0', [1], [0]), b.floatTensor('C', [3, 1], v(3)), ...bnParams(v, 'bn', 3)],
    nodes: [
      b.node('MatMul', ['A', 'B'], ['AB'], { name: 'const_matmul' }), // [2, 3, 4], batched
      b.node('BatchNormalization', bnInputs('AB', 'bn'), ['ABn'], { name: 'const_bn' }), // channels: axis 1 (3)
      b.node('ReduceSum', ['ABn', 'axis0'], ['W1'], { name: 'const_sum', attrs: { keepdims: b.attr.int(0) } }), // [3, 4]
      b.node('Gemm', ['G', 'B', 'C'], ['W2t'], { name: 'const_gemm', attrs: { transA: b.attr.int(1), transB: b.attr.int(1), alpha: b.attr.float(0.5), beta: b.attr.float(-1) } }), // G' B' is [3, 4]; C [3, 1] per row
      b.node('MatMul', ['x', 'W1'], ['h1'], { name: 'matmul1' }),
      b.node('MatMul', ['x', 'W2t'], ['h2'], { name: 'matmul2' }),
      b.node('Add', ['h1', 'h2'], ['y'], { name: 'add' }),
    ],
  });
  await agrees(path, { x: v(6) });
});
