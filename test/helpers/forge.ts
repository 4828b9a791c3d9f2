/**
 * A dishonest prover: proves with nothing but a build's public artifacts (its witness program or circuit wasm,
 * and its zkey), on circuit
 * inputs of its own choosing, bypassing every check zkml's prover makes (input ranges, params.json). What
 * such a proof is allowed to mean is what the soundness tests below check verify and the registry against.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildPaths } from '../../src/manifest.ts';
import { RESULT_FILES } from '../../src/prove/prove.ts';
import { loadSnarkjs } from '../../src/util/snark.ts';
import { decodeProgram } from '../../src/circuit/program-file.ts';
import { witnessFile } from '../../src/circuit/witness.ts';

/**
 * Computes a witness from `signals` (circuit input signal → decimal field elements) with the build's wasm,
 * proves it with its zkey, and writes proof.json and public.json into `out`. Returns the public signals.
 */
export async function forgeProof(build: string, signals: Record<string, string[]>, out: string): Promise<string[]> {
  const snarkjs = await loadSnarkjs();
  const paths = buildPaths(build);
  let result;
  if (existsSync(paths.program)) {
    // zkml's back end: the program file computes the witness; signals that are not model inputs are weights.
    const program = decodeProgram(readFileSync(paths.program), paths.program);
    const inputNames = new Set(program.inputs.map((i) => i.signal));
    const pick = (keep: boolean) => Object.fromEntries(Object.entries(signals).filter(([k]) => inputNames.has(k) === keep));
    const { wtns } = witnessFile(program, pick(true), pick(false));
    result = await snarkjs.groth16.prove(paths.zkey, wtns);
  } else {
    result = await snarkjs.groth16.fullProve(signals, paths.wasm, paths.zkey);
  }
  const { proof, publicSignals } = result;
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, RESULT_FILES.proof), JSON.stringify(proof));
  writeFileSync(join(out, RESULT_FILES.public), JSON.stringify(publicSignals));
  return publicSignals;
}
