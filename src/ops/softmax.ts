import type { OpDef } from './op.ts';
import { sameShapes } from './common.ts';
import { lowerSoftmax } from './softmax-circuit.ts';

/**
 * Softmax and LogSoftmax as the model's final op: the circuit proves the logits (the op's input), which fix
 * the softmax and its argmax; `zkml prove` and `zkml verify` derive both from the public logits. Softmax is
 * monotone, so the proven argmax is exactly the model's. The lowering pass applies this policy
 * (FINAL_ACTIVATIONS); reaching lower() means the op sits inside the network, where ops/softmax-circuit.ts
 * computes it (log-sum-exp by tables).
 */
export const FINAL_ACTIVATIONS = new Set(['Softmax', 'LogSoftmax']);

const softmax: OpDef = {
  ops: ['Softmax', 'LogSoftmax'],
  shapes: sameShapes,
  // Inside the network: computed in the circuit (ops/softmax-circuit.ts).
  lower: (ctx) => [lowerSoftmax(ctx)],
};

export const softmaxOps: OpDef[] = [softmax];
