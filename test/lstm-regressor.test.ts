/**
 * The LSTM demonstration model (fixtures/lstm-regressor.ts, committed in fixtures/lstm-regressor/): a trained
 * time-series regressor (8 past values → LSTM(8) → Gemm → next value) compiled, its witness checked against the
 * reference executor and every constraint, proven with Groth16 (the tests' cached development ptau) and verified;
 * the proven forecast agrees with onnxruntime and with the committed expected output.
 *
 * Tolerance 0.02: the LSTM's own error (recurrent.ts header; about 0.004 per step measured in
 * test/ops-recurrent.test.ts) carried over 8 steps and through the Gemm head (‖head‖₁ ≈ 2.6 here).
 */
import { TEST_CACHE } from './helpers/cache.ts';
process.env.ZKML_CACHE = TEST_CACHE;
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileAndCheck, tempDir } from './helpers/models.ts';
import { run } from '../src/run.ts';
import { setup } from '../src/setup/setup.ts';
import { prove } from '../src/prove/prove.ts';
import { verify } from '../src/prove/verify.ts';
import { releaseCurve } from '../src/util/snark.ts';
import { LSTM_REGRESSOR, LSTM_REGRESSOR_DIR } from '../fixtures/lstm-regressor.ts';

const MODEL = join(LSTM_REGRESSOR_DIR, `${LSTM_REGRESSOR}.onnx`);
const readJson = (file: string) => JSON.parse(readFileSync(join(LSTM_REGRESSOR_DIR, `${LSTM_REGRESSOR}.${file}.json`), 'utf8'));
const input: number[] = readJson('input').input_data[0];
const expected: number = readJson('expected').output_data[0][0];
const TOL = 0.02;

after(releaseCurve);

test('LSTM regressor: compiles, witness = reference and satisfies every constraint, proves with Groth16 and verifies', async () => {
  const [o] = await run(MODEL, { x: input }, { inputRange: [-1, 1] });
  assert.ok(Math.abs(o.float[0] - expected) <= 1e-5, `onnxruntime ${o.float[0]} vs committed ${expected}`);
  assert.ok(Math.abs(o.dequantized[0] - expected) <= TOL, `zkml ${o.dequantized[0]} vs onnxruntime ${expected}`);

  const t0 = Date.now();
  const r = await compileAndCheck(MODEL, { x: input }, { inputRange: [-1, 1] });
  assert.deepEqual(r.check.mismatches, [], 'every gadget output equals the reference executor');
  assert.deepEqual(r.check.violated, [], 'the witness satisfies every constraint');
  const t1 = Date.now();
  await setup(r.dir);
  const t2 = Date.now();
  const out = join(tempDir('lstm-proof'), 'out');
  const proof = await prove(r.dir, { x: input }, { out });
  const t3 = Date.now();
  const y = proof.outputs.outputs[0].floats[0];
  assert.equal(y, o.dequantized[0], 'the proven output is the reference executor\'s');
  assert.equal((await verify(r.dir, out)).valid, true);
  console.log(`# lstm_regressor: ${r.manifest.constraints} constraints; compile+check ${t1 - t0} ms, setup ${t2 - t1} ms, prove ${t3 - t2} ms; y = ${y} (onnxruntime ${expected})`);
});
