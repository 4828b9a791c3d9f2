/**
 * `zkml serve` end to end on 127.0.0.1 (a free port) and a temporary data folder: a model uploaded, built once
 * (content-addressed), an inference answered at once and proven behind it through the typed client, the proof
 * valid and a tampered one not, the API key on writes only, 4xx errors naming the field, a dishonest prover unable
 * to get an inference marked proven, and the state (models, inferences, an interrupted proof job) surviving
 * restarts on the same data folder. (The CLI command: test/serve-cli.test.ts;
 * killed servers and workers: test/serve-kill.test.ts.)
 */
import { TEST_CACHE } from './helpers/cache.ts';
process.env.ZKML_CACHE = TEST_CACHE;
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers/models.ts';
import { serve, modelId, type Server } from '../src/serve/index.ts';
import { Client, ZkmlServeError } from '../src/client/index.ts';
import { readEvents } from '../src/client/events.ts';
import { proveInput } from '../prover/worker.ts';
import type { Prover } from '../src/serve/jobs.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'models');
const MODEL = readFileSync(join(FIXTURES, 'gemm_basic.onnx'));
const INPUT = JSON.parse(readFileSync(join(FIXTURES, 'gemm_basic.input.json'), 'utf8'));
const OPTIONS = { inputRange: [-1, 1] };
const KEY = 'test-key-0123456789';

let dataDir: string;
let server: Server;
let client: Client;
let model: string;
/** An inference proven by the first server. */
let first: { id: string; output: unknown; proof: { pi_a: string[]; pi_b: string[][]; pi_c: string[] }; publicSignals: string[] };

async function start(opts: { prover?: Prover } = {}): Promise<void> {
  server = await serve({ dataDir, port: 0, apiKey: KEY, workers: 1, prover: opts.prover });
  client = new Client(server.url, { apiKey: KEY, pollSeconds: 5 });
}

const post = (path: string, body: unknown, key: string | null = KEY) =>
  fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) }, body: JSON.stringify(body) });

async function error(res: Response): Promise<{ status: number; error: string; field?: string; message: string }> {
  return { status: res.status, ...((await res.json()) as { error: string; field?: string; message: string }) };
}

before(async () => {
  dataDir = tempDir('serve');
  await start();
  const up = await client.uploadModel(MODEL, OPTIONS);
  assert.equal(up.created, true);
  model = up.id;
  const m = await client.waitForModel(model);
  assert.equal(m.status, 'ready');
});

after(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('a ready model has its manifest summary, verification key and Solidity verifier', async () => {
  const m = await client.getModel(model);
  assert.equal(m.id, model);
  assert.match(m.zkmlModelId!, /^\d+$/);
  assert.deepEqual((m.manifest as { inputs: { name: string }[] }).inputs.length, 1);
  assert.equal((m.verificationKey as { protocol: string }).protocol, 'groth16');
  assert.match(m.solidityVerifier!, /contract \w+/);
  assert.deepEqual((await client.listModels()).map((x) => x.id), [model]);
  const doc = (await (await fetch(`${server.url}/v1/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
  assert.equal(doc.openapi, '3.1.0');
  for (const p of ['/v1/models', '/v1/models/{id}', '/v1/models/{id}/inferences', '/v1/inferences/{id}', '/v1/verify']) assert.ok(doc.paths[p], p);
});

test('infer: the output at once, unproven; the proof behind it, with the same output; valid, and a tampered one not', async () => {
  const r = await client.infer(model, INPUT);
  assert.equal(r.status, 'unproven');
  assert.equal(r.output.outputs.length, 1);
  const proven = await r.proof;
  assert.equal(proven.status, 'proven');
  assert.equal(proven.proven, true);
  assert.deepEqual(proven.output, r.output, 'the proven output is the served one');
  assert.equal(proven.settlement, null, 'no --rpc-url: nothing settled on chain');
  await assert.rejects(client.waitForSettlement(r.id), (err: Error & { code?: string }) => err.code === 'E_NOT_SETTLED');
  assert.equal(proven.publicSignals.length > 0, true);
  // The served output is the proof's public signals decoded: the output tensor's integers are among them.
  for (const v of r.output.outputs[0].ints) assert.ok(proven.publicSignals.some((s) => s === v || BigInt(s) - 21888242871839275222246405745257275088548364400416034343698204186575808495617n === BigInt(v)));
  assert.deepEqual(await client.verify(model, proven.proof, proven.publicSignals), { valid: true });
  const badPoint = { ...proven.proof, pi_a: [(BigInt(proven.proof.pi_a[0]) + 1n).toString(), ...proven.proof.pi_a.slice(1)] };
  assert.deepEqual(await client.verify(model, badPoint, proven.publicSignals), { valid: false });
  const badSignal = [(BigInt(proven.publicSignals[0]) + 1n).toString(), ...proven.publicSignals.slice(1)];
  assert.deepEqual(await client.verify(model, proven.proof, badSignal), { valid: false });
  first = { id: r.id, output: r.output, proof: proven.proof, publicSignals: proven.publicSignals };

  // The input is hashed (the default visibility): it is in no answer, and the proof job's copy is gone.
  const text = JSON.stringify(await client.getInference(r.id)) + JSON.stringify(await (await fetch(`${server.url}/v1/inferences`)).json());
  assert.doesNotMatch(text, /input_data|"input"/);
  const rows = server.store.db.prepare("SELECT payload FROM jobs WHERE kind = 'prove'").all() as { payload: string | null }[];
  assert.deepEqual(rows, [{ payload: null }]);
  assert.equal(statSync(join(dataDir, 'zkml.db')).mode & 0o077, 0, 'the database is the owner\'s only');
});

test('GET /v1/inferences/{id} as server-sent events: the state at once and at each change, the stream ending once proven; ?wait long-polls to the end', async () => {
  const i = (await (await post(`/v1/models/${model}/inferences`, { input: INPUT })).json()) as { id: string; status: string; output: unknown };
  const res = await fetch(`${server.url}/v1/inferences/${i.id}`, { headers: { accept: 'text/event-stream' } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/event-stream/);
  const seen: { status: string; output: unknown; proof: unknown; publicSignals: string[] | null }[] = [];
  for await (const e of readEvents(res.body!)) {
    assert.equal(e.event, 'inference');
    seen.push(JSON.parse(e.data));
  }
  // The stream ended by itself (the loop above returned): the last event is the final state.
  const statuses = seen.map((x) => x.status);
  assert.equal(statuses.at(-1), 'proven', statuses.join(' '));
  assert.ok(statuses.every((s) => ['unproven', 'proving', 'proven'].includes(s)), statuses.join(' '));
  assert.equal(new Set(statuses).size, statuses.length, 'each state once');
  const last = seen.at(-1)!;
  assert.deepEqual(last.output, i.output);
  assert.deepEqual(await client.verify(model, last.proof as never, last.publicSignals!), { valid: true });
  // A stream opened on a finished inference gives its final state and ends.
  const again = await fetch(`${server.url}/v1/inferences/${i.id}`, { headers: { accept: 'text/event-stream' } });
  const events = [];
  for await (const e of readEvents(again.body!)) events.push(JSON.parse(e.data));
  assert.deepEqual(events, [last]);
  // Long poll: a fresh inference, one request answered once it is proven.
  const j = (await (await post(`/v1/models/${model}/inferences`, { input: INPUT })).json()) as { id: string };
  const polled = (await (await fetch(`${server.url}/v1/inferences/${j.id}?wait=60`)).json()) as { status: string };
  assert.equal(polled.status, 'proven');
  assert.equal((await fetch(`${server.url}/v1/inferences/0123456789abcdef0123456789abcdef`, { headers: { accept: 'text/event-stream' } })).status, 404);
});

test('the same model and options give the same id and no second build; other options another id', async () => {
  const again = await client.uploadModel(MODEL, { ...OPTIONS });
  assert.deepEqual(again, { id: model, status: 'ready', created: false });
  const builds = server.store.db.prepare("SELECT count(*) AS n FROM jobs WHERE kind = 'build'").get() as { n: number };
  assert.equal(builds.n, 1);
  assert.equal(modelId(MODEL, { b: 1, a: 2 }), modelId(MODEL, { a: 2, b: 1 }), 'option order does not matter');
  assert.notEqual(modelId(MODEL, { inputRange: [-2, 2] }), model);
});

test('writes need the API key, reads do not', async () => {
  for (const key of [null, 'wrong-key']) {
    const e = await error(await post(`/v1/models/${model}/inferences`, { input: INPUT }, key));
    assert.equal(e.status, 401);
    assert.equal(e.field, 'authorization');
    const form = new FormData();
    form.append('model', new Blob([MODEL]), 'm.onnx');
    const headers = key ? { authorization: `Bearer ${key}` } : undefined;
    assert.equal((await fetch(`${server.url}/v1/models`, { method: 'POST', body: form, headers })).status, 401);
  }
  assert.equal((await fetch(`${server.url}/v1/models/${model}`)).status, 200);
  assert.equal((await fetch(`${server.url}/v1/inferences/${first.id}`)).status, 200);
  assert.equal((await post('/v1/verify', { modelId: model, proof: first.proof, publicSignals: first.publicSignals }, null)).status, 200);
});

test('every bad request gets a 4xx JSON error naming the field', async () => {
  const cases: [Promise<Response>, number, string][] = [
    [post(`/v1/models/${model}/inferences`, {}), 400, 'input'],
    [post(`/v1/models/${model}/inferences`, { input: INPUT, extra: 1 }), 400, 'extra'],
    [post(`/v1/models/${model}/inferences`, { input: { input_data: [[1, 2]] } }), 400, 'input'],
    [post(`/v1/models/${model}/inferences`, { input: { input_data: [Array(16).fill(5)] } }), 400, 'input'],
    [post('/v1/models/0123456789abcdef0123456789abcdef/inferences', { input: INPUT }), 404, 'id'],
    [post('/v1/verify', { modelId: model, proof: first.proof }), 400, 'publicSignals'],
    [post('/v1/verify', { modelId: 'nope', proof: first.proof, publicSignals: first.publicSignals }), 400, 'modelId'],
    [post('/v1/verify', { modelId: model, proof: { pi_a: [] }, publicSignals: first.publicSignals }), 400, 'proof.pi_b'],
    [post('/v1/verify', { modelId: model, proof: first.proof, publicSignals: ['1'] }), 400, 'publicSignals'],
    [fetch(`${server.url}/v1/inferences/${first.id}?wait=abc`), 400, 'wait'],
  ];
  const upload = (parts: [string, Blob | string][]) => {
    const form = new FormData();
    for (const [name, value] of parts) form.append(name, value);
    return fetch(`${server.url}/v1/models`, { method: 'POST', body: form, headers: { authorization: `Bearer ${KEY}` } });
  };
  cases.push([upload([['options', '{}']]), 400, 'model']);
  cases.push([upload([['model', new Blob([MODEL])], ['options', '{"scale": "x"}']]), 400, 'options.scale']);
  cases.push([upload([['model', new Blob([MODEL])], ['options', '{"path": "/etc"}']]), 400, 'options.path']);
  cases.push([upload([['model', new Blob([MODEL])], ['options', 'not json']]), 400, 'options']);
  cases.push([post('/v1/models', { model: 'x' }), 415, 'model']);
  for (const [res, status, field] of cases) {
    const e = await error(await res);
    assert.equal(e.status, status, `${field}: ${e.message}`);
    assert.equal(e.field, field, e.message);
    assert.equal(typeof e.message, 'string');
  }
  // A model that is not ONNX is accepted as a job and ends failed, with the reason; nothing else is touched.
  const bad = await client.uploadModel(new TextEncoder().encode('not an onnx model'), {});
  await assert.rejects(client.waitForModel(bad.id), (err: ZkmlServeError) => err.code === 'E_BUILD_FAILED');
  assert.equal((await client.getModel(model)).status, 'ready');
  const e = await error(await post(`/v1/models/${bad.id}/inferences`, { input: INPUT }));
  assert.equal(e.status, 409);
});

test('a prover whose proof is of other signals cannot get the inference marked proven', async () => {
  await server.close();
  // Proves a different input than the one the output was served for: a valid proof, of another output.
  const dishonest: Prover = (build, input) => proveInput({ build, input: Object.fromEntries(Object.entries(input).map(([k, v]) => [k, v.map((x, i) => (i === 0 ? String(BigInt(x) + 1n) : x))])), threads: 'single' });
  await start({ prover: dishonest });
  const r = await client.infer(model, INPUT);
  await assert.rejects(r.proof, (err: ZkmlServeError) => err.code === 'E_PROOF_FAILED' && /differ/.test(err.message));
  const row = await client.getInference(r.id);
  assert.equal(row.status, 'failed');
  assert.equal(row.proof, null);
  assert.deepEqual(row.output, r.output, 'the served output is kept, unproven');
});

test('after a restart the models and inferences are there, and a proof job interrupted by it completes', async () => {
  await server.close();
  // A prover that never answers, and the process "dies" with the job running: nothing more is written.
  await start({ prover: () => new Promise(() => {}) });
  const r = await client.infer(model, INPUT);
  assert.equal((await client.getInference(r.id)).status, 'proving');
  await server.app.close();
  server.store.close();

  await start();
  assert.equal(server.resumed, 1);
  assert.equal((await client.getModel(model)).status, 'ready');
  const kept = await client.getInference(first.id);
  assert.equal(kept.status, 'proven');
  assert.deepEqual(kept.proof, first.proof);
  assert.deepEqual(kept.output, first.output);
  const done = await client.waitForProof(r.id);
  assert.equal(done.status, 'proven');
  assert.deepEqual(done.output, r.output);
  assert.deepEqual(await client.verify(model, done.proof, done.publicSignals), { valid: true });
});

test('a build interrupted by a stop (job left running, partial folders) starts over and ends ready', async () => {
  const dir = tempDir('serve-build');
  try {
    // What a server killed mid-build leaves: the model and its job marked running, a partial build and staging folder.
    const { Store } = await import('../src/serve/store.ts');
    const store = new Store(dir);
    const id = modelId(MODEL, OPTIONS);
    mkdirSync(join(store.buildDir(id)), { recursive: true });
    writeFileSync(join(store.buildDir(id), 'manifest.json'), '{"partial');
    mkdirSync(join(store.modelDir(id), '.build.staging-x'));
    writeFileSync(store.modelFile(id), MODEL);
    store.addModel({ id, options: OPTIONS, modelSha256: 'x' }, 'job1');
    store.startJob('job1');
    store.close();

    const again = await serve({ dataDir: dir, port: 0, apiKey: KEY, workers: 1 });
    try {
      assert.equal(again.resumed, 1);
      const c = new Client(again.url, { apiKey: KEY });
      assert.equal((await c.waitForModel(id)).status, 'ready');
      assert.deepEqual(readdirSync(again.store.modelDir(id)).sort(), ['build', 'model.onnx']);
      const r = await c.infer(id, INPUT);
      assert.equal((await r.proof).status, 'proven');
    } finally {
      await again.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('request size and rate limits answer 413 and 429 as JSON errors', async () => {
  const dir = tempDir('serve-limits');
  const small = await serve({ dataDir: dir, port: 0, apiKey: KEY, rateLimit: 5, bodyLimit: 1024 });
  try {
    const big = await fetch(`${small.url}/v1/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ modelId: model, proof: first.proof, publicSignals: Array(200).fill('1') }) });
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as { error: string }).error, 'FST_ERR_CTP_BODY_TOO_LARGE');
    // Five requests a minute: the one above and four more pass, the sixth is refused.
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await fetch(`${small.url}/v1/health`)).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 429]);
    const refused = await fetch(`${small.url}/v1/health`);
    assert.equal(refused.status, 429);
    assert.equal(typeof ((await refused.json()) as { message: string }).message, 'string');
  } finally {
    await small.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
