/**
 * Powers-of-tau files: which power a circuit needs, and reading a ptau file's header and contributions without
 * loading it (ceremony files reach gigabytes). Layout (snarkjs): "ptau", version u32, section count u32, then
 * sections (id u32, size u64, bytes). 1 header, 2–6 powers of τ (with α, β), 7 contributions, 12–15 the Lagrange
 * basis that `snarkjs powersoftau prepare phase2` adds and Groth16 setup reads.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { ZkmlError } from '../util/errors.ts';

/** Dev ptau files are made at least this big, so one cached small file serves every small circuit. */
export const MIN_PTAU_POWER = 8;
/** bn128's scalar field has roots of unity up to 2^28: no ptau (and no Groth16 circuit here) goes beyond. */
export const MAX_PTAU_POWER = 28;

const BN128_Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
const G1 = 64; // bytes of an affine point (little-endian Montgomery)
const G2 = 128;

/**
 * The domain power snarkjs' `zkey new` needs: the smallest p with constraints + public signals < 2^p (it adds one
 * row per public signal and one for the constant 1). Public signals are the outputs plus the public inputs.
 */
export function domainPower(constraints: number, nPublic: number): number {
  if (!Number.isInteger(constraints) || constraints < 0 || !Number.isInteger(nPublic) || nPublic < 0) {
    throw new ZkmlError(`constraint and public-signal counts must be non-negative integers, got ${constraints} and ${nPublic}`, 'E_BAD_MANIFEST');
  }
  const rows = constraints + nPublic;
  let p = 1; // snarkjs: log2(rows) + 1, with log2(0) = 0
  while (2 ** p <= rows) p++;
  if (p > MAX_PTAU_POWER) {
    throw new ZkmlError(`the circuit needs a ptau of power ${p} (${constraints} constraints + ${nPublic} public signals), above the largest, ${MAX_PTAU_POWER}: make the model smaller`, 'E_CIRCUIT_TOO_BIG');
  }
  return p;
}

/** The power of the ptau zkml uses for a circuit: its domain power, at least MIN_PTAU_POWER. */
export function ptauPowerFor(constraints: number, nPublic: number): number {
  return Math.max(MIN_PTAU_POWER, domainPower(constraints, nPublic));
}

export interface PtauContribution {
  name?: string;
  /** Present for a beacon contribution: its randomness is public, so it adds no secrecy. */
  beacon?: { hash: string; iterationsExp: number };
}

export interface PtauInfo {
  file: string;
  power: number;
  /** The power of the ceremony the file was cut from (e.g. 28 for the Hermez files of smaller powers). */
  ceremonyPower: number;
  contributions: PtauContribution[];
}

/** Reads and checks a prepared ptau file's layout: a ZkmlError naming the file says what is wrong. */
export function readPtauInfo(file: string): PtauInfo {
  const f = new PtauReader(file);
  try {
    return f.info();
  } finally {
    f.close();
  }
}

/**
 * The power of a ptau file after checking it (readPtauInfo) and, given `needed`, that it is big enough for a
 * circuit of that domain power.
 */
export function readPtauPower(file: string, needed?: number): number {
  const info = readPtauInfo(file);
  if (needed !== undefined) checkPtauFits(info, needed);
  return info.power;
}

/** Throws unless the ptau's power reaches the circuit's domain power `needed`. */
export function checkPtauFits(info: PtauInfo, needed: number): void {
  if (info.power < needed) {
    throw new ZkmlError(`ptau of power ${info.power} is too small: the circuit needs power ${needed} (2^${needed} = ${2 ** needed} rows); use a ptau file of power ${needed} or more`, 'E_PTAU_TOO_SMALL', info.file);
  }
}

/** True when every contribution is a public beacon (or there is none): whoever wishes can know the secret. */
export function isPublicSecret(info: PtauInfo): boolean {
  return info.contributions.every((c) => c.beacon);
}

class PtauReader {
  private readonly fd: number;
  private readonly size: number;

  constructor(private readonly file: string) {
    try {
      this.fd = openSync(file, 'r');
      this.size = statSync(file).size;
    } catch (err) {
      throw new ZkmlError(`cannot read the ptau file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'E_PTAU_MISSING', file);
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  info(): PtauInfo {
    if (this.size < 12 || this.read(0, 4).toString('latin1') !== 'ptau') {
      throw this.error('not a powers-of-tau file (expected it to start with "ptau")', 'E_PTAU_FORMAT');
    }
    const version = this.read(4, 4).readUInt32LE(0);
    if (version !== 1) throw this.error(`ptau format version ${version} is not supported (expected 1)`, 'E_PTAU_FORMAT');
    const sections = this.sections(this.read(8, 4).readUInt32LE(0));
    const header = sections.get(1);
    if (!header || header.size !== 44) throw this.error('has no valid header section', 'E_PTAU_FORMAT');
    const h = this.read(header.at, header.size);
    const q = BigInt(`0x${Buffer.from(h.subarray(4, 36)).reverse().toString('hex')}`);
    if (h.readUInt32LE(0) !== 32 || q !== BN128_Q) throw this.error('is not a ptau for the bn128 curve (the curve zkml and circom use)', 'E_PTAU_FORMAT');
    const power = h.readUInt32LE(36);
    const ceremonyPower = h.readUInt32LE(40);
    if (power < 1 || power > MAX_PTAU_POWER) throw this.error(`has power ${power}, outside 1..${MAX_PTAU_POWER}`, 'E_PTAU_FORMAT');

    const n = 2 ** power;
    const expected: [number, number][] = [
      [2, (2 * n - 1) * G1],
      [3, n * G2],
      [4, n * G1],
      [5, n * G1],
      [6, G2],
      [12, (4 * n - 1) * G1],
      [13, (2 * n - 1) * G2],
      [14, (2 * n - 1) * G1],
      [15, (2 * n - 1) * G1],
    ];
    if (!sections.has(12)) {
      throw this.error('is not prepared for phase 2 (no Lagrange sections 12–15): run `snarkjs powersoftau prepare phase2 IN OUT` on it first, or use a *_final_* ceremony file', 'E_PTAU_NOT_PREPARED');
    }
    for (const [id, size] of expected) {
      const got = sections.get(id)?.size;
      if (got !== size) {
        throw this.error(`section ${id} has ${got ?? 'no'} bytes, expected ${size} for power ${power}: the file is damaged`, 'E_PTAU_FORMAT');
      }
    }
    const contributions = sections.get(7);
    if (!contributions) throw this.error('has no contributions section', 'E_PTAU_FORMAT');
    return { file: this.file, power, ceremonyPower, contributions: this.contributions(contributions) };
  }

  /** The section table; a section reaching past the end of the file means the file was cut short. */
  private sections(count: number): Map<number, { at: number; size: number }> {
    const out = new Map<number, { at: number; size: number }>();
    let pos = 12;
    for (let i = 0; i < count; i++) {
      if (pos + 12 > this.size) throw this.truncated(pos + 12);
      const b = this.read(pos, 12);
      const id = b.readUInt32LE(0);
      const size = Number(b.readBigUInt64LE(4));
      if (pos + 12 + size > this.size) throw this.truncated(pos + 12 + size);
      if (out.has(id)) throw this.error(`section ${id} appears twice`, 'E_PTAU_FORMAT');
      out.set(id, { at: pos + 12, size });
      pos += 12 + size;
    }
    return out;
  }

  /** Section 7: per contribution 1496 bytes of points, keys and hashes, a type, then tagged parameters. */
  private contributions(s: { at: number; size: number }): PtauContribution[] {
    const b = this.read(s.at, s.size);
    const out: PtauContribution[] = [];
    let pos = 4;
    const fail = () => this.error('has a damaged contributions section', 'E_PTAU_FORMAT');
    for (let i = b.readUInt32LE(0); i > 0; i--) {
      if (pos + 1504 > b.length) throw fail();
      pos += 1496 + 4; // points, keys, partial hash, next challenge; type (a beacon also has a beacon-hash parameter)
      const end = pos + 4 + b.readUInt32LE(pos);
      if (end > b.length) throw fail();
      let name: string | undefined;
      let hash: string | undefined;
      let iterationsExp = 0;
      for (pos += 4; pos < end; ) {
        const tag = b[pos];
        if (tag === 2) {
          iterationsExp = b[pos + 1];
          pos += 2;
        } else if (tag === 1 || tag === 3) {
          const value = b.subarray(pos + 2, pos + 2 + b[pos + 1]);
          if (tag === 1) name = value.toString('utf8');
          else hash = value.toString('hex');
          pos += 2 + value.length;
        } else {
          throw fail();
        }
      }
      out.push({ ...(name !== undefined && { name }), ...(hash !== undefined && { beacon: { hash, iterationsExp } }) });
    }
    return out;
  }

  private read(at: number, length: number): Buffer {
    const b = Buffer.alloc(length);
    const got = readSync(this.fd, b, 0, length, at);
    if (got !== length) throw this.truncated(at + length);
    return b;
  }

  private truncated(needed: number): ZkmlError {
    return this.error(`is truncated: ${this.size} bytes, but its sections need at least ${needed}; download or copy it again`, 'E_PTAU_TRUNCATED');
  }

  private error(message: string, code: string): ZkmlError {
    return new ZkmlError(message, code, this.file);
  }
}
