/**
 * The linear span of what a circuit's constraints say about its undetermined signals, kept in reduced row
 * echelon form (Gauss–Jordan) and grown one equation at a time, for rule 5 of determined.ts: a linear
 * combination is *known* when the equations in the span fix its value, even though no single signal in it is
 * known. That is what circom --O2 leaves of circomlib's Poseidon: it substitutes the linear rounds (Ark, Mix)
 * backwards, so each S-box's input becomes a combination of signals from later rounds, whose value only the
 * linear equations of earlier rounds fix.
 *
 * Every row is an equation Σ c·x = (a value fixed by the inputs) over signals not known yet, with its pivot's
 * coefficient 1 and no other row's pivot in it. Signals become known from outside (`settle`) or when their row
 * is left with the pivot alone; both are reported to the caller, which owns the determined set.
 */
import { FIELD_P } from '../io/output.ts';
import { inverse } from './mutate.ts';

const mod = (v: bigint) => ((v % FIELD_P) + FIELD_P) % FIELD_P;

interface Row {
  coeffs: Map<number, bigint>;
  /** From linear constraints over affine signals only (see Determination.affine). */
  affine: boolean;
}

/** A signal the span fixed, and whether only linear constraints over affine signals did. */
export interface Fixed {
  signal: number;
  affine: boolean;
}

export class LinearSpan {
  /** Row by pivot signal. */
  private readonly rows = new Map<number, Row>();
  /** For each signal, the pivots of the rows it occurs in (its own row included when it is a pivot). */
  private readonly occurs = new Map<number, Set<number>>();
  /** Signals fixed by the span and not yet taken by the caller. */
  private fixed: Fixed[] = [];
  /** Every signal the span fixed: known from then on, whether or not the caller has marked it yet. */
  private readonly solved = new Set<number>();

  /** `known(v)`: whether signal v (index 0 is the constant 1) is already determined. */
  constructor(private readonly known: (v: number) => boolean) {}

  /**
   * The part of Σ lc a caller does not know, as a combination of signals that are no row's pivot (empty: the
   * span fixes its value). Known signals and the constant drop out; each pivot is replaced by its row.
   */
  reduce(lc: Map<number, bigint>): Map<number, bigint> {
    const out = new Map<number, bigint>();
    const add = (v: number, c: bigint) => {
      const x = mod((out.get(v) ?? 0n) + c);
      if (x === 0n) out.delete(v);
      else out.set(v, x);
    };
    for (const [v, c] of lc) {
      if (v === 0 || this.known(v) || this.solved.has(v)) continue;
      const row = this.rows.get(v);
      if (!row) add(v, c);
      else for (const [w, a] of row.coeffs) if (w !== v) add(w, -a * c);
    }
    return out;
  }

  /** True when the span fixes the value of Σ lc (given the known signals). */
  fixes(lc: Map<number, bigint>): boolean {
    return this.reduce(lc).size === 0;
  }

  /** Adds the equation Σ lc = (a value fixed by the inputs). Returns the signals this fixed. */
  add(lc: Map<number, bigint>, affine: boolean): Fixed[] {
    this.insert(this.reduce(lc), affine);
    return this.take();
  }

  /** Signal v became known by other means: it drops out of every row (a row it was the pivot of is re-added). */
  settle(v: number): Fixed[] {
    this.drop(v);
    return this.take();
  }

  private take(): Fixed[] {
    const f = this.fixed;
    this.fixed = [];
    return f;
  }

  private link(v: number, pivot: number): void {
    let s = this.occurs.get(v);
    if (!s) this.occurs.set(v, (s = new Set()));
    s.add(pivot);
  }

  private unlink(v: number, pivot: number): void {
    const s = this.occurs.get(v);
    s?.delete(pivot);
    if (s?.size === 0) this.occurs.delete(v);
  }

  /** Inserts a reduced equation (no pivot of another row in it): picks a pivot and eliminates it elsewhere. */
  private insert(coeffs: Map<number, bigint>, affine: boolean): void {
    if (coeffs.size === 0) return;
    // The pivot: the signal in fewest rows, which keeps elimination (and fill-in) small.
    let pivot = -1;
    let fewest = Infinity;
    for (const v of coeffs.keys()) {
      const k = this.occurs.get(v)?.size ?? 0;
      if (k < fewest) [pivot, fewest] = [v, k];
    }
    const inv = inverse(coeffs.get(pivot)!);
    for (const [v, c] of coeffs) coeffs.set(v, mod(c * inv));
    const row: Row = { coeffs, affine };
    for (const other of [...(this.occurs.get(pivot) ?? [])]) {
      const target = this.rows.get(other);
      if (!target) continue; // fixed (and removed) by a cascade of this elimination
      const c = target.coeffs.get(pivot)!;
      for (const [v, a] of coeffs) {
        const x = mod((target.coeffs.get(v) ?? 0n) - c * a);
        if (x === 0n) {
          if (target.coeffs.delete(v)) this.unlink(v, other);
        } else {
          if (!target.coeffs.has(v)) this.link(v, other);
          target.coeffs.set(v, x);
        }
      }
      target.affine &&= affine;
      this.checkSingle(other);
    }
    this.rows.set(pivot, row);
    for (const v of coeffs.keys()) this.link(v, pivot);
    this.checkSingle(pivot);
  }

  /** A row left with its pivot alone fixes the pivot. */
  private checkSingle(pivot: number): void {
    const row = this.rows.get(pivot);
    if (!row || row.coeffs.size !== 1) return;
    this.rows.delete(pivot);
    this.unlink(pivot, pivot);
    this.fixed.push({ signal: pivot, affine: row.affine });
    this.solved.add(pivot);
    // The caller marks it known; rows that still hold it as a non-pivot drop it now.
    this.dropFrom(pivot);
  }

  private drop(v: number): void {
    const own = this.rows.get(v);
    if (own) {
      // v was a pivot: its row is now an equation over the others, and gets a new pivot.
      this.rows.delete(v);
      for (const w of own.coeffs.keys()) this.unlink(w, v);
      own.coeffs.delete(v);
      this.dropFrom(v);
      this.insert(this.reduce(own.coeffs), own.affine);
      return;
    }
    this.dropFrom(v);
  }

  /** Removes the known signal v from the rows it occurs in as a non-pivot. */
  private dropFrom(v: number): void {
    for (const pivot of [...(this.occurs.get(v) ?? [])]) {
      const row = this.rows.get(pivot);
      if (!row) continue;
      row.coeffs.delete(v);
      this.unlink(v, pivot);
      this.checkSingle(pivot);
    }
  }
}
