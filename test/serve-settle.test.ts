/**
 * `zkml serve --rpc-url`: proven inferences settled on chain, against a real `hardhat node` on 127.0.0.1. An
 * inference proven by the service is submitted to an InferenceRegistry (deployed by the service at first need,
 * with the model's verifier) and GET /v1/inferences/{id} gives the transaction's hash and `settled`; the chain
 * agrees (receipt, registry record). Settling again, or after a restart that lost the hash (a server killed
 * after sending), sends nothing: the account's nonce does not move and the same transaction is reported. An RPC
 * URL where nothing listens leaves the inference proven and its settlement `failed` with a clear error. The CLI
 * takes the key from ZKML_SETTLE_KEY or a file, never from its arguments. A store from before settlement opens.
 */
import { TEST_CACHE } from './helpers/cache.ts';
process.env.ZKML_CACHE = TEST_CACHE;
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Contract, JsonRpcProvider, Wallet } from 'ethers';
import { tempDir } from './helpers/models.ts';
import { zkml } from './helpers/cli.ts';
import { freePort, startHardhatNode, startServe, stop } from './helpers/serve-procs.ts';
import { serve, type Server } from '../src/serve/index.ts';
import { Client, type Inference } from '../src/client/index.ts';
import { registryArtifact } from '../src/chain/deploy.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'models');
const MODEL = readFileSync(join(FIXTURES, 'gemm_basic.onnx'));
const INPUT = JSON.parse(readFileSync(join(FIXTURES, 'gemm_basic.input.json'), 'utf8'));
const KEY = 'test-key-settle-0123456789';
/** Hardhat's first default account: funded on every `hardhat node`, public knowledge, test use only. */
const SETTLE_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';

let dataDir: string;
let node: ChildProcess | undefined;
let rpcUrl: string;
let server: Server | undefined;
let model: string;

async function start(url: string): Promise<Client> {
  server = await serve({ dataDir, port: 0, apiKey: KEY, workers: 1, settle: { rpcUrl: url, privateKey: SETTLE_KEY, retryMs: 50, attempts: 2 } });
  return new Client(server.url, { apiKey: KEY });
}

async function stopServer(): Promise<void> {
  await server?.close();
  server = undefined;
}

/** Proven, then settled (the client's waitForSettlement), or failed: the inference as GET /v1/inferences/{id} says. */
async function settled(client: Client, id: string): Promise<Inference> {
  try {
    return await client.waitForSettlement(id, { timeoutMs: 60_000, intervalMs: 100 });
  } catch (err) {
    if ((err as { code?: string }).code !== 'E_SETTLEMENT_FAILED') throw err;
    return client.getInference(id);
  }
}

before(async () => {
  dataDir = tempDir('serve-settle');
  ({ url: rpcUrl, child: node } = await startHardhatNode());
});

after(async () => {
  await stopServer();
  node?.kill('SIGTERM');
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('a proven inference is settled in an InferenceRegistry; settling again, or after losing the hash, sends nothing', { timeout: 120_000 }, async () => {
  let client = await start(rpcUrl);
  model = (await client.uploadModel(MODEL, { inputRange: [-1, 1] })).id;
  await client.waitForModel(model);
  const { id } = await client.infer(model, INPUT);
  const row = await settled(client, id);
  assert.equal(row.status, 'proven');
  assert.equal(row.settlement?.status, 'settled', JSON.stringify(row.settlement));
  const txHash = row.settlement!.txHash!;
  const doc = (await (await fetch(`${server!.url}/v1/openapi.json`)).json()) as { components: { schemas: { inference: { properties: Record<string, { properties?: Record<string, unknown> }> } } } };
  assert.deepEqual(Object.keys(doc.components.schemas.inference.properties.settlement.properties!), ['status', 'txHash', 'error'], 'the OpenAPI document describes settlement');
  assert.match(txHash, /^0x[0-9a-f]{64}$/);

  // The chain agrees: the transaction succeeded and recorded this statement, submitted by the settlement key.
  const provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true });
  const account = new Wallet(SETTLE_KEY).address;
  try {
    const receipt = await provider.getTransactionReceipt(txHash);
    assert.equal(receipt?.status, 1);
    assert.equal(receipt?.from, account);
    const registry = new Contract(receipt!.to!, registryArtifact().abi as never, provider);
    const recorded = receipt!.logs.map((l) => registry.interface.parseLog(l)).find((e) => e?.name === 'InferenceRecorded');
    assert.ok(recorded, 'an InferenceRecorded event');
    assert.deepEqual(recorded!.args.publicSignals.map(String), row.publicSignals);
    const [submitter] = await registry.inferences(recorded!.args.inferenceId);
    assert.equal(submitter, account);

    // Settling again (a retry) sends nothing.
    const nonce = await provider.getTransactionCount(account);
    server!.settler!.enqueue(id);
    await server!.settler!.idle();
    assert.deepEqual((await client.getInference(id)).settlement, { status: 'settled', txHash });

    // A server killed after sending, before recording the hash: at the next start the settlement is pending with
    // no hash. The registry has the statement: settled with the transaction that recorded it, nothing sent.
    await stopServer();
    const { Store } = await import('../src/serve/store.ts');
    const store = new Store(dataDir);
    store.setSettlement(id, 'pending', null);
    store.close();
    client = await start(rpcUrl);
    await server!.settler!.idle();
    assert.deepEqual((await client.getInference(id)).settlement, { status: 'settled', txHash });
    assert.equal(await provider.getTransactionCount(account), nonce, 'no transaction sent by the retries');

    // The same statement proven again (same input, a new inference) is settled with the first one's transaction.
    const again = await client.infer(model, INPUT);
    assert.deepEqual((await settled(client, again.id)).settlement, { status: 'settled', txHash });
    assert.equal(await provider.getTransactionCount(account), nonce);
  } finally {
    provider.destroy();
    await stopServer();
  }
});

test('an RPC URL where nothing listens: the inference stays proven, its settlement failed with a clear error', { timeout: 60_000 }, async () => {
  const closed = `http://127.0.0.1:${await freePort()}`;
  const client = await start(closed);
  try {
    const r = await client.infer(model, INPUT);
    const row = await settled(client, r.id);
    assert.equal(row.status, 'proven');
    assert.deepEqual(row.output, r.output);
    assert.equal(row.settlement?.status, 'failed');
    assert.equal(row.settlement?.txHash, null);
    assert.match(row.settlement?.error ?? '', /^E_RPC_UNREACHABLE: .*cannot reach the RPC node \(ECONNREFUSED\)/);
    assert.deepEqual(await client.verify(model, row.proof!, row.publicSignals!), { valid: true });
  } finally {
    await stopServer();
  }
});

test('zkml serve --rpc-url: the key from ZKML_SETTLE_KEY or --settle-key-file only, with clear errors', async () => {
  const dir = tempDir('serve-settle-cli');
  try {
    const none = zkml(['serve', '--port', '0', '--data', dir, '--rpc-url', rpcUrl], { ZKML_API_KEY: KEY, ZKML_SETTLE_KEY: '' });
    assert.equal(none.status, 1, none.stderr);
    assert.match(none.stderr, /needs the key that pays: set ZKML_SETTLE_KEY or give --settle-key-file/);
    const onArgs = zkml(['serve', '--port', '0', '--data', dir, '--rpc-url', rpcUrl, '--settle-key', SETTLE_KEY], { ZKML_API_KEY: KEY });
    assert.notEqual(onArgs.status, 0);
    assert.doesNotMatch(onArgs.stdout, /listening/);
    const missing = zkml(['serve', '--port', '0', '--data', dir, '--rpc-url', rpcUrl, '--settle-key-file', join(dir, 'nope')], { ZKML_API_KEY: KEY, ZKML_SETTLE_KEY: '' });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /cannot read the settlement key file \(ENOENT\)/);
    // A key file: the server starts and listens.
    const keyFile = join(dir, 'settle.key');
    writeFileSync(keyFile, `${SETTLE_KEY}\n`, { mode: 0o600 });
    const cli = await startServe(join(dir, 'data'), ['--rpc-url', rpcUrl, '--settle-key-file', keyFile], { ZKML_API_KEY: KEY, ZKML_SETTLE_KEY: '' });
    assert.equal((await fetch(`${cli.url}/v1/health`)).status, 200);
    await stop(cli.child);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a store written before settlement existed gains its columns when opened: its inferences read with settlement null', async () => {
  const dir = tempDir('serve-settle-old');
  try {
    const Database = (await import('better-sqlite3')).default;
    const old = new Database(join(dir, 'zkml.db'));
    old.exec(`CREATE TABLE models (id TEXT PRIMARY KEY, status TEXT NOT NULL, options TEXT NOT NULL, model_sha256 TEXT NOT NULL, error TEXT, created INTEGER NOT NULL);
      CREATE TABLE inferences (id TEXT PRIMARY KEY, model_id TEXT NOT NULL REFERENCES models(id), status TEXT NOT NULL, output TEXT, expected_signals TEXT NOT NULL, proof TEXT, public_signals TEXT, error TEXT, created INTEGER NOT NULL);
      INSERT INTO models VALUES ('m', 'ready', '{}', 'x', NULL, 1);
      INSERT INTO inferences VALUES ('i', 'm', 'proven', 'null', '[]', NULL, NULL, NULL, 1);`);
    old.close();
    const { Store } = await import('../src/serve/store.ts');
    const store = new Store(dir);
    try {
      assert.equal(store.getInference('i')?.settlement, null);
      store.setSettlement('i', 'failed', null, 'E_X: why');
      assert.deepEqual(store.getInference('i')?.settlement, { status: 'failed', txHash: null, error: 'E_X: why' });
      assert.deepEqual(store.unsettled(), ['i']);
    } finally {
      store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
