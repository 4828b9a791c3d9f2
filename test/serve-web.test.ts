/**
 * The page of `zkml serve` in a real browser: Debian's headless Chromium (/usr/bin/chromium, installed by
 * scripts/setup-system.sh) driven by playwright-core, which downloads no browser. The page lists the hosted model
 * and its inferences, shows an inference's input digest, output, proof and public signals, follows a pending
 * proof over server-sent events, and its "verify in your browser" button runs snarkjs' Groth16 verification in
 * the page: a valid proof shows valid, and a proof the server calls proven but whose public signal was changed on
 * the way (the test rewrites the server's answer) shows invalid. On a failure the page's screenshot is written
 * to .cache/test-output/serve-web/. Last, the typed client's waitForProof (on the same event stream) follows a
 * proof across a server restart on the same port.
 */
import { TEST_CACHE } from './helpers/cache.ts';
process.env.ZKML_CACHE = TEST_CACHE;
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { tempDir } from './helpers/models.ts';
import { serve, type Server } from '../src/serve/index.ts';
import { Client, type ProvenInference } from '../src/client/index.ts';
import { proveInput } from '../prover/worker.ts';
import type { Prover } from '../src/serve/jobs.ts';

const CHROMIUM = '/usr/bin/chromium';
const SKIP = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent: install Debian's chromium package (scripts/setup-system.sh does, as root)`;
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'models');
const MODEL = readFileSync(join(FIXTURES, 'gemm_basic.onnx'));
const INPUT = JSON.parse(readFileSync(join(FIXTURES, 'gemm_basic.input.json'), 'utf8'));
const KEY = 'test-key-web-0123456789';
const SCREENSHOTS = join(import.meta.dirname, '..', '.cache', 'test-output', 'serve-web');
const FIELD_P = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

let dataDir: string;
let server: Server;
let client: Client;
let browser: Browser;
let model: string;
let proven: ProvenInference;
/** Proofs wait for this while it is set: a test holds one back to watch the page follow it. */
let hold: Promise<void> | undefined;

const prover: Prover = async (build, input) => {
  await hold;
  return proveInput({ build, input, threads: 'single' });
};

before(async () => {
  if (SKIP) return;
  dataDir = tempDir('serve-web');
  server = await serve({ dataDir, port: 0, apiKey: KEY, workers: 1, prover });
  client = new Client(server.url, { apiKey: KEY });
  model = (await client.uploadModel(MODEL, { inputRange: [-1, 1] })).id;
  await client.waitForModel(model);
  proven = await (await client.infer(model, INPUT)).proof;
  browser = await chromium.launch({ executablePath: CHROMIUM });
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** A fresh page for one test; its screenshot is kept when the test fails. */
async function withPage(t: TestContext, body: (page: Page) => Promise<void>): Promise<void> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  try {
    await body(page);
    assert.deepEqual(problems, [], 'no script errors on the page');
  } catch (err) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const file = join(SCREENSHOTS, `${t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 80)}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    t.diagnostic(`screenshot: ${file}`);
    if (problems.length) t.diagnostic(problems.join('\n'));
    throw err;
  } finally {
    await page.close();
  }
}

/** Clicks "verify in your browser" and returns the verdict the page shows. */
async function verifyOnPage(page: Page): Promise<{ verdict: string; text: string }> {
  await page.click('#verify');
  const node = page.locator('#verdict[data-verdict="valid"], #verdict[data-verdict="invalid"], #verdict[data-verdict="error"]');
  await node.waitFor({ timeout: 30_000 });
  return { verdict: (await node.getAttribute('data-verdict'))!, text: await node.innerText() };
}

test('the page lists the hosted model and recent inferences, and links to an inference', { skip: SKIP }, async (t) => {
  await withPage(t, async (page) => {
    const res = await page.goto(server.url);
    assert.match(res!.headers()['content-security-policy'], /script-src 'self'/);
    await page.locator(`#models tr[data-model="${model}"]`).waitFor();
    assert.equal(await page.locator(`#models tr[data-model="${model}"] [data-status]`).getAttribute('data-status'), 'ready');
    const row = page.locator(`#inferences tr[data-inference="${proven.id}"]`);
    assert.equal(await row.locator('[data-status]').getAttribute('data-status'), 'proven');
    await row.locator('a').click();
    await page.locator('#verify').waitFor();
    assert.equal(new URL(page.url()).hash, `#/inference/${proven.id}`);
  });
});

test("an inference's page: input digest, output, proof; verified in the browser: valid", { skip: SKIP }, async (t) => {
  await withPage(t, async (page) => {
    // The page must not ask the server for a verdict: any call to POST /v1/verify fails the test.
    const verdictCalls: string[] = [];
    page.on('request', (r) => r.url().includes('/v1/verify') && verdictCalls.push(r.url()));
    await page.goto(`${server.url}/#/inference/${proven.id}`);
    await page.locator('#verify').waitFor();
    assert.equal(await page.locator('#input-digest').innerText(), proven.output!.digests.inputDigest);
    const out = proven.output!.outputs[0];
    assert.deepEqual(JSON.parse(await page.locator(`pre[data-tensor="${out.name}"]`).innerText()), out.floats);
    assert.deepEqual(JSON.parse(await page.locator('#proof').innerText()), proven.proof);
    assert.deepEqual(JSON.parse(await page.locator('#public-signals').innerText()), proven.publicSignals);
    const { verdict, text } = await verifyOnPage(page);
    assert.equal(verdict, 'valid', text);
    assert.match(text, /in this browser/);
    assert.deepEqual(verdictCalls, []);
  });
});

test('a proof the server calls proven, with a public signal changed: the browser says invalid', { skip: SKIP }, async (t) => {
  const tampered: [string, (signals: string[]) => string[]][] = [
    ['signal + 1', (s) => [(BigInt(s[0]) + 1n).toString(), ...s.slice(1)]],
    // The same field element written as s + p: snarkjs would reduce it; the page refuses it.
    ['signal + p', (s) => [(BigInt(s[0]) + FIELD_P).toString(), ...s.slice(1)]],
  ];
  for (const [name, change] of tampered) {
    await withPage(t, async (page) => {
      // The server's answer is rewritten on the way: status "proven", same proof, one public signal changed.
      await page.route(`${server.url}/v1/inferences/${proven.id}`, async (route) => {
        const res = await route.fetch();
        const body = (await res.json()) as ProvenInference;
        await route.fulfill({ response: res, json: { ...body, publicSignals: change(body.publicSignals) } });
      });
      await page.goto(`${server.url}/#/inference/${proven.id}`);
      await page.locator('#verify').waitFor();
      assert.equal(await page.locator('[data-status]').first().getAttribute('data-status'), 'proven', 'the server (as rewritten) says proven');
      const { verdict, text } = await verifyOnPage(page);
      assert.equal(verdict, 'invalid', `${name}: ${text}`);
    });
  }
});

test('the page follows a pending proof over server-sent events, then verifies it', { skip: SKIP }, async (t) => {
  let release!: () => void;
  hold = new Promise<void>((r) => (release = r));
  try {
    const r = await client.infer(model, INPUT);
    await withPage(t, async (page) => {
      await page.goto(`${server.url}/#/inference/${r.id}`);
      await page.locator('#verify').waitFor();
      assert.notEqual(await page.locator('[data-status]').first().getAttribute('data-status'), 'proven');
      assert.equal(await page.locator('#verify').isDisabled(), true, 'nothing to verify yet');
      release();
      await page.locator('[data-status="proven"]').waitFor({ timeout: 30_000 });
      const { verdict, text } = await verifyOnPage(page);
      assert.equal(verdict, 'valid', text);
    });
    assert.equal((await r.proof).status, 'proven');
  } finally {
    release();
    hold = undefined;
  }
});

test("the client's waitForProof follows a proof across a server restart on the same port (its event stream reconnects)", { skip: SKIP }, async () => {
  // The first server "dies" with the proof held back (its prover never answers); the second, on the same port
  // and data folder, resumes the job and proves it.
  hold = new Promise<void>(() => {});
  const r = await client.infer(model, INPUT);
  const waiting = client.waitForProof(r.id, { timeoutMs: 60_000 });
  while ((await client.getInference(r.id)).status !== 'proving') await new Promise((res) => setTimeout(res, 50));
  const { port } = server;
  await server.app.close();
  server.store.close();
  hold = undefined;
  server = await serve({ dataDir, port, apiKey: KEY, workers: 1, prover });
  assert.equal(server.resumed, 1);
  const proven = await waiting;
  assert.equal(proven.id, r.id);
  assert.deepEqual(proven.output, r.output);
  assert.deepEqual(await client.verify(model, proven.proof, proven.publicSignals), { valid: true });
});
