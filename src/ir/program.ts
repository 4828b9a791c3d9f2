import { Expr } from './expr.ts';
import type { GadgetDef } from './gadget-def.ts';
import { ZkmlError } from '../util/errors.ts';

/** Accumulators must stay well inside the BN254 field (about 2^253.6) so that no value wraps around. */
export const MAX_ABS_BITS = 250;
const LIMIT = 1n << BigInt(MAX_ABS_BITS);

export interface GadgetInstance {
  def: GadgetDef<any>;
  params: any;
  inputs: Expr[];
  /** Wire ids of the gadget's outputs. */
  outputs: number[];
  /** ONNX node the gadget belongs to (for per-layer costs and messages). */
  node: string;
}

export interface ProgramInput {
  name: string;
  signal: string;
  shape: number[];
  wires: number[];
}

/**
 * Weights that enter the circuit as private signals (--param-visibility hashed or private) instead of
 * constants: the circuit, and so its verifying key, is the same for every value they may take.
 */
export interface ProgramParam {
  /** e.g. `fc1.weight` */
  name: string;
  signal: string;
  wires: number[];
  /** The model's integers: the prover's witness, never part of the circuit. */
  values: bigint[];
}

export interface ProgramOutput {
  name: string;
  signal: string;
  shape: number[];
  exprs: Expr[];
}

/**
 * What the circuit back end needs of a program: its wires, inputs, parameters, gadgets and outputs. A Program is
 * one; a build's program file (src/circuit/program-file.ts) gives one back without the model.
 */
export interface CircuitProgram {
  readonly nWires: number;
  readonly inputs: readonly ProgramInput[];
  /** Parameter signals; their values are the prover's (params.json) and may be absent here. */
  readonly params: readonly Pick<ProgramParam, 'name' | 'signal' | 'wires'>[];
  readonly gadgets: readonly GadgetInstance[];
  readonly outputs: readonly ProgramOutput[];
}

/**
 * The integer program a model compiles to: input wires, gadgets (each creating wires) in execution order, and
 * output expressions. Every wire carries its integer interval, so each gadget's range checks are sized by
 * what can actually occur, and any value that could leave ±2^250 stops the compilation at the node causing it.
 */
export class Program implements CircuitProgram {
  readonly lo: bigint[] = [];
  readonly hi: bigint[] = [];
  readonly gadgets: GadgetInstance[] = [];
  readonly inputs: ProgramInput[] = [];
  readonly outputs: ProgramOutput[] = [];
  readonly params: ProgramParam[] = [];
  /** Wires holding digests (field elements, not integers): passed on as they are, never computed on. */
  readonly opaque = new Set<number>();
  /** How messages name each node (file and op), set by the lowering pass. */
  readonly labels = new Map<string, string>();

  get nWires(): number {
    return this.lo.length;
  }

  addInput(name: string, shape: number[], lo: bigint, hi: bigint): Expr[] {
    const signal = `in${this.inputs.length}`;
    const size = shape.reduce((a, b) => a * b, 1);
    const wires: number[] = [];
    for (let i = 0; i < size; i++) wires.push(this.newWire(lo, hi));
    this.inputs.push({ name, signal, shape, wires });
    return wires.map((w) => Expr.wire(w));
  }

  /** Private parameter signals holding `values`, each assumed anywhere in [lo, hi] (the caller range-checks them). */
  addParams(name: string, values: bigint[], lo: bigint, hi: bigint): Expr[] {
    const signal = `p${this.params.length}`;
    const wires = values.map(() => this.newWire(lo, hi));
    this.params.push({ name, signal, wires, values });
    return wires.map((w) => Expr.wire(w));
  }

  /** The parameter signals' values as the witness calculator takes them (the build's params.json). */
  paramInputs(): Record<string, string[]> {
    return Object.fromEntries(this.params.map((p) => [p.signal, p.values.map(String)]));
  }

  addOutput(name: string, shape: number[], exprs: Expr[], node: string): void {
    exprs.forEach((e) => this.checkRange(e, node));
    this.outputs.push({ name, signal: `out${this.outputs.length}`, shape, exprs });
  }

  /** Applies a gadget to input expressions; returns its outputs as expressions. */
  apply<P>(def: GadgetDef<P>, params: P, inputs: Expr[], node: string): Expr[] {
    const ranges = inputs.map((e) => this.checkRange(e, node));
    const outRanges = def.bounds(params, ranges.map((r) => r[0]), ranges.map((r) => r[1]));
    const outputs = outRanges.map(([lo, hi]) => this.newWire(lo, hi));
    if (def.opaqueOutputs) outputs.forEach((w) => this.opaque.add(w));
    this.gadgets.push({ def, params, inputs, outputs, node });
    return outputs.map((w) => Expr.wire(w));
  }

  bounds(e: Expr): [bigint, bigint] {
    return e.bounds(this.lo, this.hi);
  }

  /** The interval of `e`, refusing any value that could reach ±2^250 (rule 3 of the design). */
  checkRange(e: Expr, node: string): [bigint, bigint] {
    for (const w of e.terms.keys()) {
      if (!this.opaque.has(w)) continue;
      if (e.terms.size === 1 && e.terms.get(w) === 1n && e.c === 0n) return [0n, 0n];
      throw new ZkmlError('a digest cannot be computed on', 'E_INTERNAL', this.labels.get(node) ?? node);
    }
    const [lo, hi] = this.bounds(e);
    if (lo <= -LIMIT || hi >= LIMIT) {
      const bits = Math.max(lo < 0n ? (-lo).toString(2).length : 0, hi.toString(2).length);
      throw new ZkmlError(
        `a value could reach ±2^${bits} (interval [${lo}, ${hi}]), beyond the ±2^${MAX_ABS_BITS} the field allows without wrapping; ` +
          'lower --scale, narrow --input-range, or check the weights',
        'E_RANGE',
        this.labels.get(node) ?? node,
      );
    }
    return [lo, hi];
  }

  private newWire(lo: bigint, hi: bigint): number {
    this.lo.push(lo);
    this.hi.push(hi);
    return this.lo.length - 1;
  }

  /** Constraints per ONNX node, from the gadgets' own costs, plus one per output signal. */
  costByNode(): Map<string, number> {
    const cost = new Map<string, number>();
    for (const g of this.gadgets) cost.set(g.node, (cost.get(g.node) ?? 0) + g.def.constraints(g.params));
    return cost;
  }

  /**
   * Runs the program exactly (BigInt) on input integers: the reference executor. Returns every wire's value
   * and the outputs.
   */
  execute(inputs: Map<string, bigint[]>): { wires: bigint[]; outputs: Map<string, bigint[]> } {
    const values = new Array<bigint>(this.lo.length);
    for (const input of this.inputs) {
      const data = inputs.get(input.name);
      if (!data || data.length !== input.wires.length) {
        throw new ZkmlError(`expected ${input.wires.length} integers, got ${data?.length ?? 'none'}`, 'E_INPUT_SHAPE', `input "${input.name}"`);
      }
      input.wires.forEach((w, i) => (values[w] = data[i]));
    }
    for (const p of this.params) p.wires.forEach((w, i) => (values[w] = p.values[i]));
    for (const g of this.gadgets) {
      const out = g.def.evaluate(g.params, g.inputs.map((e) => e.evaluate(values)));
      g.outputs.forEach((w, j) => (values[w] = out[j]));
    }
    const outputs = new Map<string, bigint[]>();
    for (const o of this.outputs) outputs.set(o.name, o.exprs.map((e) => e.evaluate(values)));
    return { wires: values, outputs };
  }
}
