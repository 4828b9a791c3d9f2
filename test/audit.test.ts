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
import { determineSignals } from '../src/audit/determined.ts';
import type { R1cs } from '../src/circom/r1cs.ts';
import { FIELD_P } from '../src/io/output.ts';
import { compileCircom, NODE_MODULES_DIR } from '../src/circom/compile.ts';
import { bundleCircom } from '../src/circom/bundle.ts';
import type { CompileOptions } from '../src/compiler/compile.ts';
import { cachedBuilds } from './helpers/builds.ts';
import { requireShared, SHARED_MODELS } from './helpers/models.ts';
import { scratchDirs } from './helpers/scratch.ts';
import { zkml } from './helpers/cli.ts';
import { report } from './helpers/counts.ts';
import * as b from '../fixtures/onnx-builder.ts';

const tempDir = scratchDirs();

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'models');
const EZKL = join(SHARED_MODELS, 'ezkl-examples');

const FIXTURE_NAMES = ['gemm_basic', 'gemm_attrs', 'matmul_add', 'arith_consts', 'reshape_ops', 'reshape_ops_opset11', 'batchnorm_after_linear', 'batchnorm_standalone', 'softmax_final', 'logsoftmax_final', 'dynamic_batch', 'constant_node', 'iris'];
const rangeOf = (name: string): [number, number] => (name === 'iris' ? [0, 8] : [-1, 1]);

/**
 * What is audited: every fixture of test/compiler.test.ts as the product builds it by default (hashed input: a
 * Poseidon digest of the inputs is a public output; public output), and again with hashed weights in a single
 * public signal (Poseidon over the weights, the input and the output: circomlib's Poseidon is most of that
 * circuit), plus the ezkl MLPs of test/third-party-mlp.test.ts with private inputs, which leaves the model's own
 * constraints to audit at well under half the compile time.
 */
const MODELS: { name: string; model: string; opts: CompileOptions }[] = [
  ...FIXTURE_NAMES.map((name) => ({ name, model: join(FIXTURES, `${name}.onnx`), opts: { inputRange: rangeOf(name) } })),
  ...FIXTURE_NAMES.map((name) => ({
    name: `${name} (hashed weights, single signal)`,
    model: join(FIXTURES, `${name}.onnx`),
    opts: { inputRange: rangeOf(name), paramVisibility: 'hashed' as const, singleSignal: true },
  })),
  ...['1l_mlp', '2l_relu_fc', '1l_linear', '1l_relu', '2l_relu_small', 'linear_regression', '1l_flatten', '1l_reshape', '1l_batch_norm'].map((name) => ({
    name: `ezkl ${name}`,
    model: join(EZKL, name, 'network.onnx'),
    opts: { inputRange: [-4, 4] as [number, number], inputVisibility: 'private' as const },
  })),
];

const dirs = new Map<string, string>();
before(async () => {
  requireShared(EZKL);
  const built = await cachedBuilds(MODELS.map((m) => ({ model: m.model, opts: m.opts })));
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
async function handWritten(body: string, includes: string[] = []): Promise<string> {
  const dir = tempDir('audit-hand');
  const head = includes.map((i) => `include "${i}";\n`).join('');
  // circom2 resolves no include outside the compiled file's folder: includes are inlined (as compile does).
  writeFileSync(join(dir, 'circuit.circom'), bundleCircom(`${head}template T() {\n${body}\n}\ncomponent main = T();\n`, [NODE_MODULES_DIR]));
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
  // The direct back end keeps the output's one linear constraint (circom's --O2 dropped it, an unused-signal
  // finding): the output is determined by the inputs, but with free private inputs every output value still
  // has a witness, which is what the note says.
  assert.deepEqual(
    report.findings.map((f) => f.kind),
    [],
  );
  assert.ok(report.notes.some((n) => /not range-checked/.test(n)));
});

const POSEIDON = 'circomlib/circuits/poseidon.circom';

test('audit: a free signal hashed with the inputs leaves the digest undetermined; the same value constrained is clean', async () => {
  // free is assigned with <-- only: any value gives a valid witness, and so does its digest.
  const hashed = (assign: string) => `
  signal input in0[2];
  signal output digest;
  signal free;
  free ${assign} in0[0] * in0[1];
  component h = Poseidon(3);
  h.inputs[0] <== in0[0];
  h.inputs[1] <== in0[1];
  h.inputs[2] <== free;
  digest <== h.out;`;
  const loose = await audit(await handWritten(hashed('<--'), [POSEIDON]));
  const kinds = new Set(loose.findings.map((f) => f.kind));
  assert.ok(loose.findings.some((f) => f.kind === 'undetermined-output' && f.signal === 'main.digest'), JSON.stringify(loose.findings.slice(0, 3)));
  assert.deepEqual([...kinds].sort(), ['undetermined-output', 'undetermined-signal']);
  const sound = await audit(await handWritten(hashed('<=='), [POSEIDON]));
  assert.deepEqual(sound.findings, [], 'with free constrained, every signal of the Poseidon is determined');
});

test('audit: a free output beside a Poseidon digest is the only finding', async () => {
  // y is fixed only up to its sign (y·y = (in0+5)²), next to a digest of the inputs that is fully determined.
  const r = await audit(
    await handWritten(
      `
  signal input in0[2];
  signal output digest;
  signal output y;
  signal sq;
  component h = Poseidon(2);
  h.inputs[0] <== in0[0];
  h.inputs[1] <== in0[1];
  digest <== h.out;
  sq <== (in0[0] + 5) * (in0[0] + 5);
  y <-- in0[0] + 5;
  y * y === sq;`,
      [POSEIDON],
    ),
  );
  assert.deepEqual(
    r.findings.map((f) => [f.kind, f.signal]),
    [['undetermined-output', 'main.y']],
  );
});

test('audit rule 5: a product of two combinations the linear equations fix is known, though none of their signals is', () => {
  const neg = (c: bigint) => FIELD_P - c;
  const lc = (entries: [number, bigint][]) => new Map(entries);
  // Wires: 0 = 1, 1 = x (input), 2 = u1, 3 = u2, 4 = s.
  const sumFixed: R1cs['constraints'][number] = [lc([[0, 1n]]), lc([[2, 1n], [3, 1n], [1, neg(1n)]]), lc([])]; // u1 + u2 = x
  const square: R1cs['constraints'][number] = [lc([[2, 1n], [3, 1n]]), lc([[2, 1n], [3, 1n]]), lc([[4, 1n]])]; // (u1 + u2)² = s
  const diff: R1cs['constraints'][number] = [lc([[0, 1n]]), lc([[2, 1n], [3, neg(3n)]]), lc([[4, 1n]])]; // u1 - 3·u2 = s
  const r1cs = (constraints: R1cs['constraints']): R1cs => ({ nWires: 5, nOutputs: 0, nPubInputs: 0, nPrvInputs: 1, constraints });
  assert.deepEqual([...determineSignals(r1cs([sumFixed, square, diff]), [1]).determined], [1, 1, 1, 1, 1], 'u1 + u2 is fixed, so s is, so u1 and u2 are');
  // Without the equation that fixes u1 + u2, nothing is: u1 = 3·u2 + (u1 + u2)² has a solution for every u2.
  assert.deepEqual([...determineSignals(r1cs([square, diff]), [1]).determined], [1, 1, 0, 0, 0]);
});

test('audit: a model output that does not depend on the input (a zero weight column plus its bias) is pinned, not free', async () => {
  const dir = tempDir('audit-const');
  const model = join(dir, 'const_column.onnx');
  writeFileSync(model, b.serialize(b.model({
    name: 'const_column',
    inputs: [b.valueInfo('x', [1, 3])],
    outputs: [b.valueInfo('y', [1, 2])],
    initializers: [b.floatTensor('W', [3, 2], [0.5, 0, -0.25, 0, 0.75, 0]), b.floatTensor('C', [2], [0.1, 0.3])],
    nodes: [b.node('Gemm', ['x', 'W', 'C'], ['y'], { name: 'gemm' })],
  })));
  const [build] = await cachedBuilds([{ model }]);
  const r = await audit(build);
  assert.deepEqual(r.findings, [], 'out0[1] = 0.3 whatever the input: the circuit pins it to that constant');
});
