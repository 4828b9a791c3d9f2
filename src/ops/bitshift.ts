import type { OpDef } from './op.ts';
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
 * Exact. A computed shift amount is refused.
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
    if (!isConst(y)) throw new ZkmlError('BitShift by a computed amount is not supported (only by constants)', 'E_UNSUPPORTED', ctx.where);
    const direction = attrString(ctx.node, 'direction', '');
    if (direction !== 'LEFT' && direction !== 'RIGHT') throw new ZkmlError(`BitShift direction "${direction}" is not LEFT or RIGHT`, 'E_ATTR', ctx.where);
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

export const bitShiftOps: OpDef[] = [bitShift];
