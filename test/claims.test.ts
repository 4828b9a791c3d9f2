/**
 * "This model, this input, this output" from one proof: `zkml verify --input/--output` for each visibility
 * mode, through the CLI as users run it, off-chain and on-chain.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zkml } from './helpers/cli.ts';
import { tempDir } from './helpers/models.ts';
import { TEST_CACHE } from './helpers/cache.ts';

const env = { ZKML_CACHE: TEST_CACHE };
const model = join(import.meta.dirname, '..', 'fixtures', 'models', 'iris.onnx');
const samples = join(import.meta.dirname, '..', 'fixtures', 'iris-samples');
const setosa = join(samples, 'sample-0.json');
const virginica = join(samples, 'sample-4.json');

function ok(args: string[]) {
  const r = zkml([...args, '--json'], env);
  assert.equal(r.status, 0, `zkml ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l));
}

/** A build of the iris model in the given visibility mode, set up and with one proof of the setosa sample. */
function proven(flags: string[]) {
  const work = tempDir('claims');
  const build = join(work, 'build');
  const out = join(work, 'out');
  ok(['compile', model, '-o', build, '--input-range', '0,8', ...flags]);
  ok(['setup', build]);
  ok(['prove', build, '--input', setosa, '-o', out]);
  return { work, build, out };
}

let hashedIn: ReturnType<typeof proven>;
before(() => {
  hashedIn = proven([]);
});

test('hashed input (default): the claimed input is checked against the digest', () => {
  const events = ok(['verify', hashedIn.build, hashedIn.out, '--input', setosa]);
  assert.ok(events.some((e) => e.event === 'claim' && e.kind === 'input' && e.matches === true));
  const wrong = zkml(['verify', hashedIn.build, hashedIn.out, '--input', virginica, '--json'], env);
  assert.equal(wrong.status, 1);
  assert.match(wrong.stdout, /the claimed input does not match the proof/);
  // The public output is checked directly against the claimed output file.
  ok(['verify', hashedIn.build, hashedIn.out, '--output', join(hashedIn.out, 'output.json')]);
});

test('hashed output: output.json carries the values, and they match the public digest', () => {
  const { build, out, work } = proven(['--output-visibility', 'hashed']);
  const output = JSON.parse(readFileSync(join(out, 'output.json'), 'utf8'));
  assert.equal(output.outputs[0].argmax, 0, 'the prover reports the committed output (setosa)');
  ok(['verify', build, out, '--input', setosa, '--output', join(out, 'output.json')]);
  output.outputs[0].ints[0] = String(BigInt(output.outputs[0].ints[0]) + 1n);
  writeFileSync(join(work, 'forged.json'), JSON.stringify(output));
  const r = zkml(['verify', build, out, '--output', join(work, 'forged.json'), '--json'], env);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /the claimed output does not match the proof/);
});

test('single signal: one public signal binds model, input and output; verified on-chain too', () => {
  const { build, out } = proven(['--single-signal']);
  assert.equal(JSON.parse(readFileSync(join(out, 'public.json'), 'utf8')).length, 1);
  const events = ok(['verify', build, out, '--input', setosa, '--output', join(out, 'output.json'), '--onchain']);
  const onchain = events.find((e) => e.event === 'verified-onchain');
  assert.equal(onchain.valid, true);
  assert.ok(Number(onchain.submit.gasUsed) > 0, 'gas read from the receipt');
  const wrong = zkml(['verify', build, out, '--input', virginica, '--output', join(out, 'output.json'), '--json'], env);
  assert.equal(wrong.status, 1);
  const missing = zkml(['verify', build, out, '--input', setosa, '--json'], env);
  assert.equal(missing.status, 1);
  assert.match(missing.stdout, /give both --input and --output/);
});

test('private input: a claimed input cannot be checked, and verify says so', () => {
  const { build, out } = proven(['--input-visibility', 'private']);
  const r = zkml(['verify', build, out, '--input', setosa, '--json'], env);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /the input is private/);
});
