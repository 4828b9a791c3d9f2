/**
 * Native vs snarkjs Groth16 proving on the same zkey and witness: random R1CS circuits of 2^10..2^18
 * constraints (test/helpers/random-circuit.ts). Each prover runs in its own child process (a warm-up proof, then
 * the timed ones) so the peak RSS it reports is its own: the zkey and witness bytes, the prover's tables and
 * threads, and Node itself (~50 MB with tsx), the same for both.
 *
 * Set-up is cached under .cache/bench-native (circuits and zkeys) and zkml's cache (the development ptau, in
 * .cache/bench/ptau under `npm run bench`). The ptau of the largest size is made first and serves every size
 * (snarkjs' newZKey reads only the circuit's own domains from it), so a cold run makes one ptau, not nine. On
 * 2 cores a cold run to 2^18 spends ~3 CPU-minutes on that ptau and a few minutes on snarkjs' newZKey per large
 * size; a cached run none.
 *
 *   npx tsx scripts/bench-native.ts [--from 10] [--to 18] [--runs N]
 *
 * --runs: timed proofs per prover and size (median reported); by default 3 up to 2^15, 2 at 2^16, 1 above.
 * CPU time (user + system, every thread) is printed beside wall time: on a shared machine it moves less with
 * the other load than wall time does.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const arg = (name: string): number | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : undefined;
};

interface Timings { ms: number[]; cpu: number[]; maxRssMB: number }

async function child(backend: string, zkeyPath: string, wtnsPath: string, runs: number): Promise<void> {
  const zkey = readFileSync(zkeyPath), wtns = readFileSync(wtnsPath);
  let prove: () => Promise<unknown>;
  if (backend === 'native') {
    const { proveNative } = await import('../src/prove/native.ts');
    prove = () => proveNative(zkey, wtns);
  } else {
    const snarkjs = await import('snarkjs');
    prove = () => snarkjs.groth16.prove(zkey, wtns);
  }
  await prove();
  const ms: number[] = [], cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now(), c = process.cpuUsage();
    await prove();
    ms.push(performance.now() - t);
    const d = process.cpuUsage(c);
    cpu.push((d.user + d.system) / 1000);
  }
  const out: Timings = { ms, cpu, maxRssMB: process.resourceUsage().maxRSS / 1024 };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sec = (ms: number) => (Number.isFinite(ms) ? (ms / 1000).toFixed(1) : '—');

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3], process.argv[4], process.argv[5], Number(process.argv[6]));
  const { randomCircuit } = await import('../test/helpers/random-circuit.ts');
  const { nativeProver, nativeUnavailableReason } = await import('../src/prove/native.ts');
  const { devPtau } = await import('../src/setup/dev-ptau.ts');
  const addon = nativeProver();
  if (!addon) {
    console.log(`native prover unavailable: ${nativeUnavailableReason()}`);
    process.exit(1);
  }
  const from = arg('from') ?? 10, to = arg('to') ?? 18;
  const runsAt = (p: number) => arg('runs') ?? (p <= 15 ? 3 : p === 16 ? 2 : 1);
  const dir = join(import.meta.dirname, '..', '.cache', 'bench-native');
  // One ptau for every size: the largest one's power covers all (see the header).
  let power = 1;
  while (2 ** power < 2 ** to - 8 + 2 + 1) power++;
  const ptauStart = performance.now();
  process.stderr.write(`  dev ptau 2^${power} (cached after the first run)…\n`);
  await devPtau(Math.max(power, 8));
  const ptauMs = performance.now() - ptauStart;

  console.log(`| constraints | domain | proofs | snarkjs ms | native ms | speed-up | snarkjs CPU ms | native CPU ms | CPU ratio | snarkjs peak RSS MB | native peak RSS MB | zkey MB | zkey setup s |`);
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (let p = from; p <= to; p++) {
    const constraints = 2 ** p - 8;
    process.stderr.write(`  2^${p}: circuit and zkey…\n`);
    const c = await randomCircuit(dir, constraints, 2, p, power);
    const runs = runsAt(p);
    const run = (backend: string): Timings => {
      process.stderr.write(`  2^${p}: ${backend}, ${runs} proof(s) after a warm-up…\n`);
      const r = spawnSync(process.execPath, ['--import', 'tsx', here, '--child', backend, c.zkey, c.wtns, String(runs)], { encoding: 'utf8', maxBuffer: 1 << 24 });
      const line = r.stdout.trim().split('\n').pop() ?? '';
      if (r.status !== 0 || !line.startsWith('{')) throw new Error(`${backend} child failed at 2^${p}: ${r.stderr.slice(-500)}`);
      return JSON.parse(line) as Timings;
    };
    const s = run('snarkjs'), n = run('native');
    const ms = median(s.ms), mn = median(n.ms);
    const cs = median(s.cpu), cn = median(n.cpu);
    const zkeyMB = readFileSync(c.zkey).length / 2 ** 20;
    console.log(`| ${constraints} | 2^${p} | ${runs} | ${ms.toFixed(0)} | ${mn.toFixed(0)} | ${(ms / mn).toFixed(2)}x | ${cs.toFixed(0)} | ${cn.toFixed(0)} | ${(cs / cn).toFixed(2)}x | ${s.maxRssMB.toFixed(0)} | ${n.maxRssMB.toFixed(0)} | ${zkeyMB.toFixed(0)} | ${sec(c.setup.zkeyMs)} |`);
  }
  console.log();
  console.log(`Native field arithmetic: ${addon.usesAsm() ? 'x86-64 BMI2/ADX assembly' : 'portable C++'}. ` +
    `Development ptau 2^${power}: ${ptauMs < 1000 ? 'cached' : `made in ${sec(ptauMs)} s`}. ` +
    `"zkey setup s" is snarkjs' newZKey when the circuit was first made (cached since).`);
  process.exit(0);
}

await main();
