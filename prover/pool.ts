/**
 * A piscina pool of proving workers (prover/worker.ts). Each worker keeps its build's witness calculator and
 * zkey in memory, so a batch pays for loading once per worker, not once per input.
 */
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { ZkmlError } from '../src/util/errors.ts';
import { chooseThreads, type BuildRef, type ProveOutput, type ProveTask, type TaskOutcome, type ThreadMode } from './worker.ts';

export interface ProverPoolOptions {
  /** Worker threads; default: one per core. */
  workers?: number;
  /** snarkjs' threading inside each worker; default: `chooseThreads()` (benchmarks compare both). */
  threads?: ThreadMode;
}

export interface ProverPool {
  readonly workers: number;
  /** Proves one encoded input (see `witnessInput()`) on a free worker. Rejects with the worker's ZkmlError. */
  proveInPool(build: BuildRef & { constraints: number }, input: Record<string, string[]>): Promise<ProveOutput>;
  /** Stops every worker (and the snarkjs threads they own) so the process can exit. */
  destroy(): Promise<void>;
}

const WORKER_FILE = fileURLToPath(new URL('./worker.ts', import.meta.url));

/**
 * Worker threads do not inherit loader hooks registered at run time (bin/zkml.js registers tsx that way), so
 * each worker imports tsx itself, by absolute URL so that it resolves from any working directory.
 */
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export function createProverPool(opts: ProverPoolOptions = {}): ProverPool {
  const workers = opts.workers ?? availableParallelism();
  if (!Number.isInteger(workers) || workers < 1) throw new ZkmlError(`workers must be a positive integer, got ${workers}`, 'E_USAGE');
  const piscina = new Piscina<ProveTask, TaskOutcome>({
    filename: WORKER_FILE,
    minThreads: workers,
    maxThreads: workers,
    execArgv: ['--import', TSX_LOADER],
  });
  return {
    workers,
    async proveInPool(build, input) {
      const { constraints, ...ref } = build;
      const outcome = await piscina.run({ build: ref, input, threads: opts.threads ?? chooseThreads(workers, constraints) });
      if (!outcome.ok) throw new ZkmlError(outcome.message, outcome.code);
      const { ok: _ok, ...output } = outcome;
      return output;
    },
    // Terminating a worker thread also ends the ffjavascript threads it started, so destroy() is the whole
    // shutdown; nothing of the pool runs snarkjs in the calling thread.
    destroy: () => piscina.destroy(),
  };
}
