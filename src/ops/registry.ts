import type { OpDef } from './op.ts';
import { linearOps } from './linear.ts';
import { elementwiseOps } from './elementwise.ts';
import { shapeOps } from './shape.ts';
import { activationOps } from './activation.ts';
import { normalizationOps } from './normalization.ts';
import { softmaxOps } from './softmax.ts';
import { convOps } from './conv.ts';
import { poolOps } from './pool.ts';
import { reduceOps } from './reduce.ts';
import { nonlinearOps } from './nonlinear.ts';
import { qlinearOps } from './qlinear.ts';
import { logicOps } from './logic.ts';
import { roundingOps } from './rounding.ts';
import { expandOps } from './expand.ts';
import { indexingOps } from './indexing.ts';
import { resizeOps } from './resize.ts';
import { convTransposeOps } from './conv-transpose.ts';
import { einsumOps } from './einsum.ts';
import { arithOps } from './arith.ts';
import { mlTreeOps } from './ml-tree.ts';
import { mlLinearOps } from './ml-linear.ts';
import { recurrentOps } from './recurrent.ts';
import { transcendentalOps } from './transcendental.ts';
import { reduceExtraOps } from './reduce-extra.ts';
import { lossOps } from './loss.ts';
import { tailOps } from './tail.ts';
import { modOps } from './mod.ts';
import { bitShiftOps } from './bitshift.ts';
import { selectOps } from './select.ts';

/**
 * Every op zkml understands, by ONNX op type (default domain). One file per op family; a later family's
 * definition of an op replaces an earlier one (ops/select.ts extends Gather to computed indices).
 */
const families: OpDef[] = [...linearOps, ...elementwiseOps, ...shapeOps, ...activationOps, ...normalizationOps, ...softmaxOps, ...convOps, ...poolOps, ...reduceOps, ...nonlinearOps, ...qlinearOps, ...logicOps, ...roundingOps, ...expandOps, ...indexingOps, ...resizeOps, ...convTransposeOps, ...einsumOps, ...arithOps, ...mlTreeOps, ...mlLinearOps, ...recurrentOps, ...transcendentalOps, ...reduceExtraOps, ...lossOps, ...tailOps, ...modOps, ...bitShiftOps, ...selectOps];

export const OPS = new Map<string, OpDef>();
/** Ops of other domains (com.microsoft's QGemm, QLinearAdd), keyed `domain:op`. */
const DOMAIN_OPS = new Map<string, OpDef>();
for (const def of families) for (const op of def.ops) (def.domain ? DOMAIN_OPS.set(`${def.domain}:${op}`, def) : OPS.set(op, def));

export function opFor(opType: string, domain: string): OpDef | undefined {
  return domain === '' || domain === 'ai.onnx' ? OPS.get(opType) : DOMAIN_OPS.get(`${domain}:${opType}`);
}
