/**
 * Random R1CS circuits of a chosen size written directly in snarkjs' binary formats (.r1cs and a matching
 * .wtns), with a zkey from the development ptau: for the native prover's tests and bench, where compiling
 * circom for 2^16 constraints would take longer than the proofs being measured.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { devPtau, devPtauPath } from '../../src/setup/dev-ptau.ts';
import { loadSnarkjs } from '../../src/util/snark.ts';

export const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

function le(v: bigint, n = 32): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) { b[i] = Number(v & 0xffn); v >>= 8n; }
  return b;
}
function u32(v: number): Buffer { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; }
function u64(v: number): Buffer { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; }
function section(type: number, parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([u32(type), u64(body.length), body]);
}

/** A seeded xorshift so a circuit's bytes are a function of (constraints, nPublic, seed). */
function rng(seed: number): () => number {
  let s = (seed * 2654435761) >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
}

export interface RandomCircuit {
  r1cs: string;
  wtns: string;
  zkey: string;
  constraints: number;
  nPublic: number;
  /** How the zkey was made (kept beside it, so a cached circuit still reports it): the ptau used and the times. */
  setup: { ptauPower: number; ptauMs: number; zkeyMs: number };
}

/**
 * `constraints` product constraints (c1*w[a] + c2*w[b]) * w[d] = w[k] over earlier wires, `nPublic` public
 * outputs copied from the last wires. Power of the ptau: `ptauPower`, else the smallest that fits constraints +
 * public inputs. A larger ptau than the circuit needs serves as well (the bench makes one for every size):
 * snarkjs' newZKey reads only the circuit's own domains from it, so the zkey has the same sizes and points
 * except H, because the exact-power file's largest Lagrange domain lacks τ^(2N−1) (prepare phase2 has only
 * 2N−1 powers there), which no proof uses; both make proofs that verify with the same verification key.
 */
export async function randomCircuit(dir: string, constraints: number, nPublic = 2, seed = 1, ptauPower?: number): Promise<RandomCircuit> {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `rand-${constraints}-${nPublic}-${seed}`);
  const files = { r1cs: `${base}.r1cs`, wtns: `${base}.wtns`, zkey: `${base}.zkey`, constraints, nPublic };
  const setupFile = `${base}.setup.json`;
  if (existsSync(files.zkey) && existsSync(files.wtns)) {
    const setup = existsSync(setupFile) ? JSON.parse(readFileSync(setupFile, 'utf8')) : { ptauPower: NaN, ptauMs: NaN, zkeyMs: NaN };
    return { ...files, setup };
  }
  const out = files;
  const rand = rng(seed);
  const nIn = 2;
  const prod = constraints - nPublic;
  const nWires = 1 + nPublic + nIn + prod;
  const w: bigint[] = new Array(nWires);
  w[0] = 1n;
  for (let i = 0; i < nIn; i++) w[1 + nPublic + i] = BigInt(Math.floor(rand() * 1e9) + 2);
  const firstProd = 1 + nPublic + nIn;
  const coef = () => BigInt(Math.floor(rand() * 1e9) + 1);
  const pick = (k: number) => 1 + nPublic + Math.floor(rand() * (k - 1 - nPublic));
  const lc = (terms: [number, bigint][]) => Buffer.concat([u32(terms.length), ...terms.flatMap(([id, c]) => [u32(id), le(c)])]);
  const cons: Buffer[] = [];
  for (let j = 0; j < prod; j++) {
    const k = firstProd + j;
    const a = pick(k), b = pick(k), d = pick(k);
    const c1 = coef(), c2 = coef();
    w[k] = ((c1 * w[a] + c2 * w[b]) * w[d]) % R;
    cons.push(lc([[a, c1], [b, c2]]), lc([[d, 1n]]), lc([[k, 1n]]));
  }
  for (let p = 0; p < nPublic; p++) {
    const src = nWires - 1 - p;
    w[1 + p] = w[src];
    cons.push(lc([[src, 1n]]), lc([[0, 1n]]), lc([[1 + p, 1n]]));
  }
  const header = [u32(32), le(R), u32(nWires), u32(nPublic), u32(0), u32(nIn), u64(nWires), u32(constraints)];
  const labels = Array.from({ length: nWires }, (_, i) => u64(i));
  const r1cs = Buffer.concat([Buffer.from('r1cs'), u32(1), u32(3), section(1, header), section(2, cons), section(3, labels)]);
  writeFileSync(out.r1cs, r1cs);
  const wtns = Buffer.concat([Buffer.from('wtns'), u32(2), u32(2), section(1, [u32(32), le(R), u32(nWires)]), section(2, w.map((v) => le(v)))]);
  writeFileSync(out.wtns, wtns);
  let power = 1;
  while (2 ** power < constraints + nPublic + 1) power++;
  const usePower = Math.max(ptauPower ?? power, power, 8);
  const tmp = `${out.zkey}.${process.pid}.tmp`;
  const t0 = performance.now();
  const cached = existsSync(devPtauPath(usePower));
  const ptau = await devPtau(usePower);
  const t = performance.now();
  // Through loadSnarkjs: counted as one of zkml's snarkjs operations, so zkml's idle release of the shared
  // curve (src/util/snark.ts) cannot terminate it between newZKey's steps when a test verified a proof just
  // before (a bare snarkjs import raced with it and hung the native test's property loop).
  const snarkjs = await loadSnarkjs();
  await snarkjs.zKey.newZKey(out.r1cs, ptau, tmp);
  const setup = { ptauPower: usePower, ptauMs: cached ? 0 : Math.round(t - t0), zkeyMs: Math.round(performance.now() - t) };
  writeFileSync(setupFile, `${JSON.stringify(setup)}\n`);
  renameSync(tmp, out.zkey);
  return { ...out, setup };
}
