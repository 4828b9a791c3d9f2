import type { QTensor } from './op.ts';
import { Expr } from '../ir/expr.ts';
import type { Program } from '../ir/program.ts';
import { liftExp, toFixed } from '../quantize/fixed.ts';
import { roundShift } from '../gadgets/requant.ts';
import { requantSplit } from '../gadgets/requant-split.ts';
import { oneHot } from '../gadgets/onehot.ts';
import { bitLength, signedWidth } from '../gadgets/gadget.ts';
import { minOf, times } from './compare.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * A piecewise-linear (secant) table of a real function f over the interval its input can reach: the general
 * form of the Sigmoid/Tanh tables of ops/nonlinear.ts for functions that do not saturate (Exp, Sin...), have a
 * kink at 0 (Elu, Softsign) or a bounded domain (Log, Asin...). Used by ops/transcendental.ts.
 *
 * Integer semantics. The real line is cut into cells [i·h, (i+1)·h), h = 2^-t. One ZkRequantSplit of
 * x - h/2 by K = e - t bits (e: the input exponent, raised to t + 1 if coarser, exactly) gives the cell
 * i = floor(x/h) and the exact offset from the cell's middle, r = x - (i + ½)·h in [-h/2, h/2). Then
 *       y = v_i + s_i·r,     v_i = (f(i·h) + f((i+1)·h)) / 2,   s_i = (f((i+1)·h) - f(i·h)) / h,
 * the chord of f over the cell, exact at every node (so a kink at 0, which is always a node, costs nothing in
 * accuracy). v_i is stored at the output exponent E = e + m and s_i at exponent m = s (the activation scale),
 * so y is exact integer arithmetic. The cell is selected by a ZkOneHot over the cells the element's interval
 * can reach. Where f saturates (Erf at ±3.6, Exp below -12 at s = 16) the table stops at the grid point X past
 * which |f - f(±inf)| is within the target, and one more cell on that side holds f(±inf) with slope 0: the
 * cell index is clamped to it (the low end fused into the split as its ReLU, the high end one ZkMax).
 *
 * Error bound, for every input in the table's range (chord interpolation, plus the roundings of v and s):
 *       |y - f(x)| <= (h²/8)·max_cell |f''| + 2^-(E+1) + (h/2)·2^-(m+1)
 * and in a saturated cell |f(±inf) - f(x)| <= tail. The grid is the coarsest h = 2^-t with
 * (h²/8)·max_cell |f''| <= 2^-(s+2)·max(1, min_cell |f|) in every cell (and the tails within the same target):
 * a quarter step of the activation scale, relative to |f| where |f| > 1 (Exp, Sinh, Cosh grow: an absolute
 * target would need ever finer cells). max_cell |f''| is taken over 33 points inside the cell from the op's
 * f'' (by central differences of f with a step far below h), a tight estimate for these analytic functions,
 * whose f'' varies little across one cell of the chosen width. A table of more than MAX_CELLS cells, or a cell
 * that leaves f's domain (Log at x <= 0), or a node whose tables would cost more than MAX_TABLE_CONSTRAINTS
 * (elements × cells), is refused with the input interval in the message: the user can narrow --input-range or
 * lower --scale.
 *
 * Cost per element: the split (K + b constraints, +1 for the low clamp), one comparison for the high clamp,
 * one constraint per reachable cell (the one-hot) and one product (r·s_i).
 */

export interface TableFunction {
  /** The op, for messages. */
  name: string;
  f(x: number): number;
  /** Open domain of f (default the whole line): the table's cells must lie inside it. */
  domain?: [number, number];
  /** f's limits at -inf / +inf where it saturates there (used to clamp a wide interval). */
  lowLimit?: number;
  highLimit?: number;
}

/** Largest table built: beyond it the interval is too wide for a lookup at this scale. */
export const MAX_CELLS = 8192;

/** Most one-hot constraints one node's tables may cost (elements × cells): beyond it the circuit is too large. */
export const MAX_TABLE_CONSTRAINTS = 2 ** 20;

export interface SecantGrid {
  t: number;
  /** First and last table cell (cell i covers [i·h, (i+1)·h)). */
  first: number;
  last: number;
  /** A saturated cell below `first` / above `last`. */
  clampLow: boolean;
  clampHigh: boolean;
}

const SAMPLES = 33;

function secondDerivativeMax(fn: TableFunction, a: number, b: number): number {
  const d = (b - a) / (SAMPLES * 64);
  let m = 0;
  for (let j = 0; j < SAMPLES; j++) {
    const x = a + ((j + 0.5) / SAMPLES) * (b - a);
    m = Math.max(m, Math.abs((fn.f(x + d) - 2 * fn.f(x) + fn.f(x - d)) / (d * d)));
  }
  return m;
}

function minAbs(fn: TableFunction, a: number, b: number): number {
  let m = Infinity;
  for (let j = 0; j <= SAMPLES; j++) m = Math.min(m, Math.abs(fn.f(a + (j / SAMPLES) * (b - a))));
  return m;
}

/** Is the whole cell [a, b] accurate enough at grid step h (and inside f's domain)? */
function cellOk(fn: TableFunction, a: number, b: number, target: number): boolean {
  if (fn.domain && (a <= fn.domain[0] || b >= fn.domain[1])) return false;
  if (!Number.isFinite(fn.f(a)) || !Number.isFinite(fn.f(b))) return false;
  const h = b - a;
  return ((h * h) / 8) * secondDerivativeMax(fn, a, b) <= target * Math.max(1, minAbs(fn, a, b));
}

/**
 * The coarsest grid that meets the target over the real interval [lo, hi] (see the header), or a refusal
 * naming the interval.
 */
export function secantGrid(fn: TableFunction, lo: number, hi: number, s: number, where: string): SecantGrid {
  const target = 2 ** -(s + 2);
  if (fn.domain && (lo <= fn.domain[0] || hi >= fn.domain[1])) {
    throw new ZkmlError(
      `${fn.name} is defined on (${fn.domain[0]}, ${fn.domain[1]}) but its input interval is [${lo}, ${hi}]: narrow --input-range (or the values feeding it) so that it stays inside`,
      'E_UNSUPPORTED',
      where,
    );
  }
  for (let t = 0; t <= s; t++) {
    const h = 2 ** -t;
    let first = Math.floor(lo / h);
    let last = Math.floor(hi / h);
    let clampLow = false;
    let clampHigh = false;
    // Saturated ends: the table stops at the first node past which f is within the target of its limit.
    if (fn.lowLimit !== undefined) {
      const L = fn.lowLimit;
      const tailOk = (i: number) => Math.abs(fn.f(i * h) - L) <= target * Math.max(1, Math.abs(L)) && Math.abs(fn.f((i - 64) * h) - L) <= target * Math.max(1, Math.abs(L));
      let i = Math.min(last, 0);
      while (i > first && !tailOk(i)) i--;
      if (i > first) [first, clampLow] = [i, true];
    }
    if (fn.highLimit !== undefined) {
      const H = fn.highLimit;
      const tailOk = (i: number) => Math.abs(fn.f(i * h) - H) <= target * Math.max(1, Math.abs(H)) && Math.abs(fn.f((i + 64) * h) - H) <= target * Math.max(1, Math.abs(H));
      let i = Math.max(first, 0);
      while (i < last && !tailOk(i)) i++;
      if (i < last) [last, clampHigh] = [i - 1, true];
    }
    const cells = last - first + 1 + (clampLow ? 1 : 0) + (clampHigh ? 1 : 0);
    if (cells > MAX_CELLS) break;
    let ok = true;
    for (let i = first; i <= last && ok; i++) ok = cellOk(fn, i * h, (i + 1) * h, target);
    if (ok) return { t, first, last, clampLow, clampHigh };
  }
  throw new ZkmlError(
    `${fn.name} over the input interval [${lo}, ${hi}] needs a table of more than ${MAX_CELLS} cells at --scale ${s} (error target 2^-${s + 2}): narrow --input-range or lower --scale`,
    'E_UNSUPPORTED',
    where,
  );
}

/** The error bound of the header for a grid (E: output exponent, m: slope exponent). */
export function secantErrorBound(fn: TableFunction, g: SecantGrid, E: number, m: number): number {
  const h = 2 ** -g.t;
  let worst = 0;
  for (let i = g.first; i <= g.last; i++) worst = Math.max(worst, ((h * h) / 8) * secondDerivativeMax(fn, i * h, (i + 1) * h));
  if (g.clampLow) worst = Math.max(worst, Math.abs(fn.f(g.first * h) - fn.lowLimit!));
  if (g.clampHigh) worst = Math.max(worst, Math.abs(fn.f((g.last + 1) * h) - fn.highLimit!));
  return worst + 2 ** -(E + 1) + (h / 2) * 2 ** -(m + 1);
}

/** Applies the table to every element of x; the result has exponent max(x.exp, t + 1) + m. */
export function secantTable(program: Program, x0: QTensor, fn: TableFunction, s: number, node: string, where: string): QTensor {
  const m = s;
  let lo = Infinity;
  let hi = -Infinity;
  for (const e of x0.exprs) {
    const [a, b] = program.checkRange(e, node);
    lo = Math.min(lo, Number(a) * 2 ** -x0.exp);
    hi = Math.max(hi, Number(b) * 2 ** -x0.exp);
  }
  if (x0.exprs.length === 0) return { shape: x0.shape, exp: x0.exp, exprs: [] };
  const g = secantGrid(fn, lo, hi, s, where);
  const cells = g.last - g.first + 1 + (g.clampLow ? 1 : 0) + (g.clampHigh ? 1 : 0);
  if (cells * x0.exprs.length > MAX_TABLE_CONSTRAINTS) {
    throw new ZkmlError(
      `${fn.name} over the input interval [${lo}, ${hi}] needs a table of ${cells} cells at --scale ${s}, for ${x0.exprs.length} elements up to ${cells * x0.exprs.length} constraints (at most ${MAX_TABLE_CONSTRAINTS}): narrow --input-range or lower --scale`,
      'E_UNSUPPORTED',
      where,
    );
  }
  const x = liftExp(x0, g.t + 1);
  const E = x.exp + m;
  const h = 2 ** -g.t;
  // Table rows: [saturated low], cells first..last, [saturated high]; row j holds cell first - low + j.
  const low = g.clampLow ? 1 : 0;
  const values: bigint[] = [];
  const slopes: bigint[] = [];
  if (g.clampLow) [values[0], slopes[0]] = [toFixed(fn.lowLimit!, E, where), 0n];
  for (let i = g.first; i <= g.last; i++) {
    const [fa, fb] = [fn.f(i * h), fn.f((i + 1) * h)];
    values.push(toFixed((fa + fb) / 2, E, where));
    slopes.push(toFixed((fb - fa) / h, m, where));
  }
  if (g.clampHigh) {
    values.push(toFixed(fn.highLimit!, E, where));
    slopes.push(0n);
  }
  const top = BigInt(values.length - 1);
  const K = x.exp - g.t;
  const base = BigInt(g.first - low);
  const exprs = x.exprs.map((e) => {
    // q = floor(x/h) - base: round((x - h/2 - base·h) / h), with the exact offset r from the cell's middle.
    const shifted = e.addConst(-(1n << BigInt(K - 1)) - (base << BigInt(K)));
    const [a, b] = program.checkRange(shifted, node);
    const qlo = roundShift(a, K);
    const qhi = roundShift(b, K);
    if (qhi <= 0n && g.clampLow) return Expr.constant(values[0]);
    if (qlo >= top && g.clampHigh) return Expr.constant(values[Number(top)]);
    const signed = qlo < 0n;
    const bits = Math.max(1, signed ? signedWidth(qlo, qhi) : bitLength(qhi));
    let [, rem, idx] = program.apply(requantSplit, { k: K, b: bits, signed, relu: signed }, [shifted], node);
    if (qhi > top) idx = minOf(program, idx, Expr.constant(top), node);
    const [ilo, ihi] = program.bounds(idx);
    const firstRow = Number(ilo);
    if (ilo === ihi) return Expr.sum([[Expr.constant(values[firstRow]), 1n], [rem, slopes[firstRow]]]);
    const n = Number(ihi - ilo) + 1;
    const hot = program.apply(oneHot(n), { n }, [idx.addConst(-ilo)], node);
    const value = Expr.sum(hot.map((hj, j) => [hj, values[firstRow + j]]));
    const slope = Expr.sum(hot.map((hj, j) => [hj, slopes[firstRow + j]]));
    return value.add(times(program, rem, slope, node));
  });
  return { shape: x.shape, exp: E, exprs };
}
