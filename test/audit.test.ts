/**
 * `zkml audit` (src/audit): the static checks find nothing on every fixture model and on the third-party MLPs
 * (every signal determined by the inputs), and they do find hand-written under-constrained circuits: an output
 * assigned with `<--` only, an output fixed only up to sign, a bit decomposition that lost a boolean check, an
 * r1cs swapped under a manifest, and a linear model compiled without input range checks.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { audit } from '../src/audit/audit.ts';
import { compileCircom } from '../src/circom/compile.ts';
import { cachedBuilds } from './helpers/builds.ts';
import { requireShared, SHARED_MODELS } from './helpers/models.ts';
import { scratchDirs } from './helpers/scratch.ts';
import { zkml } from './helpers/cli.ts';
import { report } from './helpers/counts.ts';

const tempDir = scratchDirs();

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'models');
const EZKL = join(SHARED_MODELS, 'ezkl-examples');

/** The fixtures of test/compiler.test.ts and the ezkl MLPs of test/third-party-mlp.test.ts, with their input ranges. */
const MODELS: { name: string; model: string; inputRange: [number, number] }[] = [
  ...['gemm_basic', 'gemm_attrs', 'matmul_add', 'arith_consts', 'reshape_ops', 'reshape_ops_opset11', 'batchnorm_after_linear', 'batchnorm_standalone', 'softmax_final', 'logsoftmax_final', 'dynamic_batch', 'constant_node'].map(
    (name) => ({ name, model: join(FIXTURES, `${name}.onnx`), inputRange: [-1, 1] as [number, number] }),
  ),
  { name: 'iris', model: join(FIXTURES, 'iris.onnx'), inputRange: [0, 8] },
  ...['1l_mlp', '2l_relu_fc', '1l_linear', '1l_relu', '2l_relu_small', 'linear_regression', '1l_flatten', '1l_reshape', '1l_batch_norm'].map((name) => ({
    name: `ezkl ${name}`,
    model: join(EZKL, name, 'network.onnx'),
    inputRange: [-4, 4] as [number, number],
  })),
];

/**
 * The models test/mutation.test.ts also compiles are audited as the product compiles them (hashed input: a
 * Poseidon digest of the inputs is a public output), from the shared build cache. The others are compiled with
 * private inputs, which leaves the model's own constraints to audit at well under half the compile time.
 */
const HASHED_INPUT_MODELS = new Set(['gemm_basic', 'iris', 'matmul_add', 'batchnorm_standalone', 'softmax_final']);

const dirs = new Map<string, string>();
before(async () => {
  requireShared(EZKL);
  const opts = (m: (typeof MODELS)[number]) => (HASHED_INPUT_MODELS.has(m.name) ? { inputRange: m.inputRange } : { inputRange: m.inputRange, inputVisibility: 'private' as const });
  const built = await cachedBuilds(MODELS.map((m) => ({ model: m.model, opts: opts(m) })));
  MODELS.forEach((m, i) => dirs.set(m.name, built[i]));
});

for (const m of MODELS) {
  test(`audit: ${m.name}: no findings, every signal determined by the inputs`, async (t) => {
    const r = await audit(dirs.get(m.name)!);
    assert.deepEqual(r.findings, []);
    assert.ok(r.constraints > 0 && r.outputs > 0);
    assert.equal(r.determined, r.wires - 1 - r.publicInputs - r.privateInputs, 'every computed signal is determined');
    report(t, { suite: 'audit', model: m.name, constraints: r.constraints, determined: r.determined, findings: r.findings.length, recheck: r.notes.some((n) => /compiled with its inputs kept/.test(n)) });
  });
}

/** Compiles a hand-written circuit into a fresh folder (no manifest: the audit reads the lone .r1cs and .sym). */
async function handWritten(body: string): Promise<string> {
  const dir = tempDir('audit-hand');
  writeFileSync(join(dir, 'circuit.circom'), `pragma circom 2.1.0;\ntemplate T() {\n${body}\n}\ncomponent main = T();\n`);
  await compileCircom(join(dir, 'circuit.circom'), dir);
  return dir;
}

test('audit: an output assigned with <-- only is reported, and the CLI exits 1 with the finding in --json', async () => {
  const dir = await handWritten(`
  signal input in0[2];
  signal output out0[2];
  out0[0] <== in0[0] * in0[1];
  out0[1] <-- in0[0] + 1;`);
  const r = zkml(['audit', dir, '--json']);
  assert.equal(r.status, 1, r.stderr);
  const report = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.equal(report.event, 'audit');
  assert.equal(report.ok, false);
  assert.deepEqual(
    report.findings.map((f: { kind: string; signal: string }) => [f.kind, f.signal]),
    [['unused-signal', 'main.out0[1]']],
  );
  const human = zkml(['audit', dir]);
  assert.equal(human.status, 1);
  assert.match(human.stdout, /FINDING \[unused-signal\] public output main\.out0\[1\] is used by no constraint/);
});

test('audit: an output fixed only up to its sign (out * out === square) is not determined', async () => {
  const dir = await handWritten(`
  signal input in0;
  signal output out0;
  signal sq;
  sq <== (in0 + 1) * (in0 + 1);
  out0 <-- in0 + 1;
  out0 * out0 === sq;`);
  const report = await audit(dir);
  // The output does occur with other signals (not "free"), but two values satisfy it: only determinacy sees that.
  assert.deepEqual(
    report.findings.map((f) => [f.kind, f.signal]),
    [['undetermined-output', 'main.out0']],
  );
});

test('audit: a bit decomposition missing one boolean check leaves its bits undetermined', async () => {
  const dir = await handWritten(`
  signal input in0;
  signal output out0;
  signal bits[4];
  var sum = 0;
  for (var i = 0; i < 4; i++) {
    bits[i] <-- (in0 >> i) & 1;
    if (i != 2) bits[i] * (bits[i] - 1) === 0;
    sum += bits[i] * 2 ** i;
  }
  sum === in0;
  out0 <== bits[3] * bits[1];`);
  const report = await audit(dir);
  assert.ok(report.findings.length > 0);
  assert.ok(report.findings.some((f) => f.kind === 'undetermined-output' && f.signal === 'main.out0'), JSON.stringify(report.findings));
  assert.ok(report.findings.every((f) => f.kind === 'undetermined-output' || f.kind === 'undetermined-signal'));
  const sound = await audit(
    await handWritten(`
  signal input in0;
  signal output out0;
  signal bits[4];
  var sum = 0;
  for (var i = 0; i < 4; i++) {
    bits[i] <-- (in0 >> i) & 1;
    bits[i] * (bits[i] - 1) === 0;
    sum += bits[i] * 2 ** i;
  }
  sum === in0;
  out0 <== bits[3] * bits[1];`),
  );
  assert.deepEqual(sound.findings, [], 'with every boolean check the same circuit is clean');
});

test('audit: an r1cs that is not the one the manifest describes is a finding', async () => {
  const dir = tempDir('audit-swap');
  cpSync(dirs.get('gemm_basic')!, dir, { recursive: true });
  copyFileSync(join(dirs.get('iris')!, 'circuit.r1cs'), join(dir, 'circuit.r1cs'));
  const report = await audit(dir);
  assert.equal(report.findings[0]?.kind, 'r1cs-mismatch');
});

test('audit: a linear model with private inputs and no input range checks proves nothing about its output', async () => {
  const [dir] = await cachedBuilds([{ model: join(EZKL, '1l_linear', 'network.onnx'), opts: { inputRange: [-4, 4], checkInputs: false, inputVisibility: 'private' } }]);
  const report = await audit(dir);
  assert.equal(report.inputsRangeChecked, false);
  // --O2 drops the output's only constraint: with a free private input, every output value has a witness.
  assert.deepEqual(
    report.findings.map((f) => f.kind),
    ['unused-signal'],
  );
  assert.ok(report.notes.some((n) => /not range-checked/.test(n)));
});
