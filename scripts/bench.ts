/**
 * `npm run bench`: measures every claim zkml makes on this machine, in one run, and rewrites BENCHMARKS.md
 * (with the date, the machine and the versions) plus the figures in bench/. Each model runs in its own
 * process (scripts/bench-model.ts) so its peak RSS is its own. Dev ptau files are cached in .cache/bench.
 *
 *   npm run bench [-- --quick]     (--quick: fewer proofs and images, for a smoke run)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, platform, release, loadavg } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/util/atomic.ts';
import { barChart, xyPlot } from '../src/bench/svg.ts';
import { writeMlp784 } from '../src/bench/mlp784.ts';
import { loadMnist } from '../src/data/mnist.ts';
import { DEPENDENCIES, VERSION } from '../src/version.ts';
import { table } from '../src/cli/table.ts';
import { analyze } from '../src/compiler/compile.ts';

const root = join(import.meta.dirname, '..');
const quick = process.argv.includes('--quick');
const shared = join(root, '..', 'shared');
const mnistDir = join(shared, 'datasets', 'mnist');
const benchDir = join(root, 'bench');
const cache = join(root, '.cache', 'bench');
mkdirSync(benchDir, { recursive: true });
mkdirSync(cache, { recursive: true });
const env = { ...process.env, ZKML_CACHE: cache };
const started = Date.now();
const loadAtStart = loadavg()[0];

function runJson(script: string, args: string[]): any {
  process.stderr.write(`  … ${script} ${args.map((a) => (a.length > 60 ? a.slice(0, 57) + '…' : a)).join(' ')}\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts', script), ...args], { encoding: 'utf8', env, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${script} failed (${r.status}):\n${r.stderr.slice(-3000)}`);
  // One JSON object: the whole output (pretty-printed) or its last line (after progress lines).
  const text = r.stdout.trim();
  try {
    return JSON.parse(text);
  } catch {
    return JSON.parse(text.slice(text.lastIndexOf('\n{') + 1));
  }
}
function runText(script: string, args: string[]): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts', script), ...args], { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`${script} failed:\n${r.stderr.slice(-3000)}`);
  return r.stdout.trim();
}

const s = (ms: number) => (ms / 1000).toFixed(2);
const int = (n: number | string | undefined) => (n === undefined ? '—' : Number(n).toLocaleString('en-US'));
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

const mnist = loadMnist(mnistDir, 1);
const pixels = (divide: number) => Array.from(mnist.images[0], (p) => p / divide);
const mlp784 = join(cache, 'mlp784.onnx');
if (!existsSync(mlp784)) writeMlp784(mlp784, { mnistDir, trainImages: quick ? 2000 : 8000 });

interface ModelJob { name: string; model: string; options: Record<string, unknown>; input: unknown; mnist?: { dir: string; count: number; divide: number }; proofs?: number; analysisOnly?: boolean }
const images = quick ? 100 : 1000;
const proofs = quick ? 2 : 5;
const models: ModelJob[] = [
  { name: 'iris (fixture)', model: join(root, 'fixtures/models/iris.onnx'), options: { inputRange: [0, 8] }, input: { features: [[5.1, 3.5, 1.4, 0.2]] } },
  { name: 'gemm_basic (fixture)', model: join(root, 'fixtures/models/gemm_basic.onnx'), options: {}, input: { input_data: [Array(16).fill(0.25)] } },
  { name: 'ezkl 1l_mlp', model: join(shared, 'models/ezkl-examples/1l_mlp/network.onnx'), options: { inputRange: [-4, 4] }, input: { input_data: [[1.5417295, 0.5346153, 1.2172532]] } },
  { name: 'MNIST MLP 784-56-10 (bench-trained)', model: mlp784, options: { inputRange: [0, 1] }, input: { input: [pixels(255)] }, mnist: { dir: mnistDir, count: images, divide: 255 } },
  { name: 'model-zoo MNIST MLP (pytorch.onnx)', model: join(shared, 'models/onnx-zoo-mnist/pytorch.onnx'), options: { inputRange: [0, 1] }, input: { network_input: [pixels(255)] }, mnist: { dir: mnistDir, count: images, divide: 255 } },
  // circom2 runs out of memory writing this circuit's witness code (its linear layers are emitted inline):
  // constraints from the cost model (equal to circom's r1cs count) and accuracy from the reference executor.
  { name: 'model-zoo MNIST CNN (model.onnx)', model: join(shared, 'models/onnx-zoo-mnist/model.onnx'), options: { inputRange: [0, 255] }, input: { Input3: [pixels(1)] }, mnist: { dir: mnistDir, count: images, divide: 1 }, analysisOnly: true },
];

console.error('models:');
const results: any[] = [];
for (const m of models) {
  try {
    results.push({ ...runJson('bench-model.ts', [JSON.stringify({ ...m, proofs })]), name: m.name });
  } catch (err) {
    results.push({ name: m.name, error: (err as Error).message.split('\n')[0] });
  }
}

console.error('visibility modes:');
const modes: [string, Record<string, unknown>][] = [
  ['input private, output public', { inputVisibility: 'private' }],
  ['input public, output public', { inputVisibility: 'public' }],
  ['input hashed, output public (default)', {}],
  ['input hashed, output hashed', { outputVisibility: 'hashed' }],
  ['single signal', { singleSignal: true }],
];
const visibility = modes.map(([mode, opts]) => ({
  mode,
  ...runJson('bench-model.ts', [JSON.stringify({ name: 'iris', model: join(root, 'fixtures/models/iris.onnx'), options: { inputRange: [0, 8], ...opts }, input: { features: [[5.1, 3.5, 1.4, 0.2]] }, proofs })]),
}));

console.error('baseline (circomlib-ml style):');
const baselines = [
  { name: 'MNIST MLP 784-56-10 (bench-trained)', zkml: results[3], b: runJson('bench-baseline.ts', [JSON.stringify({ model: mlp784, input: pixels(255), prove: !quick })]) },
  { name: 'model-zoo MNIST CNN (model.onnx)', zkml: results[5], b: (() => { try { return runJson('bench-baseline.ts', [JSON.stringify({ model: join(shared, 'models/onnx-zoo-mnist/model.onnx'), input: pixels(1), prove: false, predictOnly: true })]); } catch (e) { return { error: (e as Error).message.split('\n')[0] }; } })() },
];

// Like for like with the baseline's statement (private, unchecked inputs, no commitment): zkml's count from
// the gadgets' cost model (which equals circom's, see the tests), without compiling.
const likeForLike = (model: string, inputRange: [number, number]) => {
  try {
    const { lowered } = analyze(model, { inputRange, checkInputs: false, inputVisibility: 'private' });
    return [...lowered.program.costByNode().values()].reduce((a, b) => a + b, 0);
  } catch {
    return undefined;
  }
};
const unchecked = [likeForLike(mlp784, [0, 1]), likeForLike(join(shared, 'models/onnx-zoo-mnist/model.onnx'), [0, 255])];

console.error('proving throughput:');
const iris = join(cache, 'iris-build');
const proveBench = (() => {
  try {
    spawnSync(process.execPath, [join(root, 'bin/zkml.js'), 'compile', join(root, 'fixtures/models/iris.onnx'), '-o', iris, '--input-range', '0,8', '--json'], { env });
    spawnSync(process.execPath, [join(root, 'bin/zkml.js'), 'setup', iris, '--json'], { env });
    return runJson('bench-prove.ts', [iris, '--n', String(quick ? 4 : 16)]);
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0] };
  }
})();

console.error('gas by public signals:');
const gas = (() => { try { return runJson('bench-gas.ts', quick ? ['1', '3'] : []); } catch (e) { return { error: (e as Error).message.split('\n')[0] }; } })();
console.error('dev ptau:');
const ptau = (() => { try { return runText('bench-ptau.ts', ['10', quick ? '12' : '16']); } catch (e) { return (e as Error).message.split('\n')[0]; } })();

// ---- figures
const cnnLayers = (results[5]?.layers ?? []).filter((l: any) => l.constraints > 0);
const mlpLayers = (results[3]?.layers ?? []).filter((l: any) => l.op !== 'Softmax');
const blLayers = baselines[0].b.perLayer ?? [];
writeFileAtomic(join(benchDir, 'constraints-per-layer.svg'), barChart({
  title: 'Constraints per layer: zkml vs the circomlib-ml encoding (MNIST MLP 784-56-10)',
  categories: blLayers.map((l: any) => `${l.kind} (${l.node})`),
  series: [
    { name: 'circomlib-ml style', values: blLayers.map((l: any) => l.constraints) },
    { name: 'zkml', values: blLayers.map((l: any) => (l.kind === 'ReLU' ? mlpLayers.find((z: any) => z.op === 'Relu')?.constraints ?? 0 : 0)) },
  ],
  valueLabel: 'constraints (log scale)',
  log: true,
}));
const proved = results.filter((r) => r.zkmlProveMs);
writeFileAtomic(join(benchDir, 'prove-time.svg'), xyPlot({
  title: 'Prove time against constraints (median, this machine)',
  xLabel: 'constraints',
  yLabel: 'prove time (s)',
  logX: true,
  series: [
    { name: 'zkml', points: proved.map((r) => ({ x: r.constraints, y: r.zkmlProveMs / 1000, label: r.name.split(' (')[0] })), line: false },
    ...(baselines[0].b.proveMs ? [{ name: 'circomlib-ml style', points: [{ x: baselines[0].b.constraints, y: baselines[0].b.proveMs / 1000, label: 'MLP 784-56-10' }] }] : []),
  ],
}));

// ---- report
const cpu = cpus();
const lines: string[] = [];
const w = (x = '') => lines.push(x);
w('# Benchmarks');
w();
w(`Written by \`npm run bench${quick ? ' -- --quick' : ''}\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC in ${((Date.now() - started) / 60000).toFixed(1)} min.`);
w(`Machine: ${cpu.length} × ${cpu[0]?.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${platform()} ${release()}, Node ${process.versions.node}.`);
w(`zkml ${VERSION}; ${['snarkjs', 'circom2', 'circomlib', 'onnxruntime-node', 'solc', 'hardhat'].map((p) => `${p} ${DEPENDENCIES[p]}`).join(', ')}.`);
w(`Load average (1 min) at the start ${loadAtStart.toFixed(1)}, at the end ${loadavg()[0].toFixed(1)}: times on a busy machine are stretched, counts and gas are not.`);
w('Dev ptau files come from the cache (.cache/bench) when present: setup times then exclude ptau generation (see the dev ptau table).');
w();
w('## Models end to end');
w();
w(table(['model', 'constraints', 'public', 'compile s', 'setup s', 'witness ms', 'prove ms (zkml)', 'prove ms (bare snarkjs)', 'verify ms', 'verifyProof gas', 'submit gas', 'peak RSS MB'],
  results.map((r) => r.error ? [r.name, 'failed (below)', '', '', '', '', '', '', '', '', '', ''] : r.analysisOnly ? [r.name, int(r.constraints), '', 'no circuit (see below)', '', '', '', '', '', '', '', r.maxRssMB] : [r.name, int(r.constraints), r.publicSignals, s(r.compileMs), s(r.setupMs), r.witnessMs.toFixed(0), r.zkmlProveMs.toFixed(0), r.bareProveMs.toFixed(0), r.verifyMs.toFixed(0), int(r.gas?.verifyProof), int(r.gas?.submit), r.maxRssMB])));
w();
for (const r of results.filter((x) => x.error)) w(`\n${r.name} failed: ${r.error}`);
for (const r of results.filter((x) => x.analysisOnly)) w(`\n${r.name}: analysed, not compiled: circom2 (WebAssembly) runs out of memory writing the witness code of its inline linear layers. Its constraint count is the gadgets' cost model, which equals circom's r1cs count (circom writes the r1cs before failing: 202,053 measured with private, range-checked input); accuracy is from the exact reference executor.`);
w();
w(`Prove times are medians of ${proofs}. "zkml" is \`prove()\` end to end (input encoding, hash checks of the artifacts, witness, proof, three result files written atomically); "bare snarkjs" is \`groth16.prove\` alone on the same zkey and a precomputed witness. Default visibility (input hashed, output public); inputs range-checked.`);
w();
w('## Accuracy against onnxruntime (MNIST test images)');
w();
w(table(['model', 'images', 'top-1 agreement', 'max abs error', 'label accuracy (float)', 'label accuracy (circuit)'],
  results.filter((r) => r.accuracy).map((r) => [r.name, r.accuracy.images, pct(r.accuracy.agreement), r.accuracy.maxAbsError.toFixed(4), pct(r.accuracy.labelAccuracyFloat), pct(r.accuracy.labelAccuracyQuantized)])));
w();
w('Default quantization (scale 8, 9-bit weights). The circuit value is the exact integer execution (the witness equals it: see the tests).');
w();
w('## Against the circomlib-ml encoding');
w();
const ratio = (a: number | undefined, b: number | undefined) => (a && b ? `${(a / b).toFixed(1)}×` : '—');
w(table(['model', 'circomlib-ml constraints', 'zkml, same statement (private unchecked input)', 'ratio', 'zkml defaults (checked + hashed input)', 'ratio', 'circomlib-ml prove ms', 'zkml prove ms', 'ratio'],
  baselines.map(({ name, zkml, b }, i) => {
    const base = b.constraints ?? b.predicted;
    return [name, b.constraints ? int(b.constraints) : b.predicted ? `${int(b.predicted)} (predicted)` : `error: ${b.error}`, int(unchecked[i]), ratio(base, unchecked[i]), int(zkml?.constraints), ratio(base, zkml?.constraints), b.proveMs?.toFixed(0) ?? '—', zkml?.zkmlProveMs?.toFixed(0) ?? '—', ratio(b.proveMs, zkml?.zkmlProveMs)];
  })));
w();
w('The baseline is generated by the bench (src/bench/baseline.ts) the way keras2circom + circomlib-ml encode a model: weights as private inputs (a constraint per multiplication), a 254-bit decomposition per ReLU, division remainders unconstrained. zkml counts include its input range checks and the Poseidon input commitment, which the baseline does not have.');
w();
w('![constraints per layer](bench/constraints-per-layer.svg)');
w();
w('## Visibility modes (iris classifier)');
w();
w(table(['mode', 'constraints', 'public signals', 'prove ms', 'verifyProof gas', 'submit gas'], visibility.map((v) => [v.mode, int(v.constraints), v.publicSignals, v.zkmlProveMs.toFixed(0), int(v.gas?.verifyProof), int(v.gas?.submit)])));
w();
w('## Proving throughput (iris build)');
w();
if (proveBench.error) w(`failed: ${proveBench.error}`);
else {
  w(`In-process \`prove()\`: cold ${int(proveBench.inProcess.coldProveMs)} ms (loads zkey, witness calculator, curve), then a median of ${proveBench.inProcess.proveMedianMs} ms per proof. The bare snarkjs CLI (\`snarkjs groth16 fullprove\`, one process per input): a median of ${int(proveBench.snarkjsCliFullproveMs.median)} ms per input (${(proveBench.snarkjsCliFullproveMs.median / proveBench.inProcess.proveMedianMs).toFixed(1)}× slower).`);
  w();
  w(table(['workers', 'snarkjs threads', 'inputs', 'batch s', 'proofs/s (whole batch)', 'proofs/s (after the first)'], proveBench.batches.map((b: any) => [b.workers, b.threads, b.inputs, s(b.elapsedMs), b.proofsPerSec, b.steadyProofsPerSec])));
  w();
  w(`Batch figures include pool start-up (workers load tsx, the zkey and the witness calculator). ${proveBench.cores} cores: a second worker competes for the same cores.`);
}
w();
w('![prove time against constraints](bench/prove-time.svg)');
w();
w('## Gas by number of public signals');
w();
if (gas.error) w(`failed: ${gas.error}`);
else {
  w(`${gas.chain}; solc ${gas.solc}, evmVersion ${gas.evmVersion}. Receipt gas of a \`verifyProof\` transaction and of \`InferenceRegistry.submit\` (verify + record + event); the registry costs ${int(gas.registryDeployGas)} to deploy.`);
  w();
  w(table(['public signals', 'verifyProof gas', 'submit gas', 'submit gas limit sent', 'verifier deploy gas'], gas.rows.map((r: any) => [r.publicSignals, int(r.verifyProofGas), int(r.submitGas), int(r.submitGasLimit), int(r.deployVerifierGas)])));
}
w();
w('## Development ptau generation');
w();
w('```');
w(ptau);
w('```');
writeFileAtomic(join(root, 'BENCHMARKS.md'), lines.join('\n') + '\n');
console.error(`wrote BENCHMARKS.md in ${((Date.now() - started) / 60000).toFixed(1)} min`);
