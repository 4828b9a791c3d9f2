import type { LowerCtx, QTensor } from './op.ts';
import { toFixed, weightExp } from '../quantize/fixed.ts';
import { Expr } from '../ir/expr.ts';
import { product } from '../gadgets/product.ts';
import { range } from '../gadgets/range.ts';
import { signedWidth } from '../gadgets/gadget.ts';

/**
 * Weights as private signals (--param-visibility hashed or private). A weight tensor's integers become
 * parameter signals, each range-checked to its quantized width (weightBits for weights, the tensor's own
 * signed width for biases). The interval analysis assumes any value of that width, so the circuit, and its
 * verifying key, is the same for every model of this architecture; the widths and exponents are public.
 * A multiplication by a parameter is one constraint (the product gadget): this is what fixed weights save.
 */
export interface Weights {
  ints: bigint[];
  /** The parameter signals, when weights are not fixed constants. */
  signals?: Expr[];
}

/** The integers `ints` of `what` (e.g. `weight`) as constants, or registered as parameter signals. */
export function weights(ctx: LowerCtx, what: string, ints: bigint[], bits?: number): Weights {
  if (ctx.opts.paramVisibility === 'fixed') return { ints };
  const width = bits ?? Math.max(2, signedWidth(ints.reduce((a, b) => (b < a ? b : a), 0n), ints.reduce((a, b) => (b > a ? b : a), 0n)));
  const lo = -(1n << BigInt(width - 1));
  const hi = (1n << BigInt(width - 1)) - 1n;
  const signals = ctx.program.addParams(`${ctx.node.name}.${what}`, ints, lo, hi);
  for (const e of signals) ctx.program.apply(range, { lo, hi }, [e], `${ctx.node.name} (parameter range check)`);
  return { ints, signals };
}

/** Σ x_k · w[index_k]: a linear combination with constant weights, one product per term with parameters. */
export function dot(ctx: LowerCtx, w: Weights, terms: [Expr, number][]): Expr {
  // Rounded weights: one that rounds to exactly 0 or ±1 must not pass for exact (ir/expr.ts tracking).
  if (!w.signals) return Expr.sum(terms.map(([x, k]) => [x, w.ints[k]])).untracked();
  const signals = w.signals;
  return Expr.sum(terms.map(([x, k]) => [ctx.program.apply(product, {}, [x, signals[k]], ctx.node.name)[0], 1n]));
}

/** e + bias[i]: a constant, or a parameter signal. */
export function addBias(e: Expr, bias: Weights | undefined, i: number): Expr {
  if (!bias) return e;
  return bias.signals ? e.add(bias.signals[i]) : e.addConst(bias.ints[i]);
}

/**
 * A linear map with constant real coefficients: output o = Σ_i coeff[o](i) · x_i (Einsum with constant
 * operands, linear Resize). The coefficients are quantized together as one weight tensor (weightBits; parameter
 * signals when weights are private), so the result has exponent x.exp + theirs and the next nonlinearity
 * requantizes it, as after a MatMul.
 */
export function linearMap(ctx: LowerCtx, x: QTensor, shape: number[], coeff: Map<number, number>[]): QTensor {
  const flat = coeff.flatMap((m) => [...m.values()]);
  const wExp = weightExp(flat, ctx.opts.weightBits, ctx.opts.maxWeightExp);
  const w = weights(ctx, 'weight', flat.map((v) => toFixed(v, wExp, ctx.where)), ctx.opts.weightBits);
  let k = 0;
  const exprs = coeff.map((m) => {
    const terms: [Expr, number][] = [];
    for (const i of m.keys()) {
      if (w.signals || w.ints[k] !== 0n) terms.push([x.exprs[i], k]);
      k++;
    }
    return dot(ctx, w, terms);
  });
  return { shape, exp: x.exp + wExp, exprs };
}
