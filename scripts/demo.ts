/**
 * `npm run demo`: the whole job end to end on embedded defaults. The iris classifier the project trains itself
 * (fixtures/) is compiled, set up with a development ptau (INSECURE, cached), three flowers are proven as a
 * batch in the worker pool, every proof is verified off-chain, and one is verified and recorded on an
 * in-process EVM by the model's Solidity verifier and the InferenceRegistry. Each step is timed.
 * Everything lands in demo-out/ (a rerun rebuilds it).
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile } from '../src/compiler/compile.ts';
import { setup } from '../src/setup/setup.ts';
import { proveBatch } from '../src/prove/batch.ts';
import { verify } from '../src/prove/verify.ts';
import { exportVerifier } from '../src/chain/solidity.ts';
import { deploy } from '../src/chain/deploy.ts';
import { verifyOnchain } from '../src/chain/verify-onchain.ts';
import { releaseCurve } from '../src/util/snark.ts';

const root = join(import.meta.dirname, '..');
const out = join(root, 'demo-out');
const build = join(out, 'build');
const samples = join(root, 'fixtures', 'iris-samples');
const CLASSES = ['setosa', 'versicolor', 'virginica'];

async function step<T>(title: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  process.stdout.write(`\n▶ ${title}\n`);
  const result = await fn();
  process.stdout.write(`  done in ${((performance.now() - started) / 1000).toFixed(2)} s\n`);
  return result;
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const manifest = await step('compile fixtures/models/iris.onnx (4 features → 8 ReLU → 3 classes, Softmax)', async () => {
  // Measurements in cm lie in [0, 8]; the input is hashed (the default): one public digest binds it.
  const m = await compile(join(root, 'fixtures', 'models', 'iris.onnx'), build, { inputRange: [0, 8] });
  console.log(`  ${m.constraints} constraints; public signals: ${m.publicSignals.map((s) => s.kind).join(', ')}`);
  for (const l of m.layers) console.log(`    ${l.node.padEnd(20)} ${l.op.padEnd(12)} ${String(l.constraints).padStart(6)}  ${l.detail ?? ''}`);
  return m;
});

await step('trusted setup (development ptau, cached by power)', async () => {
  const info = await setup(build);
  console.log(`  ptau power ${info.ptau.power} (${info.ptau.source})`);
  if (info.insecure) console.log('  WARNING: INSECURE development setup — anyone who knows the public seed can forge proofs. Use --ptau with a ceremony file for real use.');
});

const expected = JSON.parse(readFileSync(join(samples, 'expected.json'), 'utf8'));
const chosen = readdirSync(samples).filter((f) => /^sample-\d+\.json$/.test(f)).sort().filter((_, i) => i % 2 === 0);
const jsonl = join(out, 'inputs.jsonl');
writeFileSync(jsonl, chosen.map((f) => JSON.stringify(JSON.parse(readFileSync(join(samples, f), 'utf8')))).join('\n') + '\n');

const proofs = join(out, 'proofs');
await step(`prove ${chosen.length} flowers as a batch (worker pool)`, async () => {
  const summary = await proveBatch(build, jsonl, { out: proofs, workers: 2 });
  console.log(`  proven ${summary.proven}, failed ${summary.failed}, ${summary.workers} workers`);
  if (summary.failed) throw new Error(`demo: ${summary.failed} input(s) failed`);
});

await step('verify every proof off-chain', async () => {
  const v = await verify(build, proofs);
  v.results.forEach((r, i) => {
    const probs = r.outputs?.outputs[0].probabilities ?? [];
    const cls = r.outputs?.outputs[0].argmax ?? -1;
    const truth = (expected.samples as { file: string; trueClass: string }[]).find((s) => s.file === chosen[i]);
    console.log(`  ${r.id} (${chosen[i]}): ${r.valid ? 'valid' : 'INVALID'} — predicted ${CLASSES[cls]} (p = ${probs.map((p) => p.toFixed(3)).join(', ')}), true class ${truth?.trueClass}`);
  });
  if (!v.valid) throw new Error('demo: a proof did not verify');
});

const deployed = await step('export the Solidity verifier, deploy it and the InferenceRegistry to an in-process EVM', async () => {
  await exportVerifier(build);
  const d = await deploy(build, {});
  console.log(`  verifier ${d.verifier}, registry ${d.registry} (${d.chain.label})`);
  return d;
});

await step('verify on-chain and record the inference in the registry', async () => {
  const first = join(proofs, readdirSync(proofs).filter((f) => f.startsWith('line-')).sort()[0]);
  const r = await verifyOnchain(build, first, { chain: deployed.chain });
  console.log(`  verifyProof: ${r.valid ? 'valid' : 'INVALID'}; registry.submit gas used ${r.submit?.gasUsed ?? 'n/a'}; inference id ${r.inferenceId}`);
  if (!r.valid || !r.submit) throw new Error('demo: on-chain verification failed');
});

await deployed.chain.close();
await releaseCurve();
console.log(`\nAll artifacts are in ${out} (model id ${manifest.modelId}).`);
