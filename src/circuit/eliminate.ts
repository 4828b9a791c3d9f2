/**
 * Folding linear constraints away. A linear constraint L = 0 with a signal s of the circuit's inside can be solved
 * for s; s is then replaced by that combination everywhere and the constraint costs nothing (circom's --O2 does
 * this to every linear constraint it can). Where s lands decides what the replacement costs the prover:
 * - in C of a quadratic constraint (e.g. a product's output): nothing, snarkjs never reads C's coefficients
 *   (it computes C·w as A·w × B·w) and a native prover need not either;
 * - in A or B: one coefficient per term for every proof, and B's points live in G2;
 * - in a pending linear constraint: that one grows.
 * Keeping L as a constraint of its own instead (0 × 0 = L: the combination in C, free for the prover) costs one row.
 *
 * Two policies: `circom` folds every linear constraint that has a signal to solve for, as circom does (same
 * constraint count: the tests compare the two); `cost` folds only where the replacement is cheap and keeps the
 * rest as rows. For a dense layer this is the difference between copying each row's ~1,000 terms into A and B of a
 * boolean constraint (circom) and one row with the terms in C (cost). BENCHMARKS.md measures both.
 *
 * Among the signals of L, the one solved for is the cheapest to replace by the costs above. Public inputs and
 * outputs are never eliminated (the verifier assigns them); private inputs are in `circom` mode, as circom does
 * (the remaining constraints still fix them), and kept in `cost` mode. Substitutions are kept resolved
 * (every combination refers only to signals that remain), so the result is exact whatever the order.
 */
import { Expr } from '../ir/expr.ts';
import { inverse, mod, normalized } from './field.ts';
import type { ConstraintSystem, Quadratic } from './system.ts';
import { unsatisfiable } from './system.ts';

export type EliminationMode = 'circom' | 'cost';

/** Relative prover cost of one substituted term, by where it lands (A/B coefficient = 1). */
const COST_AB = 1;
const COST_C = 0.05;
const COST_PENDING = 0.5;
/** With `cost`: a linear constraint is folded when its replacement costs at most this, else it becomes a row. */
export const ROW_THRESHOLD = 64;

export interface Reduced {
  /** R1CS wire of each signal, or -1 (eliminated, or used by no constraint). */
  wireOf: Int32Array;
  nWires: number;
  /** Constraints as written: A·B = C over signals, every eliminated signal already replaced. */
  constraints: Quadratic[];
  /** Origin (ConstraintSystem.nodes index) of each constraint. */
  origins: number[];
  /** For tests and tools: the combination of remaining signals an eliminated signal equals. */
  substitution(s: number): Expr | undefined;
  /** How many linear constraints were folded and kept. */
  folded: number;
  rows: number;
}



export function eliminate(cs: ConstraintSystem, mode: EliminationMode): Reduced {
  const n = cs.nSignals;
  const subst: (Expr | undefined)[] = new Array(n);
  /** usedIn[x]: signals whose substitution mentions x (so eliminating x updates them). */
  const usedIn: (number[] | undefined)[] = new Array(n);
  const occAB = new Float64Array(n);
  const occC = new Float64Array(n);
  const occPending = new Float64Array(n);

  const quads: Quadratic[] = cs.quadratics.slice();
  const quadOrigins = cs.quadraticOrigin.slice();
  // Quadratics with a constant side are linear (k·B = C): they join the linear constraints.
  const linears: Expr[] = cs.linears.slice();
  const linearOrigins = cs.linearOrigin.slice();
  const kept: boolean[] = new Array(quads.length).fill(true);
  const asLinear = (q: Quadratic): Expr | undefined => {
    if (q.a.terms.size === 0) return Expr.sum([[q.b, q.a.c], [q.c, -1n]]);
    if (q.b.terms.size === 0) return Expr.sum([[q.a, q.b.c], [q.c, -1n]]);
    return undefined;
  };
  quads.forEach((q, i) => {
    const l = asLinear(q);
    if (l) {
      kept[i] = false;
      linears.push(l);
      linearOrigins.push(quadOrigins[i]);
    }
  });
  quads.forEach((q, i) => {
    if (!kept[i]) return;
    for (const s of q.a.terms.keys()) occAB[s]++;
    for (const s of q.b.terms.keys()) occAB[s]++;
    for (const s of q.c.terms.keys()) occC[s]++;
  });
  for (const l of linears) for (const s of l.terms.keys()) occPending[s]++;

  const resolve = (e: Expr): Expr => {
    let hit = false;
    for (const s of e.terms.keys()) if (subst[s]) { hit = true; break; }
    if (!hit) return e;
    const parts: [Expr, bigint][] = [];
    const rest = new Map<number, bigint>();
    for (const [s, k] of e.terms) {
      const r = subst[s];
      if (r) parts.push([r, k]);
      else rest.set(s, k);
    }
    return normalized(Expr.sum([[new Expr(rest, e.c), 1n], ...parts]));
  };

  // circom solves for private inputs too; zkml's own policy keeps them as wires, so its r1cs shows every input
  // (what `zkml audit` checks determination against).
  const firstCandidate = mode === 'circom' ? cs.firstEliminable : cs.firstInternal;
  const rowExprs: Expr[] = [];
  const rowOrigins: number[] = [];
  let folded = 0;

  const process = (list: Expr[], origins: number[]) => {
    for (let i = 0; i < list.length; i++) {
      for (const s of list[i].terms.keys()) occPending[s]--;
      const e = resolve(list[i]);
      if (e.terms.size === 0) {
        if (mod(e.c) !== 0n) throw unsatisfiable(cs.nodes[origins[i]]);
        folded++;
        continue;
      }
      const len = e.terms.size - 1;
      let best = -1;
      let bestCost = Infinity;
      for (const [s, k] of e.terms) {
        if (s < firstCandidate) continue;
        // Solving for a unit coefficient keeps the replacement in small integers: a tie-breaker.
        const cost = len * (COST_AB * occAB[s] + COST_C * occC[s] + COST_PENDING * occPending[s]) + (k === 1n || k === -1n ? 0 : 0.5);
        if (cost < bestCost || (cost === bestCost && s > best)) {
          best = s;
          bestCost = cost;
        }
      }
      if (best < 0 || (mode === 'cost' && bestCost > ROW_THRESHOLD)) {
        rowExprs.push(e);
        rowOrigins.push(origins[i]);
        continue;
      }
      // e = k·best + rest = 0  ⇒  best = -rest / k.
      const k = e.terms.get(best)!;
      const restTerms = new Map(e.terms);
      restTerms.delete(best);
      const rest = new Expr(restTerms, e.c);
      const value = k === 1n ? rest.scale(-1n) : k === -1n ? rest : rest.scale(mod(-inverse(k)));
      const s = normalized(value);
      // Earlier substitutions that mention `best` now refer to its replacement.
      for (const owner of usedIn[best] ?? []) {
        const old = subst[owner];
        if (!old || !old.terms.has(best)) continue;
        const updated = resolveOne(old, best, s);
        subst[owner] = updated;
        for (const x of s.terms.keys()) (usedIn[x] ??= []).push(owner);
      }
      usedIn[best] = undefined;
      subst[best] = s;
      for (const x of s.terms.keys()) {
        (usedIn[x] ??= []).push(best);
        occAB[x] += occAB[best];
        occC[x] += occC[best];
        occPending[x] += occPending[best];
      }
      folded++;
    }
  };
  process(linears, linearOrigins);

  // Substitutions can make a quadratic linear (a side becomes constant): fold those too, until none is left.
  for (;;) {
    const more: Expr[] = [];
    const moreOrigins: number[] = [];
    quads.forEach((q, i) => {
      if (!kept[i]) return;
      const r = { a: resolve(q.a), b: resolve(q.b), c: resolve(q.c) };
      quads[i] = r;
      const l = asLinear(r);
      if (l) {
        kept[i] = false;
        more.push(l);
        moreOrigins.push(quadOrigins[i]);
      }
    });
    if (more.length === 0) break;
    for (const l of more) for (const s of l.terms.keys()) occPending[s]++;
    process(more, moreOrigins);
  }

  const constraints: Quadratic[] = [];
  const origins: number[] = [];
  quads.forEach((q, i) => {
    if (!kept[i]) return;
    constraints.push({ a: resolve(q.a), b: resolve(q.b), c: resolve(q.c) });
    origins.push(quadOrigins[i]);
  });
  const zero = Expr.constant(0n);
  rowExprs.forEach((e, i) => {
    constraints.push({ a: zero, b: zero, c: resolve(e) });
    origins.push(rowOrigins[i]);
  });

  // Wires: the circuit's inputs and outputs, then every other signal some constraint still uses (as circom).
  const used = new Uint8Array(n);
  for (let s = 0; s < cs.firstInternal; s++) used[s] = 1;
  for (const c of constraints) for (const e of [c.a, c.b, c.c]) for (const s of e.terms.keys()) used[s] = 1;
  const wireOf = new Int32Array(n).fill(-1);
  let nWires = 0;
  for (let s = 0; s < n; s++) if (used[s] && !subst[s]) wireOf[s] = nWires++;

  return { wireOf, nWires, constraints, origins, substitution: (s) => subst[s], folded, rows: rowExprs.length };
}

/** `e` with signal `x` replaced by `by`. */
function resolveOne(e: Expr, x: number, by: Expr): Expr {
  const k = e.terms.get(x)!;
  const rest = new Map(e.terms);
  rest.delete(x);
  return normalized(Expr.sum([[new Expr(rest, e.c), 1n], [by, k]]));
}
