/**
 * `zkml prove --inputs`: many inputs through the worker pool, one result folder per input.
 *
 * Crash safety: a result is written into a staging folder (`.staging-<pid>-<id>-*`) and renamed to `<id>/` once
 * its three files are written, so `<id>/` is either complete or absent. A rerun skips complete results that are
 * current (same zkey, same encoded input, per output.json's provenance), proves the rest, and deletes staging
 * folders left by processes that no longer run.
 *
 * Concurrency: one run at a time per output folder, enforced by a lock file created with O_EXCL that holds the
 * owner's pid and host. A second run fails at once with E_BATCH_LOCKED; a lock whose process is gone (killed
 * run) is taken over. This is simpler than per-input claims and enough for the use (a CI job or a user, not a
 * fleet). Even if two runs did overlap, the rename of complete folders keeps every result whole.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { encodeInputs, readInputFile, witnessInput } from '../io/input.ts';
import { ZkmlError } from '../util/errors.ts';
import { createProverPool, poolWidth, type ProverPool } from '../../prover/pool.ts';
import { chooseThreads, readArtifacts, type ThreadMode } from '../../prover/worker.ts';
import { openBuildForProving, provenance, RESULT_FILES, resultReport, writeResult, type OutputFile, type Provenance, type ProvingBuild } from './prove.ts';
import type { ProverBackend } from './backend.ts';

export const ERRORS_FILE = 'errors.jsonl';
export const LOCK_FILE = '.zkml-prove.lock';
const STAGING_PREFIX = '.staging-';

export interface BatchError {
  id: string;
  error: string;
  code?: string;
}

export type BatchStatus = 'proven' | 'skipped' | 'failed';

export type BatchEvent =
  | { kind: 'start'; total: number; workers: number; warnings?: string[] }
  | { kind: 'input'; id: string; status: BatchStatus; done: number; total: number; error?: string; witnessMs?: number; proveMs?: number };

export interface BatchOptions {
  /** Output folder: one `<id>/` per input, plus errors.jsonl. */
  out: string;
  /** Pool width; default: one per core. Never more than the inputs; a warning above the core count. */
  workers?: number;
  raw?: boolean;
  /** snarkjs' threading in the workers; default: `chooseThreads()`. */
  threads?: ThreadMode;
  /** Groth16 prover in the workers: 'native' (default when built) or 'snarkjs'. */
  prover?: ProverBackend;
  onProgress?: (event: BatchEvent) => void;
}

export interface BatchSummary {
  out: string;
  total: number;
  proven: number;
  skipped: number;
  failed: number;
  errors: BatchError[];
  workers: number;
  threads: ThreadMode;
  insecureSetup: boolean;
  warnings: string[];
  elapsedMs: number;
}

interface BatchInput {
  id: string;
  /** File or `file:line`, for error messages. */
  source: string;
  load(): unknown;
}

/** Inputs in id order: `<name>` for `<name>.json` in a folder, `line-<n>` (1-based) for a JSON-lines file. */
export function listInputs(inputs: string): BatchInput[] {
  let isDir: boolean;
  try {
    isDir = statSync(inputs).isDirectory();
  } catch {
    throw new ZkmlError('no such file or folder: expected a folder of *.json files or a .jsonl file', 'E_INPUT_FILE', inputs);
  }
  if (isDir) {
    const names = readdirSync(inputs)
      .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    if (names.length === 0) throw new ZkmlError('no *.json input files in this folder', 'E_INPUT_FILE', inputs);
    return names.map((n) => ({ id: basename(n, '.json'), source: join(inputs, n), load: () => readInputFile(join(inputs, n)) }));
  }
  if (inputs.endsWith('.json')) throw new ZkmlError('--inputs takes a folder of *.json files or a .jsonl file; for one input file use --input', 'E_INPUT_FILE', inputs);
  const list: BatchInput[] = [];
  readFileSync(inputs, 'utf8')
    .split(/\r?\n/)
    .forEach((line, i) => {
      if (!line.trim()) return;
      const source = `${inputs}:${i + 1}`;
      list.push({
        id: `line-${i + 1}`,
        source,
        load: () => {
          try {
            return JSON.parse(line);
          } catch (err) {
            throw new ZkmlError(`not valid JSON (${(err as Error).message})`, 'E_INPUT_FILE', source);
          }
        },
      });
    });
  if (list.length === 0) throw new ZkmlError('no input lines in this JSON-lines file', 'E_INPUT_FILE', inputs);
  return list;
}

/**
 * The running account of a batch, shared by local and queued batches: counts by status, failures appended to
 * `<out>/errors.jsonl` as they happen, and one progress event per finished input.
 */
export function batchTally(out: string, total: number, onProgress?: (event: BatchEvent) => void) {
  const counts = { proven: 0, skipped: 0, failed: 0 };
  const errors: BatchError[] = [];
  let done = 0;
  const finish = (id: string, status: BatchStatus, extra: { error?: string; code?: string; witnessMs?: number; proveMs?: number } = {}) => {
    counts[status]++;
    if (status === 'failed') {
      const entry = { id, error: extra.error!, code: extra.code };
      errors.push(entry);
      appendFileSync(join(out, ERRORS_FILE), JSON.stringify(entry) + '\n');
    }
    const { code: _code, ...shown } = extra;
    onProgress?.({ kind: 'input', id, status, done: ++done, total, ...shown });
  };
  return { counts, errors, finish };
}

export function readBatchErrors(out: string): BatchError[] {
  const path = join(out, ERRORS_FILE);
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .flatMap((line, i) => {
      if (!line.trim()) return [];
      try {
        return [JSON.parse(line) as BatchError];
      } catch {
        throw new ZkmlError(`line ${i + 1} is not JSON: expected {"id": ..., "error": ...}`, 'E_PROOF_FORMAT', path);
      }
    });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
}

/** Takes the output folder's lock (see the file comment); returns its release. */
function acquireLock(out: string): () => void {
  const path = join(out, LOCK_FILE);
  const mine: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, JSON.stringify(mine) + '\n', { flag: 'wx' });
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder: LockInfo | undefined;
    try {
      holder = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      // Unreadable: its writer died between creating and filling it, unless it is doing so right now.
      if (Date.now() - statSync(path, { throwIfNoEntry: false })!.mtimeMs < 10_000) holder = { pid: -1, host: '?', startedAt: 'just now' };
    }
    if (holder && (holder.host !== mine.host || processAlive(holder.pid))) {
      throw new ZkmlError(`another zkml prove (pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}) is writing this folder: wait for it, use another -o, or delete ${LOCK_FILE} if that process is gone`, 'E_BATCH_LOCKED', out);
    }
    rmSync(path, { force: true });
  }
  throw new ZkmlError(`could not take ${LOCK_FILE}: another run keeps taking it`, 'E_BATCH_LOCKED', out);
}

/** Deletes staging folders whose process is gone (a killed run); those of a live process are left alone. */
function removeStaleStaging(out: string): void {
  for (const name of readdirSync(out)) {
    const pid = Number(/^\.staging-(\d+)-/.exec(name)?.[1]);
    if (pid && !processAlive(pid)) rmSync(join(out, name), { recursive: true, force: true });
  }
}

/** A result folder that is complete and was proven from this input with this zkey (local and queued batches). */
export function isCurrent(folder: string, expected: Provenance): boolean {
  if (!Object.values(RESULT_FILES).every((f) => existsSync(join(folder, f)))) return false;
  try {
    const { provenance: p } = JSON.parse(readFileSync(join(folder, RESULT_FILES.output), 'utf8')) as OutputFile;
    return p?.zkeySha256 === expected.zkeySha256 && p?.inputSha256 === expected.inputSha256;
  } catch {
    return false;
  }
}

/** Moves a fully written staging folder to `<id>/`, replacing a stale result there (absent in between, never partial). */
export function commitResult(staging: string, folder: string): void {
  let old: string | undefined;
  if (existsSync(folder)) {
    old = `${staging}-old`;
    renameSync(folder, old);
  }
  renameSync(staging, folder);
  if (old) rmSync(old, { recursive: true, force: true });
}

export async function proveBatch(dir: string, inputs: string, opts: BatchOptions): Promise<BatchSummary> {
  const started = performance.now();
  const build = openBuildForProving(dir);
  // Stale or foreign artifacts: one clear error now, not one per input from the workers (which check again).
  readArtifacts(build.ref);
  const list = listInputs(inputs);
  const { workers, warnings: poolWarnings } = poolWidth(opts.workers, list.length);
  const threads = opts.threads ?? chooseThreads(workers, build.manifest.constraints);
  mkdirSync(opts.out, { recursive: true });
  const release = acquireLock(opts.out);
  let pool: ProverPool | undefined;
  const { counts, errors, finish } = batchTally(opts.out, list.length, opts.onProgress);
  try {
    removeStaleStaging(opts.out);
    // errors.jsonl describes the latest run: inputs that failed before are retried now.
    rmSync(join(opts.out, ERRORS_FILE), { force: true });
    opts.onProgress?.({ kind: 'start', total: list.length, workers, ...(poolWarnings.length ? { warnings: poolWarnings } : {}) });

    const fail = (id: string, err: unknown) =>
      finish(id, 'failed', { error: (err as Error).message, code: err instanceof ZkmlError ? err.code : 'E_PROVE' });

    const inFlight = new Set<Promise<void>>();
    for (const item of list) {
      let encoded: Record<string, string[]>;
      try {
        encoded = witnessInput(build.manifest, encodeInputs(build.manifest, item.load(), { raw: opts.raw, source: item.source }));
      } catch (err) {
        fail(item.id, err);
        continue;
      }
      const prov = provenance(build, encoded);
      if (isCurrent(join(opts.out, item.id), prov)) {
        finish(item.id, 'skipped');
        continue;
      }
      pool ??= createProverPool({ workers, threads, prover: opts.prover });
      // Keep a few tasks queued per worker, not the whole batch in memory.
      while (inFlight.size >= workers * 2) await Promise.race(inFlight);
      const task = proveOne(pool, build, item.id, encoded, opts.out)
        .then((r) => finish(item.id, 'proven', r), (err) => fail(item.id, err))
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
    }
    await Promise.all(inFlight);
  } finally {
    await pool?.destroy();
    release();
  }
  return {
    out: opts.out,
    total: list.length,
    ...counts,
    errors,
    workers,
    threads,
    insecureSetup: build.insecureSetup,
    warnings: [...build.warnings, ...poolWarnings],
    elapsedMs: performance.now() - started,
  };
}

async function proveOne(pool: ProverPool, build: ProvingBuild, id: string, encoded: Record<string, string[]>, out: string) {
  const result = await pool.proveInPool(build.ref, encoded);
  const report = await resultReport(build, encoded, result.publicSignals, result.reports);
  // Not mkdtemp: its 0700 mode would carry over to the result folder.
  const staging = join(out, `${STAGING_PREFIX}${process.pid}-${id}-${randomBytes(4).toString('hex')}`);
  mkdirSync(staging);
  try {
    writeResult(staging, result.proof, result.publicSignals, report);
    commitResult(staging, join(out, id));
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  return { witnessMs: result.witnessMs, proveMs: result.proveMs };
}
