import { InvalidArgumentError, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ZkmlError } from '../../util/errors.ts';
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
  rpcUrl?: string;
  settleKeyFile?: string;
  registry?: string;
  json?: boolean;
}

/** The settlement key: env ZKML_SETTLE_KEY or the file's first line; never an argument (shell history, ps). */
function settleKey(o: ServeCliOptions): string | undefined {
  const env = process.env.ZKML_SETTLE_KEY?.trim() || undefined;
  if (env && o.settleKeyFile) throw new ZkmlError('give the settlement key either in ZKML_SETTLE_KEY or with --settle-key-file, not both', 'E_USAGE');
  let key = env;
  if (o.settleKeyFile) {
    try {
      key = readFileSync(o.settleKeyFile, 'utf8').split('\n')[0].trim();
    } catch (err) {
      throw new ZkmlError(`cannot read the settlement key file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'E_USAGE', o.settleKeyFile);
    }
  }
  if (key && !o.rpcUrl) throw new ZkmlError('a settlement key needs --rpc-url: the chain to settle on', 'E_USAGE');
  if (o.rpcUrl && !key) throw new ZkmlError('--rpc-url settles proven inferences on chain and needs the key that pays: set ZKML_SETTLE_KEY or give --settle-key-file FILE (never the key itself on the command line)', 'E_USAGE');
  if (o.registry && !o.rpcUrl) throw new ZkmlError('--registry needs --rpc-url', 'E_USAGE');
  return key;
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
    .option('--rpc-url <url>', 'settle every proven inference on this chain: submitted to an InferenceRegistry, the transaction recorded (key: env ZKML_SETTLE_KEY or --settle-key-file)')
    .option('--settle-key-file <file>', 'file holding the private key (0x + 64 hex digits) that signs and pays for settlements')
    .option('--registry <address>', 'settle into this InferenceRegistry (default: one deployed by the service at first need); its owner must be the key\'s account')
    .option('--rate-limit <n>', 'requests per minute per client address (default 600)', intIn(1, 1_000_000))
    .option('--json', 'JSON lines on stdout')
    .action(async (o: ServeCliOptions) => {
      const { serve } = await import('../../serve/index.ts');
      const r = makeReporter(Boolean(o.json));
      const privateKey = settleKey(o);
      const server = await serve({
        dataDir: resolve(o.data),
        host: o.host,
        port: o.port,
        workers: o.workers,
        ptau: o.ptau,
        rateLimit: o.rateLimit,
        queue: o.queue,
        settle: o.rpcUrl && privateKey ? { rpcUrl: o.rpcUrl, privateKey, registry: o.registry } : undefined,
        log: (message) => r.event('log', { message }, message),
      });
      if (server.generatedKey) {
        r.event('api-key', { apiKey: server.generatedKey }, `API key (shown once, stored hashed; set ZKML_API_KEY to choose your own):\n  ${server.generatedKey}`);
      }
      if (!o.ptau) r.warn('model setups use the development ptau: INSECURE, for development only (--ptau for a ceremony file)');
      if (o.rpcUrl) r.info(`proven inferences are settled on chain at ${new URL(o.rpcUrl).origin}${o.registry ? ` in registry ${o.registry}` : ''}`);
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
