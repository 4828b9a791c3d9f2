import { Expr } from '../ir/expr.ts';
import type { Program } from '../ir/program.ts';
import { max } from '../gadgets/max.ts';
import { abs } from '../gadgets/abs.ts';
import { equal } from '../gadgets/equal.ts';
import { ge } from '../gadgets/ge.ts';
import { product } from '../gadgets/product.ts';
import { signedWidth } from '../gadgets/gadget.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * Comparisons of expressions, for the ops that pick values (MaxPool, ReduceMax, Max/Min, ArgMax, Clip).
 * Each comparison is one ZkMax gadget sized by the interval of the difference; where the intervals already
 * decide the comparison (a constant, or ranges that do not overlap) it costs nothing.
 */

const diffOf = (a: Expr, b: Expr) => Expr.sum([[a, 1n], [b, -1n]]);

/** max(a, b) and ge = [a >= b] (a constant or the gadget's sign wire). */
export function compare(program: Program, a: Expr, b: Expr, node: string): { max: Expr; ge: Expr } {
  const [lo, hi] = program.checkRange(diffOf(a, b), node);
  if (lo >= 0n) return { max: a, ge: Expr.constant(1n) };
  if (hi < 0n) return { max: b, ge: Expr.constant(0n) };
  const [out, sign] = program.apply(max, { w: comparisonWidth(lo, hi, node) }, [a, b], node);
  return { max: out, ge: sign };
}

function comparisonWidth(lo: bigint, hi: bigint, node: string): number {
  const w = signedWidth(lo, hi);
  if (w > 252) throw new ZkmlError(`a comparison would need a ${w}-bit range check; the field allows 252`, 'E_RANGE', node);
  return w;
}

/** [d >= 0]: one ZkGe sign test sized by d's interval, or a constant where the interval decides it. */
export function nonNegative(program: Program, d: Expr, node: string): Expr {
  const [lo, hi] = program.checkRange(d, node);
  if (lo >= 0n) return Expr.constant(1n);
  if (hi < 0n) return Expr.constant(0n);
  return program.apply(ge, { w: comparisonWidth(lo, hi, node) }, [d], node)[0];
}

/** |x|: one ZkAbs sized by x's interval, or x or -x where the interval has one sign. */
export function absOf(program: Program, x: Expr, node: string): Expr {
  const [lo, hi] = program.checkRange(x, node);
  if (lo >= 0n) return x;
  if (hi <= 0n) return x.scale(-1n);
  return program.apply(abs, { w: comparisonWidth(lo, hi, node) }, [x], node)[0];
}

/** [d = 0]: one equality test (gadgets/equal.ts, 2w constraints), or a constant where d's interval decides it. */
export function zeroTest(program: Program, d: Expr, node: string): Expr {
  const [lo, hi] = program.checkRange(d, node);
  if (lo === 0n && hi === 0n) return Expr.constant(1n);
  if (lo > 0n || hi < 0n) return Expr.constant(0n);
  const w = Math.max(comparisonWidth(lo, hi, node), comparisonWidth(-hi, -lo, node));
  return program.apply(equal, { w }, [d], node)[0];
}

/** a · b: linear when either is a constant, else one product constraint. */
export function times(program: Program, a: Expr, b: Expr, node: string): Expr {
  if (a.isConstant) return b.timesConstant(a);
  if (b.isConstant) return a.timesConstant(b);
  return program.apply(product, {}, [a, b], node)[0];
}

export function maxOf(program: Program, a: Expr, b: Expr, node: string): Expr {
  // d <= 0 everywhere: b is the max (ties included), no comparison needed.
  if (program.checkRange(diffOf(a, b), node)[1] <= 0n) return b;
  return compare(program, a, b, node).max;
}

/** min(a, b) = -max(-a, -b): the negated gadget output keeps the exact interval [min lo, min hi]. */
export function minOf(program: Program, a: Expr, b: Expr, node: string): Expr {
  return maxOf(program, a.scale(-1n), b.scale(-1n), node).scale(-1n);
}

/** Max (or min) of a non-empty list by a left fold: n - 1 comparisons. */
export function extremum(program: Program, values: Expr[], node: string, which: 'max' | 'min'): Expr {
  if (values.length === 0) throw new ZkmlError('no values to compare (a window or axis with no elements)', 'E_SHAPE', node);
  const pick = which === 'max' ? maxOf : minOf;
  return values.slice(1).reduce((m, v) => pick(program, m, v, node), values[0]);
}

/**
 * Index (or label) of the max (or min) of a list, with ONNX's tie rule: the first index, or the last with
 * selectLast. A running max m and index are carried along; at step i one comparison gives the bit that
 * says whether x_i replaces m (taking ties when selectLast), and the index follows by one product
 * idx' = idx + (label(i) - idx)·bit (free while idx or the bit is a constant).
 */
export function argExtremum(program: Program, values: Expr[], node: string, which: 'max' | 'min', selectLast: boolean, labels?: bigint[]): Expr {
  if (values.length === 0) throw new ZkmlError('ArgMax/ArgMin over an empty axis', 'E_SHAPE', node);
  // With `labels`, the chain carries labels[i] instead of i (a classifier's class label): the same cost.
  const label = (i: number) => (labels ? labels[i] : BigInt(i));
  const sign = which === 'max' ? 1n : -1n;
  let m = values[0].scale(sign);
  let idx = Expr.constant(label(0));
  for (let i = 1; i < values.length; i++) {
    const x = values[i].scale(sign);
    let take: Expr;
    if (selectLast) {
      const c = compare(program, x, m, node); // [x >= m]: the later index wins ties
      m = c.max;
      take = c.ge;
    } else {
      const c = compare(program, m, x, node); // [m >= x]: the earlier index keeps ties
      m = c.max;
      take = Expr.sum([[Expr.constant(1n), 1n], [c.ge, -1n]]);
    }
    const step = Expr.sum([[Expr.constant(label(i)), 1n], [idx, -1n]]); // label(i) - idx
    idx = idx.add(times(program, take, step, node));
  }
  return idx;
}
