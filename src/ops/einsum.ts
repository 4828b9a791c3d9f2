import type { LowerCtx, OpDef, QTensor, ShapeCtx } from './op.ts';
import { isConst } from './common.ts';
import { attrString } from '../onnx/graph.ts';
import { sizeOf, strides, type Tensor } from '../onnx/tensor.ts';
import { Expr } from '../ir/expr.ts';
import { linearMap } from './params.ts';
import { bilinearOf } from './arith.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * Einsum with at most one computed operand. Every output element is Σ x[...]·c over the summed letters, c the
 * product of the constant operands' elements: a linear expression in the computed operand. Integer semantics:
 * the combined weights c (one per output and input element pair, summed over the other letters) are quantized
 * to weightBits like a MatMul's, the accumulator left for the next nonlinearity to requantize; error bound:
 * the weights' rounding times the inputs, as MatMul. With no constant operand (transpose, trace, sums) the
 * coefficients are exact integer counts: error 0. Cost 0 constraints per element (a product per term with
 * private parameters). Two computed operands and no constant one (a product of
 * activations, attention scores) lower to one product per term, requantized to the activation scale: ops/arith.ts.
 */
interface Spec {
  /** Letters of each operand, ellipsis axes expanded to the letters '0', '1', ... (aligned from the right). */
  inputs: string[][];
  output: string[];
  /** Size of each letter (broadcast: the largest; an operand's size-1 axis reads index 0). */
  sizes: Map<string, number>;
}

function parse(ctx: { node: ShapeCtx['node']; where: string }, shapes: number[][]): Spec {
  const equation = attrString(ctx.node, 'equation', '').replace(/\s+/g, '');
  const [lhs, rhs] = equation.split('->');
  const terms = lhs.split(',');
  if (terms.length !== shapes.length) throw new ZkmlError(`equation "${equation}" has ${terms.length} operands, the node ${shapes.length} inputs`, 'E_ATTR', ctx.where);
  const ellipsisRank = Math.max(0, ...terms.map((t, j) => (t.includes('...') ? shapes[j].length - t.replace('...', '').length : 0)));
  const ell = (n: number) => Array.from({ length: n }, (_, i) => String(ellipsisRank - n + i));
  const expand = (t: string, rank: number) => {
    const [a, b] = t.split('...');
    if (b === undefined) return [...a];
    return [...a, ...ell(rank - a.length - b.length), ...b];
  };
  const inputs = terms.map((t, j) => expand(t, shapes[j].length));
  const sizes = new Map<string, number>();
  inputs.forEach((letters, j) => {
    if (letters.length !== shapes[j].length) throw new ZkmlError(`operand ${j} "${terms[j]}" does not fit its shape [${shapes[j]}]`, 'E_SHAPE', ctx.where);
    letters.forEach((l, a) => {
      const d = shapes[j][a];
      const seen = sizes.get(l);
      if (seen !== undefined && seen !== d && seen !== 1 && d !== 1) throw new ZkmlError(`letter "${l}" has sizes ${seen} and ${d}`, 'E_SHAPE', ctx.where);
      sizes.set(l, Math.max(seen ?? 1, d));
    });
  });
  let output: string[];
  if (rhs !== undefined) output = expand(rhs, ellipsisRank + rhs.replace('...', '').length);
  else {
    // Implicit output: the ellipsis axes, then the letters used once, in alphabetical order.
    const count = new Map<string, number>();
    for (const l of inputs.flat()) if (!/[0-9]/.test(l)) count.set(l, (count.get(l) ?? 0) + 1);
    output = [...ell(ellipsisRank), ...[...count].filter(([, n]) => n === 1).map(([l]) => l).sort()];
  }
  for (const l of output) if (!sizes.has(l)) throw new ZkmlError(`output letter "${l}" appears in no operand`, 'E_ATTR', ctx.where);
  return { inputs, output, sizes };
}

/**
 * Visits every assignment of the letters: output flat index and each operand's flat index. Shared by folding
 * and lowering, so both compute the same sum.
 */
function forEachTerm(spec: Spec, shapes: number[][], visit: (o: number, at: number[]) => void): void {
  const letters = [...spec.sizes.keys()];
  const dims = letters.map((l) => spec.sizes.get(l)!);
  const pos = new Map(letters.map((l, i) => [l, i]));
  const outStrides = strides(spec.output.map((l) => spec.sizes.get(l)!));
  const opStrides = shapes.map((s) => strides(s));
  const coord = new Array(letters.length).fill(0);
  for (let n = 0; n < sizeOf(dims); n++) {
    for (let i = letters.length - 1, r = n; i >= 0; i--) {
      coord[i] = r % dims[i];
      r = Math.floor(r / dims[i]);
    }
    const o = spec.output.reduce((a, l, i) => a + coord[pos.get(l)!] * outStrides[i], 0);
    const at = spec.inputs.map((ls, j) => ls.reduce((a, l, i) => a + (shapes[j][i] === 1 ? 0 : coord[pos.get(l)!]) * opStrides[j][i], 0));
    visit(o, at);
  }
}

const outShape = (spec: Spec) => spec.output.map((l) => spec.sizes.get(l)!);

export const einsumOps: OpDef[] = [
  {
    ops: ['Einsum'],
    shapes: (ctx) => [outShape(parse(ctx, ctx.shapes))],
    fold(ctx, inputs: Tensor[]) {
      const shapes = inputs.map((t) => t.dims);
      const spec = parse(ctx, shapes);
      const data = new Array(sizeOf(outShape(spec))).fill(0);
      forEachTerm(spec, shapes, (o, at) => (data[o] += at.reduce((p, k, j) => p * inputs[j].data[k], 1)));
      return [{ dtype: inputs[0].dtype, dims: outShape(spec), data }];
    },
    lower(ctx: LowerCtx) {
      const computed = ctx.inputs.flatMap((v, j) => (v && !isConst(v) ? [j] : []));
      if (computed.length === 2 && ctx.inputs.length === 2) {
        // A product of two activations (attention scores): one product per term, requantized (ops/arith.ts).
        const [x, y] = computed.map((j) => (ctx.inputs[j] as { q: QTensor }).q);
        const spec = parse(ctx, [x.shape, y.shape]);
        return [bilinearOf(ctx, x, y, outShape(spec), (visit) => forEachTerm(spec, [x.shape, y.shape], (o, at) => visit(o, at[0], at[1])))];
      }
      if (computed.length !== 1) {
        throw new ZkmlError(`Einsum of ${computed.length} computed operands (inputs ${computed}) of ${ctx.inputs.length} is not supported: one computed operand with constants, or two computed operands alone`, 'E_UNSUPPORTED', ctx.where);
      }
      const xi = computed[0];
      const x = (ctx.inputs[xi] as { q: QTensor }).q;
      const shapes = ctx.inputs.map((v) => (isConst(v) ? v.tensor.dims : v!.q.shape));
      const spec = parse(ctx, shapes);
      // Combined coefficient of each (output, input element) pair, summed over the other letters.
      const coeff = Array.from({ length: sizeOf(outShape(spec)) }, () => new Map<number, number>());
      forEachTerm(spec, shapes, (o, at) => {
        const c = at.reduce((p, k, j) => (j === xi ? p : p * (ctx.inputs[j] as { tensor: Tensor }).tensor.data[k]), 1);
        coeff[o].set(at[xi], (coeff[o].get(at[xi]) ?? 0) + c);
      });
      if (ctx.inputs.length === 1) {
        // No constant operand: integer counts, exact, at the input's exponent.
        const exprs = coeff.map((m) => Expr.sum([...m].map(([i, c]) => [x.exprs[i], BigInt(c)])));
        return [{ shape: outShape(spec), exp: x.exp, exprs }];
      }
      return [linearMap(ctx, x, outShape(spec), coeff)];
    },
  },
];
