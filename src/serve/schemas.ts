/**
 * The JSON schemas of every request body and response: Fastify validates bodies, params and queries with them
 * (ajv) before any handler runs, and openapi.ts builds /v1/openapi.json from the same objects.
 */

/** Compile options as the library names them (CompileOptions); nothing that names a path or a program. */
export const compileOptions = {
  type: 'object',
  additionalProperties: false,
  properties: {
    scale: { type: 'integer', minimum: 0, maximum: 64 },
    inputScale: { type: 'integer', minimum: 0, maximum: 64 },
    weightBits: { type: 'integer', minimum: 2, maximum: 64 },
    maxWeightExp: { type: 'integer', minimum: 0, maximum: 128 },
    inputRange: { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 },
    checkInputs: { type: 'boolean' },
    paramVisibility: { enum: ['fixed', 'hashed', 'private'] },
    inputVisibility: { enum: ['public', 'private', 'hashed'] },
    outputVisibility: { enum: ['public', 'hashed'] },
    singleSignal: { type: 'boolean' },
    elimination: { enum: ['cost', 'circom'] },
  },
} as const;

const id = { type: 'string', pattern: '^[0-9a-f]{16,64}$' } as const;

export const idParams = { type: 'object', required: ['id'], properties: { id } } as const;

const error = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } },
} as const;

const groth16Proof = {
  type: 'object',
  required: ['pi_a', 'pi_b', 'pi_c'],
  properties: {
    pi_a: { type: 'array', items: { type: 'string' } },
    pi_b: { type: 'array', items: { type: 'array', items: { type: 'string' } } },
    pi_c: { type: 'array', items: { type: 'string' } },
    protocol: { type: 'string' },
    curve: { type: 'string' },
  },
} as const;

const signals = { type: 'array', items: { type: 'string', pattern: '^[0-9]{1,80}$' }, maxItems: 100000 } as const;

/** What the exact integer executor (or the proof, once proven) says the model output: output.json's fields. */
const output = { type: ['object', 'null'], additionalProperties: true } as const;

export const modelCreated = {
  type: 'object',
  required: ['id', 'status'],
  properties: { id, status: { enum: ['queued', 'building', 'ready', 'failed'] }, created: { type: 'boolean' } },
} as const;

export const model = {
  type: 'object',
  required: ['id', 'status'],
  additionalProperties: true,
  properties: {
    id,
    status: { enum: ['queued', 'building', 'ready', 'failed'] },
    error: { type: ['string', 'null'] },
    options: { type: 'object', additionalProperties: true },
    modelSha256: { type: 'string' },
    manifest: { type: ['object', 'null'], additionalProperties: true },
    verificationKey: { type: ['object', 'null'], additionalProperties: true },
    solidityVerifier: { type: ['string', 'null'] },
    zkmlModelId: { type: ['string', 'null'] },
  },
} as const;

export const inferenceBody = {
  type: 'object',
  required: ['input'],
  additionalProperties: false,
  properties: {
    /** An input file's content: zkml's {"<name>": [...]} or EZKL's {"input_data": [...]}, or a bare array. */
    input: { type: ['object', 'array'] },
  },
} as const;

export const inference = {
  type: 'object',
  required: ['id', 'status', 'output'],
  additionalProperties: true,
  properties: {
    id,
    modelId: id,
    status: { enum: ['unproven', 'proving', 'proven', 'failed'] },
    proven: { type: 'boolean' },
    output,
    proof: { type: ['object', 'null'], additionalProperties: true },
    publicSignals: { type: ['array', 'null'], items: { type: 'string' } },
    error: { type: ['string', 'null'] },
    created: { type: 'string' },
    /** On-chain settlement (zkml serve --rpc-url): null when the server settles nothing. */
    settlement: {
      type: ['object', 'null'],
      required: ['status', 'txHash'],
      properties: {
        status: { enum: ['pending', 'submitted', 'settled', 'failed'] },
        txHash: { type: ['string', 'null'] },
        error: { type: 'string' },
      },
    },
  },
} as const;

export const inferenceQuery = {
  type: 'object',
  properties: { wait: { type: 'number', minimum: 0, maximum: 60 } },
} as const;

export const verifyBody = {
  type: 'object',
  required: ['modelId', 'proof', 'publicSignals'],
  additionalProperties: false,
  properties: { modelId: id, proof: groth16Proof, publicSignals: signals },
} as const;

export const verifyResult = {
  type: 'object',
  required: ['valid'],
  properties: { valid: { type: 'boolean' }, reason: { type: 'string' } },
} as const;

export const schemas = { compileOptions, model, modelCreated, inferenceBody, inference, verifyBody, verifyResult, error };
