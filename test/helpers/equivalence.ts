/**
 * The two circuit back ends compared on one program: circom2 compiles the circuit.circom zkml prints, zkml builds
 * its own constraint system from the same gadget definitions, and the two must be the same circuit:
 * - the same constraint count (zkml folding linear constraints as circom does: elimination mode `circom`);
 * - circom's witness satisfies zkml's r1cs: every zkml wire is named like a circom signal, whose value is in
 *   circom's witness or, where circom eliminated it, given by circom's substitution map;
 * - zkml's witness satisfies circom's r1cs: zkml knows every signal it names; the values of circom's other kept
 *   signals (ports, wiring, circomlib's linear intermediates) follow from circom's substitution equations, solved
 *   one unknown at a time.
 * A name zkml uses that circom does not have, or a circom wire whose value cannot be derived, fails the check.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Expr } from '../../src/ir/expr.ts';
import type { Program } from '../../src/ir/program.ts';
import { layoutCircuit } from '../../src/compiler/layout.ts';
import { emitCircom } from '../../src/compiler/emit.ts';
import { bundleCircom } from '../../src/circom/bundle.ts';
import { compileCircom, NODE_MODULES_DIR } from '../../src/circom/compile.ts';
import { loadWitnessCalculator, computeWitness as circomWitness } from '../../src/circom/witness.ts';
import { loadR1cs, violatedConstraints } from '../../src/circom/r1cs.ts';
import { buildConstraintSystem } from '../../src/circuit/system.ts';
import { eliminate, type EliminationMode } from '../../src/circuit/eliminate.ts';
import { computeWitness } from '../../src/circuit/witness.ts';
import { inverse, mod } from '../../src/circuit/field.ts';


export interface Equivalence {
  circomConstraints: number;
  zkmlConstraints: number;
  /** zkml's count with its default folding (`cost`), for the record. */
  costConstraints: number;
  /** Constraints of zkml's r1cs that circom's witness violates, and of circom's that zkml's violates. */
  zkmlViolatedByCircom: number[];
  circomViolatedByZkml: number[];
  /** zkml wire names circom has no signal for; circom wires whose value zkml's witness does not determine. */
  unnamed: string[];
  underived: string[];
}

interface Sym {
  id: number;
  wire: number;
  name: string;
}

function readSym(path: string): Sym[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, wire, , ...name] = line.split(',');
      return { id: Number(id), wire: Number(wire), name: name.join(',') };
    });
}

export async function checkEquivalence(program: Program, publicInputs: boolean, inputs: Map<string, bigint[]>, dir: string, mode: EliminationMode = 'circom'): Promise<Equivalence> {
  const layout = layoutCircuit(program);
  const file = join(dir, 'circuit.circom');
  writeFileSync(file, bundleCircom(emitCircom(program, { publicInputs, layout }), [NODE_MODULES_DIR]));
  const compiled = await compileCircom(file, dir, { substitutions: true });
  const circomR1cs = await loadR1cs(compiled.r1cs);
  const syms = readSym(compiled.sym);
  const idOf = new Map(syms.map((s) => [s.name, s.id]));
  const substitutions: Record<string, Record<string, string>> = JSON.parse(readFileSync(join(dir, 'circuit_substitutions.json'), 'utf8'));
  const params = program.paramInputs();
  const wc = await loadWitnessCalculator(compiled.wasm);
  const circomInput: Record<string, string[]> = { ...params };
  for (const i of program.inputs) circomInput[i.signal] = inputs.get(i.name)!.map(String);
  const cw = await circomWitness(wc, circomInput);

  // circom's value of every signal: kept ones from its witness, eliminated ones from its substitutions.
  const circomValue = new Map<number, bigint>([[0, 1n]]);
  for (const s of syms) if (s.wire >= 0) circomValue.set(s.id, cw[s.wire]);
  const resolve = (id: number, depth = 0): bigint => {
    const known = circomValue.get(id);
    if (known !== undefined) return known;
    const sub = substitutions[String(id)];
    if (!sub || depth > 10_000) throw new Error(`circom signal ${id} is neither kept nor substituted`);
    let v = 0n;
    for (const [k, c] of Object.entries(sub)) v += BigInt(c) * (k === '0' ? 1n : resolve(Number(k), depth + 1));
    const r = mod(v);
    circomValue.set(id, r);
    return r;
  };

  const cs = buildConstraintSystem(program, publicInputs, (g) => layout.componentOf[g]);
  const reduced = eliminate(cs, mode);
  const costConstraints = mode === 'cost' ? reduced.constraints.length : eliminate(cs, 'cost').constraints.length;
  const ours = computeWitness(program, inputs, params, program.labels);
  const unnamed: string[] = [];

  // circom's witness on zkml's constraints.
  const fromCircom = new Array<bigint>(cs.nSignals).fill(0n);
  fromCircom[0] = 1n;
  for (let s = 1; s < cs.nSignals; s++) {
    if (reduced.wireOf[s] < 0) continue;
    const id = idOf.get(cs.names[s]);
    if (id === undefined) unnamed.push(cs.names[s]);
    else fromCircom[s] = resolve(id);
  }
  const evalAt = (e: Expr, values: bigint[]) => {
    let v = e.c;
    for (const [s, k] of e.terms) v += k * values[s];
    return mod(v);
  };
  const zkmlViolatedByCircom: number[] = [];
  reduced.constraints.forEach((c, i) => {
    if (mod(evalAt(c.a, fromCircom) * evalAt(c.b, fromCircom) - evalAt(c.c, fromCircom)) !== 0n) zkmlViolatedByCircom.push(i);
  });

  // zkml's witness on circom's constraints: known by name, then circom's substitution equations solved.
  const known = new Map<number, bigint>([[0, 1n]]);
  for (let s = 1; s < cs.nSignals; s++) {
    const id = idOf.get(cs.names[s]);
    if (id !== undefined) known.set(id, mod(ours.signals[s]));
  }
  solveLinear(
    Object.entries(substitutions).map(([e, sub]) => [[Number(e), 1n] as [number, bigint], ...Object.entries(sub).filter(([k]) => k !== '0').map(([k, c]) => [Number(k), -BigInt(c)] as [number, bigint])]),
    Object.values(substitutions).map((sub) => BigInt(sub['0'] ?? '0')),
    known,
  );
  const underived: string[] = [];
  const fromZkml = new Array<bigint>(circomR1cs.nWires).fill(0n);
  for (const s of syms) {
    if (s.wire < 0) continue;
    const v = known.get(s.id);
    if (v === undefined) underived.push(s.name);
    else fromZkml[s.wire] = v;
  }
  fromZkml[0] = 1n;
  return {
    circomConstraints: compiled.constraints,
    zkmlConstraints: reduced.constraints.length,
    costConstraints,
    zkmlViolatedByCircom,
    circomViolatedByZkml: violatedConstraints(circomR1cs, fromZkml),
    unnamed,
    underived,
  };
}

/**
 * Solves Σ_j a_ij·x_j = b_i (over the field) for the x not in `known`, adding each one the system determines to
 * `known`: sparse Gaussian elimination, one pivot at a time (circom's substitutions are short, and unknown signals
 * few: ports, wiring, circomlib's linear intermediates).
 */
function solveLinear(rows: [number, bigint][][], rhs: bigint[], known: Map<number, bigint>): void {
  type Row = { terms: Map<number, bigint>; b: bigint };
  const live: Row[] = [];
  const byUnknown = new Map<number, Set<Row>>();
  rows.forEach((terms, i) => {
    const row: Row = { terms: new Map(), b: rhs[i] };
    for (const [x, a] of terms) {
      const v = known.get(x);
      if (v !== undefined) row.b -= a * v;
      else row.terms.set(x, mod((row.terms.get(x) ?? 0n) + a));
    }
    row.b = mod(row.b);
    for (const [x, a] of row.terms) if (a === 0n) row.terms.delete(x);
    if (row.terms.size === 0) return;
    live.push(row);
    for (const x of row.terms.keys()) (byUnknown.get(x) ?? byUnknown.set(x, new Set()).get(x)!).add(row);
  });
  // Forward: each pivot row expresses its pivot in the unknowns left after it.
  const pivots: { x: number; row: Row }[] = [];
  const queue = live.slice().sort((a, b) => a.terms.size - b.terms.size);
  const used = new Set<Row>();
  for (const row of queue) {
    if (used.has(row) || row.terms.size === 0) continue;
    const [x, a] = [...row.terms][0];
    const inv = inverse(a);
    for (const [y, c] of row.terms) row.terms.set(y, mod(c * inv));
    row.b = mod(row.b * inv);
    used.add(row);
    pivots.push({ x, row });
    for (const other of [...(byUnknown.get(x) ?? [])]) {
      if (other === row) continue;
      const f = other.terms.get(x)!;
      for (const [y, c] of row.terms) {
        const v = mod((other.terms.get(y) ?? 0n) - f * c);
        if (v === 0n) {
          other.terms.delete(y);
          byUnknown.get(y)?.delete(other);
        } else {
          if (!other.terms.has(y)) (byUnknown.get(y) ?? byUnknown.set(y, new Set()).get(y)!).add(other);
          other.terms.set(y, v);
        }
      }
      other.b = mod(other.b - f * row.b);
    }
    for (const y of row.terms.keys()) if (y !== x) byUnknown.get(y)?.delete(row);
    byUnknown.delete(x);
  }
  // Back: a pivot whose row names no other unknown is determined; later pivots first.
  for (let i = pivots.length - 1; i >= 0; i--) {
    const { x, row } = pivots[i];
    let v = row.b;
    let free = false;
    for (const [y, c] of row.terms) {
      if (y === x) continue;
      const k = known.get(y);
      if (k === undefined) free = true;
      else v -= c * k;
    }
    if (!free) known.set(x, mod(v));
  }
}

