/**
 * The two back ends on whole models (issue 14): for every fixture and the third-party models of the suite, with
 * the product's default visibility (hashed input), circom2 compiles the emitted circuit.circom and zkml builds its
 * own constraint system from the same program, and they must be the same circuit: the same constraint count
 * (zkml folding as circom does), circom's witness satisfying zkml's r1cs and zkml's satisfying circom's (see
 * helpers/equivalence.ts). The gadget-level checks are in gadgets.test.ts; this is the linking of instances.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile, analyze, analyzeOptionsOf } from '../src/compiler/compile.ts';
import { encodeInputs } from '../src/io/input.ts';
import { checkEquivalence } from './helpers/equivalence.ts';
import { requireShared, SHARED_MODELS, tempDir } from './helpers/models.ts';
import { DEFAULT_NODE_TESTS, freezeInputs, listNodeTests, readDataSet, type NodeTest } from '../dev/conformance/testdata.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'models');
const EZKL = join(SHARED_MODELS, 'ezkl-examples');

interface Case {
  name: string;
  model: string;
  input: unknown;
  inputRange: [number, number];
  /** Fractional bits of inputs and activations (default: zkml's). */
  scale?: number;
}

// Every fixture with an input, except the two whose point is to be refused (an unsupported op, external data).
const fixtures: Case[] = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.onnx') && !['unsupported_ops.onnx', 'external_data.onnx'].includes(f) && existsSync(join(FIXTURES, f.replace('.onnx', '.input.json'))))
  .map((f) => ({ name: `fixture ${f}`, model: join(FIXTURES, f), input: JSON.parse(readFileSync(join(FIXTURES, f.replace('.onnx', '.input.json')), 'utf8')), inputRange: [-8, 8] }));

// EZKL examples of each op family zkml proves (dense, BatchNorm, conv, both pools, one-hot tables, PRelu), and the
// model-zoo MLP (8k constraints). The CNN (200k) is left to the bench: circom2 alone takes a minute on it.
const ezkl = ['1l_mlp', '2l_relu_fc', 'linear_regression', '1l_batch_norm', '1l_conv', '1l_max_pool', '1l_average', '1l_sigmoid', '1l_prelu'];
const shared: Case[] = [
  ...ezkl.map((name) => ({ name: `ezkl example ${name}`, model: join(EZKL, name, 'network.onnx'), input: JSON.parse(readFileSync(join(requireShared(EZKL), name, 'input.json'), 'utf8')), inputRange: [-4, 4] as [number, number] })),
  { name: 'model-zoo MNIST MLP (pytorch.onnx)', model: join(SHARED_MODELS, 'onnx-zoo-mnist', 'pytorch.onnx'), input: { network_input: [Array.from({ length: 784 }, (_, i) => ((i * 37) % 256) / 255)] }, inputRange: [0, 1] },
];

// ONNX backend node tests (Debian's libonnx-testdata) of every op family whose lowering makes gadgets, with all
// inputs computed: one case each, at 8 fractional bits so the table activations stay small for circom2.
const NODE_TESTS = ['test_relu', 'test_leakyrelu', 'test_prelu_broadcast', 'test_clip', 'test_sigmoid', 'test_tanh', 'test_hardsigmoid', 'test_hardswish', 'test_maxpool_2d_default', 'test_reduce_max_default_axes_keepdim_example', 'test_min_example', 'test_max_example', 'test_mul', 'test_less', 'test_greater_equal', 'test_equal', 'test_abs', 'test_sign', 'test_round', 'test_floor', 'test_ceil'];
const FROZEN = new Set(['test_prelu_broadcast', 'test_clip']);
const conformanceDir = tempDir('equivalence-node-tests');
const nodeTests = existsSync(DEFAULT_NODE_TESTS) ? new Map(listNodeTests().map((t) => [t.name, t])) : new Map<string, NodeTest>();
const conformance: Case[] = NODE_TESTS.map((name) => {
  const t = nodeTests.get(name);
  if (!t) return { name: `node test ${name}`, model: join(DEFAULT_NODE_TESTS, name, 'model.onnx'), input: undefined, inputRange: [0, 0] as [number, number] };
  const ds = readDataSet(t, t.dataSets[0]);
  // PRelu's slope and Clip's bounds are parameters: frozen into the model as constants, as the conformance run does.
  let model = t.modelPath;
  let computed = t.inputs.map((_, k) => k);
  if (FROZEN.has(name)) {
    model = join(conformanceDir, `${name}.onnx`);
    writeFileSync(model, freezeInputs(t, new Map(t.inputs.slice(1).map((io, k) => [io.name, ds.inputs[k + 1]]))));
    computed = [0];
  }
  const values = computed.flatMap((k) => ds.inputs[k].data);
  const [lo, hi] = [Math.min(...values), Math.max(...values)];
  const margin = Math.max(1, (hi - lo) / 8);
  return { name: `node test ${name}`, model, input: Object.fromEntries(computed.map((k) => [t.inputs[k].name, ds.inputs[k].data])), inputRange: [lo - margin, hi + margin] as [number, number], scale: 8 };
});

for (const c of [...fixtures, ...shared, ...conformance]) {
  test(`circom and zkml build the same circuit: ${c.name}`, async () => {
    const dir = tempDir('equivalence');
    assert.ok(c.input !== undefined, `${c.model} is missing: run scripts/setup-system.sh`);
    const manifest = await compile(c.model, dir, { inputRange: c.inputRange, ...(c.scale ? { scale: c.scale, inputScale: c.scale } : {}) });
    const analysis = analyze(c.model, analyzeOptionsOf(manifest));
    const eq = await checkEquivalence(analysis.lowered.program, analysis.publicInputs, encodeInputs(manifest, c.input), dir);
    assert.equal(eq.circomConstraints, eq.zkmlConstraints, "circom's constraint count equals zkml's (circom folding)");
    assert.deepEqual({ unnamed: eq.unnamed, underived: eq.underived }, { unnamed: [], underived: [] }, 'every wire maps to the other side');
    assert.deepEqual({ zkmlViolatedByCircom: eq.zkmlViolatedByCircom, circomViolatedByZkml: eq.circomViolatedByZkml }, { zkmlViolatedByCircom: [], circomViolatedByZkml: [] }, 'each witness satisfies the other r1cs');
    assert.equal(eq.costConstraints, manifest.constraints, "the build's count is zkml's default folding of the same program");
  });
}
