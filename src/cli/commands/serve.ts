import { InvalidArgumentError, type Command } from 'commander';
import { resolve } from 'node:path';
import { makeReporter } from '../output.ts';

/** `zkml serve`: the HTTP service (src/serve/, docs/serve.md); this file only parses options and prints. */

const intIn = (min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
  return n;
};

interface ServeCliOptions {
  port: number;
  host: string;
  data: string;
  workers?: number;
  ptau?: string;
  rateLimit?: number;
  queue?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('verifiable inference over HTTP: hosted models, outputs at once, Groth16 proofs behind them (docs/serve.md)')
    .option('--port <n>', 'TCP port (0: any free one)', intIn(0, 65535), 8080)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--data <dir>', 'data folder: the SQLite store and the artifacts (created if missing)', 'zkml-data')
    .option('--workers <n>', 'proving worker threads (default: one per core)', intIn(1, 1024))
    .option('--ptau <file>', 'a ceremony ptau for model setups (default: the development ptau, INSECURE)')
    .option('--queue <url>', 'Redis URL (redis://host:port/db): proofs by `zkml worker --builds <data>/models` processes through BullMQ (docs/serve.md)')
    .option('--rate-limit <n>', 'requests per minute per client address (default 600)', intIn(1, 1_000_000))
    .option('--json', 'JSON lines on stdout')
    .action(async (o: ServeCliOptions) => {
      const { serve } = await import('../../serve/index.ts');
      const r = makeReporter(Boolean(o.json));
      const server = await serve({
        dataDir: resolve(o.data),
        host: o.host,
        port: o.port,
        workers: o.workers,
        ptau: o.ptau,
        rateLimit: o.rateLimit,
        queue: o.queue,
        log: (message) => r.event('log', { message }, message),
      });
      if (server.generatedKey) {
        r.event('api-key', { apiKey: server.generatedKey }, `API key (shown once, stored hashed; set ZKML_API_KEY to choose your own):\n  ${server.generatedKey}`);
      }
      if (!o.ptau) r.warn('model setups use the development ptau: INSECURE, for development only (--ptau for a ceremony file)');
      if (o.queue) r.info(`proofs go to the queue ${o.queue}: start workers with  zkml worker --queue ${o.queue} --builds ${resolve(o.data, 'models')}`);
      r.event('listening', { url: server.url, port: server.port, data: resolve(o.data), resumed: server.resumed }, `listening on ${server.url} (data ${resolve(o.data)}${server.resumed ? `, ${server.resumed} unfinished job(s) resumed` : ''})`);
      await new Promise<void>((done) => {
        const stop = (signal: string) => {
          r.info(`${signal}: finishing running jobs, then stopping`);
          void server.close().then(done);
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      r.event('stopped', { pid: process.pid }, 'stopped');
    });
}
