import type { LowerCtx, OpDef, QTensor, ShapeCtx } from './op.ts';
import { constInput, isConst, qInput, sameShapes } from './common.ts';
import { clipComputed, clipHasComputedBound, preluComputed } from './computed-activation.ts';
import { attrFloat } from '../onnx/graph.ts';
import { broadcastIndexer, sizeOf, type Tensor } from '../onnx/tensor.ts';
import { Expr } from '../ir/expr.ts';
import type { Program } from '../ir/program.ts';
import { liftExp, toFixed, weightExp } from '../quantize/fixed.ts';
import { requantize } from '../quantize/requantize.ts';
import { roundShift } from '../gadgets/requant.ts';
import { requantSplit } from '../gadgets/requant-split.ts';
import { oneHot } from '../gadgets/onehot.ts';
import { product } from '../gadgets/product.ts';
import { bitLength, signedWidth } from '../gadgets/gadget.ts';
import { minOf } from './compare.ts';
import { secantTable, tableEncoding, type TableFunction, type TableOrder } from './secant-table.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * Activations beyond ReLU. Each rescales its input to the activation scale s (--scale) with the same
 * requantization ReLU uses, and reuses that decomposition wherever it can. Errors are stated against the float
 * function of the op's (already quantized) input; they add to whatever error the input carries.
 *
 * - Clip (ReLU6 and friends): clamp(round(x·2^-k), L, H). The lower end is fused into the requantization:
 *   max(round(x/2^k), L) = relu(round((x - L·2^k)/2^k)) + L, one decomposition plus its sign product; the upper
 *   end is one ZkMax comparison of that narrow result with H. Bounds that the interval analysis shows can never
 *   bind cost nothing. Error: rounding, at most 2^-(s+1), plus 2^-(s+1) if a bound is not on the 2^-s grid.
 * - LeakyRelu, PRelu: y = α·q + (1 - α)·max(q, 0) from one ZkRequantSplit, which exposes both q and its ReLU
 *   (k + b + 1 constraints, as for ReLU). α is quantized like a weight (weightBits significant bits).
 *   Error: 2^-(s+1) rounding of q (times max(1, |α|)) plus |x|·|α - α_q|, with |α - α_q| <= 2^-(e_α+1).
 * - HardSigmoid: clip(α·x + β, 0, 1) with α quantized as a weight and β exact at the product's exponent, then
 *   Clip as above. HardSwish: x · HardSigmoid(x) (α = 1/6, β = 1/2), one more product.
 *   Error: 2^-s (rounding and the quantized 1) + |x|·|α - α_q|; for HardSwish times |x|, plus the same again.
 * - Sigmoid, Tanh: the piecewise-polynomial tables of ops/secant-table.ts (its header states the integer
 *   semantics), saturating at both ends (f(±inf) past the node where |f - f(±inf)| <= 2^-(s+2)), of the order
 *   among 2 (parabola), 3 and 4 (Chebyshev interpolants) that costs fewest constraints for the node's input
 *   interval (each built on a scratch program and counted by the gadgets' cost model: cheapestOrder). Their
 *   derivatives are polynomials in f itself (σ' = σ - σ², tanh' = 1 - tanh²), so the interpolation error bound
 *   max|f^(d+1)|·2(h/4)^(d+1)/(d+1)! is computed from exact derivative bounds. Error, for every input: at most
 *   2^-(s+2) from the cells or the saturated tails, plus the coefficients' roundings and the final one
 *   (secantErrorBound; smoothEncoding gives order, grid and bound). Cost per element: the split (K + b), one
 *   comparison for the high clamp, one constraint per cell the input's interval reaches, d products and the
 *   final requantization ((d - 1)·e shifted bits plus the output width). Measured (scripts/bench-transcendental.ts, input in
 *   [-16, 16] at exponent s, dense grid, against the float op), with the tangent table used before (one node
 *   per grid point of step 2^-t, tangent interpolation) in brackets:
 *       s = 8:  Sigmoid order 3, 14 cells: 77 constraints, max error 9.1e-4, bound 1.2e-3  (75, 1.9e-3)
 *               Tanh    order 4,  8 cells: 79 constraints, max error 6.7e-4, bound 8.0e-4  (137, 1.8e-3)
 *       s = 16: Sigmoid order 3, 50 cells: 156 constraints, max error 3.7e-6, bound 3.9e-6  (1,548, 7.4e-6)
 *               Tanh    order 4, 54 cells: 177 constraints, max error 2.7e-6, bound 2.7e-6  (3,234, 7.3e-6)
 *   About half of that is the final requantization. Considered and not built, because they do not pay at these
 *   sizes: symmetry (a table over |x| halves the cells, 25-27 at s = 16 and 4-7 at s = 8, but |x| costs a
 *   signed range check of the input's width and the sign's restoring product, about 23 at s = 16); a two-level
 *   cell selection (one-hots over the high and low halves of the cell index, the d + 1 coefficients as
 *   Σ_j H_j·Σ_l T[j][l]·L_l: n_hi + n_lo + (d+1)·n_hi, 43 against 50 rows for Sigmoid at s = 16 before the bits
 *   that split the index, more than a one-hot at s = 8); the cell's coefficients as a multilinear polynomial in
 *   the k index bits (2^k - k - 1 monomial products against the one-hot's 2^k). The tangent-table helpers below
 *   (tableGrid, tableOne) remain for ops/recurrent.ts's gates.
 */

/** One requantization of a single expression by k bits (optional ReLU), sized by its interval. */
function shiftOne(program: Program, e: Expr, k: number, relu: boolean, node: string): Expr {
  return requantize(program, { shape: [1], exp: k, exprs: [e] }, 0, relu, node).exprs[0];
}

/** round(e / 2^k) clamped to [lo, hi] (integers at the result's exponent; undefined: that end is open). */
function clampOne(program: Program, e: Expr, k: number, lo: bigint | undefined, hi: bigint | undefined, node: string): Expr {
  let y = lo === undefined ? shiftOne(program, e, k, false, node) : shiftOne(program, e.addConst(-(lo << BigInt(k))), k, true, node).addConst(lo);
  if (hi !== undefined) y = minOf(program, y, Expr.constant(hi), node);
  return y;
}

/** Shift that brings exponent `exp` down to the activation scale (never up). */
const shiftTo = (exp: number, scale: number) => Math.max(0, exp - scale);

// ---- Clip ----------------------------------------------------------------------------------------------

/** Clip's bounds: attributes before opset 11, optional constant inputs since. ±FLT_MAX means no bound. */
function clipBounds(ctx: ShapeCtx | LowerCtx): [number | undefined, number | undefined] {
  const open = (v: number | undefined) => (v === undefined || !Number.isFinite(v) || Math.abs(v) >= 3.4e38 ? undefined : v);
  if (ctx.opset < 11) return [open(attrFloat(ctx.node, 'min')), open(attrFloat(ctx.node, 'max'))];
  const input = (i: number, what: string) => (ctx.node.inputs[i] ? constInput(ctx, i, what).data[0] : undefined);
  return [open(input(1, 'Clip min')), open(input(2, 'Clip max'))];
}

const clip: OpDef = {
  ops: ['Clip'],
  shapes: sameShapes,
  fold(ctx, [x]) {
    const [lo, hi] = clipBounds(ctx);
    return [{ ...x, data: x.data.map((v) => Math.min(Math.max(v, lo ?? -Infinity), hi ?? Infinity)) }];
  },
  lower(ctx) {
    if (clipHasComputedBound(ctx)) return [clipComputed(ctx)];
    const x = qInput(ctx, 0);
    const [lo, hi] = clipBounds(ctx);
    const k = shiftTo(x.exp, ctx.opts.scale);
    const exp = x.exp - k;
    const L = lo === undefined ? undefined : toFixed(lo, exp, ctx.where);
    const H = hi === undefined ? undefined : toFixed(hi, exp, ctx.where);
    return [{ shape: x.shape, exp, exprs: x.exprs.map((e) => clampOne(ctx.program, e, k, L, H, ctx.node.name)) }];
  },
};

// ---- LeakyRelu, PRelu -------------------------------------------------------------------------------------

/** y = α·q + (1 - α)·max(q, 0) per element, q the input requantized to the activation scale. */
function leaky(ctx: LowerCtx, x: QTensor, slopes: number[]): QTensor {
  const k = shiftTo(x.exp, ctx.opts.scale);
  const aExp = weightExp(slopes, ctx.opts.weightBits, ctx.opts.maxWeightExp);
  const one = 1n << BigInt(aExp);
  const node = ctx.node.name;
  const exprs = x.exprs.map((e, i) => {
    const a = toFixed(slopes[i], aExp, ctx.where);
    const [lo, hi] = ctx.program.checkRange(e, node);
    const qlo = roundShift(lo, k);
    const qhi = roundShift(hi, k);
    // Where the sign is known the op is linear in q.
    if (qlo >= 0n) return shiftOne(ctx.program, e, k, false, node).scale(one);
    if (qhi <= 0n) return shiftOne(ctx.program, e, k, false, node).scale(a);
    const [q, , pos] = ctx.program.apply(requantSplit, { k, b: signedWidth(qlo, qhi), signed: true, relu: true }, [e], node);
    return Expr.sum([[q, a], [pos, one - a]]);
  });
  return { shape: x.shape, exp: x.exp - k + aExp, exprs };
}

const leakyRelu: OpDef = {
  ops: ['LeakyRelu'],
  shapes: sameShapes,
  fold(ctx, [x]) {
    const a = attrFloat(ctx.node, 'alpha', 0.01);
    return [{ ...x, data: x.data.map((v) => (v >= 0 ? v : a * v)) }];
  },
  lower(ctx) {
    const x = qInput(ctx, 0);
    return [leaky(ctx, x, x.exprs.map(() => attrFloat(ctx.node, 'alpha', 0.01)))];
  },
};

/** PRelu's slope broadcast (unidirectionally) to the input's shape. */
function slopesFor(ctx: { where: string }, shape: number[], slope: Tensor): number[] {
  if (slope.dims.length > shape.length || slope.dims.some((d, i) => d !== 1 && d !== shape[shape.length - slope.dims.length + i])) {
    throw new ZkmlError(`slope [${slope.dims}] does not broadcast to the input [${shape}]`, 'E_SHAPE', ctx.where);
  }
  const index = broadcastIndexer(shape, slope.dims);
  return Array.from({ length: sizeOf(shape) }, (_, i) => slope.data[index(i)]);
}

const prelu: OpDef = {
  ops: ['PRelu'],
  shapes: sameShapes,
  fold(ctx, [x, slope]) {
    const a = slopesFor(ctx, x.dims, slope);
    return [{ ...x, data: x.data.map((v, i) => (v >= 0 ? v : a[i] * v)) }];
  },
  lower(ctx) {
    if (!isConst(ctx.inputs[1])) return [preluComputed(ctx)];
    const x = qInput(ctx, 0);
    return [leaky(ctx, x, slopesFor(ctx, x.shape, constInput(ctx, 1, 'PRelu slope')))];
  },
};

// ---- HardSigmoid, HardSwish ---------------------------------------------------------------------------------

function hardSigmoid(ctx: LowerCtx, x: QTensor, alpha: number, beta: number): QTensor {
  const aExp = weightExp([alpha], ctx.opts.weightBits, ctx.opts.maxWeightExp);
  const a = toFixed(alpha, aExp, ctx.where);
  const zExp = x.exp + aExp;
  const b = toFixed(beta, zExp, ctx.where);
  const k = shiftTo(zExp, ctx.opts.scale);
  const exp = zExp - k;
  const one = 1n << BigInt(exp);
  return { shape: x.shape, exp, exprs: x.exprs.map((e) => clampOne(ctx.program, e.scale(a).addConst(b), k, 0n, one, ctx.node.name)) };
}

const hardSigmoidFloat = (v: number, a: number, b: number) => Math.max(0, Math.min(1, a * v + b));

const hardSigmoidOp: OpDef = {
  ops: ['HardSigmoid'],
  shapes: sameShapes,
  fold(ctx, [x]) {
    const [a, b] = [attrFloat(ctx.node, 'alpha', 0.2), attrFloat(ctx.node, 'beta', 0.5)];
    return [{ ...x, data: x.data.map((v) => hardSigmoidFloat(v, a, b)) }];
  },
  lower: (ctx) => [hardSigmoid(ctx, qInput(ctx, 0), attrFloat(ctx.node, 'alpha', 0.2), attrFloat(ctx.node, 'beta', 0.5))],
};

const hardSwish: OpDef = {
  ops: ['HardSwish'],
  shapes: sameShapes,
  fold: (_ctx, [x]) => [{ ...x, data: x.data.map((v) => v * hardSigmoidFloat(v, 1 / 6, 0.5)) }],
  lower(ctx) {
    const x = qInput(ctx, 0);
    const h = hardSigmoid(ctx, x, 1 / 6, 0.5);
    const exprs = x.exprs.map((e, i) => {
      const g = h.exprs[i];
      if (g.isConstant) return e.scale(g.c);
      if (e.isConstant) return g.scale(e.c);
      return ctx.program.apply(product, {}, [e, g], ctx.node.name)[0];
    });
    return [{ shape: x.shape, exp: x.exp + h.exp, exprs }];
  },
};

// ---- Sigmoid, Tanh: interpolated tables ----------------------------------------------------------------------

export interface Smooth {
  f(x: number): number;
  df(x: number): number;
  /** max |f''| over the reals. */
  maxD2: number;
  /** |f(±inf) - f(±X)| for X > 0. */
  tail(X: number): number;
}

const sigma = (x: number) => 1 / (1 + Math.exp(-x));

export const SMOOTH: Record<'Sigmoid' | 'Tanh', Smooth> = {
  Sigmoid: { f: sigma, df: (x) => sigma(x) * (1 - sigma(x)), maxD2: 1 / (6 * Math.sqrt(3)), tail: (X) => sigma(-X) },
  Tanh: { f: Math.tanh, df: (x) => 1 - Math.tanh(x) ** 2, maxD2: 4 / (3 * Math.sqrt(3)), tail: (X) => 1 - Math.tanh(X) },
};

/** The table grid for activation scale s: step 2^-t, nodes (i - N)·2^-t for i in [0, 2N], slope exponent m. */
export interface TableGrid {
  t: number;
  N: number;
  m: number;
}

/** Largest table zkml builds: beyond it the scale is too fine for a lookup (lower --scale). */
export const MAX_NODES = 4097;

export function tableGrid(fn: Smooth, s: number): TableGrid {
  let t = 0;
  while ((2 ** (-2 * t) / 8) * fn.maxD2 > 2 ** -(s + 2)) t++;
  let N = 1;
  while (fn.tail(N * 2 ** -t) > 2 ** -(s + 1)) N++;
  return { t, N, m: s };
}

/** The error bound stated in the header, for a grid and output exponent E. */
export function tableErrorBound(fn: Smooth, g: TableGrid, E: number): number {
  const h = 2 ** -g.t;
  const X = g.N * h;
  const tangent = ((h * h) / 8) * fn.maxD2;
  const ends = Math.max(fn.df(X - h / 2) * (h / 2), fn.tail(X));
  return Math.max(tangent, ends) + 2 ** -(E + 1) + (h / 2) * 2 ** -(g.m + 1);
}

/** f at the table's nodes (at exponent E) and f' (at exponent m, zero at both ends). */
export function tableValues(fn: Smooth, g: TableGrid, E: number, where: string): { values: bigint[]; slopes: bigint[] } {
  const x = (i: number) => (i - g.N) * 2 ** -g.t;
  const count = 2 * g.N + 1;
  const values = Array.from({ length: count }, (_, i) => toFixed(fn.f(x(i)), E, where));
  const slopes = Array.from({ length: count }, (_, i) => (i === 0 || i === count - 1 ? 0n : toFixed(fn.df(x(i)), g.m, where)));
  return { values, slopes };
}

/** The table at one element: e at exponent eExp >= g.t; the result has exponent eExp + g.m. */
export function tableOne(program: Program, e: Expr, eExp: number, g: TableGrid, values: bigint[], slopes: bigint[], node: string): Expr {
  const K = eExp - g.t;
  const top = BigInt(2 * g.N);
  // q = round(x / 2^K) + N: the nearest node's index before clamping.
  const shifted = e.addConst(BigInt(g.N) << BigInt(K));
  const [lo, hi] = program.checkRange(shifted, node);
  const qlo = roundShift(lo, K);
  const qhi = roundShift(hi, K);
  if (qhi <= 0n) return Expr.constant(values[0]);
  if (qlo >= top) return Expr.constant(values[Number(top)]);
  let rem: Expr;
  let idx: Expr;
  if (K === 0 && qlo >= 0n) {
    rem = Expr.constant(0n);
    idx = shifted;
  } else {
    const signed = qlo < 0n;
    const b = Math.max(1, signed ? signedWidth(qlo, qhi) : bitLength(qhi));
    [, rem, idx] = program.apply(requantSplit, { k: K, b, signed, relu: signed }, [shifted], node);
    if (K === 0) rem = Expr.constant(0n); // no remainder bits: the remainder is 0, so no product below
  }
  if (qhi > top) idx = minOf(program, idx, Expr.constant(top), node);
  const [ilo, ihi] = program.bounds(idx);
  const first = Number(ilo);
  if (ilo === ihi) return Expr.sum([[Expr.constant(values[first]), 1n], [rem, slopes[first]]]);
  const n = Number(ihi - ilo) + 1;
  const h = program.apply(oneHot(n), { n }, [idx.addConst(-ilo)], node);
  const value = Expr.sum(h.map((hj, j) => [hj, values[first + j]]));
  const slope = Expr.sum(h.map((hj, j) => [hj, slopes[first + j]]));
  if (rem.isConstant) return value.add(slope.scale(rem.c));
  if (slope.isConstant) return value.add(rem.scale(slope.c));
  return value.add(program.apply(product, {}, [rem, slope], node)[0]);
}

/** Coefficients (ascending) of the derivative of a polynomial. */
const derive = (p: number[]) => p.slice(1).map((c, i) => c * (i + 1));
/** p·q of two polynomials. */
const times2 = (p: number[], q: number[]) => {
  const out = Array<number>(p.length + q.length - 1).fill(0);
  p.forEach((a, i) => q.forEach((b, j) => (out[i + j] += a * b)));
  return out;
};
const evalPoly = (p: number[], u: number) => p.reduceRight((acc, c) => acc * u + c, 0);

/**
 * f^(n) as a polynomial in u = f(x), for f' = g(f): f^(n+1) = (P_n)'(u)·g(u). Sigmoid: g(u) = u - u²; Tanh:
 * g(u) = 1 - u².
 */
function derivativePolys(g: number[], count: number): number[][] {
  const polys = [[0, 1], g];
  while (polys.length <= count) polys.push(times2(derive(polys[polys.length - 1]), g));
  return polys;
}

/**
 * max |f^(n)| over [a, b] for an increasing f with f' = g(f): |P_n| sampled at 512 points of [f(a), f(b)],
 * plus max|P_n'|·δ/2 (δ the sample step, |P_n'| bounded by its coefficients on |u| <= 1): an upper bound.
 */
function polyDerivativeMax(f: (x: number) => number, polys: number[][]): (n: number, a: number, b: number) => number {
  return (n, a, b) => {
    const p = polys[n];
    const [ua, ub] = [f(a), f(b)];
    const steps = 512;
    let m = 0;
    for (let j = 0; j <= steps; j++) m = Math.max(m, Math.abs(evalPoly(p, ua + ((ub - ua) * j) / steps)));
    const slope = derive(p).reduce((acc, c) => acc + Math.abs(c), 0);
    return m + (slope * (ub - ua)) / steps / 2;
  };
}

const SIGMOID_POLYS = derivativePolys([0, 1, -1], 6);
const TANH_POLYS = derivativePolys([1, 0, -1], 6);

/** Sigmoid and Tanh as secant-table functions: saturating at both ends, with exact derivative bounds. */
export const SMOOTH_TABLE: Record<'Sigmoid' | 'Tanh', TableFunction> = {
  Sigmoid: { name: 'Sigmoid', f: sigma, lowLimit: 0, highLimit: 1, monotone: true, derivativeMax: polyDerivativeMax(sigma, SIGMOID_POLYS) },
  Tanh: { name: 'Tanh', f: Math.tanh, lowLimit: -1, highLimit: 1, monotone: true, derivativeMax: polyDerivativeMax(Math.tanh, TANH_POLYS) },
};

/** The polynomial orders Sigmoid and Tanh choose from (the cheapest for the input's interval and scale). */
export const SMOOTH_ORDERS: readonly TableOrder[] = [2, 3, 4];

/** The encoding Sigmoid/Tanh build for inputs in [lo, hi] at exponent e and scale s, with its error bound. */
export const smoothEncoding = (op: 'Sigmoid' | 'Tanh', lo: number, hi: number, e: number, s: number) => tableEncoding(SMOOTH_TABLE[op], lo, hi, e, s, SMOOTH_ORDERS);

/**
 * Sigmoid or Tanh of one element at exponent `exp` by the encoding of the op (for callers that apply it element
 * by element, such as recurrent gates): the result and its exponent.
 */
export function smoothOne(program: Program, e: Expr, exp: number, op: 'Sigmoid' | 'Tanh', s: number, node: string, where: string): { e: Expr; exp: number } {
  // Widened grid intervals: elements of different intervals share a few grids (each searched once).
  const y = secantTable(program, { shape: [1], exp, exprs: [e] }, SMOOTH_TABLE[op], s, node, where, SMOOTH_ORDERS, true);
  return { e: y.exprs[0], exp: y.exp };
}

const smooth: OpDef = {
  ops: ['Sigmoid', 'Tanh'],
  shapes: sameShapes,
  fold: (ctx, [x]) => [{ ...x, data: x.data.map(SMOOTH[ctx.node.opType as 'Sigmoid' | 'Tanh'].f) }],
  lower(ctx) {
    const fn = SMOOTH_TABLE[ctx.node.opType as 'Sigmoid' | 'Tanh'];
    return [secantTable(ctx.program, qInput(ctx, 0), fn, ctx.opts.scale, ctx.node.name, ctx.where, SMOOTH_ORDERS)];
  },
};

export const nonlinearOps: OpDef[] = [clip, leakyRelu, prelu, hardSigmoidOp, hardSwish, smooth];
