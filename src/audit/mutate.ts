/**
 * Whole-model mutation testing: take a valid witness of a compiled model, change one signal, and check that
 * the constraints notice. Rule 6 of the design asks this of every template; here it is asked of the whole
 * circuit, signal by signal, so a wiring mistake between templates (an output assigned but never constrained, a
 * range check sized too small) shows up too.
 *
 * What is claimed, precisely. A tampered witness has one of three outcomes:
 * - `caught`: some constraint is violated — the prover cannot make a proof from it;
 * - `same-statement`: every constraint still holds and every public signal is unchanged — a different private
 *   witness for the same statement. Not a soundness bug: a proof of it proves what the honest proof proves.
 *   It does mean the tampered signal is not determined by the others (which `zkml audit` reports);
 * - `other-input`: every constraint still holds and a private input changed (a two-signal attack that moves an
 *   input together with one other signal) — a witness for a different input; it is a soundness bug only if
 *   the public outputs are not what that input gives, which one changed signal cannot tell;
 * - `forged`: every constraint still holds, no private input changed and a public signal (an output, or a
 *   public input) did — a proof of a statement the witness's inputs do not give. A soundness bug, always.
 * A tampered private INPUT signal alone is caught only where that input is range-checked or used in some
 * constraint; with range checks on (the default) every input is in a bit decomposition and is caught.
 */
import { inputPorts } from '../gadgets/gadget.ts';
import type { Program } from '../ir/program.ts';
import { layoutCircuit } from '../compiler/layout.ts';
import type { R1cs } from '../circom/r1cs.ts';
import { FIELD_P } from '../io/output.ts';
import { ZkmlError } from '../util/errors.ts';

const mod = (v: bigint) => ((v % FIELD_P) + FIELD_P) % FIELD_P;

/**
 * What a witness signal is, for counting mutations by kind. Bits are named by the gadget they belong to:
 * a requantization's low k bits are the remainder, the next ones the quotient, and its top bit the quotient's
 * sign when the quotient can be negative (gadgets/requant.ts). Signals of other gadgets are named by the
 * gadget's kind (`hash signal` for a Poseidon permutation's internals, `onehot bit`, ...).
 */
export type SignalClass =
  | 'output'
  | 'public input'
  | 'private input'
  | 'requant remainder bit'
  | 'requant quotient bit'
  | 'requant sign bit'
  | 'range-check bit'
  | 'comparison bit'
  | 'product output'
  | 'gadget output'
  | 'gadget input'
  | `${string} bit`
  | `${string} signal`
  | 'other';

export interface WitnessSignal {
  /** Index into the witness (0 is the constant 1 and is never listed). */
  index: number;
  /** Signal name from the .sym file, e.g. `main.c3[0].bits[12]`. */
  name: string;
  cls: SignalClass;
  /** ONNX node of the gadget the signal belongs to, when it belongs to one. */
  node?: string;
}

/** A change to one field element. */
export type Tamper = { kind: 'flip-bit'; bit: number } | { kind: 'add'; delta: bigint } | { kind: 'random'; value: bigint };

export type Outcome = 'caught' | 'same-statement' | 'other-input' | 'forged';

export interface MutationResult {
  signal: WitnessSignal;
  tamper: Tamper;
  outcome: Outcome;
  /** First violated constraint, when caught. */
  violated?: number;
}

/** `main.c4[12].bits[3]` → component c4[12], signal `bits`, index 3; deeper names (a template's subcomponents) too. */
const GADGET_SIGNAL = /^main\.(c\d+\[\d+\])\.([A-Za-z_]\w*)(?:\[(\d+)\])?(\..*)?$/;
const INPUT_SIGNAL = /^main\.in\d+\[\d+\]$/;

/** The class of one gadget signal, from the gadget's kind and parameters. */
function gadgetClass(kind: string, params: any, name: string, bit: number | undefined): SignalClass {
  if (name === 'bits' && bit !== undefined) {
    if (kind === 'requant') {
      if (bit < params.k) return 'requant remainder bit';
      if (params.signed && bit === params.k + params.b - 1) return 'requant sign bit';
      return 'requant quotient bit';
    }
    if (kind === 'range') return 'range-check bit';
    if (kind === 'max') return 'comparison bit';
    return `${kind} bit`;
  }
  if (kind === 'max' && name === 'sign') return 'comparison bit';
  // A gadget's output keeps the name of the signal that made it: `out`, or the product that is its value
  // (ZkProduct's `prod`, a ReLU requantization's `relu`, ZkMax's `sel` is internal to its linear output).
  if (name === 'out' || name === 'prod' || (kind === 'requant' && name === 'relu')) return kind === 'product' ? 'product output' : 'gadget output';
  if (name === 'in' || name === 'a' || name === 'b') return 'gadget input';
  return `${kind} signal`;
}

/**
 * Every witness entry of a build (except the constant 1), named by the .sym file and classified by the
 * program's gadgets. Signals circom's --O2 eliminated (index -1) are not in the witness and cannot be
 * tampered with directly: they live on as linear combinations of the listed ones. Private inputs are told by
 * `privateInputs` (witness indices, e.g. from audit's inputWires) or else by zkml's naming (`main.in0[3]`):
 * not by the r1cs header's count, which still counts the inputs --O2 eliminated.
 */
export function classifySignals(program: Program, symbols: Map<string, number>, r1cs: R1cs, privateInputs?: Set<number>): WitnessSignal[] {
  const publicEnd = r1cs.nOutputs + r1cs.nPubInputs;
  // --O2 keeps one name per value: a product feeding a requantization lives on as that gadget's `in`.
  const producer = new Map<number, string>();
  for (const g of program.gadgets) for (const w of g.outputs) producer.set(w, g.def.kind);
  const fedBy = (g: (typeof program.gadgets)[number], input: string): string | undefined => {
    const e = g.inputs[inputPorts(g.def, g.params).indexOf(input)];
    if (!e || e.c !== 0n || e.terms.size !== 1) return undefined;
    const [[wire, coef]] = [...e.terms];
    return coef === 1n ? producer.get(wire) : undefined;
  };
  const gadgetOf = new Map(layoutCircuit(program).componentOf.map((c, id) => [c, id]));
  const byIndex = new Map<number, WitnessSignal>();
  for (const [name, index] of symbols) {
    if (index <= 0 || byIndex.has(index)) continue;
    let cls: SignalClass = 'other';
    let node: string | undefined;
    const gadget = GADGET_SIGNAL.exec(name);
    const id = gadget ? gadgetOf.get(gadget[1]) : undefined;
    const g = id === undefined ? undefined : program.gadgets[id];
    if (index <= r1cs.nOutputs) cls = 'output';
    else if (index <= publicEnd) cls = 'public input';
    else if (privateInputs ? privateInputs.has(index) : INPUT_SIGNAL.test(name)) cls = 'private input';
    else if (gadget && g) {
      cls = gadget[4] ? `${g.def.kind} signal` : gadgetClass(g.def.kind, g.params, gadget[2], gadget[3] === undefined ? undefined : Number(gadget[3]));
      if (cls === 'gadget input' && fedBy(g, gadget[2]) === 'product') cls = 'product output';
      node = g.node;
    }
    byIndex.set(index, { index, name, cls, ...(node ? { node } : {}) });
  }
  return [...byIndex.values()].sort((a, b) => a.index - b.index);
}

/** The tampered value of a field element `v` (canonical, in [0, p)). */
export function tamperValue(v: bigint, t: Tamper): bigint {
  switch (t.kind) {
    case 'flip-bit':
      return mod(v ^ (1n << BigInt(t.bit)));
    case 'add':
      return mod(v + t.delta);
    case 'random':
      return mod(t.value);
  }
}

export function describeTamper(t: Tamper): string {
  if (t.kind === 'flip-bit') return `flip bit ${t.bit}`;
  if (t.kind === 'add') return `${t.delta >= 0n ? '+' : ''}${t.delta}`;
  return `replace with ${t.value}`;
}

/**
 * A valid witness of an r1cs, prepared for many single-signal mutations. Checking a mutation evaluates only the
 * constraints that mention the changed signal: every other constraint sees the same values as in the valid
 * witness, which satisfies them all (the constructor checks that once, over every constraint). So this is
 * exactly `violatedConstraints` on the tampered witness, at the cost of a few constraints instead of all.
 */
export class MutationTarget {
  readonly witness: bigint[];
  /** Witness indices 1..publicCount are the public signals (outputs, then public inputs). */
  readonly publicCount: number;
  private readonly uses: number[][];
  private readonly privateInputs: Set<number>;

  /** `signals` (from classifySignals) tells which witness entries are private inputs. */
  constructor(
    readonly r1cs: R1cs,
    witness: bigint[],
    signals: WitnessSignal[],
  ) {
    this.witness = witness.map(mod);
    this.publicCount = r1cs.nOutputs + r1cs.nPubInputs;
    this.privateInputs = new Set(signals.filter((s) => s.cls === 'private input').map((s) => s.index));
    this.uses = Array.from({ length: this.witness.length }, () => []);
    r1cs.constraints.forEach((c, i) => {
      const seen = new Set<number>();
      for (const lc of c) for (const w of lc.keys()) seen.add(w);
      for (const w of seen) {
        if (!this.uses[w]) throw new ZkmlError(`constraint ${i} refers to wire ${w}; the witness has ${this.witness.length}: r1cs and witness do not belong together`, 'E_ARTIFACT');
        this.uses[w].push(i);
      }
    });
    const bad = this.violated(this.witness, [...r1cs.constraints.keys()]);
    if (bad !== undefined) throw new ZkmlError(`the witness to mutate is not valid: it violates constraint ${bad}`, 'E_WITNESS');
  }

  /** Constraints that mention witness index `i`. */
  usesOf(i: number): readonly number[] {
    return this.uses[i] ?? [];
  }

  private violated(w: bigint[], ids: Iterable<number>): number | undefined {
    const dot = (lc: Map<number, bigint>) => {
      let acc = 0n;
      for (const [i, a] of lc) acc += a * w[i];
      return mod(acc);
    };
    for (const i of ids) {
      const [a, b, c] = this.r1cs.constraints[i];
      if (mod(dot(a) * dot(b)) !== dot(c)) return i;
    }
    return undefined;
  }

  /** The witness with one signal changed (a copy), or undefined when the tamper leaves the value as it was. */
  tampered(signal: WitnessSignal, t: Tamper): bigint[] | undefined {
    const v = tamperValue(this.witness[signal.index], t);
    if (v === this.witness[signal.index]) return undefined;
    const w = this.witness.slice();
    w[signal.index] = v;
    return w;
  }

  /** Applies one tamper and classifies the result; undefined when the tamper changes nothing. */
  mutate(signal: WitnessSignal, t: Tamper): MutationResult | undefined {
    const w = this.tampered(signal, t);
    if (!w) return undefined;
    const violated = this.violated(w, this.usesOf(signal.index));
    if (violated !== undefined) return { signal, tamper: t, outcome: 'caught', violated };
    return { signal, tamper: t, outcome: this.outcome([signal.index]) };
  }

  /** The outcome of a tamper of `changed` that violates no constraint. */
  private outcome(changed: number[]): Outcome {
    if (changed.some((i) => this.privateInputs.has(i))) return 'other-input';
    return changed.some((i) => i >= 1 && i <= this.publicCount) ? 'forged' : 'same-statement';
  }

  /**
   * A two-signal attack: tamper with `signal`, then repair one constraint that mentions it by solving that
   * constraint for a second signal. This is what a prover who satisfies the most obvious equation would do; the
   * remaining constraints must still catch it. The (constraint, partner) pair is picked by `pick` among those
   * where the partner occurs linearly (in exactly one of A, B, C), so the constraint can be solved for it.
   * Undefined when the tamper changes nothing, no such pair exists, or the solution needs a division by zero.
   */
  compensated(signal: WitnessSignal, t: Tamper, pick: number): (MutationResult & { partner: number }) | undefined {
    const w = this.tampered(signal, t);
    if (!w) return undefined;
    const candidates: [number, number][] = [];
    for (const id of this.usesOf(signal.index)) {
      const [A, B, C] = this.r1cs.constraints[id];
      for (const p of new Set([...A.keys(), ...B.keys(), ...C.keys()])) {
        if (p !== 0 && p !== signal.index && Number(A.has(p)) + Number(B.has(p)) + Number(C.has(p)) === 1) candidates.push([id, p]);
      }
    }
    if (candidates.length === 0) return undefined;
    const [id, p] = candidates[pick % candidates.length];
    const [A, B, C] = this.r1cs.constraints[id];
    const dot = (lc: Map<number, bigint>) => {
      let acc = 0n;
      for (const [i, a] of lc) acc += a * w[i];
      return mod(acc);
    };
    const [a, b, c] = [dot(A), dot(B), dot(C)];
    // Solve A·B = C for the change d of w[p].
    let d: bigint | undefined;
    if (C.has(p)) d = mod((a * b - c) * inverse(C.get(p)!));
    else if (A.has(p) && b !== 0n) d = mod((c * inverse(b) - a) * inverse(A.get(p)!));
    else if (B.has(p) && a !== 0n) d = mod((c * inverse(a) - b) * inverse(B.get(p)!));
    if (d === undefined || d === 0n) return undefined;
    w[p] = mod(w[p] + d);
    const violated = this.violated(w, new Set([...this.usesOf(signal.index), ...this.usesOf(p)]));
    const base = { signal, tamper: t, partner: p };
    if (violated !== undefined) return { ...base, outcome: 'caught', violated };
    return { ...base, outcome: this.outcome([signal.index, p]) };
  }
}

/** a^-1 mod p (a != 0), by Fermat. */
export function inverse(a: bigint): bigint {
  let result = 1n;
  let base = mod(a);
  if (base === 0n) throw new Error('inverse of 0');
  for (let e = FIELD_P - 2n; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * base) % FIELD_P;
    base = (base * base) % FIELD_P;
  }
  return result;
}

export interface ClassTally {
  tried: number;
  caught: number;
  sameStatement: number;
  otherInput: number;
  forged: number;
}

const emptyTally = (): ClassTally => ({ tried: 0, caught: 0, sameStatement: 0, otherInput: 0, forged: 0 });

/** Mutations tried and their outcomes, per signal class. */
export class MutationTally {
  readonly byClass = new Map<SignalClass, ClassTally>();
  /** Every uncaught mutation (same-statement or forged), for the report. */
  readonly uncaught: MutationResult[] = [];

  add(r: MutationResult | undefined): void {
    if (!r) return;
    const t = this.byClass.get(r.signal.cls) ?? emptyTally();
    t.tried++;
    if (r.outcome === 'caught') t.caught++;
    else if (r.outcome === 'same-statement') t.sameStatement++;
    else if (r.outcome === 'other-input') t.otherInput++;
    else t.forged++;
    this.byClass.set(r.signal.cls, t);
    if (r.outcome !== 'caught') this.uncaught.push(r);
  }

  merge(other: MutationTally): void {
    for (const [cls, o] of other.byClass) {
      const t = this.byClass.get(cls) ?? emptyTally();
      for (const k of Object.keys(t) as (keyof ClassTally)[]) t[k] += o[k];
      this.byClass.set(cls, t);
    }
    this.uncaught.push(...other.uncaught);
  }

  total(): ClassTally {
    const sum = emptyTally();
    for (const t of this.byClass.values()) for (const k of Object.keys(sum) as (keyof ClassTally)[]) sum[k] += t[k];
    return sum;
  }

  /** A fixed-width table: class, tried, caught, same statement, other input, forged. */
  table(): string {
    const rows = [...this.byClass.entries()].sort(([a], [b]) => a.localeCompare(b));
    const cols = (xs: (string | number)[]) => xs.map((x, i) => String(x)[i === 0 ? 'padEnd' : 'padStart']([24, 10, 10, 16, 13, 8][i])).join('');
    const line = (name: string, t: ClassTally) => cols([name, t.tried, t.caught, t.sameStatement, t.otherInput, t.forged]);
    return [
      cols(['signal class', 'tried', 'caught', 'same statement', 'other input', 'forged']),
      ...rows.map(([c, t]) => line(c, t)),
      line('total', this.total()),
    ].join('\n');
  }
}

/**
 * The deterministic sweep: every witness signal gets +1, -1 and a flip of its lowest bit. Every signal of the
 * build is covered once, whatever a random sample would pick.
 */
export function sweep(target: MutationTarget, signals: WitnessSignal[], tally = new MutationTally()): MutationTally {
  const tampers: Tamper[] = [{ kind: 'add', delta: 1n }, { kind: 'add', delta: -1n }, { kind: 'flip-bit', bit: 0 }];
  for (const s of signals) for (const t of tampers) tally.add(target.mutate(s, t));
  return tally;
}

/** Signals grouped by class, so a random pick can give every class the same weight whatever its size. */
export function byClass(signals: WitnessSignal[]): Map<SignalClass, WitnessSignal[]> {
  const groups = new Map<SignalClass, WitnessSignal[]>();
  for (const s of signals) {
    const g = groups.get(s.cls);
    if (g) g.push(s);
    else groups.set(s.cls, [s]);
  }
  return groups;
}
