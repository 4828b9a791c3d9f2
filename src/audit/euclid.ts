/**
 * Rule 7 of determined.ts: hinted quotients and square roots. gadgets/arith.ts takes a quotient or a root from a
 * hint as bits and pins it with a product and range checks; the bits are determined (only the true result
 * passes) but no linear argument shows it: the remainder's and its complement's bits sum to a known value, which
 * leaves as many choices as there are ways to split it. The rule reads the integers the bits make and applies
 * the two uniqueness lemmas the gadgets rely on.
 *
 * Integers from bits. A boolean form β ∈ {0, 1} (onehot.ts) oriented as σ = β or 1 - β is a 0/1 integer, and
 * Σ 2^e_k·σ_k over distinct exponents is an integer in [0, 2^w). For a product constraint A·B = C the rule
 * expresses, by exact linear algebra over the unknown signals (and the linear constraints), A as λ_A·Q + (a value
 * the inputs fix), C as λ_C·R + (such a value), with Q and R such binary-weighted sums of disjoint sets of forms.
 *
 * Division (A·B = C with B's signals all determined, value Y): a further set of forms gives the integer R' with
 * R + R' + 1 = ν·B exactly (as affine forms, up to linear constraints: the gadget's check of Y - 1 - R). Then
 * D = R + R' + 1 is an integer in [1, 2^wR + 2^wR'), D ≡ ν·Y, and 0 ≤ R ≤ D - 1. Two witnesses for the same
 * inputs give λ_A·δQ·Y = λ_C·δR, i.e. δR ≡ κ·δQ·D with κ = λ_A/(ν·λ_C); when κ is a small nonzero integer and
 * |κ|·2^wQ·D + D < p this holds over the integers, and |δR| < D forces δQ = 0: Q, hence A, is fixed.
 *
 * Square root (A·B = C with A = λ·S and B = μ·λ·S exactly, S a binary-weighted sum): C = λ_C·E + (fixed) with
 * λ_C = -λ²·μ, so S² + E is fixed, and a further set of forms gives F with 2S - E - F = 0 exactly (the check of
 * 2s - e). Then 0 ≤ E ≤ 2S, so S² ≤ S² + E < (S + 1)² over the integers (all below p when 2·wS + 2 < 253): S is
 * ⌊√(S² + E)⌋ and fixed, so is A.
 *
 * What the rule returns are linear equations over the unknown signals whose value the inputs fix (A's unknown
 * part); rules 1, 4 and 5 take them from there (C then follows from the product, R and the bits by rule 3).
 */
import { FIELD_P } from '../io/output.ts';
import { inverse } from './mutate.ts';
import { axpy, Basis, components, mod, type Vec } from './echelon.ts';
import type { Affine, BooleanForm } from './onehot.ts';

const P = FIELD_P;
const HALF = P / 2n;
/** The signed representative of a field element. */
const signed = (v: bigint) => (mod(v) > HALF ? mod(v) - P : mod(v));
/** κ beyond this (in absolute value) is not taken as a small integer. */
const SMALL = 1n << 16n;
/** Forms beyond this are left alone. */
const MAX_FORMS = 4096;
/** For constant divisors, which try each weight of a relation as the remainder's lowest bit: smaller bounds. */
const MAX_DIVMOD_FORMS = 1024;
const MAX_SCALES = 64;

/** A binary-weighted sum read off coefficients on forms: z_k = λ·s_k·2^e_k (distinct e_k ≥ 0, s_k = ±1). */
interface BitSum {
  lambda: bigint;
  /** form index → [exponent, orientation s]. */
  bits: Map<number, [number, bigint]>;
  width: number;
}

function log2(v: bigint): number | undefined {
  if (v <= 0n || (v & (v - 1n)) !== 0n) return undefined;
  return v.toString(2).length - 1;
}

/** The coefficients as λ·Σ ±2^e over forms, λ the smallest weight; `exactScale` asks for λ = 1. */
function bitSum(z: Vec, exactScale = false): BitSum | undefined {
  const entries = [...z].filter(([, c]) => c !== 0n);
  if (entries.length === 0) return undefined;
  const tryScale = (lambda: bigint): BitSum | undefined => {
    const inv = inverse(lambda);
    const bits = new Map<number, [number, bigint]>();
    const used = new Set<number>();
    for (const [k, c] of entries) {
      const w = signed(c * inv);
      const e = log2(w < 0n ? -w : w);
      if (e === undefined || used.has(e)) return undefined;
      used.add(e);
      bits.set(k, [e, w < 0n ? -1n : 1n]);
    }
    return { lambda, bits, width: Math.max(...used) + 1 };
  };
  if (exactScale) return tryScale(1n);
  // λ is ± the weight of the lowest bit: try each entry's weight as λ·2^0 (the first that works is kept).
  for (const [, c] of entries) {
    const s = tryScale(c);
    if (s) return s;
  }
  return undefined;
}

/** The same sum read the other way: λ → -λ, each σ → 1 - σ (the integer becomes 2^w-ish minus it). */
const flipped = (s: BitSum): BitSum => ({ lambda: mod(-s.lambda), bits: new Map([...s.bits].map(([k, [e, o]]) => [k, [e, -o]])), width: s.width });
const both = (s: BitSum | undefined): BitSum[] => (s ? [s, flipped(s)] : []);

/** Σ 2^e·σ_k as a full affine form (σ = β for s = 1, 1 - β for s = -1), constant at key 0. */
function integerOf(sum: BitSum, forms: BooleanForm[], cols: number[]): Vec {
  const out: Vec = new Map();
  for (const [k, [e, s]] of sum.bits) {
    const beta = full(forms[cols[k]].beta);
    const w = 1n << BigInt(e);
    if (s === 1n) axpy(out, beta, w);
    else {
      axpy(out, new Map([[0, 1n]]), w);
      axpy(out, beta, -w);
    }
  }
  return out;
}

const full = (a: Affine): Vec => {
  const v = new Map(a.coeffs);
  if (mod(a.c) !== 0n) v.set(0, mod(a.c));
  return v;
};

export interface EuclidInput {
  forms: BooleanForm[];
  /** Product constraints not yet linear: [A, B, C] with the constant at key 0. */
  products: [Vec, Vec, Vec][];
  /** Linear constraints of the r1cs as exact affine forms. */
  linear: Affine[];
  known: (v: number) => boolean;
}

/** Rule 7 (see the file header): linear equations over the unknown signals whose values the inputs fix. */
export function solveEuclid(input: EuclidInput): Vec[] {
  const { forms, products, linear, known } = input;
  const unknownPart = (v: Vec): Vec => new Map([...v].filter(([s, c]) => s !== 0 && !known(s) && mod(c) !== 0n));
  const owners = new Map<number, number[]>();
  forms.forEach((f, i) => {
    for (const v of f.beta.coeffs.keys()) if (!known(v)) (owners.get(v) ?? owners.set(v, []).get(v)!).push(i);
  });
  const linearOf = new Map<number, number[]>();
  linear.forEach((l, j) => {
    for (const v of l.coeffs.keys()) if (!known(v)) (linearOf.get(v) ?? linearOf.set(v, []).get(v)!).push(j);
  });
  const out: Vec[] = [];
  for (const [A0, B0, C0] of products) {
    for (const [A, B] of [[A0, B0], [B0, A0]] as [Vec, Vec][]) {
      const C = C0;
      const ua = unknownPart(A);
      if (ua.size === 0) continue;
      // The forms near this constraint: those sharing an unknown with it, and those sharing one with them.
      // The forms near this constraint: reached from its unknowns through forms and linear constraints (the
      // remainder's complement may be tied to the remainder by a kept linear row only), three steps deep.
      const near = new Set<number>();
      const nearLinear = new Set<number>();
      const signals = new Set([...ua.keys(), ...unknownPart(B).keys(), ...unknownPart(C).keys()]);
      for (let round = 0; round < 3 && near.size <= MAX_FORMS; round++) {
        for (const s of [...signals]) {
          for (const i of owners.get(s) ?? []) {
            if (near.has(i)) continue;
            near.add(i);
            for (const v of forms[i].beta.coeffs.keys()) if (!known(v)) signals.add(v);
          }
          for (const j of linearOf.get(s) ?? []) {
            if (nearLinear.has(j)) continue;
            nearLinear.add(j);
            for (const v of linear[j].coeffs.keys()) if (!known(v)) signals.add(v);
          }
        }
      }
      if (near.size > MAX_FORMS || nearLinear.size > MAX_FORMS) continue;
      const cols = [...near].sort((a, b) => forms[a].beta.coeffs.size - forms[b].beta.coeffs.size || a - b);
      const lin = [...nearLinear].map((j) => linear[j]);
      /** A basis of the unknown parts of the forms not in `skip`, then the linear constraints. */
      const basisWithout = (skip: Set<number>) =>
        new Basis([...cols.map((i, k) => (skip.has(k) ? new Map() : unknownPart(full(forms[i].beta)))), ...lin.map((l) => unknownPart(l.coeffs))]);
      const onForms = (z: Vec) => new Map([...z].filter(([j]) => j < cols.length));
      /** The multipliers of the linear constraints in z, applied to their full forms. */
      const linearPart = (z: Vec): Vec => {
        const v: Vec = new Map();
        for (const [j, c] of z) if (j >= cols.length) axpy(v, full(lin[j - cols.length]), c);
        return v;
      };

      /** The rest of the rule for one reading of A as λ_A·Q. */
      const attempt = (Q: BitSum): boolean => {
        const skipQ = new Set(Q.bits.keys());
        const uc = unknownPart(C);
        const bKnown = unknownPart(B).size === 0;

        if (bKnown && uc.size > 0) {
          // Division: C = λ_C·R + fixed, and R + R' + 1 = ν·B exactly.
          const zC = basisWithout(skipQ).express(uc);
          const found = both(zC && bitSum(onForms(zC))).some((R) => {
            const skipQR = new Set([...skipQ, ...R.bits.keys()]);
            const target = integerOf(R, forms, cols);
            axpy(target, new Map([[0, 1n]]), 1n); // R + 1
            // R + 1 + R' ≡ ν·B: R + 1 has the unknown part -R' (R' a sum of forms with weights exactly ±2^f).
            const zT = basisWithout(skipQR).express(new Map([...unknownPart(target)].map(([v, c]) => [v, mod(-c)])));
            const Rc = zT && bitSum(onForms(zT), true);
            if (!Rc) return false;
            // The residual R + 1 + R' + (linear constraints' multiples, each 0) has no unknown: it must be ν·B exactly.
            const residual = new Map(target);
            axpy(residual, integerOf(Rc, forms, cols), 1n);
            axpy(residual, linearPart(zT), 1n);
            if (unknownPart(residual).size > 0) return false;
            const bFull = new Map([...B].filter(([, c]) => mod(c) !== 0n).map(([v, c]) => [v, mod(c)]));
            const [v0, b0] = bFull.entries().next().value ?? [0, 0n];
            if (b0 === 0n) return false;
            const nu = mod((residual.get(v0) ?? 0n) * inverse(b0));
            if (nu === 0n) return false;
            const check = new Map(residual);
            axpy(check, bFull, -nu);
            if (check.size > 0) return false;
            const kappa = signed(mod(Q.lambda * inverse(mod(nu * R.lambda))));
            const absK = kappa < 0n ? -kappa : kappa;
            if (kappa === 0n || absK > SMALL) return false;
            const dBits = Math.max(R.width, Rc.width) + 1;
            return absK.toString(2).length + Q.width + dBits + 1 < 253;
          });
          if (found) return true;
        }

        if (!bKnown) {
          // Square root: B = μ·A exactly, A = λ·S exactly (no other term), C = λ_C·E + fixed with λ_C = -λ²·μ.
          const aFull = new Map([...A].filter(([, c]) => mod(c) !== 0n).map(([v, c]) => [v, mod(c)]));
          const bFull = new Map([...B].filter(([, c]) => mod(c) !== 0n).map(([v, c]) => [v, mod(c)]));
          const [v0, a0] = aFull.entries().next().value!;
          const mu = mod((bFull.get(v0) ?? 0n) * inverse(a0));
          const diff = new Map(bFull);
          axpy(diff, aFull, -mu);
          if (mu === 0n || diff.size > 0) return false;
          if (uc.size === 0) return false;
          const Sq = both(Q).find((q) => {
            const aCheck = new Map(aFull);
            axpy(aCheck, integerOf(q, forms, cols), -q.lambda);
            return aCheck.size === 0;
          });
          if (!Sq) return false;
          const S = integerOf(Sq, forms, cols);
          const zC = basisWithout(skipQ).express(uc);
          const E = both(zC && bitSum(onForms(zC))).find((e) => mod(e.lambda + Sq.lambda * Sq.lambda * mu) === 0n);
          if (!E) return false;
          const skipQE = new Set([...skipQ, ...E.bits.keys()]);
          // 2S - E - F = 0 exactly: 2S - E has the unknown part of F.
          const target = new Map<number, bigint>();
          axpy(target, S, 2n);
          axpy(target, integerOf(E, forms, cols), -1n);
          const zF = basisWithout(skipQE).express(unknownPart(target));
          const F = zF && bitSum(onForms(zF), true);
          if (!F) return false;
          const residual = new Map(target);
          axpy(residual, integerOf(F, forms, cols), -1n);
          axpy(residual, linearPart(zF), -1n);
          if (residual.size > 0) return false;
          if (2 * Sq.width + 2 >= 253 || E.width >= 252 || F.width >= 252) return false;
          return true;
        }
        return false;
      };
      // A may be written over more than one set of forms (a form after the gadget can hold A's signal too): a
      // reading that fails is set aside and the next one tried.
      const skipA = new Set<number>();
      let ok = false;
      for (let tries = 0; tries < 4 && !ok; tries++) {
        const zA = basisWithout(skipA).express(ua);
        const Q = zA && bitSum(onForms(zA));
        if (!Q) break;
        ok = attempt(Q);
        for (const k of Q.bits.keys()) skipA.add(k);
      }
      if (ok) {
        out.push(ua);
        break;
      }
    }
  }
  out.push(...solveConstantDivisions(input, linearOf));
  return out;
}

/**
 * Division by a constant (gadgets/divmod.ts): no product, but a linear relation λ·(κ·D·Q + R) = (fixed) among the
 * forms, found as a dependency of their unknown parts, with R + R' + 1 = D exactly for a constant D ≥ 2. The
 * division argument with Y = D. Returns Q's and R's unknown parts (both fixed).
 */
function solveConstantDivisions(input: EuclidInput, linearOf: Map<number, number[]>): Vec[] {
  const { forms, linear, known } = input;
  const unknownPart = (v: Vec): Vec => new Map([...v].filter(([s, c]) => s !== 0 && !known(s) && mod(c) !== 0n));
  // Components of forms and linear constraints joined by shared unknown signals.
  const groups = components(forms.map((f) => f.beta.coeffs.keys()), known, linear.map((l) => l.coeffs.keys()), false);
  const out: Vec[] = [];
  for (const group of groups) {
    if (group.length < 3 || group.length > MAX_DIVMOD_FORMS) continue;
    const cols = group.sort((a, b) => forms[a].beta.coeffs.size - forms[b].beta.coeffs.size || a - b);
    const signals = new Set(cols.flatMap((i) => [...forms[i].beta.coeffs.keys()].filter((v) => !known(v))));
    const linIds = new Set([...signals].flatMap((v) => linearOf.get(v) ?? []));
    const lin = [...linIds].map((j) => linear[j]).filter((l) => [...l.coeffs.keys()].every((v) => known(v) || signals.has(v)));
    const columns = [...cols.map((i) => unknownPart(full(forms[i].beta))), ...lin.map((l) => unknownPart(l.coeffs))];
    const basisWithout = (skip: Set<number>) => new Basis(columns.map((c, k) => (skip.has(k) ? new Map() : c)));
    let done = false;
    for (const dep of new Basis(columns).dependencies) {
      if (done) break;
      const onForms = new Map([...dep].filter(([j]) => j < cols.length));
      if (onForms.size < 3) continue;
      for (const lambda of [...new Set(onForms.values())].slice(0, MAX_SCALES)) {
        const inv = inverse(lambda);
        const rPart: Vec = new Map();
        const qPart: Vec = new Map();
        for (const [k, z] of onForms) {
          const w = signed(z * inv);
          if (log2(w < 0n ? -w : w) !== undefined) rPart.set(k, z);
          else qPart.set(k, z);
        }
        const R = bitSum(rPart);
        if (!R || qPart.size === 0 || R.lambda !== lambda) continue;
        // R + 1 + R' = D, a constant (the check of D - 1 - R).
        const ok = both(R).some((r) => {
          const target = integerOf(r, forms, cols);
          axpy(target, new Map([[0, 1n]]), 1n);
          const zT = basisWithout(new Set([...rPart.keys(), ...qPart.keys()])).express(new Map([...unknownPart(target)].map(([v, c]) => [v, mod(-c)])));
          const Rc = zT && bitSum(new Map([...zT].filter(([j]) => j < cols.length)), true);
          if (!Rc) return false;
          const residual = new Map(target);
          axpy(residual, integerOf(Rc, forms, cols), 1n);
          for (const [j, c] of zT) if (j >= cols.length) axpy(residual, full(lin[j - cols.length]), c);
          if (residual.size !== 1 || !residual.has(0)) return false;
          const D = residual.get(0)!;
          if (D < 2n || D.toString(2).length > 250) return false;
          // The quotient's weights: λ·κ·D·(±2^e) with one κ, distinct e (r's λ is R's, read with r's orientation).
          const scale = inverse(mod(r.lambda * D));
          const parts = [...qPart].map(([k, z]) => signed(z * scale));
          const odd = (t: bigint) => {
            let a = t < 0n ? -t : t;
            let e = 0;
            while (a > 0n && (a & 1n) === 0n) (a >>= 1n, e++);
            return [a, e] as const;
          };
          const [kappa] = odd(parts[0]);
          if (kappa === 0n || kappa > SMALL) return false;
          const exps = parts.map(odd);
          if (exps.some(([a]) => a !== kappa) || new Set(exps.map(([, e]) => e)).size !== exps.length) return false;
          const wQ = Math.max(...exps.map(([, e]) => e)) + 1;
          if (kappa.toString(2).length + wQ + D.toString(2).length + 1 >= 253) return false;
          const qSum: BitSum = { lambda: 1n, bits: new Map([...qPart.keys()].map((k, i) => [k, [exps[i][1], parts[i] < 0n ? -1n : 1n]])), width: wQ };
          out.push(unknownPart(integerOf(qSum, forms, cols)), unknownPart(integerOf(r, forms, cols)));
          return true;
        });
        if (ok) {
          done = true;
          break;
        }
      }
    }
  }
  return out;
}
