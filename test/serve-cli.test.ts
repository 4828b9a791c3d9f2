/**
 * The `zkml serve` command as a user runs it (a child process): it prints a generated key once, listens, stops on
 * SIGTERM, refuses a bad data folder or port; killed with SIGKILL right after accepting a model, the restarted
 * server builds it and proves with it.
 */
import { TEST_CACHE } from './helpers/cache.ts';
process.env.ZKML_CACHE = TEST_CACHE;
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { tempDir } from './helpers/models.ts';
import { ZKML, zkml } from './helpers/cli.ts';
import { startServe, stop } from './helpers/serve-procs.ts';
import { Client } from '../src/client/index.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'models');
const MODEL = readFileSync(join(FIXTURES, 'gemm_basic.onnx'));
const BASE: number[] = JSON.parse(readFileSync(join(FIXTURES, 'gemm_basic.input.json'), 'utf8')).input_data[0];
const KEY = 'test-key-cli-0123456789';
const ENV = { ZKML_API_KEY: KEY, ZKML_CACHE: TEST_CACHE };

/** Starts `zkml serve --json` on `dir`; resolves once it listens, with its events so far. */
async function startCli(dir: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [ZKML, 'serve', '--port', '0', '--data', dir, '--json'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const events: Record<string, unknown>[] = [];
  for await (const line of createInterface({ input: child.stdout })) {
    const e = JSON.parse(line) as Record<string, unknown>;
    events.push(e);
    if (e.event === 'listening') break;
  }
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  return { child, events, exited, url: (events.find((e) => e.event === 'listening') as { url: string }).url };
}

test('zkml serve: prints the generated key once, listens, stops on SIGTERM', async () => {
  const dir = tempDir('serve-cli');
  const env = { ...process.env, ZKML_API_KEY: '' };
  const run = async () => {
    const { child, events, exited, url } = await startCli(dir, env);
    const health = await (await fetch(`${url}/v1/health`)).json();
    child.kill('SIGTERM');
    return { events, health, code: await exited };
  };
  try {
    const a = await run();
    assert.deepEqual(a.health, { ok: true });
    assert.equal(a.code, 0);
    const key = a.events.find((e) => e.event === 'api-key') as { apiKey: string };
    assert.match(key.apiKey, /^zk_/);
    assert.doesNotMatch(readFileSync(join(dir, 'zkml.db')).toString('latin1'), new RegExp(key.apiKey), 'only its hash is stored');
    const b = await run();
    assert.equal(b.events.some((e) => e.event === 'api-key'), false, 'printed once');
    const bad = zkml(['serve', '--port', '0', '--data', join(dir, 'zkml.db')]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /give --data a writable folder/);
    assert.equal(zkml(['serve', '--port', 'x']).status, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('zkml serve killed (SIGKILL) right after accepting a model: the restarted server builds it, and proves', { timeout: 120_000 }, async () => {
  const dir = tempDir('serve-kill-build');
  try {
    const a = await startServe(dir, [], ENV);
    const up = await new Client(a.url, { apiKey: KEY }).uploadModel(MODEL, { inputRange: [-2, 2] });
    await stop(a.child, 'SIGKILL');
    const b = await startServe(dir, [], ENV);
    assert.equal(b.resumed, 1);
    const c = new Client(b.url, { apiKey: KEY });
    assert.equal((await c.waitForModel(up.id)).status, 'ready');
    const r = await c.infer(up.id, { input_data: [BASE] });
    const proven = await r.proof;
    assert.deepEqual(await c.verify(up.id, proven.proof, proven.publicSignals), { valid: true });
    await stop(b.child);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
