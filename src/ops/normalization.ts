import type { OpDef } from './op.ts';
import { constInput, qInput, sameShapes } from './common.ts';
import { attrFloat, attrInt } from '../onnx/graph.ts';
import { sizeOf, type Tensor } from '../onnx/tensor.ts';
import { quantizeTensor, weightExp } from '../quantize/fixed.ts';
import { ZkmlError } from '../util/errors.ts';

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
 * BatchNormalization that could not be folded into a linear layer before it (see onnx/fuse.ts): applied as a
 * per-channel affine map on axis 1, still linear, so still free of constraints.
 */
const batchNorm: OpDef = {
  ops: ['BatchNormalization'],
  shapes(ctx) {
    // Training mode normalizes with the batch's own statistics, not the stored ones (and shapes() runs
    // before BN folding, so this refuses it on every path).
    if (attrInt(ctx.node, 'training_mode', 0) === 1) throw new ZkmlError('BatchNormalization in training mode is not supported: export the model in inference mode', 'E_UNSUPPORTED', ctx.where);
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

export const normalizationOps: OpDef[] = [batchNorm];
