/**
 * Fleet throughput on this machine: proofs/s of a small build (fixtures/models/gemm_basic.onnx) with 1, 2 and 3
 * `zkml worker` processes (--workers 1 each) on a throwaway local redis-server, the queue's overhead per job
 * against the local batch (`proveBatch`, one pool worker), and what the central pieces (the submitter process
 * and Redis, one thread each) spend per job, which bounds how many hosts one queue can feed. Prints JSON; if
 * redis-server is not installed it prints `{ "skipped": "<why>" }` and exits 0.
 *
 *   npx tsx scripts/bench-fleet.ts [--inputs 24]
 *
 * Each configuration first proves a warm-up batch (loading the build costs ~1 s per worker), then a timed batch
 * of fresh inputs (new values, so the batch id is new and nothing is reused). Per batch it records the steady
 * state (first result to last, so neither pool start-up nor enqueueing counts), the proving time the pool
 * reports per input (witness + proof), and the CPU time of the submitter and of redis-server. All processes
 * share this machine's cores, so past the core count more workers only add contention.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { submitBatch } from '../src/fleet/submit.ts';
import { proveBatch, type BatchEvent } from '../src/prove/batch.ts';

const root = join(import.meta.dirname, '..');
const ZKML = join(root, 'bin', 'zkml.js');
const FIXTURE = join(root, 'fixtures', 'models', 'gemm_basic.onnx');
const n = Number(process.argv[process.argv.indexOf('--inputs') + 1]) || 24;
process.env.ZKML_CACHE ??= join(root, '.cache', 'bench');

const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0) {
  console.log(JSON.stringify({ skipped: `redis-server is not installed or does not run (${probe.error?.message ?? `exit ${probe.status}`}); Debian: apt-get install redis-server` }));
  process.exit(0);
}
const redisVersion = /v=(\S+)/.exec(probe.stdout)?.[1] ?? 'unknown';

const tmp = mkdtempSync(join(tmpdir(), 'zkml-bench-fleet-'));
const children: ChildProcess[] = [];

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** Resolves once something accepts connections on the port (redis-server starting up). */
async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await new Promise<boolean>((resolve) => connect(port, '127.0.0.1').once('connect', function (this: any) { this.end(); resolve(true); }).once('error', () => resolve(false))))) {
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on port ${port} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** CPU time (user + system) of another process, in ms, from /proc (Linux; clock ticks of 10 ms). */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14 and 15 of the line)
}
const ownCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

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

/** Collects, for one batch, when each result arrived and the proving time the pool reported for it. */
function recorder() {
  const stamps: number[] = [];
  const proving: number[] = [];
  return {
    onProgress: (e: BatchEvent) => {
      if (e.kind !== 'input' || e.status !== 'proven') return;
      stamps.push(performance.now());
      proving.push((e.witnessMs ?? 0) + (e.proveMs ?? 0));
    },
    /** Steady state: the n intervals between the first and the last of n + 1 results. */
    steadyMsPerJob: () => (stamps.at(-1)! - stamps[0]) / (stamps.length - 1),
    provingMsPerJob: () => proving.slice(1).reduce((a, b) => a + b, 0) / (proving.length - 1),
  };
}

function startWorker(url: string, builds: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [ZKML, 'worker', '--queue', url, '--builds', builds, '--workers', '1', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => String(c).includes('"event":"worker"') && resolve(child));
    child.once('exit', (code) => reject(new Error(`zkml worker exited (${code}) before it was ready`)));
  });
}

async function stop(child: ChildProcess) {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('close', r));
}

/**
 * Every input must be proven. One failure is tolerated and counted: the submitter (src/fleet/submit.ts) can read
 * a job while it is still active and its state just after it completed, and then finds no result in the job
 * it read ("writing the result failed: Cannot read properties of null"). The proof was made, so the timing
 * stands; the count goes into the report until the submitter re-reads the job.
 */
let resultReadRaces = 0;
function check(summary: { proven: number; total: number; errors: { id: string; error: string; code?: string }[] }) {
  const races = summary.errors.filter((e) => e.code === 'E_RESULT' && /reading 'publicSignals'/.test(e.error));
  resultReadRaces += races.length;
  if (summary.proven + races.length !== summary.total) throw new Error(`${summary.total - summary.proven} of ${summary.total} inputs not proven: ${JSON.stringify(summary.errors.find((e) => !races.includes(e)))}`);
}

const round = (x: number, digits = 1) => Number(x.toFixed(digits));

try {
  const build = join(tmp, 'builds', 'gemm');
  run(['compile', FIXTURE, '-o', build]);
  run(['setup', build]);
  const constraints: number = JSON.parse(readFileSync(join(build, 'manifest.json'), 'utf8')).constraints;
  const port = await freePort();
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  children.push(redis);
  await waitForPort(port);
  const url = `redis://127.0.0.1:${port}/0`;

  // The local batch: one pool worker, in this process.
  const local = recorder();
  const localStarted = performance.now();
  check(await proveBatch(build, inputs(n + 1), { out: join(tmp, `local-${batches}`), workers: 1, onProgress: local.onProgress }));
  const localWallMs = performance.now() - localStarted;

  const fleet = [];
  for (const count of [1, 2, 3]) {
    const workers = await Promise.all(Array.from({ length: count }, () => startWorker(url, join(tmp, 'builds'))));
    check(await submitBatch(build, inputs(count * 2), { queue: url, out: join(tmp, `warm-${batches}`) }));
    const rec = recorder();
    const [cpu0, redis0, t0] = [ownCpuMs(), cpuMsOf(redis.pid!), performance.now()];
    // The default poll (2 s): results arrive through BullMQ's events; the poll is only a safety net.
    check(await submitBatch(build, inputs(n + 1), { queue: url, out: join(tmp, `fleet-${batches}`), onProgress: rec.onProgress }));
    const [cpu1, redis1, t1] = [ownCpuMs(), cpuMsOf(redis.pid!), performance.now()];
    fleet.push({
      workers: count,
      proofsPerSecond: round(((n + 1) * 1000) / (t1 - t0), 2),
      steadyProofsPerSecond: round(1000 / rec.steadyMsPerJob(), 2),
      steadyMsPerJob: round(rec.steadyMsPerJob()),
      provingMsPerJob: round(rec.provingMsPerJob()),
      submitterCpuMsPerJob: round((cpu1 - cpu0) / (n + 1), 2),
      redisCpuMsPerJob: round((redis1 - redis0) / (n + 1), 2),
    });
    for (const w of workers) await stop(w);
  }

  // Time per job spent outside witness + proof, local against one fleet worker (same pool, same threading):
  // subtracting each batch's own proving time keeps the load of this shared machine out of the difference.
  const localOther = local.steadyMsPerJob() - local.provingMsPerJob();
  const fleetOther = fleet[0].steadyMsPerJob - fleet[0].provingMsPerJob;
  console.log(
    JSON.stringify(
      {
        build: 'gemm_basic',
        constraints,
        inputs: n + 1,
        cores: availableParallelism(),
        redis: redisVersion,
        loadAverageAtEnd: round(loadavg()[0], 2),
        local: { workers: 1, wallMs: Math.round(localWallMs), steadyMsPerJob: round(local.steadyMsPerJob()), provingMsPerJob: round(local.provingMsPerJob()), steadyProofsPerSecond: round(1000 / local.steadyMsPerJob(), 2) },
        fleet,
        queueOverheadPerJobMs: round(fleetOther - localOther),
        resultReadRaces,
        // The central pieces are single-threaded: whichever spends more CPU per job caps the whole fleet.
        centralCpuMsPerJob: round(Math.max(...fleet.map((f) => Math.max(f.submitterCpuMsPerJob, f.redisCpuMsPerJob))), 2),
      },
      null,
      2,
    ),
  );
} finally {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
}
