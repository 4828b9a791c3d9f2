/**
 * Rule 6 of determined.ts: one-hot groups. A one-hot vector h_0..h_m (gadgets/onehot.ts: each h_j boolean,
 * Σ h_j = 1, Σ j·h_j = idx) is determined by idx, but none of rules 1-5 sees it: the index equation has weights
 * 0, 1, …, m, which are not powers of two, and the sum equation alone leaves m + 1 choices. Nor does the r1cs
 * keep the textbook form. zkml's `cost` elimination folds Σ h = 1 into h_0's boolean check, which becomes
 * (1 - Σ_{j≥1} h_j)·(-Σ_{j≥1} h_j) = 0; circom --O2 folds both sums, so two of the h_j are gone and their boolean
 * checks are over combinations of the other h_j and idx's own signals.
 *
 * So the rule works on boolean *forms*, not signals: every constraint of rule 2's shape, A = N + a0, B = λN + b0,
 * C = 0, says N ∈ {r0, r1}, i.e. β = (N - r0)/(r1 - r0) ∈ {0, 1}, an affine form over the witness (its known
 * signals included), and so is 1 - β. The rule finds, with exact linear algebra:
 * (a) an exactly-one group: forms β_k and orientations σ_k ∈ {β_k, 1 - β_k} whose sum is the constant 1, either
 *     identically (the affine forms add up to 1: what elimination leaves) or up to a multiple of one linear
 *     constraint of the r1cs (the textbook form). A linear dependency among the forms' linear parts (and the
 *     linear constraints') whose coefficients on the forms are all ±κ is such an orientation, once its
 *     constants add up to 1;
 * (b) an index: coefficients ρ_k with Σ ρ_k·β_k - (a value the equations fix) ≡ 0 over the unknown signals, i.e.
 *     a linear dependency among the forms' unknown parts and the linear equations' (the rows rules 1 and 4 use),
 *     with the coefficients c_k = ρ_k·s_k of the oriented σ_k (s_k = ±1) pairwise distinct. The dependencies
 *     form a basis of all such relations, and a random combination of them has distinct c_k whenever some
 *     relation does; a combination that happens to repeat one only loses the conclusion, never makes it wrong.
 * Why it is sound: in every satisfying witness each σ_k is 0 or 1 and, there being fewer than p of them, Σ σ_k = 1
 * means exactly one is 1 (a sum of 0/1 values below p is 1 in the field only if it is 1 in the integers). Then
 * Σ c_k·σ_k = c_k* for the one set, and that value is fixed by the inputs: the c_k being distinct, which one is
 * set is fixed, so is every σ_k, so is every form's N. The caller then treats each N as a known value (a linear
 * equation for rules 1, 4 and 5), which is what determines the h_j and everything the lookup feeds.
 * The computed-index selection of ops/select.ts uses the same gadget, and so do the tables of ops/nonlinear.ts.
 */
import { randomBytes } from 'node:crypto';
import { inverse } from './mutate.ts';
import { Basis, components, mod } from './echelon.ts';

/** An affine form Σ coeffs[v]·w_v + c over witness signals (v ≥ 1; the constant is c). */
export interface Affine {
  coeffs: Map<number, bigint>;
  c: bigint;
}

/** One boolean form of the r1cs: β ∈ {0, 1}, from constraint `id` of rule 2's shape. */
export interface BooleanForm {
  id: number;
  beta: Affine;
}

/** What rule 6 is given: the unsolved boolean forms, the exact linear constraints, the rows over unknowns. */
export interface OneHotInput {
  forms: BooleanForm[];
  /** Linear constraints of the r1cs as exact affine forms (each is 0 in every satisfying witness). */
  linear: Affine[];
  /** Linear equations over the unknown signals (their right-hand side a value the inputs fix). */
  rows: Map<number, bigint>[];
  known: (v: number) => boolean;
  /**
   * Clusters already examined, by their forms, unknown signals and equations: the same cluster in the same state
   * gives the same answer (a pending group is reported once; the caller keeps it), and a circuit stalls many
   * times before it is done.
   */
  examined: Set<string>;
}

/** Groups larger than this are left alone (the elimination below is quadratic in the worst case). */
const MAX_COLUMNS = 4096;

const randomField = () => mod(BigInt('0x' + randomBytes(32).toString('hex')));

/** Forms joined by shared unknown signals, or through a row all of whose signals are in forms (Σ h = 1). */
const clusters = (input: OneHotInput) =>
  components(input.forms.map((f) => f.beta.coeffs.keys()), input.known, input.rows.map((r) => r.keys()), true);

/**
 * Rule 6: the constraint ids of the boolean forms whose value the inputs fix by a one-hot argument (see the
 * file header); each solved form's N is known from then on. `pending`: exactly-one groups with no index yet
 * (the index is itself unknown, e.g. a computed position i + n·[i < 0] whose sign bit --O2 wrote through the
 * one-hot): determined.ts then eliminates their signals first in rule 4, so that the rows left over the other
 * bits (the sign test's decomposition) can be solved by rule 3, after which the index is known.
 */
export function solveOneHot(input: OneHotInput): { solved: number[]; pending: { forms: number[]; signals: number[] }[] } {
  const { forms, linear, rows, known } = input;
  const solved = new Set<number>();
  const pending: { forms: number[]; signals: number[] }[] = [];
  /** For each unknown signal, the linear constraints and the rows it occurs in. */
  const linearOf = new Map<number, number[]>();
  const rowsOf = new Map<number, number[]>();
  const index = (into: Map<number, number[]>, lc: Map<number, bigint>, j: number) => {
    for (const v of lc.keys()) if (v !== 0 && !known(v)) (into.get(v) ?? into.set(v, []).get(v)!).push(j);
  };
  linear.forEach((l, j) => index(linearOf, l.coeffs, j));
  rows.forEach((r, j) => index(rowsOf, r, j));
  for (const cluster of clusters(input)) {
    if (cluster.length > MAX_COLUMNS) continue;
    const signals = new Set<number>();
    for (const i of cluster) for (const v of forms[i].beta.coeffs.keys()) if (!known(v)) signals.add(v);
    const within = (lc: Map<number, bigint>) => [...lc.keys()].every((v) => v === 0 || known(v) || signals.has(v));
    const touching = (of: Map<number, number[]>) => [...new Set([...signals].flatMap((v) => of.get(v) ?? []))].sort((a, b) => a - b);
    const lin = touching(linearOf).map((j) => linear[j]).filter((l) => within(l.coeffs));
    const eqs = touching(rowsOf).map((j) => rows[j]).filter(within);
    // The same cluster with the same unknowns and the same equations gives the same answer: examined once.
    const key = `${cluster.map((i) => forms[i].id).sort((a, b) => a - b).join(',')}:${signals.size}:${lin.length}:${eqs.length}`;
    if (input.examined.has(key)) continue;
    input.examined.add(key);
    // Sparsest forms first, so that the first dependencies found are the short ones (a group's Σ σ = 1).
    cluster.sort((a, b) => forms[a].beta.coeffs.size - forms[b].beta.coeffs.size || a - b);
    if (cluster.length + lin.length + eqs.length > MAX_COLUMNS) continue;

    // (a) exactly-one groups: dependencies among the forms' full linear parts and the linear constraints'.
    const full = [...cluster.map((i) => forms[i].beta.coeffs), ...lin.map((l) => l.coeffs)];
    for (const dep of new Basis(full).dependencies) {
      const onForms = [...dep].filter(([j]) => j < cluster.length);
      if (onForms.length < 2) continue;
      const kappa = onForms[0][1];
      if (!onForms.every(([, z]) => z === kappa || z === mod(-kappa))) continue;
      const inv = inverse(kappa);
      // Σ z_j·(column j) = 0, so Σ s_k·β_k + Σ μ_e·L_e is the constant Σ s_k·c_k + Σ μ_e·c_e, and L_e = 0.
      let constant = 0n;
      for (const [j, z] of dep) {
        const form = j < cluster.length ? forms[cluster[j]].beta : lin[j - cluster.length];
        constant = mod(constant + z * inv * form.c);
      }
      const sign = new Map(onForms.map(([j, z]) => [j, z === kappa ? 1n : -1n]));
      const minus = [...sign.values()].filter((s) => s < 0n).length;
      const plus = sign.size - minus;
      // σ_k = β_k (s = 1) or 1 - β_k (s = -1): Σ σ_k = #minus + Σ s_k·β_k = #minus + constant (or, all signs
      // flipped, #plus - constant).
      let orient: Map<number, bigint> | undefined;
      if (mod(BigInt(minus) + constant) === 1n) orient = sign;
      else if (mod(BigInt(plus) - constant) === 1n) orient = new Map([...sign].map(([j, s]) => [j, -s]));
      if (!orient) continue;

      // (b) an index: dependencies among the group's forms over the unknown signals and the rows.
      const group = [...orient.keys()];
      const groupSignals = new Set<number>();
      for (const j of group) for (const v of forms[cluster[j]].beta.coeffs.keys()) if (!known(v)) groupSignals.add(v);
      const unknownPart = (lc: Map<number, bigint>) => new Map([...lc].filter(([v]) => v !== 0 && !known(v)));
      const groupRows = eqs.filter((r) => [...r.keys()].every((v) => groupSignals.has(v)));
      const cols = [...group.map((j) => unknownPart(forms[cluster[j]].beta.coeffs)), ...groupRows];
      const c = new Array<bigint>(group.length).fill(0n);
      for (const d of new Basis(cols).dependencies) {
        const rho = randomField();
        for (const [k, z] of d) if (k < group.length) c[k] = mod(c[k] + rho * z * orient.get(group[k])!);
      }
      if (new Set(c).size !== c.length) {
        pending.push({ forms: group.map((j) => forms[cluster[j]].id), signals: [...groupSignals] });
        continue;
      }
      for (const j of group) solved.add(forms[cluster[j]].id);
    }
  }
  return { solved: [...solved], pending };
}
