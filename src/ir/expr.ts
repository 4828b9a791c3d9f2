/**
 * A linear expression over circuit wires with integer coefficients: c + Σ coef·wire.
 * Fixed weights make every linear layer (Gemm, MatMul, Conv, BatchNorm, bias adds, reshapes) an Expr of the
 * wires before it, which costs no constraint: only nonlinear gadgets create wires.
 */
export class Expr {
  constructor(
    readonly terms: Map<number, bigint> = new Map(),
    readonly c: bigint = 0n,
  ) {}

  static constant(c: bigint): Expr {
    return new Expr(new Map(), c);
  }

  static wire(id: number): Expr {
    return new Expr(new Map([[id, 1n]]), 0n);
  }

  get isConstant(): boolean {
    return this.terms.size === 0;
  }

  /** this * k */
  scale(k: bigint): Expr {
    if (k === 0n) return Expr.constant(0n);
    if (k === 1n) return this;
    const terms = new Map<number, bigint>();
    for (const [w, a] of this.terms) terms.set(w, a * k);
    return new Expr(terms, this.c * k);
  }

  addConst(k: bigint): Expr {
    return k === 0n ? this : new Expr(this.terms, this.c + k);
  }

  add(other: Expr): Expr {
    return Expr.sum([[this, 1n], [other, 1n]]);
  }

  /** Σ k_i · e_i, merging terms (a zero coefficient drops the wire). */
  static sum(parts: Iterable<[Expr, bigint]>): Expr {
    const terms = new Map<number, bigint>();
    let c = 0n;
    for (const [e, k] of parts) {
      if (k === 0n) continue;
      c += e.c * k;
      for (const [w, a] of e.terms) {
        const v = (terms.get(w) ?? 0n) + a * k;
        if (v === 0n) terms.delete(w);
        else terms.set(w, v);
      }
    }
    return new Expr(terms, c);
  }

  /** Integer interval of the expression given each wire's interval. */
  bounds(lo: bigint[], hi: bigint[]): [bigint, bigint] {
    let min = this.c;
    let max = this.c;
    for (const [w, a] of this.terms) {
      if (a > 0n) {
        min += a * lo[w];
        max += a * hi[w];
      } else {
        min += a * hi[w];
        max += a * lo[w];
      }
    }
    return [min, max];
  }

  evaluate(values: bigint[]): bigint {
    let v = this.c;
    for (const [w, a] of this.terms) v += a * values[w];
    return v;
  }
}
