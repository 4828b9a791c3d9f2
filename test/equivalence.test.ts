/**
 * The two back ends on whole models (issue 14): for every fixture and the third-party models of the suite, with
 * the product's default visibility (hashed input), circom2 compiles the emitted circuit.circom and zkml builds its
 * own constraint system from the same program, and they must be the same circuit: the same constraint count
 * (zkml folding as circom does), circom's witness satisfying zkml's r1cs and zkml's satisfying circom's (see
 * helpers/equivalence.ts). The gadget-level checks are in gadgets.test.ts; this is the linking of instances.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile, analyze, analyzeOptionsOf } from '../src/compiler/compile.ts';
import { encodeInputs } from '../src/io/input.ts';
import { checkEquivalence } from './helpers/equivalence.ts';
import { requireShared, SHARED_MODELS, tempDir } from './helpers/models.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'models');
const EZKL = join(SHARED_MODELS, 'ezkl-examples');

interface Case {
  name: string;
  model: string;
  input: unknown;
  inputRange: [number, number];
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

for (const c of [...fixtures, ...shared]) {
  test(`circom and zkml build the same circuit: ${c.name}`, async () => {
    const dir = tempDir('equivalence');
    const manifest = await compile(c.model, dir, { inputRange: c.inputRange });
    const analysis = analyze(c.model, analyzeOptionsOf(manifest));
    const eq = await checkEquivalence(analysis.lowered.program, analysis.publicInputs, encodeInputs(manifest, c.input), dir);
    assert.equal(eq.circomConstraints, eq.zkmlConstraints, "circom's constraint count equals zkml's (circom folding)");
    assert.deepEqual({ unnamed: eq.unnamed, underived: eq.underived }, { unnamed: [], underived: [] }, 'every wire maps to the other side');
    assert.deepEqual({ zkmlViolatedByCircom: eq.zkmlViolatedByCircom, circomViolatedByZkml: eq.circomViolatedByZkml }, { zkmlViolatedByCircom: [], circomViolatedByZkml: [] }, 'each witness satisfies the other r1cs');
    assert.equal(eq.costConstraints, manifest.constraints, "the build's count is zkml's default folding of the same program");
  });
}
