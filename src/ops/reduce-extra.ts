import type { OpDef } from './op.ts';
import { qInput } from './common.ts';
import { Expr } from '../ir/expr.ts';
import type { Program } from '../ir/program.ts';
import { liftExp } from '../quantize/fixed.ts';
import { requantize } from '../quantize/requantize.ts';
import { extremum, maxOf, minOf, times } from './compare.ts';
import { reduceGeometry as reduction } from './reduce.ts';
import { secantTable, type TableFunction } from './secant-table.ts';

/**
 * Reductions beyond ops/reduce.ts: ReduceLogSumExp, ReduceLogSum, ReduceProd, and the log-sum-exp that
 * SoftmaxCrossEntropyLoss (ops/loss.ts) computes along its class axis.
 *
 * - log-sum-exp of a group x_1..x_n (exponent e): m = max x_i (n - 1 ZkMax comparisons), d_i = x_i - m <= 0
 *   (clamped at 0 by one comparison each, as the interval analysis cannot see it), S = Σ exp(d_i) by the Exp
 *   secant table (ops/secant-table.ts), requantized to the activation scale s; 1 <= S <= n in exact arithmetic
 *   (the d_i of the max is 0), so S is clamped to [1 - 2^-8, n + 1/2] by two ZkMax (no-ops on honest values:
 *   the table's exp(0) is 1 within 2^-(s+1)), which puts it in Log's domain with a tight interval; then
 *   LSE = m + log S by the Log table, requantized to s.
 *   Error: the Exp table's 2^-(s+2) per term relative (so |ΔS| <= 2^-(s+2)·S + 2^-(s+1)), which moves log S by
 *   at most 2^-(s+2) + 2^-(s+1)/S <= 3·2^-(s+2), plus Log's table 2^-(s+2) and two roundings of 2^-(s+1):
 *   |LSE - lse(x)| <= 2^-s·(1/2 + 1 + 1/4) < 2^-s·2. Cost per group: 2n - 1 comparisons, n Exp tables, two
 *   comparisons, one Log table and two requantizations.
 * - ReduceLogSumExp: log-sum-exp over the reduced axes, as above.
 * - ReduceLogSum: Log of the sum (linear) by the Log table: the sum's interval must stay in (0, inf) (else the
 *   table refuses, naming the interval). Error: Log's table bound (ops/secant-table.ts).
 * - ReduceProd: a chain of products, each requantized back to s: n - 1 products and n - 1 requantizations
 *   (k + b constraints each). Error: each rounding 2^-(s+1) times the magnitude of the remaining factors.
 * Exact integer semantics otherwise: the tables', the max's and the requantization's (round half up).
 */

export const EXP: TableFunction = { name: 'Exp', f: Math.exp, lowLimit: 0 };
export const LOG: TableFunction = { name: 'Log', f: Math.log, domain: [0, Infinity] };

/** log Σ exp(x_i) of each group (lists of expressions at exponent e); the results at exponent max(e, s). */
export function logSumExp(program: Program, groups: Expr[][], e: number, s: number, node: string, where: string): { exprs: Expr[]; exp: number } {
  const maxes = groups.map((g) => extremum(program, g, node, 'max'));
  // d_i = x_i - m <= 0, which the interval analysis cannot see (m's interval is the max of the intervals): one
  // comparison per element clamps it at 0, a no-op on honest values that halves the Exp table.
  const zero = Expr.constant(0n);
  const diffs = groups.flatMap((g, k) => g.map((x) => minOf(program, Expr.sum([[x, 1n], [maxes[k], -1n]]), zero, node)));
  const ex = secantTable(program, { shape: [diffs.length], exp: e, exprs: diffs }, EXP, s, node, where);
  let at = 0;
  const sums = groups.map((g) => {
    const terms = ex.exprs.slice(at, at + g.length);
    at += g.length;
    return Expr.sum(terms.map((t) => [t, 1n]));
  });
  const S = requantize(program, { shape: [sums.length], exp: ex.exp, exprs: sums }, s, false, node);
  // 1 <= S <= n in exact arithmetic; the table's roundings keep it within 2^-(s-1) of that. Clamping S to
  // [1 - 2^-8, n + 1/2] (two comparisons, no-ops on honest values) gives Log a tight interval.
  const clamped = S.exprs.map((v, k) => {
    const lo = Expr.constant((1n << BigInt(S.exp)) - (1n << BigInt(Math.max(0, S.exp - 8))));
    const hi = Expr.constant((BigInt(2 * groups[k].length + 1) << BigInt(S.exp)) / 2n);
    return minOf(program, maxOf(program, v, lo, node), hi, node);
  });
  const L = requantize(program, secantTable(program, { shape: [clamped.length], exp: S.exp, exprs: clamped }, LOG, s, node, where), s, false, node);
  const exp = Math.max(e, L.exp);
  const lift = (v: Expr, from: number) => v.scale(1n << BigInt(exp - from));
  return { exprs: maxes.map((m, k) => lift(m, e).add(lift(L.exprs[k], L.exp))), exp };
}

const FLOAT: Record<string, (v: number[]) => number> = {
  ReduceLogSumExp: (v) => {
    const m = Math.max(...v);
    return m + Math.log(v.reduce((a, x) => a + Math.exp(x - m), 0));
  },
  ReduceLogSum: (v) => Math.log(v.reduce((a, x) => a + x, 0)),
  ReduceProd: (v) => v.reduce((a, x) => a * x, 1),
};

const reduceExtra: OpDef = {
  ops: Object.keys(FLOAT),
  shapes: (ctx) => [reduction(ctx, ctx.shapes[0]).outShape],
  fold(ctx, [x]) {
    const r = reduction(ctx, x.dims);
    return [{ dtype: x.dtype, dims: r.outShape, data: r.groups.map((g) => FLOAT[ctx.node.opType](g.map((i) => x.data[i]))) }];
  },
  lower(ctx) {
    const x = qInput(ctx, 0);
    const r = reduction(ctx, x.shape);
    const s = ctx.opts.scale;
    const node = ctx.node.name;
    const groups = r.groups.map((g) => g.map((i) => x.exprs[i]));
    switch (ctx.node.opType) {
      case 'ReduceLogSumExp': {
        const { exprs, exp } = logSumExp(ctx.program, groups, x.exp, s, node, ctx.where);
        return [{ shape: r.outShape, exp, exprs }];
      }
      case 'ReduceLogSum': {
        const sums = groups.map((g) => Expr.sum(g.map((v) => [v, 1n])));
        const y = secantTable(ctx.program, { shape: r.outShape, exp: x.exp, exprs: sums }, LOG, s, node, ctx.where);
        return [y];
      }
      default: {
        // ReduceProd: the first factor at its own exponent, each product requantized back to s (never up).
        const target = Math.max(s, 0);
        const exprs: Expr[] = [];
        const products = groups.map((g) => {
          if (g.length === 0) return { e: Expr.constant(1n), exp: 0 };
          let acc = g[0];
          let accExp = x.exp;
          for (const v of g.slice(1)) {
            let p = times(ctx.program, acc, v, node);
            let pExp = accExp + x.exp;
            if (pExp > target) {
              p = requantize(ctx.program, { shape: [1], exp: pExp, exprs: [p] }, target, false, node).exprs[0];
              pExp = target;
            }
            [acc, accExp] = [p, pExp];
          }
          return { e: acc, exp: accExp };
        });
        const exp = Math.max(...products.map((p) => p.exp));
        for (const p of products) exprs.push(liftExp({ shape: [1], exp: p.exp, exprs: [p.e] }, exp).exprs[0]);
        return [{ shape: r.outShape, exp, exprs }];
      }
    }
  },
};

export const reduceExtraOps: OpDef[] = [reduceExtra];
