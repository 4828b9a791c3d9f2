/**
 * `zkml prove --inputs`: the worker pool, per-input results that are complete or absent, errors.jsonl, reruns
 * after a kill, and two runs on one output folder.
 */
import { TEST_CACHE } from './helpers/cache.ts';
process.env.ZKML_CACHE = TEST_CACHE;
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { makeTinyBuild } from './helpers/tiny-build.ts';
import { tempDir } from './helpers/models.ts';
import { ZKML, zkml } from './helpers/cli.ts';
import { setup } from '../src/setup/setup.ts';
import { releaseCurve } from '../src/util/snark.ts';
import { proveBatch, ERRORS_FILE, LOCK_FILE, type BatchEvent } from '../src/prove/batch.ts';
import { verify } from '../src/prove/verify.ts';

let tmp: string;
let build: string;

before(async () => {
  tmp = tempDir('batch');
  build = await makeTinyBuild(join(tmp, 'build'));
  await setup(build);
});

after(async () => {
  await releaseCurve();
  rmSync(tmp, { recursive: true, force: true });
});

/** A JSON-lines file of `n` valid inputs: line i holds x = [i, 7]. */
function jsonl(name: string, n: number): string {
  const path = join(tmp, name);
  writeFileSync(path, Array.from({ length: n }, (_, i) => JSON.stringify({ x: [[i + 1, 7]] })).join('\n') + '\n');
  return path;
}

/** Everything in an output folder besides result folders and errors.jsonl (temp files, staging, lock). */
function leftovers(out: string): string[] {
  return readdirSync(out).filter((n) => n.startsWith('.') || n.endsWith('.tmp'));
}

function assertComplete(out: string, ids: string[]): void {
  const dirs = readdirSync(out, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  assert.deepEqual(dirs.sort(), [...ids].sort());
  for (const id of ids) assert.deepEqual(readdirSync(join(out, id)).sort(), ['output.json', 'proof.json', 'public.json'], id);
  assert.deepEqual(leftovers(out), []);
}

/** Runs the CLI in the background; resolves with its exit code and stdout. */
function spawnCli(args: string[], onLine?: (line: string, kill: () => void) => void) {
  const child = spawn(process.execPath, [ZKML, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk;
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) onLine?.(line, () => child.kill('SIGKILL'));
  });
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout })),
  );
}

test('a folder of 3 inputs with 2 workers: every result verifies', async () => {
  const inputs = join(tmp, 'three');
  mkdirSync(inputs);
  [[1, 2], [3, 5], [-2, 9]].forEach((x, i) => writeFileSync(join(inputs, `in${i + 1}.json`), JSON.stringify({ x: [x] })));
  const out = join(tmp, 'three-out');
  const events: BatchEvent[] = [];
  const s = await proveBatch(build, inputs, { out, workers: 2, onProgress: (e) => events.push(e) });
  assert.deepEqual([s.total, s.proven, s.skipped, s.failed, s.workers], [3, 3, 0, 0, 2]);
  assert.deepEqual(events[0], { kind: 'start', total: 3, workers: 2 });
  assert.deepEqual(events.slice(1).map((e) => e.kind === 'input' && e.done), [1, 2, 3]);
  assertComplete(out, ['in1', 'in2', 'in3']);

  const v = await verify(build, out);
  assert.equal(v.valid, true);
  assert.equal(v.kind, 'batch');
  const outputs = Object.fromEntries(v.results.map((r) => [r.id, r.outputs!.outputs[0].ints]));
  assert.deepEqual(outputs, { in1: ['4', '7', '2'], in2: ['10', '16', '15'], in3: ['-5', '28', '-18'] });
});

test('--workers 64: the pool is capped at the number of inputs, with a warning above the core count', async () => {
  // One input more than the machine has cores, so the capped pool is still wider than the machine.
  const cores = availableParallelism();
  const events: BatchEvent[] = [];
  const s = await proveBatch(build, jsonl('wide.jsonl', cores + 1), { out: join(tmp, 'wide-out'), workers: 64, onProgress: (e) => events.push(e) });
  assert.deepEqual([s.proven, s.workers], [cores + 1, cores + 1], 'one worker per input, not 64');
  assert.equal(events[0].kind === 'start' && events[0].workers, cores + 1);
  const warning = new RegExp(`--workers 64 asks for more workers than this machine's ${cores} cores? \\(the pool has ${cores + 1}, one per input\\)`);
  assert.ok(s.warnings.some((w) => warning.test(w)), `a warning in ${JSON.stringify(s.warnings)}`);
  assert.ok(events[0].kind === 'start' && events[0].warnings?.some((w) => warning.test(w)), 'given at the start, before the proofs');

  // No warning at or below the core count.
  const quiet = await proveBatch(build, jsonl('narrow.jsonl', 2), { out: join(tmp, 'narrow-out'), workers: 64 });
  assert.equal(quiet.workers, Math.min(2, 64));
  if (cores >= 2) assert.deepEqual(quiet.warnings.filter((w) => /--workers/.test(w)), []);
});

test('a bad input is recorded in errors.jsonl, the others are proven, the batch reports failure', async () => {
  const inputs = join(tmp, 'one-bad.jsonl');
  writeFileSync(inputs, ['{"x": [[1, 2]]}', '{"x": [[1, 2, 3]]}', '', '{"x": [[4, 5]]}', '{not json'].join('\n'));
  const out = join(tmp, 'one-bad-out');
  const s = await proveBatch(build, inputs, { out, workers: 2 });
  assert.deepEqual([s.total, s.proven, s.failed], [4, 2, 2]);
  const errors = readFileSync(join(out, ERRORS_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(errors.map((e) => e.id).sort(), ['line-2', 'line-5']);
  assert.match(errors.find((e) => e.id === 'line-2').error, /one-bad\.jsonl:2: input "x" has 3 values; expected 2/);
  assert.match(errors.find((e) => e.id === 'line-5').error, /one-bad\.jsonl:5: not valid JSON/);
  assertComplete(out, ['line-1', 'line-4']);

  const v = await verify(build, out);
  assert.equal(v.valid, false, 'failed inputs make the batch invalid');
  assert.ok(v.results.every((r) => r.valid));
  assert.equal(v.failedInputs.length, 2);

  // The CLI says so with its exit code, and a rerun retries only what failed.
  const cli = zkml(['prove', build, '--inputs', inputs, '-o', out, '--json']);
  assert.equal(cli.status, 1);
  const summary = JSON.parse(cli.stdout.trim().split('\n').at(-1)!);
  assert.deepEqual([summary.event, summary.proven, summary.skipped, summary.failed], ['batch', 0, 2, 2]);
});

test('a foreign zkey is refused before any worker starts', async () => {
  const stale = join(tmp, 'stale-build');
  cpSync(build, stale, { recursive: true });
  writeFileSync(join(stale, 'circuit.zkey'), 'not the zkey of this setup');
  const out = join(tmp, 'stale-out');
  await assert.rejects(proveBatch(stale, jsonl('stale.jsonl', 2), { out }), /circuit\.zkey: sha256 is .*rerun zkml setup/);
  assert.equal(existsSync(out), false);
});

test('a rerun proves again a result whose input changed', async () => {
  const inputs = join(tmp, 'changing.jsonl');
  writeFileSync(inputs, '{"x": [[1, 1]]}\n{"x": [[2, 2]]}\n');
  const out = join(tmp, 'changing-out');
  await proveBatch(build, inputs, { out, workers: 1 });
  writeFileSync(inputs, '{"x": [[1, 1]]}\n{"x": [[3, 3]]}\n');
  const s = await proveBatch(build, inputs, { out, workers: 1 });
  assert.deepEqual([s.proven, s.skipped], [1, 1]);
  const v = await verify(build, out);
  assert.deepEqual(v.results.map((r) => r.outputs!.outputs[0].ints), [['4', '4', '1'], ['10', '10', '9']]);
  assertComplete(out, ['line-1', 'line-2']);
});

test('a batch killed part-way, then rerun: every input proven exactly once, nothing partial left', async () => {
  const n = 40;
  const inputs = jsonl('kill.jsonl', n);
  const out = join(tmp, 'kill-out');
  const first = await spawnCli(['prove', build, '--inputs', inputs, '-o', out, '--workers', '1', '--json'], (line, kill) => {
    if (JSON.parse(line).status === 'proven') kill();
  });
  assert.equal(first.signal, 'SIGKILL', 'killed before it finished');
  const done = readdirSync(out).filter((n) => n.startsWith('line-'));
  assert.ok(done.length >= 1 && done.length < n, `${done.length} results after the kill`);
  for (const id of done) assert.deepEqual(readdirSync(join(out, id)).sort(), ['output.json', 'proof.json', 'public.json'], `${id} is complete`);
  assert.ok(existsSync(join(out, LOCK_FILE)), 'the killed run left its lock');

  const rerun = await proveBatch(build, inputs, { out });
  assert.deepEqual([rerun.proven, rerun.skipped, rerun.failed], [n - done.length, done.length, 0]);
  assertComplete(out, Array.from({ length: n }, (_, i) => `line-${i + 1}`));
  assert.equal((await verify(build, out)).valid, true);
});

test('two runs on one output folder: one at a time, results whole', async () => {
  const inputs = jsonl('twice.jsonl', 20);
  const out = join(tmp, 'twice-out');

  // In one process: the second call finds the lock of the first, which is alive.
  const firstRun = proveBatch(build, inputs, { out, workers: 1 });
  await assert.rejects(proveBatch(build, inputs, { out, workers: 1 }), /another zkml prove \(pid \d+ .*\) is writing this folder/);
  assert.equal((await firstRun).proven, 20);
  rmSync(out, { recursive: true });

  // Two CLI processes started together: each either does the work or refuses; none corrupts the other.
  const runs = await Promise.all([1, 2].map(() => spawnCli(['prove', build, '--inputs', inputs, '-o', out, '--json'])));
  let proven = 0;
  for (const r of runs) {
    const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    if (r.code === 0) proven += last.proven;
    else assert.deepEqual([r.code, last.event, last.code], [1, 'error', 'E_BATCH_LOCKED']);
  }
  assert.equal(proven, 20, 'every input proven exactly once');
  assertComplete(out, Array.from({ length: 20 }, (_, i) => `line-${i + 1}`));
  assert.equal((await verify(build, out)).valid, true);
});
