import type { GadgetBuilder } from './builder.ts';

/**
 * A gadget is a nonlinear primitive of the integer program: its exact integer semantics (`evaluate`: the reference
 * executor runs these), the interval of its outputs, its constraint cost, and its circuit (`synthesize`, written
 * once against builder.ts, from which zkml makes the gadget's R1CS constraints, its witness and its Circom template).
 * Ops lower to linear expressions plus gadgets; nothing else creates constraints.
 */
export interface GadgetDef<P> {
  /** Registry key (gadgets/registry.ts): how a build's program file names the gadget. */
  kind: string;
  /** Stem of its Circom templates' names: one template per parameter set, named by the printer. */
  template: string;
  /** Circom names of the template's scalar inputs (e.g. `in`, or `in[3]` for an array) and outputs, in order. */
  inputs: string[] | ((p: P) => string[]);
  outputs: string[] | ((p: P) => string[]);
  /** The circuit: the outputs as linear combinations of the signals it creates from `inputs`. */
  synthesize<L>(b: GadgetBuilder<L>, p: P, inputs: L[]): L[];
  evaluate(p: P, inputs: bigint[]): bigint[];
  /** Output intervals given the input intervals. */
  bounds(p: P, lo: bigint[], hi: bigint[]): [bigint, bigint][];
  /** Constraints the circuit costs (checked against the constraint system and circom in the tests). */
  constraints(p: P): number;
  describe(p: P): string;
  /** Outputs are field elements (digests), not integers: no interval, and no arithmetic may use them. */
  opaqueOutputs?: boolean;
}

export function inputPorts<P>(def: GadgetDef<P>, p: P): string[] {
  return typeof def.inputs === 'function' ? def.inputs(p) : def.inputs;
}

export function outputPorts<P>(def: GadgetDef<P>, p: P): string[] {
  return typeof def.outputs === 'function' ? def.outputs(p) : def.outputs;
}
