/**
 * Fleet throughput on this machine: proofs/s of a small build (fixtures/models/gemm_basic.onnx, 539
 * constraints) with 1, 2 and 3 `zkml worker` processes (--workers 1 each) on a throwaway local redis-server,
 * and the queue's overhead per job against the local batch (`proveBatch`, one pool worker). Prints JSON.
 *
 *   npx tsx scripts/bench-fleet.ts [--inputs 12]
 *
 * Each configuration first proves a warm-up batch (one input per worker: loading the build costs ~1 s per
 * worker) and then a timed batch of fresh inputs (new values, so the batch id is new and nothing is reused).
 * All processes share this machine's cores, so past the core count more workers only add contention.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { submitBatch } from '../src/fleet/submit.ts';
import { proveBatch } from '../src/prove/batch.ts';

const root = join(import.meta.dirname, '..');
const ZKML = join(root, 'bin', 'zkml.js');
const FIXTURE = join(root, 'fixtures', 'models', 'gemm_basic.onnx');
const n = Number(process.argv[process.argv.indexOf('--inputs') + 1]) || 12;
process.env.ZKML_CACHE ??= join(root, '.cache', 'bench');
const tmp = mkdtempSync(join(tmpdir(), 'zkml-bench-fleet-'));
const children: ChildProcess[] = [];

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

function run(args: string[]) {
  const r = spawnSync(process.execPath, [ZKML, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`zkml ${args.join(' ')}:\n${r.stderr}`);
}

const base: number[] = JSON.parse(readFileSync(FIXTURE.replace(/\.onnx$/, '.input.json'), 'utf8')).input_data[0];
let batches = 0;
/** A .jsonl of `count` distinct inputs; `salt` makes each batch new (steps wider than the quantization step, or
 * two batches would encode alike, share a batch id and the second would only collect the first one's results). */
function inputs(count: number): string {
  const salt = ++batches;
  const path = join(tmp, `in-${salt}.jsonl`);
  writeFileSync(path, Array.from({ length: count }, (_, i) => JSON.stringify({ input_data: [base.map((v, k) => (k === 0 ? salt * 0.04 - 0.5 : k === 1 ? i * 0.02 - 0.3 : v))] })).join('\n') + '\n');
  return path;
}

function startWorker(url: string, builds: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [ZKML, 'worker', '--queue', url, '--builds', builds, '--workers', '1', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve) => child.stdout!.on('data', (c: Buffer) => String(c).includes('"event":"worker"') && resolve(child)));
}

async function stop(child: ChildProcess) {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('close', r));
}

try {
  const build = join(tmp, 'builds', 'gemm');
  run(['compile', FIXTURE, '-o', build]);
  run(['setup', build]);
  const port = await freePort();
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  children.push(redis);
  await new Promise((r) => setTimeout(r, 500));
  const url = `redis://127.0.0.1:${port}/0`;

  const t = async (fn: () => Promise<unknown>) => {
    const s = performance.now();
    await fn();
    return performance.now() - s;
  };
  // The local batch's steady state: the time between its first and its last result (the pool starts and loads
  // the build before the first), over the n proofs in between.
  const stamps: number[] = [];
  await proveBatch(build, inputs(n + 1), { out: join(tmp, `local-${batches}`), workers: 1, onProgress: (e) => e.kind === 'input' && stamps.push(performance.now()) });
  const localPerJobMs = (stamps.at(-1)! - stamps[0]) / n;

  const fleet: { workers: number; proofsPerSecond: number; msPerJob: number }[] = [];
  for (const count of [1, 2, 3]) {
    const workers = await Promise.all(Array.from({ length: count }, () => startWorker(url, join(tmp, 'builds'))));
    await submitBatch(build, inputs(count * 2), { queue: url, out: join(tmp, `warm-${batches}`), pollMs: 200 });
    const ms = await t(() => submitBatch(build, inputs(n), { queue: url, out: join(tmp, `fleet-${batches}`), pollMs: 200 }));
    fleet.push({ workers: count, proofsPerSecond: Number(((n * 1000) / ms).toFixed(2)), msPerJob: Math.round(ms / n) });
    for (const w of workers) await stop(w);
  }
  const oneWorker = fleet[0].msPerJob;
  console.log(
    JSON.stringify(
      {
        build: 'gemm_basic (539 constraints)',
        inputs: n,
        cores: availableParallelism(),
        loadAverageAtEnd: Number(loadavg()[0].toFixed(2)),
        local: { workers: 1, msPerJob: Math.round(localPerJobMs), proofsPerSecond: Number((1000 / localPerJobMs).toFixed(2)) },
        fleet,
        queueOverheadPerJobMs: Math.round(oneWorker - localPerJobMs),
      },
      null,
      2,
    ),
  );
} finally {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
}
