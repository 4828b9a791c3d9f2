import type { Tensor } from './tensor.ts';

export type AttrValue = number | string | number[] | string[] | Tensor;

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Map<string, AttrValue>;
}

export interface ValueInfo {
  name: string;
  /** Static shape; a symbolic or unknown dimension of an input is fixed to 1 (the batch dimension). */
  shape: number[];
  dtype: string;
  /**
   * Set by compiler/passes/qdq.ts on a float input whose only use is a QuantizeLinear: the circuit input is then the
   * quantized integer tensor itself (`dtype`, range [qmin, qmax]); users still give floats, quantized with this
   * scale and zero point (the manifest's encoding), exactly as the model's QuantizeLinear would.
   */
  quantization?: { scale: number; zeroPoint: number; dtype: string };
}

/** A loaded model: nodes in topological order, constants folded, every tensor's static shape known. */
export interface Graph {
  path: string;
  sha256: string;
  opset: number;
  producer: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  nodes: OnnxNode[];
  constants: Map<string, Tensor>;
  shapes: Map<string, number[]>;
}

/** A readable name for a node in messages: its name, else its op and first output. */
export const nodeLabel = (n: OnnxNode) => `node "${n.name || n.outputs[0]}" (${n.opType})`;

export function attrInt(n: OnnxNode, name: string, dflt: number): number;
export function attrInt(n: OnnxNode, name: string): number | undefined;
export function attrInt(n: OnnxNode, name: string, dflt?: number): number | undefined {
  const v = n.attrs.get(name);
  return v === undefined ? dflt : (v as number);
}
export const attrFloat = attrInt;
export function attrInts(n: OnnxNode, name: string): number[] | undefined {
  return n.attrs.get(name) as number[] | undefined;
}
export function attrString(n: OnnxNode, name: string, dflt: string): string {
  const v = n.attrs.get(name);
  return v === undefined ? dflt : String(v);
}
