/**
 * `zkml status --queue URL <batch>`: what the fleet has done with one batch, read from Redis. A batch is the set
 * of jobs whose id starts with `<batch>.` (queue.ts: jobIdOf), so this scans the queue's job lists; fine for
 * the thousands of jobs a week of batches keeps, not meant for millions.
 */
import type { JobType } from 'bullmq';
import { ZkmlError } from '../util/errors.ts';
import { ensureReachable, jobError, openQueue, probeRedis } from './queue.ts';

export interface BatchStatusReport {
  batchId: string;
  total: number;
  counts: { waiting: number; active: number; delayed: number; completed: number; failed: number };
  failed: { inputId: string; jobId: string; attempts: number; error: string }[];
}

const STATES: (keyof BatchStatusReport['counts'])[] = ['waiting', 'active', 'delayed', 'completed', 'failed'];

export async function batchStatus(url: string, batchId: string): Promise<BatchStatusReport> {
  if (!/^[0-9a-f]{16}$/.test(batchId)) throw new ZkmlError('a batch id is 16 hex digits, as `zkml prove --queue` prints it', 'E_USAGE', batchId);
  await probeRedis(url);
  const queue = openQueue(url);
  try {
    await ensureReachable(queue, url);
    const report: BatchStatusReport = { batchId, total: 0, counts: { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 }, failed: [] };
    for (const state of STATES) {
      // 'waiting' covers the jobs BullMQ holds back for priority too.
      const types: JobType[] = state === 'waiting' ? ['waiting', 'prioritized', 'waiting-children'] : [state];
      for (const job of await queue.getJobs(types)) {
        if (!job?.id?.startsWith(`${batchId}.`)) continue;
        report.counts[state]++;
        report.total++;
        if (state === 'failed') report.failed.push({ inputId: job.data.inputId, jobId: job.id, attempts: job.attemptsMade, error: jobError(job) });
      }
    }
    if (report.total === 0) throw new ZkmlError('no jobs of this batch in the queue (wrong id or Redis, or older than a week and removed)', 'E_NO_BATCH', batchId);
    return report;
  } finally {
    await queue.close();
  }
}
