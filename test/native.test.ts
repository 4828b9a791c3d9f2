/**
 * The native Groth16 prover (native/, src/prove/native.ts): every proof it makes here is checked by snarkjs'
 * verifier; its MSMs and NTT against ffjavascript's on random inputs; a tampered witness gives a proof that
 * does not verify; damaged files are clear errors. Skipped, saying why, when the addon is not built.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { TEST_CACHE } from './helpers/cache.ts';
import { randomCircuit, R } from './helpers/random-circuit.ts';
import { nativeProver, nativeUnavailableReason, proveNative } from '../src/prove/native.ts';
import { loadFfjavascript, loadSnarkjs, releaseCurve } from '../src/util/snark.ts';

const addon = nativeProver();
const skip = addon ? false : `native prover unavailable: ${nativeUnavailableReason()}`;
if (skip) console.log(`# native.test.ts skipped: ${skip}`);
const DIR = join(TEST_CACHE, 'native');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
let curve: any;
async function bn128() {
  curve ??= await (await loadFfjavascript()).buildBn128(true);
  return curve;
}
after(async () => {
  if (curve) await curve.terminate();
  await releaseCurve();
});

function le(v: bigint): Buffer {
  const b = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) { b[i] = Number(v & 0xffn); v >>= 8n; }
  return b;
}
function fromLe(b: Uint8Array, off = 0): bigint {
  let v = 0n;
  for (let i = 31; i >= 0; i--) v = (v << 8n) | BigInt(b[off + i]);
  return v;
}
const randScalar = () => fromLe(randomBytes(32)) % R;

async function verify(zkey: string, proof: unknown, publicSignals: string[]): Promise<boolean> {
  const snarkjs = await loadSnarkjs();
  const vk = await snarkjs.zKey.exportVerificationKey(zkey);
  return snarkjs.groth16.verify(vk, publicSignals, proof as never);
}

const circuits: [number, number, number][] = [[40, 0, 1], [300, 1, 2], [1500, 3, 3], [2000, 5, 4]];

test('native proofs of random circuits verify with snarkjs, with the public signals snarkjs reports', { skip }, async () => {
  const snarkjs = await loadSnarkjs();
  for (const [n, pub, seed] of circuits) {
    const c = await randomCircuit(DIR, n, pub, seed);
    const zkey = readFileSync(c.zkey);
    for (let k = 0; k < 2; k++) {
      const { proof, publicSignals } = await proveNative(zkey, c.wtns);
      assert.equal(await verify(c.zkey, proof, publicSignals), true, `circuit ${n}/${pub}/${seed} proof ${k}`);
      assert.equal(proof.protocol, 'groth16');
      assert.equal(proof.curve, 'bn128');
    }
    const ref = await snarkjs.groth16.prove(c.zkey, c.wtns);
    const mine = await proveNative(zkey, c.wtns);
    assert.deepEqual(mine.publicSignals, ref.publicSignals);
    assert.notDeepEqual(mine.proof.pi_a, ref.proof.pi_a, 'fresh r, s per proof');
  }
});

/** A proof made in a child process with `env` (the addon reads ZKML_NATIVE_ASM at each call), and which copy ran. */
function proveInChild(zkey: string, wtns: string, env: Record<string, string>): { usesAsm: boolean; proof: unknown; publicSignals: string[] } {
  const native = pathToFileURL(join(import.meta.dirname, '..', 'src', 'prove', 'native.ts')).href;
  const code = `import { nativeProver, proveNative } from ${JSON.stringify(native)};
    const r = await proveNative(${JSON.stringify(zkey)}, ${JSON.stringify(wtns)});
    process.stdout.write(JSON.stringify({ usesAsm: nativeProver().usesAsm(), ...r }));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { env: { ...process.env, ...env }, encoding: 'utf8' });
  return JSON.parse(out);
}

test('the BMI2/ADX copy and the portable copy (ZKML_NATIVE_ASM=0, in a child process) both make proofs that verify', { skip }, async (t) => {
  const c = await randomCircuit(DIR, 1500, 3, 3);
  const portable = proveInChild(c.zkey, c.wtns, { ZKML_NATIVE_ASM: '0' });
  assert.equal(portable.usesAsm, false);
  assert.equal(await verify(c.zkey, portable.proof, portable.publicSignals), true, 'portable copy');
  const asm = proveInChild(c.zkey, c.wtns, { ZKML_NATIVE_ASM: '1' });
  if (!asm.usesAsm) t.diagnostic('this CPU lacks BMI2 or ADX (or is not x86-64): both runs used the portable copy');
  assert.equal(asm.usesAsm, addon!.usesAsm(), 'the child picks the copy this process picks');
  assert.equal(await verify(c.zkey, asm.proof, asm.publicSignals), true, 'asm copy');
  assert.deepEqual(asm.publicSignals, portable.publicSignals);
});

test('property: native proofs of random circuits and witnesses verify, and a changed witness value does not', { skip }, async () => {
  const snarkjs = await loadSnarkjs();
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 4, max: 300 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 100, max: 1e6 }), fc.nat(), async (n, pub, seed, pick) => {
      const c = await randomCircuit(join(DIR, 'prop'), n + pub, pub, seed);
      const vk = await snarkjs.zKey.exportVerificationKey(c.zkey);
      const { proof, publicSignals } = await proveNative(c.zkey, c.wtns);
      assert.equal(await snarkjs.groth16.verify(vk, publicSignals, proof), true, `circuit ${n + pub}/${pub}/${seed}`);
      // A product wire (after 1, the public outputs and the two inputs, which a tiny circuit may leave unused):
      // each is the output of its own constraint, over earlier wires only, so changing it breaks that constraint.
      const wtns = Buffer.from(readFileSync(c.wtns));
      const nWires = wtns.readUInt32LE(12 + 12 + 36);
      const wire = 3 + pub + (pick % (nWires - 3 - pub));
      const off = 12 + 12 + 40 + 12 + wire * 32;
      wtns.set(le((fromLe(wtns, off) + 1n + BigInt(pick)) % R), off);
      const bad = await proveNative(c.zkey, wtns);
      assert.equal(await snarkjs.groth16.verify(vk, bad.publicSignals, bad.proof), false, `circuit ${n + pub}/${pub}/${seed}, wire ${wire} changed`);
    }),
    { numRuns: 5 },
  );
});

test('a tampered witness gives a proof that does not verify', { skip }, async () => {
  const c = await randomCircuit(DIR, 300, 1, 2);
  const wtns = Buffer.from(readFileSync(c.wtns));
  // witness section: after the 12-byte file header, section 1 (12 + 40 bytes) and section 2's 12-byte header
  const witnessStart = 12 + 12 + 40 + 12;
  const idx = 5; // a private wire
  const off = witnessStart + idx * 32;
  wtns.set(le((fromLe(wtns, off) + 1n) % R), off);
  const { proof, publicSignals } = await proveNative(c.zkey, wtns);
  assert.equal(await verify(c.zkey, proof, publicSignals), false);
});

test('truncated, damaged or mismatched files are clear errors, never a crash', { skip }, async () => {
  const c = await randomCircuit(DIR, 300, 1, 2);
  const zkey = readFileSync(c.zkey), wtns = readFileSync(c.wtns);
  const bad = async (z: Uint8Array, w: Uint8Array, re: RegExp) => {
    await assert.rejects(proveNative(z, w), (e: Error & { code?: string }) => e.code === 'E_NATIVE' && re.test(e.message));
  };
  for (const cut of [0, 8, 100, 1000, zkey.length / 2, zkey.length - 1]) await bad(zkey.subarray(0, Math.floor(cut)), wtns, /zkey: /);
  await bad(zkey, wtns.subarray(0, wtns.length - 32), /wtns: /);
  const other = await randomCircuit(DIR, 40, 0, 1);
  await bad(zkey, readFileSync(other.wtns), /witness length/);
  await bad(wtns, wtns, /not a zkey file/);
  // random bytes in the middle of the coefficient or point sections: an error or a proof that fails, no crash
  for (let i = 0; i < 20; i++) {
    const z = Buffer.from(zkey);
    const pos = 12 + Math.floor(Math.random() * (z.length - 12));
    z.writeUInt32LE(Math.floor(Math.random() * 2 ** 32), Math.min(pos, z.length - 4));
    try {
      await proveNative(z, wtns);
    } catch (e) {
      assert.equal((e as { code?: string }).code, 'E_NATIVE');
    }
  }
});

// Scalar distributions: random field elements, and what ML witnesses hold (bits; small integers of either sign),
// where most digits of a window fall in one bucket and a point often meets its own copy (doubling).
const SCALARS: Record<string, (i: number) => bigint> = {
  random: (i) => (i === 1 ? 0n : i === 2 ? R - 1n : i === 4 ? 1n : randScalar()),
  bits: () => BigInt(Math.random() < 0.5 ? 1 : 0),
  small: () => {
    const v = BigInt(Math.floor(Math.random() * 9) - 4);
    return v < 0n ? R + v : v;
  },
};

test('G1 and G2 multi-scalar multiplications match ffjavascript multiExpAffine, on random and ML-like scalars', { skip }, async () => {
  const c = await bn128();
  for (const [G, n8, fn, sizes] of [[c.G1, 64, addon!.msmG1, [1, 7, 600, 3000]], [c.G2, 128, addon!.msmG2, [1, 5, 700]]] as const) {
    for (const n of sizes) {
      const bases = new Uint8Array(n * n8);
      // an infinity point, and repeated points (every fifth is the generator) among random ones
      for (let i = 0; i < n; i++) {
        const p = i === 3 ? G.zero : i % 5 === 0 ? G.g : G.timesScalar(G.g, randScalar());
        G.toRprLEM(bases, i * n8, G.toAffine(p));
      }
      for (const [dist, scalarOf] of Object.entries(SCALARS)) {
        const scalars = Buffer.alloc(n * 32);
        for (let i = 0; i < n; i++) scalars.set(le(scalarOf(i)), i * 32);
        await sameMsm(G, n8, fn, bases, scalars, `${n8 === 64 ? 'G1' : 'G2'} n=${n}, ${dist} scalars`);
      }
    }
  }
});

/** The addon's MSM of `scalars` over `bases` equals ffjavascript's multiExpAffine. */
async function sameMsm(G: any, n8: number, fn: (p: Uint8Array, s: Uint8Array) => Buffer, bases: Uint8Array, scalars: Uint8Array, what: string) {
  const want = G.toObject(G.toAffine(await G.multiExpAffine(bases, scalars)));
  const got = fn(bases, scalars);
  const inf = got[n8] === 1;
  if (n8 === 64) assert.deepEqual(inf ? [0n, 1n, 0n] : [fromLe(got, 0), fromLe(got, 32), 1n], want, what);
  else assert.deepEqual(inf ? [[0n, 0n], [1n, 0n], [0n, 0n]] : [[fromLe(got, 0), fromLe(got, 32)], [fromLe(got, 64), fromLe(got, 96)], [1n, 0n]], want, what);
}

// Scalars whose endomorphism halves reach 2^127 or more (found by simulating the decomposition of msm.h): the
// first is a witness value of the model-zoo MNIST MLP whose proof came out invalid when the halves' sign was
// read from bit 127; the others, from a random search, also cross it for G2 or come closest for G1.
const WIDE_HALVES = [
  0x30490c78f13a67253548392aadfa951ce9420ad20c818f2add9661d38ee042d7n,
  0x305a97ed007556f78001a4efc58e80821db604fb736cd6f7ef99ee5db19ba47en,
  0x30421d1b17380da667cd3730e1e7193dc776efc5b4e7ce0035e42eaafc527867n,
  0x3048c78857e58a9e7746cb65ed51d1413dd676f9ee71082435c9ad7312a44a41n,
];

test('G1 and G2 MSMs are right for scalars whose endomorphism halves reach 2^127', { skip }, async () => {
  const c = await bn128();
  for (const [G, n8, fn] of [[c.G1, 64, addon!.msmG1], [c.G2, 128, addon!.msmG2]] as const) {
    for (const [k, scalar] of WIDE_HALVES.entries()) {
      // alone, and among ordinary scalars (the MSM's window choice and buckets differ)
      for (const n of [1, 600]) {
        const bases = new Uint8Array(n * n8);
        const scalars = Buffer.alloc(n * 32);
        for (let i = 0; i < n; i++) {
          G.toRprLEM(bases, i * n8, G.toAffine(G.timesScalar(G.g, randScalar())));
          scalars.set(le(i === 0 ? scalar : i % 3 === 0 ? R - BigInt(i) : BigInt(i)), i * 32);
        }
        await sameMsm(G, n8, fn, bases, scalars, `${n8 === 64 ? 'G1' : 'G2'} wide-half scalar ${k}, n=${n}`);
      }
    }
  }
});

test('NTT and inverse NTT match ffjavascript Fr.fft / Fr.ifft', { skip }, async () => {
  const c = await bn128();
  for (const n of [1, 2, 8, 256, 4096]) {
    const buf = new Uint8Array(n * 32);
    for (let i = 0; i < n; i++) buf.set(c.Fr.e(randScalar()), i * 32);
    assert.deepEqual(Buffer.from(addon!.ntt(buf, false)), Buffer.from(await c.Fr.fft(buf)), `fft n=${n}`);
    assert.deepEqual(Buffer.from(addon!.ntt(buf, true)), Buffer.from(await c.Fr.ifft(buf)), `ifft n=${n}`);
  }
  assert.throws(() => addon!.ntt(new Uint8Array(3 * 32), false), /power of two/);
});
