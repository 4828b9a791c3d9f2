/**
 * Coefficients of the constraint system are field elements, but most are small integers (weights, powers of two)
 * and are kept as such: arithmetic on them stays cheap and the files stay readable. Only coefficients that grow
 * past 2^128 (Poseidon's constants, divisions by a pivot) are reduced, to the representative nearest zero.
 */
import { Expr } from '../ir/expr.ts';
import { FIELD } from '../gadgets/poseidon.ts';

const LIMIT = 1n << 128n;
const HALF = FIELD / 2n;

/** The canonical representative of v in [0, p). */
export const mod = (v: bigint): bigint => ((v % FIELD) + FIELD) % FIELD;

/** a^-1 mod p (extended Euclid); a must not be 0 mod p. */
export function inverse(a: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a), FIELD, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new Error('not invertible');
  return mod(s0);
}

export function reduce(k: bigint): bigint {
  if (k > -LIMIT && k < LIMIT) return k;
  const m = ((k % FIELD) + FIELD) % FIELD;
  return m > HALF ? m - FIELD : m;
}

/** `e` with its large coefficients reduced (the same linear form over the field). */
export function normalized(e: Expr): Expr {
  let big = e.c <= -LIMIT || e.c >= LIMIT;
  if (!big) for (const k of e.terms.values()) if (k <= -LIMIT || k >= LIMIT) { big = true; break; }
  if (!big) return e;
  const terms = new Map<number, bigint>();
  for (const [s, k] of e.terms) {
    const r = reduce(k);
    if (r !== 0n) terms.set(s, r);
  }
  return new Expr(terms, reduce(e.c));
}
