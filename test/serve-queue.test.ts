/**
 * `zkml serve --queue`: proofs made by a `zkml worker` process through BullMQ on a real redis-server (127.0.0.1,
 * a free port). An inference accepted while no worker runs is proven by a worker started after the server
 * stopped, and the restarted server records it: nothing proven is lost. Two servers sharing one data folder and
 * one queue: an inference posted to one is followed to its proof on the other (server-sent events), and a batch
 * posted to both ends with every inference proven once and valid, and no input left in Redis. A job no worker
 * can prove ends failed with the worker's reason. `zkml serve --queue` with no Redis fails at once.
 */
import { TEST_CACHE } from './helpers/cache.ts';
process.env.ZKML_CACHE = TEST_CACHE;
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './helpers/models.ts';
import { ZKML, zkml } from './helpers/cli.ts';
import { serve, type Server } from '../src/serve/index.ts';
import { Client } from '../src/client/index.ts';
import { openQueue } from '../src/fleet/queue.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'models');
const MODEL = readFileSync(join(FIXTURES, 'gemm_basic.onnx'));
const INPUT = JSON.parse(readFileSync(join(FIXTURES, 'gemm_basic.input.json'), 'utf8'));
const KEY = 'test-key-queue-0123456789';

let dataDir: string;
let redis: ChildProcess | undefined;
let url: string;
let model: string;
const servers: Server[] = [];
const workers: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function startServer(): Promise<{ server: Server; client: Client }> {
  const server = await serve({ dataDir, port: 0, apiKey: KEY, workers: 1, queue: url });
  servers.push(server);
  return { server, client: new Client(server.url, { apiKey: KEY }) };
}

async function stopServer(server: Server): Promise<void> {
  await server.close();
  servers.splice(servers.indexOf(server), 1);
}

/** `zkml worker` on the data folder's builds; resolves once it takes jobs. */
const completed = new Map<ChildProcess, string[]>();

async function startWorker(builds = join(dataDir, 'models')): Promise<ChildProcess> {
  const child = spawn(process.execPath, [ZKML, 'worker', '--queue', url, '--builds', builds, '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  workers.push(child);
  completed.set(child, []);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c;
      if (/"event":"worker"/.test(out)) resolve();
      const lines = out.split('\n');
      completed.set(child, lines.slice(0, -1).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((e) => e.event === 'job' && e.kind === 'completed').map((e) => e.jobId));
    });
    child.on('exit', (code) => reject(new Error(`zkml worker exited (${code}) before it was ready:\n${out}`)));
  });
  return child;
}

/** SIGTERM, then SIGKILL after 10 s: stopping cleanly is test/fleet.test.ts' concern, not this file's. */
async function stopWorker(child: ChildProcess): Promise<void> {
  const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.on('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
  workers.splice(workers.indexOf(child), 1);
}

/** The service's jobs still in Redis (each holds a witness input until its result is recorded). */
async function queued(): Promise<string[]> {
  const queue = openQueue(url);
  try {
    const jobs = await queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized']);
    return jobs.filter((j) => j?.id?.startsWith('serve.')).map((j) => j.id!);
  } finally {
    await queue.close();
  }
}

before(async () => {
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Error('redis-server is not on PATH: this test needs a real Redis. Install it (apt-get install redis-server, or npm run pretest, which runs scripts/setup-system.sh).');
  }
  dataDir = tempDir('serve-queue');
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
});

after(async () => {
  for (const w of [...workers]) await stopWorker(w);
  for (const s of [...servers]) await s.close();
  redis?.kill('SIGTERM');
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('accepted with no worker running, proven by a worker while the server is down, recorded at restart', { timeout: 120_000 }, async () => {
  const a = await startServer();
  model = (await a.client.uploadModel(MODEL, { inputRange: [-1, 1] })).id;
  await a.client.waitForModel(model);
  const r = await a.client.infer(model, INPUT);
  assert.equal(r.status, 'unproven');
  // Nobody proves it yet: the job waits in Redis.
  await new Promise((res) => setTimeout(res, 300));
  assert.notEqual((await a.client.getInference(r.id)).status, 'proven');
  const [bullId] = await queued();
  assert.ok(bullId, 'the proof job is on the queue');
  await stopServer(a.server);

  // The worker proves it with no server running; the result waits in Redis.
  const worker = await startWorker();
  const queue = openQueue(url);
  try {
    for (let state = ''; state !== 'completed'; state = (await (await queue.getJob(bullId))!.getState()) as string) {
      assert.notEqual(state, 'failed');
      await new Promise((res) => setTimeout(res, 200));
    }
  } finally {
    await queue.close();
  }

  const b = await startServer();
  assert.equal(b.server.resumed, 1);
  const proven = await b.client.waitForProof(r.id, { timeoutMs: 30_000 });
  assert.deepEqual(proven.output, r.output, 'the proven output is the one served before the restart');
  assert.deepEqual(await b.client.verify(model, proven.proof, proven.publicSignals), { valid: true });
  assert.deepEqual(await queued(), [], 'collected: the queue holds no copy of the input');
  await stopServer(b.server);
  await stopWorker(worker);
});

test('two servers sharing one data folder and one queue: posted to one, followed on the other; a batch on both all proven once', { timeout: 90_000 }, async () => {
  const worker = await startWorker();
  const c = await startServer();
  const d = await startServer();
  // Posted to C, waited for on D over server-sent events: D hears of the proof through the queue's events.
  const r = await c.client.infer(model, INPUT);
  const onD = await d.client.waitForProof(r.id, { timeoutMs: 30_000 });
  assert.deepEqual(onD.output, r.output);
  assert.deepEqual(await d.client.verify(model, onD.proof, onD.publicSignals), { valid: true });

  // A batch alternating between the two servers.
  const posted = await Promise.all(Array.from({ length: 6 }, (_, k) => (k % 2 ? c : d).client.infer(model, INPUT)));
  const done = await Promise.all(posted.map((p) => p.proof));
  for (const [k, p] of done.entries()) {
    assert.equal(p.status, 'proven');
    assert.deepEqual(p.output, posted[k].output);
    assert.deepEqual(await c.client.verify(model, p.proof, p.publicSignals), { valid: true });
  }
  const rows = c.server.store.db.prepare("SELECT status, count(*) AS n FROM jobs WHERE kind = 'prove' GROUP BY status").all();
  assert.deepEqual(rows, [{ status: 'done', n: 8 }]);
  const payloads = c.server.store.db.prepare("SELECT count(*) AS n FROM jobs WHERE payload IS NOT NULL").get() as { n: number };
  assert.equal(payloads.n, 0);
  // Each inference proved once: the worker completed 7 jobs, all distinct.
  const proofs = completed.get(worker)!;
  assert.equal(proofs.length, 7, proofs.join(' '));
  assert.equal(new Set(proofs).size, 7);
  assert.deepEqual(await queued(), []);
  await stopServer(c.server);
  await stopServer(d.server);
  await stopWorker(worker);
});

test('a job no worker can prove (none has the build) ends failed after its retries, with the reason, and leaves Redis', { timeout: 60_000 }, async () => {
  const empty = tempDir('serve-queue-nobuild');
  const worker = await startWorker(empty);
  const e = await startServer();
  try {
    const r = await e.client.infer(model, INPUT);
    await assert.rejects(r.proof, (err: Error & { code?: string }) => err.code === 'E_PROOF_FAILED' && /E_NO_BUILD/.test(err.message));
    const row = await e.client.getInference(r.id);
    assert.equal(row.status, 'failed');
    assert.equal(row.proof, null);
    assert.deepEqual(row.output, r.output, 'the served output is kept, unproven');
    assert.deepEqual(await queued(), []);
  } finally {
    await stopServer(e.server);
    await stopWorker(worker);
    rmSync(empty, { recursive: true, force: true });
  }
});

test('zkml serve --queue with no Redis there: one clear error, before listening', async () => {
  const dir = tempDir('serve-queue-cli');
  try {
    const port = await freePort();
    const r = zkml(['serve', '--port', '0', '--data', dir, '--queue', `redis://127.0.0.1:${port}/0`], { ZKML_API_KEY: KEY });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /cannot reach Redis at 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    assert.doesNotMatch(r.stdout, /listening/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
