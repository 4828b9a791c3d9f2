/**
 * How far a dequantized output may be from the exact float result, derived from the scales of the integer
 * program itself (not a fixed epsilon), so that a conformance failure means wrong semantics, not rounding.
 *
 * Every value v of the program is an integer standing for v·2^-e. We bound, in the integer's own units, the
 * distance δ between the integer and the exact value it stands for (the exact value being the op computed in
 * real arithmetic on the test's inputs), wire by wire in execution order:
 *
 *   model input          δ = |x·2^e − round(x·2^e)|            (the actual rounding of the test's value)
 *   tracked expression   δ(Σ a_w·v_w + c) = Σ |a_w|·δ_w + Σ ε_w·(|v_w| + δ_w) + ε_c
 *       where the lowering recorded each constant's rounding where it happened (ir/expr.ts: ε_w bounds
 *       |exact coefficient − a_w|, through chains of rounded constants such as w·(1/Σw), ε_c the constant's):
 *       |a*·v* − a·v| <= |a|·|v* − v| + |a* − a|·|v*| and |v*| <= |v| + δ. This is a proven bound.
 *   other linear expression (rounding not recorded: the rule below, which assumes each coefficient rounded once)
 *                        δ(Σ a_w·v_w + c) = Σ |a_w|·δ_w                         (propagated error)
 *                                          + Σ ½·(|v_w| + δ_w)  over coefficients a_w that are not ±2^j
 *                                          + ½ + ½·A·N + [½·|c|/A]   if c ≠ 0
 *       A coefficient that is not a power of two is a rounded constant (a weight, a divisor's reciprocal, a
 *       batch-norm factor, 1/n of a mean) and contributes its own rounding, ½ unit times the value it scales;
 *       a power of two is an exponent lift, a sign, an exact division or a data move, and is exact (a weight
 *       that happens to round to exactly 2^j is taken as exact: rare, and then off by at most ½ unit).
 *       The constant term c gathers up to N rounded constants (N = the model's constant tensors), each
 *       scaled at most like a wire (A = the largest |a_w|, 1 without terms), plus the rounding of c itself
 *       and, when A is a rounded coefficient, that coefficient's rounding applied to c/A.
 *   requant (shift k)    δ = δ_in / 2^k + ½                     (round half up; ReLU is 1-Lipschitz)
 *   product a·b          δ = |a|·δ_b + |b|·δ_a + δ_a·δ_b
 *   square x²            δ = 2|x|·δ_x + δ_x²
 *   quotient round(2^t·x/y)  δ = ½ + 2^t·(δ_x + |x|·δ_y/y)/(y − δ_y)   (y >= 1; unbounded when y − δ_y <= 0)
 *       (x/y − x₀/y₀ = (x − x₀)/y₀ + x·(y₀ − y)/(y·y₀) for the exact x₀, y₀, and y₀ >= y − δ_y)
 *   root floor(√x)       δ = 1 + min(√δ_x, δ_x/(√x + √max(0, x − δ_x)))   (|√a − √b| = |a − b|/(√a + √b) <= √|a − b|)
 *   max(a, b), range     δ = max(δ_a, δ_b), δ_in                (1-Lipschitz, no rounding)
 *   sign test [d >= 0]   δ = 0 (exact but at near ties: where it signs a denominator, the quotient's own bound is
 *                        then unbounded)
 *   requant-split        q, pos as requant; rem = x − q·2^k: δ_in
 *   onehot (a table)     δ = 0 for the 0/1 selectors; recorded as "assumed"
 *   other gadgets        δ = max δ_in + ½, recorded as "assumed"
 * A case with an assumed kind gets an allowance of ASSUMED_STEPS steps of the output scale on top of the bound,
 * for what the harness cannot see: a table's approximation of a smooth function (Sigmoid, Tanh: below one step
 * of 2^-scale by their own analysis, ops/nonlinear.ts), or an unknown gadget's own error.
 *
 * An output's bound in real units is δ·2^-e. The comparison adds the rounding of the expected value itself:
 * the test's outputs were computed in their element type (float32 for most), so each of the n terms of the
 * output's expression may carry one rounding of u·Σ|terms| with u the unit roundoff of that type
 * (2^-24 float, 2^-53 double, 2^-11 float16, 2^-8 bfloat16):
 *
 *   tolerance = δ·2^-e + u·(n + 1)·Σ|terms|   (+ ASSUMED_STEPS·2^-scale·max(1, |y|) for an assumed kind)
 *
 * A final Softmax/LogSoftmax derived from proven logits (the final-op policy) moves by at most 2·max|Δlogit| in
 * every element (∂softmax_i/∂x_j = p_i(δ_ij − p_j), so |Δp_i| ≤ 2·p_i·‖Δx‖∞; log-softmax the same without p_i),
 * so there the tolerance is 2·max δ_logit·2^-e + 8u·max(1, |y|).
 */
import type { Lowered } from '../../src/compiler/lower.ts';
import type { Expr } from '../../src/ir/expr.ts';

/** Steps of 2^-scale allowed on top of the bound when a gadget's error is not modelled (see above). */
export const ASSUMED_STEPS = 4;

export const UNIT_ROUNDOFF: Record<string, number> = { float: 2 ** -24, double: 2 ** -53, float16: 2 ** -11, bfloat16: 2 ** -8 };

export interface OutputErrors {
  /** |exact − dequantized| bound per element, real units (quantization only). */
  quantization: number[];
  /** Σ|terms| per element, real units, and the number of terms (for the expected value's own rounding). */
  magnitude: number[];
  terms: number[];
}

export interface ErrorModel {
  outputs: Map<string, OutputErrors>;
  /** Gadget kinds whose error was bounded by the generic rule. */
  assumed: string[];
}

const abs = (v: bigint) => (v < 0n ? -v : v);
const isPow2 = (v: bigint) => v > 0n && (v & (v - 1n)) === 0n;

/**
 * Error bounds of every graph output of a lowered program run on `inputs` (the real input values, by input
 * name) with the reference executor's wire values `wires`.
 */
export function errorBounds(lowered: Lowered, inputs: Map<string, number[]>, wires: bigint[], constants: number): ErrorModel {
  const { program } = lowered;
  const delta = new Array<number>(wires.length).fill(0);

  lowered.inputs.forEach((io, k) => {
    const values = inputs.get(io.name) ?? [];
    program.inputs[k].wires.forEach((w, i) => {
      const x = values[i] * 2 ** io.exp;
      delta[w] = Number.isFinite(x) ? Math.abs(x - Number(wires[w])) : 0;
    });
  });
  const exprDelta = (e: Expr): number => {
    let d = 0;
    if (e.err !== undefined) {
      // Tracked rounding (ir/expr.ts): each coefficient within err_w of its exact value, the constant within cErr.
      for (const [w, a] of e.terms) d += Number(abs(a)) * delta[w];
      for (const [w, ew] of e.err) d += ew * (Number(abs(wires[w])) + delta[w]);
      return d + e.cErr;
    }
    let aMax = 1n;
    for (const [w, a] of e.terms) {
      d += Number(abs(a)) * delta[w];
      if (!isPow2(abs(a))) d += 0.5 * (Number(abs(wires[w])) + delta[w]);
      if (abs(a) > aMax) aMax = abs(a);
    }
    if (e.c !== 0n) {
      d += 0.5 + 0.5 * Number(aMax) * constants;
      if (!isPow2(aMax)) d += (0.5 * Number(abs(e.c))) / Number(aMax);
    }
    return d;
  };

  const assumed = new Set<string>();
  for (const g of program.gadgets) {
    const kind = g.def.kind;
    let out: number[];
    if (kind === 'requant') {
      const k = (g.params as { k: number }).k;
      out = [exprDelta(g.inputs[0]) / 2 ** k + 0.5];
    } else if (kind === 'requant-split') {
      // q and pos as requant; rem = x − q·2^k with q an exact integer carries x's error unchanged.
      const k = (g.params as { k: number }).k;
      const din = exprDelta(g.inputs[0]);
      out = [din / 2 ** k + 0.5, din, din / 2 ** k + 0.5];
    } else if (kind === 'onehot') {
      // Selecting a table entry: the selectors are exact 0/1 for their input; what the table approximates
      // (a sigmoid, a tanh) is op-specific and covered by the allowance for assumed kinds, not here.
      assumed.add(kind);
      out = g.outputs.map(() => 0);
    } else if (kind === 'product') {
      const [a, b] = g.inputs;
      const [da, db] = [exprDelta(a), exprDelta(b)];
      const [va, vb] = [a.evaluate(wires), b.evaluate(wires)].map((v) => Number(abs(v)));
      out = [va * db + vb * da + da * db];
    } else if (kind === 'square') {
      const d = exprDelta(g.inputs[0]);
      const v = Number(abs(g.inputs[0].evaluate(wires)));
      out = [2 * v * d + d * d];
    } else if (kind === 'quotient') {
      // Q = round(2^t·X/Y): ½ for the rounding, and 2^t·|X/Y − x/y| <= 2^t·(δx + |X|·δy/Y)/(Y − δy) for the
      // exact x, y within δ of X, Y (Y >= 1 in any witness); no bound when Y − δy <= 0 (y may be 0).
      const t = (g.params as { t: number }).t;
      const [dx, dy] = g.inputs.map((e) => exprDelta(e));
      const [X, Y] = g.inputs.map((e) => Number(e.evaluate(wires)));
      out = [Y - dy > 0 ? 0.5 + (2 ** t * (dx + (Math.abs(X) * dy) / Y)) / (Y - dy) : Infinity];
    } else if (kind === 'root') {
      // S = floor(√X): 1 for the floor, and |√X − √x| <= min(√δ, δ/(√X + √max(0, X − δ))) for the exact x.
      const d = exprDelta(g.inputs[0]);
      const X = Number(g.inputs[0].evaluate(wires));
      const den = Math.sqrt(Math.max(0, X)) + Math.sqrt(Math.max(0, X - d));
      out = [1 + (den > 0 ? Math.min(Math.sqrt(d), d / den) : Math.sqrt(d))];
    } else if (kind === 'range') {
      out = [exprDelta(g.inputs[0])];
    } else if (kind === 'ge') {
      // A sign bit [d >= 0]: exact unless |d| <= δd (a near tie); where it is the sign of a denominator (ops/arith.ts
      // quotientOf) that case has an unbounded quotient bound of its own (Y − δy <= 0).
      out = [0];
    } else if (kind === 'max') {
      // out = max(a, b) is 1-Lipschitz; the comparison bit is exact (it can flip only on near ties).
      out = [Math.max(...g.inputs.map((e) => exprDelta(e))), 0];
    } else {
      assumed.add(kind);
      const d = Math.max(0, ...g.inputs.map((e) => exprDelta(e))) + 0.5;
      out = g.outputs.map(() => d);
    }
    g.outputs.forEach((w, j) => (delta[w] = out[j] ?? out[0]));
  }

  const outputs = new Map<string, OutputErrors>();
  lowered.outputs.forEach((io, k) => {
    const exprs = program.outputs[k].exprs;
    const unit = 2 ** -io.exp;
    outputs.set(io.name, {
      quantization: exprs.map((e) => exprDelta(e) * unit),
      magnitude: exprs.map((e) => {
        let m = Number(abs(e.c));
        for (const [w, a] of e.terms) m += Number(abs(a * wires[w]));
        return m * unit;
      }),
      terms: exprs.map((e) => e.terms.size + (e.c !== 0n ? 1 : 0)),
    });
  });
  return { outputs, assumed: [...assumed] };
}
