/**
 * What a gadget is (GadgetDef, its ports) is declared in ir/gadget-def.ts, below the gadgets, because the program
 * holds gadget instances; re-exported here beside the integer helpers every gadget uses.
 */
export type { GadgetDef } from '../ir/gadget-def.ts';
export { inputPorts, outputPorts } from '../ir/gadget-def.ts';
export { bitLength } from '../util/bits.ts';
import { bitLength } from '../util/bits.ts';

/** 2^k as a bigint. */
export const pow2 = (k: number): bigint => 1n << BigInt(k);

/** Width b of a signed offset range check: -2^(b-1) <= lo and hi < 2^(b-1). */
export function signedWidth(lo: bigint, hi: bigint): number {
  return 1 + Math.max(lo < 0n ? bitLength(-lo - 1n) : 0, hi > 0n ? bitLength(hi) : 0);
}

/** floor(a / 2^k) for any sign of a (BigInt division truncates toward zero). */
export function floorShift(a: bigint, k: number): bigint {
  return a >> BigInt(k);
}
