import type { DeferredFinal, LowerCtx, OpDef, QTensor, ShapeCtx } from './op.ts';
import type { OnnxNode } from '../onnx/graph.ts';
import { attrInt, attrString } from '../onnx/graph.ts';
import type { Tensor } from '../onnx/tensor.ts';
import { Expr } from '../ir/expr.ts';
import { qInput } from './common.ts';
import { argExtremum, extremum, nonNegative, times, zeroTest } from './compare.ts';
import { toFixed, weightExp } from '../quantize/fixed.ts';
import { binaryOutputs, deferredClassifierScores } from './ml-binary.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * ai.onnx.ml TreeEnsembleRegressor and TreeEnsembleClassifier (ai.onnx.ml opsets 1 and 3: the `*_as_tensor`
 * attributes are read where the plain ones are absent), as skl2onnx and onnxmltools write random forests and
 * gradient-boosted trees.
 *
 * Integer semantics. X holds integers at exponent e (x = X·2^-e). Each split is one exact integer comparison of
 * X[feature] with the threshold's integer (the same rule as ops/logic.ts: x <= t ⟺ X <= floor(t·2^e),
 * x < t ⟺ X < ceil(t·2^e), x >= t ⟺ X >= ceil(t·2^e), x > t ⟺ X > floor(t·2^e), x = t ⟺ t·2^e is the integer X),
 * so on the grid values the circuit holds every split takes the branch onnxruntime takes (an input off the grid is
 * rounded to it first, so a split flips only for an input within 2^-(e+1) of its threshold). The inputs are
 * integers, never NaN, so missing_value_tracks_true never applies. A leaf's score is its weights quantized at one
 * exponent m (max(weightBits, 16) significant bits over every leaf weight and base value: they are free, AVERAGE folding its 1/n_trees into the weights):
 * score_k = Σ_trees Wq(reached leaf, k) + Bq_k, and MIN/MAX take the extremum over the trees' leaf weights.
 * Error bound against the float op on grid inputs: (n_trees + 1)·2^-(m+1) per score for SUM/AVERAGE (one rounded
 * weight per tree plus the base value), 2^-(m+1)·2 for MIN/MAX; the classifier's label is exact unless two class
 * scores lie within twice that bound (the integer argmax then breaks the tie by the first index, as onnxruntime's
 * strict > does on equal floats).
 *
 * The encoding (the cheapest sound one we know): each tree's leaves get a one-hot indicator, built top-down from
 * the split bits: ind(root) = 1, ind(true child) = ind(n)·b_n, ind(false child) = ind(n) − ind(true child). By
 * induction every indicator is boolean (a product of booleans, or a boolean times the complement of one), each
 * node's indicator is the sum of its children's, so exactly one leaf has indicator 1: the leaf the proven bits
 * lead to. The score is then linear in the indicators (Σ ind·weight, free: the weights are constants). A split
 * bit b_n is one sign test (gadgets/ge.ts) of X[feature] − T sized by the interval analysis; splits with the same
 * feature and integer threshold are shared across the whole ensemble (and EQ/NEQ splits are one zero test).
 * Cost per input row: Σ over distinct splits of w (the sign test's width, about the input's bit width; 2w for
 * EQ/NEQ) + one product per internal node whose indicator is not a constant (every internal node but the roots);
 * the classifier's label adds the argmax chain over C classes: (C−1)·(w'+2), w' the score differences' width.
 * MIN/MAX aggregates add (n_trees−1) comparisons per target (gadgets/max.ts).
 *
 * post_transform NONE is computed; SOFTMAX (and a classifier's LOGISTIC) on a final output is deferred like a
 * final Softmax (ops/softmax.ts: the circuit proves the scores, the CLI derives the probabilities, and the label
 * is the scores' argmax either way). SOFTMAX_ZERO and PROBIT are refused; so are string class labels (a circuit
 * holds no strings) and classes some input can reach with no score at all. Two classes follow onnxruntime's
 * binary rules (ops/ml-binary.ts), in the form exporters write: every leaf votes for class 0 with the margin.
 */

/** Significant bits of the leaf weights, at least (see scores()). */
const LEAF_BITS = 16;

const MODES = ['BRANCH_LEQ', 'BRANCH_LT', 'BRANCH_GTE', 'BRANCH_GT', 'BRANCH_EQ', 'BRANCH_NEQ', 'LEAF'] as const;
type Mode = (typeof MODES)[number];

interface TreeNode {
  id: number;
  mode: Mode;
  feature: number;
  value: number;
  trueId: number;
  falseId: number;
}

interface Tree {
  id: number;
  root: number;
  nodes: Map<number, TreeNode>;
  /** Leaf node id → its (target, weight) votes. */
  votes: Map<number, [number, number][]>;
}

interface Ensemble {
  trees: Tree[];
  targets: number;
  base: number[];
  aggregate: 'SUM' | 'AVERAGE' | 'MIN' | 'MAX';
}

export type Ctx = ShapeCtx | LowerCtx;

/** A list attribute; `name_as_tensor` (double thresholds and weights, opset 3) where the plain one is absent. */
function listAttr(ctx: Ctx, name: string, required: boolean, withTensor = false): number[] {
  const v = ctx.node.attrs.get(name) ?? (withTensor ? ctx.node.attrs.get(`${name}_as_tensor`) : undefined);
  if (v === undefined) {
    if (required) throw new ZkmlError(`${ctx.node.opType} needs the attribute ${name}`, 'E_ATTR', ctx.where);
    return [];
  }
  if (Array.isArray(v)) return v as number[];
  if (typeof v === 'object') return (v as Tensor).data;
  return [v as number];
}

function stringsAttr(ctx: Ctx, name: string): string[] | undefined {
  const v = ctx.node.attrs.get(name);
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.map(String) : [String(v)];
}

/** The ensemble the node's attributes describe, checked: same-length tuples, known modes, a tree per tree id. */
function ensembleOf(ctx: Ctx, prefix: 'target' | 'class', targets: number, features: number): Ensemble {
  const ids = {
    tree: listAttr(ctx, 'nodes_treeids', true),
    node: listAttr(ctx, 'nodes_nodeids', true),
    feature: listAttr(ctx, 'nodes_featureids', true),
    value: listAttr(ctx, 'nodes_values', true, true),
    trueId: listAttr(ctx, 'nodes_truenodeids', true),
    falseId: listAttr(ctx, 'nodes_falsenodeids', true),
  };
  const modes = stringsAttr(ctx, 'nodes_modes');
  const n = ids.tree.length;
  for (const [k, list] of Object.entries({ ...ids, modes: modes ?? [] })) {
    if (list.length !== n) throw new ZkmlError(`nodes_${k} has ${list.length} entries; nodes_treeids has ${n}`, 'E_ATTR', ctx.where);
  }
  const trees = new Map<number, Tree>();
  for (let i = 0; i < n; i++) {
    const mode = modes![i] as Mode;
    if (!MODES.includes(mode)) throw new ZkmlError(`node ${i} has mode "${mode}"; expected one of ${MODES.join(', ')}`, 'E_ATTR', ctx.where);
    const treeId = ids.tree[i];
    let tree = trees.get(treeId);
    // onnxruntime's rule: a tree's root is its first listed node.
    if (!tree) trees.set(treeId, (tree = { id: treeId, root: ids.node[i], nodes: new Map(), votes: new Map() }));
    if (tree.nodes.has(ids.node[i])) throw new ZkmlError(`tree ${treeId} lists node ${ids.node[i]} twice`, 'E_ATTR', ctx.where);
    if (mode !== 'LEAF' && (ids.feature[i] < 0 || ids.feature[i] >= features || !Number.isInteger(ids.feature[i]))) {
      throw new ZkmlError(`tree ${treeId} node ${ids.node[i]} tests feature ${ids.feature[i]}; the input has ${features}`, 'E_ATTR', ctx.where);
    }
    tree.nodes.set(ids.node[i], { id: ids.node[i], mode, feature: ids.feature[i], value: ids.value[i], trueId: ids.trueId[i], falseId: ids.falseId[i] });
  }
  const vTree = listAttr(ctx, `${prefix}_treeids`, true);
  const vNode = listAttr(ctx, `${prefix}_nodeids`, true);
  const vTarget = listAttr(ctx, `${prefix}_ids`, true);
  const vWeight = listAttr(ctx, `${prefix}_weights`, true, true);
  if (![vNode, vTarget, vWeight].every((l) => l.length === vTree.length)) {
    throw new ZkmlError(`${prefix}_treeids, _nodeids, _ids and _weights must have one length`, 'E_ATTR', ctx.where);
  }
  vTree.forEach((t, i) => {
    const leaf = trees.get(t)?.nodes.get(vNode[i]);
    if (!leaf || leaf.mode !== 'LEAF') throw new ZkmlError(`${prefix} weight ${i} is for tree ${t} node ${vNode[i]}, which is no leaf`, 'E_ATTR', ctx.where);
    if (!Number.isInteger(vTarget[i]) || vTarget[i] < 0 || vTarget[i] >= targets) {
      throw new ZkmlError(`${prefix} weight ${i} is for ${prefix} ${vTarget[i]}; there are ${targets}`, 'E_ATTR', ctx.where);
    }
    const tree = trees.get(t)!;
    tree.votes.set(vNode[i], [...(tree.votes.get(vNode[i]) ?? []), [vTarget[i], vWeight[i]]]);
  });
  const base = listAttr(ctx, 'base_values', false, true);
  const aggregate = attrString(ctx.node, 'aggregate_function', 'SUM');
  if (!['SUM', 'AVERAGE', 'MIN', 'MAX'].includes(aggregate)) throw new ZkmlError(`aggregate_function "${aggregate}" is not one of SUM, AVERAGE, MIN, MAX`, 'E_ATTR', ctx.where);
  return { trees: [...trees.values()], targets, base, aggregate: aggregate as Ensemble['aggregate'] };
}

/** Rows and features of X: [N, F], or [F] as one row (as onnxruntime reads it). */
export function rowsOf(ctx: Ctx, shape: number[]): [number, number] {
  if (shape.length === 2) return [shape[0], shape[1]];
  if (shape.length === 1) return [1, shape[0]];
  throw new ZkmlError(`${ctx.node.opType} takes X of shape [N, F] or [F], got [${shape}]`, 'E_SHAPE', ctx.where);
}

/** The leaves of a tree in the order a walk from the root meets them, checking it is a tree. */
function walk(ctx: Ctx, tree: Tree, visit: (n: TreeNode) => void): void {
  const seen = new Set<number>();
  const stack = [tree.root];
  while (stack.length) {
    const id = stack.pop()!;
    const n = tree.nodes.get(id);
    if (!n) throw new ZkmlError(`tree ${tree.id} refers to node ${id}, which it does not list`, 'E_ATTR', ctx.where);
    if (seen.has(id)) throw new ZkmlError(`tree ${tree.id} reaches node ${id} twice: not a tree`, 'E_ATTR', ctx.where);
    seen.add(id);
    visit(n);
    if (n.mode !== 'LEAF') stack.push(n.falseId, n.trueId);
  }
}

const isTarget = (votes: [number, number][] | undefined, k: number) => (votes ?? []).some(([t]) => t === k);

/** Every input reaches, in at least one tree, a leaf voting for target k (or a base value scores it). */
function alwaysScored(ctx: Ctx, e: Ensemble, k: number): boolean {
  if (e.base.length > k) return true;
  return e.trees.some((tree) => {
    let all = true;
    walk(ctx, tree, (n) => {
      if (n.mode === 'LEAF' && !isTarget(tree.votes.get(n.id), k)) all = false;
    });
    return all;
  });
}

/** Refuses a post_transform the op cannot prove: SOFTMAX (and a classifier's LOGISTIC) only when deferred. */
export function postTransform(ctx: Ctx, deferred: boolean, classifier = false): void {
  const t = attrString(ctx.node, 'post_transform', 'NONE');
  const derivable = t === 'SOFTMAX' || (classifier && t === 'LOGISTIC');
  if (t === 'NONE' || (derivable && deferred)) return;
  const why = derivable ? `${t} is supported only on a final output (the circuit proves the scores)` : `${t} is not supported`;
  throw new ZkmlError(`${ctx.node.opType} post_transform ${why}; export with post_transform NONE (the label is unchanged)`, 'E_UNSUPPORTED', ctx.where);
}

export const deferredSoftmax = (output: number) => (node: OnnxNode): DeferredFinal | undefined =>
  attrString(node, 'post_transform', 'NONE') === 'SOFTMAX' ? { output, op: 'Softmax', axis: 1 } : undefined;

/** [x OP t] for the integer X of x at exponent e (see the header): a shared sign or zero test. */
function splitBit(ctx: LowerCtx, cache: Map<string, Expr>, x: Expr, key: string, mode: Mode, value: number, e: number): Expr {
  const t = value * 2 ** e;
  const node = ctx.node.name;
  const geq = (T: number) => {
    const k = `${key}>=${T}`;
    if (!cache.has(k)) cache.set(k, nonNegative(ctx.program, x.addConst(BigInt(-T)), node));
    return cache.get(k)!;
  };
  const not = (b: Expr) => Expr.sum([[b, -1n]]).addConst(1n);
  const eq = () => {
    if (!Number.isInteger(t)) return Expr.constant(0n);
    const k = `${key}==${t}`;
    if (!cache.has(k)) cache.set(k, zeroTest(ctx.program, x.addConst(BigInt(-t)), node));
    return cache.get(k)!;
  };
  if (!Number.isFinite(t)) throw new ZkmlError(`split threshold ${value} is not finite`, 'E_ATTR', ctx.where);
  switch (mode) {
    case 'BRANCH_LEQ': return not(geq(Math.floor(t) + 1));
    case 'BRANCH_LT': return not(geq(Math.ceil(t)));
    case 'BRANCH_GTE': return geq(Math.ceil(t));
    case 'BRANCH_GT': return geq(Math.floor(t) + 1);
    case 'BRANCH_EQ': return eq();
    case 'BRANCH_NEQ': return not(eq());
    default: throw new ZkmlError('a leaf has no split', 'E_INTERNAL', ctx.where);
  }
}

/** Per tree, each leaf's one-hot indicator for row `row` (see the header for the encoding). */
function leafIndicators(ctx: LowerCtx, e: Ensemble, x: QTensor, row: number, features: number): Map<number, Expr>[] {
  const cache = new Map<string, Expr>();
  return e.trees.map((tree) => {
    const ind = new Map<number, Expr>([[tree.root, Expr.constant(1n)]]);
    const leaves = new Map<number, Expr>();
    walk(ctx, tree, (n) => {
      const here = ind.get(n.id)!;
      if (n.mode === 'LEAF') return void leaves.set(n.id, here);
      const b = splitBit(ctx, cache, x.exprs[row * features + n.feature], `${n.feature}`, n.mode, n.value, x.exp);
      const onTrue = times(ctx.program, here, b, ctx.node.name);
      ind.set(n.trueId, onTrue);
      ind.set(n.falseId, Expr.sum([[here, 1n], [onTrue, -1n]]));
    });
    return leaves;
  });
}

/** The scores [N, targets] at one weight exponent m (see the header). */
function scores(ctx: LowerCtx, e: Ensemble): { exprs: Expr[]; exp: number; rows: number } {
  const x = qInput(ctx, 0);
  const [rows, features] = rowsOf(ctx, x.shape);
  if (e.base.length !== 0 && e.base.length !== e.targets) {
    throw new ZkmlError(`base_values has ${e.base.length} entries; expected none or one per ${ctx.node.opType.includes('Classifier') ? 'class' : 'target'} (${e.targets})`, 'E_ATTR', ctx.where);
  }
  const divide = e.aggregate === 'AVERAGE' ? e.trees.length : 1;
  const all = [...e.trees.flatMap((t) => [...t.votes.values()].flat().map(([, w]) => w / divide)), ...e.base];
  // Leaf weights enter the scores linearly (free), so they keep at least LEAF_BITS significant bits: only the
  // label's comparisons grow with them, by a few constraints per class.
  const m = weightExp(all, Math.max(ctx.opts.weightBits, LEAF_BITS), ctx.opts.maxWeightExp);
  const q = (w: number) => toFixed(w, m, ctx.where);
  const extreme = e.aggregate === 'MIN' ? 'min' : e.aggregate === 'MAX' ? 'max' : undefined;
  const exprs: Expr[] = [];
  for (let r = 0; r < rows; r++) {
    const leaves = leafIndicators(ctx, e, x, r, features);
    for (let k = 0; k < e.targets; k++) {
      // Tree t's vote for target k: Σ over its leaves of indicator · weight (summed where a leaf votes twice).
      const perTree = e.trees.map((tree, t) => {
        const terms: [Expr, bigint][] = [];
        for (const [leaf, ind] of leaves[t]) {
          const w = (tree.votes.get(leaf) ?? []).filter(([c]) => c === k).reduce((s, [, v]) => s + v / divide, 0);
          if (w !== 0) terms.push([ind, q(w)]);
        }
        return Expr.sum(terms).untracked(); // rounded leaf weights (ir/expr.ts tracking)
      });
      let score: Expr;
      if (extreme) {
        const voting = e.trees.filter((tree) => [...tree.votes.keys()].length > 0);
        for (const tree of voting) {
          walk(ctx, tree, (n) => {
            const votes = (tree.votes.get(n.id) ?? []).filter(([c]) => c === k);
            if (n.mode === 'LEAF' && votes.length !== 1) {
              throw new ZkmlError(`aggregate_function ${e.aggregate} needs each leaf of a voting tree to vote once for target ${k}; tree ${tree.id} leaf ${n.id} votes ${votes.length} times`, 'E_UNSUPPORTED', ctx.where);
            }
          });
        }
        score = extremum(ctx.program, voting.map((tree) => perTree[e.trees.indexOf(tree)]), ctx.node.name, extreme);
      } else score = Expr.sum(perTree.map((s) => [s, 1n]));
      exprs.push(e.base.length ? score.addConst(q(e.base[k])) : score);
    }
  }
  return { exprs, exp: m, rows };
}

const regressor: OpDef = {
  ops: ['TreeEnsembleRegressor'],
  domain: 'ai.onnx.ml',
  shapes: (ctx) => [[rowsOf(ctx, ctx.shapes[0])[0], attrInt(ctx.node, 'n_targets', 1)]],
  deferredFinal: deferredSoftmax(0),
  lower(ctx) {
    postTransform(ctx, !!ctx.deferFinal);
    const targets = attrInt(ctx.node, 'n_targets', 1);
    const e = ensembleOf(ctx, 'target', targets, rowsOf(ctx, qInput(ctx, 0).shape)[1]);
    const s = scores(ctx, e);
    return [{ shape: [s.rows, targets], exp: s.exp, exprs: s.exprs }];
  },
};

/** Integer class labels; string labels are refused (a circuit holds no strings). */
export function classLabels(ctx: Ctx, intsName: string): bigint[] {
  if (ctx.node.attrs.has('classlabels_strings')) {
    throw new ZkmlError(
      `${ctx.node.opType} has string class labels (classlabels_strings): a circuit holds integers only; re-export the model with integer labels (e.g. train on label indices)`,
      'E_UNSUPPORTED',
      ctx.where,
    );
  }
  const labels = listAttr(ctx, intsName, true);
  return labels.map((l) => BigInt(l));
}

/**
 * Two classes: onnxruntime's rules (ops/ml-binary.ts) for the form exporters write, every leaf voting for
 * class 0 with the margin of class 1; leaves voting for class 1 get labels that are not the classes' (measured:
 * label 1 or 0 by the sign of the class-1 score), so they are refused.
 */
function binaryEnsemble(ctx: LowerCtx, e: Ensemble, labels: bigint[]): QTensor[] {
  const votes = e.trees.flatMap((t) => [...t.votes.values()].flat());
  if (votes.some(([k]) => k !== 0)) {
    throw new ZkmlError(
      `${ctx.node.opType} with two classes whose leaves vote for class 1 is not supported: onnxruntime then labels rows 1 or 0 by the sign of the class-1 score, not by classlabels; exporters (skl2onnx, onnxmltools) write every vote for class 0`,
      'E_UNSUPPORTED',
      ctx.where,
    );
  }
  if (e.base.length > 1) {
    throw new ZkmlError(`${ctx.node.opType} with two classes and ${e.base.length} base_values is not supported: onnxruntime's rule for it ignores base_values[0]; export one base value (the margin's)`, 'E_UNSUPPORTED', ctx.where);
  }
  const probability = votes.every(([, w]) => w >= 0);
  const s = scores(ctx, { ...e, targets: 1 });
  return binaryOutputs(ctx, s.exprs, s.exp, labels, { threshold: probability ? 0.5 : 0, complement: probability });
}

const classifier: OpDef = {
  ops: ['TreeEnsembleClassifier'],
  domain: 'ai.onnx.ml',
  shapes(ctx) {
    const rows = rowsOf(ctx, ctx.shapes[0])[0];
    const classes = ctx.node.attrs.has('classlabels_strings') ? stringsAttr(ctx, 'classlabels_strings')!.length : listAttr(ctx, 'classlabels_int64s', true).length;
    return [[rows], [rows, classes]];
  },
  deferredFinal: deferredClassifierScores,
  lower(ctx) {
    const labels = classLabels(ctx, 'classlabels_int64s');
    if (labels.length < 2) throw new ZkmlError(`${ctx.node.opType} with ${labels.length} class is not supported: a classifier needs 2 or more classes`, 'E_UNSUPPORTED', ctx.where);
    const e = ensembleOf(ctx, 'class', labels.length, rowsOf(ctx, qInput(ctx, 0).shape)[1]);
    if (e.aggregate !== 'SUM') throw new ZkmlError('a classifier aggregates by SUM', 'E_ATTR', ctx.where);
    if (labels.length === 2) return binaryEnsemble(ctx, e, labels);
    postTransform(ctx, !!ctx.deferFinal, true);
    const unscored = labels.findIndex((_, k) => !alwaysScored(ctx, e, k));
    if (unscored >= 0) {
      throw new ZkmlError(`class ${unscored} has no base value and no tree whose every leaf votes for it: some inputs give it no score, which onnxruntime leaves out of the argmax`, 'E_UNSUPPORTED', ctx.where);
    }
    // onnxruntime adds only the base values it has (fewer than the classes: the first ones).
    const s = scores(ctx, { ...e, base: e.base.length ? [...e.base, ...new Array(Math.max(0, labels.length - e.base.length)).fill(0)] : [] });
    const C = labels.length;
    const label = Array.from({ length: s.rows }, (_, r) => argExtremum(ctx.program, s.exprs.slice(r * C, (r + 1) * C), ctx.node.name, 'max', false, labels));
    return [
      { shape: [s.rows], exp: 0, exprs: label },
      { shape: [s.rows, C], exp: s.exp, exprs: s.exprs },
    ];
  },
};

export const mlTreeOps: OpDef[] = [regressor, classifier];
