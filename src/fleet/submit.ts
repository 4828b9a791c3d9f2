/**
 * `zkml prove <dir> --inputs … --queue URL`: encodes every input locally, enqueues one job per input, and (unless
 * detached) waits for the fleet and writes each result as the local batch does (src/prove/batch.ts): one
 * `<id>/` folder per input holding proof.json, public.json and output.json, written in a staging folder and
 * renamed into place, so a folder is complete or absent.
 *
 * Exactly one result per input: jobs have deterministic ids (batch id + input id), so a resubmission or a job
 * redelivered after a worker died is the same job, and the submitter writes a job's result once per run (and
 * skips inputs whose folder is already current, by provenance). The output report is derived here from the
 * public signals and the local manifest: a worker only returns the proof and the public signals.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { QueueEvents } from 'bullmq';
import { buildPaths } from '../manifest.ts';
import { encodeInputs, witnessInput } from '../io/input.ts';
import { ZkmlError } from '../util/errors.ts';
import { sha256File } from '../util/hash.ts';
import { batchTally, commitResult, isCurrent, listInputs, ERRORS_FILE, type BatchError, type BatchEvent } from '../prove/batch.ts';
import { openBuildForProving, provenance, resultReport, writeResult, type ProvingBuild } from '../prove/prove.ts';
import { batchIdOf, ensureReachable, JOB_OPTIONS, jobError, jobIdOf, openQueue, probeRedis, QUEUE_NAME, redisConnection, type ProveJobData, type ProveJobResult } from './queue.ts';

export interface SubmitOptions {
  queue: string;
  out: string;
  raw?: boolean;
  /** Enqueue and return: results stay in Redis until a later (attached) submission collects them. */
  detach?: boolean;
  onProgress?: (event: BatchEvent) => void;
  /** How often to look at unfinished jobs besides listening to events (a safety net for missed events). */
  pollMs?: number;
}

export interface SubmitSummary {
  batchId: string;
  out: string;
  total: number;
  /** Jobs enqueued by this call (the others existed already or were skipped). */
  enqueued: number;
  proven: number;
  skipped: number;
  failed: number;
  errors: BatchError[];
  detached: boolean;
  insecureSetup: boolean;
  warnings: string[];
  elapsedMs: number;
}

const STAGING_PREFIX = '.staging-';

async function writeJobResult(build: ProvingBuild, out: string, id: string, encoded: Record<string, string[]>, r: ProveJobResult): Promise<void> {
  const report = await resultReport(build, encoded, r.publicSignals);
  const staging = join(out, `${STAGING_PREFIX}${process.pid}-${id}-${randomBytes(4).toString('hex')}`);
  mkdirSync(staging);
  try {
    writeResult(staging, r.proof, r.publicSignals, report);
    // A stale result (other zkey or input) is replaced, never left partial.
    commitResult(staging, join(out, id));
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}

export async function submitBatch(dir: string, inputs: string, opts: SubmitOptions): Promise<SubmitSummary> {
  const started = performance.now();
  const build = openBuildForProving(dir);
  // Before encoding anything: a wrong URL is one message now, not a wait and a retry loop later.
  await probeRedis(opts.queue);
  const manifestSha256 = sha256File(buildPaths(dir).manifest);
  const list = listInputs(inputs);
  mkdirSync(opts.out, { recursive: true });
  rmSync(join(opts.out, ERRORS_FILE), { force: true });

  const { counts, errors, finish } = batchTally(opts.out, list.length, opts.onProgress);

  // Encode everything first: bad input files fail here, locally, and the batch id covers exactly what is sent.
  const encodedList: { id: string; input: Record<string, string[]> }[] = [];
  const encodeErrors: [string, unknown][] = [];
  for (const item of list) {
    try {
      encodedList.push({ id: item.id, input: witnessInput(build.manifest, encodeInputs(build.manifest, item.load(), { raw: opts.raw, source: item.source })) });
    } catch (err) {
      encodeErrors.push([item.id, err]);
    }
  }
  const batchId = batchIdOf(manifestSha256, encodedList);
  opts.onProgress?.({ kind: 'start', total: list.length, workers: 0 });
  for (const [id, err] of encodeErrors) finish(id, 'failed', { error: (err as Error).message, code: err instanceof ZkmlError ? err.code : 'E_INPUT' });

  const pending = new Map<string, { id: string; input: Record<string, string[]> }>();
  for (const item of encodedList) {
    if (isCurrent(join(opts.out, item.id), provenance(build, item.input))) finish(item.id, 'skipped');
    else pending.set(jobIdOf(batchId, item.id), item);
  }

  const queue = openQueue(opts.queue);
  let events: QueueEvents | undefined;
  let enqueued = 0;
  try {
    await ensureReachable(queue, opts.queue);
    // Subscribed before anything is enqueued, so no completion can slip between enqueueing and listening. Made
    // only once Redis answers: closing a QueueEvents that never connected waits forever.
    if (!opts.detach) {
      events = new QueueEvents(QUEUE_NAME, { connection: redisConnection(opts.queue) });
      await events.waitUntilReady();
    }

    for (const [jobId, item] of pending) {
      const data: ProveJobData = { batchId, inputId: item.id, manifestSha256, input: item.input };
      // add() with an existing jobId is a no-op in BullMQ, so two submitters racing here still make one job.
      const existing = await queue.getJob(jobId);
      if (!existing) {
        await queue.add(item.id, data, { ...JOB_OPTIONS, jobId });
        enqueued++;
      } else if ((await existing.getState()) === 'failed') {
        // A resubmission is a request to try again; its earlier error is in the previous errors.jsonl.
        await existing.retry('failed');
        enqueued++;
      }
    }
    if (opts.detach) return summary(true);

    // Each job is looked at when an event names it and on a slow poll; `settle` handles a job once.
    const settle = async (jobId: string): Promise<void> => {
      const item = pending.get(jobId);
      if (!item) return;
      let job = await queue.getJob(jobId);
      const state = await job?.getState();
      // The job may end between the two reads: read it again once it is seen ended, so its result and
      // failure reason are the ones its final state carries.
      if (state === 'completed' || state === 'failed') job = await queue.getJob(jobId);
      if (!job) {
        pending.delete(jobId);
        finish(item.id, 'failed', { error: `job ${jobId} disappeared from the queue (removed by hand, or Redis lost its data)`, code: 'E_QUEUE' });
        return;
      }
      if ((state !== 'completed' && state !== 'failed') || !pending.has(jobId)) return;
      pending.delete(jobId);
      if (state === 'failed') return finish(item.id, 'failed', { error: jobError(job), code: 'E_PROVE' });
      try {
        const r = job.returnvalue as ProveJobResult;
        await writeJobResult(build, opts.out, item.id, item.input, r);
        finish(item.id, 'proven', { witnessMs: r.witnessMs, proveMs: r.proveMs });
      } catch (err) {
        finish(item.id, 'failed', { error: `proven, but writing the result failed: ${(err as Error).message}`, code: 'E_RESULT' });
      }
    };
    let chain = Promise.resolve();
    // Serialized: two events for one job must not both pass the `pending` check.
    const enqueueSettle = (jobId: string) => (chain = chain.then(() => settle(jobId)).catch(() => {}));
    await new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let stopped = false;
      const check = () => {
        if (pending.size > 0 || stopped) return;
        stopped = true;
        clearTimeout(timer);
        resolve();
      };
      events!.on('completed', ({ jobId }) => void enqueueSettle(jobId).then(check));
      events!.on('failed', ({ jobId }) => void enqueueSettle(jobId).then(check));
      const poll = async () => {
        for (const jobId of [...pending.keys()]) await enqueueSettle(jobId);
        check();
        if (!stopped) timer = setTimeout(poll, opts.pollMs ?? 2_000);
      };
      void poll();
    });
    return summary(false);
  } finally {
    await events?.close();
    await queue.close();
  }

  function summary(detached: boolean): SubmitSummary {
    return { batchId, out: opts.out, total: list.length, enqueued, ...counts, errors, detached, insecureSetup: build.insecureSetup, warnings: build.warnings, elapsedMs: performance.now() - started };
  }
}
