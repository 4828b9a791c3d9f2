/**
 * The service's jobs: a model's build (compile, setup, Solidity verifier) and an inference's proof. Every job is a
 * row of the jobs table before it is started, so a restart finds what was queued or running and runs it again
 * (`resume()`): a build starts over in a fresh staging folder, a proof is proven again from its stored witness
 * input. Builds run one at a time in a worker thread (src/serve/build-worker.ts); proofs run on the library's
 * piscina prover pool, or with `--queue` on `zkml worker` processes through BullMQ (src/serve/queue.ts).
 *
 * An inference is marked proven only when the proof's public signals equal those the exact integer executor
 * computed for the served output and the proof verifies against the model's key (src/serve/inference.ts).
 */
import { EventEmitter } from 'node:events';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { CompileOptions } from '../compiler/compile.ts';
import { commitStaging, stagingDir } from '../util/atomic.ts';
import { ZkmlError } from '../util/errors.ts';
import { releaseCurve } from '../util/snark.ts';
import { createProverPool, poolWidth, FROM_SOURCES, WORKER_EXEC_ARGV, type ProverPool } from '../../prover/pool.ts';
import type { BuildOutcome, BuildTask } from './build-worker.ts';
import type { BuildRef, ProveOutput } from '../../prover/worker.ts';
import { openBuild, servedOutput, verifyProof } from './inference.ts';
import type { QueueProofs } from './queue.ts';
import type { JobRow, Store } from './store.ts';

/** How a proof job ended: a proof (from the local pool or a fleet worker) to check, or an error. */
export type Outcome = { ok: true; result: Pick<ProveOutput, 'proof' | 'publicSignals' | 'reports'> } | { ok: false; error: string };

/** Proves one witness input; the default is the piscina pool. Tests replace it to play a dishonest prover. */
const BUILD_WORKER = fileURLToPath(new URL(FROM_SOURCES ? './build-worker.ts' : './build-worker.js', import.meta.url));

export type Prover = (build: BuildRef & { constraints: number }, input: Record<string, string[]>) => Promise<ProveOutput>;

export interface JobsOptions {
  /** Proving workers (default: one per core). */
  workers?: number;
  /** A ceremony ptau for setups; default: the development ptau (INSECURE). */
  ptau?: string;
  prover?: Prover;
  log?: (message: string) => void;
  /** On-chain settlement (src/serve/settle.ts): each inference recorded proven is handed to it. */
  settler?: { enqueue(inferenceId: string): void };
}

export class Jobs extends EventEmitter {
  private readonly builds: JobRow[] = [];
  private readonly proofs: JobRow[] = [];
  private building = false;
  private proving = 0;
  private readonly width: number;
  private pool?: ProverPool;
  private buildPool?: Piscina<BuildTask, BuildOutcome>;
  private closed = false;
  private readonly seen = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  private queue?: QueueProofs;

  constructor(
    private readonly store: Store,
    private readonly opts: JobsOptions = {},
  ) {
    super();
    this.setMaxListeners(0);
    this.width = poolWidth(opts.workers).workers;
  }

  /** Queues every job the store has not finished (queued, or running when the last process stopped). */
  resume(): number {
    const pending = this.store.pendingJobs();
    for (const job of pending) this.push(job);
    return pending.length;
  }

  /** Queues a job that the store holds. */
  enqueue(jobId: string): void {
    const job = this.store.getJob(jobId);
    if (job) this.push(job);
  }

  private push(job: JobRow): void {
    // A job is queued once per process, whichever of resume() and enqueue() sees it first.
    if (this.closed || this.seen.has(job.id)) return;
    this.seen.add(job.id);
    (job.kind === 'build' ? this.builds : this.proofs).push(job);
    this.pump();
  }

  private pump(): void {
    if (this.closed) return;
    if (!this.building && this.builds.length) {
      this.building = true;
      this.track(this.runBuild(this.builds.shift()!).finally(() => ((this.building = false), this.pump())));
    }
    while (this.proving < this.width && this.proofs.length) {
      this.proving++;
      this.track(this.runProof(this.proofs.shift()!).finally(() => (this.proving--, this.pump())));
    }
  }

  private track(p: Promise<void>): void {
    this.running.add(p);
    p.finally(() => this.running.delete(p));
  }

  private log(message: string): void {
    this.opts.log?.(message);
  }

  private async runBuild(job: JobRow): Promise<void> {
    const id = job.target;
    const model = this.store.getModel(id);
    if (!model) return this.store.finishJob(job.id, 'failed');
    this.store.startJob(job.id);
    this.store.setModelStatus(id, 'building');
    const buildDir = this.store.buildDir(id);
    const modelDir = this.store.modelDir(id);
    try {
      // Whatever an interrupted attempt left: a partial build folder or staging folders.
      rmSync(buildDir, { recursive: true, force: true });
      for (const name of existsSync(modelDir) ? readdirSync(modelDir) : []) if (name.startsWith('.build.staging-')) rmSync(join(modelDir, name), { recursive: true, force: true });
      const staging = stagingDir(buildDir);
      const outcome = await this.builder().run({ model: this.store.modelFile(id), out: staging, options: model.options as CompileOptions, ptau: this.opts.ptau } satisfies BuildTask);
      if (!outcome.ok) throw new ZkmlError(outcome.message, outcome.code);
      commitStaging(staging, buildDir);
      this.store.db.transaction(() => {
        this.store.setModelStatus(id, 'ready');
        this.store.finishJob(job.id, 'done');
      })();
      this.log(`model ${id} ready`);
    } catch (err) {
      const message = (err as Error).message;
      this.store.db.transaction(() => {
        this.store.setModelStatus(id, 'failed', message);
        this.store.finishJob(job.id, 'failed');
      })();
      this.log(`model ${id} failed: ${message}`);
    } finally {
      this.emit('model', id);
    }
  }

  /** One build thread, started for a build and ended when idle (a build is rare; its memory is not kept). */
  private builder(): Piscina<BuildTask, BuildOutcome> {
    this.buildPool ??= new Piscina<BuildTask, BuildOutcome>({ filename: BUILD_WORKER, minThreads: 0, maxThreads: 1, idleTimeout: 1000, execArgv: WORKER_EXEC_ARGV });
    return this.buildPool;
  }

  private prover(): Prover {
    if (this.opts.prover) return this.opts.prover;
    this.pool ??= createProverPool({ workers: this.width });
    return (build, input) => this.pool!.proveInPool(build, input);
  }

  private async runProof(job: JobRow): Promise<void> {
    const id = job.target;
    const inference = this.store.getInference(id);
    if (!inference || inference.status === 'proven') return this.store.finishJob(job.id, inference ? 'done' : 'failed');
    this.store.startJob(job.id);
    this.store.setInferenceStatus(id, 'proving');
    this.emit('inference', id);
    if (this.queue) {
      // Proven by a `zkml worker`; recorded by whichever server on the queue hears of it first (queue.ts).
      try {
        await this.queue.submit(job, this.store.buildDir(inference.modelId));
      } catch (err) {
        this.log(`inference ${id}: not put on the queue yet (${(err as Error).message}); tried again by the next poll`);
      }
      return;
    }
    let outcome: Outcome;
    try {
      outcome = { ok: true, result: await this.prover()(openBuild(this.store.buildDir(inference.modelId)).ref, job.payload as Record<string, string[]>) };
    } catch (err) {
      outcome = { ok: false, error: (err as Error).message };
    }
    await this.record(job, outcome);
  }

  /**
   * Records the outcome of a proof job (`job` with its payload, the witness input): proven only when the proof's
   * public signals are those of the served output and it verifies against the model's key; failed otherwise.
   */
  async record(job: JobRow, outcome: Outcome): Promise<void> {
    const id = job.target;
    const inference = this.store.getInference(id);
    if (!inference) return;
    const input = job.payload as Record<string, string[]>;
    try {
      if (!outcome.ok) throw new Error(outcome.error);
      const { result } = outcome;
      const build = openBuild(this.store.buildDir(inference.modelId));
      const same = result.publicSignals.length === inference.expectedSignals.length && result.publicSignals.every((s, k) => s === inference.expectedSignals[k]);
      if (!same) throw new Error("the proof's public signals differ from those of the served output: not marked proven");
      if (!(await verifyProof(build, result.proof, result.publicSignals))) throw new Error("the proof does not verify against the model's key: not marked proven");
      const output = await servedOutput(build, input, result.publicSignals, result.reports);
      this.store.setProven(id, job.id, output, result.proof, result.publicSignals, Boolean(this.opts.settler));
      this.opts.settler?.enqueue(id);
    } catch (err) {
      this.store.db.transaction(() => {
        this.store.setInferenceStatus(id, 'failed', (err as Error).message);
        this.store.finishJob(job.id, 'failed');
      })();
      this.log(`inference ${id} failed: ${(err as Error).message}`);
    } finally {
      this.emit('inference', id);
    }
  }

  /** Proofs through a BullMQ queue from now on (`zkml serve --queue`), instead of the local pool. */
  useQueue(queue: QueueProofs): void {
    this.queue = queue;
  }

  /**
   * Stops starting jobs and waits for the running ones to finish and be recorded; the queued ones stay pending in
   * the store for the next start. Then ends the pool and the curve's threads.
   */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.running]);
    await this.queue?.close();
    await Promise.all([this.pool?.destroy(), this.buildPool?.destroy()]);
    this.pool = undefined;
    this.buildPool = undefined;
    await releaseCurve();
  }
}
