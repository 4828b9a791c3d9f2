/**
 * The circomlib-ml-style baseline of one model (dev/bench/baseline.ts), compiled and (optionally) proven with the
 * same toolchain as zkml: circom2, a dev ptau, snarkjs. Runs in its own process; prints one JSON object.
 *
 *   tsx scripts/bench-baseline.ts '<json: {model, input: number[] (flat floats), prove: boolean, proofs?: number}>'
 *
 * Prove time is measured as zkml's bare figure in bench-model.ts is: `groth16.prove` on a precomputed witness,
 * one warm-up proof, then the median of `proofs` (default 5).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBaseline, baselineWitnessInput, compileBaseline } from '../dev/bench/baseline.ts';
import { devPtau } from '../src/setup/dev-ptau.ts';
import { ptauPowerFor } from '../src/setup/ptau.ts';
import { loadSnarkjs, releaseCurve } from '../src/util/snark.ts';
import { loadWitnessCalculator } from '../src/circom/witness.ts';

const job: { model: string; input: number[]; prove: boolean; proofs?: number; scale?: number; predictOnly?: boolean } = JSON.parse(process.argv[2]);
const work = mkdtempSync(join(tmpdir(), 'zkml-bench-baseline-'));
const ms = (t: number) => performance.now() - t;
try {
  const baseline = buildBaseline(job.model, { scale: job.scale ?? 8 });
  if (job.predictOnly) {
    // Millions of constraints take circom2 far longer than a bench run: report the cost model's count (the
    // baseline test checks the model against circom on smaller circuits).
    console.log(JSON.stringify({ predicted: baseline.predicted.total, perLayer: baseline.predicted.perLayer }));
    process.exit(0);
  }
  let t = performance.now();
  const compiled = await compileBaseline(baseline, work);
  const compileMs = ms(t);
  const result: Record<string, unknown> = { constraints: compiled.constraints, predicted: baseline.predicted.total, perLayer: baseline.predicted.perLayer, compileMs };
  if (job.prove) {
    const snarkjs = await loadSnarkjs();
    t = performance.now();
    const ptau = await devPtau(ptauPowerFor(compiled.constraints, 10)); // 10 public outputs (logits)
    const zkey = join(work, 'circuit.zkey');
    await snarkjs.zKey.newZKey(compiled.r1cs, ptau, zkey);
    result.setupMs = ms(t);
    const wc = await loadWitnessCalculator(compiled.wasm);
    const { input } = baselineWitnessInput(baseline, job.input);
    t = performance.now();
    const wtns = await wc.calculateWTNSBin(input, true);
    result.witnessMs = ms(t);
    const proofs = job.proofs ?? 5;
    await snarkjs.groth16.prove(zkey, wtns); // warm-up: curve and zkey caches
    const times: number[] = [];
    for (let i = 0; i < proofs; i++) {
      t = performance.now();
      await snarkjs.groth16.prove(zkey, wtns);
      times.push(ms(t));
    }
    result.proofs = proofs;
    result.proveMs = times.sort((a, b) => a - b)[proofs >> 1];
  }
  result.maxRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
  console.log(JSON.stringify(result));
} finally {
  await releaseCurve();
  rmSync(work, { recursive: true, force: true });
}
