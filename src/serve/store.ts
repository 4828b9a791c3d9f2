/**
 * The service's durable state: one SQLite database (better-sqlite3, WAL) under the data folder for models,
 * inferences and jobs, and the artifacts on disk beside it (models/<id>/model.onnx and models/<id>/build/).
 * Every write is a single statement or a transaction, and every artifact is written to a temporary name and
 * renamed into place, so a process killed at any point leaves either the old state or the new one.
 *
 * A job's payload (the private input of a proof job) lives only in the jobs table, which no endpoint reads, and
 * is deleted when the job ends.
 */
import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ZkmlError } from '../util/errors.ts';

export type ModelStatus = 'queued' | 'building' | 'ready' | 'failed';
export type InferenceStatus = 'unproven' | 'proving' | 'proven' | 'failed';
export type JobKind = 'build' | 'prove';
export type JobStatus = 'queued' | 'running' | 'done' | 'failed';

export interface ModelRow {
  id: string;
  status: ModelStatus;
  options: Record<string, unknown>;
  modelSha256: string;
  error: string | null;
  created: number;
}

/**
 * An inference's on-chain settlement (`zkml serve --rpc-url`): `pending` until a transaction is sent,
 * `submitted` with its hash until mined, then `settled` (recorded in the InferenceRegistry) or `failed` (with
 * the error; tried again at the next start).
 */
export type SettlementStatus = 'pending' | 'submitted' | 'settled' | 'failed';

export interface Settlement {
  status: SettlementStatus;
  txHash: string | null;
  error?: string;
}

export interface InferenceRow {
  id: string;
  modelId: string;
  status: InferenceStatus;
  /** The decoded output served (unproven at first; replaced by the proof's own once proven). */
  output: unknown;
  /** The public signals the exact integer executor computed for this input: the proof must have these. */
  expectedSignals: string[];
  proof: unknown;
  publicSignals: string[] | null;
  error: string | null;
  created: number;
  /** Null when the server settles nothing on chain (no --rpc-url). */
  settlement: Settlement | null;
}

export interface JobRow {
  id: string;
  kind: JobKind;
  target: string;
  status: JobStatus;
  payload: unknown;
  attempts: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS models (
  id TEXT PRIMARY KEY, status TEXT NOT NULL, options TEXT NOT NULL, model_sha256 TEXT NOT NULL,
  error TEXT, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS inferences (
  id TEXT PRIMARY KEY, model_id TEXT NOT NULL REFERENCES models(id), status TEXT NOT NULL, output TEXT,
  expected_signals TEXT NOT NULL, proof TEXT, public_signals TEXT, error TEXT, created INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS inferences_created ON inferences(created);
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, target TEXT NOT NULL, status TEXT NOT NULL, payload TEXT,
  attempts INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

/** Columns added after the first release of the store: added to an existing database when missing. */
const ADDED_COLUMNS: [table: string, column: string, type: string][] = [
  ['inferences', 'settle_status', 'TEXT'],
  ['inferences', 'settle_tx', 'TEXT'],
  ['inferences', 'settle_error', 'TEXT'],
];

const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
const parse = (s: string | null) => (s === null ? null : JSON.parse(s));

type Raw = Record<string, unknown>;

function modelRow(r: Raw): ModelRow {
  return { id: r.id as string, status: r.status as ModelStatus, options: parse(r.options as string), modelSha256: r.model_sha256 as string, error: r.error as string | null, created: r.created as number };
}

function inferenceRow(r: Raw): InferenceRow {
  return {
    id: r.id as string,
    modelId: r.model_id as string,
    status: r.status as InferenceStatus,
    output: parse(r.output as string | null),
    expectedSignals: parse(r.expected_signals as string),
    proof: parse(r.proof as string | null),
    publicSignals: parse(r.public_signals as string | null),
    error: r.error as string | null,
    created: r.created as number,
    settlement: r.settle_status ? { status: r.settle_status as SettlementStatus, txHash: (r.settle_tx as string | null) ?? null, ...(r.settle_error ? { error: r.settle_error as string } : {}) } : null,
  };
}

function jobRow(r: Raw): JobRow {
  return { id: r.id as string, kind: r.kind as JobKind, target: r.target as string, status: r.status as JobStatus, payload: parse(r.payload as string | null), attempts: r.attempts as number };
}

export class Store {
  readonly db: Database.Database;

  constructor(readonly dataDir: string) {
    const file = join(dataDir, 'zkml.db');
    const fresh = !existsSync(file);
    try {
      mkdirSync(join(dataDir, 'models'), { recursive: true });
      this.db = new Database(file);
    } catch (err) {
      throw new ZkmlError(`cannot open the data folder's database (${(err as Error).message}): give --data a writable folder`, 'E_DATA_DIR', dataDir);
    }
    // The database holds private inputs of pending proof jobs and the API key's hash: the owner's only.
    if (fresh) chmodSync(file, 0o600);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    // A deleted payload (a private input) is overwritten with zeros, not left in a free page.
    this.db.pragma('secure_delete = ON');
    this.db.exec(SCHEMA);
    for (const [table, column, type] of ADDED_COLUMNS) {
      const columns = (this.db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
      if (columns.includes(column)) continue;
      try {
        this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
      } catch (err) {
        // Another server opening the same store at the same moment added it first.
        if (!/duplicate column name/i.test((err as Error).message)) throw err;
      }
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  modelDir(id: string): string {
    return join(this.dataDir, 'models', id);
  }

  buildDir(id: string): string {
    return join(this.modelDir(id), 'build');
  }

  modelFile(id: string): string {
    return join(this.modelDir(id), 'model.onnx');
  }

  getMeta(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  /** Inserts a model and its build job unless the id exists; returns whether it was new. */
  addModel(m: Omit<ModelRow, 'created' | 'error' | 'status'>, jobId: string): boolean {
    return this.db.transaction(() => {
      const inserted = this.db
        .prepare("INSERT OR IGNORE INTO models (id, status, options, model_sha256, created) VALUES (?, 'queued', ?, ?, ?)")
        .run(m.id, json(m.options), m.modelSha256, Date.now()).changes;
      if (inserted) this.insertJob(jobId, 'build', m.id, null);
      return inserted === 1;
    })();
  }

  getModel(id: string): ModelRow | undefined {
    const r = this.db.prepare('SELECT * FROM models WHERE id = ?').get(id) as Raw | undefined;
    return r && modelRow(r);
  }

  listModels(): ModelRow[] {
    return (this.db.prepare('SELECT * FROM models ORDER BY created').all() as Raw[]).map(modelRow);
  }

  setModelStatus(id: string, status: ModelStatus, error: string | null = null): void {
    this.db.prepare('UPDATE models SET status = ?, error = ? WHERE id = ?').run(status, error, id);
  }

  /** Inserts an inference and its proof job (with the private payload) in one transaction. */
  addInference(i: Pick<InferenceRow, 'id' | 'modelId' | 'output' | 'expectedSignals'>, jobId: string, payload: unknown): void {
    this.db.transaction(() => {
      this.db
        .prepare("INSERT INTO inferences (id, model_id, status, output, expected_signals, created) VALUES (?, ?, 'unproven', ?, ?, ?)")
        .run(i.id, i.modelId, json(i.output), json(i.expectedSignals), Date.now());
      this.insertJob(jobId, 'prove', i.id, payload);
    })();
  }

  getInference(id: string): InferenceRow | undefined {
    const r = this.db.prepare('SELECT * FROM inferences WHERE id = ?').get(id) as Raw | undefined;
    return r && inferenceRow(r);
  }

  listInferences(limit: number, modelId?: string): InferenceRow[] {
    const rows = modelId
      ? this.db.prepare('SELECT * FROM inferences WHERE model_id = ? ORDER BY created DESC LIMIT ?').all(modelId, limit)
      : this.db.prepare('SELECT * FROM inferences ORDER BY created DESC LIMIT ?').all(limit);
    return (rows as Raw[]).map(inferenceRow);
  }

  setInferenceStatus(id: string, status: InferenceStatus, error: string | null = null): void {
    this.db.prepare('UPDATE inferences SET status = ?, error = ? WHERE id = ?').run(status, error, id);
  }

  /**
   * Records a proof and ends its job in one transaction: a proven inference never has a pending job. With
   * `settle`, its settlement becomes pending in the same transaction, so a crash cannot leave a proven
   * inference that is never submitted on chain.
   */
  setProven(id: string, jobId: string, output: unknown, proof: unknown, publicSignals: string[], settle = false): void {
    this.db.transaction(() => {
      this.db.prepare("UPDATE inferences SET status = 'proven', output = ?, proof = ?, public_signals = ?, error = NULL WHERE id = ?").run(json(output), json(proof), json(publicSignals), id);
      if (settle) this.db.prepare("UPDATE inferences SET settle_status = 'pending', settle_tx = NULL, settle_error = NULL WHERE id = ? AND settle_status IS NULL").run(id);
      this.finishJob(jobId, 'done');
    })();
  }

  /** Proven inferences whose settlement has not succeeded (pending, submitted, or failed last time). */
  unsettled(): string[] {
    return (this.db.prepare("SELECT id FROM inferences WHERE status = 'proven' AND settle_status IN ('pending', 'submitted', 'failed') ORDER BY created").all() as { id: string }[]).map((r) => r.id);
  }

  setSettlement(id: string, status: SettlementStatus, txHash: string | null, error: string | null = null): void {
    this.db.prepare('UPDATE inferences SET settle_status = ?, settle_tx = ?, settle_error = ? WHERE id = ?').run(status, txHash, error, id);
  }

  private insertJob(id: string, kind: JobKind, target: string, payload: unknown): void {
    this.db.prepare("INSERT INTO jobs (id, kind, target, status, payload, updated) VALUES (?, ?, ?, 'queued', ?, ?)").run(id, kind, target, json(payload), Date.now());
  }

  /** Jobs not finished, oldest first: those marked running were interrupted (a restart) and run again. */
  pendingJobs(): JobRow[] {
    return (this.db.prepare("SELECT * FROM jobs WHERE status IN ('queued', 'running') ORDER BY updated, rowid").all() as Raw[]).map(jobRow);
  }

  getJob(id: string): JobRow | undefined {
    const r = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as Raw | undefined;
    return r && jobRow(r);
  }

  startJob(id: string): void {
    this.db.prepare("UPDATE jobs SET status = 'running', attempts = attempts + 1, updated = ? WHERE id = ?").run(Date.now(), id);
  }

  /** Ends a job and deletes its payload (a private input is kept no longer than its proof needs it). */
  finishJob(id: string, status: 'done' | 'failed'): void {
    this.db.prepare('UPDATE jobs SET status = ?, payload = NULL, updated = ? WHERE id = ?').run(status, Date.now(), id);
  }
}
