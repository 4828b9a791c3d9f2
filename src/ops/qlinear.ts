import { matmulShape } from './linear.ts';
import type { LowerCtx, OpDef, QTensor, ShapeCtx } from './op.ts';
import { isConst } from './common.ts';
import { attrFloat, attrInt } from '../onnx/graph.ts';
import { broadcastIndexer, broadcastShapes, normAxis, sizeOf, type Tensor } from '../onnx/tensor.ts';
import { Expr } from '../ir/expr.ts';
import { taps, windowOf } from './window.ts';
import { mul, quotientOf } from './arith.ts';
import { lowerRounding } from './rounding.ts';
import { spread } from './elementwise.ts';
import { constQTensor, weightExp } from '../quantize/fixed.ts';
import { maxOf, minOf } from './compare.ts';
import {
  approxMultiplier, checkInt32, exactMultiplier, f32, intRange, qlinearMultiplier, requantizeInt8, type Multiplier,
} from '../quantize/int8.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * ONNX's integer ops, with their exact semantics (onnx.ai operator docs):
 * - QuantizeLinear:   y = saturate(round_half_to_even(x / y_scale) + y_zero_point), per tensor or per axis;
 * - DequantizeLinear: y = (x - x_zero_point) · x_scale;
 * - MatMulInteger, ConvInteger: int32 sums of (a - a_zero_point)·(b - b_zero_point);
 * - QLinearMatMul, QLinearConv, com.microsoft QGemm and QLinearAdd: the same int32 sums (plus an int32 bias),
 *   requantized: y = saturate(round_half_to_even(acc · M) + y_zero_point), M = a_scale·b_scale/y_scale.
 *
 * Integer tensors are plain QTensors with exp 0 (their expressions are the integers); a DequantizeLinear output
 * carries `scale` (see ops/op.ts). Products with the constant weights are linear: an integer layer costs only its
 * requantization (gadgets/requant-int8.ts), with M taken as the exact float32 value onnxruntime uses
 * (quantize/int8.ts). Zero points enter as constants: padding reads x_zero_point, so padded taps add nothing.
 * A computed second operand (weights b/w, their zero points, x's zero point, an int32 bias: graph inputs or
 * integer activations) is exact too: each term (a - za)·(b - zb) is one product of two integers (ZkProduct),
 * the sums linear, so the int32 accumulator is the same integer; cost per output element: K products (K the
 * summed length) plus the requantization as above. A computed scale or output zero point (QuantizeLinear,
 * DequantizeLinear, QLinearMatMul, QLinearConv) cannot be a fixed multiplier: dividing by a computed scale is a
 * proven quotient, rounded half to even and saturated (quantizeComputed, requantizeComputed), multiplying by one
 * a product (dequantizeComputed); their headers state the bounds and costs.
 *
 * compiler/passes/qdq.ts rewrites QDQ groups (DequantizeLinear → Conv/MatMul/Gemm → [Relu] → QuantizeLinear) into
 * these ops and marks a fused Relu with the zkml-private attribute `zkml_relu` = 1: since round and saturate are monotone,
 * Q(Relu(v)) = max(Q(v), y_zero_point), so the Relu only raises the lower clamp bound to the zero point.
 */

type Ctx = LowerCtx;

/** An optional constant input (scale, zero point, bias), or undefined when absent. */
function optParam(ctx: Ctx | ShapeCtx, i: number): Tensor | undefined {
  const name = ctx.node.inputs[i];
  if (name === undefined || name === '') return undefined;
  const t = 'inputs' in ctx ? (isConst(ctx.inputs[i]) ? (ctx.inputs[i] as { tensor: Tensor }).tensor : undefined) : ctx.consts[i];
  if (!t) {
    throw new ZkmlError(
      `input ${i} ("${name}") is computed, but this quantization parameter is part of the circuit: a scale fixes the requantization's ` +
        'integer multiplier and shift (rounded in float32 as onnxruntime does) or a dequantized tensor\'s encoding, an output zero point its offset and clamp range, ' +
        'and so the gadgets and their widths: it must be a constant (an initializer)',
      'E_UNSUPPORTED',
      ctx.where,
    );
  }
  return t;
}

/** An integer operand of the products: {shape, exprs} (constant or computed, see intInput). */
type IntTensor = { shape: number[]; exprs: Expr[] };

/**
 * A zero point (or an int32 bias) per channel, constant or computed: length 1 (per tensor) or `count`; absent: `dflt`.
 */
function intParam(ctx: Ctx, i: number, count: number, what: string, dflt = 0): (c: number) => Expr {
  const name = ctx.node.inputs[i];
  if (name === undefined || name === '') return () => Expr.constant(BigInt(dflt), 0);
  const t = intInput(ctx, i, what);
  if (t.exprs.length === 1) return () => t.exprs[0];
  if (t.exprs.length !== count) throw new ZkmlError(`${what} has ${t.exprs.length} values; expected 1 or ${count}`, 'E_SHAPE', ctx.where);
  return (c) => t.exprs[c];
}

/** The output zero point: a constant (it is the requantization's offset and clamp, part of the circuit). */
function constZeroPoint(ctx: Ctx, i: number, what: string): { zp: bigint; tensor?: Tensor } {
  const name = ctx.node.inputs[i];
  if (name === undefined || name === '') return { zp: 0n };
  const v = ctx.inputs[i];
  if (!isConst(v)) {
    throw new ZkmlError(`${what} (input ${i}) is computed, but the output zero point is the requantization's offset and clamp range, part of the circuit: it must be a constant`, 'E_UNSUPPORTED', ctx.where);
  }
  return { zp: int(scalar(v.tensor, what, ctx.where)), tensor: v.tensor };
}

const minus = (a: Expr, b: Expr) => Expr.sum([[a, 1n], [b, -1n]]);

/**
 * (a - za)·(b - zb): linear when b - zb is a constant (fixed weights: no constraint; undefined when it is 0, so the
 * term drops out), else one product of two computed integers (ZkProduct, ops/arith.ts's mul), exact.
 */
function integerTerm(ctx: Ctx, a: Expr, za: Expr, b: Expr, zb: Expr): [Expr, bigint] | undefined {
  const d = minus(b, zb);
  if (d.isConstant) return d.c === 0n ? undefined : [minus(a, za), d.c];
  return [mul(ctx.program, minus(a, za), d, ctx.node.name), 1n];
}

function param(ctx: Ctx | ShapeCtx, i: number, what: string): Tensor {
  const t = optParam(ctx, i);
  if (!t) throw new ZkmlError(`${what} (input ${i}) is required`, 'E_GRAPH', ctx.where);
  return t;
}

/** One scalar of a per-tensor parameter (a scalar or a 1-element tensor). */
function scalar(t: Tensor | undefined, what: string, where: string, dflt = 0): number {
  if (!t) return dflt;
  if (t.data.length !== 1) throw new ZkmlError(`${what} must be a scalar (per-tensor), got shape [${t.dims}]`, 'E_UNSUPPORTED', where);
  return t.data[0];
}

/** A per-tensor or per-channel parameter as a function of the channel (length 1 or `count`). */
function perChannel(t: Tensor | undefined, count: number, what: string, where: string, dflt = 0): (c: number) => number {
  if (!t) return () => dflt;
  if (t.data.length === 1) return () => t.data[0];
  if (t.data.length !== count) throw new ZkmlError(`${what} has ${t.data.length} values; expected 1 or ${count}`, 'E_SHAPE', where);
  return (c) => t.data[c];
}

function checkScales(t: Tensor, what: string, where: string): void {
  if (t.data.some((s) => !(s > 0) || !Number.isFinite(s))) throw new ZkmlError(`${what} must be positive and finite, got [${t.data.slice(0, 8)}]`, 'E_BAD_TENSOR', where);
}

/** Output element type and clamp range from the output zero point's type (uint8 when it is absent, as ONNX says). */
function outType(zp: Tensor | undefined, where: string): { dtype: string; lo: bigint; hi: bigint } {
  const dtype = zp?.dtype ?? 'uint8';
  const [lo, hi] = intRange(dtype, where);
  return { dtype, lo, hi };
}

/** An integer input: a computed integer tensor (exp 0, no scale), or a constant of an integer type. */
function intInput(ctx: Ctx, i: number, what: string): { shape: number[]; exprs: Expr[] } {
  const v = ctx.inputs[i];
  if (!v) throw new ZkmlError(`${what} (input ${i}) is missing`, 'E_GRAPH', ctx.where);
  if (isConst(v)) {
    if (v.tensor.data.some((x) => !Number.isInteger(x))) throw new ZkmlError(`${what} must hold integers`, 'E_DTYPE', ctx.where);
    return { shape: v.tensor.dims, exprs: v.tensor.data.map((x) => Expr.constant(BigInt(x), 0)) };
  }
  if (v.q.scale !== undefined || v.q.exp !== 0) {
    throw new ZkmlError(
      `${what} must be an integer tensor (int8/uint8/int32), but it is a ${v.q.scale !== undefined ? 'dequantized' : 'fixed-point float'} tensor`,
      'E_DTYPE',
      ctx.where,
    );
  }
  return { shape: v.q.shape, exprs: v.q.exprs };
}

const int = (x: number) => BigInt(Math.round(x));
const reluOf = (ctx: Ctx) => attrInt(ctx.node, 'zkml_relu', 0) === 1;

/** Clamp bounds of a requantized output: the type's range, the lower one raised to the zero point by a fused Relu. */
function clampOf(ctx: Ctx, zp: bigint, t: { lo: bigint; hi: bigint }) {
  const lo = reluOf(ctx) && zp > t.lo ? zp : t.lo;
  return { zp, lo, hi: t.hi };
}

// ---------------------------------------------------------------------------------------------------------------
// Quantize / Dequantize

/** Axis and per-element parameter index of a per-axis Q/DQ (scale of shape [shape[axis]]). */
function axisIndexer(ctx: Ctx | ShapeCtx, shape: number[], scale: Tensor): (i: number) => number {
  if (scale.data.length === 1 && scale.dims.length <= 1) return () => 0;
  if (scale.dims.length !== 1) throw new ZkmlError(`scale of shape [${scale.dims}]: only per-tensor and per-axis (1-D) scales are supported (no blocked quantization)`, 'E_UNSUPPORTED', ctx.where);
  const axis = normAxis(attrInt(ctx.node, 'axis', 1), shape.length, ctx.where);
  if (shape[axis] !== scale.data.length) throw new ZkmlError(`per-axis scale has ${scale.data.length} values for axis ${axis} of size ${shape[axis]}`, 'E_SHAPE', ctx.where);
  const inner = sizeOf(shape.slice(axis + 1));
  return (i) => Math.floor(i / inner) % shape[axis];
}

/** Round half to even of a float (ONNX's rounding), as JavaScript has no rint. */
function rint(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
}

const quantizeLinear: OpDef = {
  ops: ['QuantizeLinear'],
  shapes: (ctx) => [ctx.shapes[0]],
  fold(ctx, [x, s, z]) {
    checkScales(s, 'y_scale', ctx.where);
    const at = axisIndexer(ctx, x.dims, s);
    const t = outType(z, ctx.where);
    const zp = (i: number) => (z ? z.data[z.data.length === 1 ? 0 : at(i)] : 0);
    // onnxruntime: x / scale in float32, rounded half to even, plus the zero point, saturated.
    const data = x.data.map((v, i) => {
      const q = rint(f32(f32(v) / f32(s.data[at(i)]))) + zp(i);
      return Math.min(Math.max(q, Number(t.lo)), Number(t.hi));
    });
    return [{ dtype: t.dtype, dims: x.dims, data }];
  },
  lower(ctx) {
    const v = ctx.inputs[0];
    if (!v || isConst(v)) throw new ZkmlError('QuantizeLinear of a constant should have been folded', 'E_INTERNAL', ctx.where);
    const x = v.q;
    // A computed scale or zero point: the quotient path (a constant scale then a fixed-point constant).
    if (computedAt(ctx, 1) || computedAt(ctx, 2)) return [quantizeComputed(ctx, x, scaleTensor(ctx, 1, 'y_scale'))];
    const s = param(ctx, 1, 'y_scale');
    checkScales(s, 'y_scale', ctx.where);
    const z = optParam(ctx, 2);
    const at = axisIndexer(ctx, x.shape, s);
    const t = outType(z, ctx.where);
    // The input's real value is expr · inScale: M = inScale / y_scale, a real ratio (see quantize/int8.ts).
    const inScale = x.scale ?? 2 ** -x.exp;
    const mults = s.data.map((sy) => approxMultiplier(inScale / sy, ctx.where));
    const zps = s.data.map((_, c) => int(z ? z.data[z.data.length === 1 ? 0 : c] : 0));
    const exprs = x.exprs.map((e, i) => {
      const c = at(i);
      return requantizeInt8(ctx.program, [e], () => mults[c], { zp: zps[c], lo: t.lo, hi: t.hi }, ctx.node.name, ctx.where)[0];
    });
    return [{ shape: x.shape, exp: 0, exprs }];
  },
};

/**
 * A computed scale against x of `shape`: per tensor (one element), or per axis, the scale [C] laid along `axis`
 * ([C, 1, ..., 1], which broadcasts against x); `at(i)` is the scale's index for element i of x.
 */
function alongAxis(ctx: Ctx, shape: number[], scale: QTensor, what: string): { laid: QTensor; at: (i: number) => number; count: number } {
  const count = scale.exprs.length;
  if (count === 1) return { laid: scale, at: () => 0, count };
  const axis = normAxis(attrInt(ctx.node, 'axis', 1), shape.length, ctx.where);
  if (scale.shape.length !== 1 || shape[axis] !== count) throw new ZkmlError(`per-axis ${what} has shape [${scale.shape}] for axis ${axis} of x [${shape}]`, 'E_SHAPE', ctx.where);
  const inner = sizeOf(shape.slice(axis + 1));
  return { laid: { ...scale, shape: [count, ...new Array(shape.length - axis - 1).fill(1)] }, at: (i) => Math.floor(i / inner) % count, count };
}

/**
 * QuantizeLinear by a computed y_scale (per tensor, or per axis: one scale per index of `axis`), with a constant
 * or computed y_zero_point; or by a constant y_scale (then a fixed-point constant of weightBits significant
 * bits) with a computed y_zero_point. Integer semantics, per element (x = X·2^-e_x, y_scale = S·2^-e_S, s = --scale):
 * - Q = round(2^s·x / y_scale), half up: a proven quotient (gadgets/quotient.ts via ops/arith.ts quotientOf; a
 *   scale whose interval reaches 0 has no witness at 0: ONNX's scale is positive);
 * - R = round_half_to_even(Q·2^-s) (gadgets/round.ts), then y = min(max(R + zp, lo), hi), [lo, hi] the range
 *   of the zero point's type (uint8 when absent or untyped), two comparisons (ops/compare.ts; free where the
 *   interval decides one).
 * Error bound against the float op: Q is within 2^-(s+1) of x/y_scale, so R equals round_half_to_even of the
 * circuit's x/y_scale except where that lies within 2^-(s+1) of a half-integer, where it may differ by 1; the
 * output is then within 1 of onnxruntime's (which divides in float32), plus what the quantization of x and
 * y_scale themselves carries (|Δx|/y_scale + |x|·|Δy_scale|/y_scale²), exact when both are exact on the grid.
 * Cost per element: the quotient (qBits + 2(yBits + 1) + 1), the rounding (n + s) and at most two comparisons.
 */
function quantizeComputed(ctx: Ctx, x: QTensor, scale: QTensor): QTensor {
  if (x.scale !== undefined) {
    throw new ZkmlError('QuantizeLinear of a dequantized tensor (non-power-of-two scale) by a computed y_scale or zero point is not supported', 'E_UNSUPPORTED', ctx.where);
  }
  const { laid, at, count } = alongAxis(ctx, x.shape, scale, 'y_scale');
  const zp = intParam(ctx, 2, count, 'y_zero_point');
  return { shape: x.shape, exp: 0, exprs: roundedSaturated(ctx, x, laid, (i) => zp(at(i)), zeroPointType(ctx, 2), 'y_scale') };
}

/** A computed scale must be a fixed-point float tensor (not a dequantized one). */
function floatScale(ctx: Ctx, q: QTensor, what: string): QTensor {
  if (q.scale !== undefined) throw new ZkmlError(`${what} must be a float tensor, not a dequantized one`, 'E_DTYPE', ctx.where);
  return q;
}

/** The element type of the zero point input i (constant or computed), which fixes the output's; uint8 when absent. */
function zeroPointType(ctx: Ctx, i: number): string {
  const v = ctx.inputs[i];
  return (isConst(v) ? v.tensor.dtype : ctx.node.inputs[i] ? ctx.inputTypes?.[i] : undefined) ?? 'uint8';
}

/**
 * saturate(round_half_to_even(x / den) + zp) per element (den broadcast against x): the quotient at the working
 * scale (ops/arith.ts quotientOf), rounded half to even (gadgets/round.ts), clamped to the type's range by two
 * comparisons (raised to the zero point by a fused Relu, see clampOf). See quantizeComputed for the bound.
 */
function roundedSaturated(ctx: Ctx, x: QTensor, den: QTensor, zp: (i: number) => Expr, dtype: string, what: string): Expr[] {
  const [lo, hi] = intRange(dtype, ctx.where);
  const r = lowerRounding(ctx, 'round', quotientOf(ctx, x, den, x.shape, what));
  const node = ctx.node.name;
  return r.exprs.map((e, i) => {
    let y = maxOf(ctx.program, Expr.sum([[e, 1n], [zp(i), 1n]]), Expr.constant(lo, 0), node);
    if (reluOf(ctx)) y = maxOf(ctx.program, y, zp(i), node);
    return minOf(ctx.program, y, Expr.constant(hi, 0), node);
  });
}

/**
 * DequantizeLinear by a computed x_scale (per tensor or per axis), constant or computed x_zero_point; also a
 * constant per-axis x_scale, quantized to a fixed-point constant tensor (weightBits significant bits). Integer
 * semantics (x_scale = S·2^-e_S): y = (x - zp)·S at exponent e_S, one product per element (ZkProduct; linear,
 * free, where S is constant). Error bound: exact in the circuit's values; against the float op |x - zp|·|Δx_scale|
 * (x_scale's own quantization: ≤ 2^-(e_S+1)), plus onnxruntime's float32 rounding of the product. Cost per
 * element: 1 product for a computed scale, 0 for a constant one.
 */
function dequantizeComputed(ctx: Ctx, x: IntTensor, scale: QTensor): QTensor {
  const { laid, at, count } = alongAxis(ctx, x.shape, scale, 'x_scale');
  const zp = intParam(ctx, 2, count, 'x_zero_point');
  const scales = spread(laid, x.shape);
  const exprs = x.exprs.map((e, i) => mul(ctx.program, Expr.sum([[e, 1n], [zp(at(i)), -1n]]), scales[i], ctx.node.name));
  return { shape: x.shape, exp: scale.exp, exprs };
}

const dequantizeLinear: OpDef = {
  ops: ['DequantizeLinear'],
  shapes: (ctx) => [ctx.shapes[0]],
  fold(ctx, [x, s, z]) {
    checkScales(s, 'x_scale', ctx.where);
    const at = axisIndexer(ctx, x.dims, s);
    // onnxruntime: float(x - zero_point) * scale in float32.
    const data = x.data.map((v, i) => f32((v - (z ? z.data[z.data.length === 1 ? 0 : at(i)] : 0)) * f32(s.data[at(i)])));
    return [{ dtype: 'float', dims: x.dims, data }];
  },
  lower(ctx) {
    const x = intInput(ctx, 0, 'DequantizeLinear input x');
    if (computedAt(ctx, 1) || computedAt(ctx, 2)) return [dequantizeComputed(ctx, x, scaleTensor(ctx, 1, 'x_scale'))];
    const s = param(ctx, 1, 'x_scale');
    checkScales(s, 'x_scale', ctx.where);
    const z = optParam(ctx, 2);
    const zs = z?.data ?? [0];
    if (new Set(s.data).size > 1 || new Set(zs).size > 1) {
      // A circuit tensor has one scale and zero point: per axis, the scales become fixed-point constants (weightBits
      // significant bits), and each element (x - zp)·scale a constant multiple at their exponent.
      return [dequantizeComputed(ctx, x, scaleTensor(ctx, 1, 'x_scale'))];
    }
    const scale = s.data[0];
    const zp = zs[0];
    const exprs = x.exprs.map((e) => e.addConst(-int(zp)));
    const k = -Math.log2(scale);
    // A power-of-two scale is ordinary fixed point: float ops downstream take it as is.
    if (Number.isInteger(k)) return [{ shape: x.shape, exp: k, exprs }];
    return [{ shape: x.shape, exp: 0, scale, zeroPoint: zp, exprs }];
  },
};

// ---------------------------------------------------------------------------------------------------------------
// MatMul family


/**
 * Σ_k (a[.., m, k] - za(m))·(b[.., k, n] - zb(n)), batch dimensions broadcast: exact integer expressions, linear
 * where b and its zero point are constants (fixed weights), one product per term where they are computed.
 */
function integerMatMul(ctx: Ctx, a: IntTensor, b: IntTensor, za: (m: number) => Expr, zb: (n: number) => Expr): { shape: number[]; acc: Expr[]; M: number; N: number } {
  const where = ctx.where;
  const A = a.shape.length === 1 ? [1, a.shape[0]] : a.shape;
  const B = b.shape.length === 1 ? [b.shape[0], 1] : b.shape;
  const [M, K] = A.slice(-2);
  const N = B[B.length - 1];
  const shape = matmulShape(a.shape, b.shape, where);
  const batch = broadcastShapes(A.slice(0, -2), B.slice(0, -2), where);
  const ia = broadcastIndexer(batch, A.slice(0, -2));
  const ib = broadcastIndexer(batch, B.slice(0, -2));
  const acc: Expr[] = [];
  for (let t = 0; t < sizeOf(batch); t++) {
    const aBase = ia(t) * M * K;
    const bBase = ib(t) * K * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        const parts: [Expr, bigint][] = [];
        for (let k = 0; k < K; k++) {
          const term = integerTerm(ctx, a.exprs[aBase + m * K + k], za(m), b.exprs[bBase + k * N + n], zb(n));
          if (term) parts.push(term);
        }
        acc.push(Expr.sum(parts));
      }
    }
  }
  return { shape, acc, M, N };
}

function constB(ctx: Ctx, i: number, what: string): Tensor {
  const v = ctx.inputs[i];
  if (!isConst(v)) {
    throw new ZkmlError(`${what} must be constant (fixed weights); a product of two computed tensors is not supported`, 'E_UNSUPPORTED', ctx.where);
  }
  return v.tensor;
}

/** Is input i given and computed (not a constant)? */
const computedAt = (ctx: Ctx, i: number): boolean => !!ctx.node.inputs[i] && !!ctx.inputs[i] && !isConst(ctx.inputs[i]);

/** QLinearMatMul/QLinearConv: is a scale (inputs 1, 4, 6) or the output zero point (input 7) computed? */
function hasComputedParam(ctx: Ctx): boolean {
  return [1, 4, 6, 7].some((i) => computedAt(ctx, i));
}

/** A scale input as a QTensor: a computed one as it is, a constant quantized to weightBits significant bits. */
function scaleTensor(ctx: Ctx, i: number, what: string): QTensor {
  const v = ctx.inputs[i];
  if (!v) throw new ZkmlError(`${what} (input ${i}) is required`, 'E_GRAPH', ctx.where);
  if (!isConst(v)) return floatScale(ctx, v.q, what);
  checkScales(v.tensor, what, ctx.where);
  return constQTensor(v.tensor, weightExp(v.tensor.data, ctx.opts.weightBits, ctx.opts.maxWeightExp), ctx.where);
}

/**
 * QLinearMatMul/QLinearConv with a computed scale or output zero point (any of them; the others constants): the
 * int32 accumulator (exact, as with constant scales) requantized as y = saturate(round_half_to_even(acc·sa·sb(c)
 * / sy) + zy), c the output's channel (b's column, w's output channel). Integer semantics: acc·sa·sb one or two
 * products (free where the scale is a constant: a constant scale is a fixed-point constant of weightBits
 * significant bits), then roundedSaturated (quantizeComputed's quotient, rounding and clamp). Error bound: that
 * of quantizeComputed, the numerator's error being |acc|·(|Δsa|·sb + sa·|Δsb|) from the scales' quantization:
 * within one unit of onnxruntime (which multiplies by a float32 M = sa·sb/sy) where the scales are exact on the
 * grid, except at near ties. Cost per output element: up to 2 products, the quotient, the rounding, 2 comparisons.
 */
function requantizeComputed(ctx: Ctx, acc: Expr[], shape: number[], channel: (i: number) => number, channels: number): Expr[] {
  const sa = scaleTensor(ctx, 1, 'a_scale');
  const sb = scaleTensor(ctx, 4, 'b_scale');
  const sy = scaleTensor(ctx, 6, 'y_scale');
  if (sa.exprs.length !== 1 || sy.exprs.length !== 1) throw new ZkmlError('the input and output scales must be scalars (per tensor)', 'E_UNSUPPORTED', ctx.where);
  if (sb.exprs.length !== 1 && sb.exprs.length !== channels) throw new ZkmlError(`the weight scale has ${sb.exprs.length} values; expected 1 or ${channels}`, 'E_SHAPE', ctx.where);
  const node = ctx.node.name;
  const exprs = acc.map((e, i) => mul(ctx.program, mul(ctx.program, e, sa.exprs[0], node), sb.exprs[sb.exprs.length === 1 ? 0 : channel(i)], node));
  const zy = intParam(ctx, 7, 1, 'y_zero_point')(0);
  return roundedSaturated(ctx, { shape, exp: sa.exp + sb.exp, exprs }, { ...sy, shape: [1] }, () => zy, zeroPointType(ctx, 7), 'y_scale');
}

const matmulInteger: OpDef = {
  ops: ['MatMulInteger'],
  shapes: (ctx) => [matmulShape(ctx.shapes[0], ctx.shapes[1], ctx.where)],
  lower(ctx) {
    const a = intInput(ctx, 0, 'A');
    const b = intInput(ctx, 1, 'B');
    const A = a.shape.length === 1 ? [1, a.shape[0]] : a.shape;
    const za = intParam(ctx, 2, A[A.length - 2], 'a_zero_point (per row)');
    const zb = intParam(ctx, 3, b.shape[b.shape.length - 1], 'b_zero_point (per column)');
    const { shape, acc } = integerMatMul(ctx, a, b, za, zb);
    checkInt32(ctx.program, acc, ctx.node.name, ctx.where);
    return [{ shape, exp: 0, exprs: acc }];
  },
};

const qlinearMatMul: OpDef = {
  ops: ['QLinearMatMul'],
  shapes: (ctx) => [matmulShape(ctx.shapes[0], ctx.shapes[3], ctx.where)],
  lower(ctx) {
    const a = intInput(ctx, 0, 'a');
    const b = intInput(ctx, 3, 'b');
    if (hasComputedParam(ctx)) {
      const N = b.shape[b.shape.length - 1];
      const { shape, acc } = integerMatMul(ctx, a, b, intParam(ctx, 2, 1, 'a_zero_point'), intParam(ctx, 5, N, 'b_zero_point (per column)'));
      checkInt32(ctx.program, acc, ctx.node.name, ctx.where);
      return [{ shape, exp: 0, exprs: requantizeComputed(ctx, acc, shape, (i) => i % N, N) }];
    }
    const [sa, sb, sy] = [1, 4, 6].map((i) => optParam(ctx, i));
    for (const [t, what] of [[sa, 'a_scale'], [sb, 'b_scale'], [sy, 'y_scale']] as const) {
      if (!t) throw new ZkmlError(`${what} is required`, 'E_GRAPH', ctx.where);
      checkScales(t, what, ctx.where);
    }
    const N = b.shape[b.shape.length - 1];
    const sbn = perChannel(sb, N, 'b_scale (per column)', ctx.where);
    const za = intParam(ctx, 2, 1, 'a_zero_point');
    const zbn = intParam(ctx, 5, N, 'b_zero_point (per column)');
    const { shape, acc } = integerMatMul(ctx, a, b, za, zbn);
    checkInt32(ctx.program, acc, ctx.node.name, ctx.where);
    const zy = constZeroPoint(ctx, 7, 'y_zero_point');
    const mult = Array.from({ length: N }, (_, n) => exactMultiplier(qlinearMultiplier(scalar(sa, 'a_scale', ctx.where), sbn(n), scalar(sy, 'y_scale', ctx.where)), ctx.where));
    const t = outType(zy.tensor, ctx.where);
    const exprs = requantizeInt8(ctx.program, acc, (i) => mult[i % N], clampOf(ctx, zy.zp, t), ctx.node.name, ctx.where);
    return [{ shape, exp: 0, exprs }];
  },
};

/** com.microsoft QGemm: Y = alpha·(A' - za)(B' - zb) + C (int32), requantized when y_scale is given. */
const qgemm: OpDef = {
  ops: ['QGemm'],
  domain: 'com.microsoft',
  shapes(ctx) {
    const [a, , , b] = ctx.shapes;
    const transA = attrInt(ctx.node, 'transA', 0) === 1;
    const transB = attrInt(ctx.node, 'transB', 0) === 1;
    if (a.length !== 2 || b.length !== 2) throw new ZkmlError(`QGemm takes 2-D A and B, got [${a}] and [${b}]`, 'E_SHAPE', ctx.where);
    const [M, KA] = transA ? [a[1], a[0]] : a;
    const [KB, N] = transB ? [b[1], b[0]] : b;
    if (KA !== KB) throw new ZkmlError(`inner dimensions differ: A' is [${M}, ${KA}], B' is [${KB}, ${N}]`, 'E_SHAPE', ctx.where);
    return [[M, N]];
  },
  lower(ctx) {
    const a0 = intInput(ctx, 0, 'A');
    const B0 = constB(ctx, 3, 'B');
    const transA = attrInt(ctx.node, 'transA', 0) === 1;
    const transB = attrInt(ctx.node, 'transB', 0) === 1;
    const alpha = attrFloat(ctx.node, 'alpha', 1);
    const [sa, za, sb, zb, C, sy, zy] = [1, 2, 4, 5, 6, 7, 8].map((i) => optParam(ctx, i));
    if (!sa || !sb) throw new ZkmlError('a_scale and b_scale are required', 'E_GRAPH', ctx.where);
    checkScales(sa, 'a_scale', ctx.where);
    checkScales(sb, 'b_scale', ctx.where);
    const [M, N] = ctx.outShapes[0];
    const K = transA ? a0.shape[0] : a0.shape[1];
    const a = transA ? { shape: [M, K], exprs: Array.from({ length: M * K }, (_, i) => a0.exprs[(i % K) * M + Math.floor(i / K)]) } : a0;
    const B = transB ? { ...B0, dims: [K, N], data: Array.from({ length: K * N }, (_, i) => B0.data[(i % N) * K + Math.floor(i / N)]) } : B0;
    const zbn = perChannel(zb, N, 'b_zero_point (per column)', ctx.where);
    const Bi: IntTensor = { shape: B.dims, exprs: B.data.map((v) => Expr.constant(int(v), 0)) };
    const zaB = Expr.constant(int(scalar(za, 'a_zero_point', ctx.where)), 0);
    let { acc } = integerMatMul(ctx, a, Bi, () => zaB, (n) => Expr.constant(int(zbn(n)), 0));
    if (C) {
      broadcastShapes([M, N], C.dims, ctx.where);
      const ic = broadcastIndexer([M, N], C.dims);
      acc = acc.map((e, i) => e.addConst(int(C.data[ic(i)])));
    }
    checkInt32(ctx.program, acc, ctx.node.name, ctx.where);
    const sbn = perChannel(sb, N, 'b_scale (per column)', ctx.where);
    if (!sy) {
      // Float output: acc · alpha·a_scale·b_scale, a dequantized tensor (one scale for the whole tensor).
      const scales = new Set(Array.from({ length: N }, (_, n) => f32(f32(f32(alpha) * f32(sa.data[0])) * f32(sbn(n)))));
      if (scales.size !== 1) throw new ZkmlError('QGemm with a float output and per-column b_scale is not supported', 'E_UNSUPPORTED', ctx.where);
      return [{ shape: [M, N], exp: 0, scale: [...scales][0], zeroPoint: 0, exprs: acc }];
    }
    checkScales(sy, 'y_scale', ctx.where);
    const mult = Array.from({ length: N }, (_, n) => exactMultiplier(qlinearMultiplier(sa.data[0], sbn(n), scalar(sy, 'y_scale', ctx.where), alpha), ctx.where));
    const t = outType(zy ?? za, ctx.where);
    const exprs = requantizeInt8(ctx.program, acc, (i) => mult[i % N], clampOf(ctx, int(scalar(zy, 'y_zero_point', ctx.where)), t), ctx.node.name, ctx.where);
    return [{ shape: [M, N], exp: 0, exprs }];
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Conv family

/**
 * Σ over the window of (x - zx)·(w[m] - zw(m)) (+ bias[m]): exact integer expressions, linear for constant weights,
 * one product per tap for computed ones (integerTerm). Window geometry (pads, auto_pad, strides, dilations) is
 * ops/window.ts's, shared with Conv and the pools; groups as in Conv. Padded taps are skipped: (zx - zx)·w = 0.
 */
function integerConv(ctx: Ctx | ShapeCtx, x: { shape: number[]; exprs?: Expr[] }, w: { shape: number[]; exprs?: Expr[] }, zx?: Expr, zw?: (m: number) => Expr, bias?: (m: number) => Expr): { shape: number[]; acc: Expr[] } {
  const where = ctx.where;
  if (x.shape.length < 3 || w.shape.length !== x.shape.length) throw new ZkmlError(`input [${x.shape}] and weights [${w.shape}] must be [N, C, spatial...] and [M, C/group, kernel...]`, 'E_SHAPE', where);
  const [N, C] = x.shape;
  const M = w.shape[0];
  const group = attrInt(ctx.node, 'group', 1);
  if (C % group !== 0 || M % group !== 0 || w.shape[1] * group !== C) throw new ZkmlError(`group ${group} does not fit ${C} input channels and weights [${w.shape}]`, 'E_SHAPE', where);
  const window = windowOf(ctx.node, where, x.shape.slice(2), w.shape.slice(2));
  const shape = [N, M, ...window.output];
  if (!x.exprs || !w.exprs || !('program' in ctx)) return { shape, acc: [] };
  const Cg = C / group;
  const Mg = M / group;
  const inSize = sizeOf(window.input);
  const outSize = sizeOf(window.output);
  const kSize = sizeOf(window.kernel);
  const windows = Array.from({ length: outSize }, (_, p) => taps(window, p).filter((t) => t.at >= 0));
  const acc: Expr[] = [];
  const zero = Expr.constant(0n, 0);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const first = Math.floor(m / Mg) * Cg;
      const zwm = zw ? zw(m) : zero;
      for (let p = 0; p < outSize; p++) {
        const parts: [Expr, bigint][] = bias ? [[bias(m), 1n]] : [];
        for (let ci = 0; ci < Cg; ci++) {
          const inBase = (n * C + first + ci) * inSize;
          const wBase = (m * Cg + ci) * kSize;
          for (const t of windows[p]) {
            const term = integerTerm(ctx, x.exprs[inBase + t.at], zx ?? zero, w.exprs[wBase + t.k], zwm);
            if (term) parts.push(term);
          }
        }
        acc.push(Expr.sum(parts));
      }
    }
  }
  return { shape, acc };
}

const convInteger: OpDef = {
  ops: ['ConvInteger'],
  shapes: (ctx) => [integerConv(ctx, { shape: ctx.shapes[0] }, { shape: ctx.shapes[1] }).shape],
  lower(ctx) {
    const x = intInput(ctx, 0, 'x');
    const w = intInput(ctx, 1, 'w');
    const zx = intParam(ctx, 2, 1, 'x_zero_point')(0);
    const zw = intParam(ctx, 3, w.shape[0], 'w_zero_point (per output channel)');
    const { shape, acc } = integerConv(ctx, x, w, zx, zw);
    checkInt32(ctx.program, acc, ctx.node.name, ctx.where);
    return [{ shape, exp: 0, exprs: acc }];
  },
};

const qlinearConv: OpDef = {
  ops: ['QLinearConv'],
  shapes: (ctx) => [integerConv(ctx, { shape: ctx.shapes[0] }, { shape: ctx.shapes[3] }).shape],
  lower(ctx) {
    const x = intInput(ctx, 0, 'x');
    const w = intInput(ctx, 3, 'w');
    if (hasComputedParam(ctx)) {
      const M = w.shape[0];
      const bias = ctx.node.inputs[8] ? intParam(ctx, 8, M, 'B (bias)') : undefined;
      const { shape, acc } = integerConv(ctx, x, w, intParam(ctx, 2, 1, 'x_zero_point')(0), intParam(ctx, 5, M, 'w_zero_point (per output channel)'), bias);
      checkInt32(ctx.program, acc, ctx.node.name, ctx.where);
      const outSize = sizeOf(shape.slice(2));
      return [{ shape, exp: 0, exprs: requantizeComputed(ctx, acc, shape, (i) => Math.floor(i / outSize) % M, M) }];
    }
    const [sx, sw, sy] = [1, 4, 6].map((i) => optParam(ctx, i));
    for (const [t, what] of [[sx, 'x_scale'], [sw, 'w_scale'], [sy, 'y_scale']] as const) {
      if (!t) throw new ZkmlError(`${what} is required`, 'E_GRAPH', ctx.where);
      checkScales(t, what, ctx.where);
    }
    const M = w.shape[0];
    const swm = perChannel(sw, M, 'w_scale (per output channel)', ctx.where);
    const zwm = intParam(ctx, 5, M, 'w_zero_point (per output channel)');
    const bias = ctx.node.inputs[8] ? intParam(ctx, 8, M, 'B (bias)') : undefined;
    const { shape, acc } = integerConv(ctx, x, w, intParam(ctx, 2, 1, 'x_zero_point')(0), zwm, bias);
    checkInt32(ctx.program, acc, ctx.node.name, ctx.where);
    const zy = constZeroPoint(ctx, 7, 'y_zero_point');
    const mult = Array.from({ length: M }, (_, m) => exactMultiplier(qlinearMultiplier(scalar(sx, 'x_scale', ctx.where), swm(m), scalar(sy, 'y_scale', ctx.where)), ctx.where));
    const outSize = sizeOf(shape.slice(2));
    const t = outType(zy.tensor, ctx.where);
    const exprs = requantizeInt8(ctx.program, acc, (i) => mult[Math.floor(i / outSize) % M], clampOf(ctx, zy.zp, t), ctx.node.name, ctx.where);
    return [{ shape, exp: 0, exprs }];
  },
};

// ---------------------------------------------------------------------------------------------------------------
// com.microsoft QLinearAdd

/**
 * C = saturate(round((A - za)·(sa/sc) + (B - zb)·(sb/sc)) + zc), broadcasting. The two float32 ratios are exact
 * dyadic numbers m·2^-n: brought to a common shift, the sum is one integer linear expression, requantized with
 * multiplier 1.
 */
const qlinearAdd: OpDef = {
  ops: ['QLinearAdd'],
  domain: 'com.microsoft',
  shapes: (ctx) => [broadcastShapes(ctx.shapes[0], ctx.shapes[3], ctx.where)],
  lower(ctx) {
    const a = intInput(ctx, 0, 'A');
    const b = intInput(ctx, 3, 'B');
    const [sa, za, sb, zb, sc, zc] = [1, 2, 4, 5, 6, 7].map((i) => optParam(ctx, i));
    for (const [t, what] of [[sa, 'A_scale'], [sb, 'B_scale'], [sc, 'C_scale']] as const) {
      if (!t) throw new ZkmlError(`${what} is required`, 'E_GRAPH', ctx.where);
      checkScales(t, what, ctx.where);
    }
    const S = (t: Tensor | undefined, w: string) => scalar(t, w, ctx.where);
    const ma = exactMultiplier(f32(f32(S(sa, 'A_scale')) / f32(S(sc, 'C_scale'))), ctx.where);
    const mb = exactMultiplier(f32(f32(S(sb, 'B_scale')) / f32(S(sc, 'C_scale'))), ctx.where);
    const n = Math.max(ma.n, mb.n);
    const ka = ma.m0 << BigInt(n - ma.n);
    const kb = mb.m0 << BigInt(n - mb.n);
    const shape = ctx.outShapes[0];
    const ia = broadcastIndexer(shape, a.shape);
    const ib = broadcastIndexer(shape, b.shape);
    const zaB = int(S(za, 'A_zero_point'));
    const zbB = int(S(zb, 'B_zero_point'));
    const sum = Array.from({ length: sizeOf(shape) }, (_, i) =>
      Expr.sum([[a.exprs[ia(i)].addConst(-zaB), ka], [b.exprs[ib(i)].addConst(-zbB), kb]]),
    );
    const t = outType(zc, ctx.where);
    const one: Multiplier = { m0: 1n, n };
    const exprs = requantizeInt8(ctx.program, sum, () => one, clampOf(ctx, int(S(zc, 'C_zero_point')), t), ctx.node.name, ctx.where);
    return [{ shape, exp: 0, exprs }];
  },
};

// Every op here checks its own inputs' domain (intInput), with a message naming the input.
export const qlinearOps: OpDef[] = [quantizeLinear, dequantizeLinear, matmulInteger, qlinearMatMul, qgemm, convInteger, qlinearConv, qlinearAdd].map((d) => ({ ...d, scaled: true }));
