/**
 * The long whole-model mutation run (test/mutation.test.ts is its quick version): every fixture model, the
 * product model, the ezkl MLPs and the model-zoo MNIST MLP; on each, every witness signal gets +1, -1 and a
 * flipped low bit, then `--runs` random tampers (every signal class equally likely) and `--runs` two-signal
 * attacks, drawn by fast-check from `--seed`. Prints what was tried and caught per model and per signal class;
 * exits 1 if any tamper went uncaught.
 *
 *   npx tsx scripts/mutation-long.ts [--runs 5000] [--seed 72025] [--no-mnist]
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { classifySignals, describeTamper, MutationTarget, MutationTally, sweep } from '../src/audit/mutate.ts';
import { witnessedBuild } from '../test/helpers/builds.ts';
import { MUTATION_SEED, signalArb, tamperArb, writeProductModel } from '../test/helpers/mutation.ts';
import { tempDir } from '../test/helpers/models.ts';
import { loadMnist } from '../dev/data/mnist.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5000' }, seed: { type: 'string', default: String(MUTATION_SEED) }, 'no-mnist': { type: 'boolean', default: false } } });
const runs = Number(values.runs);
const seed = Number(values.seed);

const ROOT = join(import.meta.dirname, '..');
const FIXTURES = join(ROOT, 'fixtures', 'models');
const SHARED = join(ROOT, '..', 'shared');
const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

const models: { name: string; model: string; input: unknown; inputRange: [number, number] }[] = [];
for (const name of ['gemm_basic', 'gemm_attrs', 'matmul_add', 'arith_consts', 'reshape_ops', 'reshape_ops_opset11', 'batchnorm_after_linear', 'batchnorm_standalone', 'softmax_final', 'logsoftmax_final', 'dynamic_batch', 'constant_node', 'iris']) {
  models.push({ name, model: join(FIXTURES, `${name}.onnx`), input: json(join(FIXTURES, `${name}.input.json`)), inputRange: name === 'iris' ? [0, 8] : [-1, 1] });
}
const product = writeProductModel(tempDir('mutation-long'));
models.push({ name: 'product', model: product.model, input: product.input, inputRange: [-1, 1] });
const ezkl = join(SHARED, 'models', 'ezkl-examples');
if (existsSync(ezkl)) {
  for (const name of ['1l_mlp', '2l_relu_fc', '1l_linear', '1l_relu', '2l_relu_small', 'linear_regression', '1l_flatten', '1l_reshape', '1l_batch_norm']) {
    const input = json(join(ezkl, name, 'input.json'));
    models.push({ name: `ezkl ${name}`, model: join(ezkl, name, 'network.onnx'), input: { input_data: input.input_data }, inputRange: [-4, 4] });
  }
}
const mnistDir = join(SHARED, 'datasets', 'mnist');
if (!values['no-mnist'] && existsSync(mnistDir)) {
  const image = loadMnist(mnistDir, 1).images[0];
  models.push({ name: 'model-zoo MNIST MLP', model: join(SHARED, 'models', 'onnx-zoo-mnist', 'pytorch.onnx'), input: { network_input: [Array.from(image, (p) => p / 255)] }, inputRange: [0, 1] });
}

const all = new MutationTally();
const allPairs = new MutationTally();
let pairDraws = 0;
const started = Date.now();
console.log(`mutation-long: ${models.length} models, ${runs} random tampers and ${runs} two-signal attacks each, seed ${seed}`);
for (const m of models) {
  const t0 = Date.now();
  const { program, check } = await witnessedBuild(m.model, m.input, { inputRange: m.inputRange });
  if (check.mismatches.length || check.violated.length) throw new Error(`${m.name}: the witness is not valid to start with`);
  const signals = classifySignals(program, check.symbols, check.r1cs);
  const target = new MutationTarget(check.r1cs, check.witness, signals);
  const tally = sweep(target, signals);
  const pick = signalArb(signals);
  for (const [s, t] of fc.sample(fc.tuple(pick, tamperArb), { seed, numRuns: runs })) tally.add(target.mutate(s, t));
  const pairs = new MutationTally();
  for (const [s, t, p] of fc.sample(fc.tuple(pick, tamperArb, fc.nat()), { seed, numRuns: runs })) pairs.add(target.compensated(s, t, p));
  pairDraws += runs;
  const t = tally.total();
  const pt = pairs.total();
  console.log(
    `${m.name.padEnd(26)} ${String(signals.length).padStart(6)} signals ${String(check.r1cs.constraints.length).padStart(6)} constraints | ` +
      `single: ${t.caught}/${t.tried} caught | pairs: ${pt.caught}/${pt.tried} caught (${runs - pt.tried} draws not solvable) | ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  for (const u of [...tally.uncaught, ...pairs.uncaught].slice(0, 5)) console.log(`   UNCAUGHT ${u.outcome}: ${u.signal.name} (${u.signal.cls}) ${describeTamper(u.tamper)}`);
  all.merge(tally);
  allPairs.merge(pairs);
}
console.log(`\nsingle-signal tampers by class (all models):\n${all.table()}`);
const p = allPairs.total();
console.log(`\ntwo-signal attacks: ${p.tried} tried (of ${pairDraws} draws), ${p.caught} caught, ${p.sameStatement} same statement, ${p.otherInput} other input, ${p.forged} forged`);
console.log(`${((Date.now() - started) / 1000).toFixed(0)} s`);
if (all.uncaught.length || allPairs.uncaught.length) process.exitCode = 1;
