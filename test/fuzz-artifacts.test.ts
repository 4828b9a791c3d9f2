/**
 * Damaged setup and proof artifacts, generated with a fixed seed, against the library functions that read them:
 * `setup` (a damaged ptau), `prove` (a damaged zkey) and `verify` (damaged proof.json and public.json). Each
 * must give a ZkmlError or, for verify, an invalid verdict: never another exception, and never a damaged proof
 * or public signal accepted as valid. The tiny hand-written build keeps setup and proving to a second.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { setup } from '../src/setup/setup.ts';
import { devPtau } from '../src/setup/dev-ptau.ts';
import { prove } from '../src/prove/prove.ts';
import { verify } from '../src/prove/verify.ts';
import { buildPaths } from '../src/manifest.ts';
import { FIELD_P } from '../src/io/output.ts';
import { releaseCurve } from '../src/util/snark.ts';
import { ZkmlError } from '../src/util/errors.ts';
import { makeTinyBuild } from './helpers/tiny-build.ts';
import { scratchDirs } from './helpers/scratch.ts';
import { TEST_CACHE } from './helpers/cache.ts';
import { report } from './helpers/counts.ts';

const tempDir = scratchDirs();

// Generated ptau files are kept between runs (git-ignored), as test/setup.test.ts does.
process.env.ZKML_CACHE ??= TEST_CACHE;

const SEED = 515_151;
const INPUT = { input_data: [[3, 5]] };
let build: string;
let result: string;

before(async () => {
  build = await makeTinyBuild(join(tempDir('fuzz-art'), 'build'));
  await setup(build, { contribute: false });
  result = join(tempDir('fuzz-art'), 'result');
  await prove(build, INPUT, { out: result });
  assert.equal((await verify(build, result)).valid, true, 'the undamaged proof verifies');
});
after(releaseCurve);

/** Cases tried, reported per test (scripts/security-counts.ts sums them). */
let cases = 0;
function artifactTest(name: string, fn: () => Promise<void>): void {
  test(name, async (t) => {
    const start = cases;
    await fn();
    report(t, { suite: 'fuzz-artifacts', test: name, cases: cases - start });
  });
}

/** A ZkmlError or a value; any other exception fails with the case named. */
async function settle<T>(what: string, f: () => Promise<T>): Promise<{ value?: T; code?: string }> {
  cases++;
  try {
    return { value: await f() };
  } catch (err) {
    if (!(err instanceof ZkmlError)) assert.fail(`${what}: ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
    return { code: err.code };
  }
}

const flips = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 });
const flipped = (bytes: Uint8Array, changes: [number, number][]) => {
  const out = Uint8Array.from(bytes);
  for (const [at, v] of changes) out[at % out.length] = v;
  return out;
};

artifactTest('fuzz artifacts: a damaged zkey makes prove fail with a ZkmlError', async () => {
  const zkey = readFileSync(buildPaths(build).zkey);
  const cases: [string, Uint8Array][] = [0, 8, 64, zkey.length >> 1, zkey.length - 1].map((n) => [`zkey truncated to ${n} bytes`, zkey.subarray(0, n)]);
  fc.sample(flips, { seed: SEED, numRuns: 8 }).forEach((c) => cases.push([`zkey with bytes ${JSON.stringify(c)}`, flipped(zkey, c)]));
  for (const [what, bytes] of cases) {
    if (Buffer.from(bytes).equals(zkey)) continue;
    const dir = join(tempDir('fuzz-art'), 'build');
    cpSync(build, dir, { recursive: true });
    writeFileSync(buildPaths(dir).zkey, bytes);
    const r = await settle(what, () => prove(dir, INPUT, { out: join(dir, 'result') }));
    assert.ok(r.code, `${what}: refused (the manifest records the zkey's hash)`);
  }
});

artifactTest('fuzz artifacts: a damaged ptau makes setup fail with a ZkmlError, or proving and verifying run to a verdict', async () => {
  const source = await devPtau(8);
  const ptau = readFileSync(source);
  const cases: [string, Uint8Array][] = [0, 12, 64, ptau.length >> 1, ptau.length - 1].map((n) => [`ptau truncated to ${n} bytes`, ptau.subarray(0, n)]);
  fc.sample(flips, { seed: SEED, numRuns: 6 }).forEach((c) => cases.push([`ptau with bytes ${JSON.stringify(c)}`, flipped(ptau, c)]));
  let refused = 0;
  for (const [what, bytes] of cases) {
    const work = tempDir('fuzz-art');
    const dir = join(work, 'build');
    mkdirSync(dir);
    for (const f of ['manifest.json', 'circuit.circom', 'circuit.r1cs', 'circuit.sym']) copyFileSync(join(build, f), join(dir, f));
    cpSync(join(build, 'circuit_js'), join(dir, 'circuit_js'), { recursive: true });
    const file = join(work, 'damaged.ptau');
    writeFileSync(file, bytes);
    const r = await settle(what, () => setup(dir, { ptau: file, contribute: false }));
    if (r.code) {
      refused++;
      continue;
    }
    // snarkjs reads only the points a circuit needs and checks none of them here (that is `verify`'s job): a
    // flip in a part this small circuit does not use gives a working setup, one elsewhere a setup whose proofs
    // fail. Either way proving and verifying must end in a result or a ZkmlError, not a crash.
    const proved = await settle(`${what}: prove`, () => prove(dir, INPUT, { out: join(work, 'result') }));
    if (!proved.code) await settle(`${what}: verify`, () => verify(dir, join(work, 'result')));
  }
  assert.ok(refused >= 5, `the truncated files are refused (${refused})`);
});

artifactTest('fuzz artifacts: a damaged proof.json or public.json never verifies and never crashes verify', async () => {
  const proofText = readFileSync(join(result, 'proof.json'), 'utf8');
  const publicText = readFileSync(join(result, 'public.json'), 'utf8');
  const proof = JSON.parse(proofText);
  const publics: string[] = JSON.parse(publicText);
  const field = fc.oneof(
    fc.bigInt({ min: 0n, max: FIELD_P - 1n }).map(String),
    fc.constantFrom(FIELD_P.toString(), (FIELD_P + 1n).toString(), '-1', '0x10', '', 'abc', '1e3', '٣'),
    fc.jsonValue(),
  );
  // One damage per case: replace one public signal, one proof coordinate or field, cut a file's text, or change
  // the number of public signals.
  type Damage = { kind: 'public'; at: number; value: unknown } | { kind: 'proof'; key: string; value: unknown } | { kind: 'cut-proof' | 'cut-public' | 'count'; at: number };
  const damage: fc.Arbitrary<Damage> = fc.oneof(
    fc.record({ kind: fc.constant('public' as const), at: fc.nat(), value: field }),
    fc.record({ kind: fc.constant('proof' as const), key: fc.constantFrom('pi_a', 'pi_b', 'pi_c', 'protocol', 'curve'), value: field }),
    fc.record({ kind: fc.constantFrom('cut-proof' as const, 'cut-public' as const, 'count' as const), at: fc.nat({ max: 400 }) }),
  );
  let rejected = 0;
  await fc.assert(
    fc.asyncProperty(damage, async (d) => {
      let proofOut = JSON.stringify(proof);
      let pubOut = JSON.stringify(publics);
      if (d.kind === 'public') {
        const pub: unknown[] = publics.slice();
        pub[d.at % pub.length] = d.value;
        pubOut = JSON.stringify(pub);
      } else if (d.kind === 'proof') {
        const p = structuredClone(proof);
        // A coordinate of a point when the value is a string, else the whole field.
        if (Array.isArray(p[d.key]) && typeof d.value === 'string') p[d.key][0] = d.value;
        else p[d.key] = d.value;
        proofOut = JSON.stringify(p);
      } else if (d.kind === 'cut-proof') proofOut = proofText.slice(0, d.at % proofText.length);
      else if (d.kind === 'cut-public') pubOut = publicText.slice(0, d.at % publicText.length);
      else {
        const n = d.at % 7 === publics.length ? publics.length + 1 : d.at % 7;
        pubOut = JSON.stringify(Array.from({ length: n }, (_, i) => publics[i % publics.length]));
      }
      if (proofOut === JSON.stringify(proof) && pubOut === JSON.stringify(publics)) return; // the draw changed nothing
      const folder = join(tempDir('fuzz-art'), 'result');
      cpSync(result, folder, { recursive: true });
      writeFileSync(join(folder, 'proof.json'), proofOut);
      writeFileSync(join(folder, 'public.json'), pubOut);
      const r = await settle(`damage ${JSON.stringify(d)}`, () => verify(build, folder));
      assert.ok(r.code || r.value!.valid === false, `damage ${JSON.stringify(d)} verified`);
      rejected++;
    }),
    { seed: SEED, numRuns: 60 },
  );
  assert.ok(rejected > 40);
  assert.ok(statSync(join(result, 'proof.json')).size > 0, 'the original result is untouched');
});
