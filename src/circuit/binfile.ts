/**
 * Writing iden3's binary container (the format of .r1cs, .wtns, .zkey and .ptau files): a 4-byte magic, a version,
 * a section count, then sections of (type u32, size u64, body). Sections are streamed to the file in chunks, so a
 * circuit with millions of coefficients is written without holding the file in memory.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { FIELD } from '../gadgets/poseidon.ts';
import { mod } from './field.ts';

const CHUNK = 1 << 20;
const SMALL = 1n << 53n;

/** 32 bytes little-endian of a non-negative integer below 2^256. */
function uint256Bytes(v: bigint): Uint8Array {
  const out = Buffer.alloc(32);
  let x = v;
  for (let i = 0; i < 4; i++) {
    out.writeBigUInt64LE(x & 0xffffffffffffffffn, 8 * i);
    x >>= 64n;
  }
  return out;
}

export class BinWriter {
  private readonly fd: number;
  private buf = Buffer.alloc(CHUNK);
  private readonly negatives = new Map<bigint, Uint8Array>();
  private pos = 0;
  private sectionLeft = -1;

  constructor(
    readonly path: string,
    magic: string,
    version: number,
    sections: number,
  ) {
    this.fd = openSync(path, 'w');
    this.bytes(Buffer.from(magic, 'ascii'));
    this.u32(version);
    this.u32(sections);
  }

  /** Starts a section whose body is exactly `size` bytes (checked when the next section starts or at close). */
  section(type: number, size: number): void {
    this.checkSection();
    this.u32(type);
    this.u64(size);
    this.sectionLeft = size;
  }

  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.advance(4);
  }

  /** A non-negative safe integer as 8 bytes (two 32-bit halves: no BigInt per value). */
  u64(v: number): void {
    this.room(8);
    this.halves(v);
    this.advance(8);
  }

  /**
   * A field element (reduced modulo the BN254 scalar field), 32 bytes little-endian. Nearly every coefficient of
   * a circuit is a small integer or minus one, so those take a fast path: small non-negative values are written
   * as two 32-bit halves, and the encodings of negative ones are kept (a few distinct values, each written
   * thousands of times).
   */
  field(v: bigint): void {
    if (v >= 0n && v < SMALL) {
      this.room(32);
      this.buf.fill(0, this.pos, this.pos + 32);
      this.halves(Number(v));
      this.advance(32);
      return;
    }
    if (v < 0n && v > -SMALL) {
      let bytes = this.negatives.get(v);
      if (!bytes) {
        bytes = uint256Bytes(FIELD + v);
        if (this.negatives.size < 1 << 16) this.negatives.set(v, bytes);
      }
      this.bytes(bytes);
      return;
    }
    this.uint256(mod(v));
  }

  /** A safe integer's low 64 bits at the write position, as two 32-bit halves. */
  private halves(v: number): void {
    this.buf.writeUInt32LE(v % 0x100000000, this.pos);
    this.buf.writeUInt32LE(Math.floor(v / 0x100000000), this.pos + 4);
  }

  /** A non-negative integer below 2^256, 32 bytes little-endian (e.g. the prime itself in a header). */
  uint256(v: bigint): void {
    this.bytes(uint256Bytes(v));
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    if (b.length > this.buf.length) {
      this.flush();
      writeSync(this.fd, b);
      if (this.sectionLeft >= 0) this.sectionLeft -= b.length;
      return;
    }
    this.buf.set(b, this.pos);
    this.advance(b.length);
  }

  close(): void {
    this.checkSection();
    this.flush();
    closeSync(this.fd);
  }

  private advance(n: number): void {
    this.pos += n;
    if (this.sectionLeft >= 0) this.sectionLeft -= n;
  }

  private room(n: number): void {
    if (this.pos + n > this.buf.length) this.flush();
  }

  private flush(): void {
    if (this.pos > 0) writeSync(this.fd, this.buf, 0, this.pos);
    this.pos = 0;
  }

  private checkSection(): void {
    if (this.sectionLeft > 0 || this.sectionLeft < -1) throw new Error(`${this.path}: a section's size was declared wrong (${this.sectionLeft} bytes off)`);
  }
}
