/**
 * The development zkey from known secrets (src/setup/dev-zkey.ts): byte for byte what snarkjs' `zkey new` over the
 * development ptau plus the development beacon make, accepted by snarkjs' `zkey verify`, and a key whose proofs
 * (snarkjs' and the native prover's) verify while a tampered witness's do not.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyBuild } from './helpers/tiny-build.ts';
import { TEST_CACHE } from './helpers/cache.ts';
import { buildPaths } from '../src/manifest.ts';
import { loadSnarkjs, releaseCurve } from '../src/util/snark.ts';
import { devPtau } from '../src/setup/dev-ptau.ts';
import { DEV_ZKEY_BEACON_HASH, DEV_ZKEY_BEACON_ITERATIONS_EXP, DEV_ZKEY_BEACON_NAME, writeDevZkey } from '../src/setup/dev-zkey.ts';
import { nativeProver, nativeUnavailableReason, proveNative } from '../src/prove/native.ts';

process.env.ZKML_CACHE = TEST_CACHE;
const work = mkdtempSync(join(tmpdir(), 'zkml-dev-zkey-'));
after(async () => {
  await releaseCurve();
  rmSync(work, { recursive: true, force: true });
});

/** The tiny circuit with a chain of 300 products: 303 constraints, 3 public signals, domain power 9. */
const PRODUCTS = 300;
const POWER = 9;
let build: Promise<string> | undefined;
const tinyBuild = () => (build ??= makeTinyBuild(join(TEST_CACHE, 'dev-zkey', `tiny-${PRODUCTS}`), PRODUCTS));

/** A zkey's sections by id (snarkjs' binary layout: magic, version, count, then id u32, size u64, bytes). */
function sections(file: string): Map<number, Buffer> {
  const buf = readFileSync(file);
  const out = new Map<number, Buffer>();
  for (let k = 0, at = 12; k < buf.readUInt32LE(8); k++) {
    const size = Number(buf.readBigUInt64LE(at + 4));
    out.set(buf.readUInt32LE(at), buf.subarray(at + 12, at + 12 + size));
    at += 12 + size;
  }
  return out;
}

const SECTION_NAMES: Record<number, string> = { 2: 'header (alpha, beta, gamma, delta)', 3: 'IC', 4: 'coefficients', 5: 'A', 6: 'B1', 7: 'B2', 8: 'C (L)', 9: 'H', 10: 'contributions' };

for (const ptauPower of [POWER, POWER + 1]) {
  const what = ptauPower === POWER ? "at the ptau's own power (H from the truncated basis)" : 'with a larger ptau';
  test(`the dev zkey is byte for byte snarkjs' zkey new + beacon, ${what}`, async () => {
    const dir = await tinyBuild();
    const { r1cs } = buildPaths(dir);
    const ptau = await devPtau(ptauPower);
    const snarkjs = await loadSnarkjs();
    const [fresh, theirs, ours] = ['new', 'beacon', 'dev'].map((n) => join(work, `${n}-${ptauPower}.zkey`));
    await snarkjs.zKey.newZKey(r1cs, ptau, fresh);
    await snarkjs.zKey.beacon(fresh, theirs, DEV_ZKEY_BEACON_NAME, DEV_ZKEY_BEACON_HASH, DEV_ZKEY_BEACON_ITERATIONS_EXP);
    await writeDevZkey(r1cs, ptauPower, ours);

    const [a, b] = [sections(theirs), sections(ours)];
    assert.deepEqual([...b.keys()], [...a.keys()]);
    for (const [id, bytes] of a) assert.ok(bytes.equals(b.get(id)!), `section ${id} (${SECTION_NAMES[id] ?? id}) equal`);
    assert.ok(readFileSync(ours).equals(readFileSync(theirs)), 'identical files');
    assert.deepEqual(await snarkjs.zKey.exportVerificationKey(ours), await snarkjs.zKey.exportVerificationKey(theirs));
    if (ptauPower === POWER) {
      const verify = snarkjs.zKey.verifyFromR1cs as unknown as (r1cs: string, ptau: string, zkey: string) => Promise<boolean>;
      assert.equal(await verify(r1cs, ptau, ours), true, 'snarkjs zkey verify accepts it');
    }
  });
}

test('delta is not 1 and gamma is the G2 generator, as the exported verification key shows', async () => {
  const dir = await tinyBuild();
  const zkey = join(work, 'vk.zkey');
  await writeDevZkey(buildPaths(dir).r1cs, POWER, zkey);
  const vk = await (await loadSnarkjs()).zKey.exportVerificationKey(zkey);
  const g2 = [
    ['10857046999023057135944570762232829481370756359578518086990519993285655852781', '11559732032986387107991004021392285783925812861821192530917403151452391805634'],
    ['8495653923123431417604973247489272438418190587263600148770280649306958101930', '4082367875863433681332203403145435568316851327593401208105741076214120093531'],
    ['1', '0'],
  ];
  assert.deepEqual(vk.vk_gamma_2, g2);
  assert.notDeepEqual(vk.vk_delta_2, g2);
  assert.equal(vk.IC.length, 4);
});

test('proofs from the dev zkey verify, from snarkjs and the native prover; a tampered witness does not', async () => {
  const dir = await tinyBuild();
  const p = buildPaths(dir);
  const zkey = join(work, 'prove.zkey');
  await writeDevZkey(p.r1cs, POWER, zkey);
  const snarkjs = await loadSnarkjs();
  const vkey = await snarkjs.zKey.exportVerificationKey(zkey);
  const wtns = join(work, 'w.wtns');
  await snarkjs.wtns.calculate({ in0: ['3', '5'] }, p.wasm, wtns);

  const { proof, publicSignals } = await snarkjs.groth16.prove(zkey, wtns);
  assert.deepEqual(publicSignals, ['10', '16', '15']);
  assert.equal(await snarkjs.groth16.verify(vkey, publicSignals, proof), true, 'snarkjs proof verifies');
  assert.equal(await snarkjs.groth16.verify(vkey, ['10', '16', '16'], proof), false, 'not for other public signals');

  // The last wire is the end of the product chain: a private value no constraint lets change alone.
  const tampered = join(work, 'tampered.wtns');
  const bytes = Buffer.from(readFileSync(wtns));
  const lastWire = bytes.length - 32;
  bytes[lastWire] ^= 1;
  writeFileSync(tampered, bytes);
  const bad = await snarkjs.groth16.prove(zkey, tampered);
  assert.deepEqual(bad.publicSignals, publicSignals, 'same public signals');
  assert.equal(await snarkjs.groth16.verify(vkey, bad.publicSignals, bad.proof), false, 'a tampered witness gives no valid proof');

  if (!nativeProver()) {
    console.log(`# native prover part skipped: ${nativeUnavailableReason()}`);
    return;
  }
  const native = await proveNative(zkey, wtns);
  assert.deepEqual(native.publicSignals, publicSignals);
  assert.equal(await snarkjs.groth16.verify(vkey, native.publicSignals, native.proof), true, 'native proof verifies');
  const nativeBad = await proveNative(zkey, tampered);
  assert.equal(await snarkjs.groth16.verify(vkey, nativeBad.publicSignals, nativeBad.proof), false, 'native: a tampered witness gives no valid proof');
});
