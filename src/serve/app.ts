/**
 * The HTTP API (Fastify): routes, validation of every body against src/serve/schemas.ts, the API key on the write
 * endpoints, request size and rate limits, and one JSON shape for every error: `{ error, message, field? }` with a
 * 4xx status for anything the caller got wrong.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import { Ajv } from 'ajv';
import { buildPaths, readManifest, type Manifest } from '../manifest.ts';
import { ZkmlError } from '../util/errors.ts';
import { bearer, type ApiKey } from './auth.ts';
import { execute, openBuild, verificationKey, verifyProof } from './inference.ts';
import type { Jobs } from './jobs.ts';
import { openapi } from './openapi.ts';
import { registerWeb } from './web.ts';
import { compileOptions, idParams, inference, inferenceBody, inferenceQuery, model, modelCreated, verifyBody, verifyResult } from './schemas.ts';
import type { InferenceRow, ModelRow, Store } from './store.ts';
import { writeFileAtomic } from '../util/atomic.ts';

export interface AppOptions {
  store: Store;
  jobs: Jobs;
  key: ApiKey;
  /** Largest JSON body, bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Largest uploaded model, bytes (default 64 MiB). */
  modelLimit?: number;
  /** Requests per minute per client address (default 600). */
  rateLimit?: number;
}

/** A 4xx error naming the field at fault. */
export class RequestError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });
const checkOptions = ajv.compile(compileOptions);

/** The field an ajv error is about: the missing or unexpected property, else the path to the bad value. */
function fieldOf(e: { instancePath: string; params: Record<string, unknown> }, prefix = ''): string {
  const path = e.instancePath.split('/').filter(Boolean);
  const extra = (e.params.missingProperty ?? e.params.additionalProperty) as string | undefined;
  if (extra !== undefined) path.push(extra);
  return [prefix, ...path].filter(Boolean).join('.') || prefix;
}

/** Summary of a built model: what a client needs to prepare inputs and read outputs. */
function manifestSummary(m: Manifest) {
  const tensor = ({ name, shape, visibility, floatRange }: Manifest['inputs'][number]) => ({ name, shape, visibility, ...(floatRange ? { floatRange } : {}) });
  return {
    zkmlVersion: m.zkmlVersion,
    modelSha256: m.model.sha256,
    inputs: m.inputs.map(tensor),
    outputs: m.outputs.map(tensor),
    publicSignals: m.publicSignals.length,
    constraints: m.constraints,
    visibility: m.visibility,
    quantization: m.quantization,
    insecureSetup: m.setup?.insecure ?? null,
  };
}

function inferenceView(i: InferenceRow) {
  return { id: i.id, modelId: i.modelId, status: i.status, proven: i.status === 'proven', output: i.output, proof: i.proof, publicSignals: i.publicSignals, error: i.error, created: new Date(i.created).toISOString(), settlement: i.settlement };
}

const isFinal = (status: InferenceRow['status']) => status === 'proven' || status === 'failed';

/** True when the client asks for server-sent events (an EventSource sends `Accept: text/event-stream`). */
const wantsEvents = (accept: string | undefined) => /(^|,)\s*text\/event-stream\s*(;|,|$)/i.test(accept ?? '');

/** Content address: the model's bytes and its options, canonically ordered. */
export function modelId(bytes: Uint8Array, options: Record<string, unknown>): string {
  const canonical = JSON.stringify(Object.fromEntries(Object.entries(options).sort(([a], [b]) => (a < b ? -1 : 1))));
  return createHash('sha256').update(bytes).update('\0').update(canonical).digest('hex').slice(0, 32);
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { store, jobs, key } = opts;
  const app = Fastify({ bodyLimit: opts.bodyLimit ?? 1024 * 1024, logger: false, forceCloseConnections: 'idle', ajv: { customOptions: { allErrors: false, removeAdditional: false, coerceTypes: true, allowUnionTypes: true } } });
  // Long polls and event streams waiting for a proof: answered (or ended) at once when the server closes.
  const waiting = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const done of waiting) done();
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: { instancePath: string; params: Record<string, unknown> }[]; validationContext?: string; field?: string }, _req, reply) => {
    if (err.validation?.length) {
      const context = err.validationContext === 'body' ? '' : err.validationContext === 'querystring' ? '' : (err.validationContext ?? '');
      const field = fieldOf(err.validation[0], context === 'params' ? '' : context);
      return reply.status(400).send({ error: 'E_VALIDATION', message: err.message, field });
    }
    if (err instanceof RequestError) return reply.status(err.statusCode).send({ error: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) });
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.status(status).send({ error: err.code ?? 'E_REQUEST', message: err.message, ...(err.field ? { field: err.field } : {}) });
    return reply.status(500).send({ error: 'E_INTERNAL', message: err.message });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: 'E_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` }));

  await app.register(rateLimit, { max: opts.rateLimit ?? 600, timeWindow: '1 minute' });
  await app.register(multipart, { limits: { fileSize: opts.modelLimit ?? 64 * 1024 * 1024, files: 2, fields: 2, parts: 3 } });

  const requireKey = async (req: FastifyRequest, reply: FastifyReply) => {
    const token = bearer(req.headers.authorization);
    if (!token || !key.check(token)) {
      return reply.status(401).header('www-authenticate', 'Bearer').send({ error: 'E_UNAUTHORIZED', message: 'this endpoint needs the API key: Authorization: Bearer <key>', field: 'authorization' });
    }
  };

  const getModel = (id: string): ModelRow => {
    const m = store.getModel(id);
    if (!m) throw new RequestError(404, 'E_NOT_FOUND', `no model ${id}`, 'id');
    return m;
  };
  const readyModel = (id: string, field: string): ModelRow => {
    const m = store.getModel(id);
    if (!m) throw new RequestError(404, 'E_NOT_FOUND', `no model ${id}`, field);
    if (m.status !== 'ready') throw new RequestError(409, 'E_NOT_READY', `model ${id} is ${m.status}${m.error ? `: ${m.error}` : ''}`, field);
    return m;
  };

  function modelView(m: ModelRow, full: boolean) {
    const base = { id: m.id, status: m.status, error: m.error, options: m.options, modelSha256: m.modelSha256, created: new Date(m.created).toISOString() };
    if (m.status !== 'ready') return base;
    const dir = store.buildDir(m.id);
    const manifest = readManifest(dir);
    const summary = { ...base, zkmlModelId: manifest.modelId, manifest: manifestSummary(manifest) };
    if (!full) return summary;
    const sol = buildPaths(dir).verifierSol;
    return { ...summary, verificationKey: verificationKey(dir), solidityVerifier: existsSync(sol) ? readFileSync(sol, 'utf8') : null };
  }

  registerWeb(app);
  app.get('/v1/openapi.json', async () => openapi());
  app.get('/v1/health', async () => ({ ok: true }));

  app.post('/v1/models', { preHandler: requireKey, schema: { response: { 200: modelCreated, 201: modelCreated } } }, async (req, reply) => {
    if (!req.isMultipart()) throw new RequestError(415, 'E_MEDIA_TYPE', 'POST /v1/models takes multipart/form-data with a `model` file part and an optional `options` JSON part', 'model');
    let bytes: Buffer | undefined;
    let optionsText: string | undefined;
    for await (const part of req.parts()) {
      if (part.fieldname === 'model' && part.type === 'file') bytes = await part.toBuffer();
      else if (part.fieldname === 'options') optionsText = part.type === 'file' ? (await part.toBuffer()).toString('utf8') : String(part.value);
      else if (part.type === 'file') {
        await part.toBuffer();
        throw new RequestError(400, 'E_VALIDATION', `unexpected file part "${part.fieldname}": the model goes in the part named "model"`, part.fieldname);
      } else throw new RequestError(400, 'E_VALIDATION', `unexpected part "${part.fieldname}": only "model" and "options"`, part.fieldname);
    }
    if (!bytes || bytes.length === 0) throw new RequestError(400, 'E_VALIDATION', 'a non-empty `model` file part (the ONNX model) is required', 'model');
    let options: Record<string, unknown> = {};
    if (optionsText !== undefined && optionsText.trim() !== '') {
      try {
        options = JSON.parse(optionsText);
      } catch (err) {
        throw new RequestError(400, 'E_VALIDATION', `options is not JSON: ${(err as Error).message}`, 'options');
      }
      if (!checkOptions(options)) {
        const e = checkOptions.errors![0];
        throw new RequestError(400, 'E_VALIDATION', `options${e.instancePath.replaceAll('/', '.')} ${e.message}`, fieldOf(e, 'options'));
      }
    }
    const id = modelId(bytes, options);
    if (!existsSync(store.modelFile(id))) writeFileAtomic(store.modelFile(id), bytes);
    const jobId = randomBytes(16).toString('hex');
    const created = store.addModel({ id, options, modelSha256: createHash('sha256').update(bytes).digest('hex') }, jobId);
    if (created) jobs.enqueue(jobId);
    return reply.status(created ? 201 : 200).send({ id, status: store.getModel(id)!.status, created });
  });

  app.get('/v1/models', async () => ({ models: store.listModels().map((m) => modelView(m, false)) }));

  app.get<{ Params: { id: string } }>('/v1/models/:id', { schema: { params: idParams, response: { 200: model } } }, async (req) => modelView(getModel(req.params.id), true));

  app.post<{ Params: { id: string }; Body: { input: unknown } }>(
    '/v1/models/:id/inferences',
    { preHandler: requireKey, schema: { params: idParams, body: inferenceBody, response: { 202: inference } } },
    async (req, reply) => {
      const m = readyModel(req.params.id, 'id');
      const build = openBuild(store.buildDir(m.id));
      let executed;
      try {
        executed = await execute(build, req.body.input);
      } catch (err) {
        if (err instanceof ZkmlError) throw new RequestError(400, err.code, err.message, 'input');
        throw err;
      }
      const id = randomBytes(16).toString('hex');
      const jobId = randomBytes(16).toString('hex');
      store.addInference({ id, modelId: m.id, output: executed.output, expectedSignals: executed.publicSignals }, jobId, executed.encoded);
      const answer = inferenceView(store.getInference(id)!);
      jobs.enqueue(jobId);
      return reply.status(202).send(answer);
    },
  );

  app.get<{ Querystring: { limit?: number; model?: string } }>(
    '/v1/inferences',
    { schema: { querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 200 }, model: idParams.properties.id } } } },
    async (req) => ({ inferences: store.listInferences(req.query.limit ?? 50, req.query.model).map(inferenceView) }),
  );

  /**
   * An inference's state. Three ways to read it: at once; `?wait=S`, a long poll answered when the inference ends
   * (proven or failed) or after S seconds; or `Accept: text/event-stream` (EventSource), server-sent events: an
   * `inference` event with the state at once and at each change, the stream ending after the one that is final.
   */
  app.get<{ Params: { id: string }; Querystring: { wait?: number } }>(
    '/v1/inferences/:id',
    { schema: { params: idParams, querystring: inferenceQuery, response: { 200: inference } } },
    async (req, reply) => {
      const { id } = req.params;
      let row = store.getInference(id);
      if (!row) throw new RequestError(404, 'E_NOT_FOUND', `no inference ${id}`, 'id');
      if (wantsEvents(req.headers.accept)) return streamInference(req, reply, id);
      const wait = req.query.wait ?? 0;
      if (wait > 0 && !isFinal(row.status)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            waiting.delete(done);
            clearTimeout(timer);
            jobs.off('inference', onEvent);
            req.raw.off('close', done);
            resolve();
          };
          const onEvent = (which: string) => which === id && isFinal(store.getInference(id)!.status) && done();
          const timer = setTimeout(done, wait * 1000);
          jobs.on('inference', onEvent);
          req.raw.on('close', done);
          waiting.add(done);
        });
        row = store.getInference(id)!;
      }
      return inferenceView(row);
    },
  );

  /** Server-sent events of one inference (see above); a comment line every 15 s keeps proxies from closing it. */
  function streamInference(req: FastifyRequest, reply: FastifyReply, id: string): void {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    let last = '';
    /** Writes the state when it changed; true once it is final. */
    const send = (): boolean => {
      const row = store.getInference(id)!;
      const data = JSON.stringify(inferenceView(row));
      if (data !== last) res.write(`event: inference\ndata: ${data}\n\n`);
      last = data;
      return isFinal(row.status);
    };
    const done = () => {
      waiting.delete(done);
      clearInterval(heartbeat);
      jobs.off('inference', onEvent);
      req.raw.off('close', done);
      if (!res.writableEnded) res.end();
    };
    const onEvent = (which: string) => which === id && send() && done();
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    jobs.on('inference', onEvent);
    req.raw.on('close', done);
    waiting.add(done);
    if (send()) done();
  }

  app.post<{ Body: { modelId: string; proof: unknown; publicSignals: string[] } }>(
    '/v1/verify',
    { schema: { body: verifyBody, response: { 200: verifyResult } } },
    async (req) => {
      const m = readyModel(req.body.modelId, 'modelId');
      const build = openBuild(store.buildDir(m.id));
      if (req.body.publicSignals.length !== build.manifest.publicSignals.length) {
        throw new RequestError(400, 'E_VALIDATION', `publicSignals has ${req.body.publicSignals.length} values; model ${m.id} has ${build.manifest.publicSignals.length} public signals`, 'publicSignals');
      }
      return { valid: await verifyProof(build, req.body.proof, req.body.publicSignals) };
    },
  );

  return app;
}
