/**
 * Trusted setup: the development ptau against snarkjs' own output, Groth16 setups that prove and verify, the ptau
 * cache, ptau file checks, and no partial files after a failure.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { makeTinyBuild } from './helpers/tiny-build.ts';
import { TEST_CACHE } from './helpers/cache.ts';
import { zkml } from './helpers/cli.ts';
import { buildPaths, readManifest, writeManifest } from '../src/manifest.ts';
import { ZkmlError } from '../src/util/errors.ts';
import { loadFfjavascript, loadSnarkjs, releaseCurve } from '../src/util/snark.ts';
import { DEV_BEACON_HASH, DEV_CONTRIBUTION_NAME, devPtau, devPtauPath, writeDevPtau } from '../src/setup/dev-ptau.ts';
import { domainPower, ptauPowerFor, readPtauInfo, readPtauPower } from '../src/setup/ptau.ts';
import { DEV_ZKEY_BEACON_NAME, DEV_ZKEY_SEED } from '../src/setup/dev-zkey.ts';
import { beacon, contribute, insecureWarning, setup, verifySetup } from '../src/setup/setup.ts';

// Generated ptau files are kept between runs (git-ignored), so only the first run pays for them.
const CACHE = TEST_CACHE;
process.env.ZKML_CACHE = CACHE;

const temps: string[] = [];
const tmp = (name: string) => {
  const dir = mkdtempSync(join(tmpdir(), `zkml-setup-${name}-`));
  temps.push(dir);
  return dir;
};
after(async () => {
  await releaseCurve();
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** A tiny build folder of its own (copied from one compiled once: circom costs a second per compile). */
let template: string | undefined;
async function tinyBuild(): Promise<string> {
  template ??= await makeTinyBuild(join(tmp('template'), 'build'));
  const dir = join(tmp('build'), 'build');
  mkdirSync(join(dir, 'circuit_js'), { recursive: true });
  for (const f of ['manifest.json', 'circuit.circom', 'circuit.r1cs', 'circuit.sym', 'circuit_js/circuit.wasm']) copyFileSync(join(template, f), join(dir, f));
  return dir;
}

/** A ZkmlError whose message names `file` and matches every pattern. */
function isError(code: string, file: string, ...patterns: RegExp[]) {
  return (err: unknown) => {
    assert.ok(err instanceof ZkmlError, `expected a ZkmlError, got ${err}`);
    assert.equal(err.code, code);
    assert.ok(err.message.includes(file), `message names the file: ${err.message}`);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  };
}

async function proveAndVerify(dir: string): Promise<string[]> {
  const snarkjs = await loadSnarkjs();
  const p = buildPaths(dir);
  const { proof, publicSignals } = await snarkjs.groth16.fullProve({ in0: ['3', '5'] }, p.wasm, p.zkey);
  const vkey = JSON.parse(readFileSync(p.vkey, 'utf8'));
  assert.equal(await snarkjs.groth16.verify(vkey, publicSignals, proof), true, 'the proof verifies');
  assert.equal(await snarkjs.groth16.verify(vkey, ['11', '16', '16'], proof), false, 'a wrong output does not');
  return publicSignals;
}

test('the domain rule: constraints + public signals < 2^power, and dev files of at least power 8', () => {
  assert.equal(domainPower(3, 3), 3);
  assert.equal(domainPower(1014, 9), 10); // 1023 rows fit in 1024
  assert.equal(domainPower(1014, 10), 11); // 1024 rows do not
  assert.equal(ptauPowerFor(3, 3), 8);
  assert.equal(ptauPowerFor(1014, 10), 11);
  assert.throws(() => domainPower(2 ** 28, 1), /power 29/);
});

test('the dev ptau is byte for byte what snarkjs new + beacon + prepare phase2 makes, and passes its verify', async () => {
  const power = 5;
  const dir = tmp('ptau');
  const ours = join(dir, 'dev.ptau');
  await writeDevPtau(power, ours);

  const snarkjs = await loadSnarkjs();
  const curve = await (await loadFfjavascript()).buildBn128();
  const [fresh, beaconed, prepared] = ['new', 'beacon', 'prepared'].map((n) => join(dir, `${n}.ptau`));
  await snarkjs.powersOfTau.newAccumulator(curve, power, fresh);
  await snarkjs.powersOfTau.beacon(fresh, beaconed, DEV_CONTRIBUTION_NAME, DEV_BEACON_HASH, 10);
  await snarkjs.powersOfTau.preparePhase2(beaconed, prepared);
  assert.ok(readFileSync(ours).equals(readFileSync(prepared)), 'identical files');

  // @types/snarkjs declares powersOfTau.verify with the wrong parameters; it takes (file, logger).
  const verify = snarkjs.powersOfTau.verify as unknown as (file: string) => Promise<boolean>;
  assert.equal(await verify(ours), true);

  const info = readPtauInfo(ours);
  assert.equal(info.power, power);
  assert.deepEqual(info.contributions, [{ name: DEV_CONTRIBUTION_NAME, beacon: { hash: DEV_BEACON_HASH, iterationsExp: 10 } }]);
  assert.throws(() => readPtauInfo(beaconed), isError('E_PTAU_NOT_PREPARED', beaconed, /prepare phase2/));
});

test('devPtau caches by power, atomically, and clears temp files of killed runs', async () => {
  const saved = process.env.ZKML_CACHE;
  process.env.ZKML_CACHE = tmp('cache');
  try {
    const path = devPtauPath(3);
    const stale = join(dirname(path), '.dev-3.ptau.999999999.x.tmp'); // a pid that cannot exist
    writeFileSync(stale, 'half a file');
    let events = 0;
    assert.equal(await devPtau(3, () => events++), path);
    assert.ok(events > 0, 'generated');
    assert.equal(readPtauPower(path), 3);
    assert.deepEqual(readdirSync(dirname(path)), ['dev-3.ptau'], 'no temp files left');

    const before = statSync(path);
    events = 0;
    assert.equal(await devPtau(3, () => events++), path);
    assert.equal(events, 0, 'no generation on a cache hit');
    assert.equal(statSync(path).mtimeMs, before.mtimeMs);
    assert.equal(statSync(path).ino, before.ino);

    truncateSync(path, 1000); // damaged by hand: made again
    assert.equal(await devPtau(3), path);
    assert.equal(statSync(path).size, before.size);
  } finally {
    process.env.ZKML_CACHE = saved;
  }
});

test('setup of the tiny build: the development zkey from known secrets, which proves and verifies, recorded as insecure', async () => {
  const dir = await tinyBuild();
  const steps: string[] = [];
  const info = await setup(dir, { verify: true, onProgress: (step) => steps.push(step) });
  for (const step of ['zkey', 'zkey-generate', 'verify', 'vkey', 'done']) assert.ok(steps.includes(step), `step ${step}`);
  assert.ok(!steps.includes('contribute'), 'no contribution unless one is named: tau is public anyway');

  assert.equal(info.insecure, true);
  assert.equal(info.method, 'dev-known-secret');
  assert.equal(info.seed, DEV_ZKEY_SEED);
  assert.deepEqual(info.ptau, { path: devPtauPath(8), power: 8, insecure: true, source: 'dev' });
  assert.deepEqual(info.contributions, [{ name: DEV_ZKEY_BEACON_NAME, kind: 'beacon' }]);
  assert.deepEqual(readManifest(dir).setup, info);
  assert.match(insecureWarning(info)!, /written from known secrets/);
  assert.deepEqual(await proveAndVerify(dir), ['10', '16', '15']);

  // It is no ceremony: verifySetup refuses it rather than bless it.
  await assert.rejects(verifySetup(dir), isError('E_SETUP_NOT_CEREMONY', buildPaths(dir).zkey, /known secrets/, /development only/));

  // Phase-2 steps of snarkjs still apply to it, each leaving a zkey that still proves.
  const alice = await contribute(dir, 'alice');
  assert.deepEqual(alice.contributions.map((c) => c.name), [DEV_ZKEY_BEACON_NAME, 'alice']);
  assert.equal(alice.method, 'dev-known-secret');
  assert.equal(alice.insecure, true, 'the ptau secret stays public');
  await proveAndVerify(dir);
  const named = await setup(dir, { contribute: 'bob' });
  assert.deepEqual(named.contributions, [{ name: DEV_ZKEY_BEACON_NAME, kind: 'beacon' }, { name: 'bob', kind: 'contribution' }]);
  await proveAndVerify(dir);
});

test('the generic phase 2 over a ptau file: zkey new, a contribution, a beacon, verifySetup', async () => {
  const dir = await tinyBuild();
  const steps: string[] = [];
  const info = await setup(dir, { ptau: await devPtau(8), verify: true, onProgress: (step) => steps.push(step) });
  for (const step of ['ptau', 'zkey', 'contribute', 'verify', 'vkey', 'done']) assert.ok(steps.includes(step), `step ${step}`);
  assert.equal(info.method, 'snarkjs');
  assert.equal(info.insecure, true);
  assert.equal(info.ptau.source, 'dev');
  assert.equal(info.ptau.power, 8);
  assert.deepEqual(info.contributions, [{ name: 'zkml setup', kind: 'contribution' }]);
  assert.deepEqual(readManifest(dir).setup, info);
  await proveAndVerify(dir);

  const alice = await contribute(dir, 'alice');
  assert.deepEqual(alice.contributions.map((c) => c.name), ['zkml setup', 'alice']);
  const closed = await beacon(dir, 'ab'.repeat(32), 10);
  assert.deepEqual(closed.contributions.at(-1), { name: 'zkml beacon', kind: 'beacon' });
  assert.notEqual(closed.zkeySha256, info.zkeySha256);
  assert.deepEqual(readManifest(dir).setup, closed);
  await proveAndVerify(dir);
  await verifySetup(dir);

  writeFileSync(buildPaths(dir).zkey, 'not a zkey');
  await assert.rejects(verifySetup(dir), isError('E_ZKEY_CHANGED', buildPaths(dir).zkey));
});

test('the development setup is deterministic: setting it up again keeps the key and the deployments made for it', async () => {
  const dir = await tinyBuild();
  const first = await setup(dir);
  const deployment = { chainId: '31337', verifier: '0x' + '11'.repeat(20), deployedAt: new Date().toISOString(), vkeySha256: first.vkeySha256 };
  writeManifest(dir, { ...readManifest(dir), deployments: { local: deployment } });
  writeFileSync(buildPaths(dir).verifierSol, '// the exported verifier of this key');
  const again = await setup(dir);
  assert.equal(again.zkeySha256, first.zkeySha256, 'the same zkey, byte for byte');
  assert.equal(again.vkeySha256, first.vkeySha256);
  assert.deepEqual(readManifest(dir).deployments, { local: deployment }, 'the deployment still checks this key');
  assert.ok(existsSync(buildPaths(dir).verifierSol), 'and the exported verifier is still of it');

  const other = await setup(dir, { contribute: 'a new delta' });
  assert.notEqual(other.vkeySha256, first.vkeySha256);
  assert.equal(readManifest(dir).deployments, undefined, 'a new key retires the deployments');
  assert.deepEqual(Object.keys(readManifest(dir).retiredDeployments ?? {}), ['local']);
  assert.ok(!existsSync(buildPaths(dir).verifierSol));
});

test('the development setup reads no ptau file', async () => {
  const saved = process.env.ZKML_CACHE;
  process.env.ZKML_CACHE = tmp('empty-cache');
  try {
    const dir = await tinyBuild();
    const steps: string[] = [];
    const info = await setup(dir, { onProgress: (step) => steps.push(step) });
    assert.ok(!steps.includes('ptau-generate') && !steps.includes('ptau'));
    assert.ok(!existsSync(info.ptau.path), 'no dev ptau was made');
    await proveAndVerify(dir);
  } finally {
    process.env.ZKML_CACHE = saved;
  }
});

test('--ptau: a file too small, not a ptau, or truncated gets an error naming the file and what is wrong', async () => {
  const dir = await tinyBuild();
  const files = tmp('bad-ptau');

  const small = join(files, 'power2.ptau');
  await writeDevPtau(2, small);
  await assert.rejects(setup(dir, { ptau: small }), isError('E_PTAU_TOO_SMALL', small, /power 2 is too small/, /needs power 3/));

  const text = join(files, 'notes.ptau');
  writeFileSync(text, 'these are not powers of tau\n');
  await assert.rejects(setup(dir, { ptau: text }), isError('E_PTAU_FORMAT', text, /not a powers-of-tau file/));

  const cut = join(files, 'cut.ptau');
  copyFileSync(await devPtau(8), cut);
  truncateSync(cut, Math.floor(statSync(cut).size / 2));
  await assert.rejects(setup(dir, { ptau: cut }), isError('E_PTAU_TRUNCATED', cut, /truncated/));

  const missing = join(files, 'nope.ptau');
  await assert.rejects(setup(dir, { ptau: missing }), isError('E_PTAU_MISSING', missing));
  assert.ok(!existsSync(buildPaths(dir).zkey), 'no zkey after failed setups');

  const info = await setup(dir, { ptau: await devPtau(8), contribute: false });
  assert.equal(info.ptau.source, 'dev', 'the dev ptau is recognised when given by path too');
  assert.equal(info.insecure, true);
});

test('a ptau with a secret contribution and a phase-2 contribution make a setup not known to be insecure', async () => {
  const dir = await tinyBuild();
  const files = tmp('ceremony');
  const snarkjs = await loadSnarkjs();
  const curve = await (await loadFfjavascript()).buildBn128();
  await snarkjs.powersOfTau.newAccumulator(curve, 4, join(files, '0.ptau'));
  await snarkjs.powersOfTau.contribute(join(files, '0.ptau'), join(files, '1.ptau'), 'someone', 'entropy nobody keeps');
  await snarkjs.powersOfTau.preparePhase2(join(files, '1.ptau'), join(files, 'final.ptau'));

  const info = await setup(dir, { ptau: join(files, 'final.ptau'), verify: true });
  assert.equal(info.ptau.source, 'ceremony');
  assert.equal(info.ptau.insecure, false);
  assert.equal(info.insecure, false);
  await proveAndVerify(dir);

  const unsafe = await setup(dir, { ptau: join(files, 'final.ptau'), contribute: false });
  assert.equal(unsafe.insecure, true, 'without a phase-2 contribution delta is known');
});

test('a setup that fails inside snarkjs leaves the previous zkey untouched and no staging folder', async () => {
  const dir = await tinyBuild();
  await setup(dir, { contribute: false });
  const zkey = readFileSync(buildPaths(dir).zkey);
  const manifest = readManifest(dir);

  // Understate the circuit so the power check passes, then give a ptau snarkjs finds too small for the r1cs.
  writeManifest(dir, { ...manifest, constraints: 0, publicSignals: [] });
  const small = join(tmp('small'), 'power2.ptau');
  await writeDevPtau(2, small);
  await assert.rejects(setup(dir, { ptau: small }), (err: unknown) => err instanceof ZkmlError && err.code === 'E_SETUP' && /too big/.test(err.message));

  assert.ok(readFileSync(buildPaths(dir).zkey).equals(zkey), 'previous zkey intact');
  assert.deepEqual(readManifest(dir).setup, manifest.setup, 'previous setup record intact');
  assert.deepEqual(readdirSync(dirname(dir)), ['build'], 'no staging folder left beside the build');
  assert.ok(!readdirSync(dir).some((f) => f.endsWith('.tmp') || f.includes('staging')));
});

test('zkml setup on the command line: warns loudly, prints JSON lines, exits', async () => {
  const dir = await tinyBuild();
  const r = zkml(['setup', dir, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const warning = events.find((e) => e.event === 'warning');
  assert.match(warning.message, /^INSECURE SETUP/);
  const result = events.at(-1);
  assert.equal(result.event, 'setup');
  assert.equal(result.insecure, true);
  assert.deepEqual(result, { event: 'setup', ...readManifest(dir).setup });

  const human = zkml(['setup', dir, '--beacon', 'xyz']);
  assert.equal(human.status, 1);
  assert.match(human.stderr, /beacon hash must be 1 to 255 bytes of hex/);
});
