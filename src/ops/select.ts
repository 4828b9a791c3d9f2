import type { LowerCtx, OpDef, QTensor, ShapeCtx } from './op.ts';
import { isConst } from './common.ts';
import { shapeOps, coordsOf, flatOf } from './shape.ts';
import { indexingOps } from './indexing.ts';
import { attrInt } from '../onnx/graph.ts';
import { normAxis, strides } from '../onnx/tensor.ts';
import { Expr } from '../ir/expr.ts';
import type { Program } from '../ir/program.ts';
import { constQTensor, toFixed, liftExp } from '../quantize/fixed.ts';
import { integerOf } from './arith.ts';
import { oneHot } from '../gadgets/onehot.ts';
import { nonNegative, times } from './compare.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * Gather, GatherElements and OneHot (oneHotLower) with computed indices (an embedding lookup of token ids, a pointer into a state):
 * a proven selection. Constant indices stay what ops/shape.ts and ops/indexing.ts make of them (wiring, free).
 *
 * Integer semantics. An index is an integer tensor (exponent 0; a model's int64/int32 input, or integers
 * computed from one); negative indices count from the end (i + n where i < 0, one sign test of the index's
 * width when its interval holds both signs). The position p ∈ [0, n) gets a one-hot vector over the positions
 * its interval can reach (gadgets/onehot.ts), and the output element is Σ_p h_p·data[p]: linear, so free, when
 * the data is constant (an embedding table, quantized at the activation scale s); one product per reachable
 * position when the data is computed. An index outside [−n, n) has no witness (onnxruntime fails on it too).
 * Error bound against the float op: 0 for computed data (the selected value is the data's integer exactly);
 * 2^-(s+1) per element for a constant table (its rounding to the activation grid).
 * Cost per index: r (the reachable positions, at most n) + the sign test (about the index's bit width + 2) when it
 * may be negative; plus r products per output element when the data is computed.
 */

/** Indicators of the positions an index takes: [position, h] with Σ h = 1 and exactly the true position set. */
function positions(program: Program, index: Expr, n: number, node: string): [number, Expr][] {
  const [lo, hi] = program.checkRange(index, node);
  if (hi < BigInt(-n) || lo >= BigInt(n)) throw new ZkmlError(`index interval [${lo}, ${hi}] holds no position of an axis of size ${n}`, 'E_BAD_TENSOR', node);
  // p = i + n·[i < 0]: the position a negative index counts back to.
  const negative = lo >= 0n ? Expr.constant(0n) : Expr.sum([[nonNegative(program, index, node), -1n]]).addConst(1n);
  const p = index.add(negative.scale(BigInt(n)));
  const [plo, phi] = program.bounds(p);
  const first = Math.max(0, Number(plo));
  const last = Math.min(n - 1, Number(phi));
  if (first === last) return [[first, Expr.constant(1n)]];
  const count = last - first + 1;
  // The one-hot admits only p ∈ [first, last]: an index out of range has no witness.
  const h = program.apply(oneHot(count), { n: count }, [p.addConst(BigInt(-first))], node);
  return h.map((hj, j) => [first + j, hj]);
}

/** Σ_p h_p · value(p): free on constants, one product per position on computed values. */
function select(program: Program, sel: [number, Expr][], value: (p: number) => Expr, node: string): Expr {
  return Expr.sum(sel.map(([p, h]) => [times(program, h, value(p), node), 1n]));
}

/** The data as expressions at one exponent: a constant table at the activation scale, a computed tensor as is. */
function dataOf(ctx: LowerCtx): { exprs: Expr[]; exp: number; shape: number[] } {
  const v = ctx.inputs[0];
  if (!v) throw new ZkmlError('input 0 (data) is missing', 'E_GRAPH', ctx.where);
  if (isConst(v)) {
    const exp = ctx.opts.scale;
    return { exprs: v.tensor.data.map((x) => Expr.constant(toFixed(x, exp, ctx.where))), exp, shape: v.tensor.dims };
  }
  return { ...liftExp(v.q, v.q.exp), shape: v.q.shape };
}

function indicesOf(ctx: LowerCtx): QTensor {
  const v = ctx.inputs[1];
  if (!v || isConst(v)) throw new ZkmlError('internal: computed indices expected', 'E_INTERNAL', ctx.where);
  if (v.q.exp !== 0 || v.q.scale !== undefined) {
    throw new ZkmlError(`${ctx.node.opType} indices (input 1) are fixed-point values (exponent ${v.q.exp}), not integers: feed an integer tensor (int64/int32 model input)`, 'E_UNSUPPORTED', ctx.where);
  }
  return v.q;
}

const gatherShape = (data: number[], indices: number[], axis: number) => [...data.slice(0, axis), ...indices, ...data.slice(axis + 1)];

function gatherLower(ctx: LowerCtx): QTensor[] {
  const data = dataOf(ctx);
  const idx = indicesOf(ctx);
  const s = data.shape;
  const axis = normAxis(attrInt(ctx.node, 'axis', 0), s.length, ctx.where);
  const shape = gatherShape(s, idx.shape, axis);
  const sels = idx.exprs.map((e) => positions(ctx.program, e, s[axis], ctx.node.name));
  const inStrides = strides(s);
  const outStrides = strides(shape);
  const exprs = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, flat) => {
    const c = coordsOf(flat, shape, outStrides);
    const j = flatOf(c.slice(axis, axis + idx.shape.length), strides(idx.shape));
    const at = (p: number) => flatOf([...c.slice(0, axis), p, ...c.slice(axis + idx.shape.length)], inStrides);
    return select(ctx.program, sels[j], (p) => data.exprs[at(p)], ctx.node.name);
  });
  return [{ shape, exp: data.exp, exprs }];
}

function gatherElementsLower(ctx: LowerCtx): QTensor[] {
  const data = dataOf(ctx);
  const idx = indicesOf(ctx);
  const s = data.shape;
  const axis = normAxis(attrInt(ctx.node, 'axis', 0), s.length, ctx.where);
  if (idx.shape.length !== s.length) throw new ZkmlError(`indices [${idx.shape}] must have the data's rank ${s.length} (data [${s}])`, 'E_SHAPE', ctx.where);
  const inStrides = strides(s);
  const st = strides(idx.shape);
  const exprs = idx.exprs.map((e, flat) => {
    const c = coordsOf(flat, idx.shape, st);
    const sel = positions(ctx.program, e, s[axis], ctx.node.name);
    return select(ctx.program, sel, (p) => data.exprs[flatOf(c.map((x, d) => (d === axis ? p : x)), inStrides)], ctx.node.name);
  });
  return [{ shape: idx.shape, exp: data.exp, exprs }];
}

/**
 * OneHot with computed indices (input 0; depth, which fixes the output's shape, stays a constant): each index
 * k is an integer (a fixed-point one, e.g. a float tensor of integers, through integerOf: a non-integer index has
 * no witness), p = k + depth·[k < 0] (one sign test where k may be negative), and a one-hot h over the values p
 * can reach (gadgets/onehot.ts, cost: one constraint per reachable value), including those outside [0, depth),
 * which select no position: their row is all `off`, as ONNX says. Element j of a row is off + h_j·(on − off):
 * linear for constant values (quantized at the activation scale s; exact on its grid), one product for computed
 * ones. Cost per index: the one-hot (plus the sign test and, for a fixed-point index, integerOf's floor).
 */
function oneHotLower(ctx: LowerCtx): QTensor[] {
  const v = ctx.inputs[0];
  if (!v || isConst(v)) throw new ZkmlError('internal: computed indices expected', 'E_INTERNAL', ctx.where);
  const idx = v.q;
  const depth = oneHotDepth(ctx.inputs[1] && isConst(ctx.inputs[1]) ? ctx.inputs[1].tensor : undefined, ctx.where);
  const values = ctx.inputs[2];
  if (!values) throw new ZkmlError('OneHot values (input 2) are missing', 'E_GRAPH', ctx.where);
  const vq: QTensor = isConst(values) ? constQTensor(values.tensor, ctx.opts.scale, ctx.where) : values.q;
  if (vq.exprs.length !== 2) throw new ZkmlError(`OneHot values must be [off, on], got shape [${vq.shape}]`, 'E_SHAPE', ctx.where);
  const [off, on] = vq.exprs;
  const rank = idx.shape.length + 1;
  const axis = normAxis(attrInt(ctx.node, 'axis', -1), rank, ctx.where);
  const shape = [...idx.shape.slice(0, axis), depth, ...idx.shape.slice(axis)];
  const program = ctx.program;
  const node = ctx.node.name;
  const step = Expr.sum([[on, 1n], [off, -1n]]);
  // Per index: the indicator of each position in [0, depth) (a constant 0 where p cannot reach it).
  const rows = idx.exprs.map((e) => {
    const k = integerOf(program, e, idx.exp, node);
    const [lo] = program.checkRange(k, node);
    const negative = lo >= 0n ? Expr.constant(0n, 0) : Expr.sum([[nonNegative(program, k, node), -1n]]).addConst(1n);
    const p = k.add(negative.scaleExact(BigInt(depth)));
    const [plo, phi] = program.checkRange(p, node);
    const at: Expr[] = Array.from({ length: depth }, () => Expr.constant(0n, 0));
    if (plo === phi) {
      if (plo >= 0n && plo < BigInt(depth)) at[Number(plo)] = Expr.constant(1n, 0);
      return at;
    }
    const count = Number(phi - plo) + 1;
    const h = program.apply(oneHot(count), { n: count }, [p.addConst(-plo)], node);
    h.forEach((hj, j) => {
      const pos = Number(plo) + j;
      if (pos >= 0 && pos < depth) at[pos] = hj;
    });
    return at;
  });
  const st = strides(shape);
  const idxStrides = strides(idx.shape);
  const exprs = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, flat) => {
    const c = coordsOf(flat, shape, st);
    const [pos] = c.splice(axis, 1);
    return off.add(times(program, rows[flatOf(c, idxStrides)][pos], step, node));
  });
  return [{ shape, exp: vq.exp, exprs }];
}

/** OneHot's depth: a constant positive integer (it is the size of the output's new axis). */
function oneHotDepth(t: { data: number[] } | undefined, where: string): number {
  if (!t) throw new ZkmlError('OneHot depth (input 1) is computed, but it is the size of the output\'s new axis, a shape of the circuit: it must be a constant', 'E_UNSUPPORTED', where);
  const depth = t.data[0];
  if (!Number.isInteger(depth) || depth < 1) throw new ZkmlError(`OneHot depth must be a positive integer, got ${depth}`, 'E_BAD_TENSOR', where);
  return depth;
}

/** The op's constant-index definition, extended to computed indices (input 1). */
function withComputedIndices(op: string, base: OpDef, shapes: (ctx: ShapeCtx) => number[][], lower: (ctx: LowerCtx) => QTensor[]): OpDef {
  return {
    ...base,
    ops: [op],
    shapes: (ctx) => (ctx.consts[1] ? base.shapes(ctx) : shapes(ctx)),
    lower: (ctx) => (isConst(ctx.inputs[1]) ? base.lower!(ctx) : lower(ctx)),
  };
}

const baseOf = (list: OpDef[], op: string) => {
  const def = list.find((d) => d.ops.includes(op));
  if (!def) throw new Error(`no definition of ${op}`);
  return def;
};

export const selectOps: OpDef[] = [
  withComputedIndices('Gather', baseOf(shapeOps, 'Gather'), (ctx) => {
    const axis = normAxis(attrInt(ctx.node, 'axis', 0), ctx.shapes[0].length, ctx.where);
    return [gatherShape(ctx.shapes[0], ctx.shapes[1], axis)];
  }, gatherLower),
  withComputedIndices('GatherElements', baseOf(indexingOps, 'GatherElements'), (ctx) => [ctx.shapes[1]], gatherElementsLower),
  (() => {
    const base = baseOf(indexingOps, 'OneHot');
    return {
      ...base,
      ops: ['OneHot'],
      shapes: (ctx: ShapeCtx) => {
        if (ctx.consts[0]) return base.shapes(ctx);
        const depth = oneHotDepth(ctx.consts[1], ctx.where);
        const axis = normAxis(attrInt(ctx.node, 'axis', -1), ctx.shapes[0].length + 1, ctx.where);
        return [[...ctx.shapes[0].slice(0, axis), depth, ...ctx.shapes[0].slice(axis)]];
      },
      lower: (ctx: LowerCtx) => (isConst(ctx.inputs[0]) ? base.lower!(ctx) : oneHotLower(ctx)),
    };
  })(),
];
