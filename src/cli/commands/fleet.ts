import { InvalidArgumentError, type Command } from 'commander';
import { makeReporter } from '../output.ts';

/** `zkml worker` and `zkml status`: the fleet's commands (src/fleet/, docs/fleet.md). */

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

export function register(program: Command): void {
  program
    .command('worker')
    .description('prove jobs from a Redis queue (filled by `zkml prove --queue`) in a local pool, until SIGTERM')
    .requiredOption('--queue <url>', 'Redis URL: redis://host:port/db, or rediss:// for TLS')
    .option('--workers <n>', 'proving threads, and jobs taken at once (default: 1)', positiveInt)
    .option('--builds <folder>', 'folder holding the build folders, found by manifest hash (default: the working directory)')
    .option('--json', 'JSON lines on stdout')
    .action(async (o: { queue: string; workers?: number; builds?: string; json?: boolean }) => {
      const { startFleetWorker } = await import('../../fleet/worker.ts');
      const r = makeReporter(Boolean(o.json));
      const worker = await startFleetWorker({
        queue: o.queue,
        workers: o.workers,
        builds: o.builds,
        onEvent: (e) => r.event('job', e, `${e.kind} ${e.jobId} (attempt ${e.attempt})${e.ms !== undefined ? ` in ${e.ms} ms` : ''}${e.error ? `: ${e.error}` : ''}`),
      });
      for (const w of worker.warnings) r.warn(w);
      r.event('worker', { pid: process.pid, workers: worker.workers }, `worker ${process.pid} ready (${worker.workers} proving thread${worker.workers === 1 ? '' : 's'}); SIGTERM to stop`);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          r.info(`${signal}: finishing running jobs, then stopping`);
          void worker.close().then(resolve);
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      r.event('stopped', { pid: process.pid }, `worker ${process.pid} stopped`);
    });

  program
    .command('status <batch>')
    .description('counts and errors of a batch submitted with `zkml prove --queue`')
    .requiredOption('--queue <url>', 'Redis URL: redis://host:port/db, or rediss:// for TLS')
    .option('--json', 'JSON output')
    .action(async (batch: string, o: { queue: string; json?: boolean }) => {
      const { batchStatus } = await import('../../fleet/status.ts');
      const r = makeReporter(Boolean(o.json));
      const s = await batchStatus(o.queue, batch);
      const c = s.counts;
      r.event(
        'status',
        { ...s },
        [`batch ${s.batchId}: ${s.total} jobs: ${c.completed} completed, ${c.failed} failed, ${c.active} active, ${c.waiting} waiting, ${c.delayed} delayed (retry backoff)`, ...s.failed.map((f) => `failed: ${f.inputId} after ${f.attempts} attempts: ${f.error}`)].join('\n'),
      );
      if (c.failed > 0) process.exitCode = 1;
    });
}
