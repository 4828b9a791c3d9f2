/**
 * The proving fleet (src/fleet/): a real redis-server, three `zkml worker` processes, one killed mid-proof.
 * Every input is proven exactly once and verifies; a job whose build no worker has ends in the failed set with
 * its error; the other workers stop cleanly on SIGTERM. Lock and stall timings are shortened through the
 * environment so a killed worker's job is redelivered within seconds.
 */
import { TEST_CACHE } from './helpers/cache.ts';
process.env.ZKML_CACHE = TEST_CACHE;
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './helpers/models.ts';
import { ZKML, zkml } from './helpers/cli.ts';
import { verify } from '../src/prove/verify.ts';
import { releaseCurve } from '../src/util/snark.ts';
import { openQueue, type ProveJobResult } from '../src/fleet/queue.ts';
import { batchStatus } from '../src/fleet/status.ts';
import { startFleetWorker } from '../src/fleet/worker.ts';
import { ZkmlError } from '../src/util/errors.ts';
import { availableParallelism } from 'node:os';

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'models', 'gemm_basic.onnx');
const FLEET_ENV = { ZKML_FLEET_LOCK_MS: '2000', ZKML_FLEET_STALLED_MS: '1000', ZKML_FLEET_BACKOFF_MS: '200' };

let tmp: string;
let build: string;
let redis: ChildProcess | undefined;
let url: string;
const children: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** A child process with its stdout split into lines. */
function spawnZkml(args: string[], onLine: (line: string) => void = () => {}) {
  const child = spawn(process.execPath, [ZKML, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...FLEET_ENV } });
  children.push(child);
  let buffered = '';
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c));
  child.stdout!.on('data', (c: Buffer) => {
    stdout += c;
    buffered += c;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    lines.forEach(onLine);
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

const events = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));

before(async () => {
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Error('redis-server is not on PATH: the fleet test needs a real Redis. Install it (apt-get install redis-server, or npm run pretest, which runs scripts/setup-system.sh).');
  }
  tmp = tempDir('fleet');
  const port = await freePort();
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let log = '';
    redis!.stdout!.on('data', (c: Buffer) => {
      log += c;
      if (log.includes('Ready to accept connections')) resolve();
    });
    redis!.on('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${log}`)));
  });
  url = `redis://127.0.0.1:${port}/0`;

  build = join(tmp, 'builds', 'gemm');
  for (const args of [['compile', FIXTURE, '-o', build], ['setup', build]]) {
    const r = zkml(args);
    assert.equal(r.status, 0, `zkml ${args[0]}: ${r.stderr}`);
  }
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  redis?.kill('SIGKILL');
  await releaseCurve();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('three workers, one killed mid-proof: every input proven once and verified; a job without a build fails', async () => {
  // Three workers; the first is killed as soon as it starts its first job (loading the build takes ~1 s).
  const workers = [0, 1, 2].map((i) => {
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    const w = spawnZkml(['worker', '--queue', url, '--workers', '1', '--builds', join(tmp, 'builds'), '--json'], (line) => {
      const e = JSON.parse(line);
      if (e.event === 'worker') ready();
      if (i === 0 && e.event === 'job' && e.kind === 'active' && !killed) {
        killed = e.jobId;
        w.child.kill('SIGKILL');
      }
    });
    return { ...w, isReady };
  });
  let killed: string | undefined;
  await Promise.all(workers.map((w) => w.isReady));

  const inputs = join(tmp, 'inputs.jsonl');
  const base: number[] = JSON.parse(readFileSync(FIXTURE.replace(/\.onnx$/, '.input.json'), 'utf8')).input_data[0];
  writeFileSync(inputs, Array.from({ length: 6 }, (_, i) => JSON.stringify({ input_data: [base.map((v, k) => (k === i ? -v : v))] })).join('\n') + '\n');

  // The poison: a build whose manifest.json (and so its hash) no worker has.
  const foreign = join(tmp, 'elsewhere', 'gemm');
  cpSync(build, foreign, { recursive: true });
  appendFileSync(join(foreign, 'manifest.json'), '\n');
  const poisonInputs = join(tmp, 'poison.jsonl');
  writeFileSync(poisonInputs, JSON.stringify({ input_data: [base] }) + '\n');

  const out = join(tmp, 'out');
  const poisonOut = join(tmp, 'poison-out');
  // One after the other, so that the job the first worker dies on is one of the main batch's.
  const main = await spawnZkml(['prove', build, '--inputs', inputs, '--queue', url, '-o', out, '--json']).done;
  const poison = await spawnZkml(['prove', foreign, '--inputs', poisonInputs, '--queue', url, '-o', poisonOut, '--json']).done;

  assert.equal(main.code, 0, main.stderr);
  assert.ok(killed, 'the first worker was killed mid-job');
  assert.equal(workers[0].child.signalCode, 'SIGKILL');
  const mainBatch = events(main.stdout).find((e) => e.event === 'batch');
  assert.deepEqual([mainBatch.total, mainBatch.proven, mainBatch.failed], [6, 6, 0]);
  const ids = Array.from({ length: 6 }, (_, i) => `line-${i + 1}`);
  assert.deepEqual(readdirSync(out).sort(), ids, 'one result folder per input and nothing else');
  for (const id of ids) assert.deepEqual(readdirSync(join(out, id)).sort(), ['output.json', 'proof.json', 'public.json'], id);
  const v = await verify(build, out);
  assert.equal(v.valid, true);
  assert.equal(v.results.length, 6);

  // The killed worker's job was redelivered and proven by another worker.
  const queue = openQueue(url);
  try {
    const job = await queue.getJob(killed!);
    assert.equal(await job!.getState(), 'completed');
    assert.notEqual((job!.returnvalue as ProveJobResult).worker.split(':')[1], String(workers[0].child.pid));
  } finally {
    await queue.close();
  }

  assert.equal(poison.code, 1);
  const poisonBatch = events(poison.stdout).find((e) => e.event === 'batch');
  assert.deepEqual([poisonBatch.total, poisonBatch.proven, poisonBatch.failed], [1, 0, 1]);
  const [err] = readFileSync(join(poisonOut, 'errors.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(err.id, 'line-1');
  assert.match(err.error, /E_NO_BUILD: .*no build whose manifest\.json has sha256 [0-9a-f]{64} under /);

  const status = zkml(['status', '--queue', url, poisonBatch.batchId, '--json']);
  assert.equal(status.status, 1);
  const s = events(status.stdout).find((e) => e.event === 'status');
  assert.deepEqual(s.counts, { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 1 });
  assert.equal(s.failed[0].attempts, 3);
  assert.match(s.failed[0].error, /E_NO_BUILD/);
  const mainStatus = events(zkml(['status', '--queue', url, mainBatch.batchId, '--json']).stdout).find((e) => e.event === 'status');
  assert.equal(mainStatus.counts.completed, 6);

  // Resubmitting the same batch collects nothing new: every result is current.
  const again = spawnSync(process.execPath, [ZKML, 'prove', build, '--inputs', inputs, '--queue', url, '-o', out, '--json'], { encoding: 'utf8' });
  assert.equal(again.status, 0, again.stderr);
  const againBatch = events(again.stdout).find((e) => e.event === 'batch');
  assert.deepEqual([againBatch.batchId, againBatch.skipped, againBatch.enqueued], [mainBatch.batchId, 6, 0]);

  // The surviving workers stop cleanly on SIGTERM.
  for (const w of workers.slice(1)) w.child.kill('SIGTERM');
  for (const w of workers.slice(1)) {
    const r = await w.done;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(events(r.stdout).some((e) => e.event === 'stopped'));
  }
});

test('a fleet worker wider than the machine warns; its pool starts only the threads its jobs use', async () => {
  const cores = availableParallelism();
  const w = await startFleetWorker({ queue: url, workers: cores + 1, builds: join(tmp, 'builds') });
  try {
    assert.equal(w.workers, cores + 1);
    assert.match(w.warnings.join('\n'), new RegExp(`--workers ${cores + 1} asks for more workers than this machine's ${cores} core`));
  } finally {
    await w.close();
  }
});

test('an unreachable Redis fails at once, with one message, for every command that uses the queue', async () => {
  const port = await freePort();
  const closed = `redis://127.0.0.1:${port}/0`;
  // A connection timeout far away: the failure must come from the refusal itself, not from waiting it out.
  const env = { ...FLEET_ENV, ZKML_FLEET_CONNECT_MS: '20000' };
  const inputs = join(tmp, 'unreachable.jsonl');
  writeFileSync(inputs, '{"input_data": [[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.5]]}\n');
  const commands = [
    ['status', '--queue', closed, '0123456789abcdef'],
    ['prove', build, '--inputs', inputs, '--queue', closed, '-o', join(tmp, 'unreachable-out')],
    ['worker', '--queue', closed, '--builds', join(tmp, 'builds')],
  ];
  for (const args of commands) {
    const r = zkml(args, env);
    const text = r.stdout + r.stderr;
    assert.equal(r.status, 1, `zkml ${args[0]}: ${text}`);
    assert.match(text, new RegExp(`cannot reach Redis at 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`), `zkml ${args[0]}`);
    assert.equal(text.match(/ECONNREFUSED/g)?.length, 1, `zkml ${args[0]}: one message, not one per retry:\n${text}`);
  }
  await assert.rejects(batchStatus(closed, '0123456789abcdef'), (err: unknown) => err instanceof ZkmlError && err.code === 'E_QUEUE_UNREACHABLE');
});

test('a --detach submission prints its batch id; status reports it; a URL that is not Redis\'s fails clearly', async () => {
  const inputs = join(tmp, 'detach.jsonl');
  writeFileSync(inputs, '{"input_data": [[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.25]]}\n');
  const d = zkml(['prove', build, '--inputs', inputs, '--queue', url, '-o', join(tmp, 'detach-out'), '--detach', '--json'], FLEET_ENV);
  assert.equal(d.status, 0, d.stderr);
  const b = events(d.stdout).find((e) => e.event === 'batch');
  assert.equal(b.detached, true);
  assert.match(b.batchId, /^[0-9a-f]{16}$/);
  const s = events(zkml(['status', '--queue', url, b.batchId, '--json']).stdout).find((e) => e.event === 'status');
  assert.deepEqual(s.counts, { waiting: 1, active: 0, delayed: 0, completed: 0, failed: 0 });

  const typo = zkml(['status', '--queue', 'http://127.0.0.1/0', b.batchId]);
  assert.match(typo.stderr, /unsupported scheme http:/);
});
