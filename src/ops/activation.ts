import type { OpDef } from './op.ts';
import { qInput, sameShapes } from './common.ts';
import { requantize } from '../quantize/requantize.ts';

/**
 * ReLU: fused with the requantization of the accumulator before it, so one range check yields both the
 * rescaled value and its sign (see gadgets/requant.ts).
 */
const relu: OpDef = {
  ops: ['Relu'],
  shapes: sameShapes,
  fold: (_ctx, [x]) => [{ ...x, data: x.data.map((v) => Math.max(0, v)) }],
  lower: (ctx) => [requantize(ctx.program, qInput(ctx, 0), ctx.opts.scale, true, ctx.node.name)],
};

export const activationOps: OpDef[] = [relu];
