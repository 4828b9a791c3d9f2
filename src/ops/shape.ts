import type { LowerCtx, OpDef, QTensor, ShapeCtx } from './op.ts';
import { constInput, isConst } from './common.ts';
import { attrInt, attrInts, attrString, attrFloat } from '../onnx/graph.ts';
import { DTYPE_NAMES, isIntegerType, normAxis, sizeOf, strides, type Tensor } from '../onnx/tensor.ts';
import { Expr } from '../ir/expr.ts';
import { liftExp, toFixed } from '../quantize/fixed.ts';
import { ZkmlError } from '../util/errors.ts';
import { lowerRounding, negate } from './rounding.ts';
import { nonNegative, times, zeroTest } from './compare.ts';

/**
 * Data movement: each output element is an element of some input, or a constant (padding). One description,
 * `Mapping`, serves both constant folding (on numbers) and lowering (on expressions), so these ops cost no
 * constraint and have one definition each.
 */
type Element = { input: number; index: number };
/** An input element, a constant, or (ScatterND/ScatterElements with reduction "add") a sum of input elements. */
export type Source = Element | { constant: number } | { sum: Element[] };
export interface Mapping {
  shape: number[];
  source(flat: number): Source;
}

export type MapFn = (ctx: ShapeCtx) => Mapping;

export const identityMap = (shape: number[]): Mapping => ({ shape, source: (index) => ({ input: 0, index }) });

function apply<T>(map: Mapping, values: (s: Element) => T, constant: (c: number) => T, add: (a: T, b: T) => T): T[] {
  return Array.from({ length: sizeOf(map.shape) }, (_, i) => {
    const s = map.source(i);
    if ('constant' in s) return constant(s.constant);
    if ('sum' in s) return s.sum.map(values).reduce(add);
    return values(s);
  });
}

/** The coordinates of row-major flat index `flat` in `shape` (whose strides are `st`). */
export const coordsOf = (flat: number, shape: number[], st = strides(shape)) => shape.map((d, i) => Math.floor(flat / st[i]) % d);
/** The row-major flat index of coordinates in a tensor with strides `st`. */
export const flatOf = (coords: number[], st: number[]) => coords.reduce((a, c, i) => a + c * st[i], 0);

/** The shape view of a lowering context: what `shapes`, and the mappings, read. */
export function shapeCtxOf(ctx: LowerCtx): ShapeCtx {
  const consts = ctx.inputs.map((v) => (isConst(v) ? v.tensor : undefined));
  const shapes = ctx.inputs.map((v) => (v ? (isConst(v) ? v.tensor.dims : v.q.shape) : []));
  return { node: ctx.node, opset: ctx.opset, where: ctx.where, shapes, consts };
}

/** Builds an OpDef from a mapping function. */
export function dataOp(ops: string[], mapping: MapFn, which: number[] | 'all' = [0]): OpDef {
  return dataOpN(ops, (ctx) => [mapping(ctx)], which);
}

/**
 * Builds an OpDef with one output per mapping (Split). `which` lists the data inputs (the others are shapes,
 * indices or axes); the folded tensors carry the first data input's element type.
 */
export function dataOpN(ops: string[], mappings: (ctx: ShapeCtx) => Mapping[], which: number[] | 'all' = [0]): OpDef {
  const dataInputsOf = (n: { inputs: string[] }) => (which === 'all' ? n.inputs.map((_, i) => i) : which);
  return {
    ops,
    shapes: (ctx) => mappings(ctx).map((m) => m.shape),
    fold(ctx, inputs) {
      return mappings(ctx).map((map) => {
        const data = apply(map, (s) => inputs[s.input].data[s.index], (c) => c, (a, b) => a + b);
        return { dtype: inputs[dataInputsOf(ctx.node)[0]]?.dtype ?? 'float', dims: map.shape, data };
      });
    },
    lower(ctx: LowerCtx): QTensor[] {
      const shapeCtx = shapeCtxOf(ctx);
      const dataInputs = dataInputsOf(ctx.node);
      // Common exponent of the computed data inputs; constant data inputs are quantized at it.
      const exps = dataInputs.map((i) => ctx.inputs[i]).filter((v) => v && !isConst(v)).map((v) => (v as { q: QTensor }).q.exp);
      const exp = exps.length ? Math.max(...exps) : ctx.opts.scale;
      const data = dataInputs.map((i) => {
        const v = ctx.inputs[i];
        if (!v) return [] as Expr[];
        if (isConst(v)) return v.tensor.data.map((x) => Expr.constant(toFixed(x, exp, ctx.where)));
        return liftExp(v.q, exp).exprs;
      });
      const slot = new Map(dataInputs.map((input, k) => [input, k]));
      return mappings(shapeCtx).map((map) => {
        const exprs = apply(map, (s) => data[slot.get(s.input)!][s.index], (c) => Expr.constant(toFixed(c, exp, ctx.where)), (a, b) => a.add(b));
        return { shape: map.shape, exp, exprs };
      });
    },
  };
}

/** Axes given as an attribute (older opsets) or as a constant input (newer ones). */
export function axesOf(ctx: ShapeCtx, inputIndex: number): number[] | undefined {
  const attr = attrInts(ctx.node, 'axes');
  if (attr) return attr;
  if (ctx.node.inputs[inputIndex]) return constInput(ctx, inputIndex, 'axes').data;
  return undefined;
}

const reshapeMap: MapFn = (ctx) => {
  const input = ctx.shapes[0];
  const spec = constInput(ctx, 1, 'Reshape shape').data;
  const allowZero = attrInt(ctx.node, 'allowzero', 0) === 1;
  const shape = spec.map((d, i) => (d === 0 && !allowZero ? input[i] : d));
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const total = sizeOf(input);
  const inferred = shape.map((d) => (d === -1 ? total / known : d));
  if (shape.filter((d) => d === -1).length > 1 || sizeOf(inferred) !== total || inferred.some((d) => !Number.isInteger(d))) {
    throw new ZkmlError(`cannot reshape [${input}] (${total} elements) to [${spec}]`, 'E_SHAPE', ctx.where);
  }
  return identityMap(inferred);
};

const flattenMap: MapFn = (ctx) => {
  const s = ctx.shapes[0];
  const axis = attrInt(ctx.node, 'axis', 1);
  const a = axis < 0 ? axis + s.length : axis;
  return identityMap([sizeOf(s.slice(0, a)), sizeOf(s.slice(a))]);
};

const squeezeMap: MapFn = (ctx) => {
  const s = ctx.shapes[0];
  const axes = axesOf(ctx, 1)?.map((a) => normAxis(a, s.length, ctx.where));
  if (axes) for (const a of axes) if (s[a] !== 1) throw new ZkmlError(`cannot squeeze axis ${a} of size ${s[a]}`, 'E_SHAPE', ctx.where);
  return identityMap(s.filter((d, i) => (axes ? !axes.includes(i) : d !== 1)));
};

const unsqueezeMap: MapFn = (ctx) => {
  const s = ctx.shapes[0];
  const axes = axesOf(ctx, 1);
  if (!axes) throw new ZkmlError('Unsqueeze needs axes', 'E_ATTR', ctx.where);
  const rank = s.length + axes.length;
  const norm = axes.map((a) => normAxis(a, rank, ctx.where)).sort((a, b) => a - b);
  const out = s.slice();
  for (const a of norm) out.splice(a, 0, 1);
  return identityMap(out);
};

const transposeMap: MapFn = (ctx) => {
  const s = ctx.shapes[0];
  const perm = attrInts(ctx.node, 'perm') ?? s.map((_, i) => s.length - 1 - i);
  const shape = perm.map((p) => s[p]);
  const inStrides = strides(s);
  const outStrides = strides(shape);
  return {
    shape,
    source(flat) {
      let index = 0;
      for (let d = 0; d < shape.length; d++) index += (Math.floor(flat / outStrides[d]) % shape[d]) * inStrides[perm[d]];
      return { input: 0, index };
    },
  };
};

const concatMap: MapFn = (ctx) => {
  const shapes = ctx.shapes;
  if (shapes.length === 0 || ctx.node.inputs.some((i) => i === '')) throw new ZkmlError(`Concat takes one or more inputs, none empty; got [${ctx.node.inputs.map((i) => JSON.stringify(i))}]`, 'E_GRAPH', ctx.where);
  const axis = normAxis(attrInt(ctx.node, 'axis', 0), shapes[0].length, ctx.where);
  shapes.forEach((s, k) => {
    if (s.length !== shapes[0].length || s.some((d, i) => i !== axis && d !== shapes[0][i])) {
      throw new ZkmlError(`input ${k} has shape [${s}]; every input must match input 0's [${shapes[0]}] except along axis ${axis}`, 'E_SHAPE', ctx.where);
    }
  });
  const shape = shapes[0].slice();
  shape[axis] = shapes.reduce((a, s) => a + s[axis], 0);
  const outStrides = strides(shape);
  const starts: number[] = [];
  shapes.reduce((acc, s) => (starts.push(acc), acc + s[axis]), 0);
  return {
    shape,
    source(flat) {
      const coords = shape.map((d, i) => Math.floor(flat / outStrides[i]) % d);
      let input = starts.length - 1;
      while (starts[input] > coords[axis]) input--;
      coords[axis] -= starts[input];
      const st = strides(shapes[input]);
      return { input, index: coords.reduce((a, c, i) => a + c * st[i], 0) };
    },
  };
};

const sliceMap: MapFn = (ctx) => {
  const s = ctx.shapes[0];
  const fromAttrs = ctx.opset < 10;
  const starts = fromAttrs ? attrInts(ctx.node, 'starts')! : constInput(ctx, 1, 'starts').data;
  const ends = fromAttrs ? attrInts(ctx.node, 'ends')! : constInput(ctx, 2, 'ends').data;
  const axes = (fromAttrs ? attrInts(ctx.node, 'axes') : ctx.node.inputs[3] ? constInput(ctx, 3, 'axes').data : undefined) ?? starts.map((_, i) => i);
  const steps = (!fromAttrs && ctx.node.inputs[4] ? constInput(ctx, 4, 'steps').data : undefined) ?? starts.map(() => 1);
  const begin = s.map(() => 0);
  const step = s.map(() => 1);
  const shape = s.slice();
  axes.forEach((ax, i) => {
    const a = normAxis(ax, s.length, ctx.where);
    const d = s[a];
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    const st = steps[i];
    let b = starts[i] < 0 ? starts[i] + d : starts[i];
    let e = ends[i] < 0 ? ends[i] + d : ends[i];
    b = st > 0 ? clamp(b, 0, d) : clamp(b, 0, d - 1);
    e = st > 0 ? clamp(e, 0, d) : clamp(e, -1, d - 1);
    begin[a] = b;
    step[a] = st;
    shape[a] = Math.max(0, Math.ceil((e - b) / st));
  });
  const inStrides = strides(s);
  const outStrides = strides(shape);
  return {
    shape,
    source(flat) {
      let index = 0;
      for (let d = 0; d < shape.length; d++) index += (begin[d] + (Math.floor(flat / outStrides[d]) % shape[d]) * step[d]) * inStrides[d];
      return { input: 0, index };
    },
  };
};

const gatherMap: MapFn = (ctx) => {
  const s = ctx.shapes[0];
  const indices = constInput(ctx, 1, 'Gather indices');
  const axis = normAxis(attrInt(ctx.node, 'axis', 0), s.length, ctx.where);
  const shape = [...s.slice(0, axis), ...indices.dims, ...s.slice(axis + 1)];
  const inStrides = strides(s);
  const outStrides = strides(shape);
  const inner = sizeOf(s.slice(axis + 1));
  return {
    shape,
    source(flat) {
      const coords = shape.map((d, i) => Math.floor(flat / outStrides[i]) % d);
      const outer = coords.slice(0, axis);
      const idxCoords = coords.slice(axis, axis + indices.dims.length);
      const rest = flat % inner;
      let k = indices.data[idxCoords.reduce((a, c, i) => a * indices.dims[i] + c, 0)];
      if (k < 0) k += s[axis];
      if (k < 0 || k >= s[axis]) throw new ZkmlError(`index ${k} out of range for axis of size ${s[axis]}`, 'E_BAD_TENSOR', ctx.where);
      return { input: 0, index: outer.reduce((a, c, i) => a + c * inStrides[i], 0) + k * inStrides[axis] + rest };
    },
  };
};

const padMap: MapFn = (ctx) => {
  const s = ctx.shapes[0];
  const mode = attrString(ctx.node, 'mode', 'constant');
  if (mode !== 'constant' && mode !== 'reflect' && mode !== 'edge' && mode !== 'wrap') {
    throw new ZkmlError(`Pad mode "${mode}" is not supported (constant, reflect, edge and wrap are)`, 'E_UNSUPPORTED', ctx.where);
  }
  const pads = ctx.opset < 11 ? attrInts(ctx.node, 'pads')! : constInput(ctx, 1, 'pads').data;
  const value = ctx.opset < 11 ? attrFloat(ctx.node, 'value', 0) : ctx.node.inputs[2] ? constInput(ctx, 2, 'constant_value').data[0] : 0;
  const axes = ctx.opset >= 18 && ctx.node.inputs[3] ? constInput(ctx, 3, 'axes').data.map((a) => normAxis(a, s.length, ctx.where)) : s.map((_, i) => i);
  const before = s.map(() => 0);
  const after = s.map(() => 0);
  axes.forEach((a, i) => {
    before[a] = pads[i];
    after[a] = pads[i + axes.length];
  });
  const shape = s.map((d, i) => d + before[i] + after[i]);
  if (mode !== 'constant') {
    s.forEach((d, i) => {
      if ((before[i] > 0 || after[i] > 0) && d === 0) throw new ZkmlError(`Pad mode "${mode}" of an empty axis ${i}`, 'E_SHAPE', ctx.where);
      if (mode === 'reflect' && (before[i] > d - 1 || after[i] > d - 1) && (before[i] > 0 || after[i] > 0)) {
        throw new ZkmlError(`Pad mode "reflect" pads axis ${i} of size ${d} by [${before[i]}, ${after[i]}]: at most ${d - 1} on each side`, 'E_SHAPE', ctx.where);
      }
    });
  }
  // Coordinate c (possibly outside [0, n)) of the input that an output coordinate copies, by mode: all static
  // wiring, no constraint.
  const fetch = (c: number, n: number): number | undefined => {
    if (c >= 0 && c < n) return c;
    if (mode === 'edge') return c < 0 ? 0 : n - 1;
    if (mode === 'wrap') return ((c % n) + n) % n;
    if (mode === 'reflect') return c < 0 ? -c : 2 * (n - 1) - c;
    return undefined;
  };
  const inStrides = strides(s);
  const outStrides = strides(shape);
  return {
    shape,
    source(flat) {
      let index = 0;
      for (let d = 0; d < shape.length; d++) {
        const c = fetch((Math.floor(flat / outStrides[d]) % shape[d]) - before[d], s[d]);
        if (c === undefined) return { constant: value };
        index += c * inStrides[d];
      }
      return { input: 0, index };
    },
  };
};

/** Widths of the integer types a Cast wraps to (two's complement); int64 values are JS numbers, left whole. */
const WRAP: Record<string, [bits: number, signed: boolean]> = {
  int8: [8, true], uint8: [8, false], int16: [16, true], uint16: [16, false], int32: [32, true], uint32: [32, false],
};

/**
 * One element cast as onnxruntime does it: to bool, nonzero is 1; to an integer type, truncation toward zero,
 * then wrapping to the type's width (what an integer-to-integer cast does; a float out of the type's range has no
 * defined result in ONNX); to float, rounding to float32. The folded tensor carries the target type, which
 * later readers rely on (e.g. a QuantizeLinear zero point's type sets the output range).
 */
function castTo(dtype: string): (v: number) => number {
  if (dtype === 'bool') return (v) => (v !== 0 ? 1 : 0);
  if (dtype === 'float') return Math.fround;
  if (!isIntegerType(dtype)) return (v) => v;
  const wrap = WRAP[dtype];
  return (v) => {
    const t = Math.trunc(v);
    if (!wrap) return t;
    const [bits, signed] = wrap;
    const m = 2 ** bits;
    const u = ((t % m) + m) % m;
    return signed && u >= m / 2 ? u - m : u;
  };
}

const castOp: OpDef = {
  ...dataOp(['Cast'], (ctx) => identityMap(ctx.shapes[0])),
  fold(ctx, [x]) {
    const to = attrInt(ctx.node, 'to', 1);
    const dtype = DTYPE_NAMES[to];
    if (!dtype || dtype === 'string') throw new ZkmlError(`Cast to element type ${dtype ?? to} is not supported`, 'E_UNSUPPORTED', ctx.where);
    return [{ dtype, dims: x.dims, data: x.data.map(castTo(dtype)) }];
  },
  lower(ctx) {
    const to = attrInt(ctx.node, 'to', 1);
    const v = ctx.inputs[0]!;
    if (isConst(v)) throw new ZkmlError('unexpected constant', 'E_INTERNAL', ctx.where);
    if ([1, 10, 11, 16].includes(to)) return [v.q];
    const dtype = DTYPE_NAMES[to];
    if (!dtype || !isIntegerType(dtype) || v.q.scale !== undefined) {
      throw new ZkmlError(`Cast of a computed tensor to element type ${dtype ?? to} is not supported (only to float and integer types, from a power-of-two scale)`, 'E_UNSUPPORTED', ctx.where);
    }
    return [castToInteger(ctx, v.q, dtype)];
  },
};

/**
 * Cast of a computed tensor to an integer type: truncation toward zero (Floor where the tensor is non-negative,
 * Ceil where it is non-positive: ops/rounding.ts, n constraints per element, free for a tensor that holds
 * integers already; for a tensor of both signs the floor plus [x < 0]·[fraction != 0], a sign test, a zero test
 * of the fraction and one product more), then the type's range. The interval analysis is the range proof: a
 * tensor whose interval leaves the type's range (where ONNX wraps an integer and leaves a float undefined) is
 * refused. No error of its own: the cast is exact on the value the circuit holds.
 */
function castToInteger(ctx: LowerCtx, x: QTensor, dtype: string): QTensor {
  const bounds = x.exprs.map((e) => ctx.program.checkRange(e, ctx.node.name));
  let t = x;
  if (x.exp > 0) {
    if (bounds.every(([lo]) => lo >= 0n)) t = lowerRounding(ctx, 'floor', x);
    else if (bounds.every(([, hi]) => hi <= 0n)) t = negate(lowerRounding(ctx, 'floor', negate(x)));
    else {
      // trunc(x) = floor(x) + [x < 0]·[x is not an integer]: the fraction X - floor·2^e is linear in the floor.
      const floor = lowerRounding(ctx, 'floor', x);
      const node = ctx.node.name;
      const exprs = x.exprs.map((e, i) => {
        const q = floor.exprs[i];
        const [lo, hi] = bounds[i];
        if (lo >= 0n) return q;
        const fraction = e.add(q.scale(-(1n << BigInt(x.exp))));
        const negative = Expr.sum([[Expr.constant(1n), 1n], [nonNegative(ctx.program, e, node), -1n]]);
        const inexact = Expr.sum([[Expr.constant(1n), 1n], [zeroTest(ctx.program, fraction, node), -1n]]);
        return hi <= 0n ? q.add(inexact) : q.add(times(ctx.program, negative, inexact, node));
      });
      t = { shape: x.shape, exp: 0, exprs };
    }
  }
  const wrap = WRAP[dtype];
  if (wrap) {
    const [bits, signed] = wrap;
    const [min, max] = signed ? [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1] : [0, 2 ** bits - 1];
    t.exprs.forEach((e, i) => {
      const [lo, hi] = ctx.program.checkRange(e, ctx.node.name).map((v) => Number(v) * 2 ** -t.exp);
      if (lo < min || hi > max) {
        throw new ZkmlError(`Cast to ${dtype}: element ${i} can be in [${lo}, ${hi}], outside the type's [${min}, ${max}] (where ONNX wraps or is undefined): clip the tensor first`, 'E_RANGE', ctx.where);
      }
    });
  }
  return t;
}

const shapeOp: OpDef = {
  ops: ['Shape'],
  foldsFromShapes: true,
  shapes: (ctx) => [[ctx.shapes[0].length]],
  fold(ctx) {
    const s = ctx.shapes[0];
    const start = attrInt(ctx.node, 'start', 0);
    const end = attrInt(ctx.node, 'end', s.length);
    const data = s.slice(start < 0 ? start + s.length : start, end < 0 ? end + s.length : end);
    return [{ dtype: 'int64', dims: [data.length], data }];
  },
};

function constantValue(ctx: ShapeCtx): Tensor {
  const a = ctx.node.attrs;
  const t = a.get('value') as Tensor | undefined;
  if (t) return t;
  const f = a.get('value_float') ?? a.get('value_int');
  if (typeof f === 'number') return { dtype: a.has('value_int') ? 'int64' : 'float', dims: [], data: [f] };
  const fs = (a.get('value_floats') ?? a.get('value_ints')) as number[] | undefined;
  if (fs) return { dtype: a.has('value_ints') ? 'int64' : 'float', dims: [fs.length], data: fs };
  throw new ZkmlError('Constant without a supported value attribute', 'E_ATTR', ctx.where);
}

const constantOp: OpDef = {
  ops: ['Constant'],
  shapes: (ctx) => [constantValue(ctx).dims],
  fold: (ctx) => [constantValue(ctx)],
};

export const shapeOps: OpDef[] = [
  dataOp(['Identity'], (ctx) => identityMap(ctx.shapes[0])),
  dataOpN(['Dropout'], (ctx) => {
    // Inference is the identity, whatever the ratio (which may then be computed: it is not read); training mode
    // (opset 12+: a true `training_mode` input) with a nonzero ratio is random. The optional mask output is all
    // true where nothing is dropped (1 at the output's exponent, compared as a bool).
    const training = ctx.node.inputs[2] ? constInput(ctx, 2, 'Dropout training_mode (whether the op is random, which decides the circuit)').data[0] : 0;
    const ratio = training && ctx.node.inputs[1] ? constInput(ctx, 1, 'Dropout ratio in training mode (whether the op is random, which decides the circuit)').data[0] : 0.5;
    if (training && ratio !== 0) throw new ZkmlError('Dropout in training mode is random: export the model in inference mode', 'E_UNSUPPORTED', ctx.where);
    const shape = ctx.shapes[0];
    const mask: Mapping = { shape, source: () => ({ constant: 1 }) };
    return ctx.node.outputs.length > 1 && ctx.node.outputs[1] ? [identityMap(shape), mask] : [identityMap(shape)];
  }),
  dataOp(['Flatten'], flattenMap),
  dataOp(['Reshape'], reshapeMap),
  dataOp(['Squeeze'], squeezeMap),
  dataOp(['Unsqueeze'], unsqueezeMap),
  dataOp(['Transpose'], transposeMap),
  dataOp(['Slice'], sliceMap),
  dataOp(['Gather'], gatherMap),
  dataOp(['Pad'], padMap),
  dataOp(['Concat'], concatMap, 'all'),
  castOp,
  shapeOp,
  constantOp,
];
