/**
 * INSECURE DEVELOPMENT GROTH16 KEY, written from known secrets. τ, α, β are the development ptau's (dev-ptau.ts)
 * and δ follows from the public string DEV_ZKEY_SEED, so anyone can forge proofs for a circuit set up this way. It
 * exists because snarkjs' generic phase 2 costs minutes on a 30k-constraint circuit (one multi-exponentiation per
 * wire over the ptau's points, a contribution that re-multiplies the L and H sections); here every point is k·G
 * for a scalar k computed from the secrets, and multiplied by the dev ptau's fixed-base tables (dev-ptau.worker.js).
 *
 * The file is, byte for byte, what snarkjs itself writes for
 *   snarkjs zkey new circuit.r1cs dev-<power>.ptau a.zkey
 *   snarkjs zkey beacon a.zkey circuit.zkey <DEV_ZKEY_BEACON_HASH> 10 -n="<DEV_ZKEY_BEACON_NAME>"
 * (test/dev-zkey.test.ts compares them), so snarkjs reads, proves with and verifies it (`zkey verify` against the
 * dev ptau accepts it too), and its one phase-2 contribution record says it is a public beacon. δ is the beacon's
 * key: the first scalar of snarkjs' beacon RNG, which depends on the beacon hash only.
 *
 * What the scalars are (n = 2^p the domain, L_j the Lagrange basis of the n-th roots of unity at τ, γ = 1):
 *   A_s = Σ_c a_{c,s}·L_c + L_{nConstraints+s} for public s (snarkjs' extra rows), B_s, C_s likewise without rows;
 *   section 3 (IC): β·A_s + α·B_s + C_s for s ≤ nPublic; section 8 (L): the same over δ for the private wires;
 *   sections 5–7: A_s·G1, B_s·G1, B_s·G2; section 9 (H): L'_{2i+1}/δ for i < n, L' the basis of the 2n domain as
 *   the ptau's section 12 holds it (without its top power of τ when p is the ptau's power);
 *   section 4: every A and B coefficient x as x·2^512 mod r (the prover reads them as Montgomery form).
 * The circuit hash in section 10 is the one `zkey new` computes: blake2b over the uncompressed points before δ,
 * with (τ^n − 1)·τ^i·G1 for i < n − 1 in place of H.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { ZkmlError } from '../util/errors.ts';
import { loadFfjavascript, type Bn128 } from '../util/snark.ts';
import { devPtauSecrets, MAX_DEV_POWER, PointPool, windowBits } from './dev-ptau.ts';
import { domainPower } from './ptau.ts';
import { R, mod, powMod, inverse, words, concat } from './known-secret.ts';

/** The public seed of δ. INSECURE by construction: it is printed right here. */
export const DEV_ZKEY_SEED = 'zkml development zkey v1: INSECURE, delta is public';
/** The seed as a snarkjs beacon hash (hex sha256 of the seed). */
export const DEV_ZKEY_BEACON_HASH = createHash('sha256').update(DEV_ZKEY_SEED).digest('hex');
export const DEV_ZKEY_BEACON_ITERATIONS_EXP = 10;
export const DEV_ZKEY_BEACON_NAME = 'zkml INSECURE development zkey';

export type DevZkeyProgress = (p: { done: number; total: number }) => void;

/** The order of bn128's groups: scalars live modulo R. */
const Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
/** 2^256 mod R squared: section 4 stores x·R2 (snarkjs zkey new: Fr.mul(x, R2r) written as a plain integer). */
const MONT_R2 = (((1n << 256n) % R) * ((1n << 256n) % R)) % R;
const G1 = 64;
const G2 = 128;
/** Points per read in snarkjs' hashing of H (zkey_new.js hashHPoints). */
const H_HASH_CHUNK = 2 ** 14;
/** Scalars per worker round trip (each split across the workers). */
const CHUNK = 8192;

/**
 * Writes the development zkey of the circuit `r1csPath` to `file`, as snarkjs would make it from the development
 * ptau of `ptauPower` (which must reach the circuit's domain power; the ptau file itself is never read).
 */
export async function writeDevZkey(r1csPath: string, ptauPower: number, file: string, onProgress?: DevZkeyProgress): Promise<void> {
  const r1cs = readR1cs(r1csPath);
  const power = domainPower(r1cs.nConstraints, r1cs.nPublic);
  if (power > ptauPower || ptauPower > MAX_DEV_POWER) {
    throw new ZkmlError(`the circuit needs a development ptau of power ${power}, got ${ptauPower} (at most ${MAX_DEV_POWER})`, 'E_PTAU_TOO_SMALL', r1csPath);
  }
  const ff = await loadFfjavascript();
  const curve = await ff.buildBn128(true); // key derivation and encodings only; the points come from the workers
  const { tau, alpha, beta } = devPtauSecrets(curve, ff.ChaCha, ptauPower);
  const delta = beaconDelta(curve, ff.ChaCha);
  const n = 2 ** power;
  const roots = Array.from({ length: power + 2 }, (_, p) => BigInt(curve.Fr.toObject(curve.Fr.w[p])));
  const L = lagrange(tau, power, roots, false);
  const wires = evaluate(r1cs, L);
  const { nVars, nPublic } = r1cs;
  const ic: bigint[] = [];
  const lPre: bigint[] = [];
  for (let s = 0; s < nVars; s++) {
    const k = (beta * wires.a[s] + alpha * wires.b[s] + wires.c[s]) % R;
    (s <= nPublic ? ic : lPre).push(k);
  }
  const h2n = lagrange(tau, power + 1, roots, power === ptauPower);
  const invDelta = inverse(delta.prv);
  const h = Array.from({ length: n }, (_, i) => (h2n[2 * i + 1] * invDelta) % R);
  // zkey new hashes (τ^(n+i) − τ^i)·G1 read from the ptau's section 2 in chunks of 2^14 points, but every chunk
  // full (snarkjs hashHPoints: n = min(domainSize − 1, CHUNK_SIZE)), so above 2^14 it hashes n points, not n − 1:
  // the last one reads τ^(2n−1)·G1, past section 2's end when n is the ptau's size (see afterSection2).
  const hashedH = n - 1 > H_HASH_CHUNK ? n : n - 1;
  const tauN1 = mod(powMod(tau, BigInt(n)) - 1n);
  const hHash: bigint[] = [];
  for (let i = 0, t = tauN1; i < hashedH && (i < n - 1 || power < ptauPower); i++, t = (t * tau) % R) hHash.push(t);
  const l = lPre.map((k) => (k * invDelta) % R);

  const total = 2 * ic.length + hHash.length + 2 * lPre.length + 3 * nVars + h.length + 3;
  let done = 0;
  const pool = new PointPool(curve, windowBits(power));
  const csHasher = createHash('blake2b512');
  const hashU32 = (x: number) => csHasher.update(Uint8Array.of(x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255));
  /** The points k·G for the scalars, little-endian Montgomery; their uncompressed form goes into the circuit hash. */
  const points = async (group: 'G1' | 'G2', scalars: bigint[], hashed: boolean, keep = true): Promise<Uint8Array> => {
    const parts: Uint8Array[] = [];
    await pool.run(group, chunks(scalars), hashed, (p) => {
      if (keep) parts.push(p.lem);
      if (hashed) csHasher.update(p.uncompressed!);
      done += p.lem.length / (group === 'G1' ? G1 : G2);
      onProgress?.({ done, total });
    });
    return concat(parts);
  };
  try {
    const [alpha1, beta1] = [await points('G1', [alpha], true), await points('G1', [beta], true)];
    const beta2 = await points('G2', [beta], true);
    const gen1 = lem(curve, 'G1', curve.G1.g);
    const gen2 = lem(curve, 'G2', curve.G2.g);
    csHasher.update(uncompressed(curve, 'G2', curve.G2.g)).update(uncompressed(curve, 'G1', curve.G1.g)).update(uncompressed(curve, 'G2', curve.G2.g));
    hashU32(ic.length);
    const icPoints = await points('G1', ic, true);
    hashU32(n - 1);
    await points('G1', hHash, true, false);
    if (hHash.length < hashedH) csHasher.update(afterSection2(curve, ptauPower, powMod(tau, BigInt(n - 1))));
    hashU32(lPre.length);
    await points('G1', lPre, true, false);
    hashU32(nVars);
    const aPoints = await points('G1', wires.a, true);
    hashU32(nVars);
    const b1Points = await points('G1', wires.b, true);
    hashU32(nVars);
    const b2Points = await points('G2', wires.b, true);
    const lPoints = await points('G1', l, false);
    const hPoints = await points('G1', h, false);
    const csHash = csHasher.digest();

    const header = concat([
      u32(32), bigintBytes(Q), u32(32), bigintBytes(R), u32(nVars), u32(nPublic), u32(n),
      alpha1, beta1, beta2, gen2, delta.g1, delta.g2,
    ]);
    const out = new ZkeyWriter(file);
    try {
      out.section(1, u32(1)); // Groth16
      out.section(2, header);
      out.section(3, icPoints);
      out.section(4, wires.coefficients);
      out.section(5, aPoints);
      out.section(6, b1Points);
      out.section(7, b2Points);
      out.section(8, lPoints);
      out.section(9, hPoints);
      out.section(10, contributions(curve, ff.ChaCha, csHash, delta));
    } finally {
      out.close();
    }
  } finally {
    await pool.terminate();
  }
}

// ---- the circuit ---------------------------------------------------------------------------------------------

interface R1cs {
  nVars: number;
  /** Outputs plus public inputs (not counting the constant wire 0). */
  nPublic: number;
  nConstraints: number;
  /** The constraints section: per constraint, A, B, C as (count u32, then wire u32 and 32-byte coefficient). */
  constraints: Buffer;
}

/** Reads the header and the constraints of an iden3 r1cs file (what circom and src/circuit/r1cs-file.ts write). */
function readR1cs(path: string): R1cs {
  const buf = readFileSync(path);
  const bad = (what: string): never => {
    throw new ZkmlError(`not a readable r1cs file: ${what}`, 'E_BAD_R1CS', path);
  };
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== 'r1cs') bad('no "r1cs" magic');
  const sections = new Map<number, [number, number]>();
  let at = 12;
  for (let k = 0, n = buf.readUInt32LE(8); k < n; k++) {
    if (at + 12 > buf.length) bad('truncated section table');
    const id = buf.readUInt32LE(at);
    const size = Number(buf.readBigUInt64LE(at + 4));
    if (at + 12 + size > buf.length) bad(`section ${id} is cut off`);
    if (!sections.has(id)) sections.set(id, [at + 12, size]);
    at += 12 + size;
  }
  const [h, hSize] = sections.get(1) ?? bad('no header section');
  const [c, cSize] = sections.get(2) ?? bad('no constraints section');
  if (hSize < 64 || buf.readUInt32LE(h) !== 32) bad('header is not of a 32-byte field');
  let prime = 0n;
  for (let i = 31; i >= 0; i--) prime = (prime << 8n) | BigInt(buf[h + 4 + i]);
  if (prime !== R) bad(`its field is not bn128's scalar field (prime ${prime})`);
  const o = h + 36;
  return {
    nVars: buf.readUInt32LE(o),
    nPublic: buf.readUInt32LE(o + 4) + buf.readUInt32LE(o + 8),
    nConstraints: buf.readUInt32LE(o + 24),
    constraints: buf.subarray(c, c + cSize),
  };
}

/**
 * A_s(τ), B_s(τ), C_s(τ) of every wire from the Lagrange values of the rows, and section 4 (the A and B
 * coefficients, then the public rows' 1s) as zkey new writes it. Sums are reduced once per wire, not per term.
 */
function evaluate(r1cs: R1cs, L: bigint[]): { a: bigint[]; b: bigint[]; c: bigint[]; coefficients: Uint8Array } {
  const { nVars, nPublic, nConstraints, constraints: buf } = r1cs;
  const sums = [0, 1, 2].map(() => new Array<bigint>(nVars).fill(0n));
  const maxTerms = Math.floor(buf.length / 36) + nPublic + 1;
  const coef = Buffer.alloc(4 + maxTerms * 44);
  let nCoefs = 0;
  const push = (matrix: number, row: number, wire: number, value: bigint) => {
    const o = 4 + nCoefs++ * 44;
    coef.writeUInt32LE(matrix, o);
    coef.writeUInt32LE(row, o + 4);
    coef.writeUInt32LE(wire, o + 8);
    bigintBytes(value, coef, o + 12);
  };
  let at = 0;
  for (let row = 0; row < nConstraints; row++) {
    for (let m = 0; m < 3; m++) {
      if (at + 4 > buf.length) throw new ZkmlError(`r1cs constraints section ends inside constraint ${row}`, 'E_BAD_R1CS');
      const count = buf.readUInt32LE(at);
      at += 4;
      const sum = sums[m];
      for (let t = 0; t < count; t++, at += 36) {
        const wire = buf.readUInt32LE(at);
        if (wire >= nVars) throw new ZkmlError(`r1cs constraint ${row} uses wire ${wire} of ${nVars}`, 'E_BAD_R1CS');
        const x = buf.readBigUInt64LE(at + 4) | (buf.readBigUInt64LE(at + 12) << 64n) | (buf.readBigUInt64LE(at + 20) << 128n) | (buf.readBigUInt64LE(at + 28) << 192n);
        sum[wire] += x * L[row];
        if (m < 2) push(m, row, wire, (x * MONT_R2) % R);
      }
    }
  }
  for (let s = 0; s <= nPublic; s++) {
    sums[0][s] += L[nConstraints + s];
    push(0, nConstraints + s, s, MONT_R2);
  }
  coef.writeUInt32LE(nCoefs, 0);
  const [a, b, c] = sums.map((sum) => sum.map(mod));
  return { a, b, c, coefficients: coef.subarray(0, 4 + nCoefs * 44) };
}

// ---- scalars ------------------------------------------------------------------------------------------------

/**
 * L_i(τ) for the 2^p-th roots of unity as snarkjs orders them (roots[p] = ffjavascript's Fr.w[p]), one batch
 * inversion: L_i(τ) = (τ^m − 1) / (m·(ω^−i·τ − 1)). `truncated`: the basis prepare phase2 computes from powers of
 * τ missing the top one, τ^(m−1) (dev-ptau.ts, section 12's last domain): minus (τ^(m−1)/m)·ω^i.
 */
function lagrange(tau: bigint, p: number, roots: bigint[], truncated: boolean): bigint[] {
  const m = 2 ** p;
  const w = roots[p];
  const wInv = inverse(w);
  const tauM = powMod(tau, BigInt(m));
  const invM = inverse(BigInt(m));
  const c = mod((tauM - 1n) * invM);
  const d: bigint[] = new Array(m);
  const prefix: bigint[] = new Array(m);
  let acc = 1n;
  for (let i = 0, x = tau; i < m; i++, x = (x * wInv) % R) {
    d[i] = mod(x - 1n);
    acc = (acc * d[i]) % R;
    prefix[i] = acc;
  }
  let inv = inverse(acc);
  const values: bigint[] = new Array(m);
  for (let i = m - 1; i >= 0; i--) {
    const invD = i > 0 ? (inv * prefix[i - 1]) % R : inv;
    inv = (inv * d[i]) % R;
    values[i] = (c * invD) % R;
  }
  if (truncated) {
    let t = (((tauM * inverse(tau)) % R) * invM) % R;
    for (let i = 0; i < m; i++, t = (t * w) % R) values[i] = mod(values[i] - t);
  }
  return values;
}

function* chunks(values: bigint[]): Generator<Uint8Array> {
  for (let start = 0; start < values.length; start += CHUNK) {
    const part = values.slice(start, start + CHUNK);
    // A Uint8Array of its own: PointPool slices it per worker and transfers the slices (a Buffer's slice is a view).
    const buf = Buffer.alloc(part.length * 32);
    part.forEach((x, i) => bigintBytes(x, buf, i * 32));
    yield new Uint8Array(buf);
  }
}

/** 32 bytes little-endian. */
function bigintBytes(x: bigint, buf: Buffer = Buffer.alloc(32), at = 0): Buffer {
  for (let limb = 0; limb < 4; limb++) buf.writeBigUInt64LE(BigInt.asUintN(64, x >> BigInt(64 * limb)), at + limb * 8);
  return buf;
}

// ---- the beacon contribution, as snarkjs' zkey beacon derives it ---------------------------------------------

interface Delta {
  prv: bigint;
  prvKey: Uint8Array;
  g1: Uint8Array;
  g2: Uint8Array;
  g1_s: unknown;
  g1_sx: unknown;
}

/** δ and the first half of its key proof: snarkjs rngFromBeaconParams (2^10 sha256 rounds seed ChaCha), then Fr, G1. */
function beaconDelta(curve: Bn128, ChaCha: new (seed: number[]) => unknown): Delta {
  let h: Buffer = Buffer.from(DEV_ZKEY_BEACON_HASH, 'hex');
  for (let i = 0; i < 2 ** DEV_ZKEY_BEACON_ITERATIONS_EXP; i++) h = createHash('sha256').update(h).digest();
  const rng = new ChaCha(words(h));
  const prvKey = curve.Fr.fromRng(rng);
  const g1_s = curve.G1.toAffine(curve.G1.fromRng(rng));
  const g1_sx = curve.G1.toAffine(curve.G1.timesFr(g1_s, prvKey));
  return {
    prv: BigInt(curve.Fr.toObject(prvKey)),
    prvKey,
    g1: lem(curve, 'G1', curve.G1.timesFr(curve.G1.g, prvKey)),
    g2: lem(curve, 'G2', curve.G2.timesFr(curve.G2.g, prvKey)),
    g1_s,
    g1_sx,
  };
}

/** Section 10 after the beacon: the circuit hash, then one contribution (zkey_utils writeContribution). */
function contributions(curve: Bn128, ChaCha: new (seed: number[]) => unknown, csHash: Uint8Array, delta: Delta): Uint8Array {
  const transcript = createHash('blake2b512').update(csHash).update(uncompressed(curve, 'G1', delta.g1_s)).update(uncompressed(curve, 'G1', delta.g1_sx)).digest();
  const g2_sp = curve.G2.fromRng(new ChaCha(words(transcript))); // snarkjs keypair.hashToG2
  const g2_spx = curve.G2.timesFr(g2_sp, delta.prvKey);
  const name = new TextEncoder().encode(DEV_ZKEY_BEACON_NAME);
  const beaconHash = Buffer.from(DEV_ZKEY_BEACON_HASH, 'hex');
  const params = Uint8Array.from([1, name.length, ...name, 2, DEV_ZKEY_BEACON_ITERATIONS_EXP, 3, beaconHash.length, ...beaconHash]);
  return concat([
    csHash,
    u32(1),
    delta.g1, // deltaAfter: δ·G1, since zkey new's δ is 1
    lem(curve, 'G1', delta.g1_s),
    lem(curve, 'G1', delta.g1_sx),
    lem(curve, 'G2', g2_spx),
    transcript,
    u32(1), // a beacon
    u32(params.length),
    params,
  ]);
}

/**
 * The point zkey new hashes last when the domain is the ptau's size and above 2^14: the uncompressed affine form
 * of X − τ^(n−1)·G1 where X is "the point" after section 2 of the ptau file, i.e. section 3's header (id 3, size
 * 2^power·128) and the first 52 bytes of its first point (the G2 generator), taken as a G1 point in Montgomery
 * form. Not on the curve; the group-law formulas of ffjavascript's g1m_subAffine give it a value all the same.
 * Compared with snarkjs once at power 15 (a 16k-constraint circuit: 100 s of snarkjs, too slow for the tests,
 * which cover powers 9 and 10).
 */
function afterSection2(curve: Bn128, ptauPower: number, tauPower: bigint): Uint8Array {
  const x = new Uint8Array(G1);
  const dv = new DataView(x.buffer);
  dv.setUint32(0, 3, true);
  dv.setBigUint64(4, BigInt(2 ** ptauPower * G2), true);
  x.set(lem(curve, 'G2', curve.G2.g).subarray(0, G1 - 12), 12);
  const p = curve.G1.toAffine(curve.G1.timesFr(curve.G1.g, curve.Fr.e(tauPower)));
  return uncompressed(curve, 'G1', curve.G1.sub(x, p));
}

/** The first 8 big-endian 32-bit words: how snarkjs seeds ChaCha from a hash. */

function lem(curve: Bn128, group: 'G1' | 'G2', p: unknown): Uint8Array {
  const buf = new Uint8Array(group === 'G1' ? G1 : G2);
  curve[group].toRprLEM(buf, 0, curve[group].toAffine(p));
  return buf;
}

function uncompressed(curve: Bn128, group: 'G1' | 'G2', p: unknown): Uint8Array {
  const buf = new Uint8Array(group === 'G1' ? G1 : G2);
  curve[group].toRprUncompressed(buf, 0, curve[group].toAffine(p));
  return buf;
}

const u32 = (x: number) => new Uint8Array(new Uint32Array([x]).buffer);


// ---- output ------------------------------------------------------------------------------------------------

/** snarkjs' binary file layout: "zkey", version 1, 10 sections, each (id u32, size u64, bytes). */
class ZkeyWriter {
  private readonly fd: number;
  constructor(private readonly file: string) {
    this.fd = this.guard(() => openSync(file, 'w'));
    const head = Buffer.alloc(12);
    head.write('zkey', 0, 'latin1');
    head.writeUInt32LE(1, 4);
    head.writeUInt32LE(10, 8);
    this.raw(head);
  }
  section(id: number, data: Uint8Array): void {
    const b = Buffer.alloc(12);
    b.writeUInt32LE(id, 0);
    b.writeBigUInt64LE(BigInt(data.length), 4);
    this.raw(b);
    this.raw(data);
  }
  close(): void {
    closeSync(this.fd);
  }
  private raw(data: Uint8Array): void {
    this.guard(() => {
      for (let at = 0; at < data.length; ) at += writeSync(this.fd, data, at);
    });
  }
  private guard<T>(run: () => T): T {
    try {
      return run();
    } catch (err) {
      throw new ZkmlError(`cannot write the development zkey (${(err as Error).message})`, 'E_SETUP_WRITE', this.file);
    }
  }
}
