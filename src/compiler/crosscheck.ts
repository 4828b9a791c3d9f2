import { buildPaths, type Manifest } from '../manifest.ts';
import type { Program } from './program.ts';
import { loadWitnessCalculator, computeWitness } from '../circom/witness.ts';
import { loadSymbols } from '../circom/sym.ts';
import { loadR1cs, violatedConstraints, type R1cs } from '../circom/r1cs.ts';
import { fieldToSigned, FIELD_P } from '../io/output.ts';
import { witnessInput } from '../io/input.ts';
import { loadPoseidon } from '../commit/poseidon.ts';
import { layoutCircuit } from './layout.ts';

/** Equal as field elements (digests are field elements; integers compare as themselves). */
const sameField = (a: bigint, b: bigint) => (a - b) % FIELD_P === 0n;

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
 * Runs the two oracles side by side on one input: the reference executor (exact integers) and the compiled
 * circuit's witness, compared signal by signal, gadget by gadget, and checked against every constraint. A
 * wrong template or emission shows up here at the first gadget that differs, not after a failed proof.
 */
export async function crossCheck(dir: string, manifest: Manifest, program: Program, encoded: Map<string, bigint[]>): Promise<CrossCheck> {
  const paths = buildPaths(dir);
  await loadPoseidon(); // the reference executor hashes commitments with it
  const reference = program.execute(encoded);
  const wc = await loadWitnessCalculator(paths.wasm);
  const witness = await computeWitness(wc, { ...witnessInput(manifest, encoded), ...program.paramInputs() });
  const symbols = loadSymbols(paths.sym);
  const mismatches: Mismatch[] = [];
  const read = (name: string) => {
    const idx = symbols.get(name);
    return idx === undefined || idx < 0 ? undefined : fieldToSigned(witness[idx]);
  };
  const { componentOf } = layoutCircuit(program);
  program.gadgets.forEach((g, id) =>
    g.outputs.forEach((wire, j) => {
      const signal = `main.${componentOf[id]}.${g.def.outputs[j]}`;
      const w = read(signal);
      if (w !== undefined && !sameField(w, reference.wires[wire])) mismatches.push({ signal, node: g.node, reference: reference.wires[wire], witness: w });
    }),
  );
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
