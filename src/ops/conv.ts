import type { LowerCtx, OpDef, QTensor, ShapeCtx } from './op.ts';
import { isConst, optionalConst, qInput } from './common.ts';
import { attrInt, attrInts } from '../onnx/graph.ts';
import { sizeOf, type Tensor } from '../onnx/tensor.ts';
import { Expr } from '../ir/expr.ts';
import { constQTensor, liftExp, quantizeTensor, weightExp } from '../quantize/fixed.ts';
import { requantize } from '../quantize/requantize.ts';
import { atMostScale, mul } from './arith.ts';
import { taps, windowOf, type Tap, type Window } from './window.ts';
import { ZkmlError } from '../util/errors.ts';
import { addBias, dot, weights } from './params.ts';

/**
 * Conv (1-D, 2-D, 3-D; pads or auto_pad, strides, dilations, groups including depthwise, optional bias) with
 * constant weights. Every output element is Σ w·x over its window: a linear combination of the input's
 * expressions, so a convolution costs no constraint at all; its accumulator is requantized (and ReLU'd) by
 * whatever nonlinearity follows. Weights are quantized per tensor to weightBits, the bias at the accumulator's
 * exponent (input exponent + weight exponent), so adding it is exact.
 *
 * Computed weights (a graph input or an activation, with a constant or computed bias): see computedWeights.
 * Integer semantics: y = round_half_up((Σ X·W + B·2^(e_x+e_w-e_b)) / 2^(e_x+e_w-s)) with X, W at most at the
 * activation scale s. Error against the float op: 2^-(s+1) for the final rounding, plus |w|·δx + |x|·δw per
 * product for operands requantized to s (2^-(s+1) each). Cost per output element: K products (K = C/group ·
 * kernel size taps inside the input) + (k + b) for the requantization (k = e_x + e_w - s, b the result's width).
 */
interface ConvGeometry {
  N: number;
  C: number;
  M: number;
  group: number;
  window: Window;
  outShape: number[];
}

function geometry(ctx: { node: ShapeCtx['node']; where: string }, x: number[], w: number[]): ConvGeometry {
  const where = ctx.where;
  if (x.length < 3) throw new ZkmlError(`Conv input must be [N, C, spatial...], got [${x}]`, 'E_SHAPE', where);
  if (w.length !== x.length) throw new ZkmlError(`Conv weights [${w}] must have the input's rank ${x.length} ([M, C/group, kernel...])`, 'E_SHAPE', where);
  const [N, C] = x;
  const M = w[0];
  const group = attrInt(ctx.node, 'group', 1);
  if (!Number.isInteger(group) || group < 1 || C % group !== 0 || M % group !== 0 || w[1] * group !== C) {
    throw new ZkmlError(`group ${group} does not fit ${C} input channels, ${M} output channels and weights [${w}]`, 'E_SHAPE', where);
  }
  const kernel = w.slice(2);
  const declared = attrInts(ctx.node, 'kernel_shape');
  if (declared && declared.join() !== kernel.join()) throw new ZkmlError(`kernel_shape [${declared}] differs from the weights' [${kernel}]`, 'E_SHAPE', where);
  const window = windowOf(ctx.node, where, x.slice(2), kernel);
  return { N, C, M, group, window, outShape: [N, M, ...window.output] };
}

/**
 * Visits every product of the convolution: for output element `o`, input element `i` times weight `k`.
 * Shared by constant folding (numbers) and lowering (expressions), so both compute the same thing.
 */
function forEachProduct(g: ConvGeometry, visit: (o: number, i: number, k: number) => void): void {
  const { N, C, M, group, window } = g;
  const Cg = C / group;
  const Mg = M / group;
  const inSize = sizeOf(window.input);
  const outSize = sizeOf(window.output);
  const kSize = sizeOf(window.kernel);
  const windows: Tap[][] = Array.from({ length: outSize }, (_, p) => taps(window, p).filter((t) => t.at >= 0));
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const firstChannel = Math.floor(m / Mg) * Cg;
      for (let p = 0; p < outSize; p++) {
        const o = (n * M + m) * outSize + p;
        for (let c = 0; c < Cg; c++) {
          const inBase = (n * C + firstChannel + c) * inSize;
          const wBase = (m * Cg + c) * kSize;
          for (const t of windows[p]) visit(o, inBase + t.at, wBase + t.k);
        }
      }
    }
  }
}

function biasOf(ctx: { where: string }, b: Tensor | undefined, M: number): Tensor | undefined {
  if (b && b.data.length !== M) throw new ZkmlError(`bias has ${b.data.length} values for ${M} output channels`, 'E_SHAPE', ctx.where);
  return b;
}

/** What the shared fold/lower of a weighted op needs: output channels (bias length) and the output shape. */
export interface WeightedGeometry {
  M: number;
  outShape: number[];
}

/**
 * The OpDef of a linear op with constant weights [and a per-output-channel bias], given its geometry and its
 * products (output o += input i · weight k): Conv here, ConvTranspose in conv-transpose.ts. Constant folding
 * and lowering (weight quantization, parameters, requantization left to the next nonlinearity) are this one code.
 */
export function weightedOp<G extends WeightedGeometry>(
  op: string,
  geometryOf: (ctx: { node: ShapeCtx['node']; where: string }, x: number[], w: number[]) => G,
  products: (g: G, visit: (o: number, i: number, k: number) => void) => void,
): OpDef {
  return {
    ops: [op],
    shapes: (ctx) => [geometryOf(ctx, ctx.shapes[0], ctx.shapes[1]).outShape],
    fold(ctx, [x, w, b]) {
      const g = geometryOf(ctx, x.dims, w.dims);
      const bias = biasOf(ctx, b, g.M);
      const outSize = sizeOf(g.outShape.slice(2));
      const data = Array.from({ length: sizeOf(g.outShape) }, (_, o) => (bias ? bias.data[Math.floor(o / outSize) % g.M] : 0));
      products(g, (o, i, k) => (data[o] += x.data[i] * w.data[k]));
      return [{ dtype: 'float', dims: g.outShape, data }];
    },
    lower(ctx: LowerCtx) {
      const W = ctx.inputs[1];
      if (!isConst(W)) return [computedWeights(ctx, geometryOf, products)];
      const x = qInput(ctx, 0);
      const g = geometryOf(ctx, x.shape, W.tensor.dims);
      const wExp = weightExp(W.tensor.data, ctx.opts.weightBits, ctx.opts.maxWeightExp);
      const w = weights(ctx, 'weight', quantizeTensor(W.tensor, wExp, ctx.where), ctx.opts.weightBits);
      const exp = x.exp + wExp;
      const b = biasOf(ctx, optionalConst(ctx, 2, `${op} bias B`), g.M);
      const bias = b ? weights(ctx, 'bias', quantizeTensor(b, exp, ctx.where)) : undefined;
      // Zero weights drop out as constants; as parameters they stay (the circuit must not depend on values).
      const terms: [Expr, number][][] = Array.from({ length: sizeOf(g.outShape) }, () => []);
      products(g, (o, i, k) => {
        if (w.signals || w.ints[k] !== 0n) terms[o].push([x.exprs[i], k]);
      });
      const outSize = sizeOf(g.outShape.slice(2));
      const exprs = terms.map((t, o) => addBias(dot(ctx, w, t), bias, Math.floor(o / outSize) % g.M));
      return [{ shape: g.outShape, exp, exprs }];
    },
  };
}

/**
 * The op with computed weights (and a constant or computed bias): every product x·w is one constraint (ZkProduct,
 * ops/arith.ts's mul), the operands first brought to at most the activation scale s; the sums, at exponent
 * e_x + e_w, get the bias lifted exactly to that exponent and are requantized back to s (round half up).
 */
function computedWeights<G extends WeightedGeometry>(
  ctx: LowerCtx,
  geometryOf: (ctx: { node: ShapeCtx['node']; where: string }, x: number[], w: number[]) => G,
  products: (g: G, visit: (o: number, i: number, k: number) => void) => void,
): QTensor {
  const x = atMostScale(ctx, qInput(ctx, 0));
  const w = atMostScale(ctx, qInput(ctx, 1));
  const g = geometryOf(ctx, x.shape, w.shape);
  const exp = x.exp + w.exp;
  const terms: [Expr, bigint][][] = Array.from({ length: sizeOf(g.outShape) }, () => []);
  products(g, (o, i, k) => terms[o].push([mul(ctx.program, x.exprs[i], w.exprs[k], ctx.node.name), 1n]));
  const B = ctx.node.inputs[2] ? ctx.inputs[2] : undefined;
  let bias: Expr[] | undefined;
  if (B) {
    const b = isConst(B) ? constQTensor(biasOf(ctx, B.tensor, g.M)!, exp, ctx.where) : liftExp(atMostScale(ctx, B.q), exp);
    if (b.exprs.length !== g.M) throw new ZkmlError(`bias has ${b.exprs.length} values for ${g.M} output channels`, 'E_SHAPE', ctx.where);
    // A bias above the activation scale was requantized to s, itself at most exp: the lift is exact.
    bias = b.exp === exp ? b.exprs : liftExp(b, exp).exprs;
  }
  const outSize = sizeOf(g.outShape.slice(2));
  const exprs = terms.map((t, o) => (bias ? Expr.sum([...t, [bias[Math.floor(o / outSize) % g.M], 1n]]) : Expr.sum(t)));
  return requantize(ctx.program, { shape: g.outShape, exp, exprs }, ctx.opts.scale, false, ctx.node.name);
}

const conv = weightedOp('Conv', geometry, forEachProduct);

export const convOps: OpDef[] = [conv];
