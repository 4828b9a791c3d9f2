import type { LowerCtx, OpDef, QTensor, ShapeCtx } from './op.ts';
import { constInput, isConst, qInput } from './common.ts';
import { attrInt, attrInts } from '../onnx/graph.ts';
import { broadcastIndexer, broadcastShapes, normAxis, sizeOf, strides, type Tensor } from '../onnx/tensor.ts';
import { Expr } from '../ir/expr.ts';
import { liftExp, quantizeTensor, toFixed, weightExp } from '../quantize/fixed.ts';
import type { QuantOptions } from '../quantize/options.ts';
import { absOf, argExtremum, extremum } from './compare.ts';
import { atMostScale, mul, squareRoot } from './arith.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * Reductions and variadic elementwise ops: ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceSumSquare,
 * ReduceL1, ReduceL2, ArgMax, ArgMin (over axes), and Sum, Mean, Max, Min (over inputs, with broadcasting).
 * ReduceSumSquare: Σx² exactly at twice x's exponent (x requantized to at most the activation scale first, error
 * 2^-(s+1)·2|x| per term), one ZkSquare per element. ReduceL2: its floor square root (ops/arith.ts Sqrt: error
 * < 2^-(s+1) plus the input's), 3·⌈bits/2⌉ + 3 more per group. ReduceL1: Σ|x|, exact, one ZkAbs per element whose
 * sign the interval does not fix (w + 1 constraints).
 * Sums are linear (free); a mean is a sum and one division (divideByCounts); max/min are chains of ZkMax
 * comparisons (n - 1 per group); ArgMax carries the index along the chain (one more product per step).
 */

/**
 * sums[i] / counts[i] with one exponent for the whole tensor. When every count is the same power of two 2^p the
 * division is exact and free: the exponent grows by p. Otherwise each sum is multiplied by 1/n quantized to
 * weightBits at a common exponent m (powers of two among the counts stay exact when m >= p); the relative error
 * of each 1/n is at most 2^-(weightBits-1)·n/min(n).
 */
export function divideByCounts(sums: Expr[], counts: number[], exp: number, opts: QuantOptions, where: string): { exprs: Expr[]; exp: number } {
  const distinct = [...new Set(counts)];
  const log = Math.log2(distinct[0] ?? 1);
  if (distinct.length <= 1 && Number.isInteger(log)) return { exprs: sums, exp: exp + log };
  const m = weightExp(distinct.map((n) => 1 / n), opts.weightBits, opts.maxWeightExp);
  const factor = new Map(distinct.map((n) => [n, toFixed(1 / n, m, where)]));
  return { exprs: sums.map((e, i) => e.scale(factor.get(counts[i])!)), exp: exp + m };
}

export interface Reduction {
  outShape: number[];
  /** Flat input indices of each output element, in row-major order along the reduced axes. */
  groups: number[][];
}

/** The output shape and the groups of input elements a reduction over `axes` of `shape` sums (or compares). */
export function reduction(shape: number[], axes: number[], keepdims: boolean): Reduction {
  const reduced = new Set(axes);
  const kept = shape.map((d, i) => (reduced.has(i) ? 1 : d));
  const outShape = keepdims ? kept : shape.filter((_, i) => !reduced.has(i));
  const inStrides = strides(shape);
  const keptStrides = strides(kept);
  const groups: number[][] = Array.from({ length: sizeOf(kept) }, () => []);
  for (let flat = 0; flat < sizeOf(shape); flat++) {
    let o = 0;
    for (let i = 0; i < shape.length; i++) if (!reduced.has(i)) o += (Math.floor(flat / inStrides[i]) % shape[i]) * keptStrides[i];
    groups[o].push(flat);
  }
  return { outShape, groups };
}

/** Axes from the attribute (older opsets) or the optional second input (ReduceSum 13+, the others 18+). */
function reduceAxes(ctx: ShapeCtx | LowerCtx, rank: number): number[] | undefined {
  const fromInput = ctx.node.opType === 'ReduceSum' ? ctx.opset >= 13 : ctx.opset >= 18;
  const given = fromInput ? (ctx.node.inputs[1] ? constInput(ctx, 1, 'axes').data : undefined) : attrInts(ctx.node, 'axes');
  if (given && given.length > 0) return [...new Set(given.map((a) => normAxis(a, rank, ctx.where)))].sort((a, b) => a - b);
  // No axes: reduce over everything, unless noop_with_empty_axes makes the op an identity.
  if (attrInt(ctx.node, 'noop_with_empty_axes', 0) === 1) return undefined;
  return Array.from({ length: rank }, (_, i) => i);
}

/** The reduction a Reduce* (or ArgMax/ArgMin) node makes of `shape`, from its axes, keepdims and noop_with_empty_axes. */
export function reduceGeometry(ctx: ShapeCtx | LowerCtx, shape: number[]): Reduction {
  const op = ctx.node.opType;
  if (op === 'ArgMax' || op === 'ArgMin') {
    const axis = normAxis(attrInt(ctx.node, 'axis', 0), shape.length, ctx.where);
    return reduction(shape, [axis], attrInt(ctx.node, 'keepdims', 1) === 1);
  }
  const axes = reduceAxes(ctx, shape.length);
  if (!axes) return { outShape: shape, groups: Array.from({ length: sizeOf(shape) }, (_, i) => [i]) };
  return reduction(shape, axes, attrInt(ctx.node, 'keepdims', 1) === 1);
}

const FLOAT_REDUCE: Record<string, (v: number[]) => number> = {
  ReduceSum: (v) => v.reduce((a, b) => a + b, 0),
  ReduceMean: (v) => v.reduce((a, b) => a + b, 0) / v.length,
  ReduceMax: (v) => Math.max(...v),
  ReduceMin: (v) => Math.min(...v),
  ReduceSumSquare: (v) => v.reduce((a, b) => a + b * b, 0),
  ReduceL1: (v) => v.reduce((a, b) => a + Math.abs(b), 0),
  ReduceL2: (v) => Math.sqrt(v.reduce((a, b) => a + b * b, 0)),
  ArgMax: (v) => argIndex(v, (a, b) => a > b, false),
  ArgMin: (v) => argIndex(v, (a, b) => a < b, false),
};

function argIndex(v: number[], better: (a: number, b: number) => boolean, last: boolean): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (better(v[i], v[best]) || (last && v[i] === v[best])) best = i;
  return best;
}

const reduce: OpDef = {
  ops: Object.keys(FLOAT_REDUCE),
  shapes: (ctx) => [reduceGeometry(ctx, ctx.shapes[0]).outShape],
  fold(ctx, [x]) {
    const r = reduceGeometry(ctx, x.dims);
    const op = ctx.node.opType;
    const last = attrInt(ctx.node, 'select_last_index', 0) === 1;
    const data = r.groups.map((g) => {
      const v = g.map((i) => x.data[i]);
      if (op === 'ArgMax' || op === 'ArgMin') return argIndex(v, op === 'ArgMax' ? (a, b) => a > b : (a, b) => a < b, last);
      return FLOAT_REDUCE[op](v);
    });
    return [{ dtype: op.startsWith('Arg') ? 'int64' : x.dtype, dims: r.outShape, data }];
  },
  lower(ctx): QTensor[] {
    const x = qInput(ctx, 0);
    const r = reduceGeometry(ctx, x.shape);
    const op = ctx.node.opType;
    const node = ctx.node.name;
    const values = (g: number[]) => g.map((i) => x.exprs[i]);
    switch (op) {
      case 'ReduceSum':
        return [{ shape: r.outShape, exp: x.exp, exprs: r.groups.map((g) => Expr.sum(values(g).map((e) => [e, 1n]))) }];
      case 'ReduceMean': {
        const sums = r.groups.map((g) => Expr.sum(values(g).map((e) => [e, 1n])));
        const avg = divideByCounts(sums, r.groups.map((g) => g.length), x.exp, ctx.opts, ctx.where);
        return [{ shape: r.outShape, exp: avg.exp, exprs: avg.exprs }];
      }
      case 'ReduceSumSquare':
      case 'ReduceL2': {
        // Σx² at twice x's exponent (x first brought to at most the activation scale); L2 its proven square root.
        const a = atMostScale(ctx, x);
        const sums = r.groups.map((g) => Expr.sum(g.map((i) => [mul(ctx.program, a.exprs[i], a.exprs[i], node), 1n])));
        const ss: QTensor = { shape: r.outShape, exp: 2 * a.exp, exprs: sums };
        return [op === 'ReduceL2' ? squareRoot(ctx, ss) : ss];
      }
      case 'ReduceL1':
        return [{ shape: r.outShape, exp: x.exp, exprs: r.groups.map((g) => Expr.sum(values(g).map((e) => [absOf(ctx.program, e, node), 1n]))) }];
      case 'ReduceMax':
      case 'ReduceMin': {
        const which = op === 'ReduceMax' ? 'max' : 'min';
        return [{ shape: r.outShape, exp: x.exp, exprs: r.groups.map((g) => extremum(ctx.program, values(g), node, which)) }];
      }
      default: {
        // ArgMax / ArgMin: integer indices (exponent 0).
        const last = attrInt(ctx.node, 'select_last_index', 0) === 1;
        const which = op === 'ArgMax' ? 'max' : 'min';
        return [{ shape: r.outShape, exp: 0, exprs: r.groups.map((g) => argExtremum(ctx.program, values(g), node, which, last)) }];
      }
    }
  },
};

/** Variadic Sum, Mean, Max, Min with numpy broadcasting. */
const variadicShape = (ctx: { shapes: number[][]; where: string }) => [ctx.shapes.reduce((s, t) => broadcastShapes(s, t, ctx.where))];

const FLOAT_VARIADIC: Record<string, (v: number[]) => number> = {
  Sum: (v) => v.reduce((a, b) => a + b, 0),
  Mean: (v) => v.reduce((a, b) => a + b, 0) / v.length,
  Max: (v) => Math.max(...v),
  Min: (v) => Math.min(...v),
};

const variadic: OpDef = {
  ops: Object.keys(FLOAT_VARIADIC),
  shapes: variadicShape,
  fold(ctx, inputs: Tensor[]) {
    const shape = variadicShape(ctx)[0];
    const index = inputs.map((t) => broadcastIndexer(shape, t.dims));
    const f = FLOAT_VARIADIC[ctx.node.opType];
    const data = Array.from({ length: sizeOf(shape) }, (_, o) => f(inputs.map((t, k) => t.data[index[k](o)])));
    return [{ dtype: inputs[0].dtype, dims: shape, data }];
  },
  lower(ctx): QTensor[] {
    const shape = ctx.outShapes[0];
    const present = ctx.inputs.filter((v) => v !== undefined);
    if (present.length === 0) throw new ZkmlError(`${ctx.node.opType} needs at least one input`, 'E_GRAPH', ctx.where);
    // One exponent for all operands: the largest of the computed ones (raising is exact); constants at it.
    const exps = present.filter((v) => !isConst(v)).map((v) => (v as { q: QTensor }).q.exp);
    const exp = exps.length ? Math.max(...exps) : ctx.opts.scale;
    const operands = present.map((v) => {
      const q: QTensor = isConst(v)
        ? { shape: v.tensor.dims, exp, exprs: quantizeTensor(v.tensor, exp, ctx.where).map((c) => Expr.constant(c)) }
        : liftExp(v.q, exp);
      const index = broadcastIndexer(shape, q.shape);
      return (o: number) => q.exprs[index(o)];
    });
    const op = ctx.node.opType;
    const size = sizeOf(shape);
    const column = (o: number) => operands.map((get) => get(o));
    if (op === 'Max' || op === 'Min') {
      const which = op === 'Max' ? 'max' : 'min';
      return [{ shape, exp, exprs: Array.from({ length: size }, (_, o) => extremum(ctx.program, column(o), ctx.node.name, which)) }];
    }
    const sums = Array.from({ length: size }, (_, o) => Expr.sum(column(o).map((e) => [e, 1n])));
    if (op === 'Sum') return [{ shape, exp, exprs: sums }];
    const avg = divideByCounts(sums, sums.map(() => operands.length), exp, ctx.opts, ctx.where);
    return [{ shape, exp: avg.exp, exprs: avg.exprs }];
  },
};

export const reduceOps: OpDef[] = [reduce, variadic];
