import { type GadgetDef, bitLength } from './gadget.ts';
import { divide, divideCost } from './arith.ts';

/**
 * Rounded division of two computed values: q = round(2^t·x / y) (round half up) for a denominator y >= 1,
 * computed as floor((2^(t+1)·x + y) / (2y)) by the `divide` arithmetic of gadgets/arith.ts. The op using it
 * (ops/arith.ts) proves from intervals that y >= 1 (a denominator that can be negative is negated with its
 * numerator first; one whose interval contains 0 is refused) and sizes the quotient from the intervals of x and y.
 *
 * The circuit: with X = 2^(t+1)·x + y and Y = 2y, q = qLo + (qBits hinted bits), the product q·Y and the remainder
 * r = X - q·Y, range checks r in [0, 2^w) and Y - 1 - r in [0, 2^w) (w = yBits + 1 bits: Y < 2^w) force
 * 0 <= r < Y, i.e. q = floor(X / Y), the only value that passes (and Y - 1 - r >= 0 with r >= 0 forces Y >= 1
 * on its own, so a witness with y <= 0 does not exist). All of this is over the integers as long as |q·Y| and |X|
 * stay below the field size: the op keeps qBits + yBits + 3 <= 250. Cost: qBits + 2(yBits + 1) + 1.
 */
export interface QuotientParams {
  /** Extra power of two on the numerator (the quotient's fractional bits beyond x's and y's). */
  t: number;
  /** Lower end of the quotient and its width: q in [qLo, qLo + 2^qBits). */
  qLo: bigint;
  qBits: number;
  /** y in [1, 2^yBits). */
  yBits: number;
}

/** round(2^t·x / y), round half up, for y >= 1. */
export function roundedQuotient(x: bigint, y: bigint, t: number): bigint {
  const num = (x << BigInt(t + 1)) + y;
  const den = 2n * y;
  const q = num / den;
  return q * den > num ? q - 1n : q; // BigInt division truncates: floor for negative numerators
}

/** The quotient's interval over x in [xlo, xhi], y in [ylo, yhi] (ylo >= 1): x/y is monotone in each, so a corner. */
export function quotientBounds(xlo: bigint, xhi: bigint, ylo: bigint, yhi: bigint, t: number): [bigint, bigint] {
  const c = [roundedQuotient(xlo, ylo, t), roundedQuotient(xlo, yhi, t), roundedQuotient(xhi, ylo, t), roundedQuotient(xhi, yhi, t)];
  return [c.reduce((a, b) => (b < a ? b : a)), c.reduce((a, b) => (b > a ? b : a))];
}

/** Parameters for x in [xlo, xhi], y in [ylo, yhi], ylo >= 1. */
export function planQuotient(xlo: bigint, xhi: bigint, ylo: bigint, yhi: bigint, t: number): QuotientParams {
  if (ylo < 1n) throw new Error(`quotient denominator interval [${ylo}, ${yhi}] must be >= 1`);
  const [qlo, qhi] = quotientBounds(xlo, xhi, ylo, yhi, t);
  return { t, qLo: qlo, qBits: Math.max(1, bitLength(qhi - qlo)), yBits: Math.max(1, bitLength(yhi)) };
}

export const quotient: GadgetDef<QuotientParams> = {
  kind: 'quotient',
  template: 'ZkQuotient',
  inputs: ['x', 'y'],
  outputs: ['out'],
  synthesize(g, p, [x, y]) {
    const num = g.linear([[x, 1n << BigInt(p.t + 1)], [y, 1n]]);
    const den = g.linear([[y, 2n]]);
    return [divide(g, 'div', num, den, p.qLo, p.qBits, p.yBits + 1).q];
  },
  evaluate: (p, [x, y]) => [roundedQuotient(x, y, p.t)],
  bounds: (p) => [[p.qLo, p.qLo + (1n << BigInt(p.qBits)) - 1n]],
  constraints: (p) => divideCost(p.qBits, p.yBits + 1),
  describe: (p) => `${p.qBits}-bit quotient of a ${p.yBits}-bit denominator${p.t ? `, shift ${p.t}` : ''}`,
};

