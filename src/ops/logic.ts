import type { LowerCtx, OpDef, OpInput, QTensor, ShapeCtx } from './op.ts';
import { isConst } from './common.ts';
import { broadcastShape, spread } from './elementwise.ts';
import { broadcastIndexer, broadcastShapes, isIntegerType, sizeOf, type Tensor } from '../onnx/tensor.ts';
import { Expr } from '../ir/expr.ts';
import { constQTensor, liftExp } from '../quantize/fixed.ts';
import { nonNegative, times, zeroTest } from './compare.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * Comparisons, boolean logic and selection: Equal, Less, LessOrEqual, Greater, GreaterOrEqual, And, Or, Xor,
 * Not, Where.
 *
 * Booleans are QTensors of exp 0 whose expressions have the interval [0, 1] (a comparison's output, a 0/1
 * constant); a graph output of them is the integers 0/1 (scale 1), which is what ONNX's bool means.
 *
 * Integer semantics. Two computed operands are first brought to their larger exponent (an exact multiplication
 * by a power of two), so A and B are the integers of the same grid; then A < B is A - B <= -1, i.e. [B - A - 1
 * >= 0], and likewise for the others. A constant c compared with a computed x at exponent e uses the integer
 * threshold that gives exactly the float comparison for every grid value X·2^-e: x < c ⟺ X < ceil(c·2^e),
 * x <= c ⟺ X <= floor(c·2^e), x > c ⟺ X > floor(c·2^e), x >= c ⟺ X >= ceil(c·2^e), x = c ⟺ c·2^e is an
 * integer equal to X (else never). So the error bound against the float op on the grid values the circuit
 * holds is 0: the comparison is exact (a value near a threshold can flip only through the quantization of the
 * op's input, upstream of the op).
 * Logic on booleans: And = a·b, Or = a + b - a·b, Xor = a + b - 2·a·b, Not = 1 - a (exact).
 * Where(c, x, y) = y + c·(x - y), x and y at their common exponent (a constant branch is quantized there:
 * error at most half a step of that grid; exact for computed branches).
 *
 * Cost per element: Less/Greater(OrEqual) w constraints, w the signed width of the difference's interval
 * (gadgets/ge.ts); Equal 2w (gadgets/equal.ts: two sign tests; it says why not a 2-constraint zero test); And/Or/Xor 1 product; Not 0; Where 1 product (0 when the
 * condition or x - y is a constant). Any comparison that the intervals decide costs nothing.
 */

type Cmp = 'Equal' | 'Less' | 'LessOrEqual' | 'Greater' | 'GreaterOrEqual';
const CMP_FLOAT: Record<Cmp, (a: number, b: number) => boolean> = {
  Equal: (a, b) => a === b,
  Less: (a, b) => a < b,
  LessOrEqual: (a, b) => a <= b,
  Greater: (a, b) => a > b,
  GreaterOrEqual: (a, b) => a >= b,
};
/** The comparison with its operands swapped: c < x is x > c. */
const MIRROR: Record<Cmp, Cmp> = { Equal: 'Equal', Less: 'Greater', LessOrEqual: 'GreaterOrEqual', Greater: 'Less', GreaterOrEqual: 'LessOrEqual' };

type Logic = 'And' | 'Or' | 'Xor';
const LOGIC_FLOAT: Record<Logic, (a: boolean, b: boolean) => boolean> = { And: (a, b) => a && b, Or: (a, b) => a || b, Xor: (a, b) => a !== b };

/** Elementwise float evaluation with broadcasting, for constant folding. */
function foldWith(shape: number[], inputs: Tensor[], dtype: string, f: (...v: number[]) => number): Tensor {
  const index = inputs.map((t) => broadcastIndexer(shape, t.dims));
  const data = Array.from({ length: sizeOf(shape) }, (_, i) => f(...inputs.map((t, k) => t.data[index[k](i)])));
  return { dtype, dims: shape, data };
}

const bool = (v: boolean) => (v ? 1 : 0);
const diff = (a: Expr, b: Expr, c = 0n) => Expr.sum([[a, 1n], [b, -1n]]).addConst(c);

function operands(ctx: LowerCtx): [OpInput, OpInput] {
  const [x, y] = ctx.inputs;
  if (x === undefined || y === undefined) throw new ZkmlError(`${ctx.node.opType} needs two inputs`, 'E_GRAPH', ctx.where);
  return [x, y];
}

/** [a OP b] of integers on the same grid, as one sign test (or a zero test for Equal). */
function compareInts(ctx: LowerCtx, op: Cmp, a: Expr, b: Expr): Expr {
  const { program } = ctx;
  const node = ctx.node.name;
  switch (op) {
    case 'Equal': return zeroTest(program, diff(a, b), node);
    case 'GreaterOrEqual': return nonNegative(program, diff(a, b), node);
    case 'Greater': return nonNegative(program, diff(a, b, -1n), node);
    case 'LessOrEqual': return nonNegative(program, diff(b, a), node);
    case 'Less': return nonNegative(program, diff(b, a, -1n), node);
  }
}

/** [X·2^-e OP c] for every grid integer X, through the integer threshold that makes it exact (see the header). */
function compareWithConst(ctx: LowerCtx, op: Cmp, x: Expr, e: number, c: number): Expr {
  if (!Number.isFinite(c)) return Expr.constant(BigInt(bool(CMP_FLOAT[op](0, c)))); // ±inf and NaN: the same for every finite x
  const t = c * 2 ** e; // exact: a power-of-two scaling
  const floor = Expr.constant(BigInt(Math.floor(t)));
  const ceil = Expr.constant(BigInt(Math.ceil(t)));
  switch (op) {
    case 'Equal': return Number.isInteger(t) ? compareInts(ctx, 'Equal', x, floor) : Expr.constant(0n);
    case 'Less': return compareInts(ctx, 'Less', x, ceil);
    case 'LessOrEqual': return compareInts(ctx, 'LessOrEqual', x, floor);
    case 'Greater': return compareInts(ctx, 'Greater', x, floor);
    case 'GreaterOrEqual': return compareInts(ctx, 'GreaterOrEqual', x, ceil);
  }
}

function lowerCompare(ctx: LowerCtx): QTensor[] {
  const op = ctx.node.opType as Cmp;
  const shape = ctx.outShapes[0];
  const [x, y] = operands(ctx);
  let exprs: Expr[];
  if (isConst(x) || isConst(y)) {
    // One constant (two fold before lowering): put it on the right.
    const [q, c, cmp] = isConst(y) ? [(x as { q: QTensor }).q, y.tensor, op] : [(y as { q: QTensor }).q, (x as { tensor: Tensor }).tensor, MIRROR[op]];
    const xs = spread(q, shape);
    const ic = broadcastIndexer(shape, c.dims);
    exprs = xs.map((e, i) => compareWithConst(ctx, cmp, e, q.exp, c.data[ic(i)]));
  } else {
    const exp = Math.max(x.q.exp, y.q.exp);
    const a = spread(liftExp(x.q, exp), shape);
    const b = spread(liftExp(y.q, exp), shape);
    exprs = a.map((e, i) => compareInts(ctx, op, e, b[i]));
  }
  return [{ shape, exp: 0, exprs }];
}

/**
 * Input i as booleans broadcast to `shape`: a constant's nonzero values are 1, and a computed tensor must be one
 * (exp 0, every element in [0, 1]), or the logic formulas would compute something else.
 */
function booleans(ctx: LowerCtx, i: number, shape: number[]): Expr[] {
  const v = ctx.inputs[i];
  if (!v) throw new ZkmlError(`input ${i} is missing`, 'E_GRAPH', ctx.where);
  if (isConst(v)) {
    const ints = v.tensor.data.map((d) => Expr.constant(d !== 0 ? 1n : 0n, 0));
    return spread({ shape: v.tensor.dims, exp: 0, exprs: ints }, shape);
  }
  const bad = v.q.exprs.map((e) => ctx.program.checkRange(e, ctx.node.name)).findIndex(([lo, hi]) => lo < 0n || hi > 1n);
  if (v.q.exp !== 0 || bad >= 0) {
    const got = bad >= 0 ? `element ${bad} has the interval [${ctx.program.bounds(v.q.exprs[bad])}]` : `its exponent is ${v.q.exp}`;
    throw new ZkmlError(
      `input ${i} ("${ctx.node.inputs[i]}") of ${ctx.node.opType} must be a boolean tensor (exponent 0, values 0 or 1, e.g. a comparison's output): ${got}`,
      'E_UNSUPPORTED',
      ctx.where,
    );
  }
  return spread(v.q, shape);
}

const comparisons: OpDef = {
  ops: Object.keys(CMP_FLOAT),
  shapes: broadcastShape,
  fold: (ctx, inputs) => [foldWith(broadcastShape(ctx)[0], inputs, 'bool', (a, b) => bool(CMP_FLOAT[ctx.node.opType as Cmp](a, b)))],
  lower: lowerCompare,
};

const logic: OpDef = {
  ops: Object.keys(LOGIC_FLOAT),
  shapes: broadcastShape,
  fold: (ctx, inputs) => [foldWith(broadcastShape(ctx)[0], inputs, 'bool', (a, b) => bool(LOGIC_FLOAT[ctx.node.opType as Logic](a !== 0, b !== 0)))],
  lower(ctx) {
    operands(ctx);
    const shape = ctx.outShapes[0];
    const a = booleans(ctx, 0, shape);
    const b = booleans(ctx, 1, shape);
    const node = ctx.node.name;
    const exprs = a.map((x, i) => {
      const ab = times(ctx.program, x, b[i], node);
      const sum = x.add(b[i]);
      switch (ctx.node.opType as Logic) {
        case 'And': return ab;
        case 'Or': return Expr.sum([[sum, 1n], [ab, -1n]]);
        case 'Xor': return Expr.sum([[sum, 1n], [ab, -2n]]);
      }
    });
    return [{ shape, exp: 0, exprs }];
  },
};

const not: OpDef = {
  ops: ['Not'],
  shapes: (ctx: ShapeCtx) => [ctx.shapes[0]],
  fold: (_ctx, [x]) => [{ dtype: 'bool', dims: x.dims, data: x.data.map((v) => bool(v === 0)) }],
  lower(ctx) {
    const shape = ctx.outShapes[0];
    return [{ shape, exp: 0, exprs: booleans(ctx, 0, shape).map((e) => Expr.sum([[e, -1n]]).addConst(1n)) }];
  },
};

const where: OpDef = {
  ops: ['Where'],
  shapes: (ctx) => [ctx.shapes.reduce((s, t) => broadcastShapes(s, t, ctx.where))],
  fold: (ctx, inputs) => [foldWith(ctx.shapes.reduce((s, t) => broadcastShapes(s, t, ctx.where)), inputs, inputs[1].dtype, (c, x, y) => (c !== 0 ? x : y))],
  lower(ctx) {
    const shape = ctx.outShapes[0];
    if (ctx.inputs.length !== 3 || ctx.inputs.some((v) => v === undefined)) throw new ZkmlError('Where needs three inputs (condition, X, Y)', 'E_GRAPH', ctx.where);
    const cond = booleans(ctx, 0, shape);
    const branches = ctx.inputs.slice(1) as OpInput[];
    // The common exponent: the computed branches' largest; two constant branches keep integers as integers.
    const computed = branches.filter((v) => !isConst(v)).map((v) => (v as { q: QTensor }).q.exp);
    const allInt = branches.every((v) => isConst(v) && isIntegerType(v.tensor.dtype));
    const exp = computed.length > 0 ? Math.max(...computed) : allInt ? 0 : ctx.opts.scale;
    const [x, y] = branches.map((v) => {
      if (!isConst(v)) return spread(liftExp(v.q, exp), shape);
      return spread(constQTensor(v.tensor, exp, ctx.where), shape);
    });
    const exprs = cond.map((c, i) => y[i].add(times(ctx.program, c, diff(x[i], y[i]), ctx.node.name)));
    return [{ shape, exp, exprs }];
  },
};

export const logicOps: OpDef[] = [comparisons, logic, not, where];
