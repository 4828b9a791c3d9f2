import type { OpDef, ShapeCtx } from './op.ts';
import { constInput, qInput } from './common.ts';
import { attrFloat, attrInt, attrString } from '../onnx/graph.ts';
import { sizeOf, strides } from '../onnx/tensor.ts';
import { coordsOf, dataOp, flatOf, shapeCtxOf, type Mapping } from './shape.ts';
import { linearMap } from './params.ts';
import { ZkmlError } from '../util/errors.ts';
import { Expr } from '../ir/expr.ts';
import { toFixed } from '../quantize/fixed.ts';

/**
 * Spatial rearrangements: DepthToSpace, SpaceToDepth, and Resize/Upsample in nearest mode with constant
 * scales or sizes. Integer semantics: each output element is one input element's expression, chosen at compile
 * time — exactly the float op, error bound 0, cost 0 constraints per element. Resize's linear and cubic modes
 * are linear maps with constant weights (see `resize` below). tf_crop_and_resize takes a constant roi: a
 * coordinate outside the input is the extrapolation value (in nearest mode wiring to a constant;
 * in linear and cubic modes, the extrapolation value quantized at the output's exponent, exact when it is on
 * that grid, else within half its step). Antialias and computed scales/sizes/roi are refused.
 */

/** [N, C, H, W] input with its blocksize, checked. */
function blocks(ctx: ShapeCtx) {
  const s = ctx.shapes[0];
  const b = attrInt(ctx.node, 'blocksize', 0);
  if (s.length !== 4) throw new ZkmlError(`${ctx.node.opType} input must be [N, C, H, W], got [${s}]`, 'E_SHAPE', ctx.where);
  if (!Number.isInteger(b) || b < 1) throw new ZkmlError(`${ctx.node.opType} blocksize must be a positive integer, got ${b}`, 'E_ATTR', ctx.where);
  return { s, b, inStrides: strides(s) };
}

/**
 * DepthToSpace: out[n, c, h·b + i, w·b + j] = x[n, channel, h, w], channel = (i·b + j)·C' + c in DCR mode (the
 * default), c·b² + i·b + j in CRD mode, with C' = C / b².
 */
function depthToSpaceMap(ctx: ShapeCtx): Mapping {
  const { s, b, inStrides } = blocks(ctx);
  const [N, C, H, W] = s;
  const mode = attrString(ctx.node, 'mode', 'DCR');
  if (mode !== 'DCR' && mode !== 'CRD') throw new ZkmlError(`DepthToSpace mode "${mode}" must be DCR or CRD`, 'E_ATTR', ctx.where);
  if (C % (b * b) !== 0) throw new ZkmlError(`DepthToSpace: ${C} channels do not divide by blocksize² = ${b * b}`, 'E_SHAPE', ctx.where);
  const c2 = C / (b * b);
  const shape = [N, c2, H * b, W * b];
  const st = strides(shape);
  return {
    shape,
    source(flat) {
      const [n, c, y, x] = coordsOf(flat, shape, st);
      const [i, j] = [y % b, x % b];
      const channel = mode === 'DCR' ? (i * b + j) * c2 + c : c * b * b + i * b + j;
      return { input: 0, index: flatOf([n, channel, Math.floor(y / b), Math.floor(x / b)], inStrides) };
    },
  };
}

/** SpaceToDepth, DepthToSpace's DCR inverse: out[n, (i·b + j)·C + c, h, w] = x[n, c, h·b + i, w·b + j]. */
function spaceToDepthMap(ctx: ShapeCtx): Mapping {
  const { s, b, inStrides } = blocks(ctx);
  const [N, C, H, W] = s;
  if (H % b !== 0 || W % b !== 0) throw new ZkmlError(`SpaceToDepth: spatial [${H}, ${W}] do not divide by blocksize ${b}`, 'E_SHAPE', ctx.where);
  const shape = [N, C * b * b, H / b, W / b];
  const st = strides(shape);
  return {
    shape,
    source(flat) {
      const [n, channel, h, w] = coordsOf(flat, shape, st);
      const c = channel % C;
      const block = Math.floor(channel / C);
      return { input: 0, index: flatOf([n, c, h * b + Math.floor(block / b), w * b + (block % b)], inStrides) };
    },
  };
}

const f = Math.fround;

/** Output coordinate on axis d → input coordinate (as onnxruntime computes it, in float32). */
type Transform = (x: number, scale: number, inDim: number, outDim: number, d: number) => number;

function transform(mode: string, ctx: ShapeCtx): Transform {
  switch (mode) {
    case 'tf_crop_and_resize': {
      // roi = [starts..., ends...] as fractions of each axis; outside [0, in − 1] is the extrapolation value.
      if (!ctx.node.inputs[1]) throw new ZkmlError('Resize coordinate_transformation_mode "tf_crop_and_resize" needs its roi (input 1), which is missing', 'E_GRAPH', ctx.where);
      const roi = constInput(ctx, 1, 'Resize roi').data;
      const r = ctx.shapes[0].length;
      if (roi.length !== 2 * r) throw new ZkmlError(`Resize roi has ${roi.length} values, expected ${2 * r} (starts and ends of [${ctx.shapes[0]}])`, 'E_SHAPE', ctx.where);
      return (x, _s, i, o, d) => (o > 1 ? f(f(roi[d] * (i - 1)) + f(f(f(x * f(roi[d + r] - roi[d])) * (i - 1)) / (o - 1))) : f(f(0.5 * f(roi[d] + roi[d + r])) * (i - 1)));
    }
    case 'half_pixel': return (x, s) => f(f(f(x + 0.5) / s) - 0.5);
    case 'pytorch_half_pixel': return (x, s, _i, o) => (o > 1 ? f(f(f(x + 0.5) / s) - 0.5) : 0);
    case 'asymmetric': return (x, s) => f(x / s);
    case 'tf_half_pixel_for_nn': return (x, s) => f(f(x + 0.5) / s);
    case 'align_corners': return (x, _s, i, o) => (o === 1 ? 0 : f(f(x * (i - 1)) / (o - 1)));
    default: throw new ZkmlError(`Resize coordinate_transformation_mode "${mode}" is not supported`, 'E_UNSUPPORTED', ctx.where);
  }
}

/** The nearest input pixel of a transformed coordinate. */
function nearest(mode: string, ctx: ShapeCtx): (x: number, scale: number) => number {
  switch (mode) {
    case 'round_prefer_floor': return (x) => (x === Math.floor(x) + 0.5 ? Math.floor(x) : Math.round(x));
    case 'round_prefer_ceil': return (x) => (x === Math.floor(x) + 0.5 ? Math.ceil(x) : Math.round(x));
    case 'floor': return Math.floor;
    case 'ceil': return Math.ceil;
    // Upsample and opset-10 Resize: truncation when upsampling, ceil when downsampling (onnxruntime's rule).
    case 'simple': return (x, s) => (s < 1 ? Math.ceil(x) : Math.trunc(x));
    default: throw new ZkmlError(`Resize nearest_mode "${mode}" is not supported`, 'E_UNSUPPORTED', ctx.where);
  }
}

/** nearest, linear (also Upsample's older name bilinear) or cubic. */
function modeOf(ctx: ShapeCtx): 'nearest' | 'linear' | 'cubic' {
  const mode = attrString(ctx.node, 'mode', 'nearest');
  if (mode === 'nearest') return mode;
  if (mode === 'linear' || mode === 'bilinear' || mode === 'cubic') {
    if (attrInt(ctx.node, 'antialias', 0) !== 0) throw new ZkmlError(`${ctx.node.opType} with antialias is not supported`, 'E_UNSUPPORTED', ctx.where);
    return mode === 'cubic' ? 'cubic' : 'linear';
  }
  throw new ZkmlError(`${ctx.node.opType} mode "${mode}" is not supported (only nearest, linear and cubic)`, 'E_UNSUPPORTED', ctx.where);
}

/** Keys's cubic convolution weights of the 4 pixels x0 − 1 .. x0 + 2 at fraction r (cubic_coeff_a = A). */
function cubicWeights(r: number, A: number): number[] {
  const far = (t: number) => ((A * t - 5 * A) * t + 8 * A) * t - 4 * A; // 1 <= t < 2
  const near = (t: number) => ((A + 2) * t - (A + 3)) * t * t + 1; // 0 <= t < 1
  return [far(r + 1), near(r), near(1 - r), far(2 - r)];
}

/** Resize/Upsample's per-axis output sizes and coordinate scales, from constant sizes or scales. */
function resizeGeometry(ctx: ShapeCtx): { shape: number[]; scales: number[]; legacy: boolean; whole: boolean } {
  const s = ctx.shapes[0];
  const op = ctx.node.opType;
  modeOf(ctx);
  if (ctx.node.attrs.has('axes')) throw new ZkmlError(`${op} with axes is not supported`, 'E_UNSUPPORTED', ctx.where);
  const legacy = op === 'Upsample' || ctx.opset < 11;
  const present = (i: number) => Boolean(ctx.node.inputs[i]) && (ctx.consts[i]?.data.length ?? 1) > 0;
  let scales: number[] | undefined;
  let sizes: number[] | undefined;
  if (op === 'Upsample' && ctx.opset < 9) scales = ctx.node.attrs.get('scales') as number[] | undefined;
  else if (legacy) scales = constInput(ctx, 1, `${op} scales`).data;
  else if (present(3)) sizes = constInput(ctx, 3, 'Resize sizes').data;
  else if (present(2)) scales = constInput(ctx, 2, 'Resize scales').data;
  const given = sizes ?? scales;
  if (!given || given.length !== s.length) throw new ZkmlError(`${op} needs ${s.length} scales or sizes (one per axis of [${s}]), got ${given ? `[${given}]` : 'none'}`, 'E_SHAPE', ctx.where);
  if (sizes) return { shape: sizes, scales: sizes.map((o, i) => f(o / s[i])), legacy, whole: true };
  if (scales!.some((x) => !(x > 0))) throw new ZkmlError(`${op} scales [${scales}] must be positive`, 'E_BAD_TENSOR', ctx.where);
  // `whole`: every input size × scale is an integer (the output size exactly).
  const whole = s.every((d, i) => Number.isInteger(f(d * scales![i])));
  return { shape: s.map((d, i) => Math.floor(f(d * scales![i]))), scales: scales!, legacy, whole };
}

/** The input coordinate transformation of the node (asymmetric for Upsample and opset-10 Resize). */
function transformOf(ctx: ShapeCtx, g: { legacy: boolean; whole: boolean }) {
  const mode = g.legacy ? 'asymmetric' : attrString(ctx.node, 'coordinate_transformation_mode', 'half_pixel');
  // align_corners divides by the resized length: onnxruntime takes the integer output size, the ONNX reference
  // the unrounded input size × scale. They differ unless that product is whole, so such a model is refused.
  if (mode === 'align_corners' && !g.whole) {
    throw new ZkmlError('Resize align_corners with scales whose input size × scale is not an integer is ambiguous (onnxruntime and the ONNX reference differ): give sizes instead', 'E_UNSUPPORTED', ctx.where);
  }
  return transform(mode, ctx);
}

/** tf_crop_and_resize's value outside the input (undefined for the other modes, which clamp to the edge). */
function extrapolationOf(ctx: ShapeCtx, g: { legacy: boolean }): number | undefined {
  const mode = g.legacy ? 'asymmetric' : attrString(ctx.node, 'coordinate_transformation_mode', 'half_pixel');
  return mode === 'tf_crop_and_resize' ? attrFloat(ctx.node, 'extrapolation_value', 0) : undefined;
}

const outside = (x: number, inDim: number) => x < 0 || x > inDim - 1;

function resizeMap(ctx: ShapeCtx): Mapping {
  const s = ctx.shapes[0];
  const g = resizeGeometry(ctx);
  const { shape, scales, legacy } = g;
  const toInput = transformOf(ctx, g);
  const round = nearest(legacy ? 'simple' : attrString(ctx.node, 'nearest_mode', 'round_prefer_floor'), ctx);
  // Per axis, the input coordinate of each output coordinate, clamped to the input.
  const extrapolation = extrapolationOf(ctx, g);
  // Per axis, the input pixel of each output coordinate (-1: outside the input, the extrapolation value).
  const pick = shape.map((o, d) => Array.from({ length: o }, (_, x) => {
    const at = toInput(x, scales[d], s[d], o, d);
    if (extrapolation !== undefined && outside(at, s[d])) return -1;
    return Math.min(Math.max(round(at, scales[d]), 0), s[d] - 1);
  }));
  const st = strides(shape);
  const inStrides = strides(s);
  return {
    shape,
    source(flat) {
      const coords = coordsOf(flat, shape, st).map((c, d) => pick[d][c]);
      return coords.includes(-1) ? { constant: extrapolation! } : { input: 0, index: flatOf(coords, inStrides) };
    },
  };
}

/**
 * Linear and cubic modes: per axis, the pixels around the input coordinate x (x0 = floor x) with their weights:
 * linear, x clamped to [0, in − 1], x0 and x0 + 1 with 1 − r and r; cubic, x0 − 1 .. x0 + 2 with Keys's weights
 * (pixels beyond the edge read the edge pixel, or with exclude_outside get weight 0 and the rest renormalized).
 * An output element is the product of its axes' weights over the corners. Returns each output element's
 * coefficients by input flat index.
 */
function weightedCoefficients(ctx: ShapeCtx): { shape: number[]; coeff: Map<number, number>[]; extrapolated: { flats: Set<number>; value: number } } {
  const s = ctx.shapes[0];
  const g = resizeGeometry(ctx);
  const { shape, scales } = g;
  const toInput = transformOf(ctx, g);
  const cubic = modeOf(ctx) === 'cubic';
  const A = attrFloat(ctx.node, 'cubic_coeff_a', -0.75);
  const excludeOutside = attrInt(ctx.node, 'exclude_outside', 0) === 1;
  const extrapolation = extrapolationOf(ctx, g);
  const perAxis = shape.map((o, d) =>
    Array.from({ length: o }, (_, c): [number, number][] => {
      const raw = toInput(c, scales[d], s[d], o, d);
      if (extrapolation !== undefined && outside(raw, s[d])) return [];
      const x = cubic ? raw : Math.min(Math.max(raw, 0), s[d] - 1);
      const x0 = Math.floor(x);
      const r = x - x0;
      const clamp = (i: number) => Math.min(Math.max(i, 0), s[d] - 1);
      if (!cubic) return r === 0 ? [[x0, 1]] : [[x0, 1 - r], [clamp(x0 + 1), r]];
      let taps = cubicWeights(r, A).map((w, j): [number, number] => [x0 - 1 + j, w]);
      if (excludeOutside) {
        taps = taps.filter(([i]) => i >= 0 && i < s[d]);
        const total = taps.reduce((a, [, w]) => a + w, 0);
        taps = taps.map(([i, w]) => [i, w / total]);
      }
      return taps.map(([i, w]) => [clamp(i), w]);
    }),
  );
  const st = strides(shape);
  const inStrides = strides(s);
  // Elements with a coordinate outside the input (tf_crop_and_resize): the extrapolation value, not a sum.
  const flats = new Set<number>();
  const coeff = Array.from({ length: sizeOf(shape) }, (_, flat) => {
    let terms = new Map<number, number>([[0, 1]]);
    coordsOf(flat, shape, st).forEach((c, d) => {
      if (perAxis[d][c].length === 0) flats.add(flat);
      const next = new Map<number, number>();
      for (const [at, w] of terms) for (const [x, v] of perAxis[d][c]) next.set(at + x * inStrides[d], (next.get(at + x * inStrides[d]) ?? 0) + w * v);
      terms = next;
    });
    return flats.has(flat) ? new Map<number, number>() : terms;
  });
  return { shape, coeff, extrapolated: { flats, value: extrapolation ?? 0 } };
}

const nearestResize = dataOp(['Resize', 'Upsample'], resizeMap);

/**
 * Resize/Upsample: nearest is wiring (0 constraints, exact); linear and cubic are linear maps with constant
 * weights, quantized to weightBits like a MatMul's (error: each weight's rounding, ½·2^-e, times its input,
 * summed; exact for power-of-two weights such as 2× linear upsampling), 0 constraints per element.
 */
const resize: OpDef = {
  ops: ['Resize', 'Upsample'],
  shapes: (ctx) => [resizeGeometry(ctx).shape],
  fold(ctx, inputs) {
    if (modeOf(ctx) === 'nearest') return nearestResize.fold!(ctx, inputs);
    const { shape, coeff, extrapolated } = weightedCoefficients(ctx);
    const data = coeff.map((m, o) => (extrapolated.flats.has(o) ? extrapolated.value : [...m].reduce((a, [i, w]) => a + w * inputs[0].data[i], 0)));
    return [{ dtype: inputs[0].dtype, dims: shape, data }];
  },
  lower(ctx) {
    const shapeCtx = shapeCtxOf(ctx);
    if (modeOf(shapeCtx) === 'nearest') return nearestResize.lower!(ctx);
    const { shape, coeff, extrapolated } = weightedCoefficients(shapeCtx);
    const y = linearMap(ctx, qInput(ctx, 0), shape, coeff);
    if (extrapolated.flats.size === 0) return [y];
    const value = Expr.constant(toFixed(extrapolated.value, y.exp, ctx.where));
    return [{ ...y, exprs: y.exprs.map((e, o) => (extrapolated.flats.has(o) ? value : e)) }];
  },
};

export const resizeOps: OpDef[] = [
  dataOp(['DepthToSpace'], depthToSpaceMap),
  dataOp(['SpaceToDepth'], spaceToDepthMap),
  resize,
];
