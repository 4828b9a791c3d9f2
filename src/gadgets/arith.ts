/**
 * Integer arithmetic that is not linear, built on the builder's primitives: division by a constant, division by a
 * computed value, and the integer square root. Each takes its result from a hint (`hintBits`) and pins it with
 * constraints that only the true result satisfies, so they are as sound as any primitive. The caller proves, from
 * intervals, that the honest result fits the widths it asks for (a wider value has no witness at all).
 */
import type { GadgetBuilder } from '../ir/builder.ts';
import { bitLength } from './gadget.ts';

/**
 * q = floor(x / d), r = x - q·d for a constant d ≥ 2, q in [qLo, qLo + 2^qBits). Pinned by r in [0, 2^w) and
 * d - 1 - r in [0, 2^w), w = bitLength(d - 1) (one check when d is a power of two): then 0 ≤ r < d, which only the
 * true quotient gives. Cost: qBits + w (+ w unless d is a power of two).
 */
export function divmod<L>(b: GadgetBuilder<L>, name: string, x: L, d: bigint, qLo: bigint, qBits: number): { q: L; r: L } {
  if (d < 2n) throw new Error(`divmod by ${d}`);
  const digits = b.hintBits(`${name}_q`, qBits, { op: 'div', num: b.linear([[x, 1n]], -qLo * d), den: b.constant(d) });
  const q = b.linear([[digits.sum(0, qBits), 1n]], qLo);
  const r = b.linear([[x, 1n], [q, -d]]);
  const w = bitLength(d - 1n);
  b.bits(`${name}_r`, r, w);
  if ((d & (d - 1n)) !== 0n) b.bits(`${name}_rc`, b.linear([[r, -1n]], d - 1n), w);
  return { q, r };
}

/** Constraints divmod costs. */
export const divmodCost = (d: bigint, qBits: number) => qBits + bitLength(d - 1n) * ((d & (d - 1n)) !== 0n ? 2 : 1);

/**
 * q = floor(x / y), r = x - q·y for a computed y in [1, 2^yBits), q in [qLo, qLo + 2^qBits). Pinned by the product
 * q·y and r, y - 1 - r in [0, 2^yBits): 0 ≤ r < y. Cost: qBits + 2·yBits + 1.
 */
export function divide<L>(b: GadgetBuilder<L>, name: string, x: L, y: L, qLo: bigint, qBits: number, yBits: number): { q: L; r: L } {
  const digits = b.hintBits(`${name}_q`, qBits, { op: 'div', num: b.linear([[x, 1n], [y, -qLo]]), den: y });
  const q = b.linear([[digits.sum(0, qBits), 1n]], qLo);
  const r = b.linear([[x, 1n], [b.product(`${name}_qy`, q, y), -1n]]);
  b.bits(`${name}_r`, r, yBits);
  b.bits(`${name}_rc`, b.linear([[y, 1n], [r, -1n]], -1n), yBits);
  return { q, r };
}

export const divideCost = (qBits: number, yBits: number) => qBits + 2 * yBits + 1;

/**
 * s = floor(√x) for x in [0, 2^xBits). Pinned by the product s·s and e = x - s², 2s - e in [0, 2^(h+1)),
 * h = ⌈xBits/2⌉: s² ≤ x ≤ s² + 2s < (s+1)². Cost: 3h + 3.
 */
export function sqrt<L>(b: GadgetBuilder<L>, name: string, x: L, xBits: number): L {
  const h = Math.ceil(xBits / 2);
  const digits = b.hintBits(`${name}_s`, h, { op: 'sqrt', x });
  const s = digits.sum(0, h);
  const e = b.linear([[x, 1n], [b.product(`${name}_ss`, s, s), -1n]]);
  b.bits(`${name}_e`, e, h + 1);
  b.bits(`${name}_f`, b.linear([[s, 2n], [e, -1n]]), h + 1);
  return s;
}

export const sqrtCost = (xBits: number) => 3 * Math.ceil(xBits / 2) + 3;

/** floor(√v) of a non-negative integer (Newton's method on bigints). */
export function isqrt(v: bigint): bigint {
  if (v < 0n) throw new Error('isqrt of a negative number');
  if (v < 2n) return v;
  let x = 1n << BigInt(Math.ceil(v.toString(2).length / 2));
  for (;;) {
    const y = (x + v / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}
