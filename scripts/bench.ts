/**
 * `npm run bench`: measures every claim zkml makes on this machine, in one run, and rewrites BENCHMARKS.md
 * (with the date, the machine and the versions) plus the figures in bench/. Each model runs in its own
 * process (scripts/bench-model.ts) so its peak RSS is its own. Dev ptau files are cached in .cache/bench.
 *
 *   npm run bench [-- --quick]     (--quick: fewer proofs and images, for a smoke run)
 *
 * A section that fails (a script exits non-zero, a figure cannot be drawn) is reported in BENCHMARKS.md with
 * its error, and the rest of the run goes on.
 */
import { backendDescription } from '../src/prove/backend.ts';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { cpus, totalmem, platform, release, loadavg } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/util/atomic.ts';
import { barChart, xyPlot } from '../dev/bench/svg.ts';
import { writeMlp784 } from '../dev/bench/mlp784.ts';
import { loadMnist } from '../dev/data/mnist.ts';
import { DEPENDENCIES, VERSION } from '../src/version.ts';
import { analyze } from '../src/compiler/compile.ts';
import { DEMOS, type Demo } from './bench-demos.ts';
import { serveMarkdown } from './bench-serve.ts';

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

/** A section that failed: its error, plus whatever the caller attached (a model's name, a mode). */
interface Failed {
  error: string;
  [key: string]: any;
}
const failed = (x: unknown): x is Failed => typeof x === 'object' && x !== null && 'error' in x;

/** Runs one section; a failure becomes `{ error }` (logged in full here, one line in BENCHMARKS.md). */
function attempt<T>(what: string, fn: () => T): T | Failed {
  try {
    return fn();
  } catch (err) {
    const message = (err as Error).message;
    process.stderr.write(`  ✗ ${what}: ${message}\n`);
    return { error: message.split('\n')[0] };
  }
}

/** The line of a failed script's stderr that says what went wrong (the last error line, else the last line). */
function reason(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  return [...lines].reverse().find((l) => /error|failed|cannot|refus/i.test(l) && !l.startsWith('at ')) ?? lines.at(-1) ?? 'no output';
}

function runScript(script: string, args: string[]) {
  process.stderr.write(`  … ${script} ${args.map((a) => (a.length > 60 ? a.slice(0, 57) + '…' : a)).join(' ')}\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts', script), ...args], { encoding: 'utf8', env, maxBuffer: 1 << 28 });
  if (r.status !== 0) {
    process.stderr.write(r.stderr.slice(-3000));
    throw new Error(`${script} exited with ${r.status ?? r.signal}: ${reason(r.stderr)}`);
  }
  return r.stdout.trim();
}
function runJson(script: string, args: string[]): any {
  // One JSON object: the whole output (pretty-printed) or its last line (after progress lines).
  const text = runScript(script, args);
  try {
    return JSON.parse(text);
  } catch {
    return JSON.parse(text.slice(text.lastIndexOf('\n{') + 1));
  }
}

const s = (ms: number) => (ms / 1000).toFixed(2);
const int = (n: number | string | undefined) => (n === undefined ? '—' : Number(n).toLocaleString('en-US'));
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
/** A small share, with two significant digits however small: 0.00024 → "0.024%". */
const share = (x: number) => `${Number((100 * x).toPrecision(2))}%`;
const ratio = (a: number | undefined, b: number | undefined) => (a && b ? `${(a / b).toFixed(1)}×` : '—');

/** A GitHub Markdown table; columns of figures ("1,234", "0.5", "12.3×", "—") are right-aligned. */
function md(headers: string[], rows: (string | number)[][]): string {
  const figure = (v: string | number) => typeof v === 'number' || /^(-?[\d,]+(\.\d+)?[×%]?|—|)$/.test(v);
  const numeric = headers.map((_, c) => rows.some((r) => r[c] !== '') && rows.every((r) => figure(r[c])));
  const cell = (v: string | number) => String(v).replace(/\|/g, '\\|');
  return [
    `| ${headers.join(' | ')} |`,
    `|${numeric.map((n) => (n ? ' ---: ' : ' --- ')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

// ---- measurements

const MLP784 = 'MNIST MLP 784-56-10 (bench-trained)';
const CNN = 'model-zoo MNIST CNN (model.onnx)';
const cnnModel = join(shared, 'models/onnx-zoo-mnist/model.onnx');
const images = quick ? 100 : 1000;
const proofs = quick ? 2 : 5;
// A CNN proof takes tens of seconds here and each count costs two proofs (bare snarkjs and zkml): fewer of them.
const cnnProofs = quick ? 1 : 3;

const firstImage = attempt('MNIST test set', () => Array.from(loadMnist(mnistDir, 1).images[0]));
const pixels = (divide: number) => (failed(firstImage) ? [] : firstImage.map((p) => p / divide));
const mlp784 = join(cache, 'mlp784.onnx');
const mlp784Made = attempt('MLP 784-56-10 training', () => existsSync(mlp784) || writeMlp784(mlp784, { mnistDir, trainImages: quick ? 2000 : 8000 }));

interface ModelJob { name: string; model: string; options: Record<string, unknown>; input: unknown; mnist?: { dir: string; count: number; divide: number }; proofs?: number }
const models: ModelJob[] = [
  { name: 'iris (fixture)', model: join(root, 'fixtures/models/iris.onnx'), options: { inputRange: [0, 8] }, input: { features: [[5.1, 3.5, 1.4, 0.2]] } },
  { name: 'gemm_basic (fixture)', model: join(root, 'fixtures/models/gemm_basic.onnx'), options: {}, input: { input_data: [Array(16).fill(0.25)] } },
  { name: 'ezkl 1l_mlp', model: join(shared, 'models/ezkl-examples/1l_mlp/network.onnx'), options: { inputRange: [-4, 4] }, input: { input_data: [[1.5417295, 0.5346153, 1.2172532]] } },
  { name: MLP784, model: mlp784, options: { inputRange: [0, 1] }, input: { input: [pixels(255)] }, mnist: { dir: mnistDir, count: images, divide: 255 } },
  { name: 'model-zoo MNIST MLP (pytorch.onnx)', model: join(shared, 'models/onnx-zoo-mnist/pytorch.onnx'), options: { inputRange: [0, 1] }, input: { network_input: [pixels(255)] }, mnist: { dir: mnistDir, count: images, divide: 255 } },
  { name: CNN, model: cnnModel, options: { inputRange: [0, 255] }, input: { Input3: pixels(1) }, mnist: { dir: mnistDir, count: images, divide: 1 }, proofs: cnnProofs },
];

console.error('models:');
const results: any[] = models.map((m) => {
  if (m.mnist && failed(firstImage)) return { name: m.name, error: `MNIST test set: ${firstImage.error}` };
  if (m.model === mlp784 && failed(mlp784Made)) return { name: m.name, error: `training: ${mlp784Made.error}` };
  const r = attempt(m.name, () => runJson('bench-model.ts', [JSON.stringify({ proofs, ...m })]));
  return { ...r, name: m.name };
});
const byName = (name: string) => results.find((r) => r.name === name && !failed(r));

console.error('visibility modes:');
const modes: [string, Record<string, unknown>][] = [
  ['input private, output public', { inputVisibility: 'private' }],
  ['input public, output public', { inputVisibility: 'public' }],
  ['input hashed, output public (default)', {}],
  ['input hashed, output hashed', { outputVisibility: 'hashed' }],
  ['single signal', { singleSignal: true }],
  ['weights hashed (model id proven in-circuit)', { paramVisibility: 'hashed' }],
  ['weights hashed, single signal', { paramVisibility: 'hashed', singleSignal: true }],
  ['weights private (unbound)', { paramVisibility: 'private' }],
];
const visibility = modes.map(([mode, opts]) => ({
  mode,
  ...attempt(`visibility ${mode}`, () => runJson('bench-model.ts', [JSON.stringify({ name: 'iris', model: join(root, 'fixtures/models/iris.onnx'), options: { inputRange: [0, 8], ...opts }, input: { features: [[5.1, 3.5, 1.4, 0.2]] }, proofs })])),
}));

console.error('baseline (circomlib-ml style):');
const baselines = [
  { name: MLP784, zkml: byName(MLP784), b: failed(mlp784Made) ? mlp784Made : attempt('baseline MLP', () => runJson('bench-baseline.ts', [JSON.stringify({ model: mlp784, input: pixels(255), prove: !quick, proofs })])) },
  { name: CNN, zkml: byName(CNN), b: attempt('baseline CNN', () => runJson('bench-baseline.ts', [JSON.stringify({ model: cnnModel, input: pixels(1), prove: false, predictOnly: true })])) },
];

// Like for like with the baseline's statement (private, unchecked inputs, no commitment): zkml's count from
// the gadgets' cost model (which equals circom's, see the tests), without compiling.
const likeForLike = (model: string, inputRange: [number, number]) =>
  attempt(`like-for-like count of ${model}`, () => {
    const { lowered } = analyze(model, { inputRange, checkInputs: false, inputVisibility: 'private' });
    return [...lowered.program.costByNode().values()].reduce((a, b) => a + b, 0);
  });
const unchecked = [likeForLike(mlp784, [0, 1]), likeForLike(cnnModel, [0, 255])].map((u) => (failed(u) ? undefined : u));

console.error('proving throughput:');
const iris = join(cache, 'iris-build');
const proveBench = attempt('proving throughput', () => {
  for (const args of [['compile', join(root, 'fixtures/models/iris.onnx'), '-o', iris, '--input-range', '0,8'], ['setup', iris]]) {
    const r = spawnSync(process.execPath, [join(root, 'bin/zkml.js'), ...args, '--json'], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`zkml ${args[0]} failed: ${reason(r.stderr)}`);
  }
  return runJson('bench-prove.ts', [iris, '--n', String(quick ? 4 : 16)]);
});

console.error('proving fleet:');
console.error('single signal recomputed on chain (Poseidon contracts):');
const poseidonGas = attempt('poseidon', () => runJson('bench-poseidon.ts', []));
const fleet = attempt('fleet', () => runJson('bench-fleet.ts', ['--inputs', String(quick ? 12 : 24)]));
console.error('zkml serve:');
const serveBench = attempt('serve', () => runJson('bench-serve.ts', ['--json', ...(quick ? ['--quick', '--concurrent', '50'] : []), ...(failed(mlp784Made) ? [] : ['--mnist', mlp784])]));

console.error('gas by public signals:');
const gas = attempt('gas', () => runJson('bench-gas.ts', quick ? ['1', '3'] : []));
console.error('dev ptau:');
const ptau = attempt('dev ptau', () => runScript('bench-ptau.ts', ['10', quick ? '12' : '16']));
console.error('start-up and shut-down:');
const startup = attempt('start-up', () => runJson('bench-startup.ts', ['--runs', quick ? '5' : '15']));
const scale = attempt('scale', () => runJson('bench-scale.ts', quick ? ['784-256-10,784-1024-256-10'] : ['--prove']));
console.error('op families (demonstration models):');
const demoPath = (d: Demo) => join(cache, `demo-${d.name.replace(/\W+/g, '-')}.onnx`);
const demos = DEMOS.map((d) => {
  const written = attempt(`write ${d.name}`, () => d.write(demoPath(d)));
  if (failed(written)) return { demo: d, agreement: written, proof: written };
  const agreement = attempt(`${d.name}: agreement`, () => runJson('bench-families.ts', [d.name, demoPath(d), '--n', String(quick ? 10 : 100)]));
  const proof = attempt(`${d.name}: proof`, () => runJson('bench-model.ts', [JSON.stringify({ name: d.name, model: demoPath(d), options: d.options, input: d.input(0), proofs, skipChain: true })]));
  return { demo: d, agreement, proof };
});

console.error('op families (single-op models):');
const opFamilies = attempt('op families', () => runJson('bench-ops.ts', quick ? ['--trials', '2'] : []));
console.error('third-party models (../shared/models):');
const zoo = attempt('third-party models', () => runJson('bench-zoo.ts', quick ? ['--only', '1l_'] : []));
console.error('transcendental encodings:');
const transcendental = attempt('transcendental encodings', () => runJson('bench-transcendental.ts', ['--grid', quick ? '512' : '2048']));

console.error('native prover:');
const native = attempt('native prover', () => runScript('bench-native.ts', quick ? ['--from', '10', '--to', '12', '--runs', '1'] : ['--from', '10', '--to', '18']));

// ---- figures

const figures = {
  mlp: attempt('figure: constraints per layer', () => {
    const b = baselines[0].b;
    if (failed(b)) throw new Error(`no baseline (${b.error})`);
    const zkmlLayers: any[] = byName(MLP784)?.layers ?? [];
    writeFileAtomic(join(benchDir, 'constraints-per-layer.svg'), barChart({
      title: `Constraints per layer: zkml vs the circomlib-ml encoding (${MLP784.split(' (')[0]})`,
      categories: b.perLayer.map((l: any) => `${l.kind} (${l.node})`),
      series: [
        { name: 'circomlib-ml style', values: b.perLayer.map((l: any) => l.constraints) },
        { name: 'zkml', values: b.perLayer.map((l: any) => (l.kind === 'ReLU' ? zkmlLayers.find((z) => z.op === 'Relu')?.constraints ?? 0 : 0)) },
      ],
      valueLabel: 'constraints (log scale)',
      log: true,
    }));
  }),
  cnn: attempt('figure: CNN constraints per layer', () => {
    const b = baselines[1].b;
    const cnn = byName(CNN);
    if (!cnn) throw new Error('the CNN was not built');
    if (failed(b)) throw new Error(`no baseline (${b.error})`);
    // Both sides name layers by their ONNX node; zkml's own extra costs (input range check, commitment) have none.
    const zkmlCost = new Map<string, number>(cnn.layers.map((l: any) => [l.node, l.constraints]));
    const extras = cnn.layers.filter((l: any) => l.op === 'RangeCheck' || l.op === 'Commitment');
    writeFileAtomic(join(benchDir, 'cnn-constraints-per-layer.svg'), barChart({
      title: 'MNIST CNN: constraints per layer, zkml vs circomlib-ml style (predicted)',
      categories: [...b.perLayer.map((l: any) => `${l.kind} (${l.node})`), ...extras.map((l: any) => l.node)],
      series: [
        { name: 'circomlib-ml style', values: [...b.perLayer.map((l: any) => l.constraints), ...extras.map(() => 0)] },
        { name: 'zkml', values: [...b.perLayer.map((l: any) => zkmlCost.get(l.node) ?? 0), ...extras.map((l: any) => l.constraints)] },
      ],
      valueLabel: 'constraints (log scale)',
      log: true,
    }));
  }),
  prove: attempt('figure: prove time', () => {
    // groth16.prove alone on both sides (the baseline has no zkml prove() around it).
    const proved = results.filter((r) => r.bareProveMs);
    const b = baselines[0].b;
    writeFileAtomic(join(benchDir, 'prove-time.svg'), xyPlot({
      title: 'Proof time (groth16.prove, median) against constraints, this machine',
      xLabel: 'constraints',
      yLabel: 'groth16.prove (s)',
      logX: true,
      series: [
        { name: 'zkml', points: proved.map((r) => ({ x: r.constraints, y: r.bareProveMs / 1000, label: r.name.split(' (')[0] })), line: false },
        ...(!failed(b) && b.proveMs ? [{ name: 'circomlib-ml style', points: [{ x: b.constraints, y: b.proveMs / 1000, label: 'MLP 784-56-10' }] }] : []),
      ],
    }));
  }),
};

// ---- report

const cpu = cpus();
const lines: string[] = [];
const w = (x = '') => lines.push(x);
/** A section of the report: its heading, then its body, or the error that stopped it from being written. */
function section(title: string, body: () => void) {
  w(`## ${title}`);
  w();
  const at = lines.length;
  try {
    body();
  } catch (err) {
    lines.length = at;
    w(`This section could not be written: ${(err as Error).message.split('\n')[0]}`);
    process.stderr.write(`  ✗ section ${title}: ${(err as Error).stack}\n`);
  }
  w();
}
const failure = (what: string, x: Failed) => w(`**${what} failed:** ${x.error}`);

w('# Benchmarks');
w();
w(`Written by \`npm run bench${quick ? ' -- --quick' : ''}\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC in ${((Date.now() - started) / 60000).toFixed(1)} min.`);
w(`Machine: ${cpu.length} × ${cpu[0]?.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${platform()} ${release()}, Node ${process.versions.node}.`);
w(`zkml ${VERSION}; ${['snarkjs', 'circom2', 'circomlib', 'onnxruntime-node', 'solc', 'hardhat'].map((p) => `${p} ${DEPENDENCIES[p]}`).join(', ')}.`);
w(`Load average (1 min) at the start ${loadAtStart.toFixed(1)}, at the end ${loadavg()[0].toFixed(1)}: times on a busy machine are stretched, counts and gas are not.`);
w('Setup is the development one from known secrets (src/setup/dev-zkey.ts), which reads no ptau; dev ptau files (cached in .cache/bench) serve the native prover’s snarkjs zkeys and the dev ptau table.');
const failures = [...results.filter(failed).map((r) => r.name), ...visibility.filter(failed).map((v) => `visibility: ${v.mode}`), ...baselines.filter((b) => failed(b.b)).map((b) => `baseline: ${b.name}`), ...Object.entries({ 'proving throughput': proveBench, fleet, 'zkml serve': serveBench, gas, 'poseidon contracts': poseidonGas, 'dev ptau': ptau, 'start-up and shut-down': startup, 'third-party models': zoo, 'op families': opFamilies }).filter(([, x]) => failed(x)).map(([k]) => k), ...Object.entries(figures).filter(([, x]) => failed(x)).map(([k]) => `figure: ${k}`), ...demos.filter((d) => failed(d.agreement) || failed(d.proof)).map((d) => `demo: ${d.demo.name}`), ...(failed(zoo) ? [] : (zoo.models as any[]).filter((r) => r.error || !r.valid).map((r) => `third-party model ${r.name}`))];
if (failures.length) w(`\n**Some measurements failed** (each is reported in its section): ${failures.join('; ')}.`);
w();

section('Models end to end', () => {
  w(md(['model', 'constraints', 'public', 'compile s', 'setup s', 'witness ms', 'proofs', 'prove ms (zkml)', 'prove ms (bare snarkjs)', 'verify ms', 'verifyProof gas', 'submit gas', 'peak RSS MB', 'compile peak RSS MB'],
    results.map((r) => failed(r)
      ? [r.name, 'failed (below)', '', '', '', '', '', '', '', '', '', '', '', '']
      : [r.name, int(r.constraints), r.publicSignals, s(r.compileMs), s(r.setupMs), int(Math.round(r.witnessMs)), r.proofs, int(Math.round(r.zkmlProveMs)), int(Math.round(r.bareProveMs)), int(Math.round(r.verifyMs)), int(r.gas?.verifyProof), int(r.gas?.submit), int(r.maxRssMB), int(r.compileRssMB)])));
  for (const r of results.filter(failed)) w(`\n**${r.name} failed:** ${r.error}`);
  w();
  const counts = [...new Set(results.filter((r) => !failed(r)).map((r) => r.proofs))].sort((a, b) => b - a);
  w(`Prove times are medians of the "proofs" column: ${proofs} per model${counts.some((c) => c !== proofs) ? `, fewer for the CNN (${cnnProofs}) because each of its proofs takes tens of seconds here and every count costs two proofs` : ''}. "zkml" is \`prove()\` end to end (input encoding, hash checks of the artifacts, witness, proof, three result files written atomically) with the default prover, ${backendDescription()}; "bare snarkjs" is \`groth16.prove\` alone on the same zkey and a precomputed witness, after one warm-up proof. Default visibility (input hashed, output public); inputs range-checked.`);
  w();
  w('"peak RSS" is the model\'s bench process (compile, setup, proving, verification, the chain); "compile peak RSS" is the process at the end of the compile, its first step (zkml writes the r1cs, sym and witness program itself; circom2 is not run).');
});

section('Op families: demonstration models', () => {
  w(md(['family', 'model', 'shape', 'constraints', 'inputs compared', 'label agreement', 'max abs error', 'compile s', 'setup s', 'prove ms (zkml)', 'verify ms'],
    demos.map(({ demo: d, agreement: a, proof: p }) => [
      d.family, d.name, d.shape,
      failed(p) ? (failed(a) ? '—' : int(a.constraints)) : int(p.constraints),
      failed(a) ? 'failed' : a.inputs, failed(a) ? '—' : a.labelAgreement === undefined ? '—' : pct(a.labelAgreement), failed(a) ? '—' : a.maxAbsError.toExponential(2),
      failed(p) ? 'failed' : s(p.compileMs), failed(p) ? '—' : s(p.setupMs), failed(p) ? '—' : int(Math.round(p.zkmlProveMs)), failed(p) ? '—' : int(Math.round(p.verifyMs)),
    ])));
  for (const { demo: d, agreement: a, proof: p } of demos) {
    if (failed(a)) w(`\n**${d.name}: agreement failed:** ${a.error}`);
    if (failed(p)) w(`\n**${d.name}: proof failed:** ${p.error}`);
  }
  w();
  w('Each model is written by a seeded generator (scripts/bench-demos.ts, fixtures/); "inputs compared" seeded inputs run through onnxruntime and the integer reference executor (what the circuit proves); "label agreement" is the share of equal labels, or for the decoder of equal next-token argmaxes at every position; "max abs error" is over every other output value (probabilities after the derived final op). Compile options as in bench-demos.ts (tree ensembles: input scale 16, so a split flips only for inputs within 2^-17 of its threshold).');
});

section('Op families: constraints per element and error against the float op', () => {
  if (failed(opFamilies)) throw new Error(opFamilies.error);
  const cell = (r: any, k: string, f: (v: any) => string) => (r.error ? '—' : f(r[k]));
  w(md(['family', 'op', 'input range', 'per', 'constraints (scale 8)', 'max abs error (8)', 'max rel error (8)', 'constraints (scale 16)', 'max abs error (16)', 'max rel error (16)'],
    (opFamilies.ops as any[]).map((r) => [r.family, r.op, r.inputRange.join(', '), r.error ? 'failed (below)' : r.per,
      cell(r, 's8', (v) => String(Number(v.constraintsPerElement.toFixed(1)))), cell(r, 's8', (v) => v.maxAbsError.toExponential(2)), cell(r, 's8', (v) => v.maxRelError.toExponential(2)),
      cell(r, 's16', (v) => String(Number(v.constraintsPerElement.toFixed(1)))), cell(r, 's16', (v) => v.maxAbsError.toExponential(2)), cell(r, 's16', (v) => v.maxRelError.toExponential(2))])));
  for (const r of (opFamilies.ops as any[]).filter((r) => r.error)) w(`\n**${r.op} failed:** ${r.error}`);
  w();
  w(`One-op models over a [1, ${opFamilies.elementsPerCase}] tensor (scripts/bench-ops.ts), at \`--scale 8\` (the default) and \`--scale 16\`. Constraints are the op's own nodes from the gadgets' cost model (equal to the compiled count), per output element (per input element for a reduction), without the input range checks. Errors are the largest |zkml − onnxruntime| over ${opFamilies.trials} seeded inputs on the input grid (so the input's own rounding is not counted), relative error dividing by max(1, |onnxruntime|); constants (LeakyRelu's α, LayerNorm's γ and β, the embedding table) are quantized to \`--weight-bits\`, which bounds the error at scale 16 for those ops. Each op's stated bound is in its source file's header.`);
});

section('Third-party models: every model in ../shared/models compiles, proves and verifies', () => {
  if (failed(zoo)) throw new Error(zoo.error);
  const rows: any[] = zoo.models;
  const rel = (r: any) => (r.maxAbsOrt ? r.maxAbsErrorOrt / Math.max(1, r.maxAbsOrt) : r.maxAbsErrorOrt);
  w(md(['model', 'input range', 'constraints', 'compile s', 'setup s', 'prove ms', 'verified', 'max abs error vs onnxruntime', 'relative to max(1, max |output|)', 'argmax agrees', 'max abs error vs shipped output'],
    rows.map((r) => r.error
      ? [r.name, r.inputRange ? r.inputRange.join(', ') : '—', 'failed (below)', '', '', '', '', '', '', '', '']
      : [r.name, r.inputRange.join(', '), int(r.constraints), s(r.compileMs), s(r.setupMs), int(Math.round(r.proveMs)), r.valid ? 'yes' : 'NO', r.maxAbsErrorOrt.toExponential(2), rel(r).toExponential(2), r.argmaxAgrees === undefined ? '—' : r.argmaxAgrees ? 'yes' : 'no', r.maxAbsErrorShipped === undefined ? '—' : r.maxAbsErrorShipped.toExponential(2)])));
  for (const r of rows.filter((r) => r.error)) w(`\n**${r.name} failed:** ${r.error}`);
  const ok = rows.filter((r) => !r.error && r.valid);
  w();
  w(`${ok.length} of ${rows.length} models compiled, proved and verified${quick ? ' (quick run: only the 1l_ examples)' : ''}. Found by listing the corpus folders (scripts/bench-zoo.ts), default options except \`--input-range\`, read off each model's shipped input: the smallest power-of-two span holding it (from 0 when it is non-negative). One proof each with the default prover and the development setup; "max abs error" compares the proven output (probabilities for a model ending in Softmax) with onnxruntime on the same input and with the output shipped beside the model (EZKL's output_data, the zoo's output_0.pb).`);
});

section('Transcendental encodings', () => {
  if (failed(transcendental)) return failure('The transcendental bench', transcendental);
  const sci = (x: number) => x.toExponential(1);
  w(md(['op', 'input interval', 'scale', 'encoding', 'constraints per element', 'max abs error'],
    transcendental.rows.map((r: any) => [r.op, `[${r.range.join(', ')}]`, r.scale, r.encoding, r.error ? '—' : int(r.constraintsPerElement), r.error ? `refused: ${r.error.replace(/^bench: /, '').slice(0, 90)}` : sci(r.maxAbsError)])));
  w();
  w(`\`npx tsx scripts/bench-transcendental.ts\`: each encoding lowered for elements spanning the input interval (at exponent = scale), its cost per element from the gadgets' cost model, its max abs error against the float op over ${int(transcendental.grid + 1)} evenly spaced inputs of the interval through the integer reference executor. "in use" is the op as a compile lowers it: Sigmoid, Tanh, Exp, Log and Erf the cheapest piecewise polynomial of order 2 to 4 (src/ops/secant-table.ts; Exp\'s error target is relative where e^x > 1), Sqrt a proven integer root and Reciprocal a proven rounded division (src/ops/arith.ts). The table approaches are one-hot tables: the tangent table Sigmoid/Tanh used before, the chord (order 1) and parabola (order 2) tables of secant-table.ts; a table that would exceed the per-node limits is refused, as a compile would.`);
});

section('Accuracy against onnxruntime (MNIST test images)', () => {
  w(md(['model', 'images', 'top-1 agreement', 'max abs error', 'label accuracy (float)', 'label accuracy (circuit)'],
    results.filter((r) => r.accuracy).map((r) => [r.name, r.accuracy.images, pct(r.accuracy.agreement), r.accuracy.maxAbsError.toFixed(4), pct(r.accuracy.labelAccuracyFloat), pct(r.accuracy.labelAccuracyQuantized)])));
  w();
  w('Default quantization (scale 8, 9-bit weights). The circuit value is the exact integer execution (the witness equals it: see the tests).');
});

section('The MNIST CNN by layer', () => {
  const cnn = results.find((r) => r.name === CNN);
  if (failed(cnn)) return failure('The CNN', cnn);
  const total = cnn.constraints as number;
  const modelled = cnn.layers.reduce((a: number, l: any) => a + l.constraints, 0);
  w(md(['layer', 'op', 'output shape', 'constraints', 'share', 'gadgets'],
    cnn.layers.map((l: any) => [l.node, l.op, l.outputShape.length ? l.outputShape.join('×') : '—', int(l.constraints), pct(l.constraints / total), l.detail ?? ''])));
  w();
  w(`From the build's manifest (\`layers\`: the gadgets' cost per ONNX node); they add up to ${int(modelled)}, the build's r1cs has ${int(total)}. Conv, Add and MatMul cost nothing: with fixed weights they are linear combinations. "Pool before ReLU" moves each ReLU (and its requantization) after its MaxPool, so it runs once per pooled element, and the MaxPool compares the wider accumulators.`);
  w();
  w('Each conv layer against issue 5\'s floor of `shift bits + output bits + 2` constraints per output element (target: within 1.2×). A conv layer\'s cost is its requantization with the fused ReLU, wherever it sits (on the ReLU after the pooling here); the pooling\'s comparisons are the pooling layer\'s, above. Shift and output bits are read per element from the gadgets\' parameters and the interval analysis of the build (dev/bench/conv-floor.ts).');
  w();
  w(md(['conv layer', 'conv outputs', 'requantized (after pooling)', 'requant + ReLU constraints', 'per requantized element', 'floor per element', 'ratio to floor', 'per conv output', 'gadgets'],
    cnn.convLayers.map((c: any) => [c.node, int(c.outputElements), int(c.requantized), int(c.constraints), c.perElement.toFixed(2), c.floorPerElement.toFixed(2), `${c.ratio.toFixed(3)}×`, (c.constraints / c.outputElements).toFixed(2), c.detail.join('; ')])));
  w();
  w('![CNN constraints per layer](bench/cnn-constraints-per-layer.svg)');
});

section('Against the circomlib-ml encoding', () => {
  w(md(['model', 'circomlib-ml constraints', 'zkml, same statement (private unchecked input)', 'ratio', 'zkml defaults (checked + hashed input)', 'ratio', 'circomlib-ml prove ms', 'zkml prove ms (bare snarkjs)', 'ratio'],
    baselines.map(({ name, zkml, b }, i) => {
      if (failed(b)) return [name, `failed: ${b.error}`, int(unchecked[i]), '', int(zkml?.constraints), '', '', '', ''];
      const base = b.constraints ?? b.predicted;
      return [name, b.constraints ? int(b.constraints) : `${int(b.predicted)} (predicted)`, int(unchecked[i]), ratio(base, unchecked[i]), int(zkml?.constraints), ratio(base, zkml?.constraints), b.proveMs ? int(Math.round(b.proveMs)) : '—', zkml ? int(Math.round(zkml.bareProveMs)) : '—', ratio(b.proveMs, zkml?.bareProveMs)];
    })));
  w();
  const b0 = baselines[0].b;
  w(`The baseline is generated by the bench (dev/bench/baseline.ts) the way keras2circom + circomlib-ml encode a model: weights as private inputs (a constraint per multiplication), a 254-bit decomposition per ReLU, division remainders unconstrained. zkml counts include its input range checks and the Poseidon input commitment, which the baseline does not have. Prove times on both sides are \`groth16.prove\` alone on a precomputed witness (medians of ${failed(b0) ? proofs : b0.proofs ?? '—'}), same toolchain and dev ptau.${quick ? ' --quick does not prove the baseline.' : ''} The CNN baseline (millions of constraints) is counted by its cost model, which its test checks against circom on smaller circuits; compiling it would take circom2 far longer than a bench run.`);
  w();
  w('![constraints per layer](bench/constraints-per-layer.svg)');
});

section('Visibility modes (iris classifier)', () => {
  const perValue = (c: any) => (c?.hashedValues ? `${int(c.constraints)} for ${c.hashedValues} values (${(c.constraints / c.hashedValues).toFixed(1)} each)` : '—');
  w(md(['mode', 'constraints', 'Poseidon commitments', 'weight range checks', 'public signals', 'prove ms', 'verifyProof gas', 'submit gas'],
    visibility.map((v: any) => (failed(v) ? [v.mode, `failed: ${v.error}`, '', '', '', '', '', ''] : [v.mode, int(v.constraints), perValue(v.commitment), int(v.commitment?.weightChecks), v.publicSignals, int(Math.round(v.zkmlProveMs)), int(v.gas?.verifyProof), int(v.gas?.submit)]))));
  w();
  w('Hashed values are packed several to a field element before Poseidon, so a commitment costs far less than a Poseidon call per value. With hashed or private weights every weight of Gemm/MatMul/Conv is a private signal: a range check of its width (`weight range checks`) and one constraint per multiplication (in `constraints`), which fixed weights do not pay.');
});

section('Proving throughput (iris build)', () => {
  if (failed(proveBench)) return failure('The proving benchmark', proveBench);
  w(`In-process \`prove()\`: cold ${int(proveBench.inProcess.coldProveMs)} ms (loads zkey, witness calculator, curve), then a median of ${proveBench.inProcess.proveMedianMs} ms per proof. The bare snarkjs CLI (\`snarkjs groth16 prove\` on a precomputed witness, one process per input): a median of ${int(proveBench.snarkjsCliProveMs.median)} ms per input (${(proveBench.snarkjsCliProveMs.median / proveBench.inProcess.proveMedianMs).toFixed(1)}× slower).`);
  w();
  w(md(['workers', 'snarkjs threads', 'inputs', 'batch s', 'proofs/s (whole batch)', 'proofs/s (after the first)'], proveBench.batches.map((b: any) => [b.workers, b.threads, b.inputs, s(b.elapsedMs), b.proofsPerSec, b.steadyProofsPerSec])));
  w();
  w(`Batch figures include pool start-up (workers load tsx, the zkey and the witness calculator). ${proveBench.cores} cores: a second worker competes for the same cores.`);
  w();
  w('![prove time against constraints](bench/prove-time.svg)');
});

section('Proving fleet (BullMQ on Redis)', () => {
  if (failed(fleet)) return failure('The fleet benchmark', fleet);
  if (fleet.skipped) return w(`Not measured: ${fleet.skipped}.`);
  w(`\`zkml worker\` processes (\`--workers 1\` each) on this ${fleet.cores}-core machine drain a local redis-server ${fleet.redis}; the submitter is \`submitBatch\` (\`zkml prove --queue\`). Build: ${fleet.build} (${int(fleet.constraints)} constraints), timed batches of ${fleet.inputs} fresh inputs after a warm-up batch. "Steady" is first result to last, so neither pool start-up nor enqueueing counts; "proving" is the witness + proof time the pool reports per input; the CPU columns are the submitter's process and redis-server's, per job.`);
  w();
  w(md(['setup', 'proofs/s (whole batch)', 'proofs/s (steady)', 'ms per job (steady)', 'proving ms per job', 'submitter CPU ms per job', 'redis CPU ms per job'], [
    ['local batch, 1 pool worker', '—', fleet.local.steadyProofsPerSecond, fleet.local.steadyMsPerJob, fleet.local.provingMsPerJob, '—', '—'],
    ...fleet.fleet.map((f: any) => [`fleet, ${f.workers} worker process${f.workers > 1 ? 'es' : ''}`, f.proofsPerSecond, f.steadyProofsPerSecond, f.steadyMsPerJob, f.provingMsPerJob, f.submitterCpuMsPerJob, f.redisCpuMsPerJob]),
  ]));
  w();
  const one = fleet.fleet[0];
  w(`**Queue overhead per job: ${fleet.queueOverheadPerJobMs} ms**: the time per job outside witness and proof with one fleet worker (${(one.steadyMsPerJob - one.provingMsPerJob).toFixed(1)} ms) minus the same for the local batch (${(fleet.local.steadyMsPerJob - fleet.local.provingMsPerJob).toFixed(1)} ms); subtracting each batch's own proving time keeps this shared machine's load out of the difference. Against a proof of this build (${fleet.local.provingMsPerJob} ms) that is ${share(fleet.queueOverheadPerJobMs / fleet.local.provingMsPerJob)}${byName(CNN) ? `; against a CNN proof (${s(byName(CNN).zkmlProveMs)} s), ${share(fleet.queueOverheadPerJobMs / byName(CNN).zkmlProveMs)}` : ''}. More worker processes than cores do not add throughput here: each proof already uses both cores.`);
  if (fleet.resultReadRaces) w(`\n${fleet.resultReadRaces} job(s) were proven but their result was not written: the submitter read the job while it was still active and its state just after it completed (a race in src/fleet/submit.ts). Timings are unaffected.`);
  w();
  // The model: hosts like this one prove independently; what they share is Redis and the submitter, one
  // thread each, so the larger of their CPU costs per job caps the jobs per second of the whole fleet.
  const host = Math.max(fleet.local.steadyProofsPerSecond, ...fleet.fleet.map((f: any) => f.steadyProofsPerSecond));
  const capacity = 1000 / fleet.centralCpuMsPerJob;
  const redisCapacity = 1000 / Math.max(...fleet.fleet.map((f: any) => f.redisCpuMsPerJob));
  const cnnHost = byName(CNN) ? 1000 / byName(CNN).zkmlProveMs : undefined;
  const at = (n: number, h: number) => Math.min(n * h, capacity);
  const fmt = (x: number) => (x >= 100 ? int(Math.round(x)) : x >= 1 ? x.toFixed(1) : x.toFixed(3));
  w(`**A model for N hosts**, from these figures: each host like this one proves about ${host.toFixed(2)} proofs/s of this build (its best steady rate above)${cnnHost ? ` or ${cnnHost.toFixed(3)} of the CNN (one proof at a time on both cores)` : ''}, independently of the others. What every job shares is the submitter and Redis, one thread each; the costlier spends ${fleet.centralCpuMsPerJob} ms of CPU per job (the largest figure above), so one queue and one submitter top out near ${fmt(capacity)} jobs/s (measured with this build's 16-value inputs; larger inputs cost the submitter a little more to encode and send). Throughput is then about min(N × per-host rate, ${fmt(capacity)}): linear up to about ${int(Math.round(capacity / host))} hosts for this tiny build${cnnHost ? ` and ${int(Math.round(capacity / cnnHost))} hosts for the CNN` : ''}. With one submitter per batch, several batches at once are capped by Redis alone, near ${fmt(redisCapacity)} jobs/s.`);
  w();
  w(md(['hosts', 'proofs/s, this build (model)', ...(cnnHost ? ['proofs/s, MNIST CNN (model)'] : [])], [1, 10, 100, 1000].map((n) => [n, fmt(at(n, host)), ...(cnnHost ? [fmt(at(n, cnnHost))] : [])])));
  w();
  w(`The model leaves out what one machine cannot show: across a network each job adds a few round trips to Redis (a worker with \`--workers\` as wide as its cores overlaps them with proving), and the bytes per job (the encoded input and a ~1 KB proof) are small next to any network's capacity. redis-server's CPU time is read from /proc in steps of 10 ms per batch, so its per-job figure is good to about ${(10 / fleet.inputs).toFixed(1)} ms.`);
});

section('zkml serve', () => {
  if (failed(serveBench)) return failure('The serve benchmark', serveBench);
  w(serveMarkdown(serveBench));
});

section('Gas by number of public signals', () => {
  if (failed(gas)) return failure('The gas benchmark', gas);
  w(`${gas.chain}; solc ${gas.solc}, evmVersion ${gas.evmVersion}. Receipt gas of a \`verifyProof\` transaction and of \`InferenceRegistry.submit\` (verify + record + event); the registry costs ${int(gas.registryDeployGas)} to deploy.`);
  w();
  w(md(['public signals', 'verifyProof gas', 'submit gas', 'submit gas limit sent', 'verifier deploy gas'], gas.rows.map((r: any) => [r.publicSignals, int(r.verifyProofGas), int(r.submitGas), int(r.submitGasLimit), int(r.deployVerifierGas)])));
});

section('Checking outputs on chain: public signals or a single signal recomputed in Solidity', () => {
  if (failed(poseidonGas)) return failure('The Poseidon contract benchmark', poseidonGas);
  const p = poseidonGas;
  w(`${p.model}; ${p.chain}, solc ${p.solc}. A contract that needs the output values can take them as public signals (a), or take a single-signal proof (b) and recompute its signal from the claimed outputs in Solidity (c: verifier-contracts/SingleSignalVerifier.sol, packing + circomlibjs' Poseidon contracts, then the verifier). Receipt gas of one transaction each.`);
  w();
  w(md(['way', 'public signals', 'gas'], [
    ['(a) outputs and input digest public: verifyProof', p.outputsPublic.publicSignals, int(p.outputsPublic.verifyProofGas)],
    ['(b) single signal: verifyProof alone (outputs unchecked)', 1, int(p.singleSignal.verifyProofGas)],
    [`(c) single signal + on-chain Poseidon over ${p.singleSignalRecomputed.outputs} claimed outputs`, 1, int(p.singleSignalRecomputed.verifyGas)],
  ]));
  w();
  w(`The recomputation alone as the claimed output grows (24-bit values, 10 to a field element): ${p.recomputationByFieldElements.map((r: any) => `${r.outputs} values ${int(r.commitmentGas)}`).join(', ')} gas, against ~6.8k per public signal: (c) pays off only for outputs of a few dozen values; for a handful of logits, public outputs are cheaper. Poseidon contracts: ${p.poseidon.map((x: any) => `${x.inputs} input${x.inputs > 1 ? 's' : ''} ${int(x.callGas)}`).join(', ')} gas per call (deployed once per chain).`);
});

section('Development ptau generation', () => {
  if (failed(ptau)) return failure('The ptau benchmark', ptau);
  w('```');
  w(ptau);
  w('```');
});

section('Native prover against snarkjs (random circuits)', () => {
  if (failed(native)) return failure('The native prover benchmark', native);
  w(native);
  w();
  w('`npx tsx scripts/bench-native.ts`: random R1CS circuits with random witnesses, the same zkey and witness for both provers, each in its own child process after a warm-up proof (the peak RSS is the process’s own); CPU time counts every thread. The scale table below proves with the default prover (native when its addon is built), on the builds zkml makes.');
});

section('Scale: compile, setup and prove against weights (random-weight Gemm/Relu MLPs)', () => {
  if (failed(scale)) return failure('The scale benchmark', scale);
  const rows = scale.models as any[];
  const secs = (ms: number | undefined) => (ms === undefined ? '—' : (ms / 1000).toFixed(1));
  w(md(
    ['model', 'weights', 'constraints', 'compile s', 'compile peak RSS MB', 'µs per weight', 'dev setup s', 'setup RSS MB', 'warm prove s', 'prove RSS MB'],
    rows.map((r) => [r.dims, int(r.weights), int(r.constraints), secs(r.compileMs), r.compileRssMB, (r.compileMs * 1000 / r.weights).toFixed(1), secs(r.setupMs), r.setupRssMB ?? '—', secs(r.proveMs), r.proveRssMB ?? '—']),
  ));
  w();
  w('Each step runs in its own process (`npx tsx scripts/bench-scale.ts --prove`), so the RSS is its own. Compile follows weights plus constraints (reading and lowering every weight once); the development setup (the zkey from known secrets, src/setup/dev-zkey.ts: it reads no ptau) and proving (the default prover: native when built) follow the constraints.');
  // The next wall: compile memory, which grows with the weights (every weight is read, quantized and held).
  const [a, b] = rows.slice(-2);
  if (a && b && b.weights > a.weights && b.compileRssMB > a.compileRssMB) {
    const perWeight = ((b.compileRssMB - a.compileRssMB) * 2 ** 20) / (b.weights - a.weights);
    const at24 = b.weights + ((24 * 1024 - b.compileRssMB) * 2 ** 20) / perWeight;
    w();
    w(`The next wall is the compile's memory: from the two largest models it grows about ${Math.round(perWeight)} bytes per weight (the weights read from the ONNX file, their quantized integers and the linear expressions built from them), so this 24 GiB machine would run out near ${(at24 / 1e6).toFixed(0)}M weights; time stays linear. Setup and proving follow the constraints, which grow with the activations.`);
  }
  writeFileAtomic(join(benchDir, 'scale.svg'), xyPlot({
    title: 'Against weights: compile, setup and warm prove time (s), this machine',
    xLabel: 'weights',
    yLabel: 'seconds',
    logX: true,
    series: [
      { name: 'compile', points: rows.map((r) => ({ x: r.weights, y: r.compileMs / 1000 })), line: true },
      ...(rows.every((r) => r.setupMs !== undefined) ? [{ name: 'dev setup', points: rows.map((r) => ({ x: r.weights, y: r.setupMs / 1000 })), line: true }] : []),
      ...(rows.every((r) => r.proveMs !== undefined) ? [{ name: 'warm prove', points: rows.map((r) => ({ x: r.weights, y: r.proveMs / 1000 })), line: true }] : []),
    ],
  }));
  w();
  w('![time against weights](bench/scale.svg)');
});

section('Start-up and shut-down', () => {
  if (failed(startup)) return failure('The start-up benchmark', startup);
  w(md(['command', 'median ms', 'fastest ms', 'peak RSS MB'], startup.cli.map((c: any) => [`\`${c.command}\``, int(Math.round(c.medianMs)), int(Math.round(c.minMs)), c.peakRssMB])));
  w();
  w(`Wall time of a whole process, ${startup.cli[0].runs} runs each after one warm-up, from the built package (\`npm run build\`; bin/zkml.js runs dist/ and loads only the command that runs). Bare \`node -e 0\` is the floor.`);
  w();
  const l = startup.library;
  w(`Library calls and the bn128 curve (src/util/snark.ts): a ${int(l.constraints)}-constraint build, so that \`prove()\` runs snarkjs on the multi-threaded curve. First call ${int(Math.round(l.firstProveMs))} ms (loads zkey, witness calculator, curve); back-to-back calls ${int(Math.round(l.warmProveMs))} ms each (median), on the warm curve; calls spaced wider than the ${l.idleReleaseMs} ms idle window ${int(Math.round(l.spacedProveMs))} ms each, because the curve was released in between and is built again. A script that makes one call exits by itself ${int(Math.round(l.exitAfterLastCallMs))} ms after the call returns (the idle window, plus ffjavascript's 200 ms terminate).`);
});

writeFileAtomic(join(root, 'BENCHMARKS.md'), lines.join('\n').replace(/\n{3,}/g, '\n\n') + '\n');
console.error(`wrote BENCHMARKS.md in ${((Date.now() - started) / 60000).toFixed(1)} min${failures.length ? `; failed: ${failures.join('; ')}` : ''}`);
