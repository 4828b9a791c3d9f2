import { type GadgetDef, bitLength } from './gadget.ts';
import { divmod as divmodArith, divmodCost } from './arith.ts';

/**
 * Floor division by a constant: q = floor(x / d), r = x - q·d in [0, d) for an integer constant d >= 2 (ONNX's
 * integer Mod, ops/mod.ts). The `divmod` arithmetic of gadgets/arith.ts: q = qLo + (qBits hinted digits),
 * r = x - q·d linear, and range checks r in [0, 2^w) and d - 1 - r in [0, 2^w) (w = bitLength(d - 1); one
 * check when d is a power of two) force 0 <= r < d, which only the true quotient satisfies. The caller sizes
 * q from x's interval (planDivMod), so the honest quotient fits. Cost: qBits + w (+ w unless d is a power of 2).
 */
export interface DivModParams {
  d: bigint;
  qLo: bigint;
  qBits: number;
}

const floorDiv = (x: bigint, d: bigint) => {
  const q = x / d;
  return q * d > x ? q - 1n : q; // BigInt division truncates: floor for negative x
};

/** Parameters for x in [lo, hi]. */
export function planDivMod(d: bigint, lo: bigint, hi: bigint): DivModParams {
  if (d < 2n) throw new Error(`divmod by ${d}`);
  const qLo = floorDiv(lo, d);
  return { d, qLo, qBits: Math.max(1, bitLength(floorDiv(hi, d) - qLo)) };
}

export const divmod: GadgetDef<DivModParams> = {
  kind: 'divmod',
  template: 'ZkDivMod',
  inputs: ['x'],
  outputs: ['q', 'r'],
  synthesize(g, p, [x]) {
    const { q, r } = divmodArith(g, 'dm', x, p.d, p.qLo, p.qBits);
    return [q, r];
  },
  evaluate(p, [x]) {
    const q = floorDiv(x, p.d);
    return [q, x - q * p.d];
  },
  bounds: (p, [lo], [hi]) => [
    [floorDiv(lo, p.d), floorDiv(hi, p.d)],
    [0n, p.d - 1n],
  ],
  constraints: (p) => divmodCost(p.d, p.qBits),
  describe: (p) => `floor division by ${p.d} (${p.qBits}-bit quotient)`,
};
