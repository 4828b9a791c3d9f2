/**
 * The numbers SECURITY.md quotes, produced by the soundness suites themselves: runs test/mutation.test.ts,
 * test/fuzz.test.ts, test/fuzz-artifacts.test.ts, test/audit.test.ts and test/interval.test.ts (the same files `npm test` runs), reads
 * the `# zkml-count {...}` diagnostics each test prints (test/helpers/counts.ts), and prints the totals with the
 * date and the command, ready to paste. It also measures the gap between the proven integer program and the
 * float model (onnxruntime) on the fixtures, the ezkl MLPs and MNIST test images, with the default quantization.
 *
 *   npx tsx scripts/security-counts.ts
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run as runModel } from '../src/run.ts';
import { loadMnist } from '../dev/data/mnist.ts';

const ROOT = join(import.meta.dirname, '..');
const FILES = ['test/mutation.test.ts', 'test/fuzz.test.ts', 'test/fuzz-artifacts.test.ts', 'test/audit.test.ts', 'test/interval.test.ts'];
const args = ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=tap', ...FILES];

interface Tally {
  tried: number;
  caught: number;
  sameStatement: number;
  otherInput: number;
  forged: number;
}
type Count =
  | { suite: 'mutation'; model: string; single: Record<string, Tally>; pairs: Tally; pairDraws: number }
  | { suite: 'fuzz' | 'fuzz-artifacts'; test: string; cases: number }
  | { suite: 'audit'; model: string; constraints: number; determined: number; findings: number; recheck: boolean };

const started = new Date();
const run = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });
const lines = run.stdout.split('\n');
const counts: Count[] = lines.flatMap((l) => {
  const m = /#\s*zkml-count (\{.*\})\s*$/.exec(l);
  return m ? [JSON.parse(m[1]) as Count] : [];
});
const summary = (key: string) => Number(lines.map((l) => new RegExp(`^# ${key} (\\d+)`).exec(l)?.[1]).find((x) => x !== undefined) ?? NaN);

const out: string[] = [];
out.push(`zkml security counts, ${started.toISOString().slice(0, 10)}`);
out.push(`command: node ${args.join(' ')}   (via: npx tsx scripts/security-counts.ts)`);
out.push(`tests: ${summary('tests')} run, ${summary('pass')} passed, ${summary('fail')} failed, ${summary('todo')} todo (known open bugs), ${Math.round((Date.now() - started.getTime()) / 1000)} s`);

const mutation = counts.filter((c): c is Extract<Count, { suite: 'mutation' }> => c.suite === 'mutation');
const byClass = new Map<string, Tally>();
const zero = (): Tally => ({ tried: 0, caught: 0, sameStatement: 0, otherInput: 0, forged: 0 });
const add = (into: Tally, t: Tally) => (Object.keys(into) as (keyof Tally)[]).forEach((k) => (into[k] += t[k]));
const pairs = zero();
for (const m of mutation) {
  for (const [cls, t] of Object.entries(m.single)) add(byClass.get(cls) ?? byClass.set(cls, zero()).get(cls)!, t);
  add(pairs, m.pairs);
}
const total = zero();
for (const t of byClass.values()) add(total, t);
const row = (name: string, t: Tally) =>
  `  ${name.padEnd(24)}${String(t.tried).padStart(8)}${String(t.caught).padStart(8)}${String(t.sameStatement).padStart(16)}${String(t.otherInput).padStart(13)}${String(t.forged).padStart(8)}`;
out.push('');
out.push(`mutation testing: ${mutation.length} compiled models (${mutation.map((m) => m.model).join(', ')})`);
out.push(`  ${'signal class'.padEnd(24)}${'tried'.padStart(8)}${'caught'.padStart(8)}${'same statement'.padStart(16)}${'other input'.padStart(13)}${'forged'.padStart(8)}`);
for (const [cls, t] of [...byClass].sort(([a], [b]) => a.localeCompare(b))) out.push(row(cls, t));
out.push(row('single-signal total', total));
out.push(row('two-signal attacks', pairs));

const fuzz = counts.filter((c): c is Extract<Count, { suite: 'fuzz' | 'fuzz-artifacts' }> => c.suite === 'fuzz' || c.suite === 'fuzz-artifacts');
out.push('');
out.push(`fuzzing: ${fuzz.reduce((a, c) => a + c.cases, 0)} cases in ${fuzz.length} passing tests`);
for (const f of fuzz) out.push(`  ${String(f.cases).padStart(6)}  ${f.test}`);

const audited = counts.filter((c): c is Extract<Count, { suite: 'audit' }> => c.suite === 'audit');
out.push('');
out.push(
  `audit: ${audited.length} models audited, ${audited.reduce((a, c) => a + c.constraints, 0)} constraints, ` +
    `${audited.reduce((a, c) => a + c.determined, 0)} signals proven determined by the inputs, ${audited.reduce((a, c) => a + c.findings, 0)} findings ` +
    `(${audited.filter((c) => c.recheck).length} needed the recompile with inputs kept, see SECURITY.md)`,
);

// The quantization gap: what the proof is about (integers) against what the float model computes.
const FIXTURES = join(ROOT, 'fixtures', 'models');
const EZKL = join(ROOT, '..', 'shared', 'models', 'ezkl-examples');
const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const gaps: { name: string; err: number; agree: boolean }[] = [];
const measure = async (name: string, model: string, input: unknown, inputRange: [number, number]) => {
  const [o] = await runModel(model, input, { inputRange });
  gaps.push({ name, err: o.maxAbsError, agree: o.argmaxFloat === o.argmaxQuantized });
};
for (const name of ['gemm_basic', 'gemm_attrs', 'matmul_add', 'arith_consts', 'reshape_ops', 'reshape_ops_opset11', 'batchnorm_after_linear', 'batchnorm_standalone', 'softmax_final', 'logsoftmax_final', 'dynamic_batch', 'constant_node', 'iris']) {
  await measure(name, join(FIXTURES, `${name}.onnx`), json(join(FIXTURES, `${name}.input.json`)), name === 'iris' ? [0, 8] : [-1, 1]);
}
for (const name of ['1l_mlp', '2l_relu_fc', '1l_linear', '1l_relu', '2l_relu_small', 'linear_regression', '1l_flatten', '1l_reshape', '1l_batch_norm']) {
  if (existsSync(join(EZKL, name))) await measure(`ezkl ${name}`, join(EZKL, name, 'network.onnx'), { input_data: json(join(EZKL, name, 'input.json')).input_data }, [-4, 4]);
}
const mnistDir = join(ROOT, '..', 'shared', 'datasets', 'mnist');
let mnist = '';
if (existsSync(mnistDir)) {
  const set = loadMnist(mnistDir, 100);
  let agree = 0;
  let worst = 0;
  for (const image of set.images) {
    const [o] = await runModel(join(ROOT, '..', 'shared', 'models', 'onnx-zoo-mnist', 'pytorch.onnx'), { network_input: [Array.from(image, (p) => p / 255)] }, { inputRange: [0, 1] });
    if (o.argmaxFloat === o.argmaxQuantized) agree++;
    worst = Math.max(worst, o.maxAbsError);
  }
  mnist = `model-zoo MNIST MLP on the first ${set.images.length} MNIST test images: top-1 agreement ${agree}/${set.images.length}, max abs error of the logits ${worst.toExponential(2)}`;
}
out.push('');
out.push('quantization gap (default --scale 8, --weight-bits 9; max abs error of the outputs vs onnxruntime, one input per model):');
for (const g of gaps) out.push(`  ${g.name.padEnd(26)} ${g.err.toExponential(2)}  argmax ${g.agree ? 'agrees' : 'DIFFERS'}`);
out.push(`  largest: ${Math.max(...gaps.map((g) => g.err)).toExponential(2)}; argmax agrees on ${gaps.filter((g) => g.agree).length} of ${gaps.length}`);
if (mnist) out.push(`  ${mnist}`);
console.log(out.join('\n'));
if (run.status !== 0) {
  console.error(`\nthe suites failed (exit ${run.status}):\n${lines.filter((l) => /^not ok/.test(l.trim()) && !/# TODO/.test(l)).join('\n')}\n${run.stderr.slice(-4000)}`);
  process.exitCode = 1;
}
