import { readFileSync } from 'node:fs';
import { WitnessCalculatorBuilder } from 'circom_runtime';
import { ZkmlError } from '../util/errors.ts';

export interface WitnessCalculator {
  calculateWitness(input: Record<string, unknown>, sanityCheck: boolean): Promise<bigint[]>;
  calculateWTNSBin(input: Record<string, unknown>, sanityCheck: boolean): Promise<Uint8Array>;
}

/** Loads a circuit's witness calculator (circom's generated WebAssembly) once, for many witnesses. */
export async function loadWitnessCalculator(wasmPath: string): Promise<WitnessCalculator> {
  let code: Buffer;
  try {
    code = readFileSync(wasmPath);
  } catch (err) {
    throw new ZkmlError(`cannot read the circuit's wasm (${(err as NodeJS.ErrnoException).code})`, 'E_ARTIFACT', wasmPath);
  }
  try {
    return (await WitnessCalculatorBuilder(code)) as WitnessCalculator;
  } catch (err) {
    throw new ZkmlError(`not a valid circuit wasm (${(err as Error).message.split('\n')[0]})`, 'E_ARTIFACT', wasmPath);
  }
}

/** Computes the full witness; a failed `===` in the circuit surfaces as a clear error. */
export async function computeWitness(wc: WitnessCalculator, input: Record<string, unknown>): Promise<bigint[]> {
  try {
    return await wc.calculateWitness(input, true);
  } catch (err) {
    throw new ZkmlError(`witness generation failed: ${(err as Error).message.split('\n').slice(0, 3).join(' ')}`, 'E_WITNESS');
  }
}
