/**
 * `zkml/client`: a typed client of `zkml serve` (docs/serve.md), on the global fetch alone (Node 20+, browsers,
 * workers): it imports nothing of the toolchain at run time (its types only).
 *
 *   import { Client } from 'zkml/client';
 *   const zk = new Client('http://127.0.0.1:8080', { apiKey: process.env.ZKML_API_KEY });
 *   const { output, proof } = await zk.infer(modelId, { input_data: [[5.1, 3.5, 1.4, 0.2]] });
 *   const proven = await proof;                     // the inference, proven (rejects if its proof failed)
 *   const { valid } = await zk.verify(modelId, proven.proof!, proven.publicSignals!);
 */

import type { TensorReport } from '../prove/prove.ts';
import { readEvents } from './events.ts';

export type { TensorReport };
export type ModelStatus = 'queued' | 'building' | 'ready' | 'failed';
export type InferenceStatus = 'unproven' | 'proving' | 'proven' | 'failed';
export type SettlementStatus = 'pending' | 'submitted' | 'settled' | 'failed';

/** The InferenceRegistry transaction of a proven inference (a server started with --rpc-url). */
export interface Settlement {
  status: SettlementStatus;
  txHash: string | null;
  error?: string;
}

export interface Groth16Proof {
  pi_a: string[];
  pi_b: string[][];
  pi_c: string[];
  protocol?: string;
  curve?: string;
}

export interface InferenceOutput {
  outputs: TensorReport[];
  publicInputs: TensorReport[];
  digests: { inputDigest?: string; outputDigest?: string; commitment?: string };
  insecureSetup: boolean;
}

export interface Inference {
  id: string;
  modelId: string;
  status: InferenceStatus;
  proven: boolean;
  output: InferenceOutput | null;
  proof: Groth16Proof | null;
  publicSignals: string[] | null;
  error: string | null;
  /** Null when the server settles nothing on chain. */
  settlement?: Settlement | null;
}

/** An inference once proven: its proof and public signals are there. */
export type ProvenInference = Inference & { proof: Groth16Proof; publicSignals: string[] };

export interface Model {
  id: string;
  status: ModelStatus;
  error: string | null;
  options: Record<string, unknown>;
  modelSha256: string;
  zkmlModelId?: string;
  manifest?: Record<string, unknown>;
  verificationKey?: Record<string, unknown>;
  solidityVerifier?: string | null;
}

/** An error answer of the server: its HTTP status, code and the field it names. */
export class ZkmlServeError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ZkmlServeError';
  }
}

export interface ClientOptions {
  /** The server's API key, for uploads and inferences. */
  apiKey?: string;
  /** Seconds of each long poll, when waiting on a server that does not stream events (default 30; at most 60). */
  pollSeconds?: number;
  fetch?: typeof fetch;
}

/** Failed connections in a row before waitForProof gives up (with its pauses, about 15 s of a server away). */
const MAX_FAILURES = 5;

export class Client {
  private readonly base: string;
  private readonly doFetch: typeof fetch;

  constructor(
    baseUrl: string,
    private readonly opts: ClientOptions = {},
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
    this.doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  }

  private async request<T>(method: string, path: string, body?: unknown, auth = false): Promise<T> {
    const headers: Record<string, string> = {};
    if (auth && this.opts.apiKey) headers.authorization = `Bearer ${this.opts.apiKey}`;
    let payload: BodyInit | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await this.doFetch(`${this.base}${path}`, { method, headers, body: payload });
    const text = await res.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ZkmlServeError(res.status, 'E_RESPONSE', `not JSON from ${method} ${path}: ${text.slice(0, 200)}`);
    }
    if (!res.ok) {
      const e = (data ?? {}) as { error?: string; message?: string; field?: string };
      throw new ZkmlServeError(res.status, e.error ?? 'E_HTTP', e.message ?? `${method} ${path}: HTTP ${res.status}`, e.field);
    }
    return data as T;
  }

  /** Uploads an ONNX model with compile options; the same bytes and options give the same id (built once). */
  uploadModel(model: Uint8Array | Blob, options: Record<string, unknown> = {}): Promise<{ id: string; status: ModelStatus; created: boolean }> {
    const form = new FormData();
    form.append('model', model instanceof Blob ? model : new Blob([model as Uint8Array<ArrayBuffer>]), 'model.onnx');
    form.append('options', JSON.stringify(options));
    return this.request('POST', '/v1/models', form, true);
  }

  getModel(id: string): Promise<Model> {
    return this.request('GET', `/v1/models/${encodeURIComponent(id)}`);
  }

  async listModels(): Promise<Model[]> {
    return (await this.request<{ models: Model[] }>('GET', '/v1/models')).models;
  }

  /** Polls until the model's build ends; resolves with it ready, rejects with the build's error. */
  async waitForModel(id: string, { timeoutMs = 600_000, intervalMs = 250 } = {}): Promise<Model> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = await this.getModel(id);
      if (m.status === 'ready') return m;
      if (m.status === 'failed') throw new ZkmlServeError(200, 'E_BUILD_FAILED', `model ${id} failed to build: ${m.error}`);
      if (Date.now() > deadline) throw new ZkmlServeError(0, 'E_TIMEOUT', `model ${id} still ${m.status} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  getInference(id: string, waitSeconds = 0): Promise<Inference> {
    return this.request('GET', `/v1/inferences/${encodeURIComponent(id)}${waitSeconds > 0 ? `?wait=${waitSeconds}` : ''}`);
  }

  /**
   * Waits until the inference is proven (resolves) or failed (rejects), on the server-sent events of
   * `GET /v1/inferences/{id}` (reconnecting when a stream ends early: a server restarting, a proxy; it gives up
   * with E_UNREACHABLE after 5 failed connections in a row), or on long polls when the server does not stream.
   * `signal` aborts the wait.
   */
  async waitForProof(id: string, { timeoutMs = 600_000, signal }: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ProvenInference> {
    const deadline = Date.now() + timeoutMs;
    const settle = (i: Inference): ProvenInference | undefined => {
      if (i.status === 'proven') return i as ProvenInference;
      if (i.status === 'failed') throw new ZkmlServeError(200, 'E_PROOF_FAILED', `inference ${id} was not proven: ${i.error}`);
      return undefined;
    };
    let last: Inference | undefined;
    // Connections refused or dropped in a row: a server restarting is waited for, one that is gone is not.
    let failures = 0;
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw new ZkmlServeError(0, 'E_ABORTED', `stopped waiting for inference ${id}`);
      if (Date.now() > deadline) throw new ZkmlServeError(0, 'E_TIMEOUT', `inference ${id} still ${last?.status ?? 'pending'} after ${timeoutMs} ms`);
      // A stream that ended early is opened again, after a pause growing with the failures in a row.
      if (attempt > 0) await new Promise((r) => setTimeout(r, 250 * 2 ** Math.min(failures, 5)));
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), Math.max(1, deadline - Date.now()));
      const onAbort = () => abort.abort();
      signal?.addEventListener('abort', onAbort);
      try {
        const res = await this.doFetch(`${this.base}/v1/inferences/${encodeURIComponent(id)}`, { headers: { accept: 'text/event-stream' }, signal: abort.signal });
        if (!res.ok || !res.body || !/^text\/event-stream/.test(res.headers.get('content-type') ?? '')) {
          // An error answer (404, …) is thrown by the JSON path; a server that does not stream is long-polled.
          await res.body?.cancel();
          return await this.longPoll(id, deadline, settle);
        }
        failures = 0;
        for await (const e of readEvents(res.body)) {
          if (e.event !== 'inference') continue;
          last = JSON.parse(e.data) as Inference;
          const done = settle(last);
          if (done) return done;
        }
      } catch (err) {
        if (err instanceof ZkmlServeError) throw err;
        if (abort.signal.aborted) continue; // the deadline or the caller: reported at the top of the loop
        if (++failures > MAX_FAILURES) throw new ZkmlServeError(0, 'E_UNREACHABLE', `lost the server while waiting for inference ${id}: ${(err as Error).message}`);
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
    }
  }

  private async longPoll(id: string, deadline: number, settle: (i: Inference) => ProvenInference | undefined): Promise<ProvenInference> {
    for (;;) {
      const left = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
      const i = await this.getInference(id, Math.min(this.opts.pollSeconds ?? 30, 60, left));
      const done = settle(i);
      if (done) return done;
      if (Date.now() > deadline) throw new ZkmlServeError(0, 'E_TIMEOUT', `inference ${id} still ${i.status} at the deadline`);
    }
  }

  /**
   * Waits until a proven inference's on-chain settlement ends (a server started with --rpc-url): resolves with the
   * inference once its settlement is `settled` (the transaction hash in `settlement.txHash`), rejects with
   * E_SETTLEMENT_FAILED and the server's error once it is `failed`, or with E_NOT_SETTLED when the server settles
   * nothing. Polls every `intervalMs`.
   */
  async waitForSettlement(id: string, { timeoutMs = 600_000, intervalMs = 500 } = {}): Promise<ProvenInference & { settlement: Settlement }> {
    const deadline = Date.now() + timeoutMs;
    await this.waitForProof(id, { timeoutMs });
    for (;;) {
      const i = await this.getInference(id);
      if (!i.settlement) throw new ZkmlServeError(200, 'E_NOT_SETTLED', `inference ${id} is not settled on chain: the server runs without --rpc-url`);
      if (i.settlement.status === 'settled') return i as ProvenInference & { settlement: Settlement };
      if (i.settlement.status === 'failed') throw new ZkmlServeError(200, 'E_SETTLEMENT_FAILED', `inference ${id} was not settled on chain: ${i.settlement.error}`);
      if (Date.now() > deadline) throw new ZkmlServeError(0, 'E_TIMEOUT', `inference ${id}: settlement still ${i.settlement.status} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  /**
   * Runs an inference: the output at once (computed by the exact integer executor, unproven), and a promise of
   * the proven inference (waitForProof starts at once; a failed proof rejects it, and leaving it unawaited is harmless).
   */
  async infer(modelId: string, input: unknown): Promise<{ id: string; output: InferenceOutput; status: InferenceStatus; proof: Promise<ProvenInference> }> {
    const i = await this.request<Inference>('POST', `/v1/models/${encodeURIComponent(modelId)}/inferences`, { input }, true);
    const proof = this.waitForProof(i.id);
    proof.catch(() => {}); // a failure reaches whoever awaits the promise, not the process's unhandled rejections
    return { id: i.id, output: i.output!, status: i.status, proof };
  }

  /** Checks a proof against a hosted model's verification key (the server's verdict; see docs/serve.md). */
  verify(modelId: string, proof: Groth16Proof, publicSignals: string[]): Promise<{ valid: boolean }> {
    return this.request('POST', '/v1/verify', { modelId, proof, publicSignals });
  }
}
