import type { Expr } from './expr.ts';

/**
 * A tensor of the integer program: one linear expression per element (row-major), and the power-of-two
 * scale of its integers: real value = integer · 2^-exp.
 *
 * Integer-domain tensors (int8/uint8/int32 models, see ops/qlinear.ts): an ONNX integer tensor (the output of
 * QuantizeLinear, QLinearConv, MatMulInteger...) is a plain QTensor with exp 0, its expressions being the
 * integers themselves. The output of DequantizeLinear on such a tensor sets `scale`: real = expr · scale, the
 * zero point already subtracted inside the expressions (expr = q - zeroPoint), so `exp` is meaningless and
 * only ops that declare `scaled` on their OpDef may read it (lower.ts refuses it for the others).
 */
export interface QTensor {
  shape: number[];
  exprs: Expr[];
  exp: number;
  /** Any positive real scale (not a power of two): real = expr · scale. Overrides `exp` when present. */
  scale?: number;
  /**
   * With `scale`: the zero point that was subtracted (q = expr + zeroPoint is the ONNX integer). A graph output
   * that carries it is emitted as the integers q, and the manifest's encoding dequantizes them.
   */
  zeroPoint?: number;
}
