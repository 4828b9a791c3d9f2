/**
 * `zkml serve --queue redis://…`: the service's proofs made by `zkml worker` processes (src/fleet/) through the
 * fleet's BullMQ queue instead of the local prover pool. A proof job of the store becomes one BullMQ job whose id
 * is derived from the store job's id (`serve.<id>`), so submitting it again (a restart, a second server resuming
 * the same store) is the same job: BullMQ's add() with an existing id does nothing. The job carries the witness
 * input and the sha256 of the build's manifest.json; a worker started with `--builds <data>/models` finds the
 * build there by that hash (src/fleet/worker.ts: scanBuilds).
 *
 * The result is collected by whichever server hears of it first: every server on the queue listens to its
 * events (a completion while no server ran is found when one starts and resumes the job, and a slow poll catches
 * an event lost to a Redis reconnect). Collecting is recording the proof in the store, through the same checks
 * as a local proof (jobs.ts: the signals must be the served ones and the proof must verify), and only then
 * removing the job from Redis, which deletes the queue's copy of the input. A server that finds the store job
 * already recorded (by another server) only tells its own listeners.
 */
import { QueueEvents, type Job, type Queue } from 'bullmq';
import { buildPaths } from '../manifest.ts';
import { ensureReachable, JOB_OPTIONS, jobError, openQueue, probeRedis, QUEUE_NAME, redisConnection, type ProveJobData, type ProveJobResult } from '../fleet/queue.ts';
import { sha256File } from '../util/hash.ts';
import type { Outcome } from './jobs.ts';
import type { JobRow, Store } from './store.ts';

/** The batch id of every service job (queue.ts: a batch is a prefix of its jobs' ids). */
const BATCH = 'serve';
const bullId = (storeJobId: string) => `${BATCH}.${storeJobId}`;
const storeIdOf = (bullJobId: string) => (bullJobId.startsWith(`${BATCH}.`) ? bullJobId.slice(BATCH.length + 1) : undefined);

export interface QueueProofsOptions {
  url: string;
  store: Store;
  /** Records a job's outcome in the store (jobs.ts, with its checks); called at most once at a time per job. */
  record(job: JobRow, outcome: Outcome): Promise<void>;
  /** Tells listeners that an inference may have changed (recorded here or by another server). */
  changed(inferenceId: string): void;
  /** How often pending jobs are looked at besides the queue's events (default 5 s). */
  pollMs?: number;
  log?: (message: string) => void;
}

export class QueueProofs {
  private readonly settling = new Map<string, Promise<void>>();
  /** Jobs asked to be looked at again once their current look ends (see settle). */
  private readonly again = new Set<string>();
  private timer?: NodeJS.Timeout;
  private closed = false;

  private constructor(
    private readonly opts: QueueProofsOptions,
    private readonly queue: Queue<ProveJobData, ProveJobResult>,
    private readonly events: QueueEvents,
  ) {}

  /** Connects (one clear error when Redis is not there: fleet/queue.ts probeRedis) and starts listening. */
  static async open(opts: QueueProofsOptions): Promise<QueueProofs> {
    await probeRedis(opts.url);
    const queue = openQueue(opts.url);
    const events = new QueueEvents(QUEUE_NAME, { connection: redisConnection(opts.url) });
    try {
      await ensureReachable(queue, opts.url);
      await events.waitUntilReady();
    } catch (err) {
      await Promise.allSettled([queue.close(), events.close()]);
      throw err;
    }
    const proofs = new QueueProofs(opts, queue, events);
    const onEnd = ({ jobId }: { jobId: string }) => {
      const id = storeIdOf(jobId);
      if (id) void proofs.settle(id);
    };
    events.on('completed', onEnd);
    events.on('failed', onEnd);
    proofs.timer = setInterval(() => proofs.poll(), opts.pollMs ?? 5000);
    proofs.timer.unref();
    await proofs.sweep();
    return proofs;
  }

  /**
   * Removes ended service jobs whose outcome the store holds already: a server killed between recording a proof
   * and removing its queue job leaves that job (and its copy of the input) in Redis, and its store job, done, is
   * never looked at again.
   */
  private async sweep(): Promise<void> {
    try {
      // The most recently ended jobs (newest first): one left by a server killed just before this start is among them.
      for (const job of await this.queue.getJobs(['completed', 'failed'], 0, 999)) {
        const id = job?.id && storeIdOf(job.id);
        const row = id ? this.opts.store.getJob(id) : undefined;
        if (row && (row.status === 'done' || row.status === 'failed')) await job.remove().catch(() => {});
      }
    } catch (err) {
      this.opts.log?.(`queue: could not sweep collected jobs (${(err as Error).message})`);
    }
  }

  /** Puts a store proof job on the queue (once: the id is the store job's), then looks whether it has ended. */
  async submit(job: JobRow, buildDir: string): Promise<void> {
    await this.add(job, buildDir);
    await this.settle(job.id);
  }

  private async add(job: JobRow, buildDir: string): Promise<void> {
    const id = bullId(job.id);
    if (await this.queue.getJob(id)) return;
    // Another server may have recorded it (and removed its queue job) since this one read the row.
    const now = this.opts.store.getJob(job.id);
    if (!now || now.payload === null || now.status === 'done' || now.status === 'failed') return;
    const data: ProveJobData = { batchId: BATCH, inputId: job.target, manifestSha256: sha256File(buildPaths(buildDir).manifest), input: now.payload as Record<string, string[]> };
    // Kept until collected (removed then), whatever JOB_OPTIONS' age limits say for fleet batches.
    await this.queue.add(job.target, data, { ...JOB_OPTIONS, jobId: id, removeOnComplete: false, removeOnFail: false });
  }

  /**
   * Collects a job's outcome if it has one. Calls while a look at the job is under way share it and ask for one
   * more look after it: the look may have read the job's state just before the event that called now (a
   * completion seen as "active" would otherwise be missed until the poll).
   */
  settle(storeJobId: string): Promise<void> {
    const running = this.settling.get(storeJobId);
    if (running) {
      this.again.add(storeJobId);
      return running;
    }
    const p = (async () => {
      do {
        this.again.delete(storeJobId);
        await this.look(storeJobId);
      } while (this.again.has(storeJobId));
    })().finally(() => this.settling.delete(storeJobId));
    this.settling.set(storeJobId, p);
    return p;
  }

  private async look(storeJobId: string): Promise<void> {
    if (this.closed) return;
    const row = this.opts.store.getJob(storeJobId);
    if (!row || row.kind !== 'prove') return;
    let job: Job<ProveJobData, ProveJobResult> | undefined;
    let state: string | undefined;
    try {
      job = await this.queue.getJob(bullId(storeJobId));
      state = await job?.getState();
      // Read again once ended, so the result and the failure reason are the final state's.
      if (state === 'completed' || state === 'failed') job = await this.queue.getJob(bullId(storeJobId));
      // Removed between the two reads (another server collected it): as good as not on the queue.
      if (state === 'unknown') job = undefined;
    } catch (err) {
      this.opts.log?.(`queue: cannot read job ${bullId(storeJobId)} (${(err as Error).message}); looked at again later`);
      return;
    }
    if (row.status === 'done' || row.status === 'failed') {
      // Recorded already (here or by another server); a job left in Redis by a race between two servers goes.
      if (job && (state === 'completed' || state === 'failed')) await job.remove().catch(() => {});
      return this.opts.changed(row.target);
    }
    if (!job) {
      // Another server may have recorded it and removed its queue job since the row was read: then only this
      // server's listeners are told (they would otherwise wait on a proof that is already there).
      const now = this.opts.store.getJob(storeJobId);
      if (now && (now.status === 'done' || now.status === 'failed')) return this.opts.changed(row.target);
      // Not recorded and not on the queue: Redis lost its data, or the job was removed by hand. The store still
      // holds the input: submitted again.
      this.opts.log?.(`queue: job ${bullId(storeJobId)} is not in Redis and not recorded: submitted again`);
      const inference = this.opts.store.getInference(row.target);
      if (inference) await this.add(row, this.opts.store.buildDir(inference.modelId));
      return;
    }
    if (state !== 'completed' && state !== 'failed') return;
    await this.opts.record(row, state === 'completed' ? { ok: true, result: job.returnvalue } : { ok: false, error: jobError(job) });
    // Recorded in the store: the queue's copy of the input goes.
    await job.remove().catch(() => {});
    this.opts.changed(row.target);
  }

  /** The safety net: every pending proof job of the store, looked at. */
  private poll(): void {
    if (this.closed) return;
    for (const job of this.opts.store.pendingJobs()) if (job.kind === 'prove' && job.status === 'running') void this.settle(job.id);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await Promise.allSettled([...this.settling.values()]);
    await Promise.allSettled([this.events.close(), this.queue.close()]);
  }
}
