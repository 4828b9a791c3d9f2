import type { OnnxNode } from '../onnx/graph.ts';
import type { Tensor } from '../onnx/tensor.ts';
import type { Expr } from '../ir/expr.ts';
import type { Program } from '../ir/program.ts';
import type { QuantOptions } from '../quantize/options.ts';
import type { FinalOp } from '../manifest.ts';
import type { QTensor } from '../ir/qtensor.ts';
export type { QTensor } from '../ir/qtensor.ts';

/** What an op sees of one of its inputs: a constant tensor, or a quantized one. */
export type OpInput = { kind: 'const'; tensor: Tensor } | { kind: 'q'; q: QTensor };

export interface ShapeCtx {
  node: OnnxNode;
  opset: number;
  where: string;
  shapes: number[][];
  /** Constant inputs (shape tensors, axes, weights); undefined where the input is computed. */
  consts: (Tensor | undefined)[];
}

export interface LowerCtx {
  node: OnnxNode;
  opset: number;
  where: string;
  program: Program;
  opts: QuantOptions;
  inputs: (OpInput | undefined)[];
  /** Static output shapes from shape inference. */
  outShapes: number[][];
  /** ONNX element types of the inputs where the graph states them (model inputs, constants); else undefined. */
  inputTypes?: (string | undefined)[];
  /** The op's `deferredFinal` output is the model's final output: lower it before that transform (the logits). */
  deferFinal?: boolean;
}

/** A monotone transform an op applies last to one of its outputs, which the CLI can derive from the proven values. */
export interface DeferredFinal {
  output: number;
  op: FinalOp;
  axis: number;
}

/**
 * Everything one op family means, in one place: static shapes, float evaluation for constant folding, and
 * lowering to the integer program (linear expressions plus gadgets). The passes that walk the graph never
 * switch on op types.
 */
export interface OpDef {
  ops: string[];
  /** ONNX domain of `ops` (default: the standard domain), e.g. 'com.microsoft' for QGemm. */
  domain?: string;
  /**
   * The op handles inputs with a non-power-of-two `scale` (DequantizeLinear outputs). Ops without it are
   * refused such an input by the lowering pass with a clear error, never given a meaningless `exp`.
   */
  scaled?: boolean;
  /** Output shapes from input shapes (and constant inputs where the op needs them). */
  shapes(ctx: ShapeCtx): number[][];
  /** Float evaluation when every input is constant (shape arithmetic, weight reshapes, Cast...). */
  fold?(ctx: ShapeCtx, inputs: Tensor[]): Tensor[];
  /** The op's value depends on input shapes only (Shape): fold it even when its input is computed. */
  foldsFromShapes?: boolean;
  /**
   * The transform the node applies last to one output (a classifier's SOFTMAX post_transform), when it has one.
   * Where that output is a final graph output, lower() gets `deferFinal` and proves the scores before it, as for
   * a final Softmax (ops/softmax.ts); elsewhere the op must compute it or refuse.
   */
  deferredFinal?(node: OnnxNode): DeferredFinal | undefined;
  /** Lowering of computed inputs. Absent: the op can only be folded. */
  lower?(ctx: LowerCtx): QTensor[];
}
