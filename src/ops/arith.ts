import type { LowerCtx, OpDef, QTensor } from './op.ts';
import { constInput, isConst, qInput, sameShapes } from './common.ts';
import { spread } from './elementwise.ts';
import { broadcastIndexer, broadcastShapes, sizeOf } from '../onnx/tensor.ts';
import { Expr } from '../ir/expr.ts';
import { MAX_ABS_BITS, type Program } from '../ir/program.ts';
import { liftExp } from '../quantize/fixed.ts';
import { requantize } from '../quantize/requantize.ts';
import { product } from '../gadgets/product.ts';
import { square } from '../gadgets/square.ts';
import { planQuotient, quotient } from '../gadgets/quotient.ts';
import { planRoot, root } from '../gadgets/root.ts';
import { round, roundParams } from '../gadgets/round.ts';
import { range } from '../gadgets/range.ts';
import { oneHot } from '../gadgets/onehot.ts';
import { absOf, nonNegative } from './compare.ts';
import { floordiv, planFloorDiv } from '../gadgets/floordiv.ts';
import { divmod, planDivMod } from '../gadgets/divmod.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * Arithmetic between computed tensors: products (Mul, MatMul, Gemm, Einsum of two activations), division by a
 * computed denominator (Div, Reciprocal), square roots (Sqrt) and constant powers (Pow). s is the activation
 * scale (--scale); an integer X at exponent e stands for X·2^-e.
 *
 * - Products. Each operand above the activation scale (an accumulator) is first requantized to s (round half
 *   up, k + b constraints); the product of two elements is one constraint (ZkProduct, or ZkSquare for x·x, which
 *   knows x² >= 0), sums of products (MatMul, Gemm, Einsum) are linear, and the result, at exponent ea + eb, is
 *   requantized back to s, so a chain of products never widens the integers: each stays as wide as its interval
 *   at scale s. Error: the rounding of each requantized operand (2^-(s+1) each, times the other operand) and of
 *   the result (2^-(s+1)); cost per output element: K products + (k + b) for its requantization (K: the summed
 *   length, 1 for Mul), plus the operands' requantizations.
 * - Div by a computed y, Reciprocal (1/y). The denominator at most at s (requantized if above; the numerator
 *   keeps its exponent, its width is free), the quotient is Q = round(2^t·X / Y) at exponent s,
 *   t = s + e_y - e_x (the denominator lifted exactly when that is negative) (ZkQuotient, gadgets/quotient.ts: exact rounded
 *   division, pinned by the product Q·Y and a remainder range check). A denominator whose interval is negative is
 *   negated with the numerator (free); one whose interval holds both signs gets a sign test s = [y >= 0] and both
 *   are multiplied by 2s − 1 (two products, one when x is constant), so the quotient divides by |y| (cost: + w + 2
 *   for the sign test, w the denominator's width, and the products). y = 0 itself (±inf in float) has no
 *   witness, so no proof, never a wrong value. Error: 2^-(s+1) rounding, plus the
 *   operands' errors through x/y: (δx + |x|·δy/|y|)/|y|. Cost per element: qBits + 2·(yBits + 1) + 1, widths
 *   from the intervals (qBits of the quotient at s, yBits of the denominator).
 * - Sqrt. The input is brought to exponent 2s + 2 (lifted exactly, or requantized when above) and
 *   S = floor(√X) proven (ZkRoot: S² <= X < (S+1)²), at exponent s + 1. A negative input (NaN in float) has
 *   no witness. Error: below 2^-(s+1) (the floor at s + 1), plus |Δ√x| <= min(√δx, δx/(2√x)) of the input's
 *   error. Cost per element: 3·⌈xBits/2⌉ + 3 (xBits: the input's width at 2s + 2).
 * - Pow(x, p) with a constant scalar p: p = 0 is 1, p = 1 the identity; p = n/2 for an integer n with
 *   |n| <= 16: x^|n div 2| by square-and-multiply (each product as above), times √x when n is odd, and the
 *   reciprocal of that when p < 0. p = 2 is one ZkSquare and its requantization; p = 0.5 a Sqrt; p = -1 a
 *   Reciprocal; p = -0.5 the reciprocal of a Sqrt. Error and cost: those of the steps. Other constant exponents
 *   are refused (E_UNSUPPORTED).
 * - Pow(x, y) with a computed exponent y: non-negative integer exponents. n = floor(Y·2^-e_y) (one
 *   gadgets/round.ts floor, e_y + b constraints, and a 1-bit check that the remainder is 0: a non-integer y has
 *   no witness; an integer tensor needs neither), n's interval [n_lo, n_hi] (n_hi <= 64) gives a one-hot over
 *   the reachable exponents (a negative one has no witness: x^-n would be a division, not proven here), the
 *   powers x^1 … x^n_hi are built by repeated products (each requantized to s), and x^y = Σ_k h_k·x^k, one
 *   product per reachable exponent. Integer semantics: exact for integer tensors (no requantization below
 *   exponent s); error for fixed point: the powers' roundings, k·|x|^(k-1)·2^-(s+1) for x^k. Cost per element:
 *   (e_y + b + 1) + (n_hi − n_lo + 1) one-hot + (n_hi − 1)·(1 + k + b) powers + (n_hi − n_lo + 1) products.
 *   Non-integer computed exponents (x^y = e^(y·ln x)) are not supported.
 */

/** `q` with its exponent brought down to at most the activation scale (requantized where it is above). */
export function atMostScale(ctx: LowerCtx, q: QTensor): QTensor {
  return q.exp > ctx.opts.scale ? requantize(ctx.program, q, ctx.opts.scale, false, ctx.node.name) : q;
}

/** a·b: linear when either is a constant, a square when they are the same expression, else one product. */
export function mul(program: Program, a: Expr, b: Expr, node: string): Expr {
  if (a.isConstant) return b.timesConstant(a);
  if (b.isConstant) return a.timesConstant(b);
  if (sameExpr(a, b)) return program.apply(square, {}, [a], node)[0];
  return program.apply(product, {}, [a, b], node)[0];
}

function sameExpr(a: Expr, b: Expr): boolean {
  if (a.c !== b.c || a.terms.size !== b.terms.size) return false;
  for (const [w, k] of a.terms) if (b.terms.get(w) !== k) return false;
  return true;
}

/** The elementwise product of two tensors broadcast to `shape`, requantized back to the activation scale. */
export function multiply(ctx: LowerCtx, x: QTensor, y: QTensor, shape: number[]): QTensor {
  const a = atMostScale(ctx, x);
  const b = atMostScale(ctx, y);
  const ea = spread(a, shape);
  const eb = spread(b, shape);
  const exprs = ea.map((e, i) => mul(ctx.program, e, eb[i], ctx.node.name));
  return requantize(ctx.program, { shape, exp: a.exp + b.exp, exprs }, ctx.opts.scale, false, ctx.node.name);
}

/** The name of input i, for messages. */
const tensorName = (ctx: LowerCtx, i: number) => `"${ctx.node.inputs[i]}" (input ${i})`;

/**
 * x / y elementwise with y computed, broadcast to `shape`, at the activation scale. `x` may be a constant tensor
 * (Reciprocal's 1). `what` names the denominator in messages. `limit`: a bound on |x/y| (real units) that holds
 * for every honest witness, when the caller can prove one tighter than the intervals give.
 */
export function quotientOf(ctx: LowerCtx, x: QTensor, y: QTensor, shape: number[], what: string, limit?: number): QTensor {
  const s = ctx.opts.scale;
  // The numerator keeps its exponent: its width costs nothing (the quotient's and the denominator's do), and
  // requantizing it would add a rounding that the division by a small y amplifies. The denominator is brought
  // to at most s, which keeps its range checks (2 constraints per bit) narrow.
  const a = x;
  let b = atMostScale(ctx, y);
  let t = s + b.exp - a.exp;
  if (t < 0) {
    b = liftExp(b, b.exp - t);
    t = 0;
  }
  const ea = spread(a, shape);
  const eb = spread(b, shape);
  const node = ctx.node.name;
  const exprs = ea.map((num, i) => {
    let den = eb[i];
    const [lo, hi] = ctx.program.checkRange(den, node);
    const unit = 2 ** -b.exp;
    if (lo < 0n && hi > 0n) {
      // Both signs: s = [y >= 0] (one sign test), and x·(2s − 1) / |y| with |y| = y·(2s − 1) (two products): the
      // same quotient, by a denominator >= 0 (y = 0 then has no witness, as for one sign).
      const s = nonNegative(ctx.program, den, node);
      const sign = Expr.sum([[s, 2n]]).addConst(-1n);
      den = mul(ctx.program, den, sign, node);
      num = num.isConstant ? sign.scale(num.c) : mul(ctx.program, num, sign, node);
    } else if (hi <= 0n && lo < 0n) {
      den = den.scale(-1n);
      num = num.scale(-1n);
    }
    if (den.isConstant && num.isConstant) {
      if (den.c === 0n) throw new ZkmlError(`the denominator ${what} is 0 (element ${i})`, 'E_RANGE', ctx.where);
      return Expr.constant(roundedDiv(num.c, den.c, t));
    }
    const [dlo, dhi] = ctx.program.checkRange(den, node);
    if (dhi < 1n) throw new ZkmlError(`the denominator ${what} is always 0 (element ${i})`, 'E_RANGE', ctx.where);
    const [nlo, nhi] = ctx.program.checkRange(num, node);
    let params = planQuotient(nlo, nhi, dlo < 1n ? 1n : dlo, dhi, t);
    if (limit !== undefined) {
      // The caller knows |x/y| <= limit for every honest witness (a standardized value): the quotient's range
      // check shrinks to that; a quotient beyond it has no witness, which no honest input reaches.
      const cap = BigInt(Math.ceil(limit * 2 ** s)) + 1n;
      const qhi = params.qLo + (1n << BigInt(params.qBits)) - 1n;
      const lo = params.qLo > -cap ? params.qLo : -cap;
      const hi = qhi < cap ? qhi : cap;
      params = { ...params, qLo: lo, qBits: Math.max(1, (hi - lo).toString(2).length) };
    }
    // q·2y must stay far below the field size, or a dishonest q could wrap around and still pass.
    if (params.qBits + params.yBits + 3 > MAX_ABS_BITS) {
      throw new ZkmlError(`the quotient (${params.qBits} bits) times the denominator ${what} (${params.yBits} bits) could exceed ±2^${MAX_ABS_BITS}; narrow --input-range or lower --scale`, 'E_RANGE', ctx.where);
    }
    return ctx.program.apply(quotient, params, [num, den], node)[0];
  });
  return { shape, exp: s, exprs };
}

/**
 * trunc(x / y) of integer tensors (exponent 0), ONNX's Div of integer types, broadcast to `shape`: |x| and |y|
 * (free where an interval has one sign, else one ZkAbs each), q = floor(|x| / |y|) (one ZkFloorDiv,
 * gadgets/floordiv.ts, or a ZkDivMod for a constant y), and the sign (2s_x − 1)(2s_y − 1) applied where the
 * intervals do not decide it (a sign test and a product each). Exact; y = 0 has no witness. Cost per element:
 * qBits + 2·yBits + 1, plus w + 2 and a product per operand of unknown sign.
 */
export function truncatedQuotientOf(ctx: LowerCtx, x: QTensor, y: QTensor, shape: number[]): QTensor {
  const [ex, ey] = [spread(x, shape), spread(y, shape)];
  const program = ctx.program;
  const node = ctx.node.name;
  /** |e| and its sign as ±1 (an expression, constant where the interval decides it). */
  const magnitude = (e: Expr): [Expr, Expr] => {
    const [lo, hi] = program.checkRange(e, node);
    if (lo >= 0n) return [e, Expr.constant(1n, 0)];
    if (hi <= 0n) return [e.scale(-1n), Expr.constant(-1n, 0)];
    const s = nonNegative(program, e, node);
    return [absOf(program, e, node), Expr.sum([[s, 2n]]).addConst(-1n)];
  };
  const exprs = ex.map((num, i) => {
    const [a, sa] = magnitude(num);
    const [b, sb] = magnitude(ey[i]);
    const [alo, ahi] = program.checkRange(a, node);
    let q: Expr;
    if (b.isConstant) {
      if (b.c === 0n) throw new ZkmlError(`Div by zero (element ${i} of the divisor)`, 'E_BAD_TENSOR', ctx.where);
      q = b.c === 1n ? a : a.isConstant ? Expr.constant(a.c / b.c) : program.apply(divmod, planDivMod(b.c, alo, ahi), [a], node)[0];
    } else {
      const [blo, bhi] = program.checkRange(b, node);
      if (bhi < 1n) throw new ZkmlError(`the divisor of Div is always 0 (element ${i})`, 'E_RANGE', ctx.where);
      const params = planFloorDiv(alo, ahi, blo < 1n ? 1n : blo, bhi);
      if (params.qBits + params.yBits + 3 > MAX_ABS_BITS) throw new ZkmlError(`Div: the quotient times the divisor could exceed ±2^${MAX_ABS_BITS}; narrow --input-range`, 'E_RANGE', ctx.where);
      q = program.apply(floordiv, params, [a, b], node)[0];
    }
    return mul(program, mul(program, q, sa, node), sb, node);
  });
  return { shape, exp: 0, exprs };
}

/** round(2^t·x / y), y >= 1 (constants). */
function roundedDiv(x: bigint, y: bigint, t: number): bigint {
  const num = (x << BigInt(t + 1)) + y;
  const den = 2n * y;
  const q = num / den;
  return q * den > num ? q - 1n : q;
}

/** floor(√x) of every element, at exponent s + 1 (the input brought to 2s + 2). */
export function squareRoot(ctx: LowerCtx, x: QTensor): QTensor {
  const target = 2 * ctx.opts.scale + 2;
  const q = x.exp > target ? requantize(ctx.program, x, target, false, ctx.node.name) : liftExp(x, target);
  const exprs = q.exprs.map((e, i) => {
    const [lo, hi] = ctx.program.checkRange(e, ctx.node.name);
    if (hi < 0n) throw new ZkmlError(`Sqrt of a tensor that is always negative (element ${i} in [${Number(lo) * 2 ** -q.exp}, ${Number(hi) * 2 ** -q.exp}])`, 'E_RANGE', ctx.where);
    if (e.isConstant) return Expr.constant(root.evaluate({ xBits: 0 }, [e.c])[0]);
    // A negative x has no witness (the gadget's own constraints): the NaN of float is never proven.
    return ctx.program.apply(root, planRoot(hi), [e], ctx.node.name)[0];
  });
  return { shape: q.shape, exp: target / 2, exprs };
}

/**
 * out[..., m, n] = Σ_k a[..., m, k]·b[..., k, n] of two computed tensors (numpy semantics: 1-D operands promoted,
 * batch dimensions broadcast), each term one product, the sums requantized back to the activation scale.
 */
export function matmulOf(ctx: LowerCtx, x: QTensor, y: QTensor, outShape: number[]): QTensor {
  const a = atMostScale(ctx, x);
  const b = atMostScale(ctx, y);
  const A = a.shape.length === 1 ? [1, a.shape[0]] : a.shape;
  const B = b.shape.length === 1 ? [b.shape[0], 1] : b.shape;
  const [M, K] = A.slice(-2);
  const N = B[B.length - 1];
  const batch = broadcastShapes(A.slice(0, -2), B.slice(0, -2), ctx.where);
  const ia = broadcastIndexer(batch, A.slice(0, -2));
  const ib = broadcastIndexer(batch, B.slice(0, -2));
  const exprs: Expr[] = [];
  for (let t = 0; t < sizeOf(batch); t++) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        const terms: [Expr, bigint][] = [];
        for (let k = 0; k < K; k++) terms.push([mul(ctx.program, a.exprs[ia(t) * M * K + m * K + k], b.exprs[ib(t) * K * N + k * N + n], ctx.node.name), 1n]);
        exprs.push(Expr.sum(terms));
      }
    }
  }
  return requantize(ctx.program, { shape: outShape, exp: a.exp + b.exp, exprs }, ctx.opts.scale, false, ctx.node.name);
}

/**
 * Σ over the letter assignments of a product of two computed operands' elements (Einsum), `terms(visit)` listing
 * (output index, flat index into x, flat index into y); requantized back to the activation scale.
 */
export function bilinearOf(ctx: LowerCtx, x: QTensor, y: QTensor, outShape: number[], terms: (visit: (o: number, i: number, j: number) => void) => void): QTensor {
  const a = atMostScale(ctx, x);
  const b = atMostScale(ctx, y);
  const sums: [Expr, bigint][][] = Array.from({ length: sizeOf(outShape) }, () => []);
  terms((o, i, j) => sums[o].push([mul(ctx.program, a.exprs[i], b.exprs[j], ctx.node.name), 1n]));
  return requantize(ctx.program, { shape: outShape, exp: a.exp + b.exp, exprs: sums.map((t) => Expr.sum(t)) }, ctx.opts.scale, false, ctx.node.name);
}

const ONE: QTensor = { shape: [], exp: 0, exprs: [Expr.constant(1n)] };

/** x^p for a constant p = n/2, |n| <= 16 (see the header). */
export function power(ctx: LowerCtx, x: QTensor, p: number): QTensor {
  const n = p * 2;
  if (!Number.isInteger(n) || Math.abs(n) > 16) {
    throw new ZkmlError(`Pow with exponent ${p} is not supported: only multiples of 1/2 up to ±8 (x², √x, 1/x, 1/√x, ...)`, 'E_UNSUPPORTED', ctx.where);
  }
  if (n === 0) return { shape: x.shape, exp: 0, exprs: x.exprs.map(() => Expr.constant(1n)) };
  const m = Math.abs(n);
  // x^(m div 2) by square-and-multiply, each step requantized back to s.
  let acc: QTensor | undefined;
  let base = x;
  for (let e = m >> 1; e > 0; e >>= 1) {
    if (e & 1) acc = acc ? multiply(ctx, acc, base, x.shape) : base;
    if (e > 1) base = multiply(ctx, base, base, x.shape);
  }
  if (m & 1) {
    const r = squareRoot(ctx, x);
    acc = acc ? multiply(ctx, acc, r, x.shape) : r;
  }
  if (n > 0) return acc!;
  return quotientOf(ctx, ONE, acc!, x.shape, `of Pow (x^${-p})`);
}

/**
 * The integer value n of a fixed-point Y at exponent e (Y = n·2^e), for values that must be integers (a computed
 * exponent, an index given as a float): n = floor(Y / 2^e) (one gadgets/round.ts floor, e + b constraints), and
 * Y − n·2^e, in [0, 2^e) by the floor, is forced <= 0 by a 1-bit check of its negation; so a non-integer value has
 * no witness. Free at e <= 0.
 */
export function integerOf(program: Program, y: Expr, e: number, node: string): Expr {
  if (e <= 0) return e === 0 ? y : y.scaleExact(1n << BigInt(-e));
  const [lo, hi] = program.checkRange(y, node);
  const n = program.apply(round, roundParams('floor', e, lo, hi), [y], node)[0];
  program.apply(range, { lo: 0n, hi: 0n }, [Expr.sum([[y, -1n], [n, 1n << BigInt(e)]])], node);
  return n;
}

/** The largest computed exponent Pow selects among (x^0 … x^MAX_COMPUTED_EXPONENT, one product each). */
const MAX_COMPUTED_EXPONENT = 64;

/** x^y for a computed exponent y: integer exponents selected by a one-hot (see the header). */
function powerComputed(ctx: LowerCtx): QTensor {
  const shape = ctx.outShapes[0];
  const x0 = qInput(ctx, 0);
  const y0 = qInput(ctx, 1);
  const xs = spread(x0, shape);
  const ys = spread(y0, shape);
  const node = ctx.node.name;
  const program = ctx.program;
  const parts = xs.map((xe, i) => {
    const n = integerOf(program, ys[i], y0.exp, node);
    const [nlo, nhi] = program.checkRange(n, node);
    const first = nlo < 0n ? 0 : Number(nlo);
    const last = Number(nhi);
    if (last < 0) throw new ZkmlError(`Pow exponent ${tensorName(ctx, 1)} is always negative (element ${i} in [${nlo}, ${nhi}]): a computed exponent must be a non-negative integer`, 'E_UNSUPPORTED', ctx.where);
    if (last > MAX_COMPUTED_EXPONENT) {
      throw new ZkmlError(`Pow exponent ${tensorName(ctx, 1)} can reach ${nhi} (element ${i}): a computed exponent must be an integer in [0, ${MAX_COMPUTED_EXPONENT}] (x^y is then selected among x^0 … x^${MAX_COMPUTED_EXPONENT}; a real exponent, e^(y·ln x), is not supported); narrow --input-range`, 'E_RANGE', ctx.where);
    }
    // x^0 … x^last, each power one product (requantized to s), all at one exponent.
    const one: QTensor = { shape: [1], exp: 0, exprs: [Expr.constant(1n, 0)] };
    const powers: QTensor[] = [one];
    const base: QTensor = atMostScale(ctx, { shape: [1], exp: x0.exp, exprs: [xe] });
    for (let k = 1; k <= last; k++) powers.push(k === 1 ? base : multiply(ctx, powers[k - 1], base, [1]));
    const exp = Math.max(...powers.slice(first).map((q) => q.exp));
    const at = (k: number) => liftExp(powers[k], exp).exprs[0];
    if (first === last) return { exp, e: at(first) };
    const count = last - first + 1;
    // A negative exponent (below `first` = 0) is outside the one-hot: no witness.
    const h = program.apply(oneHot(count), { n: count }, [n.addConst(BigInt(-first))], node);
    return { exp, e: Expr.sum(h.map((hj, j) => [mul(program, hj, at(first + j), node), 1n])) };
  });
  const exp = Math.max(...parts.map((p) => p.exp));
  return { shape, exp, exprs: parts.map((p) => liftExp({ shape: [1], exp: p.exp, exprs: [p.e] }, exp).exprs[0]) };
}

const unaryFloat: Record<string, (v: number) => number> = { Sqrt: Math.sqrt, Reciprocal: (v) => 1 / v };

export const arithOps: OpDef[] = [
  {
    ops: ['Sqrt', 'Reciprocal'],
    shapes: sameShapes,
    fold: (ctx, [x]) => [{ ...x, data: x.data.map(unaryFloat[ctx.node.opType]) }],
    lower(ctx) {
      const x = qInput(ctx, 0);
      if (ctx.node.opType === 'Sqrt') return [squareRoot(ctx, x)];
      return [quotientOf(ctx, ONE, x, x.shape, `${tensorName(ctx, 0)} of Reciprocal`)];
    },
  },
  {
    ops: ['Pow'],
    shapes: (ctx) => [broadcastShapes(ctx.shapes[0], ctx.shapes[1], ctx.where)],
    fold(ctx, [x, y]) {
      const shape = broadcastShapes(x.dims, y.dims, ctx.where);
      const size = sizeOf(shape);
      const at = (t: typeof x, i: number) => t.data[t.data.length === 1 ? 0 : i];
      if (x.data.length !== size && x.data.length !== 1) throw new ZkmlError('Pow folding with a broadcast base is not supported', 'E_UNSUPPORTED', ctx.where);
      if (y.data.length !== size && y.data.length !== 1) throw new ZkmlError('Pow folding with a broadcast exponent is not supported', 'E_UNSUPPORTED', ctx.where);
      return [{ ...x, dims: shape, data: Array.from({ length: size }, (_, i) => at(x, i) ** at(y, i)) }];
    },
    lower(ctx) {
      if (!isConst(ctx.inputs[1])) return [powerComputed(ctx)];
      const p = constInput(ctx, 1, 'Pow exponent');
      const shape = ctx.outShapes[0];
      const x = spread(qInput(ctx, 0), shape);
      if (p.data.length === 1) return [power(ctx, { shape, exp: qInput(ctx, 0).exp, exprs: x }, p.data[0])];
      // A constant exponent per element: each element its own power (the same steps, element by element).
      if (!p.data.every((v) => Number.isInteger(v * 2))) throw new ZkmlError(`Pow exponents [${p.data}]: only multiples of 1/2 are supported`, 'E_UNSUPPORTED', ctx.where);
      const ps = spread({ shape: p.dims, exp: 0, exprs: p.data.map((v) => Expr.constant(BigInt(Math.round(v * 2)))) }, shape);
      const parts = x.map((e, i) => power(ctx, { shape: [1], exp: qInput(ctx, 0).exp, exprs: [e] }, Number(ps[i].c) / 2));
      // One exponent for the tensor: the largest of the parts' (raising is exact).
      const exp = Math.max(...parts.map((q) => q.exp));
      return [{ shape, exp, exprs: parts.map((q) => liftExp(q, exp).exprs[0]) }];
    },
  },
];

