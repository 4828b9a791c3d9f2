/**
 * `zkml worker --queue URL`: drains the proving queue into this machine's piscina pool (prover/pool.ts).
 *
 * - Builds are found by the sha256 of their manifest.json under `--builds` (the folder itself and its
 *   subfolders, two levels deep), rescanned when a job names one not seen yet (a build synced in later).
 *   The pool loads the artifacts through readVerified, so a wasm or zkey whose hash differs from the manifest's
 *   is refused: the job fails with that error rather than proving against other keys.
 * - Proofs run in worker threads, so this thread stays free to renew job locks; if the process dies, the lock
 *   lapses and another worker's stall check puts the job back (queue.ts: stallSettings).
 * - A failing job is retried with exponential backoff (JOB_OPTIONS: 3 attempts), possibly on another machine
 *   (one that has the build, say); after the last attempt it stays in the failed set with its error.
 * - SIGTERM/SIGINT: stop taking jobs, let the running ones finish (worker.close()), then stop the pool.
 */
import { existsSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker, type Job } from 'bullmq';
import { buildPaths } from '../manifest.ts';
import { ZkmlError } from '../util/errors.ts';
import { sha256File } from '../util/hash.ts';
import { openBuildForProving } from '../prove/prove.ts';
import { createProverPool, poolWidth } from '../../prover/pool.ts';
import { ensureReachable, probeRedis, QUEUE_NAME, redisConnection, stallSettings, type ProveJobData, type ProveJobResult } from './queue.ts';

export interface FleetWorkerOptions {
  queue: string;
  /** Pool width, and so the number of jobs taken at once. */
  workers?: number;
  /** Folder holding build folders (default: the working directory). */
  builds?: string;
  /** Called for each job that starts, ends or fails (the CLI logs these). */
  onEvent?: (event: { kind: 'active' | 'completed' | 'failed'; jobId: string; inputId: string; attempt: number; error?: string; ms?: number }) => void;
}

export interface FleetWorker {
  /** The pool width (jobs taken at once). */
  workers: number;
  /** Things the operator must hear about (a pool wider than the machine's cores). */
  warnings: string[];
  /** Stops taking jobs, waits for the running ones, stops the pool and closes the connection. */
  close(): Promise<void>;
}

/** manifest sha256 → build folder, for every folder with a manifest.json at depth 0..2 under `root`. */
export function scanBuilds(root: string): Map<string, string> {
  const found = new Map<string, string>();
  const visit = (dir: string, depth: number) => {
    const manifest = buildPaths(dir).manifest;
    if (existsSync(manifest)) found.set(sha256File(manifest), dir);
    if (depth === 2) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules') visit(join(dir, e.name), depth + 1);
  };
  visit(resolve(root), 0);
  return found;
}

export async function startFleetWorker(opts: FleetWorkerOptions): Promise<FleetWorker> {
  const root = resolve(opts.builds ?? '.');
  if (!existsSync(root)) throw new ZkmlError('no such folder (--builds: where the build folders are)', 'E_USAGE', root);
  let builds = scanBuilds(root);
  const { workers: width, warnings } = poolWidth(opts.workers ?? 1);
  // Before the pool starts a thread: a wrong URL is one message at once (see probeRedis).
  await probeRedis(opts.queue);
  const pool = createProverPool({ workers: width });
  const me = `${hostname()}:${process.pid}`;

  const findBuild = (sha: string): string => {
    let dir = builds.get(sha);
    // The build may have been synced since the last scan, or rebuilt in place (new hash): look again.
    if (!dir || !existsSync(buildPaths(dir).manifest) || sha256File(buildPaths(dir).manifest) !== sha) {
      builds = scanBuilds(root);
      dir = builds.get(sha);
    }
    if (!dir) throw new ZkmlError(`no build whose manifest.json has sha256 ${sha} under ${root}: copy or sync the submitter's build folder there (see docs/fleet.md)`, 'E_NO_BUILD', me);
    return dir;
  };

  const process_ = async (job: Job<ProveJobData, ProveJobResult>): Promise<ProveJobResult> => {
    opts.onEvent?.({ kind: 'active', jobId: job.id!, inputId: job.data.inputId, attempt: job.attemptsMade + 1 });
    try {
      const build = openBuildForProving(findBuild(job.data.manifestSha256));
      const r = await pool.proveInPool(build.ref, job.data.input);
      return { proof: r.proof, publicSignals: r.publicSignals, witnessMs: r.witnessMs, proveMs: r.proveMs, worker: me };
    } catch (err) {
      // The code travels in the message: BullMQ keeps only the message as failedReason.
      const code = err instanceof ZkmlError ? err.code : 'E_PROVE';
      throw new Error(`${code}: ${(err as Error).message} (on ${me})`);
    }
  };

  const worker = new Worker<ProveJobData, ProveJobResult>(QUEUE_NAME, process_, {
    connection: redisConnection(opts.queue),
    concurrency: width,
    ...stallSettings(),
  });
  worker.on('completed', (job) => opts.onEvent?.({ kind: 'completed', jobId: job.id!, inputId: job.data.inputId, attempt: job.attemptsMade, ms: job.finishedOn && job.processedOn ? job.finishedOn - job.processedOn : undefined }));
  worker.on('failed', (job, err) => job && opts.onEvent?.({ kind: 'failed', jobId: job.id!, inputId: job.data.inputId, attempt: job.attemptsMade, error: err.message }));
  // Connection errors are retried by ioredis; logging them is enough (an unhandled 'error' would crash), once
  // per outage rather than once per retry.
  let lastError: string | undefined;
  worker.on('error', (err) => {
    if (err.message !== lastError) console.error(`zkml worker: ${err.message}`);
    lastError = err.message;
  });
  worker.on('ready', () => (lastError = undefined));
  try {
    await ensureReachable(worker, opts.queue);
  } catch (err) {
    await worker.close();
    await pool.destroy();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    workers: width,
    warnings,
    close: () =>
      (closing ??= (async () => {
        await worker.close();
        await pool.destroy();
      })()),
  };
}
