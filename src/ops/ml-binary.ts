import type { LowerCtx, QTensor } from './op.ts';
import type { OnnxNode } from '../onnx/graph.ts';
import type { DeferredFinal } from './op.ts';
import { attrString } from '../onnx/graph.ts';
import { Expr } from '../ir/expr.ts';
import { nonNegative } from './compare.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * onnxruntime's two-class outputs for ai.onnx.ml classifiers, whose model holds one margin s per row instead
 * of a score per class: the one-coefficient-row LinearClassifier (skl2onnx's binary logistic regression) and
 * the TreeEnsembleClassifier whose leaves all vote for class 0 (skl2onnx, onnxmltools: binary gradient boosting,
 * XGBoost, LightGBM and random forests). Measured on onnxruntime, not read from the spec (which is silent):
 *
 *   label  = labels[1] if s > t else labels[0], t = 0.5 for a tree ensemble whose weights are all
 *            non-negative (the margin is a probability), else 0;
 *   scores = [1 − s, s] (post_transform NONE, a probability margin or the linear classifier),
 *            [−s, s]   (NONE, a signed tree margin),
 *            [σ(−s), σ(s)] (LOGISTIC, both forms).
 *
 * Integer semantics: S = s·2^e exactly as the model computes it; the label is one sign test of S − T with
 * T = floor(t·2^e) + 1 (s > t ⟺ S ≥ T on the grid), so it equals onnxruntime's unless s lies within the margin's
 * error bound of t. The scores are linear in S (free); LOGISTIC is deferred like a final Softmax (the circuit
 * proves [−S, S], `zkml run`/`prove` derive σ of each), so it is supported on a final output only.
 * Cost per row: one sign test of S's width (about its bit width + 2 constraints).
 */

export type BinaryForm = { threshold: 0 | 0.5; complement: boolean };

/** LOGISTIC scores of a classifier are derived (σ of each proven value); SOFTMAX ones as a final Softmax. */
export const deferredClassifierScores = (node: OnnxNode): DeferredFinal | undefined => {
  const t = attrString(node, 'post_transform', 'NONE');
  if (t === 'SOFTMAX') return { output: 1, op: 'Softmax', axis: 1 };
  if (t === 'LOGISTIC') return { output: 1, op: 'Sigmoid', axis: 1 };
  return undefined;
};

/** The label and the [N, 2] scores of a binary classifier from its margins (one Expr per row at exponent exp). */
export function binaryOutputs(ctx: LowerCtx, margins: Expr[], exp: number, labels: bigint[], form: BinaryForm): QTensor[] {
  const t = attrString(ctx.node, 'post_transform', 'NONE');
  if (t !== 'NONE' && !(t === 'LOGISTIC' && ctx.deferFinal)) {
    const why = t === 'LOGISTIC' ? 'LOGISTIC is supported only when the scores are a final output (the circuit proves the margin)' : `${t} is not supported for its two-class form`;
    throw new ZkmlError(`${ctx.node.opType} post_transform ${why}; export with post_transform NONE or LOGISTIC (the label is unchanged)`, 'E_UNSUPPORTED', ctx.where);
  }
  if (exp < 0) throw new ZkmlError(`the margin's exponent ${exp} is negative`, 'E_INTERNAL', ctx.where);
  const T = BigInt(Math.floor(form.threshold * 2 ** exp) + 1);
  const [l0, l1] = labels;
  const label = margins.map((s) => {
    const above = nonNegative(ctx.program, s.addConst(-T), ctx.node.name);
    return Expr.sum([[above, l1 - l0]]).addConst(l0);
  });
  const negated = (s: Expr) => Expr.sum([[s, -1n]]);
  const first = t === 'NONE' && form.complement ? (s: Expr) => negated(s).addConst(1n << BigInt(exp)) : negated;
  return [
    { shape: [margins.length], exp: 0, exprs: label },
    { shape: [margins.length, 2], exp, exprs: margins.flatMap((s) => [first(s), s]) },
  ];
}
