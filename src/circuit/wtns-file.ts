/**
 * A witness in iden3's .wtns format (what snarkjs' prover reads): the field, the wire count, then every R1CS wire's
 * value as 32 bytes little-endian. Built straight into one buffer of the final size: no intermediate copies.
 */
import { FIELD } from '../gadgets/poseidon.ts';

/** The .wtns bytes of `signals`, keeping those with a wire (wireOf[s] >= 0) in wire order. */
export function wtnsBytes(signals: readonly bigint[], wireOf: Int32Array, nWires: number): Uint8Array {
  const header = 4 + 4 + 4 + (4 + 8) + (4 + 32 + 4) + (4 + 8);
  const out = Buffer.alloc(header + nWires * 32);
  let pos = 0;
  out.write('wtns', 0, 'ascii');
  out.writeUInt32LE(2, 4); // version
  out.writeUInt32LE(2, 8); // sections
  out.writeUInt32LE(1, 12);
  out.writeBigUInt64LE(40n, 16);
  out.writeUInt32LE(32, 24);
  writeUint256(out, 28, FIELD);
  out.writeUInt32LE(nWires, 60);
  out.writeUInt32LE(2, 64);
  out.writeBigUInt64LE(BigInt(nWires * 32), 68);
  pos = header;
  for (let s = 0; s < wireOf.length; s++) {
    const w = wireOf[s];
    if (w < 0) continue;
    const v = signals[s];
    writeUint256(out, pos + w * 32, v >= 0n && v < FIELD ? v : ((v % FIELD) + FIELD) % FIELD);
  }
  return out;
}

function writeUint256(buf: Buffer, at: number, v: bigint): void {
  for (let i = 0; i < 4; i++) {
    buf.writeBigUInt64LE(v & 0xffffffffffffffffn, at + 8 * i);
    v >>= 64n;
  }
}
