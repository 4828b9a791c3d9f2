/**
 * Which witness signals are uniquely determined by the circuit's inputs? A static analysis of the r1cs alone,
 * in the spirit of Ecne (Wang et al., 2022): start from the inputs as known values and propagate through
 * the constraints with rules that are each sound on their own. A signal the rules mark as determined has one
 * value for given inputs in every satisfying witness; a signal they cannot mark may still be determined (the
 * rules are incomplete), so an undetermined signal is a finding to look at, not a proof of a bug.
 *
 * The rules, enough for what circom --O2 makes of zkml's templates:
 * 1. Linear: a constraint whose A·B is known (A and B known, or one of them a constant) is a linear equation
 *    in its unknowns; with one unknown left, that unknown is determined.
 * 2. Two values: A·B = 0 with A = N + a0 and B = λN + b0 (a boolean check `b·(b-1) = 0`, or one that --O2
 *    rewrote over other signals) fixes N to one of two constants; with one unknown u left in N, u takes one of
 *    two values that differ by a known Δ_u.
 * 3. Binary decomposition: a linear equation, or a rule-2 constraint, whose unknowns are all two-valued is
 *    solved uniquely when the unknowns' steps (coefficient · Δ) are, up to one common factor, distinct powers of
 *    two (signs free) summing to less than p: two different choices would differ by a nonzero integer smaller
 *    than p in absolute value. This is how range checks and requantizations prove their bits.
 * 4. Linear systems: when rules 1-3 stall, the linear equations left are solved together by Gaussian
 *    elimination; a variable whose reduced row has no other unknown is determined. --O2 folds output
 *    equations into the ReLU products of the last hidden layer, so the outputs need this.
 * 5. Products of fixed combinations: when rules 1-4 stall, the linear equations are kept in one span
 *    (span.ts). A constraint A·B = C whose A and B both reduce to known values modulo the span (each is a
 *    combination the equations pin down, though none of its own signals is known) has a known product, so it
 *    is a linear equation in C's unknowns and joins the span; a signal whose row is left alone is determined.
 *    Sound because every equation in the span holds in every satisfying witness for the given inputs. This is
 *    what sees through circomlib's Poseidon after --O2, which writes each S-box input (x in x·x = x², x²·x² =
 *    x⁴, x⁴·x = x⁵) as a combination of later rounds' signals that only the earlier rounds' equations fix.
 * 6. One-hot groups (onehot.ts): two-valued constraints read as boolean forms β ∈ {0, 1} (affine in the
 *    witness); oriented forms σ_k ∈ {β_k, 1 - β_k} that add up to exactly 1 (identically, or up to a linear
 *    constraint) have exactly one set, and a combination Σ c_k·σ_k the equations fix, with distinct c_k, says
 *    which: every σ_k is then fixed. This is what the table lookups (gadgets/onehot.ts) need, in the textbook
 *    form and in what `cost` elimination and circom --O2 leave of it (h_0, or two of the h_j, folded into the
 *    other boolean checks). A group whose index is not known yet has its signals eliminated first in rule 4, so
 *    a sign test that --O2 wrote through the one-hot (ops/select.ts) is solved by rule 3 and the index follows.
 * 7. Hinted quotients and roots (euclid.ts): bits summed with distinct powers of two are integers below p. A
 *    product A·B = C with B known, A = λ·Q and C = λ'·R (up to fixed values) and R + R' + 1 = ν·B exactly makes
 *    Q the unique quotient (0 ≤ R < D and |κ·Q·D| + D < p: two choices would differ by a multiple of D smaller
 *    than D); the same with a constant divisor D in a linear relation λ·(κ·D·Q + R) = (fixed); and S·S = C with
 *    C = -E + (fixed), 2S - E - F = 0 exactly makes S = ⌊√(S² + E)⌋ unique (S² ≤ S² + E ≤ S² + 2S < (S+1)²).
 *    The fixed side of A (or Q and R) then joins rule 4 as a linear equation.
 */
import type { LinearCombination, R1cs } from '../circom/r1cs.ts';
import { FIELD_P } from '../io/output.ts';
import { inverse } from './mutate.ts';
import { LinearSpan, type Fixed } from './span.ts';
import { solveOneHot, type Affine, type BooleanForm } from './onehot.ts';
import { solveEuclid } from './euclid.ts';

const P = FIELD_P;
const mod = (v: bigint) => ((v % P) + P) % P;

/** ±2^e and ±2^-e (e <= 254) as field elements → e (negative for inverse powers). */
const POW2 = (() => {
  const table = new Map<bigint, number>();
  const invTwo = inverse(2n);
  let up = 1n;
  let down = 1n;
  for (let e = 0; e <= 254; e++) {
    for (const [v, x] of [[up, e], [mod(-up), e], [down, -e], [mod(-down), -e]] as [bigint, number][]) if (!table.has(v)) table.set(v, x);
    up = (up * 2n) % P;
    down = (down * invTwo) % P;
  }
  return table;
})();

/**
 * True when x ↦ Σ w_i·x_i is injective on {0,1}^n over the field: the weights are a common factor times
 * distinct powers of two (any signs) whose sum is below p.
 */
export function injectiveBinaryWeights(weights: bigint[]): boolean {
  if (weights.length === 0 || weights.some((w) => mod(w) === 0n)) return false;
  const base = inverse(weights[0]);
  const exps: number[] = [];
  for (const w of weights) {
    const e = POW2.get(mod(w * base));
    if (e === undefined) return false;
    exps.push(e);
  }
  if (new Set(exps).size !== exps.length) return false;
  const m = Math.min(...exps);
  return exps.reduce((s, e) => s + (1n << BigInt(e - m)), 0n) < P;
}

export interface Determination {
  /** determined[i]: witness signal i is proven to be a function of the inputs. Index 0 (the constant 1) and inputs are. */
  determined: Uint8Array;
  /** affine[i]: determined by linear equations from the inputs alone (no nonlinear constraint on the way). */
  affine: Uint8Array;
  /** How many propagation rounds (rule 4 steps) it took. */
  rounds: number;
}

const vars = (lc: LinearCombination) => [...lc.keys()].filter((i) => i !== 0);

/** The boolean-like shape of rule 2, precomputed: A = N + a0, B = λN + b0, C = 0 ⇒ N ∈ {-a0, -b0/λ}. */
interface TwoValued {
  n: LinearCombination;
  /** r1 - r0: the difference of the two values N may take (0: N is a single constant). */
  delta: bigint;
  /** One of the two values (-a0). */
  r0: bigint;
}

function twoValuedShape(A: LinearCombination, B: LinearCombination, C: LinearCombination): TwoValued | undefined {
  if (C.size > 0 && [...C.values()].some((v) => mod(v) !== 0n)) return undefined;
  const va = vars(A);
  if (va.length === 0 || va.length !== vars(B).length) return undefined;
  const lambda = mod(B.get(va[0]) ?? 0n) * inverse(A.get(va[0])!) % P;
  if (lambda === 0n) return undefined;
  for (const v of va) if (mod((A.get(v) ?? 0n) * lambda) !== mod(B.get(v) ?? 0n)) return undefined;
  const a0 = mod(A.get(0) ?? 0n);
  const b0 = mod(B.get(0) ?? 0n);
  const r0 = mod(-a0);
  const r1 = mod(-b0 * inverse(lambda));
  return { n: new Map(va.map((v) => [v, A.get(v)!])), delta: mod(r1 - r0), r0 };
}

/** One equation of rule 4: Σ coeff·var = known, over unknown signals and virtual bits. */
interface Row {
  coeffs: Map<number, bigint>;
  /** From linear constraints over affine known signals only (for the affine-output note). */
  affine: boolean;
}

/**
 * Runs rules 1-7 to a fixpoint. `inputs` are the witness indices taken as known (the circuit's inputs: the
 * statement's free variables).
 */
export function determineSignals(r1cs: R1cs, inputs: number[]): Determination {
  const n = r1cs.nWires;
  const determined = new Uint8Array(n);
  const affine = new Uint8Array(n);
  determined[0] = 1;
  affine[0] = 1;
  for (const i of inputs) {
    determined[i] = 1;
    affine[i] = 1;
  }
  /** Δ of every two-valued unknown (rule 2). */
  const step = new Map<number, bigint>();
  /** Rule-2 constraints whose N is known (its virtual bit was solved by rule 4). */
  const solvedShape = new Set<number>();
  const uses: number[][] = Array.from({ length: n }, () => []);
  const shapes = r1cs.constraints.map(([A, B, C], id) => {
    for (const v of new Set([...vars(A), ...vars(B), ...vars(C)])) uses[v].push(id);
    return twoValuedShape(A, B, C);
  });
  const queue: number[] = [...r1cs.constraints.keys()].reverse();
  const queued = new Uint8Array(r1cs.constraints.length).fill(1);
  const enqueue = (id: number) => {
    if (queued[id]) return;
    queued[id] = 1;
    queue.push(id);
  };
  const enqueueUses = (v: number) => uses[v].forEach(enqueue);
  /** Signals and two-valued constraints of one-hot groups (rule 6) that rule 4 eliminates before solving bits. */
  const hotSignals = new Set<number>();
  const hotForms = new Set<number>();
  /** Rule 5's span, built once rules 1-4 stall (most circuits never need it). */
  let span: LinearSpan | undefined;
  const markDetermined = (v: number, isAffine: boolean) => {
    const work: Fixed[] = [{ signal: v, affine: isAffine }];
    while (work.length) {
      const { signal, affine: a } = work.pop()!;
      if (determined[signal]) continue;
      determined[signal] = 1;
      affine[signal] = a ? 1 : 0;
      enqueueUses(signal);
      if (span) work.push(...span.settle(signal));
    }
  };
  const knownAffine = (lcs: LinearCombination[]) => lcs.every((lc) => vars(lc).every((v) => !determined[v] || affine[v]));

  /** The constraint as a linear equation in its unknowns (rule 1's precondition), or undefined. */
  const linearEquation = (id: number): Row | undefined => {
    const [A, B, C] = r1cs.constraints[id];
    const coeffs = new Map<number, bigint>();
    const add = (lc: LinearCombination, k: bigint) => {
      for (const [v, c] of lc) if (v !== 0 && !determined[v]) coeffs.set(v, mod((coeffs.get(v) ?? 0n) + c * k));
    };
    const shape = shapes[id];
    let linear = false;
    if (vars(A).length === 0) {
      add(B, mod(A.get(0) ?? 0n));
      add(C, P - 1n);
      linear = true;
    } else if (vars(B).length === 0) {
      add(A, mod(B.get(0) ?? 0n));
      add(C, P - 1n);
      linear = true;
    } else if (shape && (shape.delta === 0n || solvedShape.has(id))) add(shape.n, 1n); // N = a known constant
    else if (vars(A).every((v) => determined[v]) && vars(B).every((v) => determined[v])) add(C, P - 1n);
    else return undefined;
    for (const [v, c] of coeffs) if (c === 0n) coeffs.delete(v);
    return { coeffs, affine: linear && knownAffine([A, B, C]) };
  };

  const visit = (id: number) => {
    const eq = linearEquation(id);
    if (eq) {
      const u = [...eq.coeffs.keys()];
      if (u.length === 1) markDetermined(u[0], eq.affine);
      else if (u.length > 1 && u.every((v) => step.has(v)) && injectiveBinaryWeights(u.map((v) => eq.coeffs.get(v)! * step.get(v)!))) {
        for (const v of u) markDetermined(v, false);
      }
      return;
    }
    const shape = shapes[id];
    if (!shape) return;
    const u = vars(shape.n).filter((v) => !determined[v]);
    if (u.length === 1) {
      if (!step.has(u[0])) {
        step.set(u[0], mod(shape.delta * inverse(shape.n.get(u[0])!)));
        enqueueUses(u[0]);
      }
    } else if (u.length > 1 && u.every((v) => step.has(v))) {
      const weights = [...u.map((v) => shape.n.get(v)! * step.get(v)!), shape.delta];
      if (injectiveBinaryWeights(weights)) {
        solvedShape.add(id);
        for (const v of u) markDetermined(v, false);
      }
    }
  };

  /**
   * Rule 4 on what rules 1-3 left: every constraint that is a linear equation now, and every rule-2 constraint
   * written as N = r0 + Δ·β with a virtual bit β, form one linear system. Gaussian elimination removes the
   * unknowns that are not two-valued; each equation left is over two-valued unknowns only and is solved by
   * rule 3; an eliminated unknown is determined once the rest of its equation is. Returns whether it made
   * progress.
   */
  const solveSystem = (): boolean => {
    const virtualOf = new Map<number, number>(); // virtual bit id → constraint
    const rows: Row[] = [];
    for (const extra of extraRows) {
      const coeffs = new Map([...extra].filter(([v]) => !determined[v]));
      if (coeffs.size > 0) rows.push({ coeffs, affine: false });
    }
    for (let id = 0; id < r1cs.constraints.length; id++) {
      const eq = linearEquation(id);
      if (eq) {
        if (eq.coeffs.size >= 2) rows.push(eq);
        continue;
      }
      const shape = shapes[id];
      if (!shape || solvedShape.has(id)) continue;
      const coeffs = new Map<number, bigint>();
      for (const [v, c] of shape.n) if (!determined[v]) coeffs.set(v, c);
      if (coeffs.size < 2) continue;
      const beta = n + virtualOf.size;
      virtualOf.set(beta, id);
      coeffs.set(beta, mod(-shape.delta));
      rows.push({ coeffs, affine: false });
    }
    // One-hot members are two-valued but rule 3 cannot solve them: they are eliminated like the others.
    const binary = (v: number) => (v >= n ? !hotForms.has(virtualOf.get(v)!) : step.has(v) && !hotSignals.has(v));
    const weight = (v: number, c: bigint) => (v >= n ? c : c * step.get(v)!);

    // Elimination of the unknowns that are not two-valued: each pivot row is set aside as that unknown's definition.
    const defs: { pivot: number; row: Row }[] = [];
    let pending = rows;
    for (;;) {
      const at = pending.findIndex((r) => [...r.coeffs.keys()].some((v) => !binary(v)));
      if (at < 0) break;
      const row = pending[at];
      const pivot = [...row.coeffs.keys()].find((v) => !binary(v))!;
      const inv = inverse(row.coeffs.get(pivot)!);
      for (const [v, c] of row.coeffs) row.coeffs.set(v, mod(c * inv));
      pending = pending.filter((_, i) => i !== at);
      for (const other of [...pending, ...defs.map((d) => d.row)]) {
        const c = other.coeffs.get(pivot);
        if (c === undefined) continue;
        for (const [v, a] of row.coeffs) {
          const x = mod((other.coeffs.get(v) ?? 0n) - c * a);
          if (x === 0n) other.coeffs.delete(v);
          else other.coeffs.set(v, x);
        }
        other.affine &&= row.affine;
      }
      defs.push({ pivot, row });
    }

    let progress = false;
    const virtualKnown = new Set<number>();
    const known = (v: number) => (v >= n ? virtualKnown.has(v) : determined[v] === 1);
    const mark = (v: number, isAffine: boolean) => {
      if (known(v)) return;
      progress = true;
      if (v >= n) {
        // The constraint's N is now known: it is a linear equation for rules 1 and 3.
        virtualKnown.add(v);
        solvedShape.add(virtualOf.get(v)!);
        enqueue(virtualOf.get(v)!);
      } else markDetermined(v, isAffine);
    };
    for (const row of pending) {
      const u = [...row.coeffs.keys()].filter((v) => !known(v));
      if (u.length === 1 || (u.length > 1 && injectiveBinaryWeights(u.map((v) => weight(v, row.coeffs.get(v)!))))) {
        for (const v of u) mark(v, row.affine && u.length === 1);
      }
    }
    // Back-substitution: an eliminated unknown is determined once everything else in its definition is.
    for (let changed = true; changed; ) {
      changed = false;
      for (const { pivot, row } of defs) {
        if (known(pivot)) continue;
        if ([...row.coeffs.keys()].every((v) => v === pivot || known(v))) {
          mark(pivot, row.affine && [...row.coeffs.keys()].every((v) => v === pivot || (v < n && affine[v])));
          changed = true;
        }
      }
    }
    return progress;
  };

  /**
   * Rule 5 on what rules 1-4 left: every linear equation goes into one span (span.ts), and a constraint A·B = C
   * whose A and B the span fixes (each a combination the equations pin down, though none of its signals is
   * known) is a linear equation in C's unknowns too, which joins the span. Sweeps in constraint order (the order
   * values are computed in) until nothing more joins. Returns whether a signal was determined.
   */
  const fed = new Uint8Array(r1cs.constraints.length);
  const spanStep = (): boolean => {
    span ??= new LinearSpan((v) => determined[v] === 1);
    let progress = false;
    const take = (fixed: Fixed[]) => {
      for (const f of fixed) {
        progress = true;
        markDetermined(f.signal, f.affine);
      }
    };
    for (let joined = true; joined; ) {
      joined = false;
      for (let id = 0; id < r1cs.constraints.length; id++) {
        if (fed[id]) continue;
        const eq = linearEquation(id);
        const [A, B, C] = r1cs.constraints[id];
        if (eq) take(span.add(eq.coeffs, eq.affine));
        else if (span.fixes(A) && span.fixes(B)) take(span.add(C, false));
        else continue;
        fed[id] = 1;
        joined = true;
      }
    }
    return progress;
  };

  /**
   * Rule 6 (onehot.ts) on what rules 1-4 left: the unsolved two-valued constraints as boolean forms, the linear
   * constraints as exact affine forms and the linear equations over the unknowns. A form the rule fixes has a
   * known N: a linear equation for rules 1, 4 and 5 from then on. Returns whether it fixed any.
   */
  const inverses = new Map<bigint, bigint>();
  const inverseOf = (d: bigint) => inverses.get(d) ?? inverses.set(d, inverse(d)).get(d)!;
  const collectForms = () => {
    const forms: BooleanForm[] = [];
    const linear: Affine[] = [];
    const rows: Map<number, bigint>[] = [];
    for (let id = 0; id < r1cs.constraints.length; id++) {
      const [A, B, C] = r1cs.constraints[id];
      const shape = shapes[id];
      if (shape && shape.delta !== 0n && !solvedShape.has(id) && vars(shape.n).some((v) => !determined[v])) {
        const inv = inverseOf(shape.delta);
        forms.push({ id, beta: { coeffs: new Map([...shape.n].map(([v, c]) => [v, mod(c * inv)])), c: mod(-shape.r0 * inv) } });
      }
      const k = vars(A).length === 0 ? A : vars(B).length === 0 ? B : undefined;
      if (k) {
        // k·other - C = 0, exactly.
        const other = k === A ? B : A;
        const e: Affine = { coeffs: new Map(), c: 0n };
        const add = (lc: LinearCombination, f: bigint) => {
          for (const [v, c] of lc) {
            if (v === 0) e.c = mod(e.c + c * f);
            else e.coeffs.set(v, mod((e.coeffs.get(v) ?? 0n) + c * f));
          }
        };
        add(other, mod(k.get(0) ?? 0n));
        add(C, P - 1n);
        for (const [v, c] of e.coeffs) if (c === 0n) e.coeffs.delete(v);
        if (e.coeffs.size > 0) linear.push(e);
      }
      const eq = linearEquation(id);
      if (eq && eq.coeffs.size >= 2) rows.push(eq.coeffs);
    }
    return { forms, linear, rows };
  };
  const examined = new Set<string>();
  const oneHotStep = (): boolean => {
    const { forms, linear, rows } = collectForms();
    if (forms.length < 2) return false;
    let progress = false;
    const { solved, pending } = solveOneHot({ forms, linear, rows, known: (v) => determined[v] === 1, examined });
    for (const id of solved) {
      if (solvedShape.has(id)) continue;
      solvedShape.add(id);
      enqueue(id);
      progress = true;
    }
    // Groups still waiting for their index: rule 4 eliminates their unknowns first from now on (see onehot.ts).
    for (const g of pending) {
      for (const id of g.forms) if (!hotForms.has(id)) (hotForms.add(id), (progress = true));
      for (const v of g.signals) if (!hotSignals.has(v)) (hotSignals.add(v), (progress = true));
    }
    return progress;
  };

  /**
   * Rule 7 (euclid.ts) on what rules 1-6 left: hinted quotients and roots. Each equation it returns (a product
   * side's unknown part, fixed by the inputs) joins rule 4's system from then on. Returns whether it found any.
   */
  const extraRows: Map<number, bigint>[] = [];
  const euclidStep = (): boolean => {
    const { forms, linear } = collectForms();
    const products: [LinearCombination, LinearCombination, LinearCombination][] = [];
    for (let id = 0; id < r1cs.constraints.length; id++) {
      const [A, B, C] = r1cs.constraints[id];
      if (vars(A).length === 0 || vars(B).length === 0 || linearEquation(id)) continue;
      products.push([A, B, C]);
    }
    const found = solveEuclid({ forms, products, linear, known: (v) => determined[v] === 1 });
    extraRows.push(...found);
    return found.length > 0;
  };

  let rounds = 0;
  for (;;) {
    while (queue.length) {
      const id = queue.pop()!;
      queued[id] = 0;
      visit(id);
    }
    rounds++;
    if (solveSystem()) continue;
    if (!determined.every((x) => x === 1) && oneHotStep()) continue;
    if (!determined.every((x) => x === 1) && euclidStep()) continue;
    if (determined.every((x) => x === 1) || !spanStep()) break;
  }
  return { determined, affine, rounds };
}
