/**
 * The circuit back ends: what turns the integer program into circuit.r1cs and the means to compute witnesses.
 * - zkml (the default): the constraint system is built from the gadgets' own definitions (src/circuit/), folded
 *   (eliminate.ts) and written directly, with circuit.sym and circuit.program (the witness is computed from it).
 *   Time and memory follow the constraints and the nonzero coefficients.
 * - circom (`compile --circom`): circom2 compiles circuit.circom into its r1cs, sym and witness calculator (wasm).
 *   The same circuit (the tests prove the two equivalent), for users who want circom's artifacts; its cost
 *   follows the source, and circom2's 32-bit WebAssembly heap stops it near a million weights.
 */
import { writeFileSync } from 'node:fs';
import type { Program, ProgramOutput } from '../ir/program.ts';
import { buildConstraintSystem } from '../circuit/system.ts';
import { eliminate, type EliminationMode } from '../circuit/eliminate.ts';
import { writeR1cs } from '../circuit/r1cs-file.ts';
import { writeSym } from '../circuit/sym-file.ts';
import { encodeProgram } from '../circuit/program-file.ts';
import { compileCircom } from '../circom/compile.ts';
import { buildPaths, type CircuitArtifacts } from '../manifest.ts';
import { sha256File } from '../util/hash.ts';
import type { CircuitLayout } from './layout.ts';

export interface CircuitResult {
  constraints: number;
  /** Constraints per ONNX node (and for input checks, commitments, outputs). */
  costs: Map<string, number>;
  artifacts: CircuitArtifacts;
}

type Progress = (step: string, data?: Record<string, unknown>) => void;

/** The number of constraints the default back end gives a program (what `compile` reports), without writing files. */
export function constraintCount(program: Program, publicInputs: boolean, elimination: EliminationMode = 'cost'): number {
  const cs = buildConstraintSystem(program, publicInputs, () => '');
  return eliminate(cs, elimination).constraints.length;
}

export async function zkmlBackend(
  staging: string,
  program: Program,
  layout: CircuitLayout,
  opts: { publicInputs: boolean; elimination: EliminationMode; reports: readonly ProgramOutput[]; progress: Progress },
): Promise<CircuitResult> {
  const paths = buildPaths(staging);
  const cs = buildConstraintSystem(program, opts.publicInputs, (g) => layout.componentOf[g]);
  opts.progress('constraints', { signals: cs.nSignals, quadratic: cs.quadratics.length, linear: cs.linears.length });
  const reduced = eliminate(cs, opts.elimination);
  opts.progress('folded', { constraints: reduced.constraints.length, folded: reduced.folded, rows: reduced.rows, wires: reduced.nWires });
  writeR1cs(paths.r1cs, cs, reduced);
  await writeSym(paths.sym, cs, reduced.wireOf);
  writeFileSync(paths.program, encodeProgram(program, { labels: program.labels, reports: opts.reports, wireOf: reduced.wireOf, nWires: reduced.nWires }));
  const costs = new Map<string, number>();
  for (const o of reduced.origins) {
    const node = cs.nodes[o];
    costs.set(node, (costs.get(node) ?? 0) + 1);
  }
  return {
    constraints: reduced.constraints.length,
    costs,
    artifacts: {
      backend: 'zkml',
      elimination: opts.elimination,
      circom: 'circuit.circom',
      r1cs: 'circuit.r1cs',
      sym: 'circuit.sym',
      program: 'circuit.program',
      r1csSha256: sha256File(paths.r1cs),
      programSha256: sha256File(paths.program),
    },
  };
}

export async function circomBackend(staging: string, program: Program, opts: { reports: readonly ProgramOutput[]; progress: Progress }): Promise<CircuitResult> {
  const paths = buildPaths(staging);
  opts.progress('circom', { file: 'circuit.circom' });
  const result = await compileCircom(paths.circom, staging);
  // The program file too (without a wire map): output.json's hashed tensors are computed from it.
  writeFileSync(paths.program, encodeProgram(program, { labels: program.labels, reports: opts.reports }));
  return {
    constraints: result.constraints,
    // circom reports no per-node counts: the gadgets' own cost model (equal to circom's count, see the tests).
    costs: program.costByNode(),
    artifacts: {
      backend: 'circom',
      circom: 'circuit.circom',
      r1cs: 'circuit.r1cs',
      sym: 'circuit.sym',
      wasm: 'circuit_js/circuit.wasm',
      program: 'circuit.program',
      r1csSha256: sha256File(paths.r1cs),
      wasmSha256: sha256File(paths.wasm),
      programSha256: sha256File(paths.program),
    },
  };
}
