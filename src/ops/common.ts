import type { LowerCtx, OpDef, OpInput, QTensor, ShapeCtx } from './op.ts';
import type { Tensor } from '../onnx/tensor.ts';
import { ZkmlError } from '../util/errors.ts';
import { constQTensor } from '../quantize/fixed.ts';

/** The computed (quantized) input i, or a clear error if the op needs it computed and it is absent. */
export function qInput(ctx: LowerCtx, i: number): QTensor {
  const v = ctx.inputs[i];
  if (!v) throw new ZkmlError(`input ${i} is missing`, 'E_GRAPH', ctx.where);
  if (v.kind === 'q') return v.q;
  return constQTensor(v.tensor, ctx.opts.scale, ctx.where);
}

export function constInput(ctx: LowerCtx | ShapeCtx, i: number, what: string): Tensor {
  const v = 'inputs' in ctx ? ctx.inputs[i] : undefined;
  const t = v ? (v.kind === 'const' ? v.tensor : undefined) : (ctx as ShapeCtx).consts?.[i];
  if (!t) {
    throw new ZkmlError(
      `${what} (input ${i}) must be a constant (an initializer or folded from constants); computed ${what} is not supported`,
      'E_UNSUPPORTED',
      ctx.where,
    );
  }
  return t;
}

export const isConst = (v: OpInput | undefined): v is { kind: 'const'; tensor: Tensor } => v?.kind === 'const';

/** An optional constant input, e.g. Gemm's C. */
export function optionalConst(ctx: LowerCtx, i: number, what: string): Tensor | undefined {
  if (ctx.node.inputs[i] === undefined || ctx.node.inputs[i] === '') return undefined;
  return constInput(ctx, i, what);
}

export function sameShapes(ctx: ShapeCtx): number[][] {
  return [ctx.shapes[0]];
}

/**
 * The guard of integer-domain tensors (ops/op.ts): a tensor with a non-power-of-two `scale` (a DequantizeLinear
 * output) reaches only ops that declare `scaled`; any other op would read its meaningless `exp` and compute
 * garbage, so the lowering pass calls this first and the user gets the node and the reason.
 */
export function refuseScaledInputs(def: OpDef, inputs: (OpInput | undefined)[], opType: string, where: string): void {
  if (def.scaled) return;
  const i = inputs.findIndex((v) => v?.kind === 'q' && v.q.scale !== undefined);
  if (i < 0) return;
  throw new ZkmlError(
    `${opType} cannot take input ${i}: it is a dequantized int8 tensor (DequantizeLinear with scale ${(inputs[i] as { q: QTensor }).q.scale}), ` +
      'and zkml computes float ops on such tensors only inside the QDQ groups it compiles to integer ops ' +
      '(DequantizeLinear → Conv/MatMul/Gemm/Add → [Relu] → QuantizeLinear, and data-movement ops between a ' +
      'DequantizeLinear and a QuantizeLinear); quantize this op too, or leave the model in float',
    'E_UNSUPPORTED',
    where,
  );
}
