import type { LowerCtx, OpDef, QTensor } from './op.ts';
import { qInput } from './common.ts';
import { attrInt, attrInts } from '../onnx/graph.ts';
import { sizeOf } from '../onnx/tensor.ts';
import { Expr } from '../ir/expr.ts';
import { ceilModeOf, taps, tapsInsidePads, windowOf, type Window } from './window.ts';
import { argExtremum, extremum } from './compare.ts';
import { divideByCounts } from './reduce.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool over any number of spatial dimensions.
 * - Max: a chain of comparisons per window (n - 1 ZkMax gadgets for n elements). Padding never wins: padded
 *   positions are simply left out of the window, which is what -inf padding means.
 * - Average: one sum per window (free), then one division: folded into the exponent when every window has
 *   the same power-of-two count, else a multiplication by 1/n quantized to weightBits (still free: a constant).
 *   count_include_pad decides whether padded positions count in n.
 * - MaxPool's second output, Indices: for each window the flat index (over N, C and the spatial dims, row-major
 *   with storage_order 0, the spatial dims column-major with 1) of its first maximum in the window's scan order,
 *   onnxruntime's tie rule; an integer tensor (exponent 0) from the argmax chain of ops/compare.ts (n - 1 more
 *   comparisons and n - 1 products per window of n taps, beside the max's own n - 1 comparisons).
 * Where MaxPool follows a ReLU, compiler/passes/reorder-pools.ts may run it before the ReLU (same integers, fewer
 * constraints).
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

/** The Indices value of a flat input index (plane·inSize + row-major spatial offset) under storage_order. */
function indexLabel(spatial: number[], columnMajor: boolean, flat: number): bigint {
  if (!columnMajor) return BigInt(flat);
  const inSize = sizeOf(spatial);
  let rest = flat % inSize;
  const coords = spatial.map(() => 0);
  for (let d = spatial.length - 1; d >= 0; d--) {
    coords[d] = rest % spatial[d];
    rest = Math.floor(rest / spatial[d]);
  }
  let index = 0;
  for (let d = spatial.length - 1; d >= 0; d--) index = index * spatial[d] + coords[d];
  return BigInt(flat - (flat % inSize) + index);
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
    // MaxPool's optional Indices output has the same shape.
    return ctx.node.outputs[1] ? [outShape, outShape] : [outShape];
  },
  fold(ctx, [x]) {
    const g = geometry(ctx, x.dims);
    const { inputs, counts } = windows(ctx, g);
    const data = inputs.map((w, o) => (isMax(ctx.node.opType) ? Math.max(...w.map((i) => x.data[i])) : w.reduce((s, i) => s + x.data[i], 0) / counts[o]));
    if (!ctx.node.outputs[1]) return [{ dtype: 'float', dims: g.outShape, data }];
    const columnMajor = attrInt(ctx.node, 'storage_order', 0) === 1;
    // The first maximum in scan order (a strict > replaces it), as onnxruntime.
    const first = (w: number[]) => w.reduce((best, i) => (x.data[i] > x.data[best] ? i : best), w[0]);
    const indices = inputs.map((w) => Number(indexLabel(g.window.input, columnMajor, first(w))));
    return [{ dtype: 'float', dims: g.outShape, data }, { dtype: 'int64', dims: g.outShape, data: indices }];
  },
  lower(ctx): QTensor[] {
    const x = qInput(ctx, 0);
    const g = geometry(ctx, x.shape);
    const { inputs, counts } = windows(ctx, g);
    if (isMax(ctx.node.opType)) {
      const exprs = inputs.map((w) => extremum(ctx.program, w.map((i) => x.exprs[i]), ctx.node.name, 'max'));
      const values: QTensor = { shape: g.outShape, exp: x.exp, exprs };
      if (!ctx.node.outputs[1]) return [values];
      const columnMajor = attrInt(ctx.node, 'storage_order', 0) === 1;
      const indices = inputs.map((w) => argExtremum(ctx.program, w.map((i) => x.exprs[i]), ctx.node.name, 'max', false, w.map((i) => indexLabel(g.window.input, columnMajor, i))));
      return [values, { shape: g.outShape, exp: 0, exprs: indices }];
    }
    const sums: Expr[] = inputs.map((w) => Expr.sum(w.map((i) => [x.exprs[i], 1n])));
    const avg = divideByCounts(sums, counts, x.exp, ctx.opts, ctx.where);
    return [{ shape: g.outShape, exp: avg.exp, exprs: avg.exprs }];
  },
};

export const poolOps: OpDef[] = [pool];
