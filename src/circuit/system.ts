/**
 * The constraint system of a program, built by zkml itself: every gadget's `synthesize` run on signals, giving
 * named signals (circom's names: `main.c3[5].bits[2]`), quadratic constraints A·B = C and linear constraints
 * L = 0, in the order circom would create them. eliminate.ts then folds linear constraints into the others and
 * r1cs-file.ts writes the result. Its cost is linear in the constraints plus the nonzero coefficients: nothing
 * here grows with anything else (circom's compiler, by contrast, interprets the whole wiring in a 4 GB heap).
 *
 * Signal order is circom's: 0 is the constant one, then the public outputs, the public inputs, the private inputs
 * (model inputs, then private weights), then each gadget's own signals in program order. witness.ts allocates in
 * the same order by running the same `synthesize` calls on values.
 */
import { Expr } from '../ir/expr.ts';
import type { CircuitProgram } from '../ir/program.ts';
import type { BitArray, GadgetBuilder, Hint } from '../ir/builder.ts';
import { outputPorts } from '../gadgets/gadget.ts';
import { FIELD, poseidonCircuit } from '../gadgets/poseidon.ts';
import { ZkmlError } from '../util/errors.ts';
import { normalized, reduce } from './field.ts';

/**
 * A linear combination as gadget code sees it in this backend. `fixed` and `bare` are structural (how it was
 * built, not what it adds up to), so that the witness backend, which sees values only, takes the same decisions:
 * a product with a `fixed` operand is linear, and an output that is `bare` (exactly one signal) needs no signal of
 * its own.
 */
export class SignalLc {
  constructor(
    readonly e: Expr,
    readonly fixed: boolean,
    /** The signal it is exactly, or -1. */
    readonly bare: number,
  ) {}
}

export interface Quadratic {
  a: Expr;
  b: Expr;
  c: Expr;
}

/** Where each constraint came from, for per-layer costs and messages. */
export interface Origin {
  node: string;
}

export class ConstraintSystem {
  /** Signal names; index = signal id. */
  readonly names: string[] = ['one'];
  readonly quadratics: Quadratic[] = [];
  /** Linear constraints (each expression = 0), in creation order. */
  readonly linears: Expr[] = [];
  readonly quadraticOrigin: number[] = [];
  readonly linearOrigin: number[] = [];
  /** Node names, indexed by the origins above. */
  readonly nodes: string[] = [];
  /**
   * Signals below this are the public outputs and inputs: never eliminated (circom's "forbidden" signals). Private
   * inputs may be, as circom does: solved from a linear constraint, they are still fixed by the others.
   */
  firstEliminable = 1;
  /** Signals from here on are the gadgets' own (after the private inputs). */
  firstInternal = 1;
  nPubOut = 0;
  nPubIn = 0;
  nPrvIn = 0;
  /** The signal holding each program wire. */
  readonly valueSignal: Int32Array;
  /** First signal of each gadget (the witness backend checks it allocates the same). */
  readonly gadgetStart: Int32Array;
  /** Output signals of the circuit, in order. */
  readonly outputSignals: number[] = [];

  constructor(nWires: number, nGadgets: number) {
    this.valueSignal = new Int32Array(nWires).fill(-1);
    this.gadgetStart = new Int32Array(nGadgets);
  }

  get nSignals(): number {
    return this.names.length;
  }

  newSignal(name: string): number {
    this.names.push(name);
    return this.names.length - 1;
  }

  /** A program expression (over wires) as one over signals. */
  toSignals(e: Expr): Expr {
    const terms = new Map<number, bigint>();
    for (const [w, k] of e.terms) {
      const s = this.valueSignal[w];
      if (s < 0) throw new Error(`wire ${w} has no signal yet`);
      const v = (terms.get(s) ?? 0n) + k;
      if (v === 0n) terms.delete(s);
      else terms.set(s, v);
    }
    return new Expr(terms, e.c);
  }

  /** A gadget input: structural flags from the program's expression itself. */
  inputLc(e: Expr): SignalLc {
    const single = e.terms.size === 1 && e.c === 0n ? [...e.terms][0] : undefined;
    const bare = single && single[1] === 1n ? this.valueSignal[single[0]] : -1;
    return new SignalLc(this.toSignals(e), e.terms.size === 0, bare);
  }

  quadratic(a: Expr, b: Expr, c: Expr, origin: number): void {
    this.quadratics.push({ a, b, c });
    this.quadraticOrigin.push(origin);
  }

  linear(e: Expr, origin: number): void {
    this.linears.push(e);
    this.linearOrigin.push(origin);
  }

  origin(node: string): number {
    if (this.nodes.at(-1) !== node) this.nodes.push(node);
    return this.nodes.length - 1;
  }
}

/** Names of each gadget's Circom component (`c3[5]`), from the circuit's layout. */
export type ComponentNames = (gadget: number) => string;

/**
 * The constraint system of `program`: inputs public or private as `publicInputs` says, components named by
 * `componentOf` (so that the names match the circuit.circom the printer writes).
 */
export function buildConstraintSystem(program: CircuitProgram, publicInputs: boolean, componentOf: ComponentNames): ConstraintSystem {
  const cs = new ConstraintSystem(program.nWires, program.gadgets.length);
  for (const o of program.outputs) o.exprs.forEach((_, i) => cs.outputSignals.push(cs.newSignal(`main.${o.signal}[${i}]`)));
  cs.nPubOut = cs.outputSignals.length;
  const declare = (signal: string, wires: number[]) => wires.forEach((w, i) => (cs.valueSignal[w] = cs.newSignal(`main.${signal}[${i}]`)));
  for (const input of program.inputs) declare(input.signal, input.wires);
  const inputCount = program.inputs.reduce((a, i) => a + i.wires.length, 0);
  for (const p of program.params) declare(p.signal, p.wires);
  const paramCount = program.params.reduce((a, p) => a + p.wires.length, 0);
  if (publicInputs) {
    cs.nPubIn = inputCount;
    cs.nPrvIn = paramCount;
  } else cs.nPrvIn = inputCount + paramCount;
  cs.firstEliminable = 1 + cs.nPubOut + cs.nPubIn;
  cs.firstInternal = cs.nSignals;

  program.gadgets.forEach((g, id) => {
    cs.gadgetStart[id] = cs.nSignals;
    const origin = cs.origin(g.node);
    const prefix = `main.${componentOf(id)}`;
    const builder = new SignalBuilder(cs, prefix, origin);
    const outs = g.def.synthesize(builder, g.params, g.inputs.map((e) => cs.inputLc(e)));
    const ports = outputPorts(g.def, g.params);
    if (outs.length !== g.outputs.length) throw new Error(`gadget ${g.def.kind} returned ${outs.length} outputs, expected ${g.outputs.length}`);
    outs.forEach((lc, j) => {
      if (lc.bare >= 0) {
        cs.valueSignal[g.outputs[j]] = lc.bare;
        return;
      }
      // An output that is a combination of signals becomes a signal of its own (as circom's `out <== …`); the
      // equality is linear, so elimination folds it away or keeps it, whichever is cheaper.
      const s = cs.newSignal(`${prefix}.${ports[j]}`);
      cs.valueSignal[g.outputs[j]] = s;
      cs.linear(Expr.sum([[Expr.wire(s), 1n], [lc.e, -1n]]), origin);
    });
  });

  const origin = cs.origin('outputs');
  let k = 0;
  for (const o of program.outputs) {
    for (const e of o.exprs) cs.linear(Expr.sum([[Expr.wire(cs.outputSignals[k++]), 1n], [cs.toSignals(e), -1n]]), origin);
  }
  return cs;
}

/** GadgetBuilder over signals: each primitive adds its signals and constraints to the system. */
class SignalBuilder implements GadgetBuilder<SignalLc> {
  private readonly used = new Set<string>();

  constructor(
    private readonly cs: ConstraintSystem,
    private readonly prefix: string,
    private readonly origin: number,
  ) {}

  private signal(name: string): SignalLc {
    if (this.used.has(name)) throw new Error(`gadget signal ${name} declared twice`);
    this.used.add(name);
    const s = this.cs.newSignal(`${this.prefix}.${name}`);
    return new SignalLc(Expr.wire(s), false, s);
  }

  constant(v: bigint): SignalLc {
    return new SignalLc(Expr.constant(v), true, -1);
  }

  linear(terms: readonly (readonly [SignalLc, bigint])[], c = 0n): SignalLc {
    const e = normalized(Expr.sum(terms.map(([x, k]) => [x.e, k] as [Expr, bigint])).addConst(c));
    const bare = terms.length === 1 && terms[0][1] === 1n && c === 0n ? terms[0][0].bare : -1;
    return new SignalLc(e, terms.every(([x]) => x.fixed), bare);
  }

  bits(name: string, v: SignalLc, n: number): BitArray<SignalLc> {
    const digits = Array.from({ length: n }, (_, i) => this.signal(`${name}[${i}]`));
    for (const d of digits) this.cs.quadratic(d.e, d.e.addConst(-1n), Expr.constant(0n), this.origin);
    const weighted = (from: number, count: number) => this.linear(digits.slice(from, from + count).map((d, j) => [d, 1n << BigInt(j)] as const));
    this.cs.linear(Expr.sum([[weighted(0, n).e, 1n], [v.e, -1n]]), this.origin);
    return { n, bit: (i) => digits[i], sum: weighted };
  }

  hintBits(name: string, n: number, _hint: Hint<SignalLc>): BitArray<SignalLc> {
    const digits = Array.from({ length: n }, (_, i) => this.signal(`${name}[${i}]`));
    for (const d of digits) this.cs.quadratic(d.e, d.e.addConst(-1n), Expr.constant(0n), this.origin);
    return { n, bit: (i) => digits[i], sum: (from, count) => this.linear(digits.slice(from, from + count).map((d, j) => [d, 1n << BigInt(j)] as const)) };
  }

  product(name: string, a: SignalLc, b: SignalLc): SignalLc {
    if (a.fixed) return this.linear([[b, a.e.c]]);
    if (b.fixed) return this.linear([[a, b.e.c]]);
    const s = this.signal(name);
    this.cs.quadratic(a.e, b.e, s.e, this.origin);
    return s;
  }

  isZero(name: string, m: SignalLc): SignalLc {
    if (m.fixed) return this.constant(((m.e.c % FIELD) + FIELD) % FIELD === 0n ? 1n : 0n);
    const inv = this.signal(`${name}_inv`);
    const d = this.signal(name);
    this.cs.quadratic(m.e, inv.e, Expr.sum([[d.e, -1n]]).addConst(1n), this.origin); // m·inv = 1 - d
    this.cs.quadratic(m.e, d.e, Expr.constant(0n), this.origin); // m·d = 0
    return d;
  }

  oneHot(name: string, idx: SignalLc, n: number): SignalLc[] {
    const h = Array.from({ length: n }, (_, i) => this.signal(`${name}[${i}]`));
    for (const x of h) this.cs.quadratic(x.e, x.e.addConst(-1n), Expr.constant(0n), this.origin);
    this.cs.linear(this.linear(h.map((x) => [x, 1n] as const), -1n).e, this.origin);
    this.cs.linear(Expr.sum([[this.linear(h.map((x, i) => [x, BigInt(i)] as const)).e, 1n], [idx.e, -1n]]), this.origin);
    return h;
  }

  poseidon(name: string, inputs: SignalLc[]): SignalLc {
    return poseidonCircuit(this, name, inputs);
  }
}

/** The system refuses a constraint that can never hold (a bug, or a model whose constants contradict). */
export function unsatisfiable(where: string): ZkmlError {
  return new ZkmlError('a constraint of the circuit can never be satisfied (0 = nonzero constant)', 'E_INTERNAL', where);
}
