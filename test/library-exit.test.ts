/**
 * Library calls leave nothing running (issue 13, item 12): a script that calls the public functions ends by
 * itself, the multi-threaded bn128 curve stays warm between back-to-back calls and is released once idle, a
 * curve that other copies of ffjavascript drop from sight is still released, and one that zkml did not build
 * is left alone.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TEST_CACHE } from './helpers/cache.ts';
import { runUntilExit } from './helpers/exits.ts';
import { scratchDirs } from './helpers/scratch.ts';
import { makeTinyBuild } from './helpers/tiny-build.ts';
import { setup } from '../src/setup/setup.ts';
import { prove } from '../src/prove/prove.ts';
import { IDLE_RELEASE_MS, loadFfjavascript, releaseCurve, type Bn128 } from '../src/util/snark.ts';
import { SINGLE_THREAD_BELOW } from '../prover/worker.ts';

process.env.ZKML_CACHE = TEST_CACHE;
const ROOT = join(import.meta.dirname, '..');
const tmp = scratchDirs();
const env = { ...process.env, ZKML_CACHE: TEST_CACHE };
const global = globalThis as { curve_bn128?: Bn128 | null };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A build big enough for prove() to run snarkjs on the multi-threaded curve. */
let chain: string;
before(async () => {
  chain = await makeTinyBuild(join(tmp('chain'), 'build'), SINGLE_THREAD_BELOW + 100);
  await setup(chain);
});
after(releaseCurve);

test('a script calling every public function that starts threads, pools or a chain exits by itself', async () => {
  const work = tmp('session');
  const r = await runUntilExit(['--import', 'tsx', join(ROOT, 'test', 'helpers', 'library-session.mjs'), join(ROOT, 'src', 'index.ts'), join(ROOT, 'fixtures'), work], { cwd: ROOT, env });
  assert.match(r.stdout, /^done$/m, `the session did not finish:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.killed, false, `still running 30 s after its last call: something keeps the process alive\n${r.stdout}`);
  assert.equal(r.code, 0, r.stderr);
  for (const step of ['compile', 'setup', 'prove', 'verify', 'proveBatch', 'exportVerifier', 'deploy', 'verifyOnchain', 'calibrate', 'quantize', 'audit']) {
    assert.match(r.stdout, new RegExp(`^step ${step}$`, 'm'));
  }
});

test('a curve dropped from globalThis by another copy of ffjavascript is still released', async () => {
  const dir = tmp('orphan');
  const script = join(dir, 'orphan.mjs');
  const url = (path: string) => JSON.stringify(pathToFileURL(path).href);
  // Poseidon loads circomlibjs on first use, and with it ffjavascript 0.2, whose first import sets
  // globalThis.curve_bn128 = null: a setup, then the first hash of a hashed input, does exactly this.
  writeFileSync(script, `import { setup } from ${url(join(ROOT, 'src', 'setup', 'setup.ts'))};
import { loadPoseidon } from ${url(join(ROOT, 'src', 'commit', 'poseidon.ts'))};
import { makeTinyBuild } from ${url(join(ROOT, 'test', 'helpers', 'tiny-build.ts'))};
const build = await makeTinyBuild(${JSON.stringify(join(dir, 'build'))});
await setup(build);
if (!globalThis.curve_bn128) throw new Error('setup left no curve to lose');
await loadPoseidon();
if (globalThis.curve_bn128 !== null) throw new Error('loading circomlibjs did not drop the curve');
console.log('done');
`);
  const r = await runUntilExit(['--import', 'tsx', script], { cwd: ROOT, env });
  assert.match(r.stdout, /^done$/m, r.stderr);
  assert.equal(r.killed, false, 'the dropped curve kept the process alive');
  assert.equal(r.code, 0, r.stderr);
});

// snarkjs' curve: the native prover (the default where it is built) does not use it.
test('back-to-back calls share the warm curve; it is released once idle', async () => {
  await releaseCurve();
  const out = tmp('warm');
  const first = await prove(chain, { x: [[3, 5]] }, { out, raw: true, prover: 'snarkjs' });
  assert.equal(first.threads, 'multi');
  const curve = global.curve_bn128;
  assert.ok(curve, 'prove() left no multi-threaded curve while warm');
  await prove(chain, { x: [[2, 7]] }, { out, raw: true, prover: 'snarkjs' });
  assert.equal(global.curve_bn128, curve, 'the second call built a new curve');
  await sleep(IDLE_RELEASE_MS + 700);
  assert.equal(global.curve_bn128, null, 'the idle curve was not released');
  await prove(chain, { x: [[3, 5]] }, { out, raw: true, prover: 'snarkjs' });
  assert.ok(global.curve_bn128 && global.curve_bn128 !== curve, 'a call after the release builds a new curve');
});

test("a curve that zkml did not build is used but never released by zkml; releaseCurve() ends it", async () => {
  await releaseCurve();
  const ff = await loadFfjavascript();
  const mine = await ff.buildBn128();
  assert.equal(global.curve_bn128, mine);
  await prove(chain, { x: [[3, 5]] }, { out: tmp('foreign'), raw: true });
  await sleep(IDLE_RELEASE_MS + 700);
  assert.equal(global.curve_bn128, mine, "zkml released a curve it did not build");
  // A multi-exponentiation runs on the curve's worker threads: a terminated curve would never answer.
  const answer = mine.G1.multiExpAffine(new Uint8Array(64 * 8), new Uint8Array(32 * 8), false);
  const timeout = sleep(20_000).then(() => assert.fail('the curve no longer answers: its threads were terminated'));
  await Promise.race([answer, timeout]);
  await releaseCurve();
  assert.equal(global.curve_bn128, null);
});
