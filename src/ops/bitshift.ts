import type { LowerCtx, OpDef, QTensor } from './op.ts';
import { mul } from './arith.ts';
import { oneHot } from '../gadgets/onehot.ts';
import { divmod, planDivMod } from '../gadgets/divmod.ts';
import { floordiv, planFloorDiv } from '../gadgets/floordiv.ts';
import { isConst, qInput } from './common.ts';
import { attrString } from '../onnx/graph.ts';
import { broadcastIndexer, broadcastShapes, sizeOf } from '../onnx/tensor.ts';
import { round, roundParams } from '../gadgets/round.ts';
import { Expr } from '../ir/expr.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * BitShift(X, Y) of unsigned integers by constant amounts Y (broadcast). X is held as fixed point X·2^-e (an
 * integer tensor input carries the input scale like any other).
 * - LEFT: X·2^y, linear (free) where the input's interval times 2^y stays below 2^bits of the type. Else, for
 *   an integer tensor (e = 0), ONNX's wrap: X·2^y - 2^bits·floor(X / 2^(bits-y)), one gadgets/round.ts floor
 *   (n constraints); a fixed-point tensor that could overflow is refused.
 * - RIGHT: floor(x / 2^y) = floor(X / 2^(e+y)), an integer (exp 0): one gadgets/round.ts floor per element
 *   (n constraints, n the bit width of X's interval), or the identity shift when e + y = 0.
 * Exact. A computed shift amount: see shiftByComputed.
 */

const UNSIGNED_BITS: Record<string, number> = { uint8: 8, uint16: 16, uint32: 32, uint64: 64 };

const bitShift: OpDef = {
  ops: ['BitShift'],
  shapes: (ctx) => [broadcastShapes(ctx.shapes[0], ctx.shapes[1], ctx.where)],
  fold(ctx, [x, y]) {
    const shape = broadcastShapes(x.dims, y.dims, ctx.where);
    const left = attrString(ctx.node, 'direction', '') === 'LEFT';
    const bits = UNSIGNED_BITS[x.dtype] ?? 64;
    const [ix, iy] = [broadcastIndexer(shape, x.dims), broadcastIndexer(shape, y.dims)];
    const data = Array.from({ length: sizeOf(shape) }, (_, i) => {
      const v = BigInt(x.data[ix(i)]);
      const s = BigInt(y.data[iy(i)]);
      return Number(left ? (v << s) & ((1n << BigInt(bits)) - 1n) : v >> s);
    });
    return [{ dtype: x.dtype, dims: shape, data }];
  },
  lower(ctx) {
    const y = ctx.inputs[1];
    const direction = attrString(ctx.node, 'direction', '');
    if (direction !== 'LEFT' && direction !== 'RIGHT') throw new ZkmlError(`BitShift direction "${direction}" is not LEFT or RIGHT`, 'E_ATTR', ctx.where);
    if (!isConst(y)) return [shiftByComputed(ctx, direction)];
    const x = qInput(ctx, 0);
    const shape = ctx.outShapes[0];
    const [ix, iy] = [broadcastIndexer(shape, x.shape), broadcastIndexer(shape, y.tensor.dims)];
    const node = ctx.node.name;
    const amounts = Array.from({ length: sizeOf(shape) }, (_, i) => y.tensor.data[iy(i)]);
    if (amounts.some((s) => !Number.isInteger(s) || s < 0 || s > 64)) throw new ZkmlError(`BitShift amounts must be integers in [0, 64], got [${amounts}]`, 'E_BAD_TENSOR', ctx.where);
    if (direction === 'LEFT') {
      const bits = UNSIGNED_BITS[y.tensor.dtype] ?? 64;
      const exprs = amounts.map((s, i) => {
        const x0 = x.exprs[ix(i)];
        const e = x0.scale(1n << BigInt(s));
        const [lo, hi] = ctx.program.checkRange(x0, node);
        if (hi << BigInt(s) < 1n << BigInt(bits + Math.max(0, x.exp))) return e;
        if (x.exp !== 0 || s >= bits) {
          throw new ZkmlError(`BitShift LEFT by ${s} can overflow ${bits} bits on the input's interval (ONNX wraps, zkml does only for integer tensors): narrow --input-range`, 'E_UNSUPPORTED', ctx.where);
        }
        // The wrap: X·2^s - 2^bits·floor(X / 2^(bits - s)), one floor of the bits that overflow.
        const q = ctx.program.apply(round, roundParams('floor', bits - s, lo, hi), [x0], node)[0];
        return Expr.sum([[e, 1n], [q, -(1n << BigInt(bits))]]);
      });
      return [{ shape, exp: x.exp, exprs }];
    }
    const exprs = amounts.map((s, i) => {
      const e = x.exprs[ix(i)];
      const k = x.exp + s;
      if (k <= 0) return e.scale(1n << BigInt(-k));
      const [lo, hi] = ctx.program.checkRange(e, node);
      return ctx.program.apply(round, roundParams('floor', k, lo, hi), [e], node)[0];
    });
    return [{ shape, exp: 0, exprs }];
  },
};

/**
 * BitShift by a computed amount Y (an integer tensor): the amounts Y's interval reaches, [first, last] within
 * [0, bits - 1], get a one-hot vector h (gadgets/onehot.ts; an amount outside has no witness), and D = 2^Y =
 * Σ_j h_j·2^(first+j) is linear in it. LEFT: X·D, one product, wrapped to the type's bits by one floor division
 * by the constant 2^bits where the product can overflow (integer tensors; a fixed-point one that could overflow
 * is refused). RIGHT: floor(X / (2^e·D)), one ZkFloorDiv (gadgets/floordiv.ts). Exact. Cost per element: the
 * one-hot (last − first + 1), plus for LEFT one product [+ qBits + bits for the wrap], for RIGHT
 * qBits + 2·(e + last + 1) + 1.
 */
function shiftByComputed(ctx: LowerCtx, direction: 'LEFT' | 'RIGHT'): QTensor {
  const x = qInput(ctx, 0);
  const y = qInput(ctx, 1);
  if (y.exp !== 0) throw new ZkmlError(`BitShift amounts (input 1) are fixed-point values (exponent ${y.exp}), not integers`, 'E_UNSUPPORTED', ctx.where);
  const shape = ctx.outShapes[0];
  const [ix, iy] = [broadcastIndexer(shape, x.shape), broadcastIndexer(shape, y.shape)];
  const type = ctx.inputTypes?.find((t) => t !== undefined);
  const bits = type === undefined ? undefined : UNSIGNED_BITS[type];
  const program = ctx.program;
  const node = ctx.node.name;
  /** D = 2^amount and its exact range [2^first, 2^last] (one h is set: tighter than D's interval, a sum of all). */
  const powerOf = (amount: Expr): [Expr, bigint, bigint] => {
    const [lo, hi] = program.checkRange(amount, node);
    // Amounts of at least the type's width are not defined by ONNX (C's shift): such an amount has no witness.
    const top = (bits ?? 64) - 1;
    const first = Math.max(0, Number(lo));
    const last = Math.min(top, Number(hi));
    if (first > last) throw new ZkmlError(`BitShift amount interval [${lo}, ${hi}] holds no shift in [0, ${top}]`, 'E_RANGE', ctx.where);
    if (first === last) return [Expr.constant(1n << BigInt(first), 0), 1n << BigInt(first), 1n << BigInt(first)];
    const count = last - first + 1;
    const h = program.apply(oneHot(count), { n: count }, [amount.addConst(BigInt(-first))], node);
    return [Expr.sum(h.map((hj, j) => [hj, 1n << BigInt(first + j)])), 1n << BigInt(first), 1n << BigInt(last)];
  };
  const exprs = Array.from({ length: sizeOf(shape) }, (_, i) => {
    const e = x.exprs[ix(i)];
    const [D, dlo, dhi] = powerOf(y.exprs[iy(i)]);
    if (direction === 'LEFT') {
      const v = mul(program, e, D, node);
      const [lo, hi] = program.checkRange(v, node);
      if (hi < 1n << BigInt((bits ?? 8) + Math.max(0, x.exp))) return v;
      if (bits === undefined) {
        throw new ZkmlError('BitShift LEFT by a computed amount can overflow on the input\'s interval, and the element type that decides the wrap is not known for a computed input: narrow --input-range', 'E_UNSUPPORTED', ctx.where);
      }
      if (x.exp !== 0) throw new ZkmlError(`BitShift LEFT by a computed amount can overflow ${bits} bits on the input's interval (ONNX wraps, zkml does only for integer tensors): narrow --input-range`, 'E_UNSUPPORTED', ctx.where);
      return program.apply(divmod, planDivMod(1n << BigInt(bits), lo, hi), [v], node)[1];
    }
    const den = x.exp > 0 ? D.scaleExact(1n << BigInt(x.exp)) : D;
    const num = x.exp < 0 ? e.scaleExact(1n << BigInt(-x.exp)) : e;
    const [xlo, xhi] = program.checkRange(num, node);
    const lift = 1n << BigInt(Math.max(0, x.exp));
    return program.apply(floordiv, planFloorDiv(xlo, xhi, dlo * lift, dhi * lift), [num, den], node)[0];
  });
  return { shape, exp: direction === 'LEFT' ? x.exp : 0, exprs };
}

export const bitShiftOps: OpDef[] = [bitShift];
