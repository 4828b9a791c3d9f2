import { type GadgetDef, bitLength } from './gadget.ts';
import { divide, divideCost } from './arith.ts';

/**
 * Floor division by a computed divisor: q = floor(x / y), r = x - q·y in [0, y), for y >= 1 (ONNX's Mod by a
 * computed divisor, ops/mod.ts, takes r). The `divide` arithmetic of gadgets/arith.ts: q = qLo + (qBits hinted
 * bits), the product q·y, r = x - q·y, range checks r in [0, 2^yBits) and y - 1 - r in [0, 2^yBits) force
 * 0 <= r < y, which only the true quotient satisfies (and a witness with y <= 0 does not exist). The op sizes q
 * from the intervals (planFloorDiv) and keeps qBits + yBits + 3 <= 250 so that nothing wraps around the field.
 * Cost: qBits + 2·yBits + 1.
 */
export interface FloorDivParams {
  qLo: bigint;
  qBits: number;
  /** y in [1, 2^yBits). */
  yBits: number;
}

export const floorDiv = (x: bigint, y: bigint) => {
  const q = x / y;
  return q * y > x ? q - 1n : q; // BigInt division truncates: floor for negative x
};

/** Parameters for x in [xlo, xhi], y in [ylo, yhi], ylo >= 1: floor(x/y) is monotone in each, so a corner bounds it. */
export function planFloorDiv(xlo: bigint, xhi: bigint, ylo: bigint, yhi: bigint): FloorDivParams {
  if (ylo < 1n) throw new Error(`floor division: divisor interval [${ylo}, ${yhi}] must be >= 1`);
  const c = [floorDiv(xlo, ylo), floorDiv(xlo, yhi), floorDiv(xhi, ylo), floorDiv(xhi, yhi)];
  const lo = c.reduce((a, b) => (b < a ? b : a));
  const hi = c.reduce((a, b) => (b > a ? b : a));
  return { qLo: lo, qBits: Math.max(1, bitLength(hi - lo)), yBits: Math.max(1, bitLength(yhi)) };
}

export const floordiv: GadgetDef<FloorDivParams> = {
  kind: 'floordiv',
  template: 'ZkFloorDiv',
  inputs: ['x', 'y'],
  outputs: ['q', 'r'],
  synthesize(g, p, [x, y]) {
    const { q, r } = divide(g, 'fd', x, y, p.qLo, p.qBits, p.yBits);
    return [q, r];
  },
  evaluate(p, [x, y]) {
    const q = floorDiv(x, y);
    return [q, x - q * y];
  },
  bounds: (p, _lo, hi) => [
    [p.qLo, p.qLo + (1n << BigInt(p.qBits)) - 1n],
    [0n, hi[1] - 1n],
  ],
  constraints: (p) => divideCost(p.qBits, p.yBits),
  describe: (p) => `floor division: ${p.qBits}-bit quotient of a ${p.yBits}-bit divisor`,
};
