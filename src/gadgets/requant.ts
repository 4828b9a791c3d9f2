import { type GadgetDef, floorShift } from './gadget.ts';

/**
 * Requantization with optional ReLU: q = floor((x + 2^(k-1)) / 2^k) (round half up; k = 0 is no shift),
 * out = relu ? max(q, 0) : q. One binary decomposition of x + 2^(k-1) (+ an offset when q can be negative)
 * into k remainder bits and b quotient bits proves q exactly; the ReLU reuses the quotient's sign bit.
 * Cost: k + b booleans, plus 1 for the ReLU product when q can be negative.
 */
export interface RequantParams {
  /** Shift (remainder bits). */
  k: number;
  /** Quotient bits (from the interval analysis). */
  b: number;
  /** q can be negative: the decomposition is offset by 2^(b-1) and its top bit is q's sign. */
  signed: boolean;
  relu: boolean;
}

/** The quotient alone: floor((x + 2^(k-1)) / 2^k), round half up. */
export function roundShift(x: bigint, k: number): bigint {
  return k === 0 ? x : floorShift(x + (1n << BigInt(k - 1)), k);
}

export const requant: GadgetDef<RequantParams> = {
  kind: 'requant',
  file: 'requant.circom',
  template: 'ZkRequant',
  inputs: ['in'],
  outputs: ['out'],
  templateArgs: (p) => [p.k, p.b, p.signed ? 1 : 0, p.relu ? 1 : 0],
  evaluate(p, [x]) {
    const q = roundShift(x, p.k);
    return [p.relu && q < 0n ? 0n : q];
  },
  bounds(p, [lo], [hi]) {
    const [qlo] = this.evaluate(p, [lo]);
    const [qhi] = this.evaluate(p, [hi]);
    return [[qlo, qhi]];
  },
  constraints: (p) => p.k + p.b + (p.relu && p.signed ? 1 : 0),
  describe: (p) => `shift ${p.k}, ${p.b}-bit ${p.signed ? 'signed ' : ''}quotient${p.relu ? ', relu' : ''}`,
};
