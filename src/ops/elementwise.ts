import type { LowerCtx, OpDef, QTensor } from './op.ts';
import { isConst, qInput } from './common.ts';
import { broadcastIndexer, broadcastShapes, isIntegerType, type Tensor } from '../onnx/tensor.ts';
import { Expr } from '../ir/expr.ts';
import { liftExp, quantizeTensor, weightExp } from '../quantize/fixed.ts';
import { multiply, quotientOf } from './arith.ts';
import { ZkmlError } from '../util/errors.ts';
import { truncatedDivision } from './int-div.ts';

type FloatFn = (a: number, b: number) => number;
const FLOAT: Record<string, FloatFn> = { Add: (a, b) => a + b, Sub: (a, b) => a - b, Mul: (a, b) => a * b, Div: (a, b) => a / b };

export function broadcastShape(ctx: { shapes: number[][]; where: string }): number[][] {
  return [ctx.shapes.reduce((s, t) => broadcastShapes(s, t, ctx.where))];
}

/** Float evaluation with broadcasting, for constant folding. */
function foldBinary(op: string, shape: number[], a: Tensor, b: Tensor): Tensor {
  const size = shape.reduce((x, y) => x * y, 1);
  const ia = broadcastIndexer(shape, a.dims);
  const ib = broadcastIndexer(shape, b.dims);
  const f = FLOAT[op];
  const intResult = a.dtype.includes('int') && b.dtype.includes('int');
  const data = Array.from({ length: size }, (_, i) => {
    const v = f(a.data[ia(i)], b.data[ib(i)]);
    return intResult && op === 'Div' ? Math.trunc(v) : v;
  });
  return { dtype: a.dtype, dims: shape, data };
}

/** Broadcasts a QTensor's expressions to `shape`. */
export function spread(q: QTensor, shape: number[]): Expr[] {
  const index = broadcastIndexer(shape, q.shape);
  return Array.from({ length: shape.reduce((x, y) => x * y, 1) }, (_, i) => q.exprs[index(i)]);
}

/** a ± b: exponents aligned upward (exact), constants quantized at the common exponent. */
function addSub(ctx: LowerCtx, sign: bigint): QTensor[] {
  const shape = ctx.outShapes[0];
  const [x, y] = ctx.inputs;
  // The common exponent: the larger of the computed operands' (at least the activation scale for constants).
  const exps = [x, y].map((v) => (v && !isConst(v) ? v.q.exp : -Infinity));
  let exp = Math.max(...exps);
  if (exp === -Infinity) exp = ctx.opts.scale;
  const operand = (i: number): Expr[] => {
    const v = ctx.inputs[i]!;
    if (isConst(v)) {
      const ints = quantizeTensor(v.tensor, exp, ctx.where);
      return spread({ shape: v.tensor.dims, exp, exprs: ints.map((c) => Expr.constant(c)) }, shape);
    }
    return spread(liftExp(v.q, exp), shape);
  };
  const a = operand(0);
  const b = operand(1);
  return [{ shape, exp, exprs: a.map((e, i) => Expr.sum([[e, 1n], [b[i], sign]])) }];
}

/** a · c or a / c with c constant: c (or 1/c) quantized as a weight tensor; the exponents add. */
function scaleByConst(ctx: LowerCtx, q: QTensor, c: Tensor, invert: boolean): QTensor[] {
  const shape = ctx.outShapes[0];
  const values = invert ? c.data.map((v) => 1 / v) : c.data;
  if (values.some((v) => !Number.isFinite(v))) throw new ZkmlError('division by a constant that is zero', 'E_BAD_TENSOR', ctx.where);
  const exp = weightExp(values, ctx.opts.weightBits, ctx.opts.maxWeightExp);
  const ints = quantizeTensor({ ...c, data: values }, exp, ctx.where);
  const ic = broadcastIndexer(shape, c.dims);
  const a = spread(q, shape);
  return [{ shape, exp: q.exp + exp, exprs: a.map((e, i) => e.scale(ints[ic(i)])) }];
}

const binary: OpDef = {
  ops: ['Add', 'Sub', 'Mul', 'Div'],
  shapes: broadcastShape,
  fold: (ctx, [a, b]) => [foldBinary(ctx.node.opType, broadcastShape(ctx)[0], a, b)],
  lower(ctx) {
    const op = ctx.node.opType;
    const [x, y] = ctx.inputs;
    if (x === undefined || y === undefined) throw new ZkmlError(`${op} needs two inputs`, 'E_GRAPH', ctx.where);
    if (op === 'Add') return addSub(ctx, 1n);
    if (op === 'Sub') return addSub(ctx, -1n);
    if (op === 'Mul') {
      if (isConst(y)) return scaleByConst(ctx, qInput(ctx, 0), y.tensor, false);
      if (isConst(x)) return scaleByConst(ctx, qInput(ctx, 1), x.tensor, false);
      // Two computed tensors: one product per element, requantized back to the activation scale (ops/arith.ts).
      return [multiply(ctx, qInput(ctx, 0), qInput(ctx, 1), ctx.outShapes[0])];
    }
    const shape = ctx.outShapes[0];
    const what = `"${ctx.node.inputs[1]}" (input 1) of Div`;
    if (isConst(y) && isIntegerType(y.tensor.dtype)) {
      // ONNX truncates integer division (ops/int-div.ts); x is an integer tensor too (the types agree).
      const q = qInput(ctx, 0);
      if (q.exp !== 0 || q.scale !== undefined) throw new ZkmlError(`Div by an integer constant of a tensor at exponent ${q.exp}: expected an integer tensor (exponent 0)`, 'E_UNSUPPORTED', ctx.where);
      const ys = spread({ shape: y.tensor.dims, exp: 0, exprs: y.tensor.data.map((v) => Expr.constant(BigInt(v))) }, shape);
      return [{ shape, exp: 0, exprs: truncatedDivision(ctx, spread(q, shape), ys, what) }];
    }
    if (isConst(y)) return scaleByConst(ctx, qInput(ctx, 0), y.tensor, true);
    if (y.q.exp === 0 && y.q.scale === undefined && (isConst(x) ? isIntegerType(x.tensor.dtype) : x.q.exp === 0 && x.q.scale === undefined)) {
      // Exponent 0 on both sides is how integer tensors reach an op (ops/op.ts): ONNX truncates their quotient.
      const xs = isConst(x) ? spread({ shape: x.tensor.dims, exp: 0, exprs: x.tensor.data.map((v) => Expr.constant(BigInt(v))) }, shape) : spread(x.q, shape);
      return [{ shape, exp: 0, exprs: truncatedDivision(ctx, xs, spread(y.q, shape), what) }];
    }
    return [quotientOf(ctx, qInput(ctx, 0), y.q, ctx.outShapes[0], `"${ctx.node.inputs[1]}" (input 1) of Div`)];
  },
};

export const elementwiseOps: OpDef[] = [binary];
