/**
 * Which Groth16 prover makes proofs: 'snarkjs' (WebAssembly) by default, or 'native' (the addon,
 * src/prove/native.ts) when asked for: the library's `prover` option, `--prover` on the CLI, or ZKML_PROVER.
 * Asking for 'native' when it is not built is an error.
 *
 * Why snarkjs stays the default: the addon is 3-4x faster than snarkjs on random circuits of 2^10 to 2^16
 * constraints (scripts/bench-native.ts), but 2.4x slower on a real build, the 784-1024-256-10 MLP (44k
 * constraints whose rows carry its 1M weights as coefficients: native 10.8 s, snarkjs 4.5 s warm, measured
 * 2026-12-02). Until it wins on the builds zkml makes, it is opt-in.
 */
import { ZkmlError } from '../util/errors.ts';
import { nativeProver, nativeUnavailableReason } from './native.ts';

export type ProverBackend = 'native' | 'snarkjs';

export const PROVER_BACKENDS: readonly ProverBackend[] = ['native', 'snarkjs'];

export function parseProverBackend(v: string): ProverBackend {
  if (v === 'native' || v === 'snarkjs') return v;
  throw new ZkmlError(`unknown prover "${v}" (expected native or snarkjs)`, 'E_USAGE');
}

/** The backend for a proof: `requested`, else ZKML_PROVER, else snarkjs (see the file header). */
export function selectBackend(requested?: ProverBackend): ProverBackend {
  const want = requested ?? (process.env.ZKML_PROVER ? parseProverBackend(process.env.ZKML_PROVER) : undefined);
  if (want !== 'native') return 'snarkjs';
  if (nativeProver()) return 'native';
  throw new ZkmlError(nativeUnavailableReason() ?? 'the native prover is unavailable', 'E_NATIVE');
}

/** For `zkml --help`: the default prover, and whether the native one can be asked for. */
export function backendDescription(): string {
  return nativeProver() ? 'snarkjs (default); native available (--prover native)' : `snarkjs (native unavailable: ${nativeUnavailableReason()})`;
}
