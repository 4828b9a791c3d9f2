import type { LowerCtx, OpDef, QTensor } from './op.ts';
import { qInput } from './common.ts';
import { attrInt, attrInts } from '../onnx/graph.ts';
import { sizeOf } from '../onnx/tensor.ts';
import { Expr } from '../ir/expr.ts';
import { ceilModeOf, taps, tapsInsidePads, windowOf, type Window } from './window.ts';
import { extremum } from './compare.ts';
import { divideByCounts } from './reduce.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool over any number of spatial dimensions.
 * - Max: a chain of comparisons per window (n - 1 ZkMax gadgets for n elements). Padding never wins: padded
 *   positions are simply left out of the window, which is what -inf padding means.
 * - Average: one sum per window (free), then one division: folded into the exponent when every window has
 *   the same power-of-two count, else a multiplication by 1/n quantized to weightBits (still free: a constant).
 *   count_include_pad decides whether padded positions count in n.
 * Where MaxPool follows a ReLU, onnx/reorder.ts may run it before the ReLU (same integers, fewer constraints).
 */
interface PoolGeometry {
  window: Window;
  planes: number;
  outShape: number[];
}

function geometry(ctx: { node: LowerCtx['node']; where: string }, x: number[]): PoolGeometry {
  if (x.length < 3) throw new ZkmlError(`${ctx.node.opType} input must be [N, C, spatial...], got [${x}]`, 'E_SHAPE', ctx.where);
  const spatial = x.slice(2);
  let window: Window;
  if (ctx.node.opType.startsWith('Global')) {
    window = { input: spatial, output: spatial.map(() => 1), kernel: spatial, strides: spatial.map(() => 1), dilations: spatial.map(() => 1), padsBegin: spatial.map(() => 0), padsEnd: spatial.map(() => 0) };
  } else {
    const kernel = attrInts(ctx.node, 'kernel_shape');
    if (!kernel) throw new ZkmlError(`${ctx.node.opType} needs kernel_shape`, 'E_ATTR', ctx.where);
    window = windowOf(ctx.node, ctx.where, spatial, kernel, ceilModeOf(ctx.node));
  }
  return { window, planes: x[0] * x[1], outShape: [x[0], x[1], ...window.output] };
}

/** For every output element, the flat input indices its window reads (padding left out), and its divisor. */
function windows(ctx: { node: LowerCtx['node']; where: string }, g: PoolGeometry): { inputs: number[][]; counts: number[] } {
  const inSize = sizeOf(g.window.input);
  const outSize = sizeOf(g.window.output);
  const perPosition = Array.from({ length: outSize }, (_, p) => taps(g.window, p).filter((t) => t.at >= 0).map((t) => t.at));
  if (perPosition.some((w) => w.length === 0)) throw new ZkmlError('a pooling window covers only padding', 'E_SHAPE', ctx.where);
  const includePad = ctx.node.opType === 'AveragePool' && attrInt(ctx.node, 'count_include_pad', 0) === 1;
  const perCount = perPosition.map((w, p) => (includePad ? tapsInsidePads(g.window, p) : w.length));
  const inputs: number[][] = [];
  const counts: number[] = [];
  for (let plane = 0; plane < g.planes; plane++) {
    for (let p = 0; p < outSize; p++) {
      inputs.push(perPosition[p].map((at) => plane * inSize + at));
      counts.push(perCount[p]);
    }
  }
  return { inputs, counts };
}

const isMax = (op: string) => op === 'MaxPool' || op === 'GlobalMaxPool';

const pool: OpDef = {
  ops: ['MaxPool', 'AveragePool', 'GlobalMaxPool', 'GlobalAveragePool'],
  shapes(ctx) {
    const { outShape } = geometry(ctx, ctx.shapes[0]);
    // MaxPool's optional Indices output has the same shape; lowering refuses it with a clear error.
    return ctx.node.outputs[1] ? [outShape, outShape] : [outShape];
  },
  fold(ctx, [x]) {
    const g = geometry(ctx, x.dims);
    const { inputs, counts } = windows(ctx, g);
    const data = inputs.map((w, o) => (isMax(ctx.node.opType) ? Math.max(...w.map((i) => x.data[i])) : w.reduce((s, i) => s + x.data[i], 0) / counts[o]));
    return [{ dtype: 'float', dims: g.outShape, data }];
  },
  lower(ctx): QTensor[] {
    if (ctx.node.outputs[1]) throw new ZkmlError('MaxPool\'s second output (Indices) is not supported', 'E_UNSUPPORTED', ctx.where);
    const x = qInput(ctx, 0);
    const g = geometry(ctx, x.shape);
    const { inputs, counts } = windows(ctx, g);
    if (isMax(ctx.node.opType)) {
      const exprs = inputs.map((w) => extremum(ctx.program, w.map((i) => x.exprs[i]), ctx.node.name, 'max'));
      return [{ shape: g.outShape, exp: x.exp, exprs }];
    }
    const sums: Expr[] = inputs.map((w) => Expr.sum(w.map((i) => [x.exprs[i], 1n])));
    const avg = divideByCounts(sums, counts, x.exp, ctx.opts, ctx.where);
    return [{ shape: g.outShape, exp: avg.exp, exprs: avg.exprs }];
  },
};

export const poolOps: OpDef[] = [pool];
