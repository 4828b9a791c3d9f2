/**
 * `zkml serve` on this machine, every figure taken over HTTP from `zkml serve` child processes (the CLI, dev
 * setup, a throwaway data folder), with the typed client (src/client) as the caller:
 *
 * - latency of `POST /v1/models/{id}/inferences` (the output at once, p50/p95) and time to proof (POST to
 *   proven, one inference at a time so nothing queues) for iris and an MNIST MLP;
 * - throughput (proofs/s, first POST to last proof) of a batch with 1 and 2 local pool workers, and with the
 *   fleet: `--queue` on a local redis-server and 2 `zkml worker` processes;
 * - 200 concurrent requests: how many accepted, proven and valid (each proof checked here with snarkjs against
 *   the model's verification key, not by asking the server);
 * - the kill scenario of test/serve-kill.test.ts: server and worker SIGKILLed mid-batch, restarted; how many
 *   accepted, how many proven and valid after the restart;
 * - on-chain settlement (`--rpc-url`, a local `hardhat node`): proven to settled, and the gas of a settlement.
 *
 *   npx tsx scripts/bench-serve.ts [--json] [--quick] [--concurrent 200] [--mnist model.onnx]
 *
 * Prints the "zkml serve" section of BENCHMARKS.md (markdown), or with --json the figures, which
 * scripts/bench.ts renders with serveMarkdown(). --mnist: default the bench's trained MLP 784-56-10
 * (.cache/bench/mlp784.onnx) when `npm run bench` has made it, else the model zoo's MNIST MLP (../shared).
 * Without redis-server the fleet and kill figures say why they are missing.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { Client, type ProvenInference } from '../src/client/index.ts';
import { loadMnist } from '../dev/data/mnist.ts';
import { loadSnarkjs } from '../src/util/snark.ts';
import { redisVersion, startHardhatNode, startRedis, startServe, startWorker, stop, stopAll, type ServeProcess } from '../test/helpers/serve-procs.ts';

const root = join(import.meta.dirname, '..');
const shared = join(root, '..', 'shared');
const KEY = 'bench-serve-key-0123456789';

interface Latency {
  model: string;
  constraints: number;
  samples: number;
  postP50Ms: number;
  postP95Ms: number;
  proofP50Ms: number;
  proofP95Ms: number;
  /** Inferences whose proof the server refused (did not verify), with why: none expected. */
  refused: string[];
}
interface Throughput {
  setup: string;
  proofs: number;
  wallMs: number;
  proofsPerSecond: number;
}
interface Batch {
  requests: number;
  accepted: number;
  proven: number;
  valid: number;
  postP50Ms: number;
  postP95Ms: number;
  wallMs: number;
}
interface Kill {
  accepted: number;
  provenBeforeKill: number;
  resumed: number;
  proven: number;
  valid: number;
  /** Spawning both processes until both are ready. */
  restartMs: number;
  /** Both ready until the last proof. */
  recoveryMs: number;
}
export interface ServeBench {
  date: string;
  machine: string;
  redis?: string;
  latency: Latency[];
  throughput: Throughput[];
  fleetSkipped?: string;
  concurrent: Batch;
  kill: Kill | { skipped: string };
  settlement: Settlement | { error: string };
}

interface Settlement {
  inferences: number;
  /** From proven to settled (registry.submit mined), per inference after the first. */
  settleP50Ms: number;
  settleP95Ms: number;
  /** The first settlement also deploys the registry and the model's verifier. */
  firstSettleMs: number;
  submitGas: number;
}

const round = (x: number, digits = 1) => Number(x.toFixed(digits));
function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return round(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]);
}
const log = (m: string) => process.stderr.write(`  serve: ${m}\n`);

interface Hosted {
  name: string;
  id: string;
  constraints: number;
  vkey: unknown;
  /** The k-th input (distinct inputs, so each inference is its own statement). */
  input: (k: number) => unknown;
}

async function post(server: ServeProcess, model: string, input: unknown): Promise<{ id: string; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${server.url}/v1/models/${model}/inferences`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify({ input }) });
  const ms = performance.now() - t0;
  const body = (await res.json()) as { id: string; message?: string };
  if (res.status !== 202) throw new Error(`POST inferences: ${res.status} ${body.message}`);
  return { id: body.id, ms };
}

async function upload(client: Client, name: string, file: string, options: Record<string, unknown>, input: (k: number) => unknown): Promise<Hosted> {
  const { id } = await client.uploadModel(readFileSync(file), options);
  const m = await client.waitForModel(id);
  return { name, id, constraints: (m.manifest as { constraints: number }).constraints, vkey: m.verificationKey, input };
}

/** `count` inferences posted at once; resolves when all are proven (first POST to last proof). */
async function batch(server: ServeProcess, model: Hosted, count: number, offset: number): Promise<{ posts: number[]; proofs: ProvenInference[]; wallMs: number; accepted: number }> {
  const client = new Client(server.url, { apiKey: KEY });
  const t0 = performance.now();
  const posted = await Promise.allSettled(Array.from({ length: count }, (_, k) => post(server, model.id, model.input(offset + k))));
  const ok = posted.flatMap((p) => (p.status === 'fulfilled' ? [p.value] : []));
  const proofs = await Promise.all(ok.map((p) => client.waitForProof(p.id, { timeoutMs: 600_000 }).catch(() => undefined)));
  return { posts: ok.map((p) => p.ms), proofs: proofs.filter((p): p is ProvenInference => p !== undefined), wallMs: performance.now() - t0, accepted: ok.length };
}

async function validCount(model: Hosted, proofs: ProvenInference[]): Promise<number> {
  const snarkjs = await loadSnarkjs();
  let valid = 0;
  for (const p of proofs) if (await snarkjs.groth16.verify(model.vkey as never, p.publicSignals, p.proof as never)) valid++;
  return valid;
}

export async function benchServe(opts: { quick: boolean; concurrent: number; mnist: string }): Promise<ServeBench> {
  const tmp = mkdtempSync(join(tmpdir(), 'zkml-bench-serve-'));
  const data = join(tmp, 'data');
  const env = { ZKML_API_KEY: KEY, ZKML_CACHE: process.env.ZKML_CACHE ?? join(root, '.cache', 'bench') };
  const common = ['--rate-limit', '1000000'];
  const mnistImages = existsSync(join(shared, 'datasets', 'mnist')) ? loadMnist(join(shared, 'datasets', 'mnist'), 64).images : undefined;
  const pixels = (k: number) => (mnistImages ? Array.from(mnistImages[k % mnistImages.length], (p) => p / 255) : Array.from({ length: 784 }, (_, i) => ((i * 7 + k * 13) % 256) / 255));
  try {
    // Latency and time to proof: one pool worker, one inference at a time.
    let server = await startServe(data, ['--workers', '1', ...common], env);
    const client = new Client(server.url, { apiKey: KEY });
    log('building iris and the MNIST MLP');
    const iris = await upload(client, 'iris', join(root, 'fixtures', 'models', 'iris.onnx'), { inputRange: [0, 8] }, (k) => ({ input_data: [[4.3 + (k % 36) * 0.1, 3.5, 1.4 + (k % 7) * 0.5, 0.2]] }));
    const mnist = await upload(client, `MNIST MLP (${opts.mnist.split('/').slice(-2).join('/')})`, opts.mnist, { inputRange: [0, 1] }, (k) => ({ input_data: [pixels(k)] }));
    const latency: Latency[] = [];
    for (const [model, samples] of [[iris, opts.quick ? 5 : 20], [mnist, opts.quick ? 3 : 10]] as const) {
      log(`latency: ${model.name}`);
      await (await client.infer(model.id, model.input(0))).proof.catch(() => {}); // warm-up: the pool loads the build
      const posts: number[] = [];
      const proofs: number[] = [];
      const refused: string[] = [];
      for (let k = 1; k <= samples; k++) {
        const t0 = performance.now();
        const p = await post(server, model.id, model.input(k));
        posts.push(p.ms);
        try {
          await client.waitForProof(p.id);
          proofs.push(performance.now() - t0);
        } catch (err) {
          // The server refused the prover's proof (it must verify before an inference is marked proven): counted.
          refused.push(`input ${k}: ${(err as Error).message.replace(/^inference \w+ was not proven: /, '')}`);
        }
      }
      if (!proofs.length) throw new Error(`${model.name}: no inference proven (${refused[0]})`);
      latency.push({ model: model.name, constraints: model.constraints, samples, postP50Ms: percentile(posts, 50), postP95Ms: percentile(posts, 95), proofP50Ms: percentile(proofs, 50), proofP95Ms: percentile(proofs, 95), refused });
    }
    await stop(server.child);

    // Throughput: a batch of iris inferences at once.
    const n = opts.quick ? 8 : 24;
    const throughput: Throughput[] = [];
    let offset = 100;
    const measure = async (setup: string) => {
      await batch(server, iris, 2, (offset += n)); // warm-up
      const b = await batch(server, iris, n, (offset += n));
      if (b.proofs.length !== n) throw new Error(`${setup}: ${b.proofs.length} of ${n} proven`);
      throughput.push({ setup, proofs: n, wallMs: Math.round(b.wallMs), proofsPerSecond: round((n * 1000) / b.wallMs, 2) });
    };
    for (const workers of [1, 2]) {
      log(`throughput: ${workers} local worker(s)`);
      server = await startServe(data, ['--workers', String(workers), ...common], env);
      await measure(`local pool, ${workers} worker${workers > 1 ? 's' : ''}`);
      await stop(server.child);
    }
    const redis = redisVersion();
    let queue: { url: string; child: ChildProcess } | undefined;
    if (redis) {
      log('throughput: fleet');
      queue = await startRedis();
      server = await startServe(data, ['--queue', queue.url, ...common], env);
      const workers = await Promise.all([0, 1].map(() => startWorker(queue!.url, join(data, 'models'), ['--workers', '1'], env)));
      await measure('fleet: --queue, 2 `zkml worker` processes (--workers 1)');
      await stop(server.child);
      await Promise.all(workers.map((w) => stop(w)));
    }

    // Concurrent requests: every one accepted, proven and valid.
    log(`${opts.concurrent} concurrent requests`);
    server = await startServe(data, ['--workers', '2', ...common], env);
    const c = await batch(server, iris, opts.concurrent, 10_000);
    const concurrent: Batch = { requests: opts.concurrent, accepted: c.accepted, proven: c.proofs.length, valid: await validCount(iris, c.proofs), postP50Ms: percentile(c.posts, 50), postP95Ms: percentile(c.posts, 95), wallMs: Math.round(c.wallMs) };
    await stop(server.child);

    const kill = queue ? await killScenario(data, queue.url, iris, env, common) : { skipped: 'redis-server is not installed (Debian: apt-get install redis-server)' };
    const settlement = await settlementFigures(data, iris, env, common, opts.quick ? 3 : 10).catch((err: Error) => ({ error: err.message.split('\n')[0] }));
    const cpu = cpus();
    return {
      date: new Date().toISOString().slice(0, 16).replace('T', ' '),
      machine: `${availableParallelism()} × ${cpu[0]?.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${loadavg()[0].toFixed(1)} at the end`,
      redis,
      latency,
      throughput,
      ...(redis ? {} : { fleetSkipped: 'redis-server is not installed (Debian: apt-get install redis-server)' }),
      concurrent,
      kill,
      settlement,
    };
  } finally {
    await stopAll();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** test/serve-kill.test.ts as a figure: server and worker SIGKILLed once 2 proofs are in, both restarted. */
async function killScenario(data: string, queue: string, model: Hosted, env: Record<string, string>, common: string[]): Promise<Kill> {
  log('kill scenario');
  const stall = { ...env, ZKML_FLEET_LOCK_MS: '2000', ZKML_FLEET_STALLED_MS: '1000' };
  // The worker on snarkjs' prover (slower than the native one): the batch lasts long enough to be killed mid-way.
  const slow = { ...stall, ZKML_PROVER: 'snarkjs' };
  const count = 24;
  let server = await startServe(data, ['--queue', queue, ...common], stall);
  let worker = await startWorker(queue, join(data, 'models'), ['--workers', '1'], slow);
  let client = new Client(server.url, { apiKey: KEY });
  const accepted = await Promise.all(Array.from({ length: count }, (_, k) => post(server, model.id, model.input(20_000 + k))));
  const provenNow = async () => (await Promise.all(accepted.map((a) => client.getInference(a.id)))).filter((i) => i.status === 'proven').length;
  let provenBeforeKill = 0;
  while ((provenBeforeKill = await provenNow()) < 2) await new Promise((r) => setTimeout(r, 100));
  await Promise.all([stop(server.child, 'SIGKILL'), stop(worker, 'SIGKILL')]);
  const t0 = performance.now();
  [worker, server] = await Promise.all([startWorker(queue, join(data, 'models'), ['--workers', '1'], slow), startServe(data, ['--queue', queue, ...common], stall)]);
  const restartMs = performance.now() - t0;
  client = new Client(server.url, { apiKey: KEY });
  const proofs = (await Promise.all(accepted.map((a) => client.waitForProof(a.id, { timeoutMs: 300_000 }).catch(() => undefined)))).filter((p): p is ProvenInference => p !== undefined);
  const recoveryMs = performance.now() - t0 - restartMs;
  await stop(server.child);
  await stop(worker);
  return { accepted: accepted.length, provenBeforeKill, resumed: server.resumed, proven: proofs.length, valid: await validCount(model, proofs), restartMs: Math.round(restartMs), recoveryMs: Math.round(recoveryMs) };
}

/** Hardhat's first default account: funded on every `hardhat node`, public knowledge. */
const HARDHAT_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';

/** `zkml serve --rpc-url` on a local `hardhat node`: how long from proven to settled, and the gas of a settlement. */
async function settlementFigures(data: string, model: Hosted, env: Record<string, string>, common: string[], count: number): Promise<Settlement> {
  log('settlement on a hardhat node');
  const { url: rpcUrl, child: node } = await startHardhatNode();
  const rpc = async (method: string, params: unknown[]) => ((await (await fetch(rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })).json()) as { result: any }).result;
  try {
    const server = await startServe(data, ['--workers', '1', '--rpc-url', rpcUrl, ...common], { ...env, ZKML_SETTLE_KEY: HARDHAT_KEY });
    const client = new Client(server.url, { apiKey: KEY });
    const times: number[] = [];
    let gas = 0;
    for (let k = 0; k <= count; k++) {
      const p = await post(server, model.id, model.input(30_000 + k));
      await client.waitForProof(p.id);
      const t0 = performance.now();
      const done = await client.waitForSettlement(p.id, { intervalMs: 20 });
      times.push(performance.now() - t0);
      gas = Number(BigInt((await rpc('eth_getTransactionReceipt', [done.settlement.txHash])).gasUsed));
    }
    await stop(server.child);
    return { inferences: count, settleP50Ms: percentile(times.slice(1), 50), settleP95Ms: percentile(times.slice(1), 95), firstSettleMs: Math.round(times[0]), submitGas: gas };
  } finally {
    await stop(node);
  }
}

const int = (n: number) => n.toLocaleString('en-US');

/** A GitHub Markdown table, figures right-aligned. */
function table(headers: string[], rows: (string | number)[][]): string {
  return [`| ${headers.join(' | ')} |`, `|${headers.map((_, c) => (rows.every((r) => typeof r[c] === 'number') ? ' ---: ' : ' --- ')).join('|')}|`, ...rows.map((r) => `| ${r.map((v) => (typeof v === 'number' ? int(v) : v)).join(' | ')} |`)].join('\n');
}

/** The section's body (bench.ts writes the heading). */
export function serveMarkdown(r: ServeBench): string {
  const out: string[] = [];
  out.push(`Measured ${r.date} UTC on ${r.machine}: \`zkml serve\` child processes (dev setup), called over HTTP on 127.0.0.1 by the typed client${r.redis ? `; the fleet on redis-server ${r.redis}` : ''}.`);
  out.push('');
  out.push('"POST" is `POST /v1/models/{id}/inferences` until its answer (the output, computed by the exact integer executor, unproven); "to proof" is from the POST to the inference proven (server-sent events), one inference at a time with one pool worker.');
  out.push('');
  out.push(table(['model', 'constraints', 'inferences', 'POST p50 ms', 'POST p95 ms', 'to proof p50 ms', 'to proof p95 ms', 'refused'], r.latency.map((l) => [l.model, l.constraints, l.samples, l.postP50Ms, l.postP95Ms, l.proofP50Ms, l.proofP95Ms, l.refused.length])));
  out.push('');
  for (const l of r.latency.filter((x) => x.refused.length)) out.push(`**${l.model}: ${l.refused.length} of ${l.samples} proofs refused** by the server (the prover's proof did not verify against the model's key, so the inference ended failed, not proven): ${l.refused.join('; ')}.\n`);
  out.push(`Throughput: a batch of iris inferences posted at once, from the first POST to the last proof (after a warm-up batch).${r.fleetSkipped ? ` Fleet not measured: ${r.fleetSkipped}.` : ''}`);
  out.push('');
  out.push(table(['proofs by', 'proofs', 'wall ms', 'proofs/s'], r.throughput.map((t) => [t.setup, t.proofs, t.wallMs, t.proofsPerSecond])));
  out.push('');
  const c = r.concurrent;
  const whole = c.accepted === c.requests && c.proven === c.accepted && c.valid === c.proven;
  out.push(`**${c.requests} concurrent requests** (iris, 2 pool workers): ${c.accepted} accepted, ${c.proven} proven, ${c.valid} valid (each proof checked with snarkjs against the model's verification key)${whole ? ': nothing lost' : `: **${c.requests - c.valid} lost or invalid**`}. POST p50 ${c.postP50Ms} ms, p95 ${c.postP95Ms} ms under that load; all proven after ${(c.wallMs / 1000).toFixed(1)} s.`);
  out.push('');
  if ('skipped' in r.kill) out.push(`Kill scenario not measured: ${r.kill.skipped}.`);
  else {
    const k = r.kill;
    out.push(`**Kill scenario** (test/serve-kill.test.ts): \`zkml serve --queue\` and one \`zkml worker\` (snarkjs' prover, so that the batch lasts) SIGKILLed with ${k.provenBeforeKill} of ${k.accepted} accepted iris inferences proven, both restarted (${(k.restartMs / 1000).toFixed(1)} s until both were ready; the server resumed ${k.resumed} unfinished job(s); a job the dead worker held comes back once its 2 s lock lapses): **${k.proven} of ${k.accepted} proven, ${k.valid} valid**, the last ${(k.recoveryMs / 1000).toFixed(1)} s after both were ready.`);
  }
  out.push('');
  if ('error' in r.settlement) out.push(`Settlement not measured: ${r.settlement.error}.`);
  else {
    const t = r.settlement;
    out.push(`**On-chain settlement** (\`--rpc-url\` on a local \`hardhat node\`, automine): from proven to settled (registry.submit mined and recorded in the store), p50 ${t.settleP50Ms} ms, p95 ${t.settleP95Ms} ms over ${t.inferences} iris inferences; the first one, which also deploys the InferenceRegistry and the model's verifier and registers it, ${(t.firstSettleMs / 1000).toFixed(1)} s. registry.submit: ${int(t.submitGas)} gas. On a public chain the block time adds to each settlement; settlements run one at a time per server.`);
  }
  return out.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
  const trained = join(root, '.cache', 'bench', 'mlp784.onnx');
  const mnist = arg('--mnist') ?? (existsSync(trained) ? trained : join(shared, 'models', 'onnx-zoo-mnist', 'pytorch.onnx'));
  const r = await benchServe({ quick: process.argv.includes('--quick'), concurrent: Number(arg('--concurrent') ?? 200), mnist });
  console.log(process.argv.includes('--json') ? JSON.stringify(r, null, 2) : `## zkml serve\n\n${serveMarkdown(r)}`);
}
