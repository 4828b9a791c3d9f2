/** Visibility modes and commitments: what becomes public, and that a verifier can recompute every digest. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { compileAndCheck } from './helpers/models.ts';
import { pack, packLayout, unpack } from '../src/commit/pack.ts';
import { recomputeDigests } from '../src/commit/commitments.ts';
import { encodeInputs } from '../src/io/input.ts';
import { decodePublicSignals } from '../src/io/output.ts';
import { compile } from '../src/compiler/compile.ts';
import { tempDir } from './helpers/models.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'models');
const model = join(FIXTURES, 'gemm_basic.onnx');
const input = JSON.parse(readFileSync(join(FIXTURES, 'gemm_basic.input.json'), 'utf8'));

test('packing round-trips at the bounds of every integer width', () => {
  for (let width = 1; width <= 64; width++) {
    const lo = -(1n << BigInt(width - 1));
    const hi = (1n << BigInt(width - 1)) - 1n;
    const layout = packLayout(40, lo, hi);
    assert.equal(layout.width, width);
    const values = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? lo : i % 3 === 1 ? hi : 0n));
    const fields = pack(values, layout);
    assert.ok(fields.every((f) => f >= 0n && f < 1n << 248n), 'every packed element stays below 2^248');
    assert.deepEqual(unpack(fields, layout), values);
  }
  fc.assert(
    fc.property(fc.bigInt({ min: -(1n << 40n), max: 1n << 40n }), fc.bigInt({ min: 0n, max: 1n << 40n }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 50 }), (lo, span, ts) => {
      const layout = packLayout(ts.length, lo, lo + span);
      const values = ts.map((t) => lo + BigInt(Math.floor(t * Number(span))));
      assert.deepEqual(unpack(pack(values, layout), layout), values);
    }),
    { seed: 20261124, numRuns: 200 },
  );
  assert.throws(() => pack([5n], packLayout(1, 0n, 3n)), /outside the packed range/);
});

test('hashed input (the default): one public digest, private values never public, recomputable by a verifier', async () => {
  const r = await compileAndCheck(model, input, { inputRange: [-1, 1] });
  assert.deepEqual(r.check.mismatches, []);
  assert.deepEqual(r.check.violated, []);
  const m = r.manifest;
  assert.equal(m.inputs[0].visibility, 'hashed');
  assert.deepEqual(m.publicSignals.map((s) => s.kind), [...Array(4).fill('output'), 'inputDigest']);
  const pub = m.publicSignals.map((s, i) => r.check.witness[i + 1].toString());
  const decoded = decodePublicSignals(m, pub);
  const encoded = encodeInputs(m, input);
  const ints = encoded.get(m.inputs[0].name)!;
  // No public signal equals the packed input or reveals an input element wholesale.
  assert.ok(!pub.some((p) => ints.filter((v) => v !== 0n && v.toString() === p).length > 0), 'input values do not appear in public signals');
  const digests = await recomputeDigests(m, { inputs: encoded });
  assert.equal(digests.inputDigest, decoded.digests.inputDigest, 'the verifier recomputes the input digest');
  const other = new Map(encoded);
  other.set(m.inputs[0].name, ints.map((v, i) => (i === 0 ? v + 1n : v)));
  assert.notEqual((await recomputeDigests(m, { inputs: other })).inputDigest, decoded.digests.inputDigest, 'another input gives another digest');
});

test('hashed output and single-signal mode', async () => {
  const hashed = await compileAndCheck(model, input, { inputRange: [-1, 1], outputVisibility: 'hashed' });
  assert.deepEqual(hashed.check.mismatches, []);
  assert.deepEqual(hashed.manifest.publicSignals.map((s) => s.kind), ['outputDigest', 'inputDigest']);

  const single = await compileAndCheck(model, input, { inputRange: [-1, 1], singleSignal: true });
  assert.deepEqual(single.check.mismatches, []);
  assert.deepEqual(single.check.violated, []);
  const m = single.manifest;
  assert.deepEqual(m.publicSignals.map((s) => s.kind), ['commitment']);
  const encoded = encodeInputs(m, input);
  // The claimed output: the model's output integers (which the circuit computed and committed to).
  const claimedOut = new Map([[m.outputs[0].name, single.tensors.get(m.outputs[0].name)!]]);
  assert.equal((await recomputeDigests(hashed.manifest, { outputs: claimedOut })).outputDigest, hashed.check.witness[1], 'the output digest recomputes');
  const digests = await recomputeDigests(m, { inputs: encoded, outputs: claimedOut });
  assert.equal(digests.commitment, single.check.witness[1], 'Poseidon(model id, input digest, output digest) recomputes');
  const wrong = new Map([[m.outputs[0].name, claimedOut.get(m.outputs[0].name)!.map((v, i) => (i === 0 ? v + 1n : v))]]);
  assert.notEqual((await recomputeDigests(m, { inputs: encoded, outputs: wrong })).commitment, single.check.witness[1], 'a different output does not match');
});

test('public input: the input integers are public signals after the outputs', async () => {
  const r = await compileAndCheck(model, input, { inputRange: [-1, 1], inputVisibility: 'public' });
  assert.deepEqual(r.check.mismatches, []);
  const kinds = r.manifest.publicSignals.map((s) => s.kind);
  assert.deepEqual(kinds, [...Array(4).fill('output'), ...Array(16).fill('input')]);
});

test('a hashed input requires input range checks', async () => {
  await assert.rejects(compile(model, tempDir('vis'), { inputVisibility: 'hashed', checkInputs: false }), /hashed input needs its values range-checked/);
});

test('the model id depends on the quantized model, not on visibility', async () => {
  const a = await compile(model, tempDir('vis'), { inputVisibility: 'private' });
  const b = await compile(model, tempDir('vis'), { singleSignal: true });
  const c = await compile(model, tempDir('vis'), { inputVisibility: 'private', scale: 6 });
  assert.equal(a.modelId, b.modelId);
  assert.notEqual(a.modelId, c.modelId);
});
