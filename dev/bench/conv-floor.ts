import type { Analysis } from '../../src/compiler/compile.ts';
import { bitLength, signedWidth } from '../../src/gadgets/gadget.ts';

/**
 * Issue 5's target for convolutions: with fixed weights a Conv is a linear combination (free), so what a conv
 * layer costs per output element is its requantization and activation, and that should come within 1.2× of the
 * floor `shift bits + output bits + 2` (a remainder bit per shifted bit, a bit per output bit, a sign bit and
 * the ReLU's product). Everything here is read from the lowered program: each requantization gadget's shift
 * (its params) and its output's interval (the wire bounds the interval analysis gave it).
 *
 * The requantization of a conv's output may sit on a later node: the bias Add is linear, and "pool before
 * ReLU" (compiler/passes/reorder-pools.ts) moves it after the MaxPool, where it runs once per pooled element. So the layer's
 * requantizations are those on the Conv node and on the chain of single consumers after it (bias, BatchNorm,
 * pooling, activation) up to the first node that has any. The pooling's comparisons are the pooling layer's
 * cost, reported in the per-layer table, not here.
 */
export interface ConvLayerCost {
  node: string;
  /** Elements of the Conv's output tensor. */
  outputElements: number;
  /** Nodes holding the requantizations (the Conv itself, or its activation after a pooling). */
  requantNodes: string[];
  /** Requantized elements: one per requantization gadget (fewer than outputElements after a pooling). */
  requantized: number;
  /** Constraints of those requantizations (with their fused ReLU). */
  constraints: number;
  perElement: number;
  /** Mean over the requantized elements of shift + output bits + 2. */
  floorPerElement: number;
  ratio: number;
  /** The gadgets' own descriptions, e.g. "shift 7, 23-bit signed quotient, relu". */
  detail: string[];
}

const CONV_OPS = new Set(['Conv', 'QLinearConv', 'ConvInteger']);
/** Ops between a convolution and its requantization that do not start a new layer. */
const EPILOGUE_OPS = new Set(['Add', 'Sub', 'Mul', 'BatchNormalization', 'MaxPool', 'Relu', 'Clip', 'LeakyRelu', 'QuantizeLinear', 'DequantizeLinear']);
const REQUANT_KINDS = new Set(['requant', 'requant-split', 'requant-int8']);

export function convLayerCosts({ graph, lowered }: Analysis): ConvLayerCost[] {
  const { program } = lowered;
  const consumers = new Map<string, (typeof graph.nodes)[number][]>();
  for (const n of graph.nodes) for (const i of n.inputs) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const requantsOf = (node: string) => program.gadgets.filter((g) => g.node === node && REQUANT_KINDS.has(g.def.kind));

  const layers: ConvLayerCost[] = [];
  for (const conv of graph.nodes.filter((n) => CONV_OPS.has(n.opType))) {
    let node = conv;
    let gadgets = requantsOf(node.name);
    while (gadgets.length === 0) {
      const next = consumers.get(node.outputs[0]) ?? [];
      if (next.length !== 1 || !EPILOGUE_OPS.has(next[0].opType)) break;
      node = next[0];
      gadgets = requantsOf(node.name);
    }
    if (gadgets.length === 0) continue;
    let constraints = 0;
    let floor = 0;
    for (const g of gadgets) {
      constraints += g.def.constraints(g.params);
      const shift: number = g.params.k ?? g.params.n;
      // The element the layer outputs: the gadget's last output (requant-split's is the ReLU'd value).
      const w = g.outputs[g.outputs.length - 1];
      const [lo, hi] = [program.lo[w], program.hi[w]];
      const outputBits = lo >= 0n ? bitLength(hi) : signedWidth(lo, hi);
      floor += shift + outputBits + 2;
    }
    const perElement = constraints / gadgets.length;
    const floorPerElement = floor / gadgets.length;
    layers.push({
      node: conv.name,
      outputElements: (graph.shapes.get(conv.outputs[0]) ?? []).reduce((a, b) => a * b, 1),
      requantNodes: [...new Set(gadgets.map((g) => g.node))],
      requantized: gadgets.length,
      constraints,
      perElement,
      floorPerElement,
      ratio: perElement / floorPerElement,
      detail: [...new Set(gadgets.map((g) => g.def.describe(g.params)))],
    });
  }
  return layers;
}
