/**
 * INSECURE DEVELOPMENT POWERS OF TAU. Its secrets (τ, α, β) follow from the public string DEV_PTAU_SEED, so anyone
 * can forge proofs for any circuit set up with it. It exists so that development, tests and demos need no download
 * and no hours of `snarkjs powersoftau prepare phase2`; real deployments pass a ceremony file (`zkml setup --ptau`).
 *
 * The file is, byte for byte, what snarkjs itself writes for
 *   snarkjs powersoftau new bn128 <power> a.ptau
 *   snarkjs powersoftau beacon a.ptau b.ptau <DEV_BEACON_HASH> 10 -n="<DEV_CONTRIBUTION_NAME>"
 *   snarkjs powersoftau prepare phase2 b.ptau dev-<power>.ptau
 * (test/setup.test.ts checks this at power 5; sections 1–7 were also compared at power 14, where the hashing spans
 * several chunks), so `snarkjs powersoftau verify` accepts it and its one
 * contribution record says it is a public beacon. It is made differently, because the secrets are known: every point
 * is k·G for a scalar k computed here (τ^i, α·τ^i, β·τ^i for sections 2–6; the Lagrange basis L_i(τ), α·L_i(τ),
 * β·L_i(τ) for sections 12–15), multiplied by fixed-base tables in worker threads (dev-ptau.worker.js). snarkjs
 * instead transforms points with a full multiplication each and runs a group FFT per domain size.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { cacheDir } from '../util/cache.ts';
import { ZkmlError } from '../util/errors.ts';
import { loadFfjavascript, type Bn128 } from '../util/snark.ts';
import { readPtauInfo, type PtauInfo } from './ptau.ts';
import { R, mod, powMod, inverse, words, concat } from './known-secret.ts';

/** The public seed of the development ptau's secrets. INSECURE by construction: it is printed right here. */
export const DEV_PTAU_SEED = 'zkml development powers of tau v1: INSECURE, the secret is public';
/** The seed as a snarkjs beacon hash (hex sha256 of the seed). */
export const DEV_BEACON_HASH = createHash('sha256').update(DEV_PTAU_SEED).digest('hex');
/** 2^10 sha256 rounds from the beacon hash: the least snarkjs accepts (the iterations protect nothing here). */
export const DEV_BEACON_ITERATIONS_EXP = 10;
export const DEV_CONTRIBUTION_NAME = 'zkml INSECURE development ptau';
/** The largest power with a root of unity for the doubled domain of section 12 (bn128's 2-adicity is 28). */
export const MAX_DEV_POWER = 27;

export type DevPtauProgress = (p: { power: number; done: number; total: number }) => void;

/** The order of bn128's groups (ffjavascript's curve.r): scalars live modulo R. */

/**
 * Fixed-base window width: wider windows mean fewer additions per point (⌈254/c⌉) but tables of 2^c·⌈254/c⌉ points
 * per group and worker (c = 12: 5.8 MB for G1, 11.5 MB for G2, ~1 s to build). Measured on 2 cores: 8 bits is best
 * up to power 10, 10 bits up to 14, 12 bits above.
 */
export function windowBits(power: number): number {
  return power <= 10 ? 8 : power <= 14 ? 10 : 12;
}

export function devPtauPath(power: number): string {
  return join(cacheDir('ptau'), `dev-${power}.ptau`);
}

/**
 * Path of the INSECURE development ptau of `power`, generated on first use and cached (see the file header).
 * The file appears atomically (temp file + rename): a killed run leaves no corrupt cache entry.
 */
export async function devPtau(power: number, onProgress?: DevPtauProgress): Promise<string> {
  checkPower(power);
  const path = devPtauPath(power);
  if (existsSync(path) && isCachedDevPtau(path, power)) return path;
  removeDeadTemps(power);
  const tmp = `${join(cacheDir('ptau'), `.dev-${power}.ptau`)}.${process.pid}.${Date.now().toString(36)}.tmp`;
  try {
    await writeDevPtau(power, tmp, onProgress);
    renameSync(tmp, path); // concurrent runs write identical bytes, so whichever rename lands last is fine
  } finally {
    rmSync(tmp, { force: true });
  }
  return path;
}

/** True for a file whose only contribution is the development beacon, i.e. one this module wrote. */
export function isDevPtau(info: PtauInfo): boolean {
  return info.contributions.length === 1 && info.contributions[0].beacon?.hash === DEV_BEACON_HASH;
}

function checkPower(power: number): void {
  if (!Number.isInteger(power) || power < 1 || power > MAX_DEV_POWER) {
    throw new ZkmlError(`development ptau power must be an integer from 1 to ${MAX_DEV_POWER}, got ${power}`, 'E_PTAU_POWER');
  }
}

function isCachedDevPtau(path: string, power: number): boolean {
  try {
    const info = readPtauInfo(path);
    return info.power === power && isDevPtau(info);
  } catch {
    return false; // damaged (say, by hand): made again
  }
}

/** Removes temp files of runs that were killed while generating this power (their pid no longer exists). */
function removeDeadTemps(power: number): void {
  const dir = cacheDir('ptau');
  for (const name of readdirSync(dir)) {
    const m = new RegExp(`^\\.dev-${power}\\.ptau\\.(\\d+)\\.\\w+\\.tmp$`).exec(name);
    if (m && !isAlive(Number(m[1]))) rmSync(join(dir, name), { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Writes the development ptau of `power` to `file` (no caching; `devPtau` is the entry point). */
export async function writeDevPtau(power: number, file: string, onProgress?: DevPtauProgress): Promise<void> {
  checkPower(power);
  const ff = await loadFfjavascript();
  // A private single-threaded curve: key derivation and encodings only; the heavy work is in our own workers.
  const curve = await ff.buildBn128(true);
  const challenge = firstChallengeHash(curve, power);
  const key = beaconKey(curve, ff.ChaCha, challenge);
  const N = 2 ** power;
  const total = 5 * N + lagrangePoints(power + 1) + 3 * lagrangePoints(power);
  let done = 0;
  const out = new SectionWriter(openWritable(file), file);
  const pool = new PointPool(curve, windowBits(power));
  const ctx: Context = {
    curve,
    power,
    key,
    secret: Object.fromEntries((['tau', 'alpha', 'beta'] as const).map((k) => [k, BigInt(curve.Fr.toObject(key[k].prvKey))])) as Context['secret'],
    pool,
    out,
    progress: (points) => onProgress?.({ power, done: (done += points), total }),
  };
  try {
    out.fileHeader(11);
    out.section(1, headerSection(curve, power));
    await writeAccumulator(ctx, challenge);
    await writeLagrange(ctx);
  } finally {
    out.close();
    await pool.terminate();
  }
}

interface Context {
  curve: Bn128;
  power: number;
  key: PtauKey;
  secret: { tau: bigint; alpha: bigint; beta: bigint };
  pool: PointPool;
  out: SectionWriter;
  progress: (points: number) => void;
}

/** Points in sections 12–15 for the domains 2^0 .. 2^last. */
const lagrangePoints = (last: number) => 2 ** (last + 1) - 1;

/**
 * Sections 2–7 as snarkjs' beacon writes them, hashed the way it hashes them: the compressed points into the
 * response hash, one update per chunk of 2^20 bytes of points as snarkjs reads them (the contribution record keeps
 * that hasher's internal state, which depends on the chunking); the uncompressed points into the next challenge
 * hash, which starts with the response hash and so waits for the end.
 */
async function writeAccumulator(ctx: Context, challenge: Uint8Array): Promise<void> {
  const { curve, power, key, out } = ctx;
  const { tau, alpha, beta } = ctx.secret;
  const N = 2 ** power;
  const responseHasher = snarkjsBlake2b().create({ dkLen: 64 });
  responseHasher.update(challenge);
  const uncompressed: Uint8Array[] = [];
  const head = new Map<number, Uint8Array>(); // each section's first two points, for the contribution record
  const sections: [number, 'G1' | 'G2', bigint, number][] = [
    [2, 'G1', 1n, 2 * N - 1],
    [3, 'G2', 1n, N],
    [4, 'G1', alpha, N],
    [5, 'G1', beta, N],
    [6, 'G2', beta, 1],
  ];
  for (const [id, group, first, count] of sections) {
    const sG = pointSize(group);
    out.begin(id, count * sG);
    await ctx.pool.run(group, geometric(first, tau, count, Math.floor(2 ** 20 / sG)), true, (points) => {
      out.write(points.lem);
      if (!head.has(id)) head.set(id, points.lem.slice(0, 2 * sG));
      responseHasher.update(points.compressed);
      uncompressed.push(points.uncompressed!);
      ctx.progress(points.lem.length / sG);
    });
    out.end();
  }
  const partialHash = toPartialHash(responseHasher);
  responseHasher.update(publicKey(curve, key, false));
  const nextChallenge = createHash('blake2b512').update(responseHasher.digest());
  for (const u of uncompressed) nextChallenge.update(u);
  out.section(
    7,
    contributionsSection([
      head.get(2)!.subarray(64, 128), // τ·G1
      head.get(3)!.subarray(128, 256), // τ·G2
      head.get(4)!.subarray(0, 64), // α·G1
      head.get(5)!.subarray(0, 64), // β·G1
      head.get(6)!.subarray(0, 128), // β·G2
      publicKey(curve, key, true),
      partialHash,
      nextChallenge.digest(),
    ]),
  );
}

/** Sections 12–15: for each domain size 2^p, the Lagrange basis at τ (what prepare phase2 computes by IFFT). */
async function writeLagrange(ctx: Context): Promise<void> {
  const { curve, power, out } = ctx;
  const { tau, alpha, beta } = ctx.secret;
  const roots = Array.from({ length: power + 2 }, (_, p) => BigInt(curve.Fr.toObject(curve.Fr.w[p])));
  const sections: [number, 'G1' | 'G2', bigint, number][] = [
    [12, 'G1', 1n, power + 1],
    [13, 'G2', 1n, power],
    [14, 'G1', alpha, power],
    [15, 'G1', beta, power],
  ];
  for (const [id, group, factor, last] of sections) {
    const sG = pointSize(group);
    out.begin(id, lagrangePoints(last) * sG);
    const lastIsTruncated = id === 12; // section 2 holds 2N−1 powers: its domain 2N misses τ^(2N−1)
    await ctx.pool.run(group, lagrangeScalars(tau, factor, last, lastIsTruncated, roots, Math.floor(2 ** 20 / sG)), false, (points) => {
      out.write(points.lem);
      ctx.progress(points.lem.length / sG);
    });
    out.end();
  }
}

const pointSize = (group: 'G1' | 'G2') => (group === 'G1' ? 64 : 128);

// ---- scalars ------------------------------------------------------------------------------------------------

/** Scalars as the worker reads them: 32 bytes little-endian each. */
function scalarBytes(values: bigint[]): Uint8Array {
  const buf = new Uint8Array(values.length * 32);
  const dv = new DataView(buf.buffer);
  values.forEach((x, i) => {
    for (let limb = 0; limb < 4; limb++) dv.setBigUint64(i * 32 + limb * 8, BigInt.asUintN(64, x >> BigInt(64 * limb)), true);
  });
  return buf;
}

/** first·ratio^i for i < count, in chunks of `chunk` scalars. */
function* geometric(first: bigint, ratio: bigint, count: number, chunk: number): Generator<Uint8Array> {
  let x = first;
  for (let start = 0; start < count; start += chunk) {
    const values: bigint[] = [];
    for (let i = start; i < Math.min(count, start + chunk); i++, x = (x * ratio) % R) values.push(x);
    yield scalarBytes(values);
  }
}

/**
 * factor·L_i(τ) for the domains 2^0 .. 2^last, in chunks. With ω = roots[p] the primitive m-th root of unity that
 * snarkjs' IFFT uses (ffjavascript's Fr.w[p]), L_i(τ) = (1/m)·Σ_j (ω^−i·τ)^j = (τ^m − 1) / (m·(ω^−i·τ − 1)). When
 * `lastIsTruncated`, the last domain's input lacks its top power, as in prepare phase2: minus (1/m)·(ω^−i·τ)^(m−1),
 * which is (τ^(m−1)/m)·ω^i.
 */
function* lagrangeScalars(tau: bigint, factor: bigint, last: number, lastIsTruncated: boolean, roots: bigint[], chunk: number): Generator<Uint8Array> {
  for (let p = 0; p <= last; p++) {
    const m = 2 ** p;
    const w = roots[p];
    const wInv = inverse(w);
    const tauM = powMod(tau, BigInt(m));
    const invM = inverse(BigInt(m));
    const c = mod((tauM - 1n) * invM * factor);
    // Batch inversion of d_i = ω^−i·τ − 1: one inverse and three products per element.
    const d: bigint[] = new Array(m);
    const prefix: bigint[] = new Array(m);
    let x = tau;
    let acc = 1n;
    for (let i = 0; i < m; i++, x = (x * wInv) % R) {
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
    if (lastIsTruncated && p === last) {
      let t = (((tauM * inverse(tau)) % R) * invM % R) * factor % R; // factor·τ^(m−1)/m, times ω^i below
      for (let i = 0; i < m; i++, t = (t * w) % R) values[i] = mod(values[i] - t);
    }
    for (let start = 0; start < m; start += chunk) yield scalarBytes(values.slice(start, start + chunk));
  }
}

// ---- the beacon contribution, as snarkjs derives it ----------------------------------------------------------

/** τ, α, β of the development ptau of `power` (the same at every power: the challenge only seeds the key proofs). */
export function devPtauSecrets(curve: Bn128, ChaCha: new (seed: number[]) => unknown, power: number): { tau: bigint; alpha: bigint; beta: bigint } {
  const key = beaconKey(curve, ChaCha, firstChallengeHash(curve, power));
  const value = (k: KeyPart) => BigInt(curve.Fr.toObject(k.prvKey));
  return { tau: value(key.tau), alpha: value(key.alpha), beta: value(key.beta) };
}

interface KeyPart {
  prvKey: Uint8Array;
  g1_s: Uint8Array;
  g1_sx: Uint8Array;
  g2_spx: Uint8Array;
}
interface PtauKey {
  tau: KeyPart;
  alpha: KeyPart;
  beta: KeyPart;
}

/** snarkjs' keyFromBeacon + createPTauKey: the beacon hash, 2^10 times sha256, seeds ChaCha for every secret. */
function beaconKey(curve: Bn128, ChaCha: new (seed: number[]) => unknown, challenge: Uint8Array): PtauKey {
  let h: Buffer = Buffer.from(DEV_BEACON_HASH, 'hex');
  for (let i = 0; i < 2 ** DEV_BEACON_ITERATIONS_EXP; i++) h = createHash('sha256').update(h).digest();
  const rng = new ChaCha(words(h));
  const prv = [0, 1, 2].map(() => curve.Fr.fromRng(rng));
  const part = (prvKey: Uint8Array, personalization: number): KeyPart => {
    const g1_s = curve.G1.toAffine(curve.G1.fromRng(rng));
    const g1_sx = curve.G1.toAffine(curve.G1.timesFr(g1_s, prvKey));
    const hash = createHash('blake2b512')
      .update(Uint8Array.of(personalization))
      .update(challenge)
      .update(curve.G1.toUncompressed(g1_s))
      .update(curve.G1.toUncompressed(g1_sx))
      .digest();
    const g2_sp = curve.G2.toAffine(curve.G2.fromRng(new ChaCha(words(hash))));
    return { prvKey, g1_s, g1_sx, g2_spx: curve.G2.toAffine(curve.G2.timesFr(g2_sp, prvKey)) };
  };
  return { tau: part(prv[0], 0), alpha: part(prv[1], 1), beta: part(prv[2], 2) };
}

/** The first 8 big-endian 32-bit words: how snarkjs seeds ChaCha from a hash. */

/** The contribution's public key (snarkjs toPtauPubKeyRpr): little-endian Montgomery, or uncompressed to hash. */
function publicKey(curve: Bn128, key: PtauKey, montgomery: boolean): Uint8Array {
  const parts = [key.tau, key.alpha, key.beta];
  const g1 = parts.flatMap((k) => [k.g1_s, k.g1_sx]);
  const g2 = parts.map((k) => k.g2_spx);
  const buf = new Uint8Array(6 * 64 + 3 * 128);
  g1.forEach((p, i) => (montgomery ? curve.G1.toRprLEM(buf, i * 64, p) : curve.G1.toRprUncompressed(buf, i * 64, p)));
  g2.forEach((p, i) => (montgomery ? curve.G2.toRprLEM(buf, 384 + i * 128, p) : curve.G2.toRprUncompressed(buf, 384 + i * 128, p)));
  return buf;
}

/** snarkjs calculateFirstChallengeHash: the hash of a fresh accumulator (every point the generator). */
function firstChallengeHash(curve: Bn128, power: number): Uint8Array {
  const h = createHash('blake2b512').update(createHash('blake2b512').digest());
  const g1 = new Uint8Array(64);
  const g2 = new Uint8Array(128);
  curve.G1.toRprUncompressed(g1, 0, curve.G1.g);
  curve.G2.toRprUncompressed(g2, 0, curve.G2.g);
  const repeat = (p: Uint8Array, n: number) => {
    const block = new Uint8Array(p.length * Math.min(n, 4096));
    for (let i = 0; i < block.length; i += p.length) block.set(p, i);
    for (let left = n; left > 0; left -= block.length / p.length) h.update(block.subarray(0, Math.min(left * p.length, block.length)));
  };
  const N = 2 ** power;
  repeat(g1, 2 * N - 1);
  repeat(g2, N);
  repeat(g1, N);
  repeat(g1, N);
  h.update(g2);
  return h.digest();
}

/**
 * The BLAKE2b snarkjs itself uses (its own copy of @noble/hashes): the contribution record stores that hasher's
 * internal state ("partial hash"), whose layout is this implementation's.
 */
function snarkjsBlake2b(): { create(opts: { dkLen: number }): any } {
  const require = createRequire(import.meta.url);
  return createRequire(require.resolve('snarkjs'))('@noble/hashes/blake2b').blake2b;
}

/** snarkjs misc.toPartialHash: the pending block, the chain state as 32-bit halves, then length and position. */
function toPartialHash(h: any): Uint8Array {
  const res = new Uint8Array(216);
  const w = new Uint32Array(res.buffer, 128);
  res.set(h.buffer);
  const v = [h.v0l, h.v0h, h.v1l, h.v1h, h.v2l, h.v2h, h.v3l, h.v3h, h.v4l, h.v4h, h.v5l, h.v5h, h.v6l, h.v6h, h.v7l, h.v7h];
  w.set(v.map((x) => x >>> 0));
  w[16] = h.length - h.pos;
  w[18] = h.pos;
  return res;
}

function contributionsSection(parts: Uint8Array[]): Uint8Array {
  const name = new TextEncoder().encode(DEV_CONTRIBUTION_NAME);
  const beaconHash = Buffer.from(DEV_BEACON_HASH, 'hex');
  const params = [1, name.length, ...name, 2, DEV_BEACON_ITERATIONS_EXP, 3, beaconHash.length, ...beaconHash];
  const u32 = (...xs: number[]) => new Uint8Array(new Uint32Array(xs).buffer);
  return concat([u32(1), ...parts, u32(1 /* beacon */, params.length), Uint8Array.from(params)]);
}

function headerSection(curve: Bn128, power: number): Uint8Array {
  const q = new Uint8Array(32);
  for (let i = 0, x = curve.q; i < 32; i++, x >>= 8n) q[i] = Number(x & 0xffn);
  const u32 = (x: number) => new Uint8Array(new Uint32Array([x]).buffer);
  return concat([u32(32), q, u32(power), u32(power)]);
}


// ---- output ------------------------------------------------------------------------------------------------

function openWritable(file: string): number {
  try {
    return openSync(file, 'w');
  } catch (err) {
    throw new ZkmlError(`cannot write the development ptau (${(err as Error).message}); set ZKML_CACHE to a writable folder`, 'E_PTAU_WRITE', file);
  }
}

/** snarkjs' binary file layout: "ptau", version, section count, then sections as (id u32, size u64, bytes). */
class SectionWriter {
  private open?: { id: number; left: number };
  constructor(
    private readonly fd: number,
    private readonly file: string,
  ) {}

  fileHeader(sections: number): void {
    const b = Buffer.alloc(12);
    b.write('ptau', 0, 'latin1');
    b.writeUInt32LE(1, 4);
    b.writeUInt32LE(sections, 8);
    this.raw(b);
  }
  section(id: number, data: Uint8Array): void {
    this.begin(id, data.length);
    this.write(data);
    this.end();
  }
  begin(id: number, size: number): void {
    const b = Buffer.alloc(12);
    b.writeUInt32LE(id, 0);
    b.writeBigUInt64LE(BigInt(size), 4);
    this.raw(b);
    this.open = { id, left: size };
  }
  write(data: Uint8Array): void {
    this.open!.left -= data.length;
    this.raw(data);
  }
  close(): void {
    closeSync(this.fd);
  }
  end(): void {
    if (this.open!.left !== 0) throw new Error(`dev ptau: section ${this.open!.id} size mismatch (${this.open!.left} bytes left)`);
    this.open = undefined;
  }
  private raw(data: Uint8Array): void {
    try {
      for (let at = 0; at < data.length; ) at += writeSync(this.fd, data, at);
    } catch (err) {
      throw new ZkmlError(`cannot write the development ptau (${(err as Error).message})`, 'E_PTAU_WRITE', this.file);
    }
  }
}

// ---- the worker pool ---------------------------------------------------------------------------------------

interface Points {
  lem: Uint8Array;
  compressed?: Uint8Array;
  uncompressed?: Uint8Array;
}

/** Worker threads multiplying the generators by scalars; each chunk is split evenly across them. */
export class PointPool {
  private readonly workers: Worker[];
  private readonly waiting = new Map<number, { resolve: (p: Points) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failure?: Error;

  constructor(curve: Bn128, windowBits: number) {
    const workerData = {
      module: new WebAssembly.Module(curve.tm.code),
      windowBits,
      groups: { G1: { pGen: curve.tm.pG1gen, n8: 32 }, G2: { pGen: curve.tm.pG2gen, n8: 64 } },
    };
    this.workers = Array.from({ length: availableParallelism() }, () => {
      const w = new Worker(new URL('./dev-ptau.worker.js', import.meta.url), { workerData });
      w.on('message', (m: Points & { id: number; error?: string }) => {
        const job = this.waiting.get(m.id);
        if (!job) return; // already failed
        this.waiting.delete(m.id);
        if (m.error) job.reject(new Error(`dev ptau worker: ${m.error}`));
        else job.resolve(m);
      });
      w.on('error', (err) => this.failAll(err));
      w.on('exit', (code) => code !== 0 && this.failAll(new Error(`dev ptau worker exited with code ${code}`)));
      return w;
    });
  }

  /** Multiplies each chunk of scalars, in order; the next chunk's scalars are computed while workers compute. */
  async run(group: 'G1' | 'G2', chunks: Iterable<Uint8Array>, forms: boolean, consume: (p: Points) => void): Promise<void> {
    let pending: Promise<Points> | undefined;
    for (const scalars of chunks) {
      const next = this.multiply(group, scalars, forms);
      next.catch(() => {}); // rejections are seen when awaited below; avoid an unhandled one meanwhile
      if (pending) consume(await pending);
      pending = next;
    }
    if (pending) consume(await pending);
  }

  private async multiply(group: 'G1' | 'G2', scalars: Uint8Array, forms: boolean): Promise<Points> {
    const n = scalars.length / 32;
    const per = Math.ceil(n / this.workers.length);
    const parts = await Promise.all(
      this.workers
        // A copy per worker (Uint8Array's slice: a Node Buffer's slice is a view, and transferring it would
        // detach the memory the other workers' slices share).
        .map((w, k) => [w, Uint8Array.prototype.slice.call(scalars, k * per * 32, Math.min(n, (k + 1) * per) * 32)] as const)
        .filter(([, s]) => s.length > 0)
        .map(
          ([w, s]) =>
            new Promise<Points>((resolve, reject) => {
              if (this.failure) return reject(this.failure);
              const id = this.nextId++;
              this.waiting.set(id, { resolve, reject });
              w.postMessage({ id, group, scalars: s, forms }, [s.buffer]);
            }),
        ),
    );
    const join = (key: keyof Points) => (forms || key === 'lem' ? concat(parts.map((p) => p[key]!)) : undefined);
    return { lem: join('lem')!, compressed: join('compressed'), uncompressed: join('uncompressed') };
  }

  private failAll(err: Error): void {
    this.failure ??= err;
    for (const job of this.waiting.values()) job.reject(err);
    this.waiting.clear();
  }

  async terminate(): Promise<void> {
    this.failure ??= new Error('dev ptau worker pool terminated');
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
