/**
 * Native vs snarkjs Groth16 proving on the same zkey and witness: random R1CS circuits of 2^10..2^16
 * constraints (test/helpers/random-circuit.ts, zkeys from the development ptau, cached in .cache/bench-native).
 * Each prover runs in its own child process (warm-up proof, then the timed ones) so peak RSS is its own.
 *
 *   npx tsx scripts/bench-native.ts [--from 10] [--to 16] [--runs 3]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};

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
  process.stdout.write(`${JSON.stringify({ ms, cpu, maxRssMB: process.resourceUsage().maxRSS / 1024 })}\n`);
  process.exit(0);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3], process.argv[4], process.argv[5], Number(process.argv[6]));
  const { randomCircuit } = await import('../test/helpers/random-circuit.ts');
  const { nativeProver, nativeUnavailableReason } = await import('../src/prove/native.ts');
  if (!nativeProver()) {
    console.log(`native prover unavailable: ${nativeUnavailableReason()}`);
    process.exit(1);
  }
  const from = arg('from', 10), to = arg('to', 16), runs = arg('runs', 3);
  const dir = join(import.meta.dirname, '..', '.cache', 'bench-native');
  // CPU time (all threads) beside wall time: on a shared machine the wall-clock ratio moves with other load.
  console.log(`| constraints | domain | snarkjs ms (median of ${runs}) | native ms | speed-up | snarkjs CPU ms | native CPU ms | CPU ratio | snarkjs peak RSS MB | native peak RSS MB |`);
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (let p = from; p <= to; p++) {
    const constraints = 2 ** p - 8;
    const c = await randomCircuit(dir, constraints, 2, p);
    const run = (backend: string) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', here, '--child', backend, c.zkey, c.wtns, String(runs)], { encoding: 'utf8', maxBuffer: 1 << 24 });
      const line = r.stdout.trim().split('\n').pop() ?? '';
      if (r.status !== 0 || !line.startsWith('{')) throw new Error(`${backend} child failed: ${r.stderr.slice(-500)}`);
      return JSON.parse(line) as { ms: number[]; cpu: number[]; maxRssMB: number };
    };
    const s = run('snarkjs'), n = run('native');
    const ms = median(s.ms), mn = median(n.ms);
    const cs = median(s.cpu ?? [NaN]), cn = median(n.cpu ?? [NaN]);
    console.log(`| ${constraints} | 2^${p} | ${ms.toFixed(0)} | ${mn.toFixed(0)} | ${(ms / mn).toFixed(2)}x | ${cs.toFixed(0)} | ${cn.toFixed(0)} | ${(cs / cn).toFixed(2)}x | ${s.maxRssMB.toFixed(0)} | ${n.maxRssMB.toFixed(0)} |`);
  }
  process.exit(0);
}

await main();
