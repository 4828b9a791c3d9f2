/**
 * What `zkml verify` reports is what the proof proves: public inputs and outputs outside the build's integer
 * ranges are refused (a forged proof of a build without input range checks, whose public inputs near -p/2 wrap
 * around the field), and a result's output.json is checked against the proven public signals or digests, so
 * an edited one fails instead of riding on a valid proof. Builds of a two-input sum (y = x0 + x1), which keep
 * circom and the setup to a second or two each.
 */
process.env.ZKML_CACHE = '/work/main/.cache/test';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { floatTensor, model, node, serialize, valueInfo } from '../src/onnx/write.ts';
import { cachedBuild } from './helpers/builds.ts';
import { tempDir } from './helpers/models.ts';
import { zkml } from './helpers/cli.ts';
import { forgeProof } from './helpers/forge.ts';
import type { CompileOptions } from '../src/compiler/compile.ts';
import { setup } from '../src/setup/setup.ts';
import { prove } from '../src/prove/prove.ts';
import { verify } from '../src/prove/verify.ts';
import { verifyOnchain } from '../src/chain/verify-onchain.ts';
import { buildPaths, readManifest } from '../src/manifest.ts';
import { encodeInputs } from '../src/io/input.ts';
import { decodePublicSignals, FIELD_P } from '../src/io/output.ts';
import { loadSnarkjs, releaseCurve } from '../src/util/snark.ts';
import { ZkmlError } from '../src/util/errors.ts';

let tmp: string;
let modelPath: string;
const input = { x: [[0.5, 0.25]] };

/** y = x · [[1], [1]]: two inputs, one output, no nonlinearity but the requantization. */
function sumModel(): Uint8Array {
  return serialize(
    model({
      name: 'sum2',
      inputs: [valueInfo('x', [1, 2])],
      outputs: [valueInfo('y', [1, 1])],
      initializers: [floatTensor('W', [2, 1], [1, 1])],
      nodes: [node('MatMul', ['x', 'W'], ['y'], { name: 'sum' })],
      producerName: 'zkml-test',
    }),
  );
}

/** A set-up copy of the cached build of the sum model with `opts`, and one honest proof of `input`. */
async function provenBuild(name: string, opts: CompileOptions): Promise<{ build: string; out: string }> {
  const build = join(tmp, name);
  cpSync(await cachedBuild(modelPath, { inputRange: [-1, 1], ...opts }), build, { recursive: true });
  await setup(build);
  const out = join(tmp, `${name}-proof`);
  await prove(build, input, { out });
  return { build, out };
}

before(() => {
  tmp = tempDir('verify');
  modelPath = join(tmp, 'sum2.onnx');
  writeFileSync(modelPath, sumModel());
});

after(async () => {
  await releaseCurve();
  rmSync(tmp, { recursive: true, force: true });
});

const rejectsWithCode = (code: string, message: RegExp) => (err: unknown) => {
  assert.ok(err instanceof ZkmlError, `expected a ZkmlError, got ${err}`);
  assert.equal(err.code, code, err.message);
  assert.match(err.message, message);
  return true;
};

test('--input-visibility public --no-check-inputs: public inputs (and outputs) outside the integer ranges are refused', async () => {
  const { build, out } = await provenBuild('public-unchecked', { inputVisibility: 'public', checkInputs: false });
  const manifest = readManifest(build);
  assert.deepEqual(manifest.publicSignals.map((s) => s.kind), ['output', 'input', 'input']);
  assert.equal((await verify(build, out)).valid, true, 'the honest proof verifies');

  // The attack: without range checks the circuit computes in the field. x0 - (p-1)/2 and x1 - (p-1)/2 are
  // integers near -p/2 whose sum, x0 + x1 + 1 - p, wraps to x0 + x1 + 1: the proof shows y = w·(x0 + x1 + 1)
  // for inputs on which the integer model gives about -w·p.
  const [x0, x1] = encodeInputs(manifest, input).get('x')!;
  const w = BigInt(JSON.parse(readFileSync(join(out, 'public.json'), 'utf8'))[0]) / (x0 + x1);
  const half = (FIELD_P - 1n) / 2n;
  const field = (v: bigint) => (((v % FIELD_P) + FIELD_P) % FIELD_P).toString();
  const wrapped = join(tmp, 'wrapped');
  const signals = await forgeProof(build, { [manifest.inputs[0].signal]: [field(x0 - half), field(x1 - half)] }, wrapped);
  const snarkjs = await loadSnarkjs();
  const vkey = JSON.parse(readFileSync(buildPaths(build).vkey, 'utf8'));
  assert.equal(await snarkjs.groth16.verify(vkey, signals, JSON.parse(readFileSync(join(wrapped, 'proof.json'), 'utf8'))), true, 'the forged proof satisfies the verifying key');
  assert.equal(BigInt(signals[0]), w * (x0 + x1 + 1n), 'and proves the wrapped sum');

  assert.throws(() => decodePublicSignals(manifest, signals), rejectsWithCode('E_PUBLIC_RANGE', /public input "x"\[0\] is -\d+, outside the build's integer range \[-256, 256\]/));
  const r = await verify(build, wrapped);
  assert.equal(r.valid, false, 'zkml verify refuses it');
  assert.match(r.results[0].reason ?? '', /public input "x"\[0\] is -\d+, outside .*\[-256, 256\]/);
  assert.equal(r.results[0].outputs, undefined, 'and reports no output for it');
  await assert.rejects(verifyOnchain(build, wrapped), rejectsWithCode('E_PUBLIC_RANGE', /public input "x"\[0\]/), 'nothing is sent to the chain');

  // Small values outside the range: the sum is exact, but outside the range the build was compiled for,
  // and the output is one no input in range gives.
  const [outLo, outHi] = manifest.outputs[0].intRange.map(BigInt);
  const outside = join(tmp, 'outside');
  const big = await forgeProof(build, { [manifest.inputs[0].signal]: ['756', '64'] }, outside);
  assert.ok(BigInt(big[0]) > outHi, `the output ${big[0]} is above the output's range [${outLo}, ${outHi}]`);
  const o = await verify(build, outside);
  assert.equal(o.valid, false);
  assert.match(o.results[0].reason ?? '', new RegExp(`public output "y"\\[0\\] is ${w * 820n}, outside the build's integer range \\[${outLo}, ${outHi}\\]`));
  assert.match(o.results[0].reason ?? '', /public input "x"\[0\] is 756/);
});

test('an edited output.json fails verification (public outputs), with a clear message and exit code 1', async () => {
  const { build, out } = await provenBuild('public-out', {});
  const ok = await verify(build, out);
  assert.equal(ok.valid, true);
  const edit = (name: string, change: (o: any) => void) => {
    const dir = join(tmp, name);
    cpSync(out, dir, { recursive: true });
    const o = JSON.parse(readFileSync(join(dir, 'output.json'), 'utf8'));
    change(o);
    writeFileSync(join(dir, 'output.json'), JSON.stringify(o));
    return dir;
  };
  const cases: [string, (o: any) => void, RegExp][] = [
    ['ints', (o) => (o.outputs[0].ints[0] = String(BigInt(o.outputs[0].ints[0]) + 1n)), /output\.json: outputs\[0\]\.ints\[0\] is "\d+"; the proof says "\d+"/],
    ['floats', (o) => (o.outputs[0].floats[0] += 0.5), /output\.json: outputs\[0\]\.floats\[0\] is [\d.]+; the proof says [\d.]+/],
    ['digest', (o) => (o.digests.inputDigest = '1'), /output\.json: digests\.inputDigest is "1"; the proof says "\d+"/],
    ['setup', (o) => (o.insecureSetup = false), /output\.json: insecureSetup is false; the build's setup is insecure/],
  ];
  for (const [name, change, reason] of cases) {
    const r = await verify(build, edit(name, change));
    assert.equal(r.valid, false, name);
    assert.match(r.results[0].reason ?? '', reason, name);
  }
  const cli = zkml(['verify', build, join(tmp, 'ints')]);
  assert.equal(cli.status, 1, cli.stdout + cli.stderr);
  assert.match(cli.stdout + cli.stderr, /INVALID: .*output\.json: outputs\[0\]\.ints\[0\]/);
  assert.doesNotMatch(cli.stdout + cli.stderr, /the proof is valid/);
});

test('hashed outputs and single signal: output.json\'s values are checked against the proven digest and commitment, then reported', async () => {
  for (const [name, opts, key] of [
    ['hashed-out', { outputVisibility: 'hashed' }, 'outputDigest'],
    ['single', { singleSignal: true }, 'commitment'],
  ] as const) {
    const { build, out } = await provenBuild(name, opts);
    const ok = await verify(build, out);
    assert.equal(ok.valid, true, name);
    const proven = JSON.parse(readFileSync(join(out, 'output.json'), 'utf8'));
    assert.deepEqual(ok.results[0].outputs?.outputs.map((t) => t.ints), proven.outputs.map((t: { ints: string[] }) => t.ints), `${name}: the committed values are reported once checked`);

    const edited = join(tmp, `${name}-edited`);
    cpSync(out, edited, { recursive: true });
    proven.outputs[0].ints[0] = String(BigInt(proven.outputs[0].ints[0]) + 1n);
    proven.outputs[0].floats[0] += 2 ** -8;
    writeFileSync(join(edited, 'output.json'), JSON.stringify(proven));
    const r = await verify(build, edited);
    assert.equal(r.valid, false, name);
    assert.match(r.results[0].reason ?? '', new RegExp(`output\\.json: its outputs do not match the proof's ${key}`), name);
  }
});

test('private weights: a valid proof says "some weights", and verify says so', async () => {
  const { build, out } = await provenBuild('private-weights', { paramVisibility: 'private' });
  const r = await verify(build, out);
  assert.equal(r.valid, true);
  assert.ok(r.warnings.some((w) => /weights are private and unbound .*"some weights of this architecture"/.test(w)), JSON.stringify(r.warnings));
});
