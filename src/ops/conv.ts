import type { LowerCtx, OpDef, ShapeCtx } from './op.ts';
import { isConst, optionalConst, qInput } from './common.ts';
import { attrInt, attrInts } from '../onnx/graph.ts';
import { sizeOf, type Tensor } from '../onnx/tensor.ts';
import { Expr } from '../ir/expr.ts';
import { quantizeTensor, weightExp } from '../quantize/fixed.ts';
import { taps, windowOf, type Tap, type Window } from './window.ts';
import { ZkmlError } from '../util/errors.ts';
import { addBias, dot, weights } from './params.ts';

/**
 * Conv (1-D, 2-D, 3-D; pads or auto_pad, strides, dilations, groups including depthwise, optional bias) with
 * constant weights. Every output element is Σ w·x over its window: a linear combination of the input's
 * expressions, so a convolution costs no constraint at all; its accumulator is requantized (and ReLU'd) by
 * whatever nonlinearity follows. Weights are quantized per tensor to weightBits, the bias at the accumulator's
 * exponent (input exponent + weight exponent), so adding it is exact.
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
      if (!isConst(W)) throw new ZkmlError(`${op} weights must be constant (an initializer or folded from constants); computed weights are not supported`, 'E_UNSUPPORTED', ctx.where);
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

const conv = weightedOp('Conv', geometry, forEachProduct);

export const convOps: OpDef[] = [conv];
