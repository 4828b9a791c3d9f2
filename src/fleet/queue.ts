/**
 * What the submitter (`zkml prove --queue`), the workers (`zkml worker`) and `zkml status` share: the Redis
 * connection, the queue's name, job ids, the job payload and the retry/stall settings. Only encoded inputs and
 * results travel through Redis; the build folder (circuit, zkey) is on each worker's disk, named by the sha256
 * of its manifest.json, so a worker proves with artifacts it has checked itself (see prover/worker.ts).
 */
import { Queue, type ConnectionOptions, type Job, type JobsOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { createHash } from 'node:crypto';
import type { Groth16Proof } from 'snarkjs';
import { ZkmlError } from '../util/errors.ts';

/** One queue for every batch: workers need not know batch ids; a batch is a prefix of its jobs' ids. */
export const QUEUE_NAME = 'zkml-prove';

export interface ProveJobData {
  batchId: string;
  inputId: string;
  /** sha256 of the build's manifest.json, which pins the model, the circuit and the zkey by their hashes. */
  manifestSha256: string;
  /** The circuit inputs as `witnessInput()` makes them (decimal strings). */
  input: Record<string, string[]>;
}

export interface ProveJobResult {
  proof: Groth16Proof;
  publicSignals: string[];
  witnessMs: number;
  proveMs: number;
  /** `host:pid` of the worker process that proved it, for logs and the benchmark. */
  worker: string;
}

/**
 * Parses `redis://[user:pass@]host:port/db` or `rediss://…` (TLS). Checked here so a typo is one clear error,
 * not ioredis retrying a bad host forever.
 */
export function redisConnection(url: string): ConnectionOptions & RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ZkmlError(`not a URL: expected redis://host:port/db or rediss://host:port/db`, 'E_USAGE', url);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new ZkmlError(`unsupported scheme ${u.protocol} (expected redis:// or rediss://)`, 'E_USAGE', url);
  const db = u.pathname.replace(/^\//, '');
  if (db && !/^\d+$/.test(db)) throw new ZkmlError(`the path must be a database number, got "${db}"`, 'E_USAGE', url);
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 6379),
    db: db ? Number(db) : 0,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    // BullMQ's workers block on Redis; ioredis must not give up on those commands (BullMQ requires null).
    maxRetriesPerRequest: null,
  };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * A batch id from what the batch proves: the same build and the same encoded inputs give the same id, so
 * submitting again attaches to the existing jobs instead of proving everything twice.
 */
export function batchIdOf(manifestSha256: string, inputs: { id: string; input: Record<string, string[]> }[]): string {
  const h = createHash('sha256').update(manifestSha256);
  for (const i of inputs) h.update(`\n${i.id}\n${sha256(JSON.stringify(i.input))}`);
  return h.digest('hex').slice(0, 16);
}

/** BullMQ refuses ':' in custom ids (it separates key parts), so the separator is '.'. */
export function jobIdOf(batchId: string, inputId: string): string {
  return `${batchId}.${inputId}`;
}

const envInt = (name: string, fallback: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new ZkmlError(`${name} must be a positive integer (milliseconds or a count), got "${v}"`, 'E_USAGE');
  return n;
};

/**
 * Lock and stall timing. A worker renews its lock on a job every lockDuration/2; when a worker dies (SIGKILL,
 * power loss) the lock lapses and another worker's stall check (every stalledInterval) puts the job back in the
 * queue. The defaults suit proofs of seconds to minutes; tests shorten them through the environment.
 */
export function stallSettings() {
  return {
    lockDuration: envInt('ZKML_FLEET_LOCK_MS', 30_000),
    stalledInterval: envInt('ZKML_FLEET_STALLED_MS', 30_000),
    // A job may be orphaned by a dying worker twice before it counts as failing (a crash loop, not bad luck).
    maxStalledCount: envInt('ZKML_FLEET_MAX_STALLED', 2),
  };
}

export const JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: envInt('ZKML_FLEET_BACKOFF_MS', 1_000) },
  // Kept for a week so `zkml status` can report a batch and a resubmission can collect finished results.
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

export function openQueue(url: string): Queue<ProveJobData, ProveJobResult> {
  return new Queue<ProveJobData, ProveJobResult>(QUEUE_NAME, { connection: redisConnection(url) });
}

/** The reason a connection attempt failed, as short as the system says it: ECONNREFUSED, ENOTFOUND, WRONGPASS… */
function failureOf(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e.code && /^E[A-Z]+$/.test(e.code)) return e.code;
  return (e.message ?? String(err)).split('\n')[0];
}

/**
 * Connects to Redis once and asks it for a PING, before BullMQ opens its own connections: those retry a refused
 * connection forever (ioredis' default), and BullMQ reports every attempt, so a wrong URL would cost the
 * connection timeout and one ECONNREFUSED per retry. Here a refusal, an unknown host or a wrong password fail
 * at the first answer, with one message (E_QUEUE_UNREACHABLE); a host that never answers fails after
 * `timeoutMs`. Once Redis has answered, a later outage is retried as usual.
 */
export async function probeRedis(url: string, timeoutMs = envInt('ZKML_FLEET_CONNECT_MS', 10_000)): Promise<void> {
  const options = redisConnection(url);
  const where = `${options.host}:${options.port}`;
  const client = new Redis({ ...options, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: timeoutMs });
  // connect() only says "Connection is closed"; the first 'error' event says why (and without a listener it
  // would crash the process).
  let cause: unknown;
  client.on('error', (err) => (cause ??= err));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${timeoutMs / 1000} s`), { code: undefined })), timeoutMs);
  });
  try {
    await Promise.race([client.connect().then(() => client.ping()), timeout]);
  } catch (err) {
    const why = failureOf(cause ?? err);
    throw new ZkmlError(
      /^E[A-Z]+$/.test(why) || !cause ? `cannot reach Redis at ${where} (${why}): is redis-server running there, and the URL right?` : `Redis at ${where} refused the connection (${why}): check the user, password and database in the URL`,
      'E_QUEUE_UNREACHABLE',
      url,
    );
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

/** Fails fast with a clear message when Redis is not there (ioredis alone would retry silently forever). */
export async function ensureReachable(client: { waitUntilReady(): Promise<unknown> }, url: string, timeoutMs = envInt('ZKML_FLEET_CONNECT_MS', 10_000)): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ZkmlError(`cannot reach Redis within ${timeoutMs / 1000} s: is redis-server running and the URL right?`, 'E_QUEUE', url)), timeoutMs);
  });
  try {
    await Promise.race([client.waitUntilReady(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The error a failed job ended with, as the worker reported it (`E_CODE: message`). */
export function jobError(job: Job): string {
  return job.failedReason || job.stacktrace?.at(-1)?.split('\n')[0] || 'failed without a reason';
}
