/**
 * The one language gadgets are written in. A gadget's `synthesize` describes its circuit once, against this
 * interface; three backends run it:
 * - the constraint system (src/circuit/system.ts): signals and R1CS constraints, written to circuit.r1cs;
 * - the witness (src/circuit/witness.ts): the same calls on values, giving every signal of a proof's witness;
 * - the Circom printer (src/circom/template.ts): the calls as Circom statements, the templates of circuit.circom.
 * So a gadget's constraints, its witness code and its Circom template cannot drift apart: there is one source.
 *
 * `L` is the backend's linear combination (a sparse sum over signals, a value, or a Circom expression). Gadget
 * code never looks inside it: it combines them with `linear` and creates signals with the primitives below, each
 * of which states what it proves. Every primitive constrains what it computes, but for `hintBits`, which only
 * gadgets/arith.ts uses and always pins; so a gadget built from them is sound as long as its own reasoning about
 * ranges is (each gadget file says why).
 */
export interface GadgetBuilder<L> {
  constant(v: bigint): L;
  /** Σ k·x + c: free (no signal, no constraint). */
  linear(terms: readonly (readonly [L, bigint])[], c?: bigint): L;
  /**
   * Signals `name[0..n)`, each constrained boolean, whose weighted sum Σ 2^i·name[i] equals `v`: v's binary
   * digits. Only a v in [0, 2^n) has a witness, so the caller proves (from intervals) that the honest v lies there;
   * n ≤ 250 keeps the sum below the field size, which makes the digits unique. Cost: n constraints (the equality
   * with v is linear and folds into them).
   */
  bits(name: string, v: L, n: number): BitArray<L>;
  /** A signal `name` = a·b (one constraint); the linear product when a or b is a constant. */
  product(name: string, a: L, b: L): L;
  /**
   * [m = 0] as a signal `name`, with the inverse of m as a witness `name_inv`: d = 1 - m·inv and m·d = 0 force
   * d = 1 when m = 0 and d = 0 (with inv = 1/m) otherwise. Cost: 2 constraints.
   */
  isZero(name: string, m: L): L;
  /**
   * Signals `name[0..n)` with name[i] = [idx = i]: each boolean, they sum to 1 and Σ i·name[i] = idx, so only an
   * idx in [0, n) has a witness and the set one is name[idx]. Cost: n constraints (the two sums are linear).
   */
  oneHot(name: string, idx: L, n: number): L[];
  /**
   * Signals `name[0..n)`, each constrained boolean, holding the binary digits of `hint` evaluated on the witness
   * (a quotient floor(num/den) with num ≥ 0 and den ≥ 1, or an integer square root): the one primitive whose
   * value is not pinned by its own constraints. Gadgets do not call it: the arithmetic of gadgets/arith.ts does,
   * and pins the value in the same breath (x = q·d + r with 0 ≤ r < d; s² ≤ x < (s+1)²). Cost: n constraints.
   */
  hintBits(name: string, n: number, hint: Hint<L>): BitArray<L>;
  /**
   * circomlib's Poseidon over 1..16 field elements (its component `Poseidon(n)`, circuit for circuit): the
   * digest is linear in the signals of the last round. Cost: POSEIDON_COST[n] constraints (gadgets/hash.ts).
   */
  poseidon(name: string, inputs: L[]): L;
}

/** A value computed on the witness for `hintBits`. */
export type Hint<L> = { op: 'div'; num: L; den: L } | { op: 'sqrt'; x: L };

/** The digits of a `bits` decomposition. */
export interface BitArray<L> {
  readonly n: number;
  bit(i: number): L;
  /** Σ_{j < count} 2^j·bit(from + j): the number the digits from..from+count-1 write (0 when count is 0). */
  sum(from: number, count: number): L;
}
