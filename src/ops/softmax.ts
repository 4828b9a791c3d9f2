import type { OpDef } from './op.ts';
import { sameShapes } from './common.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * Softmax and LogSoftmax as the model's final op: the circuit proves the logits (the op's input), which fix
 * the softmax and its argmax; `zkml prove` and `zkml verify` derive both from the public logits. Softmax is
 * monotone, so the proven argmax is exactly the model's. The lowering pass applies this policy
 * (FINAL_ACTIVATIONS); reaching lower() means the op sits inside the network.
 */
export const FINAL_ACTIVATIONS = new Set(['Softmax', 'LogSoftmax']);

const softmax: OpDef = {
  ops: ['Softmax', 'LogSoftmax'],
  shapes: sameShapes,
  lower(ctx) {
    throw new ZkmlError(
      `${ctx.node.opType} inside the network is not supported; as the model's final op the circuit proves its input (the logits)`,
      'E_UNSUPPORTED',
      ctx.where,
    );
  },
};

export const softmaxOps: OpDef[] = [softmax];
