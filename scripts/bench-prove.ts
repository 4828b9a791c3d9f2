/**
 * Proving benchmark: in-process proof time, witness time, snarkjs' threading modes, batch throughput for 1..cores
 * workers (whole batch, and steady state after the first proof), and the bare `snarkjs groth16 prove` CLI for
 * comparison. Prints one JSON object.
 *
 *   npx tsx scripts/bench-prove.ts [build-dir] [--n <inputs per batch>]
 *
 * Without a build folder it makes the tiny test build (test/helpers/tiny-build.ts) and sets it up with a dev ptau.
 * Inputs are random integers in each input tensor's range, given raw (no quantization).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPaths, readManifest, type Manifest } from '../src/manifest.ts';
import { encodeInputs, witnessInput } from '../src/io/input.ts';
import { openBuildForProving, prove, witnessRef } from '../src/prove/prove.ts';
import { proveBatch } from '../src/prove/batch.ts';
import { releaseCurve } from '../src/util/snark.ts';
import { proveInput, readArtifacts, readParams, witnessStep, type ThreadMode } from '../prover/worker.ts';
import { makeTinyBuild } from '../test/helpers/tiny-build.ts';

const args = process.argv.slice(2);
const nFlag = args.indexOf('--n');
const cores = availableParallelism();
const batchSize = nFlag >= 0 ? Number(args[nFlag + 1]) : 8 * cores;
const givenDir = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--n');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const round = (x: number) => Math.round(x * 10) / 10;

async function tinyBuild(work: string): Promise<string> {
  const dir = await makeTinyBuild(join(work, 'tiny'));
  const { setup } = await import('../src/setup/setup.ts');
  await setup(dir);
  return dir;
}

function randomInput(manifest: Manifest): Record<string, number[]> {
  const input: Record<string, number[]> = {};
  for (const spec of manifest.inputs) {
    const [lo, hi] = spec.intRange.map(Number);
    const size = spec.shape.reduce((a, b) => a * b, 1);
    input[spec.name] = Array.from({ length: size }, () => lo + Math.floor(Math.random() * (hi - lo + 1)));
  }
  return input;
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'zkml-bench-prove-'));
  try {
    const dir = givenDir ?? (await tinyBuild(work));
    const manifest = readManifest(dir);
    const inputs = Array.from({ length: batchSize }, () => randomInput(manifest));

    // prove(): the first call loads the zkey, the witness calculator and a curve; then warm calls.
    const proveOnce = async (i: number) => {
      const t = performance.now();
      const r = await prove(dir, inputs[i % inputs.length], { out: join(work, 'single'), raw: true });
      return { totalMs: performance.now() - t, ...r.timings, threads: r.threads };
    };
    const cold = await proveOnce(0);
    const warm = [];
    for (let i = 1; i <= 5; i++) warm.push(await proveOnce(i));

    // The same proof with each of snarkjs' threading modes (warm, median of 5).
    const build = { dir, witness: witnessRef(manifest), zkeySha256: manifest.setup!.zkeySha256 };
    const threadModes: Record<string, number> = {};
    for (const threads of ['single', 'multi'] as ThreadMode[]) {
      const encoded = witnessInput(manifest, encodeInputs(manifest, inputs[0], { raw: true }));
      await proveInput({ build, input: encoded, threads });
      const times = [];
      for (let i = 0; i < 5; i++) times.push((await proveInput({ build, input: encoded, threads })).proveMs);
      threadModes[`${threads}ProveMs`] = round(median(times));
    }
    await releaseCurve();

    // Batches (pool start-up included), for every pool width and both threading modes.
    const jsonl = join(work, 'inputs.jsonl');
    writeFileSync(jsonl, inputs.map((x) => JSON.stringify(x)).join('\n') + '\n');
    const batches = [];
    for (let workers = 1; workers <= cores; workers++) {
      for (const threads of ['single', 'multi'] as ThreadMode[]) {
        const out = join(work, `batch-${workers}-${threads}`);
        const doneAt: number[] = [];
        const s = await proveBatch(dir, jsonl, { out, workers, threads, raw: true, onProgress: (e) => e.kind === 'input' && doneAt.push(performance.now()) });
        if (s.failed) throw new Error(`batch failed: ${JSON.stringify(s.errors[0])}`);
        // Steady state: proofs after the first one, over the time they took (no pool start-up, no loading).
        const steady = (doneAt.length - 1) / (doneAt[doneAt.length - 1] - doneAt[0]);
        batches.push({ workers, threads, inputs: s.total, elapsedMs: Math.round(s.elapsedMs), proofsPerSec: round((s.total / s.elapsedMs) * 1000), steadyProofsPerSec: round(steady * 1000) });
      }
    }

    // The bare snarkjs CLI, one process per input (what a shell loop around snarkjs would do), on a witness zkml
    // computed beforehand (a default build has no circom witness wasm for `fullprove`).
    const paths = buildPaths(dir);
    const cli = join(import.meta.dirname, '..', 'node_modules', 'snarkjs', 'build', 'cli.cjs');
    const ref = openBuildForProving(dir).ref;
    const computeWtns = await witnessStep(dir, ref.witness.kind, readArtifacts(ref).witness);
    const params = readParams(ref);
    const cliMs = [];
    for (let i = 0; i < Math.min(3, inputs.length); i++) {
      const d = join(work, `cli-${i}`);
      mkdirSync(d);
      const { wtns } = await computeWtns(witnessInput(manifest, encodeInputs(manifest, inputs[i], { raw: true })), params);
      writeFileSync(join(d, 'witness.wtns'), wtns);
      const t = performance.now();
      const r = spawnSync(process.execPath, [cli, 'groth16', 'prove', paths.zkey, join(d, 'witness.wtns'), join(d, 'proof.json'), join(d, 'public.json')]);
      if (r.status !== 0) throw new Error(`snarkjs groth16 prove failed: ${r.stderr}`);
      cliMs.push(Math.round(performance.now() - t));
    }

    console.log(
      JSON.stringify(
        {
          build: dir,
          constraints: manifest.constraints,
          cores,
          inProcess: {
            coldProveMs: round(cold.totalMs),
            proveMedianMs: round(median(warm.map((w) => w.totalMs))),
            proofOnlyMedianMs: round(median(warm.map((w) => w.proveMs))),
            witnessMedianMs: round(median(warm.map((w) => w.witnessMs))),
            threads: warm[0].threads,
            ...threadModes,
          },
          batches,
          snarkjsCliProveMs: { perInput: cliMs, median: median(cliMs) },
        },
        null,
        2,
      ),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
