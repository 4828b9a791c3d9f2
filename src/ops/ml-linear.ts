import type { LowerCtx, OpDef } from './op.ts';
import { attrFloat, attrInt } from '../onnx/graph.ts';
import { Expr } from '../ir/expr.ts';
import { qInput, sameShapes } from './common.ts';
import { argExtremum, nonNegative } from './compare.ts';
import { linearMap } from './params.ts';
import { toFixed } from '../quantize/fixed.ts';
import { classLabels, deferredSoftmax, postTransform, rowsOf } from './ml-tree.ts';
import { binaryOutputs, deferredClassifierScores } from './ml-binary.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * ai.onnx.ml linear models and elementwise transforms: LinearRegressor, LinearClassifier, Scaler, Binarizer;
 * ZipMap is refused with the exporter option that avoids it.
 *
 * Integer semantics. LinearRegressor/LinearClassifier: scores = X·Wᵀ + b with the coefficients quantized as one
 * weight tensor (weightBits, exponent m: ops/params.ts linearMap) and the intercepts at the scores' exponent e + m;
 * error bound against the float op: Σ_f |x_f|·2^-(m+1) + 2^-(e+m+1) per score. Linear, so free (0 constraints).
 * The classifier's label is the first argmax of the scores (onnxruntime's strict >) over its integer labels:
 * (C−1)·(w+2) constraints per row, w the width of the score differences; exact unless two scores lie within
 * twice the bound. post_transform NONE is computed, SOFTMAX and LOGISTIC deferred on a final output (the circuit
 * proves the scores, the CLI derives the transform); PROBIT, SOFTMAX_ZERO and string labels are refused. One
 * coefficient row with two labels is the binary form (ops/ml-binary.ts: label by the margin's sign).
 * Scaler: (x − offset)·scale, the scale quantized like a weight: linear, free, error |x − offset|·2^-(m+1).
 * Binarizer: [x > threshold] as 0/1, exact on grid values (ops/logic.ts's threshold rule): one sign test of the
 * input's width per element.
 */

import type { Ctx } from "./ml-tree.ts";

function floats(ctx: Ctx, name: string, required: boolean): number[] {
  const v = ctx.node.attrs.get(name);
  if (v === undefined) {
    if (required) throw new ZkmlError(`${ctx.node.opType} needs the attribute ${name}`, 'E_ATTR', ctx.where);
    return [];
  }
  return Array.isArray(v) ? (v as number[]) : [v as number];
}

/** X·Wᵀ + b: coefficients [T·F] row-major per target, one intercept per target (or none). */
function affine(ctx: LowerCtx, targets: number) {
  const x = qInput(ctx, 0);
  const [rows, features] = rowsOf(ctx, x.shape);
  const coeffs = floats(ctx, 'coefficients', true);
  const intercepts = floats(ctx, 'intercepts', false);
  if (coeffs.length !== targets * features) throw new ZkmlError(`coefficients has ${coeffs.length} entries; expected ${targets} × ${features}`, 'E_ATTR', ctx.where);
  if (intercepts.length !== 0 && intercepts.length !== targets) throw new ZkmlError(`intercepts has ${intercepts.length} entries; expected ${targets}`, 'E_ATTR', ctx.where);
  const coeff = Array.from({ length: rows * targets }, (_, o) => {
    const [r, t] = [Math.floor(o / targets), o % targets];
    return new Map(Array.from({ length: features }, (_, f) => [r * features + f, coeffs[t * features + f]] as [number, number]));
  });
  const y = linearMap(ctx, { ...x, shape: [rows * features] }, [rows, targets], coeff);
  const exprs = y.exprs.map((e, o) => (intercepts.length ? e.addConst(toFixed(intercepts[o % targets], y.exp, ctx.where)) : e));
  return { rows, exp: y.exp, exprs };
}

const linearRegressor: OpDef = {
  ops: ['LinearRegressor'],
  domain: 'ai.onnx.ml',
  shapes: (ctx) => [[rowsOf(ctx, ctx.shapes[0])[0], attrInt(ctx.node, 'targets', 1)]],
  deferredFinal: deferredSoftmax(0),
  lower(ctx) {
    postTransform(ctx, !!ctx.deferFinal);
    const targets = attrInt(ctx.node, 'targets', 1);
    const y = affine(ctx, targets);
    return [{ shape: [y.rows, targets], exp: y.exp, exprs: y.exprs }];
  },
};

const linearClassifier: OpDef = {
  ops: ['LinearClassifier'],
  domain: 'ai.onnx.ml',
  shapes(ctx) {
    const rows = rowsOf(ctx, ctx.shapes[0])[0];
    const classes = floats(ctx, 'intercepts', false).length || floats(ctx, 'coefficients', true).length / rowsOf(ctx, ctx.shapes[0])[1];
    // One margin row for two labels: the binary form, which writes both classes' scores.
    const binary = classes === 1 && (ctx.node.attrs.get('classlabels_ints') as number[] | undefined)?.length === 2;
    return [[rows], [rows, binary ? 2 : classes]];
  },
  deferredFinal: deferredClassifierScores,
  lower(ctx) {
    const labels = classLabels(ctx, 'classlabels_ints');
    const rows = floats(ctx, 'coefficients', true).length / rowsOf(ctx, qInput(ctx, 0).shape)[1];
    if (rows === 1 && labels.length === 2) {
      // The binary form (skl2onnx's binary logistic regression): one margin row (ops/ml-binary.ts).
      const y = affine(ctx, 1);
      return binaryOutputs(ctx, y.exprs, y.exp, labels, { threshold: 0, complement: true });
    }
    postTransform(ctx, !!ctx.deferFinal, true);
    const C = ctx.outShapes[1]?.[1] ?? labels.length;
    if (C < 2 || labels.length !== C) {
      throw new ZkmlError(`${ctx.node.opType} with ${rows} coefficient row(s) and ${labels.length} labels is not supported: one row per class (2 or more), or one row for two classes`, 'E_UNSUPPORTED', ctx.where);
    }
    const y = affine(ctx, C);
    const label = Array.from({ length: y.rows }, (_, r) => argExtremum(ctx.program, y.exprs.slice(r * C, (r + 1) * C), ctx.node.name, 'max', false, labels));
    return [
      { shape: [y.rows], exp: 0, exprs: label },
      { shape: [y.rows, C], exp: y.exp, exprs: y.exprs },
    ];
  },
};

/** One value per feature (the last axis), or one for all. */
function perFeature(ctx: Ctx, name: string, features: number, dflt: number): number[] {
  const v = floats(ctx, name, false);
  if (v.length === 0) return new Array(features).fill(dflt);
  if (v.length === 1) return new Array(features).fill(v[0]);
  if (v.length !== features) throw new ZkmlError(`${name} has ${v.length} entries; expected 1 or ${features}`, 'E_ATTR', ctx.where);
  return v;
}

const scaler: OpDef = {
  ops: ['Scaler'],
  domain: 'ai.onnx.ml',
  shapes: sameShapes,
  lower(ctx) {
    const x = qInput(ctx, 0);
    const features = x.shape.at(-1) ?? 1;
    const scale = perFeature(ctx, 'scale', features, 1);
    const offset = perFeature(ctx, 'offset', features, 0);
    // (x − offset)·scale: the offset at the input's exponent (an exact shift when it is on the grid).
    const shifted = x.exprs.map((e, i) => e.addConst(-toFixed(offset[i % features], x.exp, ctx.where)));
    const coeff = shifted.map((_, i) => new Map([[i, scale[i % features]]]));
    return [linearMap(ctx, { ...x, exprs: shifted }, x.shape, coeff)];
  },
};

const binarizer: OpDef = {
  ops: ['Binarizer'],
  domain: 'ai.onnx.ml',
  shapes: sameShapes,
  lower(ctx) {
    const x = qInput(ctx, 0);
    const t = attrFloat(ctx.node, 'threshold', 0) * 2 ** x.exp;
    // x > t ⟺ X >= floor(t·2^e) + 1 on the grid.
    const T = BigInt(Math.floor(t) + 1);
    return [{ shape: x.shape, exp: 0, exprs: x.exprs.map((e) => nonNegative(ctx.program, Expr.sum([[e, 1n]]).addConst(-T), ctx.node.name)) }];
  },
};

const zipMap: OpDef = {
  ops: ['ZipMap'],
  domain: 'ai.onnx.ml',
  shapes(ctx) {
    throw new ZkmlError(
      'ZipMap outputs a sequence of maps (class → probability), which a circuit cannot hold: export the classifier without it (skl2onnx: options={id(model): {"zipmap": False}}) and read the probability tensor',
      'E_UNSUPPORTED',
      ctx.where,
    );
  },
};

export const mlLinearOps: OpDef[] = [linearRegressor, linearClassifier, scaler, binarizer, zipMap];
