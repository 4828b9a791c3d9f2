/** /v1/openapi.json: the OpenAPI 3.1 document of the API, built from the same schemas Fastify validates with. */
import { VERSION } from '../version.ts';
import { schemas } from './schemas.ts';

const ref = (name: keyof typeof schemas) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: keyof typeof schemas, description: string) => ({ description, content: { 'application/json': { schema: ref(name) } } });
const errors = {
  '400': json('error', 'a bad request: `field` names what is wrong'),
  '404': json('error', 'no such model or inference'),
  '429': json('error', 'rate limit'),
};
const auth = { security: [{ bearer: [] }], responses: { '401': json('error', 'no or wrong API key') } };
const idParam = (name = 'id') => ({ name, in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{16,64}$' } });

export function openapi() {
  return {
    openapi: '3.1.0',
    info: { title: 'zkml serve', version: VERSION, description: 'Verifiable inference: hosted models, outputs at once, Groth16 proofs behind them.' },
    components: { schemas, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths: {
      '/v1/models': {
        post: {
          summary: 'upload a model: compile and setup run as a job; content-addressed (same bytes and options, same id)',
          ...auth,
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': {
                schema: { type: 'object', required: ['model'], properties: { model: { type: 'string', format: 'binary' }, options: ref('compileOptions') } },
                encoding: { options: { contentType: 'application/json' } },
              },
            },
          },
          responses: { ...auth.responses, ...errors, '201': json('modelCreated', 'a new model, queued for its build'), '200': json('modelCreated', 'the model exists already') },
        },
        get: { summary: 'hosted models', responses: { '200': { description: '{ models: [...] }' } } },
      },
      '/v1/models/{id}': {
        get: { summary: 'status (ends ready or failed), manifest summary, verification key, Solidity verifier', parameters: [idParam()], responses: { ...errors, '200': json('model', 'the model') } },
      },
      '/v1/models/{id}/inferences': {
        post: {
          summary: 'run an inference: the output at once (unproven), the proof behind it',
          ...auth,
          parameters: [idParam()],
          requestBody: { required: true, content: { 'application/json': { schema: ref('inferenceBody') } } },
          responses: { ...auth.responses, ...errors, '409': json('error', 'the model is not ready'), '202': json('inference', 'accepted: output computed, proof pending') },
        },
      },
      '/v1/inferences': { get: { summary: 'recent inferences', responses: { '200': { description: '{ inferences: [...] }' } } } },
      '/v1/inferences/{id}': {
        get: {
          summary: 'status (ends proven or failed), output, proof and public signals, and `settlement` (the InferenceRegistry transaction: hash and status, when the server settles on chain); ?wait=<seconds> long-polls until it ends; Accept: text/event-stream streams it',
          parameters: [idParam(), { name: 'wait', in: 'query', required: false, schema: { type: 'number', minimum: 0, maximum: 60 } }],
          responses: {
            ...errors,
            '200': {
              description: 'the inference; as server-sent events (Accept: text/event-stream), one `inference` event whose data is this object at once and at each change, the stream ending after the final state',
              content: { 'application/json': { schema: ref('inference') }, 'text/event-stream': { schema: { type: 'string' } } },
            },
          },
        },
      },
      '/v1/verify': {
        post: {
          summary: "check a proof against a hosted model's verification key",
          requestBody: { required: true, content: { 'application/json': { schema: ref('verifyBody') } } },
          responses: { ...errors, '200': json('verifyResult', 'the verdict') },
        },
      },
    },
  };
}
