/**
 * `zkml prove` (one input, in-process) and `zkml verify`, end to end on the tiny build: the decoded outputs are
 * right, tampering and foreign keys are caught, stale or missing artifacts and malformed files get clear errors.
 */
import { TEST_CACHE } from './helpers/cache.ts';
process.env.ZKML_CACHE = TEST_CACHE;
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTinyBuild } from './helpers/tiny-build.ts';
import { tempDir } from './helpers/models.ts';
import { zkml } from './helpers/cli.ts';
import { setup } from '../src/setup/setup.ts';
import { releaseCurve } from '../src/util/snark.ts';
import { prove } from '../src/prove/prove.ts';
import { verify } from '../src/prove/verify.ts';
import { compile } from '../src/compiler/compile.ts';

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const writeJson = (path: string, value: unknown) => writeFileSync(path, JSON.stringify(value));

let tmp: string;
let buildA: string;
let buildB: string;
/** A proof of x = [3, 5] with build A. */
let resultA: string;

before(async () => {
  tmp = tempDir('prove');
  buildA = await makeTinyBuild(join(tmp, 'a'));
  buildB = await makeTinyBuild(join(tmp, 'b'));
  // Same circuit, two setups: the development setup alone is deterministic (the same key), so B adds a
  // phase-2 contribution with fresh random entropy, and the keys differ.
  await setup(buildA);
  await setup(buildB, { contribute: 'another key' });
  resultA = join(tmp, 'result-a');
  await prove(buildA, { x: [[3, 5]] }, { out: resultA });
});

after(async () => {
  await releaseCurve();
  rmSync(tmp, { recursive: true, force: true });
});

/** A copy of result A to tamper with. */
function copyOfResult(name: string): string {
  const dir = join(tmp, name);
  cpSync(resultA, dir, { recursive: true });
  return dir;
}

test('prove one input: files written, outputs decoded, proof verifies', async () => {
  const out = join(tmp, 'one');
  const input = join(tmp, 'input.json');
  writeJson(input, { x: [[3, 5]] });
  const r = await prove(buildA, { file: input }, { out });
  assert.deepEqual(readdirSync(out).sort(), ['output.json', 'proof.json', 'public.json']);
  assert.deepEqual(r.publicSignals, ['10', '16', '15']);
  assert.deepEqual(r.outputs.outputs, [{ name: 'y', shape: [1, 3], ints: ['10', '16', '15'], floats: [10, 16, 15], argmax: 1 }]);
  assert.deepEqual(r.outputs.digests, {}, 'the tiny build has no hashed signals');
  assert.equal(r.insecureSetup, true, 'the dev ptau setup is insecure');
  assert.match(r.warnings.join('\n'), /INSECURE/);
  const output = readJson(join(out, 'output.json'));
  assert.deepEqual(output.outputs, r.outputs.outputs);
  assert.equal(output.insecureSetup, true);

  const v = await verify(buildA, out);
  assert.equal(v.valid, true);
  assert.equal(v.kind, 'single');
  assert.equal(v.insecureSetup, true);
  assert.deepEqual(v.outputs, r.outputs);
});

test('negative inputs round-trip through the field', async () => {
  const out = join(tmp, 'negative');
  const r = await prove(buildA, [[-4, 7]], { out });
  assert.deepEqual(r.outputs.outputs[0].ints, ['-11', '22', '-28']);
  assert.equal((await verify(buildA, out)).valid, true);
});

test('a changed proof point or public signal fails verification', async () => {
  const proof = readJson(join(resultA, 'proof.json'));

  const pointOff = copyOfResult('tampered-point');
  writeJson(join(pointOff, 'proof.json'), { ...proof, pi_a: [(BigInt(proof.pi_a[0]) + 1n).toString(), proof.pi_a[1], proof.pi_a[2]] });
  const v1 = await verify(buildA, pointOff);
  assert.equal(v1.valid, false);
  assert.equal(v1.outputs, undefined, 'no outputs from an invalid proof');

  // Valid curve points in the wrong places: A and C swapped.
  const swapped = copyOfResult('tampered-swap');
  writeJson(join(swapped, 'proof.json'), { ...proof, pi_a: proof.pi_c, pi_c: proof.pi_a });
  assert.equal((await verify(buildA, swapped)).valid, false);

  const signal = copyOfResult('tampered-signal');
  writeJson(join(signal, 'public.json'), ['11', '16', '15']);
  const v3 = await verify(buildA, signal);
  assert.equal(v3.valid, false);
  assert.match(v3.results[0].reason!, /does not verify/);

  // The same value plus the field order: a classic malleability attempt, refused.
  const unreduced = copyOfResult('tampered-unreduced');
  const p = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
  writeJson(join(unreduced, 'public.json'), [(10n + p).toString(), '16', '15']);
  assert.equal((await verify(buildA, unreduced)).valid, false);
});

test("a proof checked against another build's key fails", async () => {
  const v = await verify(buildB, resultA);
  assert.equal(v.valid, false);
  assert.match(v.results[0].reason!, /another setup/);
});

test("a verification key that is not the build's own is refused", async () => {
  const mixed = join(tmp, 'mixed-vkey');
  cpSync(buildA, mixed, { recursive: true });
  cpSync(join(buildB, 'verification_key.json'), join(mixed, 'verification_key.json'));
  await assert.rejects(verify(mixed, resultA), (err: Error) => {
    assert.match(err.message, /verification_key\.json: sha256 is [0-9a-f]+…, the manifest expects [0-9a-f]+…/);
    return true;
  });
});

test('malformed proof.json and public.json get clear errors', async () => {
  const notJson = copyOfResult('malformed-json');
  writeFileSync(join(notJson, 'proof.json'), '{"pi_a": [');
  await assert.rejects(verify(buildA, notJson), /proof\.json: not valid JSON/);

  const noPiB = copyOfResult('malformed-pib');
  const { pi_b: _, ...rest } = readJson(join(resultA, 'proof.json'));
  writeJson(join(noPiB, 'proof.json'), rest);
  await assert.rejects(verify(buildA, noPiB), /proof\.json: pi_b must be a G2 point: 2 or 3 pairs of decimal strings; got undefined/);

  const shortPublic = copyOfResult('malformed-public');
  writeJson(join(shortPublic, 'public.json'), ['10', '16']);
  await assert.rejects(verify(buildA, shortPublic), /public\.json: expected an array of 3 decimal strings .*got \["10","16"\]/);

  const numbers = copyOfResult('malformed-numbers');
  writeJson(join(numbers, 'public.json'), [10, 16, 15]);
  await assert.rejects(verify(buildA, numbers), /public\.json: expected an array of 3 decimal strings/);

  await assert.rejects(verify(buildA, join(tmp, 'nowhere')), /nowhere: no such folder/);
});

test('a stale or missing zkey is refused before proving', async () => {
  const stale = join(tmp, 'stale-zkey');
  cpSync(buildA, stale, { recursive: true });
  cpSync(join(buildB, 'circuit.zkey'), join(stale, 'circuit.zkey'));
  const out = join(tmp, 'stale-out');
  await assert.rejects(prove(stale, [[1, 2]], { out }), /circuit\.zkey: sha256 is .* the manifest expects .*stale or from another build; rerun zkml setup/);
  rmSync(join(stale, 'circuit.zkey'));
  await assert.rejects(prove(stale, [[1, 2]], { out }), /circuit\.zkey is missing: run `zkml setup`/);
  assert.equal(existsSync(out), false, 'nothing written');
});

test('an input of the wrong shape is refused with the expected shape', async () => {
  const out = join(tmp, 'bad-input');
  await assert.rejects(prove(buildA, { x: [[1, 2, 3]] }, { out }), /input "x" has 3 values; expected 2 value\(s\) flat, or nested as \[1, 2\]/);
  await assert.rejects(prove(buildA, { x: [[1, 200]] }, { out }), /quantizes to 200, outside \[-100, 100\]/);
  assert.equal(existsSync(out), false);
});

test('CLI: prove --input and verify, with exit codes', () => {
  const input = join(tmp, 'cli-input.json');
  writeJson(input, { x: [[3, 5]] });
  const out = join(tmp, 'cli-out');
  const p = zkml(['prove', buildA, '--input', input, '-o', out, '--json']);
  assert.equal(p.status, 0, p.stderr);
  const events = p.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(events.find((e) => e.event === 'proved').outputs.outputs[0].ints, ['10', '16', '15']);
  assert.ok(events.some((e) => e.event === 'warning' && /INSECURE/.test(e.message)));

  const v = zkml(['verify', buildA, out]);
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stdout, /y \[1x3\]: \[10, 16, 15\]/);
  assert.match(v.stdout, /the proof is valid/);

  writeJson(join(out, 'public.json'), ['10', '16', '14']);
  const bad = zkml(['verify', buildA, out, '--json']);
  assert.equal(bad.status, 1);
  assert.equal(JSON.parse(bad.stdout.trim().split('\n').at(-1)!).valid, false);

  const usage = zkml(['prove', buildA, '-o', out]);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /exactly one of --input/);
});

test('a hashed-output build proves and verifies from its folder alone: model file gone, folder moved', async () => {
  const fixtures = join(import.meta.dirname, '..', 'fixtures', 'models');
  const input = readJson(join(fixtures, 'gemm_basic.input.json'));
  for (const circom of [false, true]) {
    const src = join(tmp, `self-contained-${circom}`);
    mkdirSync(src, { recursive: true });
    cpSync(join(fixtures, 'gemm_basic.onnx'), join(src, 'model.onnx'));
    await compile(join(src, 'model.onnx'), join(src, 'build'), { inputRange: [-1, 1], outputVisibility: 'hashed', circom });
    const build = join(tmp, `moved-${circom}`);
    cpSync(join(src, 'build'), build, { recursive: true });
    rmSync(src, { recursive: true });
    await setup(build);
    const out = join(tmp, `self-contained-proof-${circom}`);
    const r = await prove(build, input, { out });
    assert.equal(r.outputs.outputs.length, 1, `${circom ? 'circom' : 'zkml'} back end: the hashed output is reported`);
    assert.equal((await verify(build, out)).valid, true);
  }
});
