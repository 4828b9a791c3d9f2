/**
 * A piscina pool of proving workers (prover/worker.ts). Each worker keeps its build's witness calculator and
 * zkey in memory, so a batch pays for loading once per worker, not once per input.
 */
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { ZkmlError } from '../src/util/errors.ts';
import type { ProverBackend } from '../src/prove/backend.ts';
import { chooseThreads, type BuildRef, type ProveOutput, type ProveTask, type TaskOutcome, type ThreadMode } from './worker.ts';

export interface ProverPoolOptions {
  /** Worker threads; default: one per core. */
  workers?: number;
  /** snarkjs' threading inside each worker; default: `chooseThreads()` (benchmarks compare both). */
  threads?: ThreadMode;
  /** Groth16 prover in each worker; default native when built. */
  prover?: ProverBackend;
}

export interface ProverPool {
  readonly workers: number;
  /** Proves one encoded input (see `witnessInput()`) on a free worker. Rejects with the worker's ZkmlError. */
  proveInPool(build: BuildRef & { constraints: number }, input: Record<string, string[]>): Promise<ProveOutput>;
  /** Stops every worker (and the snarkjs threads they own) so the process can exit. */
  destroy(): Promise<void>;
}

/**
 * The worker sits next to this file: worker.js in the built package (dist/prover/), worker.ts when this module
 * runs from the sources through tsx (tests, scripts). Worker threads do not inherit loader hooks registered at
 * run time, so a TypeScript worker imports tsx itself (a dev dependency), by absolute URL so that it resolves
 * from any working directory; the built worker needs no loader.
 */
export const FROM_SOURCES = import.meta.url.endsWith('.ts');
const WORKER_FILE = fileURLToPath(new URL(FROM_SOURCES ? './worker.ts' : './worker.js', import.meta.url));
export const WORKER_EXEC_ARGV = FROM_SOURCES ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : [];

function checkWidth(workers: number): void {
  if (!Number.isInteger(workers) || workers < 1) throw new ZkmlError(`workers must be a positive integer, got ${workers}`, 'E_USAGE');
}

/**
 * The width of a pool for `jobs` tasks (a batch's inputs; undefined for a fleet worker's open-ended queue): the
 * requested width (default: one per core), never more than there are jobs, since a worker without a job only
 * costs its start-up and memory. A pool wider than the machine's cores gets a warning: its proofs compete for
 * the cores (a proof is CPU-bound), so it is slower than a narrower one, and each worker holds the zkey.
 */
export function poolWidth(requested: number | undefined, jobs?: number): { workers: number; warnings: string[] } {
  const cores = availableParallelism();
  const wanted = requested ?? cores;
  checkWidth(wanted);
  const workers = jobs === undefined ? wanted : Math.max(1, Math.min(wanted, jobs));
  const capped = workers < wanted ? `, one per input` : '';
  const warnings =
    workers > cores
      ? [`--workers ${wanted} asks for more workers than this machine's ${cores} core${cores === 1 ? '' : 's'} (the pool has ${workers}${capped}): proofs compete for the cores and each worker holds the zkey in memory, so a pool of at most ${cores} is faster`]
      : [];
  return { workers, warnings };
}

export function createProverPool(opts: ProverPoolOptions = {}): ProverPool {
  const workers = opts.workers ?? availableParallelism();
  checkWidth(workers);
  // Threads start as tasks arrive, up to `workers`, and then stay with their loaded build (no idle timeout):
  // a pool wider than its work starts only the threads it uses.
  const piscina = new Piscina<ProveTask, TaskOutcome>({
    filename: WORKER_FILE,
    minThreads: 1,
    maxThreads: workers,
    idleTimeout: Infinity,
    execArgv: WORKER_EXEC_ARGV,
  });
  return {
    workers,
    async proveInPool(build, input) {
      const { constraints, ...ref } = build;
      const outcome = await piscina.run({ build: ref, input, threads: opts.threads ?? chooseThreads(workers, constraints), prover: opts.prover });
      if (!outcome.ok) throw new ZkmlError(outcome.message, outcome.code);
      const { ok: _ok, ...output } = outcome;
      return output;
    },
    // Terminating a worker thread also ends the ffjavascript threads it started, so destroy() is the whole
    // shutdown; nothing of the pool runs snarkjs in the calling thread.
    destroy: () => piscina.destroy(),
  };
}
