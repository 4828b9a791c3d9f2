/**
 * Which Groth16 prover makes proofs: 'native' (the addon, src/prove/native.ts) when it is built, else
 * 'snarkjs' (WebAssembly), saying so once per process. An explicit choice (the library's `prover` option,
 * `--prover` on the CLI, or ZKML_PROVER) overrides; asking for 'native' when it is not built is an error.
 */
import { ZkmlError } from '../util/errors.ts';
import { nativeProver, nativeUnavailableReason } from './native.ts';

export type ProverBackend = 'native' | 'snarkjs';

export const PROVER_BACKENDS: readonly ProverBackend[] = ['native', 'snarkjs'];

export function parseProverBackend(v: string): ProverBackend {
  if (v === 'native' || v === 'snarkjs') return v;
  throw new ZkmlError(`unknown prover "${v}" (expected native or snarkjs)`, 'E_USAGE');
}

let noticed = false;

/** The backend for a proof: `requested`, else ZKML_PROVER, else native when built (with a one-time notice if not). */
export function selectBackend(requested?: ProverBackend, notice: (m: string) => void = (m) => process.stderr.write(`${m}\n`)): ProverBackend {
  const want = requested ?? (process.env.ZKML_PROVER ? parseProverBackend(process.env.ZKML_PROVER) : undefined);
  if (want === 'snarkjs') return 'snarkjs';
  if (nativeProver()) return 'native';
  if (want === 'native') throw new ZkmlError(nativeUnavailableReason() ?? 'the native prover is unavailable', 'E_NATIVE');
  if (!noticed) {
    noticed = true;
    notice(`zkml: ${nativeUnavailableReason()}; proving with snarkjs.`);
  }
  return 'snarkjs';
}

/** For `zkml --version`: which prover a default proof uses. */
export function backendDescription(): string {
  return nativeProver() ? 'native (zkml_native addon)' : `snarkjs (${nativeUnavailableReason()})`;
}
