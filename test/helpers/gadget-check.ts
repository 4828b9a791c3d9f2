/**
 * The check every gadget passes (test/gadgets.test.ts, test/gadgets-compare.test.ts): the gadget wrapped in a
 * program with public inputs, its witness equal to `evaluate`, its cost model equal to the reduced system's and
 * circom's count, and every witness wire tampered by ±1 breaking a constraint (see test/gadgets.test.ts).
 */
import assert from 'node:assert/strict';
import { Expr } from '../../src/ir/expr.ts';
import { Program } from '../../src/ir/program.ts';
import type { GadgetDef } from '../../src/gadgets/gadget.ts';
import { layoutCircuit } from '../../src/compiler/layout.ts';
import { buildConstraintSystem } from '../../src/circuit/system.ts';
import { eliminate, type EliminationMode } from '../../src/circuit/eliminate.ts';
import { computeWitness } from '../../src/circuit/witness.ts';
import { FIELD } from '../../src/gadgets/poseidon.ts';
import { ZkmlError } from '../../src/util/errors.ts';
import { checkEquivalence } from './equivalence.ts';
import { tempDir } from './models.ts';

export const mod = (v: bigint) => ((v % FIELD) + FIELD) % FIELD;

/** The gadget between public inputs x_i (each in its interval) and one output y. */
export function wrap<P>(def: GadgetDef<P>, params: P, ranges: [bigint, bigint][]): Program {
  const p = new Program();
  const xs = ranges.map(([lo, hi], i) => p.addInput(`x${i}`, [1], lo, hi)[0]);
  const outs = p.apply(def, params, xs, 'gadget');
  const y = def.opaqueOutputs ? outs[0] : Expr.sum(outs.map((o, j) => [o, BigInt(j * j + 1)] as [Expr, bigint]));
  p.addOutput('y', [1], [y], 'y');
  return p;
}

export const inputsOf = (p: Program, values: bigint[]) => new Map(p.inputs.map((i, k) => [i.name, [values[k]]]));

/** Witness wires (R1CS order) of `program` on `values`, with the reduced system of `mode`. */
export function reduced(program: Program, mode: EliminationMode) {
  const { componentOf } = layoutCircuit(program);
  const cs = buildConstraintSystem(program, true, (g) => componentOf[g]);
  return { cs, r: eliminate(cs, mode) };
}

export function violated(r: ReturnType<typeof eliminate>, values: bigint[], limit = Infinity): number {
  const at = (e: Expr) => {
    let v = e.c;
    for (const [s, k] of e.terms) v += k * values[s];
    return mod(v);
  };
  let bad = 0;
  for (const c of r.constraints) {
    if (mod(at(c.a) * at(c.b) - at(c.c)) !== 0n && ++bad >= limit) break;
  }
  return bad;
}

export interface Case<P> {
  def: GadgetDef<P>;
  params: P;
  ranges: [bigint, bigint][];
  inputs: bigint[][];
  /**
   * The gadget's output is affine in its input (a range check, a shift by 0): the wrapper's y = f(x) then relates
   * public signals only and stays a constraint, in circom as here. In a model the input is private or hashed.
   */
  affine?: boolean;
  /** Inputs just outside the proven range: no witness. */
  outside?: bigint[][];
}

export async function checkGadget<P>(c: Case<P>): Promise<void> {
  const program = wrap(c.def, c.params, c.ranges);
  const what = `${c.def.kind} ${c.def.describe(c.params)}`;
  for (const mode of ['circom', 'cost'] as const) {
    const { cs, r } = reduced(program, mode);
    if (mode === 'circom') assert.equal(r.constraints.length, c.def.constraints(c.params) + (c.affine ? 1 : 0), `${what}: the cost model`);
    for (const values of c.inputs) {
      const w = computeWitness(program, inputsOf(program, values));
      const expected = c.def.evaluate(c.params, values);
      program.gadgets[0].outputs.forEach((wire, j) => assert.equal(mod(w.wires[wire]), mod(expected[j]), `${what} on [${values}]: output ${j}`));
      assert.equal(violated(r, w.signals), 0, `${what} on [${values}]: a valid witness satisfies every constraint (${mode})`);
      // IsZero's inverse is unused (free) exactly where its argument is 0, which the output then says (d = 1).
      const freeInverse = (s: number) => /_inv$/.test(cs.names[s]) && w.signals[cs.names.indexOf(cs.names[s].replace(/_inv$/, ''))] === 1n;
      let tampered = 0;
      for (let s = cs.firstEliminable; s < cs.nSignals; s++) {
        if (r.wireOf[s] < 0 || freeInverse(s)) continue;
        for (const d of [1n, -1n]) {
          const t = w.signals.slice();
          t[s] = t[s] + d;
          assert.ok(violated(r, t, 1) > 0, `${what} on [${values}]: changing ${cs.names[s]} by ${d} must violate a constraint (${mode})`);
        }
        tampered++;
      }
      const y = cs.outputSignals[0];
      for (const d of [1n, -1n]) {
        const t = w.signals.slice();
        t[y] = t[y] + d;
        assert.ok(violated(r, t, 1) > 0, `${what} on [${values}]: changing the output must violate a constraint`);
      }
    }
  }
  for (const values of c.outside ?? []) {
    assert.throws(() => computeWitness(program, inputsOf(program, values)), (e: unknown) => e instanceof ZkmlError && e.code === 'E_WITNESS', `${what}: no witness for [${values}]`);
  }
  const eq = await checkEquivalence(program, true, inputsOf(program, c.inputs[0]), tempDir(`gadget-${c.def.kind}`));
  assert.equal(eq.circomConstraints, eq.zkmlConstraints, `${what}: circom's count equals zkml's`);
  assert.deepEqual([eq.unnamed, eq.underived, eq.zkmlViolatedByCircom, eq.circomViolatedByZkml], [[], [], [], []], `${what}: the two circuits are equivalent`);
}
