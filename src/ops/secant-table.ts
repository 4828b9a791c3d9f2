import type { QTensor } from './op.ts';
import { Expr } from '../ir/expr.ts';
import { Program } from '../ir/program.ts';
import { liftExp, toFixed } from '../quantize/fixed.ts';
import { requantize } from '../quantize/requantize.ts';
import { roundShift } from '../gadgets/requant.ts';
import { requantSplit } from '../gadgets/requant-split.ts';
import { oneHot } from '../gadgets/onehot.ts';
import { bitLength, signedWidth } from '../gadgets/gadget.ts';
import { minOf, times } from './compare.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * A piecewise-polynomial table of a real function f over the interval its input can reach: the general form of
 * the Sigmoid/Tanh tables of ops/nonlinear.ts for functions that do not saturate (Exp, Sin...), have a kink at
 * 0 (Elu, Softsign) or a bounded domain (Log, Asin...). Used by ops/transcendental.ts and ops/reduce-extra.ts.
 *
 * Integer semantics. The real line is cut into cells [i·h, (i+1)·h), h = 2^-t. One ZkRequantSplit of
 * x - h/2 by K = e - t bits (e: the input exponent, raised to t + 1 if coarser, exactly) gives the cell
 * i = floor(x/h) and the exact offset from the cell's middle, r = x - (i + ½)·h in [-h/2, h/2). The cell is
 * selected by a ZkOneHot over the cells the element's interval can reach, and its coefficients are linear in
 * the one-hot. Two orders (m = s, the activation scale; E = e + m the output exponent):
 * - order 1, the chord:  y = v_i + s_i·r,  v_i = (f(a) + f(b))/2, s_i = (f(b) - f(a))/h  (a, b the cell's ends),
 *   v_i at exponent E, s_i at m: one product. Interpolation error (h²/8)·max_cell |f''|.
 * - order 2 (the default), the parabola through f(a), f(mid), f(b):  y = v_i + r·(s_i + r·c_i),
 *   v_i = f(mid), s_i = (f(b) - f(a))/h, c_i = 2(f(a) - 2f(mid) + f(b))/h², with c_i at exponent m, s_i at E and
 *   v_i at E + e, so y is exact at exponent E + e, then requantized to E (round half up). Two products and one
 *   requantization (e + b constraints). Interpolation error h³/(72√3)·max_cell |f'''|, so cells are far wider:
 *   Exp over [-4, 4) at s = 16 takes 2,048 chord cells (2,068 constraints per element) or 128 parabola cells
 *   (208 constraints per element); at s = 8, 128 cells (148) against 32 (102). Measured max relative error:
 *   1.9e-6 and 2.0e-6 against the 3.8e-6 target at s = 16.
 * - orders 3 and 4 (Sigmoid and Tanh, whose `derivativeMax` gives exact derivative bounds): the interpolant of
 *   degree d at the cell's d + 1 Chebyshev points, y = c_0 + r·(c_1 + r·(... + r·c_d)) with c_j at exponent
 *   m + (d - j)·e, exact at exponent m + d·e, then requantized to E. d products and one requantization of
 *   (d - 1)·e shifted bits plus the output's width. Interpolation error max_cell|f^(d+1)|·2(h/4)^(d+1)/(d+1)!,
 *   coefficient roundings Σ_j (h/2)^j·2^-(m+(d-j)e+1), the final rounding 2^-(E+1). Far fewer cells again:
 *   Sigmoid over [-16, 16] at s = 16 takes 1,598 chord cells, 200 parabola cells or 50 cubic ones (156
 *   constraints per element); secantTable given several orders builds the cheapest (cheapestOrder).
 * Orders 1 and 2 are exact at every node, so a kink at 0 (always a node) costs nothing in accuracy. Where f saturates (Erf
 * at ±3.6, Exp below -12 at s = 16) the table stops at the node past which |f - f(±inf)| stays within the target
 * (checked at every node and half node to the interval's end), and one more row on that side holds f(±inf)
 * with no slope: the cell index is clamped to it (the low end fused into the split as its ReLU, the high end one
 * ZkMax).
 *
 * Error bound, for every input in the table's range: the interpolation error above plus the roundings of the
 * coefficients (2^-(E+1) for v, (h/2)·2^-(m+1) for s at order 1; below 2^-E in all at order 2, with the final
 * requantization); in a saturated cell, the tail |f(±inf) - f(x)| <= target. The grid is the coarsest h = 2^-t
 * whose interpolation error is within 2^-(s+2)·max(1, min_cell |f|) in every cell: a quarter step of the
 * activation scale, relative to |f| where |f| > 1 (Exp, Sinh, Cosh grow: an absolute target would need ever
 * finer cells). max_cell |f''| and |f'''| are taken over 33 points inside the cell by central differences of f
 * with a step far below h: a tight estimate for these analytic functions, whose derivatives vary little across
 * one cell of the chosen width (an estimate, not an interval-arithmetic proof). A table of more than MAX_CELLS
 * cells, a cell that leaves f's domain (Log at x <= 0), or a node whose tables would cost more than
 * MAX_TABLE_CONSTRAINTS (elements × cells), is refused with the input interval in the message: the user can
 * narrow --input-range or lower --scale.
 *
 * Cost per element: the split (K + b constraints, +1 for the low clamp), one comparison for the high clamp, one
 * constraint per reachable cell (the one-hot), and one product (order 1) or d products and a requantization
 * (order d >= 2). scripts/bench-transcendental.ts measures each op's cost and max error against the chord table.
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
  /** f is monotone (so its saturated tails are found from 0 outward, whatever the interval's width). */
  monotone?: boolean;
  /**
   * max |f^(n)| over [a, b], exact up to sampling a smooth function of one variable (Sigmoid and Tanh: their
   * derivatives are polynomials in f itself). Orders 3 and 4 need it: finite differences of that order are noise.
   */
  derivativeMax?(n: number, a: number, b: number): number;
}

/** Degree of the polynomial in each cell: 1 the chord, 2 the parabola, 3 and 4 Chebyshev interpolants. */
export type TableOrder = 1 | 2 | 3 | 4;

/** Largest table built: beyond it the interval is too wide for a lookup at this scale. */
export const MAX_CELLS = 8192;

/** Most one-hot constraints one node's tables may cost (elements × cells): beyond it the circuit is too large. */
export const MAX_TABLE_CONSTRAINTS = 2 ** 18;

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

function thirdDerivativeMax(fn: TableFunction, a: number, b: number): number {
  const d = Math.min(1e-3, (b - a) / (SAMPLES * 8));
  let m = 0;
  for (let j = 0; j < SAMPLES; j++) {
    const x = a + ((j + 0.5) / SAMPLES) * (b - a);
    m = Math.max(m, Math.abs((fn.f(x + 2 * d) - 2 * fn.f(x + d) + 2 * fn.f(x - d) - fn.f(x - 2 * d)) / (2 * d * d * d)));
  }
  return m;
}

const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));

/**
 * The interpolation error on a cell [a, b]: the chord's (order 1), the three-point parabola's (order 2), or the
 * Chebyshev interpolant's of degree d (orders 3, 4): max|f^(d+1)|/(d+1)! · max|Π(x - x_k)| = 2·(h/4)^(d+1).
 */
function interpolationError(fn: TableFunction, a: number, b: number, order: TableOrder): number {
  const h = b - a;
  if (order === 1) return ((h * h) / 8) * (fn.derivativeMax?.(2, a, b) ?? secondDerivativeMax(fn, a, b));
  if (order === 2) return ((h * h * h) / (72 * Math.sqrt(3))) * (fn.derivativeMax?.(3, a, b) ?? thirdDerivativeMax(fn, a, b));
  if (!fn.derivativeMax) throw new Error(`${fn.name}: a table of order ${order} needs exact derivative bounds`);
  return ((2 * (h / 4) ** (order + 1)) / factorial(order + 1)) * fn.derivativeMax(order + 1, a, b);
}

/**
 * Coefficients c_0..c_d of the cell's polynomial in r = x - mid (mid the cell's middle): the chord, the parabola
 * through both ends and the middle, or (d >= 3) the interpolant at the d + 1 Chebyshev points of the cell.
 */
export function cellPolynomial(fn: TableFunction, a: number, h: number, order: TableOrder): number[] {
  const [fa, fm, fb] = [fn.f(a), fn.f(a + h / 2), fn.f(a + h)];
  if (order === 1) return [(fa + fb) / 2, (fb - fa) / h];
  if (order === 2) return [fm, (fb - fa) / h, (2 * (fa - 2 * fm + fb)) / (h * h)];
  // Solve the Vandermonde system in u = r/(h/2) in [-1, 1] (well conditioned for d <= 4), then rescale.
  const n = order + 1;
  const us = Array.from({ length: n }, (_, k) => Math.cos(((2 * k + 1) * Math.PI) / (2 * n)));
  const rows = us.map((u) => [...Array.from({ length: n }, (_, j) => u ** j), fn.f(a + h / 2 + (u * h) / 2)]);
  for (let col = 0; col < n; col++) {
    const pivot = rows.slice(col).reduce((best, r, i) => (Math.abs(r[col]) > Math.abs(rows[best][col]) ? col + i : best), col);
    [rows[col], rows[pivot]] = [rows[pivot], rows[col]];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const k = rows[r][col] / rows[col][col];
      for (let j = col; j <= n; j++) rows[r][j] -= k * rows[col][j];
    }
  }
  return rows.map((r, j) => r[n] / r[j] / (h / 2) ** j);
}

function minAbs(fn: TableFunction, a: number, b: number): number {
  let m = Infinity;
  for (let j = 0; j <= SAMPLES; j++) m = Math.min(m, Math.abs(fn.f(a + (j / SAMPLES) * (b - a))));
  return m;
}

/** Is the whole cell [a, b] accurate enough at grid step h (and inside f's domain)? */
function cellOk(fn: TableFunction, a: number, b: number, target: number, order: TableOrder): boolean {
  if (fn.domain && (a <= fn.domain[0] || b >= fn.domain[1])) return false;
  if (!Number.isFinite(fn.f(a)) || !Number.isFinite(fn.f(b))) return false;
  return interpolationError(fn, a, b, order) <= target * Math.max(1, minAbs(fn, a, b));
}

/**
 * The coarsest grid that meets the target over the real interval [lo, hi] (see the header), or a refusal
 * naming the interval.
 */
export function secantGrid(fn: TableFunction, lo: number, hi: number, s: number, where: string, order: TableOrder = 2): SecantGrid {
  // The search samples every cell's derivatives: remembered per function object (callers building one table
  // per element, as the recurrent gates may, ask for the same grid again and again).
  const key = `${lo}|${hi}|${s}|${order}`;
  const known = GRIDS.get(fn)?.get(key);
  if (known) return known;
  const grid = searchGrid(fn, lo, hi, s, where, order);
  if (!GRIDS.has(fn)) GRIDS.set(fn, new Map());
  GRIDS.get(fn)!.set(key, grid);
  return grid;
}

const GRIDS = new WeakMap<TableFunction, Map<string, SecantGrid>>();

function searchGrid(fn: TableFunction, lo: number, hi: number, s: number, where: string, order: TableOrder): SecantGrid {
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
    // Saturated ends: the table stops at the node past which f stays within the target of its limit all the way
    // to the interval's end (checked at every node and half node from there: Mish, say, is 0 at 0 but not below).
    const near = (x: number, L: number) => Math.abs(fn.f(x) - L) <= target * Math.max(1, Math.abs(L));
    if (fn.lowLimit !== undefined) {
      const L = fn.lowLimit;
      const nearCell = (j: number) => near(j * h, L) && near((j + 0.5) * h, L) && near((j + 1) * h, L);
      let i = first;
      if (fn.monotone) {
        // Monotone f: every cell below a near one is near too, so the walk starts at 0 (a wide interval costs
        // no more than the cells between 0 and the saturation point).
        let j = Math.min(last, 0) - 1;
        while (j >= first && !nearCell(j)) j--;
        i = j + 1;
      } else while (i < Math.min(last, 0) && nearCell(i)) i++;
      if (i > first) [first, clampLow] = [i, true];
    }
    if (fn.highLimit !== undefined) {
      const H = fn.highLimit;
      const nearCell = (j: number) => near(j * h, H) && near((j - 0.5) * h, H) && near((j - 1) * h, H); // cell j - 1
      let i = last + 1; // cells up to i - 1 are kept; x >= i·h saturates
      if (fn.monotone) {
        let c = Math.max(first, 0) + 1; // the first cell from which every cell is near
        while (c <= last && !nearCell(c + 1)) c++;
        i = c;
      } else while (i - 1 > Math.max(first, 0) && nearCell(i)) i--;
      if (i <= last) [last, clampHigh] = [i - 1, true];
    }
    const cells = last - first + 1 + (clampLow ? 1 : 0) + (clampHigh ? 1 : 0);
    if (cells > MAX_CELLS) break;
    let ok = true;
    for (let i = first; i <= last && ok; i++) ok = cellOk(fn, i * h, (i + 1) * h, target, order);
    if (ok) return { t, first, last, clampLow, clampHigh };
  }
  throw new ZkmlError(
    `${fn.name} over the input interval [${lo}, ${hi}] needs a table of more than ${MAX_CELLS} cells at --scale ${s} (error target 2^-${s + 2}): narrow --input-range or lower --scale`,
    'E_UNSUPPORTED',
    where,
  );
}

/** The error bound of the header for a grid (E: output exponent, m: slope exponent). */
export function secantErrorBound(fn: TableFunction, g: SecantGrid, E: number, m: number, order: TableOrder = 2): number {
  const h = 2 ** -g.t;
  let worst = 0;
  for (let i = g.first; i <= g.last; i++) worst = Math.max(worst, interpolationError(fn, i * h, (i + 1) * h, order));
  // Order 2 adds the roundings of its curvature and of the final requantization: below 2^-(E+1) each.
  if (order === 2) worst += 2 ** -E;

  if (g.clampLow) worst = Math.max(worst, Math.abs(fn.f(g.first * h) - fn.lowLimit!));
  if (g.clampHigh) worst = Math.max(worst, Math.abs(fn.f((g.last + 1) * h) - fn.highLimit!));
  if (order <= 2) return worst + 2 ** -(E + 1) + (h / 2) * 2 ** -(m + 1);
  // Orders 3, 4: c_j is rounded at exponent m + (d - j)·X (X = E - m, the input's), so by (h/2)^j·2^-(m+(d-j)X+1)
  // at |r| <= h/2, and the final requantization by 2^-(E+1).
  let rounding = 2 ** -(E + 1);
  for (let j = 0; j <= order; j++) rounding += (h / 2) ** j * 2 ** -(m + (order - j) * (E - m) + 1);
  return worst + rounding;
}

/** Input interval [lo, hi] of x's elements as reals. */
function realInterval(program: Program, x0: QTensor, node: string): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const e of x0.exprs) {
    const [a, b] = program.checkRange(e, node);
    lo = Math.min(lo, Number(a) * 2 ** -x0.exp);
    hi = Math.max(hi, Number(b) * 2 ** -x0.exp);
  }
  return [lo, hi];
}

/**
 * The cheapest order among `orders` for x: each is built on a scratch program for one element spanning the
 * interval of all x's elements (the widest element's cost, exactly as the gadgets count it); orders that cannot
 * meet the target over the interval are skipped, and if none can, the first one's refusal is thrown.
 */
export function cheapestOrder(program: Program, x0: QTensor, fn: TableFunction, s: number, where: string, orders: readonly TableOrder[], widen = false): TableOrder {
  let lo: bigint | undefined;
  let hi: bigint | undefined;
  for (const e of x0.exprs) {
    const [a, b] = program.bounds(e);
    if (lo === undefined || a < lo) lo = a;
    if (hi === undefined || b > hi) hi = b;
  }
  let best: { order: TableOrder; cost: number } | undefined;
  let refusal: unknown;
  for (const order of orders) {
    const scratch = new Program();
    const exprs = scratch.addInput('x', [1], lo!, hi!);
    try {
      secantTable(scratch, { shape: [1], exp: x0.exp, exprs }, fn, s, 'cost', where, order, widen);
    } catch (err) {
      refusal ??= err;
      continue;
    }
    const cost = [...scratch.costByNode().values()].reduce((acc, c) => acc + c, 0);
    if (!best || cost < best.cost) best = { order, cost };
  }
  if (!best) throw refusal;
  return best.order;
}

/**
 * The table secantTable builds for inputs in [lo, hi] at exponent e and scale s, given `orders`: the order
 * cheapestOrder picks, its grid, and its error bound (secantErrorBound at the output exponent max(e, t + 1) + s).
 */
export function tableEncoding(fn: TableFunction, lo: number, hi: number, e: number, s: number, orders: readonly TableOrder[]): { order: TableOrder; grid: SecantGrid; bound: number } {
  const scratch = new Program();
  const x = { shape: [1], exp: e, exprs: scratch.addInput('x', [1], BigInt(Math.floor(lo * 2 ** e)), BigInt(Math.ceil(hi * 2 ** e))) };
  const order = cheapestOrder(scratch, x, fn, s, fn.name, orders);
  const grid = secantGrid(fn, lo, hi, s, fn.name, order);
  return { order, grid, bound: secantErrorBound(fn, grid, Math.max(e, grid.t + 1) + s, s, order) };
}

/**
 * An interval end moved outward to a power of two (up: the upper end), 0 staying 0: with `widen`, secantTable builds its grid over the widened
 * interval, so that elements with different intervals (a table applied element by element) share a handful of
 * grids, each searched once (secantGrid remembers them). A wider grid interval is as accurate; the one-hot still
 * spans only the cells the element can reach.
 */
function widened(v: number, up: boolean): number {
  if (v === 0) return 0;
  const away = (v > 0) === up; // moving away from 0 (else toward it, staying on v's side)
  const k = Math.log2(Math.abs(v));
  return Math.sign(v) * 2 ** (away ? Math.ceil(k) : Math.floor(k));
}

/**
 * Applies the table to every element of x; the result has exponent max(x.exp, t + 1) + m. `order` may list
 * several: the cheapest (cheapestOrder) is built. `widen`: the grid is searched over the widened interval.
 */
export function secantTable(program: Program, x0: QTensor, fn: TableFunction, s: number, node: string, where: string, orders: TableOrder | readonly TableOrder[] = 2, widen = false): QTensor {
  const m = s;
  if (x0.exprs.length === 0) return { shape: x0.shape, exp: x0.exp, exprs: [] };
  const [lo, hi] = realInterval(program, x0, node).map((v, i) => (widen ? widened(v, i === 1) : v));
  const order = typeof orders === 'number' ? orders : cheapestOrder(program, x0, fn, s, where, orders, widen);
  const g = secantGrid(fn, lo, hi, s, where, order);
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
  // Coefficient c_j of r^j at exponent m + (order - j)·x.exp, so that Horner's y = c_0 + r·(c_1 + r·(...)) is
  // exact at exponent m + order·x.exp (E for the chord; requantized to E at the end for higher orders).
  const tables: bigint[][] = Array.from({ length: order + 1 }, () => []);
  const row = (cs: number[]) => tables.forEach((t, j) => t.push(toFixed(cs[j] ?? 0, m + (order - j) * x.exp, where)));
  if (g.clampLow) row([fn.lowLimit!]);
  for (let i = g.first; i <= g.last; i++) row(cellPolynomial(fn, i * h, h, order));
  if (g.clampHigh) row([fn.highLimit!]);
  const top = BigInt(tables[0].length - 1);
  const K = x.exp - g.t;
  const base = BigInt(g.first - low);
  const exprs = x.exprs.map((e) => {
    // q = floor(x/h) - base: round((x - h/2 - base·h) / h), with the exact offset r from the cell's middle.
    const shifted = e.addConst(-(1n << BigInt(K - 1)) - (base << BigInt(K)));
    const [a, b] = program.checkRange(shifted, node);
    const qlo = roundShift(a, K);
    const qhi = roundShift(b, K);
    if (qhi <= 0n && g.clampLow) return Expr.constant(tables[0][0]);
    if (qlo >= top && g.clampHigh) return Expr.constant(tables[0][Number(top)]);
    const signed = qlo < 0n;
    const bits = Math.max(1, signed ? signedWidth(qlo, qhi) : bitLength(qhi));
    let [, rem, idx] = program.apply(requantSplit, { k: K, b: bits, signed, relu: signed }, [shifted], node);
    if (qhi > top) idx = minOf(program, idx, Expr.constant(top), node);
    const [ilo, ihi] = program.bounds(idx);
    const firstRow = Number(ilo);
    const n = Number(ihi - ilo) + 1;
    const hot = n === 1 ? [Expr.constant(1n)] : program.apply(oneHot(n), { n }, [idx.addConst(-ilo)], node);
    const select = (table: bigint[]) => Expr.sum(hot.map((hj, j) => [hj, table[firstRow + j]]));
    let acc = select(tables[order]);
    for (let j = order - 1; j >= 0; j--) acc = select(tables[j]).add(times(program, rem, acc, node));
    return acc;
  });
  if (order === 1) return { shape: x.shape, exp: E, exprs };
  return requantize(program, { shape: x.shape, exp: m + order * x.exp, exprs }, E, false, node);
}
