/**
 * Arithmetic shared by the two known-secret writers (dev-ptau.ts, dev-zkey.ts): the BN254 scalar field, where
 * τ, α, β and δ live, and the byte layouts both hash into snarkjs' transcripts. Kept apart so the ptau and the
 * zkey are computed with one definition of each.
 */

/** The BN254 scalar field order r (snarkjs' Fr). */
export const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

export const mod = (a: bigint) => ((a % R) + R) % R;

export function powMod(b: bigint, e: bigint): bigint {
  let r = 1n;
  b = mod(b);
  for (; e > 0n; e >>= 1n, b = (b * b) % R) if (e & 1n) r = (r * b) % R;
  return r;
}

/** a^-1 mod r by Fermat (r is prime). */
export const inverse = (a: bigint) => powMod(a, R - 2n);

/** A 32-byte hash as the eight big-endian words snarkjs seeds its ChaCha with. */
export function words(hash: Uint8Array): number[] {
  const dv = new DataView(hash.buffer, hash.byteOffset, hash.byteLength);
  return Array.from({ length: 8 }, (_, i) => dv.getUint32(i * 4, false));
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
