import type { LowerCtx, OpDef, QTensor, ShapeCtx } from './op.ts';
import { constInput, qInput } from './common.ts';
import { addBias, dot, weights, type Weights } from './params.ts';
import { smoothOne } from './nonlinear.ts';
import { attrInt, attrString, type OnnxNode } from '../onnx/graph.ts';
import { Expr } from '../ir/expr.ts';
import { toFixed, weightExp } from '../quantize/fixed.ts';
import { requantize } from '../quantize/requantize.ts';
import { product } from '../gadgets/product.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * Recurrent ops LSTM, GRU and RNN (opsets 7 and 14), unrolled over the static sequence length: every time step
 * is its own copy of the cell in the circuit. Directions forward, reverse and bidirectional, layout 0 and 1, the
 * default activations only (LSTM Sigmoid/Tanh/Tanh, GRU Sigmoid/Tanh, RNN Tanh), optional B, initial_h,
 * initial_c (constant or computed), LSTM peepholes P, GRU linear_before_reset 0 and 1. sequence_lens must equal
 * the sequence length everywhere: a constant, or a computed tensor the interval analysis proves to be that
 * constant (shorter or data-dependent lengths would make the outputs depend on a length the circuit does not
 * fix); `clip` and LSTM `input_forget` are refused.
 *
 * Integer semantics (s = --scale, every state h, c at exponent s):
 * - Gate pre-activation: W·x_t + R·h_{t-1} + Wb + Rb (+ P⊙c for peepholes) is one exact linear expression.
 *   W, R and P are quantized per direction like a MatMul's weights (weightBits significant bits, exponents e_W,
 *   e_R, e_P); the terms are aligned upward to the largest exponent (exact), the bias quantized at that exponent.
 *   No constraint (one product per weight and step with --param-visibility hashed/private). Computed W, R, B, P
 *   (graph inputs, or computed from them) enter at their own exponents, each weight × activation one product
 *   constraint per step (G·H·(I + H) per step and direction), no extra rounding.
 * - Sigmoid, Tanh: the op's own encoding (ops/nonlinear.ts smoothOne: the cheapest piecewise polynomial of order
 *   2-4 over the pre-activation's interval, saturating at both ends), then requantized to s.
 * - Gate × state: one product constraint each, requantized back to s so that the width does not grow with the
 *   sequence. LSTM: c_t = round((f⊙c_{t-1} + i⊙g)·2^-s) (the two products summed before one requantization),
 *   h_t = round(o⊙tanh(c_t)·2^-s). GRU: h_t = round((ĥ·2^s + z⊙(h_{t-1} - ĥ))·2^-s), the ONNX
 *   (1-z)⊙ĥ + z⊙h_{t-1} with one product; ĥ = tanh(W_h·x + R_h·round(r⊙h_{t-1}·2^-s) + ...) for
 *   linear_before_reset 0, tanh(W_h·x + Wb_h + r⊙(R_h·h_{t-1} + Rb_h)) for 1 (that product enters the tanh's
 *   table at its own exponent, no requantization). RNN: h_t = tanh(...) at s.
 * - Rounding is round half up (gadgets/requant.ts).
 *
 * Error bound against the float op, per step and unit, given exact inputs and state: each activation is off by
 * at most ε = ε_table + 2^-(s+1) (ε_table the encoding's stated bound, smoothEncoding in ops/nonlinear.ts), each
 * requantized product by 2^-(s+1), and the pre-activations by Σ|x_k|·2^-(e_W+1) + Σ|h_k|·2^-(e_R+1) from the
 * weights' rounding. LSTM: |Δc_t| <= ε·|c_{t-1}| + 2ε + 2^-(s+1), |Δh_t| <= 2ε + |Δc_t| + 2^-(s+1) (σ and tanh
 * are 1-Lipschitz in value, |i|, |o|, |g| <= 1). GRU: |Δh_t| <= |Δĥ| + 2ε + 2^-(s+1) (|h - ĥ| <= 2), with
 * |Δĥ| <= ε + ‖R_h‖∞·(ε·‖h_{t-1}‖∞ + 2^-(s+1)) for lbr 0 (the requantized r⊙h enters R_h) and
 * |Δĥ| <= ε + ε·|R_h·h_{t-1} + Rb_h| for lbr 1. RNN: |Δh_t| <= ε. Over T steps these local errors add up, each
 * carried forward by the cell's Lipschitz constant in its state (about ‖R‖∞/4 through a Sigmoid gate, ‖R‖∞
 * through a Tanh): a contracting cell keeps the sum bounded, a trained one with large R amplifies it (the demo
 * model: 0.015 on its output at s = 8, 0.0003 at s = 10); the tests measure the total against onnxruntime.
 *
 * Cost per hidden unit per time step (and per direction and batch row): each Sigmoid/Tanh costs its encoding (the
 * cell split, a one-hot over the cells the pre-activation's interval reaches, the polynomial's products and its
 * requantization; smoothEncoding gives the count), a requantized product 1 + its requantization (about 2s + 2
 * bits). LSTM: 3 Sigmoid + 2 Tanh + 3 products + 2 requantizations; GRU: 2 Sigmoid + 1 Tanh + 2 products (+ 1
 * requantization with lbr 0) + 1 requantization; RNN: 1 Tanh. Measured at s = 8 with weights in ±0.5, inputs in
 * [-1, 1], hidden 3 (test/ops-recurrent.test.ts prints them): LSTM ≈ 750 (bidirectional, with peepholes), GRU ≈
 * 470 to 640, RNN ≈ 140 constraints per unit and step. The trained demonstration LSTM (fixtures/lstm-regressor.ts,
 * weights up to 2.3): 23,943 constraints for 8 steps × 4 units at s = 8; at s = 16 the polynomial encodings keep
 * it near 42k (the former tangent tables' one-hot over every grid node made it ~349k).
 */

type Cell = 'LSTM' | 'GRU' | 'RNN';
const GATES: Record<Cell, number> = { LSTM: 4, GRU: 3, RNN: 1 };
const DEFAULT_ACTIVATIONS: Record<Cell, string[]> = { LSTM: ['Sigmoid', 'Tanh', 'Tanh'], GRU: ['Sigmoid', 'Tanh'], RNN: ['Tanh'] };

/** Sizes and attributes of one recurrent node. */
interface Spec {
  cell: Cell;
  /** Per direction: runs from the last step to the first. */
  reverse: boolean[];
  layout: number;
  /** Sequence length, batch, input size, hidden size. */
  S: number;
  B: number;
  I: number;
  H: number;
}

function spec(node: OnnxNode, where: string, x: number[], w: number[]): Spec {
  const cell = node.opType as Cell;
  const direction = attrString(node, 'direction', 'forward');
  const reverse = { forward: [false], reverse: [true], bidirectional: [false, true] }[direction];
  if (!reverse) throw new ZkmlError(`direction "${direction}" is not forward, reverse or bidirectional`, 'E_ATTR', where);
  const layout = attrInt(node, 'layout', 0);
  if (layout !== 0 && layout !== 1) throw new ZkmlError(`layout ${layout} is not 0 or 1`, 'E_ATTR', where);
  if (x.length !== 3) throw new ZkmlError(`X must be 3-D, got [${x}]`, 'E_SHAPE', where);
  const [S, B] = layout === 0 ? [x[0], x[1]] : [x[1], x[0]];
  const I = x[2];
  const G = GATES[cell];
  if (w.length !== 3 || w[0] !== reverse.length || w[1] % G !== 0 || w[2] !== I) {
    throw new ZkmlError(`W must be [${reverse.length}, ${G}·hidden_size, ${I}] (${direction}, input size ${I}), got [${w}]`, 'E_SHAPE', where);
  }
  const H = w[1] / G;
  const hidden = attrInt(node, 'hidden_size');
  if (hidden !== undefined && hidden !== H) throw new ZkmlError(`hidden_size ${hidden} but W has ${G}·${H} rows`, 'E_SHAPE', where);
  // Only the default activations (the only ones exporters write); alpha/beta do not apply to Sigmoid/Tanh.
  const acts = node.attrs.get('activations') as string[] | undefined;
  const expected = reverse.flatMap(() => DEFAULT_ACTIVATIONS[cell]);
  if (acts && (acts.length !== expected.length || acts.some((a, i) => a.toLowerCase() !== expected[i].toLowerCase()))) {
    throw new ZkmlError(`activations [${acts}] are not supported: only the defaults [${expected}]`, 'E_UNSUPPORTED', where);
  }
  if (node.attrs.has('clip')) throw new ZkmlError('the clip attribute (cell clipping) is not supported', 'E_UNSUPPORTED', where);
  if (cell === 'LSTM' && attrInt(node, 'input_forget', 0) !== 0) throw new ZkmlError('input_forget = 1 (coupled input and forget gates) is not supported', 'E_UNSUPPORTED', where);
  return { cell, reverse, layout, S, B, I, H };
}

/** Output shapes: Y, then Y_h (and Y_c for LSTM). */
function shapesOf(sp: Spec): number[][] {
  const D = sp.reverse.length;
  const Y = sp.layout === 0 ? [sp.S, D, sp.B, sp.H] : [sp.B, sp.S, D, sp.H];
  const state = sp.layout === 0 ? [D, sp.B, sp.H] : [sp.B, D, sp.H];
  return sp.cell === 'LSTM' ? [Y, state, state] : [Y, state];
}

/** A linear expression and its exponent. */
interface Part {
  e: Expr;
  exp: number;
}

/** Σ parts at the largest exponent: the others are multiplied up by powers of two (exact). */
function combine(parts: Part[]): Part {
  const exp = Math.max(...parts.map((p) => p.exp));
  return { e: Expr.sum(parts.map((p) => [p.e, 1n << BigInt(exp - p.exp)])), exp };
}

/** One direction's weights as integers (or parameter signals). */
interface DirWeights {
  W: Weights;
  wExp: number;
  R: Weights;
  rExp: number;
  P?: Weights;
  pExp: number;
  /** Bias entries and the exponent of each (see biasLayout). */
  bias?: Weights;
  biasExp: number[];
}

class Unroll {
  readonly sp: Spec;
  readonly s: number;
  readonly node: string;
  readonly x: QTensor;

  constructor(readonly ctx: LowerCtx) {
    this.x = qInput(ctx, 0);
    const w = ctx.inputs[1];
    if (!w) throw new ZkmlError('input 1 (W) is missing', 'E_GRAPH', ctx.where);
    this.sp = spec(ctx.node, ctx.where, this.x.shape, w.kind === 'const' ? w.tensor.dims : w.q.shape);
    this.s = ctx.opts.scale;
    this.node = ctx.node.name;
    this.checkSequenceLens();
  }

  /**
   * sequence_lens: all steps of every batch row, or a refusal. A computed sequence_lens is accepted when the
   * interval analysis proves every element is the constant S (its interval is the single point S·2^exp, e.g.
   * a Shape-derived length); otherwise the length is data-dependent: it would choose which steps count, and the
   * unrolled circuit fixes them.
   */
  private checkSequenceLens(): void {
    if (!this.ctx.node.inputs[4]) return;
    const v = this.ctx.inputs[4];
    if (v && v.kind !== 'const') {
      const q = v.q;
      const proven = q.scale === undefined && q.exp >= 0 && q.exprs.every((e) => {
        const [lo, hi] = this.ctx.program.bounds(e);
        return lo === hi && lo === BigInt(this.sp.S) << BigInt(q.exp);
      });
      if (!proven) {
        throw new ZkmlError(
          `sequence_lens (input 4, "${this.ctx.node.inputs[4]}") is computed and not provably the sequence length ${this.sp.S} for every batch row: a data-dependent sequence length is not supported (the unrolled circuit fixes the number of steps)`,
          'E_UNSUPPORTED',
          this.ctx.where,
        );
      }
      return;
    }
    const lens = constInput(this.ctx, 4, 'sequence_lens');
    const short = lens.data.findIndex((v) => v !== this.sp.S);
    if (short >= 0) {
      throw new ZkmlError(
        `sequence_lens [${lens.data}] must equal the sequence length ${this.sp.S} for every batch row: shorter sequences (padding) are not supported`,
        'E_UNSUPPORTED',
        this.ctx.where,
      );
    }
  }

  /** X[t, b, :] in either layout. */
  xAt(t: number, b: number): Expr[] {
    const { S, B, I, layout } = this.sp;
    const base = (layout === 0 ? t * B + b : b * S + t) * I;
    return this.x.exprs.slice(base, base + I);
  }

  /** Flat index of a state tensor [D, B, H] (layout 0) or [B, D, H] (layout 1). */
  stateIndex(d: number, b: number, j: number): number {
    const { B, H, layout } = this.sp;
    const D = this.sp.reverse.length;
    return (layout === 0 ? d * B + b : b * D + d) * H + j;
  }

  /** Input i (initial_h, initial_c) at exponent s, or zeros when absent. */
  initialState(i: number, what: string): Expr[] {
    const { B, H } = this.sp;
    const D = this.sp.reverse.length;
    const n = D * B * H;
    if (!this.ctx.node.inputs[i]) return new Array(n).fill(Expr.constant(0n));
    const q = qInput(this.ctx, i);
    if (q.exprs.length !== n) throw new ZkmlError(`${what} has ${q.exprs.length} values, expected ${n} ([${D}, ${B}, ${H}] in layout ${this.sp.layout})`, 'E_SHAPE', this.ctx.where);
    return q.exprs.map((e) => this.toScale({ e, exp: q.exp }));
  }

  /** A value brought to exponent s: requantized down (rounded), or lifted (exact). */
  toScale(p: Part): Expr {
    if (p.exp < this.s) return p.e.scale(1n << BigInt(this.s - p.exp));
    return requantize(this.ctx.program, { shape: [1], exp: p.exp, exprs: [p.e] }, this.s, false, this.node).exprs[0];
  }

  /** a · b: one constraint when both are computed. */
  mul(a: Expr, b: Expr): Expr {
    if (a.isConstant) return b.scale(a.c);
    if (b.isConstant) return a.scale(b.c);
    return this.ctx.program.apply(product, {}, [a, b], this.node)[0];
  }

  /** Sigmoid or Tanh of a pre-activation, at exponent s: the op's own encoding (ops/nonlinear.ts smoothOne). */
  activate(fnName: 'Sigmoid' | 'Tanh', p: Part): Expr {
    return this.toScale(smoothOne(this.ctx.program, p.e, p.exp, fnName, this.s, this.node, this.ctx.where));
  }

  /**
   * One direction's W, R, P and B: constants are quantized (bias entries at the exponents biasLayout gives);
   * computed ones (an input of the graph, or computed from one) keep their expressions as the factors of
   * products, one constraint per weight and step, at their own exponent.
   */
  dirWeights(d: number): DirWeights {
    const { ctx } = this;
    const { cell, H, I } = this.sp;
    const G = GATES[cell];
    const operand = (i: number, name: string, n: number): { w: Weights; exp: number } | undefined => {
      const v = ctx.inputs[i];
      if (!ctx.node.inputs[i] || !v) return undefined;
      if (v.kind === 'q') return { w: { ints: [], signals: v.q.exprs.slice(d * n, (d + 1) * n) }, exp: v.q.exp };
      const values = v.tensor.data.slice(d * n, (d + 1) * n);
      const exp = weightExp(values, ctx.opts.weightBits, ctx.opts.maxWeightExp);
      return { w: weights(ctx, `${name}[${d}]`, values.map((x) => toFixed(x, exp, ctx.where)), ctx.opts.weightBits), exp };
    };
    const W = operand(1, 'W', G * H * I)!;
    const R = operand(2, 'R', G * H * H)!;
    const P = cell === 'LSTM' ? operand(7, 'P', 3 * H) : undefined;
    const dw: DirWeights = { W: W.w, wExp: W.exp, R: R.w, rExp: R.exp, P: P?.w, pExp: P?.exp ?? -Infinity, biasExp: [] };
    const Bv = ctx.node.inputs[3] ? ctx.inputs[3] : undefined;
    if (!Bv) return dw;
    const n = 2 * G * H;
    if (Bv.kind === 'q') {
      const { values } = this.biasLayout(dw, Bv.q.exprs.slice(d * n, (d + 1) * n), (a, b) => a.add(b));
      return { ...dw, bias: { ints: [], signals: values }, biasExp: values.map(() => Bv.q.exp) };
    }
    const { values, exps } = this.biasLayout(dw, Bv.tensor.data.slice(d * n, (d + 1) * n), (a, b) => a + b);
    return { ...dw, bias: weights(ctx, `B[${d}]`, values.map((v, i) => toFixed(v, exps[i], ctx.where))), biasExp: exps };
  }

  /**
   * The bias entries: Wb + Rb per gate row, at the exponent of that gate's pre-activation. GRU with
   * linear_before_reset keeps Rb_h apart (it is multiplied by r): rows 2H..3H-1 hold Wb_h, rows 3H..4H-1 Rb_h.
   */
  biasLayout<T>(dw: DirWeights, b: T[], add: (a: T, b: T) => T): { values: T[]; exps: number[] } {
    const { cell, H } = this.sp;
    const G = GATES[cell];
    const xExp = this.x.exp + dw.wExp;
    const gateExp = Math.max(xExp, this.s + dw.rExp, this.s + dw.pExp);
    const values = Array.from({ length: G * H }, (_, r) => add(b[r], b[G * H + r]));
    const exps = values.map(() => gateExp);
    if (cell === 'GRU' && attrInt(this.ctx.node, 'linear_before_reset', 0) !== 0) {
      for (let j = 0; j < H; j++) {
        values[2 * H + j] = b[2 * H + j];
        exps[2 * H + j] = Math.max(xExp, 2 * this.s + dw.rExp);
        values.push(b[G * H + 2 * H + j]);
        exps.push(this.s + dw.rExp);
      }
    }
    return { values, exps };
  }

  /** Σ x_k · w[index_k]: linear with constant weights, one product per computed pair otherwise. */
  dotW(w: Weights, terms: [Expr, number][]): Expr {
    const signals = w.signals;
    if (!signals) return dot(this.ctx, w, terms);
    return Expr.sum(terms.map(([x, k]) => [this.mul(x, signals[k]), 1n]));
  }

  /** W[row, :]·x and R[row, :]·h and the bias entry `row`, as parts. */
  inputPart(dw: DirWeights, row: number, x: Expr[]): Part {
    return { e: this.dotW(dw.W, x.map((e, i) => [e, row * this.sp.I + i])), exp: this.x.exp + dw.wExp };
  }

  recurrentPart(dw: DirWeights, row: number, h: Expr[]): Part {
    return { e: this.dotW(dw.R, h.map((e, k) => [e, row * this.sp.H + k])), exp: this.s + dw.rExp };
  }

  biasPart(dw: DirWeights, entry: number): Part[] {
    return dw.bias ? [{ e: addBias(Expr.constant(0n), dw.bias, entry), exp: dw.biasExp[entry] }] : [];
  }

  peepholePart(dw: DirWeights, entry: number, c: Expr): Part[] {
    return dw.P ? [{ e: this.dotW(dw.P, [[c, entry]]), exp: this.s + dw.pExp }] : [];
  }

  /** Pre-activation of gate row `row` on x_t and h_{t-1}, plus extra parts. */
  gate(dw: DirWeights, row: number, x: Expr[], h: Expr[], extra: Part[] = []): Part {
    return combine([this.inputPart(dw, row, x), this.recurrentPart(dw, row, h), ...this.biasPart(dw, row), ...extra]);
  }

  /** One time step of the cell for one direction and batch row: the new h (and c). */
  step(dw: DirWeights, x: Expr[], h: Expr[], c: Expr[]): { h: Expr[]; c: Expr[] } {
    const { H, cell } = this.sp;
    const units = Array.from({ length: H }, (_, j) => j);
    const s2 = 2 * this.s;
    if (cell === 'RNN') return { h: units.map((j) => this.activate('Tanh', this.gate(dw, j, x, h))), c };
    if (cell === 'LSTM') {
      // Gate rows in ONNX order i, o, f, c; peepholes P in order i, o, f.
      const cNew = units.map((j) => {
        const i = this.activate('Sigmoid', this.gate(dw, j, x, h, this.peepholePart(dw, j, c[j])));
        const f = this.activate('Sigmoid', this.gate(dw, 2 * H + j, x, h, this.peepholePart(dw, 2 * H + j, c[j])));
        const g = this.activate('Tanh', this.gate(dw, 3 * H + j, x, h));
        return this.toScale({ e: this.mul(f, c[j]).add(this.mul(i, g)), exp: s2 });
      });
      const hNew = units.map((j) => {
        const o = this.activate('Sigmoid', this.gate(dw, H + j, x, h, this.peepholePart(dw, H + j, cNew[j])));
        return this.toScale({ e: this.mul(o, this.activate('Tanh', { e: cNew[j], exp: this.s })), exp: s2 });
      });
      return { h: hNew, c: cNew };
    }
    // GRU, rows z, r, h.
    const z = units.map((j) => this.activate('Sigmoid', this.gate(dw, j, x, h)));
    const r = units.map((j) => this.activate('Sigmoid', this.gate(dw, H + j, x, h)));
    let candidate: Expr[];
    if (attrInt(this.ctx.node, 'linear_before_reset', 0) === 0) {
      const rh = units.map((k) => this.toScale({ e: this.mul(r[k], h[k]), exp: s2 }));
      candidate = units.map((j) => this.activate('Tanh', this.gate(dw, 2 * H + j, x, rh)));
    } else {
      candidate = units.map((j) => {
        const inner = combine([this.recurrentPart(dw, 2 * H + j, h), ...this.biasPart(dw, 3 * H + j)]);
        const reset = { e: this.mul(r[j], inner.e), exp: this.s + inner.exp };
        return this.activate('Tanh', combine([this.inputPart(dw, 2 * H + j, x), reset, ...this.biasPart(dw, 2 * H + j)]));
      });
    }
    // (1 - z)·ĥ + z·h = ĥ + z·(h - ĥ): one product.
    const hNew = units.map((j) => this.toScale({ e: candidate[j].scale(1n << BigInt(this.s)).add(this.mul(z[j], h[j].add(candidate[j].scale(-1n)))), exp: s2 }));
    return { h: hNew, c };
  }

  run(): QTensor[] {
    const { S, B, H, layout, reverse, cell } = this.sp;
    const D = reverse.length;
    const h0 = this.initialState(5, 'initial_h');
    const c0 = cell === 'LSTM' ? this.initialState(6, 'initial_c') : [];
    const Y = new Array<Expr>(S * D * B * H);
    const Yh = new Array<Expr>(D * B * H);
    const Yc = new Array<Expr>(D * B * H);
    const yIndex = (t: number, d: number, b: number) => (layout === 0 ? (t * D + d) * B + b : (b * S + t) * D + d) * H;
    for (let d = 0; d < D; d++) {
      const dw = this.dirWeights(d);
      for (let b = 0; b < B; b++) {
        const at = this.stateIndex(d, b, 0);
        let state = { h: h0.slice(at, at + H), c: cell === 'LSTM' ? c0.slice(at, at + H) : [] };
        for (let n = 0; n < S; n++) {
          const t = reverse[d] ? S - 1 - n : n;
          state = this.step(dw, this.xAt(t, b), state.h, state.c);
          state.h.forEach((e, j) => (Y[yIndex(t, d, b) + j] = e));
        }
        state.h.forEach((e, j) => (Yh[at + j] = e));
        state.c.forEach((e, j) => (Yc[at + j] = e));
      }
    }
    const shapes = shapesOf(this.sp);
    const out = [Y, Yh, Yc].slice(0, shapes.length).map((exprs, k) => ({ shape: shapes[k], exp: this.s, exprs }));
    return out;
  }
}

const recurrent: OpDef = {
  ops: ['LSTM', 'GRU', 'RNN'],
  shapes: (ctx: ShapeCtx) => shapesOf(spec(ctx.node, ctx.where, ctx.shapes[0], ctx.shapes[1])),
  lower: (ctx) => new Unroll(ctx).run(),
};

export const recurrentOps: OpDef[] = [recurrent];
