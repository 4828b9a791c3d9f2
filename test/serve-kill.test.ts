/**
 * The kill guarantee of `zkml serve --queue`: a server and a `zkml worker` (child processes, real redis-server on
 * 127.0.0.1) are killed with SIGKILL in the middle of a batch, then started again on the same data folder and
 * queue. Every inference the server accepted (answered 202) ends proven, its proof verifies against the model's
 * verification key (checked here with snarkjs, not by asking the server), nothing is lost, no inference is
 * recorded twice or made up, and Redis keeps no copy of any input afterwards. (A server killed right after
 * accepting a model: test/serve-cli.test.ts.)
 *
 * A killed worker's job comes back through BullMQ's stalled-job check once its lock lapses (shortened here via
 * ZKML_FLEET_LOCK_MS / ZKML_FLEET_STALLED_MS); a killed server's jobs are found running in the store at its next
 * start and collected from the queue (src/serve/queue.ts).
 */
import { TEST_CACHE } from './helpers/cache.ts';
process.env.ZKML_CACHE = TEST_CACHE;
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { tempDir } from './helpers/models.ts';
import { redisVersion, startRedis, startServe, startWorker, stop, stopAll } from './helpers/serve-procs.ts';
import { Client } from '../src/client/index.ts';
import { openQueue } from '../src/fleet/queue.ts';
import { loadSnarkjs } from '../src/util/snark.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'models');
const MODEL = readFileSync(join(FIXTURES, 'gemm_basic.onnx'));
const BASE: number[] = JSON.parse(readFileSync(join(FIXTURES, 'gemm_basic.input.json'), 'utf8')).input_data[0];
const KEY = 'test-key-kill-0123456789';
const BATCH = 12;
/** A dead worker's lock lapses after 2 s and the stall check runs every second: the job comes back quickly. */
const FAST_STALL = { ZKML_FLEET_LOCK_MS: '2000', ZKML_FLEET_STALLED_MS: '1000' };
const ENV = { ZKML_API_KEY: KEY, ZKML_CACHE: TEST_CACHE, ...FAST_STALL };
/** snarkjs' prover (~0.3 s a proof here, the native one ~10× faster): the batch lasts long enough to be killed mid-way. */
const WORKER_ENV = { ...ENV, ZKML_PROVER: 'snarkjs' };

let dataDir: string | undefined;

after(async () => {
  await stopAll();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('server and worker killed with SIGKILL mid-batch, restarted: every accepted inference proven once, valid, nothing left in Redis', { timeout: 120_000, skip: redisVersion() ? false : 'redis-server is not installed (apt-get install redis-server)' }, async () => {
  dataDir = tempDir('serve-kill');
  const redis = await startRedis();
  const builds = join(dataDir, 'models');

  let server = await startServe(dataDir, ['--queue', redis.url], ENV);
  let client = new Client(server.url, { apiKey: KEY });
  const model = (await client.uploadModel(MODEL, { inputRange: [-1, 1] })).id;
  const vkey = (await client.waitForModel(model)).verificationKey;
  let worker = await startWorker(redis.url, builds, ['--workers', '1'], WORKER_ENV);

  // Distinct inputs, so each inference is its own statement.
  const inputs = Array.from({ length: BATCH }, (_, k) => ({ input_data: [BASE.map((v, i) => (i === 0 ? -0.9 + k * 0.075 : v))] }));
  const accepted = await Promise.all(inputs.map(async (input) => {
    const res = await fetch(`${server.url}/v1/models/${model}/inferences`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify({ input }) });
    assert.equal(res.status, 202);
    return (await res.json()) as { id: string; output: unknown };
  }));

  // Mid-batch: some proven, not all, and the worker in the middle of a job (its lock held: the stalled-job path).
  // Read from the store itself (WAL: a reader beside the server) rather than through the API's rate limit.
  const watch = new Database(join(dataDir, 'zkml.db'), { readonly: true });
  const provenCount = () => (watch.prepare("SELECT count(*) AS n FROM inferences WHERE status = 'proven'").get() as { n: number }).n;
  const queue = openQueue(redis.url);
  let before = 0;
  try {
    while (((before = provenCount()) < 2 || (await queue.getActiveCount()) === 0) && before < BATCH) await new Promise((r) => setTimeout(r, 20));
  } finally {
    watch.close();
    await Promise.all([stop(server.child, 'SIGKILL'), stop(worker, 'SIGKILL')]);
  }
  if (before >= BATCH) {
    await queue.close();
    assert.fail(`the batch ended before the kill (${before} of ${BATCH} proven): make it larger`);
  }

  worker = await startWorker(redis.url, builds, ['--workers', '1'], WORKER_ENV);
  server = await startServe(dataDir, ['--queue', redis.url], ENV);
  assert.ok(server.resumed > 0, 'the restarted server found the unfinished jobs in the store');
  client = new Client(server.url, { apiKey: KEY });

  const snarkjs = await loadSnarkjs();
  for (const a of accepted) {
    const p = await client.waitForProof(a.id, { timeoutMs: 60_000 });
    assert.equal(p.status, 'proven');
    assert.deepEqual(p.output, a.output, 'the proven output is the one served before the kill');
    assert.equal(await snarkjs.groth16.verify(vkey as never, p.publicSignals, p.proof as never), true, `inference ${a.id}: the proof verifies against the model's key`);
  }

  // The store: exactly the accepted inferences, each with one finished proof job and no input left.
  const db = new Database(join(dataDir, 'zkml.db'), { readonly: true });
  try {
    const ids = (db.prepare('SELECT id FROM inferences ORDER BY id').all() as { id: string }[]).map((r) => r.id);
    assert.deepEqual(ids, accepted.map((a) => a.id).sort(), 'no inference lost or made up');
    const jobs = db.prepare("SELECT target, status, payload FROM jobs WHERE kind = 'prove'").all() as { target: string; status: string; payload: string | null }[];
    assert.equal(jobs.length, BATCH, 'one proof job per inference');
    assert.equal(new Set(jobs.map((j) => j.target)).size, BATCH);
    assert.ok(jobs.every((j) => j.status === 'done' && j.payload === null), JSON.stringify(jobs.filter((j) => j.status !== 'done')));
  } finally {
    db.close();
  }

  // Collected: no witness input stays in Redis (a server killed between recording a proof and removing its
  // queue job leaves the job behind; the next start sweeps it).
  try {
    for (let tries = 0; ; tries++) {
      const left = (await queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized'])).filter((j) => j?.id?.startsWith('serve.'));
      if (left.length === 0) break;
      assert.ok(tries < 50, `jobs left in Redis: ${left.map((j) => j.id).join(' ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await queue.close();
  }
  await stop(server.child);
  await stop(worker);
});
