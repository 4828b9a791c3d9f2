import type { LowerCtx, OpDef, QTensor, ShapeCtx } from './op.ts';
import { constInput, isConst, qInput, sameShapes } from './common.ts';
import { spread } from './elementwise.ts';
import { attrFloat, attrInt, attrInts } from '../onnx/graph.ts';
import { normAxis, sizeOf, type Tensor } from '../onnx/tensor.ts';
import { Expr } from '../ir/expr.ts';
import { liftExp, quantizeTensor, toFixed, weightExp } from '../quantize/fixed.ts';
import { atMostScale, mul, multiply, quotientOf, squareRoot } from './arith.ts';
import { absOf } from './compare.ts';
import { reduction } from './reduce.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * BatchNormalization (inference: a per-channel affine map, free) and the normalizations that use the statistics
 * of the tensor itself: LayerNormalization, InstanceNormalization, MeanVarianceNormalization (x − μ)/√(σ² + ε)
 * over groups of elements, and LpNormalization x/‖x‖_p (p = 1, 2).
 *
 * Integer semantics of the statistics (x at exponent e <= s, requantized there first if above; n the group size,
 * S = Σx): D_i = n·x_i − S = n·(x_i − μ) exactly, and since σ² + ε = (n·ΣD² + n⁴·ε)/n⁴,
 *     y_i = (x_i − μ)/√(σ² + ε) = n·D_i / R,   R = floor(√T),  T = 4·(n·ΣD² + E),  E = max(1, round(n⁴·ε·2^(2e)))
 * (T brought to exponent 2s + 2, R at s + 1: ops/arith.ts Sqrt), proven by one ZkSquare per element, one ZkRoot per group and one ZkQuotient
 * per element (rounded to the activation scale); the variance and the reciprocal square root are thus proven,
 * nothing is taken from the prover. E >= 1 keeps R >= 1 for a constant group (ONNX gives 0 there, as here); it
 * moves ε by at most 2^-(2e)/n⁴. LayerNormalization's InvStdDev is n²/R (one more ZkQuotient per group) and its
 * Mean S/n. Then y·γ + β: constants quantized like a weight and a bias, a computed γ one product per element.
 * Error of y: the floor of R (< 1 unit of s + 1, relative 2^-(s+1)/√(σ² + ε)) times |y|, plus the quotient's
 * rounding 2^-(s+1), plus ε's rounding; relative to √(σ² + ε) this is ≈ |y|·2^-(s+1)/√(σ² + ε) + 2^-(s+1).
 * Cost per element: 1 (square) + qBits + 2·(rBits + 1) + 1 (quotient); per group 3·⌈tBits/2⌉ + 3 (root).
 * LpNormalization: ‖x‖₂ = floor(√Σx²) at s + 1 (one ZkSquare per element, one ZkRoot per group), ‖x‖₁ = Σ|x|
 * (one ZkAbs per element whose sign is not known), then one ZkQuotient per element; a zero vector has no witness
 * (0/0 in float).
 */

/** Per-channel y = a·x + b of BatchNormalization (inference): a = γ/√(σ²+ε), b = β − μ·a. */
export function batchNormAffine(scale: Tensor, bias: Tensor, mean: Tensor, variance: Tensor, epsilon: number): { a: number[]; b: number[] } {
  variance.data.forEach((v, c) => {
    if (!(v + epsilon > 0)) throw new ZkmlError(`BatchNormalization variance of channel ${c} is ${v} (with epsilon ${epsilon}): not positive`, 'E_BAD_TENSOR', 'BatchNormalization');
  });
  const a = scale.data.map((g, c) => g / Math.sqrt(variance.data[c] + epsilon));
  const b = bias.data.map((beta, c) => beta - mean.data[c] * a[c]);
  return { a, b };
}

export function batchNormParams(ctx: { where: string; node: { attrs: Map<string, unknown> } } & Parameters<typeof constInput>[0]) {
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => constInput(ctx, i, ['scale', 'B', 'mean', 'var'][i - 1]));
  return batchNormAffine(scale, bias, mean, variance, attrFloat(ctx.node as never, 'epsilon', 1e-5));
}

/**
 * BatchNormalization that could not be folded into a linear layer before it (see compiler/passes/fuse-batchnorm.ts):
 * applied as a per-channel affine map on axis 1, still linear, so still free of constraints.
 */
const batchNorm: OpDef = {
  ops: ['BatchNormalization'],
  shapes(ctx) {
    // Training mode normalizes with the batch's own statistics, not the stored ones (and shapes() runs
    // before BN folding, so this refuses it on every path).
    if (attrInt(ctx.node, 'training_mode', 0) === 1) throw new ZkmlError('BatchNormalization in training mode is a training op (it normalizes with the batch\'s own statistics and outputs updated running statistics), not inference, which is what a zkml circuit proves: export the model in inference mode', 'E_UNSUPPORTED', ctx.where);
    return [ctx.shapes[0]];
  },
  fold(ctx, [x, scale, bias, mean, variance]) {
    const { a, b } = batchNormAffine(scale, bias, mean, variance, attrFloat(ctx.node, 'epsilon', 1e-5));
    const C = x.dims[1] ?? 1;
    if (a.length !== C) throw new ZkmlError(`${a.length} channel parameters for ${C} channels`, 'E_SHAPE', ctx.where);
    const inner = sizeOf(x.dims.slice(2));
    return [{ ...x, data: x.data.map((v, i) => a[Math.floor(i / inner) % C] * v + b[Math.floor(i / inner) % C]) }];
  },
  lower(ctx) {
    if ([1, 2, 3, 4].some((i) => !isConst(ctx.inputs[i]))) return [batchNormComputed(ctx)];
    const x = qInput(ctx, 0);
    const { a, b } = batchNormParams(ctx);
    const C = x.shape[1] ?? 1;
    if (a.length !== C) throw new ZkmlError(`${a.length} channel parameters for ${C} channels`, 'E_SHAPE', ctx.where);
    const exp = weightExp(a, ctx.opts.weightBits, ctx.opts.maxWeightExp);
    const aInts = quantizeTensor({ dtype: 'float', dims: [C], data: a }, exp, ctx.where);
    const bInts = quantizeTensor({ dtype: 'float', dims: [C], data: b }, x.exp + exp, ctx.where);
    const inner = sizeOf(x.shape.slice(2));
    const exprs = x.exprs.map((e, i) => {
      const c = Math.floor(i / inner) % C;
      return e.scale(aInts[c]).addConst(bInts[c]);
    });
    return [{ shape: x.shape, exp: x.exp + exp, exprs }];
  },
};

/**
 * BatchNormalization (inference) with computed statistics or affine parameters (graph inputs, activations):
 * y = γ·(x − μ)/√(σ² + ε) + β per channel (axis 1). x and μ at most at s, their difference exact at the larger
 * exponent; σ² + ε at exponent 2s + 2 (σ² lifted exactly, ε rounded there) and R = floor(√(σ² + ε)) at s + 1
 * (ZkRoot, ops/arith.ts Sqrt), one per channel; the quotient (x − μ)/R rounded to s (ZkQuotient, one per
 * element; a variance with σ² + ε <= 0 has no witness, as float gives NaN); then γ and β as in affine(): a
 * computed γ one product per element (requantized to s), a computed β an exact addition. Error: the floor of R
 * (relative 2^-(s+1)/√(σ² + ε)) times |x − μ|/√(σ² + ε), the quotient's rounding 2^-(s+1), then |γ| times that
 * plus the product's rounding 2^-(s+1), and ε's rounding at 2s + 2. Cost per element: qBits + 2·(rBits + 1) + 1
 * (quotient) [+ 1 product + (k + b) with a computed γ]; per channel 3·⌈tBits/2⌉ + 3 (root).
 */
function batchNormComputed(ctx: LowerCtx): QTensor {
  const x = atMostScale(ctx, qInput(ctx, 0));
  const C = x.shape[1] ?? 1;
  const [, , mean, variance] = [1, 2, 3, 4].map((i) => atMostScale(ctx, qInput(ctx, i)));
  for (const [t, what] of [[mean, 'mean'], [variance, 'var']] as const) {
    if (t.exprs.length !== C) throw new ZkmlError(`BatchNormalization ${what} has ${t.exprs.length} values for ${C} channels`, 'E_SHAPE', ctx.where);
  }
  const inner = sizeOf(x.shape.slice(2));
  const channelOf = (i: number) => Math.floor(i / inner) % C;
  const e = Math.max(x.exp, mean.exp);
  const [X, M] = [liftExp(x, e), liftExp(mean, e)];
  const D = X.exprs.map((v, i) => Expr.sum([[v, 1n], [M.exprs[channelOf(i)], -1n]]));
  const target = 2 * ctx.opts.scale + 2;
  const epsilon = attrFloat(ctx.node, 'epsilon', 1e-5);
  const E = toFixed(epsilon, target, ctx.where);
  const T = liftExp(variance, target);
  const R = squareRoot(ctx, { shape: [C], exp: target, exprs: T.exprs.map((v) => v.add(Expr.constant(E, Math.abs(epsilon * 2 ** target - Number(E))))) });
  const den = { shape: x.shape, exp: R.exp, exprs: D.map((_, i) => R.exprs[channelOf(i)]) };
  const y = quotientOf(ctx, { shape: x.shape, exp: e, exprs: D }, den, x.shape, '√(var + epsilon) of BatchNormalization');
  const channels = (dims: number[]) => {
    if (sizeOf(dims) !== C) throw new ZkmlError(`scale and B must have ${C} elements, got shape [${dims}]`, 'E_SHAPE', ctx.where);
    return [C, ...x.shape.slice(2).map(() => 1)];
  };
  return affine(ctx, y, 1, 2, channels);
}

/** Flat indices of x grouped by the coordinates outside `axes` (row-major inside each group). */
const groupsOver = (shape: number[], axes: number[]): number[][] => reduction(shape, axes, true).groups;

interface Normalized {
  /** (x − μ)/√(σ² + ε) at the activation scale. */
  y: QTensor;
  /** Per group: the sum S at x's exponent, R = floor(√T) at e + 1, and n. */
  stats: { S: Expr; R: Expr; n: number }[];
  exp: number;
  /** Exponent of R. */
  rExp: number;
}

/**
 * A bound on |y_i| = n·|D_i|/R: the D_j sum to 0, so |D_i| <= √((n−1)/n)·‖D‖ (Samuelson's inequality) and
 * n·|D_i| <= √(n−1)·√(n·ΣD²) <= √(n−1)·√T; and R = floor(√T) >= 1 gives √T < R + 1 <= 2R. So |y_i| < 2√(n−1)
 * (and the rounded quotient at most one step more), whatever the intervals of x say: the quotient's range check is
 * sized by it instead of by n·max|D|/min R.
 */
const standardLimit = (groups: number[][]) => 2 * Math.sqrt(Math.max(1, Math.max(...groups.map((g) => g.length)) - 1));

/** The standardization of the header, over each group of flat indices. */
function standardize(ctx: LowerCtx, input: QTensor, groups: number[][], epsilon: number): Normalized {
  const x = atMostScale(ctx, input);
  const e = x.exp;
  const node = ctx.node.name;
  const num: Expr[] = new Array(x.exprs.length);
  const den: Expr[] = new Array(x.exprs.length);
  let rExp = e + 1;
  const stats = groups.map((g) => {
    const n = g.length;
    const S = Expr.sum(g.map((i) => [x.exprs[i], 1n]));
    const D = g.map((i) => Expr.sum([[x.exprs[i], BigInt(n)], [S, -1n]]));
    const sumSq = Expr.sum(D.map((d) => [mul(ctx.program, d, d, node), BigInt(n)]));
    const E = BigInt(Math.max(1, Math.round(n ** 4 * epsilon * 2 ** (2 * e))));
    if (!Number.isSafeInteger(Number(E))) throw new ZkmlError(`epsilon ${epsilon} is too large for ${n}-element groups`, 'E_ATTR', ctx.where);
    const T: QTensor = { shape: [1], exp: 2 * e, exprs: [sumSq.addConst(E)] };
    const root = squareRoot(ctx, T);
    const R = root.exprs[0];
    rExp = root.exp;
    g.forEach((i, k) => {
      num[i] = D[k].scale(BigInt(n));
      den[i] = R;
    });
    return { S, R, n };
  });
  const y = quotientOf(ctx, { shape: x.shape, exp: e, exprs: num }, { shape: x.shape, exp: rExp, exprs: den }, x.shape, 'standard deviation', standardLimit(groups));
  return { y, stats, exp: e, rExp };
}

/**
 * y·γ + β, γ and β broadcast to y by `view` (a shape they broadcast from numpy-style). Constants are quantized
 * like a weight and a bias (free); a computed γ is one product per element (ops/arith.ts, requantized to the
 * scale) and a computed β an exact addition at the common exponent.
 */
function affine(ctx: LowerCtx, y: QTensor, gammaAt: number, betaAt: number | undefined, view: (dims: number[]) => number[]): QTensor {
  const g = ctx.inputs[gammaAt];
  const bIn = betaAt === undefined ? undefined : ctx.inputs[betaAt];
  let out: QTensor;
  if (isConst(g)) {
    const exp = weightExp(g.tensor.data, ctx.opts.weightBits, ctx.opts.maxWeightExp);
    const ints = quantizeTensor(g.tensor, exp, ctx.where);
    const spreadG = spread({ shape: view(g.tensor.dims), exp, exprs: ints.map((c) => Expr.constant(c)) }, y.shape);
    out = { shape: y.shape, exp: y.exp + exp, exprs: y.exprs.map((e, i) => e.scale(spreadG[i].c)) };
  } else {
    const gq = qInput(ctx, gammaAt);
    out = multiply(ctx, y, { ...gq, shape: view(gq.shape) }, y.shape);
  }
  if (!bIn) return out;
  if (isConst(bIn)) {
    const ints = quantizeTensor(bIn.tensor, out.exp, ctx.where);
    const spreadB = spread({ shape: view(bIn.tensor.dims), exp: out.exp, exprs: ints.map((c) => Expr.constant(c)) }, y.shape);
    return { ...out, exprs: out.exprs.map((e, i) => e.add(spreadB[i])) };
  }
  const bq = qInput(ctx, betaAt!);
  const exp = Math.max(out.exp, bq.exp);
  const spreadB = spread(liftExp({ ...bq, shape: view(bq.shape) }, exp), y.shape);
  return { shape: y.shape, exp, exprs: liftExp(out, exp).exprs.map((e, i) => e.add(spreadB[i])) };
}

const present = (ctx: LowerCtx | ShapeCtx, i: number) => ctx.node.inputs[i] !== undefined && ctx.node.inputs[i] !== '';

/** LayerNormalization (opset 17): over the axes from `axis` on; outputs Y, Mean, InvStdDev. */
const layerNorm: OpDef = {
  ops: ['LayerNormalization'],
  shapes(ctx) {
    const shape = ctx.shapes[0];
    const axis = normAxis(attrInt(ctx.node, 'axis', -1), shape.length, ctx.where);
    const stat = shape.map((d, i) => (i < axis ? d : 1));
    return [shape, stat, stat];
  },
  lower(ctx) {
    const x = qInput(ctx, 0);
    const axis = normAxis(attrInt(ctx.node, 'axis', -1), x.shape.length, ctx.where);
    const axes = x.shape.map((_, i) => i).filter((i) => i >= axis);
    const inner = sizeOf(x.shape.slice(axis));
    const { y, stats, exp, rExp } = standardize(ctx, x, groupsOver(x.shape, axes), attrFloat(ctx.node, 'epsilon', 1e-5));
    // Scale and B broadcast against the normalized dimensions (numpy, from the right).
    const out = affine(ctx, y, 1, present(ctx, 2) ? 2 : undefined, (dims) => dims);
    const statShape = ctx.outShapes[1] ?? x.shape.map((d, i) => (i < axis ? d : 1));
    // Mean = S/n (n need not be a power of two: 1/n quantized at weightBits), InvStdDev = n²/R.
    const n = stats[0]?.n ?? 1;
    const m = weightExp([1 / n], ctx.opts.weightBits, ctx.opts.maxWeightExp);
    const inv = toFixed(1 / n, m, ctx.where);
    const mean: QTensor = { shape: statShape, exp: exp + m, exprs: stats.map((st) => st.S.scale(inv)) };
    const wantsInv = ctx.node.outputs.length > 2 && ctx.node.outputs[2] !== '';
    const invStd = wantsInv
      ? quotientOf(ctx, { shape: statShape, exp: 0, exprs: stats.map((st) => Expr.constant(BigInt(st.n) ** 2n)) }, { shape: statShape, exp: rExp, exprs: stats.map((st) => st.R) }, statShape, 'standard deviation')
      : { shape: statShape, exp: 0, exprs: stats.map(() => Expr.constant(0n)) };
    return [out, mean, invStd].slice(0, Math.max(1, ctx.node.outputs.length));
  },
};

/** InstanceNormalization: per (batch, channel) over the spatial axes, scale and B per channel. */
const instanceNorm: OpDef = {
  ops: ['InstanceNormalization'],
  shapes: sameShapes,
  lower(ctx) {
    const x = qInput(ctx, 0);
    if (x.shape.length < 3) throw new ZkmlError(`InstanceNormalization needs [N, C, D1, ...], got [${x.shape}]`, 'E_SHAPE', ctx.where);
    const axes = x.shape.map((_, i) => i).filter((i) => i >= 2);
    const { y } = standardize(ctx, x, groupsOver(x.shape, axes), attrFloat(ctx.node, 'epsilon', 1e-5));
    const C = x.shape[1];
    const channels = (dims: number[]) => {
      if (sizeOf(dims) !== C) throw new ZkmlError(`scale and B must have ${C} elements, got shape [${dims}]`, 'E_SHAPE', ctx.where);
      return [C, ...x.shape.slice(2).map(() => 1)];
    };
    return [affine(ctx, y, 1, 2, channels)];
  },
};

const mvn: OpDef = {
  ops: ['MeanVarianceNormalization'],
  shapes: sameShapes,
  lower(ctx) {
    const x = qInput(ctx, 0);
    const axes = (attrInts(ctx.node, 'axes') ?? [0, 2, 3]).map((a) => normAxis(a, x.shape.length, ctx.where));
    return [standardize(ctx, x, groupsOver(x.shape, axes), 1e-9).y];
  },
};

/** LpNormalization: x/‖x‖_p along `axis`, p = 1 or 2. */
const lpNorm: OpDef = {
  ops: ['LpNormalization'],
  shapes: sameShapes,
  lower(ctx) {
    const x = atMostScale(ctx, qInput(ctx, 0));
    const p = attrInt(ctx.node, 'p', 2);
    if (p !== 1 && p !== 2) throw new ZkmlError(`LpNormalization with p = ${p}: only p = 1 and p = 2 are defined`, 'E_ATTR', ctx.where);
    const axis = normAxis(attrInt(ctx.node, 'axis', -1), x.shape.length, ctx.where);
    const node = ctx.node.name;
    const den: Expr[] = new Array(x.exprs.length);
    let denExp = x.exp;
    for (const g of groupsOver(x.shape, [axis])) {
      let norm: Expr;
      if (p === 1) norm = Expr.sum(g.map((i) => [absOf(ctx.program, x.exprs[i], node), 1n]));
      else {
        const ss = Expr.sum(g.map((i) => [mul(ctx.program, x.exprs[i], x.exprs[i], node), 1n]));
        const r = squareRoot(ctx, { shape: [1], exp: 2 * x.exp, exprs: [ss] });
        norm = r.exprs[0];
        denExp = r.exp;
      }
      for (const i of g) den[i] = norm;
    }
    return [quotientOf(ctx, x, { shape: x.shape, exp: denExp, exprs: den }, x.shape, `the L${p} norm`)];
  },
};

export const normalizationOps: OpDef[] = [batchNorm, layerNorm, instanceNorm, mvn, lpNorm];
