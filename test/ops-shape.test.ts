/**
 * The wiring ops of src/ops/expand.ts, indexing.ts and resize.ts (and ConvTranspose, Einsum): small models
 * built here, compiled to a circuit, whose witness must equal the reference executor and satisfy every
 * constraint, and whose outputs must agree with onnxruntime on seeded random inputs. The same ops on constant
 * inputs are folded; computed indices or data-dependent shapes are refused with a ZkmlError naming the node.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as b from '../fixtures/onnx-builder.ts';
import { analyze } from '../src/compiler/compile.ts';
import { FloatModel } from '../src/onnx/ort.ts';
import { ZkmlError } from '../src/util/errors.ts';
import { compileAndCheck, maxAbsDiff } from './helpers/models.ts';
import { scratchDirs } from './helpers/scratch.ts';

const dir = scratchDirs()('ops-shape');
const rand = b.mulberry32(15);
/** Seeded values in [-1, 1). */
const values = (n: number, scale = 1) => Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
const RANGE: [number, number] = [-1, 1];

function save(spec: b.ModelSpec): string {
  const path = join(dir, `${spec.name}.onnx`);
  writeFileSync(path, b.serialize(b.model(spec)));
  return path;
}

/**
 * Compiles the model, checks the witness against the reference executor and the constraints, and compares
 * every output with onnxruntime within `bound` (wiring adds no error beyond the input's and the Gemm's rounding).
 */
async function agrees(path: string, x: number[], bound = 0.02): Promise<{ constraints: number }> {
  const r = await compileAndCheck(path, { x }, { inputRange: RANGE });
  assert.deepEqual(r.check.mismatches, [], 'witness equals the reference executor');
  assert.deepEqual(r.check.violated, [], 'witness satisfies every constraint');
  const ort = await FloatModel.load(path);
  const expected = await ort.run([{ name: 'x', dims: r.manifest.inputs[0].shape, data: x }]);
  assert.equal(r.floats.length, expected.length);
  expected.forEach((e, k) => {
    assert.deepEqual(r.manifest.outputs[k].shape, e.dims, `output ${k} shape`);
    const diff = maxAbsDiff(r.floats[k], e.data);
    assert.ok(diff <= bound, `output ${e.name}: ${diff} from onnxruntime (bound ${bound})`);
  });
  return { constraints: r.manifest.constraints };
}

/** Expects analyze() to refuse the model with this code and a message containing each of `parts`. */
function refuses(path: string, code: string, ...parts: string[]) {
  assert.throws(
    () => analyze(path, { inputRange: RANGE, inputVisibility: 'private', outputVisibility: 'public' }),
    (e: unknown) => e instanceof ZkmlError && e.code === code && parts.every((p) => e.message.includes(p)),
  );
}

const gemm = (K: number, N: number, name = 'W') => b.floatTensor(name, [K, N], values(K * N, 0.5));

test('Gemm → Expand → Tile → Split → Trilu → Concat, plus folded Range and ConstantOfShape: wiring only', async () => {
  const path = save({
    name: 'expand_tile_split',
    opset: 14, // Trilu
    inputs: [b.valueInfo('x', [1, 4])],
    outputs: [b.valueInfo('y', [2, 6]), b.valueInfo('a', [2, 2])],
    initializers: [
      gemm(4, 3),
      b.int64Tensor('shape', [2], [2, 3]),
      b.int64Tensor('reps', [2], [1, 2]),
      b.int64Tensor('split', [2], [2, 4]),
      b.floatTensor('r0', [], [0]),
      b.floatTensor('r1', [], [6]),
      b.floatTensor('rd', [], [1]),
      b.int64Tensor('cshape', [2], [2, 6]),
    ],
    nodes: [
      b.node('MatMul', ['x', 'W'], ['g']),
      b.node('Expand', ['g', 'shape'], ['e']),
      b.node('Tile', ['e', 'reps'], ['t']),
      b.node('Split', ['t', 'split'], ['a', 's'], { attrs: { axis: b.attr.int(1) } }),
      b.node('Trilu', ['s'], ['u'], { attrs: { upper: b.attr.int(0) } }),
      b.node('Concat', ['a', 'u'], ['c'], { attrs: { axis: b.attr.int(1) } }),
      // Folded at compile time: a Range [0..5] and a ConstantOfShape of 0.25.
      b.node('Range', ['r0', 'r1', 'rd'], ['r']),
      b.node('ConstantOfShape', ['cshape'], ['k'], { attrs: { value: b.attr.tensor(b.floatTensor('v', [1], [0.25])) } }),
      b.node('Add', ['c', 'r'], ['cr']),
      b.node('Add', ['cr', 'k'], ['y']),
    ],
  });
  await agrees(path, values(4));
});

test('Split by num_outputs (opset 18, last chunk smaller) and by equal parts (opset 13)', async () => {
  for (const [opset, attrs, sizes] of [
    [18, { axis: b.attr.int(1), num_outputs: b.attr.int(2) }, [3, 2]],
    [13, { axis: b.attr.int(1) }, [5]],
  ] as const) {
    const outs = sizes.map((_, i) => `o${i}`);
    const path = save({
      name: `split_${opset}`,
      opset,
      inputs: [b.valueInfo('x', [1, 4])],
      outputs: outs.map((o, i) => b.valueInfo(o, [2, sizes[i]])),
      initializers: [gemm(4, 10), b.int64Tensor('shape', [2], [2, 5])],
      nodes: [b.node('MatMul', ['x', 'W'], ['g']), b.node('Reshape', ['g', 'shape'], ['h']), b.node('Split', ['h'], outs, { attrs })],
    });
    await agrees(path, values(4));
  }
});

test('GatherElements, GatherND, ScatterND (none, add), ScatterElements (none, mul) and OneHot with constant indices after a Gemm', async () => {
  const path = save({
    name: 'indexing',
    opset: 16, // scatter reductions
    inputs: [b.valueInfo('x', [1, 4])],
    outputs: [b.valueInfo('ge', [3, 2]), b.valueInfo('gn', [2, 2]), b.valueInfo('sn', [3, 2]), b.valueInfo('se', [3, 2]), b.valueInfo('oh', [2, 3]), b.valueInfo('sa', [3, 2]), b.valueInfo('sm', [3, 2])],
    initializers: [
      gemm(4, 6),
      gemm(4, 2, 'W2'),
      b.int64Tensor('shape', [2], [3, 2]),
      b.int64Tensor('vshape', [1], [2]),
      b.int64Tensor('gei', [3, 2], [2, 0, -1, 1, 0, 0]),
      b.int64Tensor('gni', [2, 1], [2, -3]),
      b.int64Tensor('sni', [1, 1], [1]),
      b.floatTensor('snu', [1, 2], [0.5, -0.25]),
      b.int64Tensor('sei', [1, 2], [2, 0]),
      b.floatTensor('seu', [1, 2], [0.125, 0.75]),
      b.int64Tensor('ohi', [2], [2, -3]),
      b.int64Tensor('depth', [], [3]),
      gemm(4, 4, 'W3'),
      b.int64Tensor('ushape', [2], [2, 2]),
      b.int64Tensor('sai', [2, 1], [1, 1]),
    ],
    nodes: [
      b.node('MatMul', ['x', 'W'], ['g']),
      b.node('Reshape', ['g', 'shape'], ['h']),
      b.node('GatherElements', ['h', 'gei'], ['ge'], { attrs: { axis: b.attr.int(0) } }),
      b.node('GatherND', ['h', 'gni'], ['gn']),
      b.node('ScatterND', ['h', 'sni', 'snu'], ['sn']),
      b.node('ScatterElements', ['h', 'sei', 'seu'], ['se'], { attrs: { axis: b.attr.int(0) } }),
      // OneHot's [off, on] values computed by a second Gemm.
      b.node('MatMul', ['x', 'W2'], ['v1']),
      b.node('Reshape', ['v1', 'vshape'], ['v']),
      b.node('OneHot', ['ohi', 'depth', 'v'], ['oh']),
      // ScatterND with reduction add, computed updates and a duplicate index: row 1 gets both update rows.
      b.node('MatMul', ['x', 'W3'], ['u1']),
      b.node('Reshape', ['u1', 'ushape'], ['u']),
      b.node('ScatterND', ['h', 'sai', 'u'], ['sa'], { attrs: { reduction: b.attr.string('add') } }),
      // ScatterElements with reduction mul by constant updates: a constant factor per element.
      b.node('ScatterElements', ['h', 'sei', 'seu'], ['sm'], { attrs: { axis: b.attr.int(0), reduction: b.attr.string('mul') } }),
    ],
  });
  await agrees(path, values(4));
});

test('DepthToSpace (CRD) → nearest Resize (scales, asymmetric floor) → SpaceToDepth, Upsample (opset 9), linear and cubic Resize', async () => {
  const path = save({
    name: 'spatial',
    inputs: [b.valueInfo('x', [1, 4, 2, 2])],
    outputs: [b.valueInfo('y', [1, 16, 2, 2])],
    initializers: [b.floatTensor('scales', [4], [1, 1, 2, 2])],
    nodes: [
      b.node('DepthToSpace', ['x'], ['d'], { attrs: { blocksize: b.attr.int(2), mode: b.attr.string('CRD') } }),
      b.node('Resize', ['d', '', 'scales'], ['r'], { attrs: { mode: b.attr.string('nearest'), coordinate_transformation_mode: b.attr.string('asymmetric'), nearest_mode: b.attr.string('floor') } }),
      b.node('SpaceToDepth', ['r'], ['y'], { attrs: { blocksize: b.attr.int(4) } }),
    ],
  });
  await agrees(path, values(16), 2 ** -7);
  const up = save({
    name: 'upsample',
    opset: 9,
    inputs: [b.valueInfo('x', [1, 1, 2, 3])],
    outputs: [b.valueInfo('y', [1, 1, 4, 3])],
    initializers: [b.floatTensor('scales', [4], [1, 1, 2, 1])],
    nodes: [b.node('Upsample', ['x', 'scales'], ['y'])],
  });
  await agrees(up, values(6), 2 ** -7);
  // Linear and cubic modes: linear maps with constant weights (scales or sizes, several coordinate modes).
  for (const [label, extra, attrs] of [
    ['half_pixel', ['', 's'], {}],
    ['align_corners', ['', '', 'z'], { coordinate_transformation_mode: b.attr.string('align_corners') }],
    ['cubic', ['', 's'], { mode: b.attr.string('cubic') }],
    ['cubic_exclude', ['', '', 'z'], { mode: b.attr.string('cubic'), cubic_coeff_a: b.attr.float(-0.5), exclude_outside: b.attr.int(1) }],
  ] as const) {
    const lin = save({
      name: `resize_linear_${label}`,
      inputs: [b.valueInfo('x', [1, 1, 2, 3])],
      outputs: [b.valueInfo('y', [1, 1, 4, 5])],
      initializers: [b.floatTensor('s', [4], [1, 1, 2, 5 / 3]), b.int64Tensor('z', [4], [1, 1, 4, 5])],
      nodes: [b.node('Resize', ['x', ...extra], ['y'], { attrs: { mode: b.attr.string('linear'), ...attrs } })],
    });
    await agrees(lin, values(6), 2 ** -6);
  }
});

test('on constant inputs the ops fold: Tile, GatherElements, Trilu and NonZero of initializers cost nothing', () => {
  const path = save({
    name: 'folded',
    opset: 14,
    inputs: [b.valueInfo('x', [2, 2])],
    outputs: [b.valueInfo('y', [2, 2])],
    initializers: [
      b.floatTensor('c', [1, 2], [1, 2]),
      b.int64Tensor('reps', [2], [2, 1]),
      b.int64Tensor('idx', [2, 2], [1, 0, 0, 1]),
      b.floatTensor('m', [2, 2], [0, 3, 0, 4]),
    ],
    nodes: [
      b.node('Tile', ['c', 'reps'], ['t']),
      b.node('GatherElements', ['t', 'idx'], ['ge'], { attrs: { axis: b.attr.int(1) } }),
      b.node('Trilu', ['ge'], ['tr']),
      b.node('NonZero', ['m'], ['nz']),
      b.node('Cast', ['nz'], ['nzf'], { attrs: { to: b.attr.int(b.DataType.FLOAT) } }),
      b.node('Add', ['x', 'tr'], ['s']),
      b.node('Add', ['s', 'nzf'], ['y']),
    ],
  });
  const { graph } = analyze(path, { inputRange: RANGE, inputVisibility: 'private', outputVisibility: 'public' });
  // Tile [[1,2],[1,2]] → GatherElements axis 1 [[2,1],[1,2]] → upper triangle [[2,1],[0,2]].
  assert.deepEqual(graph.constants.get('tr')?.data, [2, 1, 0, 2]);
  // NonZero of [[0,3],[0,4]]: rows [0,1], columns [1,1].
  assert.deepEqual(graph.constants.get('nz'), { dtype: 'int64', dims: [2, 2], data: [0, 1, 1, 1] });
});

test('computed indices, data-dependent shapes and out-of-range indices are refused, naming node, op and input', () => {
  const indexModel = (name: string, op: string, inputs: string[], extra: b.Tensor[] = [], attrs: Record<string, b.Attr> = {}) =>
    save({
      name,
      inputs: [b.valueInfo('x', [2, 2])],
      outputs: [b.valueInfo('y', [2, 2])],
      initializers: [b.floatTensor('d', [2, 2], [1, 2, 3, 4]), ...extra],
      nodes: [b.node(op, inputs, ['y'], { name: 'n0', attrs })],
    });
  // Computed indices of a scatter would need a proven selection per element (Gather's exist: ops/select.ts).
  const computedIdx = save({
    name: 'computed_idx',
    inputs: [b.valueInfo('x', [2, 2]), b.valueInfo('i', [2, 2], b.DataType.INT64)],
    outputs: [b.valueInfo('y', [2, 2])],
    initializers: [b.floatTensor('d', [2, 2], [1, 2, 3, 4])],
    nodes: [b.node('ScatterElements', ['d', 'i', 'x'], ['y'], { name: 'se' })],
  });
  refuses(computedIdx, 'E_UNSUPPORTED', 'node "se" (ScatterElements)', 'indices (input 1) must be a constant');
  refuses(indexModel('nonzero', 'NonZero', ['x']), 'E_UNSUPPORTED', '(NonZero)', 'output shape depends on');
  refuses(indexModel('range', 'Range', ['d', 'x', 'd']), 'E_UNSUPPORTED', '(Range)', 'computed limit (input 1)', 'output shape depends on');
  refuses(indexModel('oob', 'GatherElements', ['x', 'i'], [b.int64Tensor('i', [2, 2], [0, 2, 1, 0])]), 'E_BAD_TENSOR', '(GatherElements)', 'index 2 is out of range for an axis of size 2');
  refuses(indexModel('neg_oob', 'ScatterElements', ['x', 'i', 'd'], [b.int64Tensor('i', [2, 2], [0, -3, 1, 0])]), 'E_BAD_TENSOR', 'index -3 is out of range');
  refuses(indexModel('scatter_add', 'ScatterND', ['x', 'i', 'u'], [b.int64Tensor('i', [1, 1], [0]), b.floatTensor('u', [1, 2], [1, 1])], { reduction: b.attr.string('max') }), 'E_UNSUPPORTED', 'reduction "max"');
  refuses(indexModel('tile_bad', 'Tile', ['x', 'r'], [b.int64Tensor('r', [1], [2])]), 'E_SHAPE', 'Tile repeats [2] must be 2');
  refuses(indexModel('crop', 'Resize', ['x', '', 's'], [b.floatTensor('s', [2], [1, 2])], { coordinate_transformation_mode: b.attr.string('tf_crop_and_resize') }), 'E_GRAPH', 'tf_crop_and_resize', 'roi (input 1), which is missing');
});

test('ConvTranspose (2-D, strides, pads, output_padding, bias; and grouped 1-D with dilations) is linear: Conv\'s path', async () => {
  const path = save({
    name: 'convtranspose',
    inputs: [b.valueInfo('x', [1, 2, 3, 3])],
    outputs: [b.valueInfo('y', [1, 3, 6, 6])],
    initializers: [b.floatTensor('W', [2, 3, 3, 3], values(54, 0.5)), b.floatTensor('B', [3], values(3))],
    nodes: [b.node('ConvTranspose', ['x', 'W', 'B'], ['y'], { attrs: { strides: b.attr.ints([2, 2]), pads: b.attr.ints([1, 1, 1, 1]), output_padding: b.attr.ints([1, 1]) } })],
  });
  await agrees(path, values(18), 0.05);
  const grouped = save({
    name: 'convtranspose_grouped',
    inputs: [b.valueInfo('x', [1, 4, 3])],
    outputs: [b.valueInfo('y', [1, 2, 7])],
    initializers: [b.floatTensor('W', [4, 1, 2], values(8, 0.5))],
    nodes: [b.node('ConvTranspose', ['x', 'W'], ['y'], { attrs: { group: b.attr.int(2), dilations: b.attr.ints([2]), strides: b.attr.ints([2]) } })],
  });
  await agrees(grouped, values(12), 0.05);
});

test('Einsum with one computed operand (either side, implicit output, a sum) is linear', async () => {
  const path = save({
    name: 'einsum',
    opset: 12,
    inputs: [b.valueInfo('x', [1, 4])],
    outputs: [b.valueInfo('e1', [2, 2]), b.valueInfo('e2', [2, 3]), b.valueInfo('e3', [3])],
    initializers: [gemm(4, 6), b.int64Tensor('shape', [2], [2, 3]), b.floatTensor('C', [3, 2], values(6)), b.floatTensor('D', [2, 2], values(4))],
    nodes: [
      b.node('MatMul', ['x', 'W'], ['g']),
      b.node('Reshape', ['g', 'shape'], ['h']),
      b.node('Einsum', ['h', 'C'], ['e1'], { attrs: { equation: b.attr.string('ij,jk->ik') } }),
      b.node('Einsum', ['D', 'h'], ['e2'], { attrs: { equation: b.attr.string('ki,ij') } }),
      b.node('Einsum', ['h'], ['e3'], { attrs: { equation: b.attr.string('ij->j') } }),
    ],
  });
  await agrees(path, values(4), 0.05);
});
