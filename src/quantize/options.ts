/**
 * How a float model becomes integers: power-of-two fixed point. Inputs and activations carry `scale`
 * fractional bits; each weight tensor gets the largest exponent that keeps its integers within `weightBits`
 * (signed); a layer's accumulator has the sum of its operands' exponents and is shifted back to `scale`
 * fractional bits at the next nonlinearity (the shift fused into that nonlinearity's range check).
 */
export type { ParamVisibility } from '../manifest.ts';
import type { ParamVisibility } from '../manifest.ts';

export interface QuantOptions {
  /** Fractional bits of inputs and activations (2^-scale resolution). */
  scale: number;
  /** Fractional bits of the input, when it should differ from `scale`. */
  inputScale?: number;
  /** Signed bits of each weight tensor's integers. */
  weightBits: number;
  /** Largest weight exponent (tiny weights do not get absurd exponents). */
  maxWeightExp: number;
  /** Float range of every model input: values outside are refused when proving. */
  inputRange: [number, number];
  /**
   * Constrain each input to its range inside the circuit (one constraint per input bit). On by default:
   * without it a private input is any field element, and a model whose output is linear in its input (no
   * nonlinearity before the output) proves nothing about its outputs at all.
   */
  checkInputs: boolean;
  /** Weights of Gemm, MatMul and Conv as constants or as private signals (see ParamVisibility). */
  paramVisibility: ParamVisibility;
}

export const DEFAULT_QUANT: QuantOptions = {
  scale: 8,
  weightBits: 9,
  maxWeightExp: 16,
  inputRange: [-1, 1],
  checkInputs: true,
  paramVisibility: 'fixed',
};
