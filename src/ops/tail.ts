import type { LowerCtx, OpDef, QTensor, ShapeCtx } from './op.ts';
import { constInput, qInput, sameShapes } from './common.ts';
import { attrFloat, attrInt } from '../onnx/graph.ts';
import { DTYPE_NAMES, normAxis, sizeOf, strides, type Tensor } from '../onnx/tensor.ts';
import { Expr } from '../ir/expr.ts';
import { oneHot } from '../gadgets/onehot.ts';
import { argExtremum, compare, nonNegative, times } from './compare.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * Small ops of the ONNX long tail. Integer semantics, error and cost per element (X the input's integer at
 * exponent e, value X·2^-e; w the signed width of the compared difference's interval):
 *
 * - Size: the element count, a constant (folds from the shape). Free, exact.
 * - EyeLike: the constant identity (shifted by k) of the input's 2-D shape (folds from the shape). Free, exact.
 * - IsInf, IsNaN: every value of a finite-field circuit is finite: constant false. Free, exact.
 * - CastLike to a float type (the type of a constant input 1; a computed one's type is unknown to zkml): the
 *   identity, as Cast to float (the fixed-point value is exact in every float type's range zkml handles). Free.
 * - CumSum (constant axis; exclusive, reverse): prefix sums, linear. Free, exact.
 * - Hardmax (axis): the one-hot of the first maximum along the axis: ArgMax's chain (n - 1 comparisons and
 *   n - 1 products, ops/compare.ts argExtremum) and one ZkOneHot of n (n constraints). Exact (0 and 1).
 * - ThresholdedRelu(α): X·[X > α·2^e], the comparison against the largest grid value not above α:
 *   w constraints for the sign test, one product. Exact on the grid.
 * - Shrink(λ, bias): (X - B)·[X > λ·2^e] + (X + B)·[X < -λ·2^e], B = bias at exponent e (rounded, error
 *   2^-(e+1) where bias is off the grid): two sign tests (2w) and two products.
 * - TopK (constant k, along an axis; largest or smallest): k passes of a bubble sort with strict swaps (stable,
 *   so among equal values the lower index comes first, as onnxruntime does), each compare-swap one ZkMax
 *   (w constraints; the smaller value is a + b - max, linear) and one product to carry the index (free while
 *   both indices are still constants). Values exact; indices exact integers. Cost: k·(n - (k+1)/2) compare-swaps
 *   per slice.
 */

const size: OpDef = {
  ops: ['Size'],
  foldsFromShapes: true,
  shapes: () => [[]],
  fold: (ctx) => [{ dtype: 'int64', dims: [], data: [sizeOf(ctx.shapes[0])] }],
};

function eye(ctx: ShapeCtx): Tensor {
  const s = ctx.shapes[0];
  if (s.length !== 2) throw new ZkmlError(`EyeLike needs a 2-D input, got shape [${s}]`, 'E_SHAPE', ctx.where);
  const k = attrInt(ctx.node, 'k', 0);
  const dt = attrInt(ctx.node, 'dtype');
  const data = Array.from({ length: s[0] * s[1] }, (_, i) => (i % s[1] === Math.floor(i / s[1]) + k ? 1 : 0));
  return { dtype: dt !== undefined ? (DTYPE_NAMES[dt] ?? 'float') : 'float', dims: s, data };
}

const eyeLike: OpDef = { ops: ['EyeLike'], foldsFromShapes: true, shapes: (ctx) => [ctx.shapes[0]], fold: (ctx) => [eye(ctx)] };

const isInfNan: OpDef = {
  ops: ['IsInf', 'IsNaN'],
  shapes: sameShapes,
  fold(ctx, [x]) {
    const neg = attrInt(ctx.node, 'detect_negative', 1) === 1;
    const pos = attrInt(ctx.node, 'detect_positive', 1) === 1;
    const test = ctx.node.opType === 'IsNaN' ? Number.isNaN : (v: number) => (v === Infinity && pos) || (v === -Infinity && neg);
    return [{ dtype: 'bool', dims: x.dims, data: x.data.map((v) => (test(v) ? 1 : 0)) }];
  },
  lower(ctx) {
    const x = qInput(ctx, 0);
    return [{ shape: x.shape, exp: 0, exprs: x.exprs.map(() => Expr.constant(0n)) }];
  },
};

/** Flat indices of every 1-D slice along `axis` of `shape`, each in order along the axis. */
function slices(shape: number[], axis: number): number[][] {
  const st = strides(shape);
  const out: number[][] = [];
  for (let flat = 0; flat < sizeOf(shape); flat++) {
    if (Math.floor(flat / st[axis]) % shape[axis] !== 0) continue;
    out.push(Array.from({ length: shape[axis] }, (_, j) => flat + j * st[axis]));
  }
  return out;
}

const cumsumAxis = (ctx: ShapeCtx | LowerCtx, rank: number) => {
  const computed = 'inputs' in ctx ? ctx.inputs[1] !== undefined && !isConstInput(ctx.inputs[1]) : ctx.consts?.[1] === undefined;
  if (computed) {
    throw new ZkmlError('CumSum axis (input 1) is computed, but the axis decides which elements each output sums, the wiring of the circuit: it must be a constant', 'E_UNSUPPORTED', ctx.where);
  }
  return normAxis(constInput(ctx, 1, 'CumSum axis').data[0], rank, ctx.where);
};

/** Prefix sums of `values` along each slice (generic over numbers and expressions). */
function cumulate<T>(ctx: ShapeCtx | LowerCtx, shape: number[], values: T[], add: (a: T, b: T) => T, zero: T): T[] {
  const exclusive = attrInt(ctx.node, 'exclusive', 0) === 1;
  const reverse = attrInt(ctx.node, 'reverse', 0) === 1;
  const out = [...values];
  for (const sl of slices(shape, cumsumAxis(ctx, shape.length))) {
    const order = reverse ? [...sl].reverse() : sl;
    let acc = zero;
    for (const i of order) {
      const next = add(acc, values[i]);
      out[i] = exclusive ? acc : next;
      acc = next;
    }
  }
  return out;
}

const cumsum: OpDef = {
  ops: ['CumSum'],
  shapes: sameShapes,
  fold: (ctx, [x]) => [{ ...x, data: cumulate(ctx, x.dims, x.data, (a, b) => a + b, 0) }],
  lower(ctx) {
    const x = qInput(ctx, 0);
    return [{ ...x, exprs: cumulate(ctx, x.shape, x.exprs, (a, b) => a.add(b), Expr.constant(0n)) }];
  },
};

const hardmaxAxis = (ctx: ShapeCtx | LowerCtx, rank: number) => normAxis(attrInt(ctx.node, 'axis', ctx.opset >= 13 ? -1 : 1), rank, ctx.where);

const hardmax: OpDef = {
  ops: ['Hardmax'],
  shapes: sameShapes,
  fold(ctx, [x]) {
    if (ctx.opset < 13) throw new ZkmlError('Hardmax before opset 13 (coerced to 2-D) is not supported', 'E_UNSUPPORTED', ctx.where);
    const data = x.data.map(() => 0);
    for (const sl of slices(x.dims, hardmaxAxis(ctx, x.dims.length))) {
      let best = sl[0];
      for (const i of sl) if (x.data[i] > x.data[best]) best = i;
      data[best] = 1;
    }
    return [{ ...x, data }];
  },
  lower(ctx) {
    if (ctx.opset < 13) throw new ZkmlError('Hardmax before opset 13 (coerced to 2-D) is not supported', 'E_UNSUPPORTED', ctx.where);
    const x = qInput(ctx, 0);
    const exprs = x.exprs.map(() => Expr.constant(0n));
    for (const sl of slices(x.shape, hardmaxAxis(ctx, x.shape.length))) {
      if (sl.length === 1) {
        exprs[sl[0]] = Expr.constant(1n);
        continue;
      }
      const idx = argExtremum(ctx.program, sl.map((i) => x.exprs[i]), ctx.node.name, 'max', false);
      if (idx.isConstant) {
        exprs[sl[Number(idx.c)]] = Expr.constant(1n);
        continue;
      }
      const hot = ctx.program.apply(oneHot(sl.length), { n: sl.length }, [idx], ctx.node.name);
      sl.forEach((i, j) => (exprs[i] = hot[j]));
    }
    return [{ shape: x.shape, exp: 0, exprs }];
  },
};

/** [X > c] for a real threshold c at exponent e: X >= floor(c·2^e) + 1. */
function above(ctx: LowerCtx, e: Expr, c: number, exp: number): Expr {
  return nonNegative(ctx.program, e.addConst(-(BigInt(Math.floor(c * 2 ** exp)) + 1n)), ctx.node.name);
}

/** [X < c]: -X > -c. */
const below = (ctx: LowerCtx, e: Expr, c: number, exp: number) => above(ctx, e.scale(-1n), -c, exp);

const thresholdedRelu: OpDef = {
  ops: ['ThresholdedRelu'],
  shapes: sameShapes,
  fold(ctx, [x]) {
    const a = attrFloat(ctx.node, 'alpha', 1);
    return [{ ...x, data: x.data.map((v) => (v > a ? v : 0)) }];
  },
  lower(ctx) {
    const x = qInput(ctx, 0);
    const a = attrFloat(ctx.node, 'alpha', 1);
    return [{ ...x, exprs: x.exprs.map((e) => times(ctx.program, e, above(ctx, e, a, x.exp), ctx.node.name)) }];
  },
};

const shrink: OpDef = {
  ops: ['Shrink'],
  shapes: sameShapes,
  fold(ctx, [x]) {
    const l = attrFloat(ctx.node, 'lambd', 0.5);
    const b = attrFloat(ctx.node, 'bias', 0);
    return [{ ...x, data: x.data.map((v) => (v < -l ? v + b : v > l ? v - b : 0)) }];
  },
  lower(ctx) {
    const x = qInput(ctx, 0);
    const l = attrFloat(ctx.node, 'lambd', 0.5);
    const B = BigInt(Math.round(attrFloat(ctx.node, 'bias', 0) * 2 ** x.exp));
    const node = ctx.node.name;
    const exprs = x.exprs.map((e) =>
      times(ctx.program, e.addConst(-B), above(ctx, e, l, x.exp), node).add(times(ctx.program, e.addConst(B), below(ctx, e, -l, x.exp), node)),
    );
    return [{ ...x, exprs }];
  },
};

function topKGeometry(ctx: ShapeCtx | LowerCtx, shape: number[]): { axis: number; k: number; outShape: number[] } {
  const axis = normAxis(attrInt(ctx.node, 'axis', -1), shape.length, ctx.where);
  const k = ctx.opset >= 10 ? constInput(ctx, 1, 'TopK k').data[0] : attrInt(ctx.node, 'k', 1);
  if (!Number.isInteger(k) || k < 0 || k > shape[axis]) throw new ZkmlError(`TopK k = ${k} is not in [0, ${shape[axis]}]`, 'E_BAD_TENSOR', ctx.where);
  return { axis, k, outShape: shape.map((d, i) => (i === axis ? k : d)) };
}

/** Values and indices of the top k of one slice (generic: numbers for the fold, expressions for the circuit). */
function topKSlice<T>(values: T[], k: number, swap: (a: [T, T], b: [T, T]) => [[T, T], [T, T]], label: (i: number) => T): [T, T][] {
  const v: [T, T][] = values.map((x, i) => [x, label(i)]);
  for (let j = 0; j < k; j++) for (let i = v.length - 1; i > j; i--) [v[i - 1], v[i]] = swap(v[i - 1], v[i]);
  return v.slice(0, k);
}

/** The output slices of `outShape` along axis, paired with the input's. */
function topKRun<T>(ctx: ShapeCtx | LowerCtx, shape: number[], data: T[], swap: (a: [T, T], b: [T, T]) => [[T, T], [T, T]], label: (i: number) => T): { values: T[]; indices: T[]; outShape: number[] } {
  const { axis, k, outShape } = topKGeometry(ctx, shape);
  const inSlices = slices(shape, axis);
  const outSlices = slices(outShape, axis);
  const values = new Array<T>(sizeOf(outShape));
  const indices = new Array<T>(sizeOf(outShape));
  inSlices.forEach((sl, s) => {
    const top = topKSlice(sl.map((i) => data[i]), k, swap, label);
    outSlices[s]?.forEach((o, j) => ([values[o], indices[o]] = top[j]));
  });
  return { values, indices, outShape };
}

const largestOf = (ctx: ShapeCtx | LowerCtx) => attrInt(ctx.node, 'largest', 1) === 1;

const topK: OpDef = {
  ops: ['TopK'],
  shapes(ctx) {
    const { outShape } = topKGeometry(ctx, ctx.shapes[0]);
    return [outShape, outShape];
  },
  fold(ctx, [x]) {
    const sign = largestOf(ctx) ? 1 : -1;
    const swap = (a: [number, number], b: [number, number]): [[number, number], [number, number]] => (sign * b[0] > sign * a[0] ? [b, a] : [a, b]);
    const r = topKRun(ctx, x.dims, x.data, swap, (i) => i);
    return [
      { dtype: x.dtype, dims: r.outShape, data: r.values },
      { dtype: 'int64', dims: r.outShape, data: r.indices },
    ];
  },
  lower(ctx) {
    const x = qInput(ctx, 0);
    const sign = largestOf(ctx) ? 1n : -1n;
    const node = ctx.node.name;
    const program = ctx.program;
    // Compare-swap keeping a first unless b is strictly greater: [a >= b] on the signed values.
    const swap = (a: [Expr, Expr], b: [Expr, Expr]): [[Expr, Expr], [Expr, Expr]] => {
      const c = compare(program, a[0].scale(sign), b[0].scale(sign), node);
      const front = c.max.scale(sign);
      const back = Expr.sum([[a[0], 1n], [b[0], 1n], [front, -1n]]);
      const di = Expr.sum([[a[1], 1n], [b[1], -1n]]);
      const frontIdx = b[1].add(times(program, c.ge, di, node));
      const backIdx = Expr.sum([[a[1], 1n], [b[1], 1n], [frontIdx, -1n]]);
      return [
        [front, frontIdx],
        [back, backIdx],
      ];
    };
    const r = topKRun(ctx, x.shape, x.exprs, swap, (i) => Expr.constant(BigInt(i)));
    const values: QTensor = { shape: r.outShape, exp: x.exp, exprs: r.values };
    return [values, { shape: r.outShape, exp: 0, exprs: r.indices }];
  },
};

const FLOAT_TYPES = new Set(['float', 'double', 'float16', 'bfloat16']);

/** CastLike's target type: the element type of input 1, which zkml knows only for a constant. */
function castLikeType(ctx: ShapeCtx | LowerCtx): string {
  // A computed `like` still has the element type the model declares (a graph input's): its values are unused.
  const declared = 'inputTypes' in ctx ? ctx.inputTypes?.[1] : undefined;
  const dtype = declared !== undefined && 'inputs' in ctx && !isConstInput(ctx.inputs[1]) ? declared : undefined;
  if (dtype === undefined && 'inputs' in ctx && ctx.inputs[1] !== undefined && !isConstInput(ctx.inputs[1])) {
    throw new ZkmlError('CastLike target_type (input 1) is a computed tensor whose element type the model does not state (only a graph input\'s or a constant\'s is known): the type decides the circuit', 'E_UNSUPPORTED', ctx.where);
  }
  const t = dtype ?? constInput(ctx, 1, 'CastLike target_type').dtype;
  if (!FLOAT_TYPES.has(t)) {
    throw new ZkmlError(`CastLike to element type ${t} is not supported (only to float types)`, 'E_UNSUPPORTED', ctx.where);
  }
  return t;
}

const isConstInput = (v: { kind: string } | undefined) => v?.kind === 'const';

const castLike: OpDef = {
  ops: ['CastLike'],
  shapes: sameShapes,
  fold(ctx, [x]) {
    const dtype = castLikeType(ctx);
    return [{ dtype, dims: x.dims, data: dtype === 'float' ? x.data.map(Math.fround) : x.data }];
  },
  lower(ctx) {
    castLikeType(ctx);
    return [qInput(ctx, 0)];
  },
};

export const tailOps: OpDef[] = [size, eyeLike, isInfNan, cumsum, hardmax, thresholdedRelu, shrink, topK, castLike];
