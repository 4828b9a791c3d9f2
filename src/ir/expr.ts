/**
 * A linear expression over circuit wires with integer coefficients: c + Σ coef·wire.
 * Fixed weights make every linear layer (Gemm, MatMul, Conv, BatchNorm, bias adds, reshapes) an Expr of the
 * wires before it, which costs no constraint: only nonlinear gadgets create wires.
 *
 * Rounding of the constants (for error bounds only, never for the circuit): an expression may say how far its
 * integer coefficients and constant are from the exact reals they stand for. `err` maps a wire to a bound on
 * |exact coefficient − coefficient| (a wire whose coefficient rounded to 0 keeps its entry), `cErr` bounds
 * |exact constant − c|. An expression is *tracked* when `err` is defined: then these bounds are complete.
 * Untracked (err undefined: built by `new Expr` elsewhere, or scaled by an integer of unknown origin) means
 * nothing is known, and conformance/tolerance.ts falls back to its per-coefficient rule. The rules:
 *   wire, scale(-1), scaleExact(k)     exact (errors scale by |k|): a sign, a lift by 2^j, a 0/1 selector
 *   scaleRounded(k, ε)                 ×k where the exact factor is within ε of k:
 *                                       err' = err·(|k| + ε) + |a|·ε, cErr' = cErr·(|k| + ε) + |c|·ε
 *   constant(c, ε)                     a rounded constant: cErr = ε (constant(c) without ε: untracked)
 *   addConst(k)                        untracked (k's origin is unknown)
 *   sum Σ k_i·e_i                      tracked iff every part is and every k_i is ±1 (or 0): err = Σ |k_i|·err_i
 *   timesConstant(k)                   ×k for a constant expression k: scaleRounded(k.c, k.cErr) if k is tracked
 *   scale(k) by any other k            untracked (k may itself be a rounded constant)
 * A site whose integers k come from rounded constants and may be 0 or ±1 (weights) calls untracked() or records
 * the rounding with scaleRounded; sum and scale cannot tell such a k from an exact one.
 */
export class Expr {
  constructor(
    readonly terms: Map<number, bigint> = new Map(),
    readonly c: bigint = 0n,
    readonly err?: ReadonlyMap<number, number>,
    readonly cErr: number = 0,
  ) {}

  static constant(c: bigint, cErr?: number): Expr {
    return new Expr(new Map(), c, cErr !== undefined ? EXACT : undefined, cErr ?? 0);
  }

  static wire(id: number): Expr {
    return new Expr(new Map([[id, 1n]]), 0n, EXACT);
  }

  /** this · k where the exact factor is within `kErr` of k (a rounded constant): a tracked result if this is. */
  scaleRounded(k: bigint, kErr: number): Expr {
    if (kErr === 0) return this.scaleExact(k);
    const scaled = new Expr(this.scale(k).terms, this.c * k);
    if (this.err === undefined) return scaled;
    const K = Number(k < 0n ? -k : k) + kErr;
    const err = new Map<number, number>();
    for (const [w, e] of this.err) err.set(w, e * K);
    for (const [w, a] of this.terms) err.set(w, (err.get(w) ?? 0) + Number(a < 0n ? -a : a) * kErr);
    return new Expr(scaled.terms, scaled.c, err, this.cErr * K + Number(this.c < 0n ? -this.c : this.c) * kErr);
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
    // Only a sign is known to be exact here: any other k may be a rounded constant (scaleExact, scaleRounded say which).
    return new Expr(terms, this.c * k, k === -1n ? this.err : undefined, this.cErr);
  }

  /** this · k for a k known to be exact (an exponent lift 2^j, an integer count, a 0/1 selector): keeps tracking. */
  scaleExact(k: bigint): Expr {
    if (k === 0n) return Expr.constant(0n, 0);
    if (k === 1n) return this;
    const m = Number(k < 0n ? -k : k);
    const s = this.scale(k);
    return new Expr(s.terms, s.c, this.err && scaleErr(this.err, m), this.cErr * m);
  }

  /**
   * The same expression, untracked: for sites that combine wires with rounded constants through sum or scale
   * (weights that may round to exactly 0 or ±1, which those rules would take as exact), e.g. ops/params.ts dot().
   */
  untracked(): Expr {
    return this.err === undefined ? this : new Expr(this.terms, this.c);
  }

  /** this · k for a constant expression k: exact rounding bookkeeping if k is tracked (its cErr), else untracked. */
  timesConstant(k: Expr): Expr {
    return k.err !== undefined ? this.scaleRounded(k.c, k.cErr) : this.scale(k.c);
  }

  /** this + k; untracked, as k may be a rounded constant (add(Expr.constant(k, ε)) keeps tracking). */
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
    let err: Map<number, number> | undefined;
    let tracked = true;
    let cErr = 0;
    for (const [e, k] of parts) {
      if (k === 0n) continue;
      c += e.c * k;
      for (const [w, a] of e.terms) {
        const v = (terms.get(w) ?? 0n) + a * k;
        if (v === 0n) terms.delete(w);
        else terms.set(w, v);
      }
      const m = k < 0n ? -k : k;
      if (!tracked) continue;
      if (e.err === undefined || m !== 1n) {
        tracked = false;
        continue;
      }
      cErr += e.cErr * Number(m);
      if (e.err.size === 0) continue;
      err ??= new Map();
      for (const [w, d] of e.err) err.set(w, (err.get(w) ?? 0) + d * Number(m));
    }
    return tracked ? new Expr(terms, c, err ?? EXACT, cErr) : new Expr(terms, c);
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

/** The error map of an expression whose coefficients are exact. */
const EXACT: ReadonlyMap<number, number> = new Map();

const isPow2 = (v: bigint) => v > 0n && (v & (v - 1n)) === 0n;

function scaleErr(err: ReadonlyMap<number, number>, m: number): ReadonlyMap<number, number> {
  if (err.size === 0 || m === 1) return err;
  const out = new Map<number, number>();
  for (const [w, d] of err) out.set(w, d * m);
  return out;
}
