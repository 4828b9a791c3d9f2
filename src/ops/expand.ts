import type { OpDef, ShapeCtx } from './op.ts';
import { constInput } from './common.ts';
import { attrInt, attrInts } from '../onnx/graph.ts';
import { broadcastIndexer, broadcastShapes, normAxis, sizeOf, strides, type Tensor } from '../onnx/tensor.ts';
import { coordsOf, dataOp, dataOpN, flatOf, type Mapping } from './shape.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * Shape-building and copying ops: Expand, Tile, Split, Trilu (data movement of a computed tensor), and
 * ConstantOfShape, Range (constants, folded). Integer semantics: every output element is an input element's
 * expression or the constant 0 (Trilu) — exactly the float op, error bound 0, cost 0 constraints per element.
 * Shapes, repeats, splits and k must be constants (shape inference needs them); a computed one is refused.
 */

/** Expand: numpy (bidirectional) broadcast of the input to the constant shape. */
function expandMap(ctx: ShapeCtx): Mapping {
  const s = ctx.shapes[0];
  const shape = broadcastShapes(s, constInput(ctx, 1, 'Expand shape').data, ctx.where);
  const index = broadcastIndexer(shape, s);
  return { shape, source: (flat) => ({ input: 0, index: index(flat) }) };
}

/** Tile: output dim d is input dim d times repeats[d]; coordinate c reads c mod the input's dim. */
function tileMap(ctx: ShapeCtx): Mapping {
  const s = ctx.shapes[0];
  const repeats = constInput(ctx, 1, 'Tile repeats').data;
  if (repeats.length !== s.length || repeats.some((r) => !Number.isInteger(r) || r < 0)) {
    throw new ZkmlError(`Tile repeats [${repeats}] must be ${s.length} non-negative integers (one per axis of input [${s}])`, 'E_SHAPE', ctx.where);
  }
  const shape = s.map((d, i) => d * repeats[i]);
  const inStrides = strides(s);
  const outStrides = strides(shape);
  return { shape, source: (flat) => ({ input: 0, index: flatOf(coordsOf(flat, shape, outStrides).map((c, i) => c % s[i]), inStrides) }) };
}

/** Trilu: keeps the upper (j - i >= k) or lower (j - i <= k) triangle of the last two axes, zero elsewhere. */
function triluMap(ctx: ShapeCtx): Mapping {
  const shape = ctx.shapes[0];
  if (shape.length < 2) throw new ZkmlError(`Trilu input must have rank >= 2, got [${shape}]`, 'E_SHAPE', ctx.where);
  const k = ctx.node.inputs[1] ? constInput(ctx, 1, 'Trilu k').data[0] : 0;
  const upper = attrInt(ctx.node, 'upper', 1) === 1;
  const [rows, cols] = shape.slice(-2);
  return {
    shape,
    source(index) {
      const i = Math.floor(index / cols) % rows;
      const j = index % cols;
      return (upper ? j - i >= k : j - i <= k) ? { input: 0, index } : { constant: 0 };
    },
  };
}

/** Split sizes: the `split` input (opset 13+) or attribute, else `num_outputs` (opset 18) or the output count. */
function splitSizes(ctx: ShapeCtx, dim: number): number[] {
  const given = ctx.opset >= 13 ? (ctx.node.inputs[1] ? constInput(ctx, 1, 'Split split').data : undefined) : attrInts(ctx.node, 'split');
  const n = ctx.node.outputs.length;
  if (given) {
    if (given.length !== n || given.some((g) => g < 0) || given.reduce((a, b) => a + b, 0) !== dim) {
      throw new ZkmlError(`split [${given}] must be ${n} non-negative sizes summing to the axis size ${dim}`, 'E_SHAPE', ctx.where);
    }
    return given;
  }
  const parts = attrInt(ctx.node, 'num_outputs') ?? n;
  if (parts !== n) throw new ZkmlError(`num_outputs ${parts} differs from the node's ${n} outputs`, 'E_GRAPH', ctx.where);
  // Opset 18: the last chunk may be smaller (ceil-sized chunks); before, the axis must divide evenly.
  const chunk = Math.ceil(dim / n);
  if (ctx.opset < 18 && dim % n !== 0) throw new ZkmlError(`axis size ${dim} does not split into ${n} equal parts`, 'E_SHAPE', ctx.where);
  return Array.from({ length: n }, (_, i) => Math.max(0, Math.min(chunk, dim - i * chunk)));
}

function splitMaps(ctx: ShapeCtx): Mapping[] {
  const s = ctx.shapes[0];
  const axis = normAxis(attrInt(ctx.node, 'axis', 0), s.length, ctx.where);
  const inStrides = strides(s);
  let start = 0;
  return splitSizes(ctx, s[axis]).map((size) => {
    const begin = start;
    start += size;
    const shape = s.map((d, i) => (i === axis ? size : d));
    const outStrides = strides(shape);
    return {
      shape,
      source(flat) {
        const c = coordsOf(flat, shape, outStrides);
        c[axis] += begin;
        return { input: 0, index: flatOf(c, inStrides) };
      },
    };
  });
}

/** ConstantOfShape's fill value: the `value` attribute (a one-element tensor), default float 0. */
function fillValue(ctx: ShapeCtx): Tensor {
  const v = ctx.node.attrs.get('value') as Tensor | undefined;
  if (v && v.data.length !== 1) throw new ZkmlError(`ConstantOfShape value must have one element, got ${v.data.length}`, 'E_ATTR', ctx.where);
  return v ?? { dtype: 'float', dims: [1], data: [0] };
}

const shapeSpec = (ctx: ShapeCtx) => {
  const dims = constInput(ctx, 0, 'ConstantOfShape shape').data;
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new ZkmlError(`ConstantOfShape shape [${dims}] must be non-negative integers`, 'E_SHAPE', ctx.where);
  return dims;
};

const constantOfShape: OpDef = {
  ops: ['ConstantOfShape'],
  shapes: (ctx) => [shapeSpec(ctx)],
  fold(ctx) {
    const dims = shapeSpec(ctx);
    const v = fillValue(ctx);
    return [{ dtype: v.dtype, dims, data: new Array(sizeOf(dims)).fill(v.data[0]) }];
  },
};

/** Range's length, max(ceil((limit - start) / delta), 0): it depends on the values, so they must be constant. */
function rangeOf(ctx: ShapeCtx) {
  const computed = [0, 1, 2].find((i) => !ctx.consts[i]);
  if (computed !== undefined) {
    throw new ZkmlError(`Range of a computed ${['start', 'limit', 'delta'][computed]} (input ${computed}) is not supported: its output shape depends on the values (start, limit and delta must be constants)`, 'E_UNSUPPORTED', ctx.where);
  }
  const [start, limit, delta] = ctx.consts.map((t) => t!.data[0]);
  if (delta === 0) throw new ZkmlError('Range delta must not be 0', 'E_BAD_TENSOR', ctx.where);
  return { start, delta, n: Math.max(Math.ceil((limit - start) / delta), 0) };
}

const range: OpDef = {
  ops: ['Range'],
  shapes: (ctx) => [[rangeOf(ctx).n]],
  fold(ctx, [start]) {
    const r = rangeOf(ctx);
    const round = start.dtype === 'float' ? Math.fround : (x: number) => x;
    return [{ dtype: start.dtype, dims: [r.n], data: Array.from({ length: r.n }, (_, i) => round(r.start + i * r.delta)) }];
  },
};

export const expandOps: OpDef[] = [
  dataOp(['Expand'], expandMap),
  dataOp(['Tile'], tileMap),
  dataOp(['Trilu'], triluMap),
  dataOpN(['Split'], splitMaps),
  constantOfShape,
  range,
];
