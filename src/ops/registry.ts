import type { OpDef } from './op.ts';
import { linearOps } from './linear.ts';
import { elementwiseOps } from './elementwise.ts';
import { shapeOps } from './shape.ts';
import { activationOps } from './activation.ts';
import { normalizationOps } from './normalization.ts';
import { softmaxOps } from './softmax.ts';

/** Every op zkml understands, by ONNX op type (default domain). One file per op family. */
const families: OpDef[] = [...linearOps, ...elementwiseOps, ...shapeOps, ...activationOps, ...normalizationOps, ...softmaxOps];

export const OPS = new Map<string, OpDef>();
for (const def of families) for (const op of def.ops) OPS.set(op, def);

export function opFor(opType: string, domain: string): OpDef | undefined {
  return domain === '' || domain === 'ai.onnx' ? OPS.get(opType) : undefined;
}
