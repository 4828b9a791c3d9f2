import type { OpDef, ShapeCtx } from './op.ts';
import { constInput, qInput } from './common.ts';
import { linearMap } from './params.ts';
import { attrInt, attrString } from '../onnx/graph.ts';
import { normAxis, sizeOf, strides, type Tensor } from '../onnx/tensor.ts';
import { coordsOf, dataOp, flatOf, shapeCtxOf, type Mapping, type Source } from './shape.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * Indexing with constant indices: GatherElements, GatherND, ScatterND, ScatterElements (and its opset-9 name
 * Scatter), OneHot; NonZero on a constant. Integer semantics: each output element is one input element's
 * expression (or OneHot's off/on value) chosen at compile time — exactly the float op, error bound 0, cost 0
 * constraints per element. A scatter with reduction "add" sums, also free; "mul" by constant updates scales each
 * element by a constant quantized like a weight (error: its rounding times the element). A computed index
 * tensor would need a proven selection per element: it is refused (constInput names the node, op and input),
 * as is NonZero of a computed tensor (its output shape depends on the values). Scatter reductions max and min, and "mul" by computed updates, are refused.
 */

/** An index into an axis of size `dim`, negative counting from the end, with a clear error out of range. */
function indexInto(ctx: ShapeCtx, what: string, k: number, dim: number): number {
  const i = k < 0 ? k + dim : k;
  if (!Number.isInteger(i) || i < 0 || i >= dim) throw new ZkmlError(`${what} index ${k} is out of range for an axis of size ${dim} (expected ${-dim}..${dim - 1})`, 'E_BAD_TENSOR', ctx.where);
  return i;
}

/** GatherElements: out[c] = data[c with c[axis] = indices[c]]; the output has the indices' shape. */
function gatherElementsMap(ctx: ShapeCtx): Mapping {
  const s = ctx.shapes[0];
  const indices = constInput(ctx, 1, 'GatherElements indices');
  const axis = normAxis(attrInt(ctx.node, 'axis', 0), s.length, ctx.where);
  if (indices.dims.length !== s.length) throw new ZkmlError(`indices [${indices.dims}] must have the data's rank ${s.length} (data [${s}])`, 'E_SHAPE', ctx.where);
  const shape = indices.dims;
  const st = strides(shape);
  const inStrides = strides(s);
  return {
    shape,
    source(flat) {
      const c = coordsOf(flat, shape, st);
      c[axis] = indexInto(ctx, 'GatherElements', indices.data[flat], s[axis]);
      return { input: 0, index: flatOf(c, inStrides) };
    },
  };
}

/**
 * GatherND/ScatterND geometry: indices [...prefix, k] address data's first batch_dims + k axes; each index tuple
 * selects a slice of the remaining `slice` elements. Returns the data flat offset of tuple `t` (its prefix
 * coordinates included for the batch axes).
 */
function ndTuples(ctx: ShapeCtx, op: string, s: number[], indices: Tensor, batchDims: number) {
  const k = indices.dims.at(-1) ?? 0;
  const prefix = indices.dims.slice(0, -1);
  if (indices.dims.length < 1 || k < 1 || batchDims + k > s.length) {
    throw new ZkmlError(`${op} indices [${indices.dims}] must end in a tuple length 1..${s.length - batchDims} for data [${s}] (batch_dims ${batchDims})`, 'E_SHAPE', ctx.where);
  }
  for (let b = 0; b < batchDims; b++) {
    if (prefix[b] !== s[b]) throw new ZkmlError(`${op} batch axis ${b}: indices have ${prefix[b]}, data ${s[b]}`, 'E_SHAPE', ctx.where);
  }
  const inStrides = strides(s);
  const prefixStrides = strides(prefix);
  const slice = sizeOf(s.slice(batchDims + k));
  const offset = (t: number) => {
    const batch = coordsOf(t, prefix, prefixStrides).slice(0, batchDims);
    const tuple = indices.data.slice(t * k, t * k + k).map((x, j) => indexInto(ctx, op, x, s[batchDims + j]));
    return flatOf([...batch, ...tuple], inStrides);
  };
  return { k, prefix, slice, offset };
}

function gatherNDMap(ctx: ShapeCtx): Mapping {
  const s = ctx.shapes[0];
  const batchDims = attrInt(ctx.node, 'batch_dims', 0);
  const { k, prefix, slice, offset } = ndTuples(ctx, 'GatherND', s, constInput(ctx, 1, 'GatherND indices'), batchDims);
  return { shape: [...prefix, ...s.slice(batchDims + k)], source: (flat) => ({ input: 0, index: offset(Math.floor(flat / slice)) + (flat % slice) }) };
}

type Writes = [to: number, from: number][];

/**
 * Scatter reductions: "none" (later writes win), "add" (a sum: still linear) and "mul" with constant updates (a
 * constant factor per element: a linear map); max and min are refused.
 */
function reductionOf(ctx: ShapeCtx): 'none' | 'add' | 'mul' {
  const reduction = attrString(ctx.node, 'reduction', 'none');
  if (reduction !== 'none' && reduction !== 'add' && reduction !== 'mul') {
    throw new ZkmlError(`${ctx.node.opType} reduction "${reduction}" is not supported (only "none", "add" and "mul": the others are not linear)`, 'E_UNSUPPORTED', ctx.where);
  }
  return reduction;
}

/**
 * A scatter as a mapping: data (input 0) everywhere except the written positions, which read updates (input 2):
 * the last update written there ("none", as the reference does: duplicates have no defined order in ONNX), or
 * the data plus every update written there ("add").
 */
function scatterMap(ctx: ShapeCtx, shape: number[], writes: Writes): Mapping {
  const add = reductionOf(ctx) === 'add';
  const written = new Map<number, number[]>();
  for (const [to, from] of writes) written.set(to, add ? [...(written.get(to) ?? []), from] : [from]);
  return {
    shape,
    source(index): Source {
      const from = written.get(index);
      if (!from) return { input: 0, index };
      const updates = from.map((i) => ({ input: 2, index: i }));
      return add ? { sum: [{ input: 0, index }, ...updates] } : updates[0];
    },
  };
}

/** reduction "mul": each data element times the product of the (constant) updates written to it. */
function scatterFactors(size: number, writes: Writes, updates: number[]): number[] {
  const factor = new Array(size).fill(1);
  for (const [to, from] of writes) factor[to] *= updates[from];
  return factor;
}

/**
 * A scatter op from its write list (output position ← update position): wiring for "none" and "add"; for
 * "mul" with constant updates, a linear map with one constant coefficient per element (quantized like weights).
 * Computed updates under "mul" would multiply two activations: refused.
 */
function scatterOp(ops: string[], writesOf: (ctx: ShapeCtx) => Writes): OpDef {
  const wiring = dataOp(ops, (ctx) => scatterMap(ctx, ctx.shapes[0], writesOf(ctx)), [0, 2]);
  return {
    ...wiring,
    fold(ctx, inputs) {
      if (reductionOf(ctx) !== 'mul') return wiring.fold!(ctx, inputs);
      const factor = scatterFactors(inputs[0].data.length, writesOf(ctx), inputs[2].data);
      return [{ ...inputs[0], data: inputs[0].data.map((v, i) => v * factor[i]) }];
    },
    lower(ctx) {
      const shapeCtx = shapeCtxOf(ctx);
      if (reductionOf(shapeCtx) !== 'mul') return wiring.lower!(ctx);
      const updates = constInput(ctx, 2, `${ctx.node.opType} updates (reduction "mul")`);
      const x = qInput(ctx, 0);
      const factor = scatterFactors(x.exprs.length, writesOf(shapeCtx), updates.data);
      return [linearMap(ctx, x, x.shape, factor.map((f, i) => new Map([[i, f]])))];
    },
  };
}

function scatterNDWrites(ctx: ShapeCtx): Writes {
  const s = ctx.shapes[0];
  const { k, prefix, slice, offset } = ndTuples(ctx, 'ScatterND', s, constInput(ctx, 1, 'ScatterND indices'), 0);
  const expected = [...prefix, ...s.slice(k)];
  if (ctx.shapes[2].join() !== expected.join()) throw new ZkmlError(`ScatterND updates have shape [${ctx.shapes[2]}], expected [${expected}]`, 'E_SHAPE', ctx.where);
  const writes: Writes = [];
  for (let t = 0; t < sizeOf(prefix); t++) for (let j = 0; j < slice; j++) writes.push([offset(t) + j, t * slice + j]);
  return writes;
}

function scatterElementsWrites(ctx: ShapeCtx): Writes {
  const s = ctx.shapes[0];
  const indices = constInput(ctx, 1, `${ctx.node.opType} indices`);
  const axis = normAxis(attrInt(ctx.node, 'axis', 0), s.length, ctx.where);
  if (ctx.shapes[2].join() !== indices.dims.join() || indices.dims.length !== s.length) {
    throw new ZkmlError(`updates [${ctx.shapes[2]}] and indices [${indices.dims}] must have one shape, of the data's rank ${s.length}`, 'E_SHAPE', ctx.where);
  }
  const st = strides(indices.dims);
  const inStrides = strides(s);
  const writes: Writes = [];
  for (let p = 0; p < indices.data.length; p++) {
    const c = coordsOf(p, indices.dims, st);
    c[axis] = indexInto(ctx, ctx.node.opType, indices.data[p], s[axis]);
    writes.push([flatOf(c, inStrides), p]);
  }
  return writes;
}

/**
 * OneHot: indices (input 0, constant) get a new axis of size depth; the element at the index reads values[1]
 * (on), the others values[0] (off). Negative indices count from depth; out-of-range ones give an all-off row.
 */
function oneHotMap(ctx: ShapeCtx): Mapping {
  const indices = constInput(ctx, 0, 'OneHot indices');
  const depth = constInput(ctx, 1, 'OneHot depth').data[0];
  if (!Number.isInteger(depth) || depth < 1) throw new ZkmlError(`OneHot depth must be a positive integer, got ${depth}`, 'E_BAD_TENSOR', ctx.where);
  if (sizeOf(ctx.shapes[2]) !== 2) throw new ZkmlError(`OneHot values must be [off, on], got shape [${ctx.shapes[2]}]`, 'E_SHAPE', ctx.where);
  const rank = indices.dims.length + 1;
  const axis = normAxis(attrInt(ctx.node, 'axis', -1), rank, ctx.where);
  const shape = [...indices.dims.slice(0, axis), depth, ...indices.dims.slice(axis)];
  const st = strides(shape);
  const idxStrides = strides(indices.dims);
  return {
    shape,
    source(flat) {
      const c = coordsOf(flat, shape, st);
      const [at] = c.splice(axis, 1);
      let k = indices.data[flatOf(c, idxStrides)];
      if (k < 0) k += depth;
      return { input: 2, index: k === at ? 1 : 0 };
    },
  };
}

/** NonZero: the coordinates of the nonzero elements, [rank, count]; the count is data-dependent. */
function nonZeroOf(ctx: ShapeCtx): Tensor {
  const x = ctx.consts[0];
  if (!x) {
    throw new ZkmlError("NonZero of a computed tensor is not supported: its output shape depends on the input's values (input 0 must be a constant)", 'E_UNSUPPORTED', ctx.where);
  }
  const st = strides(x.dims);
  const hits = x.data.flatMap((v, i) => (v !== 0 ? [coordsOf(i, x.dims, st)] : []));
  const rank = x.dims.length;
  return { dtype: 'int64', dims: [rank, hits.length], data: Array.from({ length: rank * hits.length }, (_, i) => hits[i % hits.length][Math.floor(i / hits.length)]) };
}

const nonZero: OpDef = {
  ops: ['NonZero'],
  shapes: (ctx) => [nonZeroOf(ctx).dims],
  fold: (ctx) => [nonZeroOf(ctx)],
};

export const indexingOps: OpDef[] = [
  dataOp(['GatherElements'], gatherElementsMap),
  dataOp(['GatherND'], gatherNDMap),
  scatterOp(['ScatterND'], scatterNDWrites),
  scatterOp(['ScatterElements', 'Scatter'], scatterElementsWrites),
  dataOp(['OneHot'], oneHotMap, [2]),
  nonZero,
];
