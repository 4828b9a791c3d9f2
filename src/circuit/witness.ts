/**
 * The witness of a proof, computed by zkml from its program: the inputs (and private weights) go in, every gadget's
 * `synthesize` runs on values in program order, allocating the same signals in the same order as the constraint
 * system (system.ts), and the outputs come out. This replaces circom's generated witness calculator: it needs no
 * compiled wasm, and its cost is one pass over the program's terms.
 *
 * A primitive whose operand is out of the range the circuit proves (a `bits` value outside [0, 2^n), a one-hot
 * index outside [0, n)) has no witness: the error names the node, as circom's failed assertion would.
 */
import { Expr } from '../ir/expr.ts';
import type { CircuitProgram } from '../ir/program.ts';
import type { BitArray, GadgetBuilder, Hint } from '../ir/builder.ts';
import { isqrt } from '../gadgets/arith.ts';
import { poseidonCircuit } from '../gadgets/poseidon.ts';
import { ZkmlError } from '../util/errors.ts';
import { inverse, mod, reduce } from './field.ts';
import type { DecodedProgram } from './program-file.ts';
import { wtnsBytes } from './wtns-file.ts';

/** A value as gadget code sees it in this backend, with the same structural flags as system.ts's SignalLc. */
class ValueLc {
  constructor(
    readonly v: bigint,
    readonly fixed: boolean,
    readonly bare: number,
  ) {}
}

export interface Witness {
  /** Every signal's value (signal order of system.ts), as an integer (field elements for digests). */
  signals: bigint[];
  /** The program's wires. */
  wires: bigint[];
  /** Output tensors by name. */
  outputs: Map<string, bigint[]>;
}

const BIG = 1n << 128n;

/**
 * Computes the witness. `inputs` holds each model input's integers by name, `params` each parameter tensor's
 * (by its signal name, as params.json stores them); `labels` names nodes in errors.
 */
export function computeWitness(
  program: CircuitProgram,
  inputs: Map<string, bigint[]>,
  params: Record<string, readonly (string | bigint)[]> = {},
  labels?: Map<string, string>,
): Witness {
  const signals: bigint[] = [1n];
  const wires = new Array<bigint>(program.nWires);
  const wireSignal = new Int32Array(program.nWires).fill(-1);
  for (const o of program.outputs) for (let i = 0; i < o.exprs.length; i++) signals.push(0n); // set at the end
  const assign = (wire: number, v: bigint) => {
    wires[wire] = v;
    wireSignal[wire] = signals.length;
    signals.push(v);
  };
  for (const input of program.inputs) {
    const data = inputs.get(input.name);
    if (!data || data.length !== input.wires.length) {
      throw new ZkmlError(`expected ${input.wires.length} integers, got ${data?.length ?? 'none'}`, 'E_INPUT_SHAPE', `input "${input.name}"`);
    }
    input.wires.forEach((w, i) => assign(w, data[i]));
  }
  for (const p of program.params) {
    const data = params[p.signal];
    if (!data || data.length !== p.wires.length) {
      throw new ZkmlError(`expected ${p.wires.length} values for the weights ${p.name}, got ${data?.length ?? 'none'}`, 'E_PARAMS', 'params.json');
    }
    p.wires.forEach((w, i) => assign(w, BigInt(data[i])));
  }

  program.gadgets.forEach((g) => {
    const where = labels?.get(g.node) ?? g.node;
    const builder = new ValueBuilder(signals, where, g.def.kind);
    const ins = g.inputs.map((e) => {
      const single = e.terms.size === 1 && e.c === 0n ? [...e.terms][0] : undefined;
      return new ValueLc(e.evaluate(wires), e.terms.size === 0, single && single[1] === 1n ? wireSignal[single[0]] : -1);
    });
    const outs = runGadget(() => g.def.synthesize(builder, g.params, ins), g.def.kind, where);
    outs.forEach((lc, j) => {
      const w = g.outputs[j];
      wires[w] = lc.v;
      if (lc.bare >= 0) wireSignal[w] = lc.bare;
      else {
        wireSignal[w] = signals.length;
        signals.push(lc.v);
      }
    });
  });

  const outputs = new Map<string, bigint[]>();
  let k = 1;
  for (const o of program.outputs) {
    // Integers stay integers; a digest (a field element) is given in [0, p), as circom's witness would.
    const values = o.exprs.map((e: Expr) => {
      const v = e.evaluate(wires);
      return v >= -BIG && v < BIG ? v : mod(v);
    });
    values.forEach((v) => (signals[k++] = v));
    outputs.set(o.name, values);
  }
  return { signals, wires, outputs };
}

/**
 * A gadget's circuit on a program read from a file: parameters that are not what the gadget takes (a damaged or
 * hand-edited file) fail inside its arithmetic, and are reported as a bad artifact, not as a TypeError.
 */
function runGadget<T>(run: () => T, kind: string, where: string): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof ZkmlError) throw err;
    throw new ZkmlError(`the ${kind} gadget cannot run on the parameters the program file gives it (${(err as Error).message}): recompile with zkml compile`, 'E_ARTIFACT', where);
  }
}

/**
 * The wire map of a build of zkml's own back end (a --circom build has none), checked against the witness size
 * when `signals` is given.
 */
export function wireMapOf(program: DecodedProgram, signals?: number): { wireOf: Int32Array; nWires: number } {
  if (!program.wireOf || program.nR1csWires === undefined) throw new ZkmlError('this build has no wire map: it was compiled with --circom', 'E_ARTIFACT');
  if (signals !== undefined && signals !== program.wireOf.length) {
    throw new ZkmlError(`the witness has ${signals} signals, the build's wire map ${program.wireOf.length}: recompile with zkml compile`, 'E_ARTIFACT');
  }
  return { wireOf: program.wireOf, nWires: program.nR1csWires };
}

class ValueBuilder implements GadgetBuilder<ValueLc> {
  constructor(
    private readonly signals: bigint[],
    private readonly where: string,
    private readonly kind: string,
  ) {}

  private signal(v: bigint): ValueLc {
    this.signals.push(v);
    return new ValueLc(v, false, this.signals.length - 1);
  }

  private fail(what: string): never {
    throw new ZkmlError(`no witness: ${what} (the ${this.kind} gadget's range does not hold; the input is outside what the circuit admits)`, 'E_WITNESS', this.where);
  }

  constant(v: bigint): ValueLc {
    return new ValueLc(v, true, -1);
  }

  linear(terms: readonly (readonly [ValueLc, bigint])[], c = 0n): ValueLc {
    let v = c;
    for (const [x, k] of terms) v += x.v * k;
    const bare = terms.length === 1 && terms[0][1] === 1n && c === 0n ? terms[0][0].bare : -1;
    return new ValueLc(reduce(v), terms.every(([x]) => x.fixed), bare);
  }

  bits(name: string, v: ValueLc, n: number): BitArray<ValueLc> {
    const x = v.v;
    if (x < 0n || x >= 1n << BigInt(n)) this.fail(`${name}: ${x} is not in [0, 2^${n})`);
    const digits = Array.from({ length: n }, (_, i) => this.signal((x >> BigInt(i)) & 1n));
    const weighted = (from: number, count: number) => this.linear(digits.slice(from, from + count).map((d, j) => [d, 1n << BigInt(j)] as const));
    return { n, bit: (i) => digits[i], sum: weighted };
  }

  hintBits(name: string, n: number, hint: Hint<ValueLc>): BitArray<ValueLc> {
    let x: bigint;
    if (hint.op === 'div') {
      const [num, den] = [hint.num.v, hint.den.v];
      if (num < 0n || den < 1n) this.fail(`${name}: ${num} / ${den} is outside the proven range`);
      x = num / den;
    } else {
      if (hint.x.v < 0n) this.fail(`${name}: square root of ${hint.x.v}`);
      x = isqrt(hint.x.v);
    }
    if (x >= 1n << BigInt(n)) this.fail(`${name}: ${x} does not fit ${n} bits`);
    const digits = Array.from({ length: n }, (_, i) => this.signal((x >> BigInt(i)) & 1n));
    return { n, bit: (i) => digits[i], sum: (from, count) => this.linear(digits.slice(from, from + count).map((d, j) => [d, 1n << BigInt(j)] as const)) };
  }

  product(_name: string, a: ValueLc, b: ValueLc): ValueLc {
    if (a.fixed) return this.linear([[b, a.v]]);
    if (b.fixed) return this.linear([[a, b.v]]);
    return this.signal(reduce(a.v * b.v));
  }

  isZero(_name: string, m: ValueLc): ValueLc {
    const zero = mod(m.v) === 0n;
    if (m.fixed) return this.constant(zero ? 1n : 0n);
    this.signal(zero ? 0n : inverse(m.v));
    return this.signal(zero ? 1n : 0n);
  }

  oneHot(name: string, idx: ValueLc, n: number): ValueLc[] {
    if (idx.v < 0n || idx.v >= BigInt(n)) this.fail(`${name}: index ${idx.v} is not in [0, ${n})`);
    return Array.from({ length: n }, (_, i) => this.signal(idx.v === BigInt(i) ? 1n : 0n));
  }

  poseidon(name: string, inputs: ValueLc[]): ValueLc {
    return poseidonCircuit(this, name, inputs);
  }
}

/** A witness as the prover needs it: the .wtns bytes of the R1CS wires, and the tensors output.json reports. */
export interface WitnessFile {
  wtns: Uint8Array;
  /** Tensor outputs the program file names (hashed-output builds): decimal strings by tensor name. */
  reports: Record<string, string[]>;
}

/**
 * The .wtns of one input for a build of zkml's back end. `input` maps each input's signal name (`in0`) to its
 * integers, `params` the private weights (params.json).
 */
export function witnessFile(program: DecodedProgram, input: Record<string, readonly string[]>, params: Record<string, readonly string[]>): WitnessFile {
  wireMapOf(program); // a --circom build is refused before any work
  const inputs = new Map(
    program.inputs.map((i) => {
      const values = input[i.signal];
      if (!values) throw new ZkmlError(`no values for input signal ${i.signal}`, 'E_INPUT_SHAPE', `input "${i.name}"`);
      return [i.name, values.map((v) => BigInt(v))];
    }),
  );
  const w = computeWitness(program, inputs, params, program.labels);
  const { wireOf, nWires } = wireMapOf(program, w.signals.length);
  const reports: Record<string, string[]> = {};
  for (const o of program.reports) reports[o.name] = o.exprs.map((e) => e.evaluate(w.wires).toString());
  return { wtns: wtnsBytes(w.signals, wireOf, nWires), reports };
}
