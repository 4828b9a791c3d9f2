import { readFileSync } from 'node:fs';
import { buildPaths, type Manifest } from '../manifest.ts';
import type { Program } from '../ir/program.ts';
import { loadWitnessCalculator, computeWitness as computeCircomWitness } from '../circom/witness.ts';
import { computeWitness, wireMapOf } from '../circuit/witness.ts';
import { decodeProgram } from '../circuit/program-file.ts';
import { loadSymbols } from '../circom/sym.ts';
import { loadR1cs, violatedConstraints, type R1cs } from '../circom/r1cs.ts';
import { fieldToSigned, FIELD_P } from '../io/output.ts';
import { witnessInput } from '../io/input.ts';
import { loadPoseidon } from '../commit/poseidon.ts';
import { outputPorts } from '../gadgets/gadget.ts';
import { layoutCircuit } from './layout.ts';

/** Equal as field elements (digests are field elements; integers compare as themselves). */
const sameField = (a: bigint, b: bigint) => (a - b) % FIELD_P === 0n;
const toField = (v: bigint) => ((v % FIELD_P) + FIELD_P) % FIELD_P;

export interface Mismatch {
  signal: string;
  node: string;
  reference: bigint;
  witness: bigint;
}

export interface CrossCheck {
  /** Reference outputs by public output name (tensors, or digests). */
  reference: Map<string, bigint[]>;
  /** The reference value of every wire of the program (to evaluate any expression, e.g. hashed tensors). */
  referenceWires: bigint[];
  /** Circuit outputs by tensor name, read from the witness. */
  circuit: Map<string, bigint[]>;
  /** Every gadget output and circuit output where witness and reference differ. */
  mismatches: Mismatch[];
  /** Constraints the witness violates (should be none). */
  violated: number[];
  witness: bigint[];
  symbols: Map<string, number>;
  r1cs: R1cs;
}

/**
 * The build's witness for one input, in R1CS wire order, and each program wire's value as the circuit computed
 * it: zkml's own witness (each gadget's circuit run on values, from the build's program file), or circom's (its
 * wasm; gadget outputs then read by their port names), whichever back end wrote the build.
 */
async function buildWitness(dir: string, manifest: Manifest, program: Program, encoded: Map<string, bigint[]>) {
  const paths = buildPaths(dir);
  const symbols = loadSymbols(paths.sym);
  if (manifest.circuit.backend === 'circom') {
    const wc = await loadWitnessCalculator(paths.wasm);
    const witness = await computeCircomWitness(wc, { ...witnessInput(manifest, encoded), ...program.paramInputs() });
    const { componentOf } = layoutCircuit(program);
    const wires = new Map<number, { signal: string; value: bigint | undefined }>();
    program.gadgets.forEach((g, id) =>
      g.outputs.forEach((wire, j) => {
        const signal = `main.${componentOf[id]}.${outputPorts(g.def, g.params)[j]}`;
        const idx = symbols.get(signal);
        wires.set(wire, { signal, value: idx === undefined || idx < 0 ? undefined : fieldToSigned(witness[idx]) });
      }),
    );
    return { witness, symbols, wires };
  }
  const file = decodeProgram(readFileSync(paths.program), paths.program);
  const { signals, wires: values } = computeWitness(file, encoded, program.paramInputs(), program.labels);
  const { wireOf, nWires } = wireMapOf(file, signals.length);
  const witness: bigint[] = new Array(nWires);
  wireOf.forEach((w, s) => {
    if (w >= 0) witness[w] = toField(signals[s]);
  });
  const { componentOf } = layoutCircuit(program);
  const wires = new Map<number, { signal: string; value: bigint | undefined }>();
  program.gadgets.forEach((g, id) =>
    g.outputs.forEach((wire, j) => wires.set(wire, { signal: `main.${componentOf[id]}.${outputPorts(g.def, g.params)[j]}`, value: values[wire] })),
  );
  return { witness, symbols, wires };
}

/**
 * Runs the two oracles side by side on one input: the reference executor (exact integers, each gadget's
 * `evaluate`) and the build's witness (each gadget's circuit), compared gadget output by gadget output, and the
 * witness checked against every constraint of the build's r1cs. A wrong gadget circuit shows up here at the first
 * gadget that differs, not after a failed proof.
 */
export async function crossCheck(dir: string, manifest: Manifest, program: Program, encoded: Map<string, bigint[]>): Promise<CrossCheck> {
  const paths = buildPaths(dir);
  await loadPoseidon(); // the reference executor hashes commitments with it
  const reference = program.execute(encoded);
  const { witness, symbols, wires } = await buildWitness(dir, manifest, program, encoded);
  const mismatches: Mismatch[] = [];
  program.gadgets.forEach((g) =>
    g.outputs.forEach((wire) => {
      const w = wires.get(wire)!;
      if (w.value !== undefined && !sameField(w.value, reference.wires[wire])) mismatches.push({ signal: w.signal, node: g.node, reference: reference.wires[wire], witness: w.value });
    }),
  );
  const read = (name: string) => {
    const idx = symbols.get(name);
    return idx === undefined || idx < 0 ? undefined : fieldToSigned(witness[idx]);
  };
  const circuit = new Map<string, bigint[]>();
  for (const o of program.outputs) {
    const values = o.exprs.map((_, i) => read(`main.${o.signal}[${i}]`) ?? 0n);
    circuit.set(o.name, values);
    values.forEach((v, i) => {
      const r = reference.outputs.get(o.name)![i];
      if (!sameField(v, r)) mismatches.push({ signal: `main.${o.signal}[${i}]`, node: `output "${o.name}"`, reference: r, witness: v });
    });
  }
  const r1cs = await loadR1cs(paths.r1cs);
  return { reference: reference.outputs, referenceWires: reference.wires, circuit, mismatches, violated: violatedConstraints(r1cs, witness), witness, symbols, r1cs };
}
