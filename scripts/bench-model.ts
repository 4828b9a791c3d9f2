/**
 * One model through the whole pipeline, measured: compile, setup (dev ptau, from the cache when present),
 * witness, proof (median of N), off-chain verify, on-chain gas, the conv layers' cost against issue 5's floor
 * (dev/bench/conv-floor.ts), and optionally top-1 agreement with onnxruntime on MNIST test images. Runs in its
 * own process (the bench spawns one per model) so that its peak RSS is the model's own; circom runs in a child
 * of it, whose peak is reported apart (compileRssMB). Prints one JSON object on the last line.
 *
 *   tsx scripts/bench-model.ts '<json: {model, name, options, input, mnist?: {dir, count, divide}, proofs?}>'
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile, analyze, analyzeOptionsOf, type CompileOptions } from '../src/compiler/compile.ts';
import { setup } from '../src/setup/setup.ts';
import { openBuildForProving, prove } from '../src/prove/prove.ts';
import { readArtifacts, readParams, witnessStep } from '../prover/worker.ts';
import { verify } from '../src/prove/verify.ts';
import { deploy } from '../src/chain/deploy.ts';
import { verifyOnchain } from '../src/chain/verify-onchain.ts';
import { exportVerifier } from '../src/chain/solidity.ts';
import { releaseCurve, loadSnarkjs } from '../src/util/snark.ts';
import { buildPaths } from '../src/manifest.ts';
import { encodeInputs, quantizeValue, witnessInput } from '../src/io/input.ts';
import { loadMnist } from '../dev/data/mnist.ts';
import { FloatModel } from '../src/onnx/ort.ts';
import { argmax } from '../src/io/output.ts';
import { convLayerCosts } from '../dev/bench/conv-floor.ts';
import { watchDescendantsPeakRss } from '../dev/bench/rss.ts';

interface Job {
  name: string;
  model: string;
  options: CompileOptions;
  input: unknown;
  proofs?: number;
  mnist?: { dir: string; count: number; divide: number };
  skipChain?: boolean;
}

const job: Job = JSON.parse(process.argv[2]);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const time = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
};

const work = mkdtempSync(join(tmpdir(), `zkml-bench-${job.name}-`));
const dir = join(work, 'build');
async function accuracyOf(program: import('../src/ir/program.ts').Program, input: { name: string; shape: number[]; encoding: { scale: number; zeroPoint: number } }, out: { name: string; encoding: { scale: number } }) {
  const set = loadMnist(job.mnist!.dir, job.mnist!.count);
  const f = await FloatModel.load(job.model);
  let agree = 0;
  let maxAbsError = 0;
  let okF = 0;
  let okQ = 0;
  for (let i = 0; i < set.images.length; i++) {
    const data = Array.from(set.images[i], (p) => p / job.mnist!.divide);
    const [o] = await f.run([{ name: input.name, dims: input.shape, data }]);
    const ints = data.map((x) => quantizeValue(x, input as never));
    const q = program.execute(new Map([[input.name, ints]])).outputs.get(out.name)!.map((v) => Number(v) * out.encoding.scale);
    if (argmax(q) === argmax(o.data)) agree++;
    if (argmax(o.data) === set.labels[i]) okF++;
    if (argmax(q) === set.labels[i]) okQ++;
    maxAbsError = Math.max(maxAbsError, ...q.map((v, j) => Math.abs(v - o.data[j])));
  }
  const count = set.images.length;
  return { images: count, agreement: agree / count, maxAbsError, labelAccuracyFloat: okF / count, labelAccuracyQuantized: okQ / count };
}

try {
  const watch = watchDescendantsPeakRss();
  const [manifest, compileMs] = await time(() => compile(job.model, dir, job.options));
  // The compile's peak: this process's (zkml's own back end compiles in process, and nothing ran before it),
  // or circom2's child process for a --circom build.
  const compileRssMB = Math.max(watch.stop() ?? 0, Math.round(process.resourceUsage().maxRSS / 1024));
  const [setupInfo, setupMs] = await time(() => setup(dir));

  // Bare snarkjs on the same zkey and witness, for the overhead figure of zkml prove.
  const snarkjs = await loadSnarkjs();
  // Builds with private weights (--param-visibility) take them as witness data from params.json.
  const ref = openBuildForProving(dir).ref;
  const params = readParams(ref);
  const computeWtns = await witnessStep(dir, ref.witness.kind, readArtifacts(ref).witness);
  const [{ wtns }, witnessMs] = await time(() => computeWtns(witnessInput(manifest, encodeInputs(manifest, job.input)), params));
  const zkey = buildPaths(dir).zkey;
  const bare: number[] = [];
  const zkml: number[] = [];
  const n = job.proofs ?? 5;
  await snarkjs.groth16.prove(zkey, wtns); // warm-up: curve and zkey caches
  for (let i = 0; i < n; i++) bare.push((await time(() => snarkjs.groth16.prove(zkey, wtns)))[1]);
  for (let i = 0; i < n; i++) zkml.push((await time(() => prove(dir, job.input, { out: join(work, 'out') })))[1]);
  const [verified, verifyMs] = await time(() => verify(dir, join(work, 'out')));
  if (!verified.valid) throw new Error(`${job.name}: the proof did not verify`);

  let gas: { verifyProof?: string; submit?: string } = {};
  if (!job.skipChain) {
    await exportVerifier(dir);
    const d = await deploy(dir, {});
    const r = await verifyOnchain(dir, join(work, 'out'), { chain: d.chain });
    gas = { submit: r.submit?.gasUsed.toString() };
    // verifyProof alone, as a transaction with an explicit limit (never a bare estimate).
    const { readProofArgs, verifierInterface } = await import('../src/chain/calldata.ts');
    const args = readProofArgs(join(work, 'out'));
    const iface = verifierInterface(args.input.length);
    const tx = await d.chain.signer.sendTransaction({ to: d.verifier, data: iface.encodeFunctionData('verifyProof', [args.a, args.b, args.c, args.input]), gasLimit: 1_000_000n });
    gas.verifyProof = (await tx.wait())!.gasUsed.toString();
    await d.chain.close();
  }

  // The build's integer program without commitments: the reference executor for accuracy (plain tensors in
  // and out), and the conv layers' gadgets (the same whatever the visibility; with fixed weights).
  const plain = analyze(job.model, { ...analyzeOptionsOf(manifest), inputVisibility: 'private', outputVisibility: 'public', singleSignal: false, paramVisibility: 'fixed' });
  const convLayers = convLayerCosts(plain);
  const accuracy = job.mnist ? await accuracyOf(plain.lowered.program, manifest.inputs[0], manifest.outputs[0]) : undefined;

  console.log(
    JSON.stringify({
      name: job.name,
      constraints: manifest.constraints,
      publicSignals: manifest.publicSignals.length,
      layers: manifest.layers,
      convLayers,
      // Commitments: their constraints and how many integers they hash (input, output, weights).
      commitment: {
        constraints: manifest.layers.filter((l) => l.op === 'Commitment').reduce((a, l) => a + l.constraints, 0),
        hashedValues: [manifest.commitments.input, manifest.commitments.output, manifest.commitments.params].flatMap((p) => p ?? []).reduce((a, p) => a + p.layout.count, 0),
        weightChecks: manifest.layers.filter((l) => l.node.endsWith('(parameter range check)')).reduce((a, l) => a + l.constraints, 0),
      },
      ptauPower: setupInfo.ptau.power,
      compileMs,
      setupMs,
      witnessMs,
      proofs: n,
      bareProveMs: median(bare),
      zkmlProveMs: median(zkml),
      verifyMs,
      gas,
      accuracy,
      maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      compileRssMB,
    }),
  );
} finally {
  await releaseCurve();
  rmSync(work, { recursive: true, force: true });
}
