/**
 * Sparse linear algebra over the field for rules 6 and 7 of determined.ts (onehot.ts, euclid.ts): vectors are
 * maps from a signal (or column) index to a coefficient. A Basis keeps columns in row-echelon form, to write a
 * vector as a combination of them and to list the linear dependencies among them; `components` groups boolean
 * forms that share unknown signals.
 */
import { FIELD_P } from '../io/output.ts';
import { inverse } from './mutate.ts';

export type Vec = Map<number, bigint>;

export const mod = (v: bigint) => ((v % FIELD_P) + FIELD_P) % FIELD_P;

/** into += k·x, dropping zeros. */
export function axpy(into: Vec, x: Vec, k: bigint): void {
  for (const [v, a] of x) {
    const y = mod((into.get(v) ?? 0n) + a * k);
    if (y === 0n) into.delete(v);
    else into.set(v, y);
  }
}

/**
 * Columns inserted one at a time into row-echelon form. A column that reduces to zero is a linear dependency
 * (the combination that reduced it); together those are a basis of all dependencies among the columns.
 */
export class Basis {
  private readonly pivots = new Map<number, { order: number; vec: Vec; comb: Vec }>();
  /** Each dependency maps column index → coefficient, with Σ coeff·column = 0. */
  readonly dependencies: Vec[] = [];

  constructor(columns: Vec[]) {
    columns.forEach((c, j) => {
      const { vec, comb } = this.reduce(c, new Map([[j, 1n]]));
      if (vec.size === 0) {
        this.dependencies.push(comb);
        return;
      }
      const pivot = vec.keys().next().value!;
      const inv = inverse(vec.get(pivot)!);
      for (const [v, a] of vec) vec.set(v, mod(a * inv));
      for (const [v, a] of comb) comb.set(v, mod(a * inv));
      this.pivots.set(pivot, { order: this.pivots.size, vec, comb });
    });
  }

  /** Reduces by the earliest pivot present each time: a pivot's vector holds no earlier pivot, so this ends. */
  private reduce(col: Vec, comb: Vec): { vec: Vec; comb: Vec } {
    const vec = new Map([...col].filter(([, a]) => mod(a) !== 0n).map(([v, a]) => [v, mod(a)]));
    for (;;) {
      let best: number | undefined;
      for (const v of vec.keys()) {
        const p = this.pivots.get(v);
        if (p && (best === undefined || p.order < this.pivots.get(best)!.order)) best = v;
      }
      if (best === undefined) return { vec, comb };
      const p = this.pivots.get(best)!;
      const c = vec.get(best)!;
      axpy(vec, p.vec, -c);
      axpy(comb, p.comb, -c);
    }
  }

  /** Coefficients z with Σ z_j·column_j = target, or undefined when the target is not in the span. */
  express(target: Vec): Vec | undefined {
    const { vec, comb } = this.reduce(target, new Map());
    if (vec.size > 0) return undefined;
    return new Map([...comb].map(([j, z]) => [j, mod(-z)]));
  }
}

/**
 * Groups of items (boolean forms, by their signals) joined by shared unknown signals and by `links` (lists of
 * signals tied together, e.g. a linear constraint's; with `allOwned`, a link joins only when each of its signals
 * is some item's). Returns the groups of two items or more.
 */
export function components(items: Iterable<number>[], known: (v: number) => boolean, links: Iterable<number>[], allOwned: boolean): number[][] {
  const parent = items.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  const owner = new Map<number, number>();
  items.forEach((signals, i) => {
    for (const v of signals) {
      if (known(v)) continue;
      const o = owner.get(v);
      if (o === undefined) owner.set(v, i);
      else parent[find(i)] = find(o);
    }
  });
  for (const link of links) {
    const vs = [...link].filter((v) => v !== 0 && !known(v));
    const os = vs.map((v) => owner.get(v));
    if (allOwned && os.some((o) => o === undefined)) continue;
    const owned = os.filter((o): o is number => o !== undefined);
    for (const o of owned) parent[find(o)] = find(owned[0]);
  }
  const by = new Map<number, number[]>();
  items.forEach((_, i) => {
    const r = find(i);
    if (!by.has(r)) by.set(r, []);
    by.get(r)!.push(i);
  });
  return [...by.values()].filter((c) => c.length >= 2);
}
