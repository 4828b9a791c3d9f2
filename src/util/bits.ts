/** Bits needed to write a non-negative integer (bitLength(0) = 0). */
export function bitLength(v: bigint): number {
  if (v < 0n) throw new Error('bitLength of a negative number');
  return v === 0n ? 0 : v.toString(2).length;
}
