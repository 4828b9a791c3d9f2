/**
 * `zkml serve` as a library call: opens (or creates) the data folder's store, the API key and the job runner,
 * resumes every job the last process left unfinished, and listens. `close()` stops listening, lets running jobs
 * finish, and closes the store.
 *
 *   const server = await serve({ dataDir: 'data', port: 0 });
 *   console.log(server.url, server.generatedKey);
 *   await server.close();
 */
import type { FastifyInstance } from 'fastify';
import { apiKey } from './auth.ts';
import { buildApp } from './app.ts';
import { Jobs, type Prover } from './jobs.ts';
import { Store } from './store.ts';
import { QueueProofs } from './queue.ts';
import { Settler, type SettleOptions } from './settle.ts';

export interface ServeOptions {
  dataDir: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** The API key; default: ZKML_API_KEY, else the stored hash of one generated at the first start. */
  apiKey?: string;
  /** Proving workers (default: one per core). */
  workers?: number;
  /** A ceremony ptau for setups (default: the development ptau, INSECURE). */
  ptau?: string;
  bodyLimit?: number;
  modelLimit?: number;
  /** Requests per minute per client address. */
  rateLimit?: number;
  log?: (message: string) => void;
  /** A Redis URL (redis://host:port/db): proofs by `zkml worker` processes through BullMQ, not the local pool. */
  queue?: string;
  /** Replaces the prover pool (tests). */
  prover?: Prover;
  /** Submit every proven inference to an InferenceRegistry on this chain (src/serve/settle.ts). */
  settle?: SettleOptions;
}

export interface Server {
  url: string;
  port: number;
  app: FastifyInstance;
  store: Store;
  jobs: Jobs;
  /** The API key generated at this start (first start without ZKML_API_KEY): show it once, it is not stored. */
  generatedKey?: string;
  /** Jobs found unfinished in the store and queued again. */
  resumed: number;
  /** On-chain settlement, with `settle`. */
  settler?: Settler;
  close(): Promise<void>;
}

export async function serve(opts: ServeOptions): Promise<Server> {
  const store = new Store(opts.dataDir);
  const key = apiKey(store, opts.apiKey ?? process.env.ZKML_API_KEY);
  let jobs: Jobs | undefined;
  const settler = opts.settle ? new Settler(store, opts.settle, { log: opts.log, changed: (id) => jobs?.emit('inference', id) }) : undefined;
  jobs = new Jobs(store, { workers: opts.workers, ptau: opts.ptau, prover: opts.prover, log: opts.log, settler });
  let app: FastifyInstance;
  try {
    if (opts.queue) jobs.useQueue(await QueueProofs.open({ url: opts.queue, store, record: (job, outcome) => jobs!.record(job, outcome), changed: (id) => jobs!.emit('inference', id), log: opts.log }));
    app = await buildApp({ store, jobs, key, bodyLimit: opts.bodyLimit, modelLimit: opts.modelLimit, rateLimit: opts.rateLimit });
    await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 8080 });
  } catch (err) {
    await jobs.close();
    await settler?.close();
    store.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 8080);
  const host = opts.host ?? '127.0.0.1';
  const resumed = jobs.resume();
  settler?.resume();
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    app,
    store,
    jobs,
    generatedKey: key.generated,
    resumed,
    settler,
    close() {
      closing ??= (async () => {
        await app.close();
        await jobs!.close();
        await settler?.close();
        store.close();
      })();
      return closing;
    },
  };
}

export { buildApp, modelId } from './app.ts';
export { Store } from './store.ts';
export { Jobs } from './jobs.ts';
