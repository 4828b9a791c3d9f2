import type { Graph } from '../onnx/graph.ts';
import { nodeLabel } from '../onnx/graph.ts';
import { opFor } from '../ops/registry.ts';
import type { OpInput, QTensor } from '../ops/op.ts';
import { FINAL_ACTIVATIONS } from '../ops/softmax.ts';
import type { QuantOptions } from '../quantize/options.ts';
import { toFixed } from '../quantize/fixed.ts';
import { Program } from '../ir/program.ts';
import { range, rangeBits } from '../gadgets/range.ts';
import { INT_RANGES } from '../quantize/int8.ts';
import { refuseScaledInputs } from '../ops/common.ts';
import { ZkmlError } from '../util/errors.ts';
import type { FinalOp } from '../manifest.ts';
import { elementTypes, outputTypes } from './element-types.ts';


/** Integer model inputs that are indices, not quantized values (see lowerGraph). */
const INDEX_TYPES = new Set(['int32', 'int64', 'uint32', 'uint64']);

/**
 * Fractional bits of the model inputs: --input-scale if given, else `scale` bits of resolution over [-1, 1],
 * fewer for wider ranges so an input keeps about `scale` + 1 significant bits (pixels in [0, 255] get 0
 * fractional bits: they are integers already).
 */
export function inputScaleFor(opts: QuantOptions): number {
  if (opts.inputScale !== undefined) return opts.inputScale;
  const maxAbs = Math.max(Math.abs(opts.inputRange[0]), Math.abs(opts.inputRange[1]));
  return maxAbs <= 1 ? opts.scale : Math.max(0, opts.scale - Math.ceil(Math.log2(maxAbs)));
}

export interface IoSpec {
  name: string;
  signal: string;
  shape: number[];
  exp: number;
  intRange: [bigint, bigint];
  /** Integer-domain tensors (int8 models): real = (int - zeroPoint) · scale, instead of int · 2^-exp. */
  scale?: number;
  zeroPoint?: number;
  /** The float range the integers cover, when it differs from --input-range (quantized and integer inputs). */
  floatRange?: [number, number];
}

export interface Lowered {
  program: Program;
  inputs: IoSpec[];
  outputs: IoSpec[];
  finalActivation?: { op: FinalOp; axis: number; output: string };
  /** Exponent of every computed tensor, for diagnostics. */
  tensors: Map<string, QTensor>;
}

/** A graph rewrite that decides on what lowering has found so far (passes/reorder-pools.ts). */
export interface LowerHooks {
  /**
   * Called before node `index` is lowered, with the values of everything lowered before it and the program so far.
   * It may rewrite the graph from `index` on (reorder nodes, rename values), never before.
   */
  beforeNode?(index: number, values: ReadonlyMap<string, OpInput>, program: Program): void;
}

/**
 * Walks the graph once and turns it into the integer program: model inputs become wires, each op lowers
 * itself (linear expressions + gadgets), graph outputs become the circuit's public outputs. Final
 * Softmax/LogSoftmax follow the policy in ops/softmax.ts: the circuit outputs their input, the logits.
 */
export function lowerGraph(graph: Graph, opts: QuantOptions, hooks: LowerHooks = {}): Lowered {
  const program = new Program();
  const values = new Map<string, OpInput>();
  for (const [name, tensor] of graph.constants) values.set(name, { kind: 'const', tensor });

  const inputExp = inputScaleFor(opts);
  const inputs: IoSpec[] = graph.inputs.map((input) => {
    const where = `input "${input.name}"`;
    // Integer inputs (int8 models): the quantized tensor a QuantizeLinear would make (compiler/passes/qdq.ts set
    // `quantization`), or an input that is an integer tensor in the model itself; its type's range, exp 0.
    // Index inputs (token ids, positions: int32/int64/uint32/uint64 without quantization) are integers too, at
    // exponent 0, over --input-range rounded inward: their type's whole range would make every comparison and
    // selection on them 64 bits wide for values that are vocabulary positions.
    const indexType = !input.quantization && INDEX_TYPES.has(input.dtype);
    const intType = input.quantization?.dtype ?? (INT_RANGES[input.dtype] || indexType ? input.dtype : undefined);
    const exp = intType ? 0 : inputExp;
    const [lo, hi] = indexType
      ? [BigInt(Math.ceil(opts.inputRange[0])), BigInt(Math.floor(opts.inputRange[1]))]
      : intType ? INT_RANGES[intType] : [toFixed(opts.inputRange[0], inputExp, where), toFixed(opts.inputRange[1], inputExp, where)];
    if (lo > hi) throw new ZkmlError(`--input-range [${opts.inputRange}] is empty`, 'E_OPTION', where);
    // A range check of b bits admits [lo, lo + 2^b), not just [lo, hi]: the interval analysis must assume
    // what the circuit admits (a dishonest prover is bound only by the check), or a bound near the field's
    // limit could be exceeded by an admitted input and wrap around.
    const admittedHi = opts.checkInputs ? lo + (1n << BigInt(rangeBits({ lo, hi }))) - 1n : hi;
    const exprs = program.addInput(input.name, input.shape, lo, admittedHi);
    if (opts.checkInputs) {
      exprs.forEach((e) => program.apply(range, { lo, hi }, [e], `${input.name} (range check)`));
    }
    values.set(input.name, { kind: 'q', q: { shape: input.shape, exp, exprs } });
    const spec: IoSpec = { name: input.name, signal: program.inputs.at(-1)!.signal, shape: input.shape, exp, intRange: [lo, hi] };
    if (intType) {
      const { scale, zeroPoint } = input.quantization ?? { scale: 1, zeroPoint: 0 };
      Object.assign(spec, { scale, zeroPoint, floatRange: [Number(lo - BigInt(zeroPoint)) * scale, Number(hi - BigInt(zeroPoint)) * scale] });
    }
    return spec;
  });

  const types = elementTypes(graph);
  const consumers = new Map<string, number>();
  for (const n of graph.nodes) for (const i of n.inputs) consumers.set(i, (consumers.get(i) ?? 0) + 1);
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  let finalActivation: Lowered['finalActivation'];

  for (let index = 0; index < graph.nodes.length; index++) {
    hooks.beforeNode?.(index, values, program);
    const node = graph.nodes[index];
    if (node.outputs.every((o) => !o || graph.constants.has(o))) continue; // folded
    const where = `${graph.path}: ${nodeLabel(node)}`;
    program.labels.set(node.name, where);
    const def = opFor(node.opType, node.domain)!;
    const ins = node.inputs.map((i) => (i === '' ? undefined : values.get(i)));
    if (FINAL_ACTIVATIONS.has(node.opType) && graphOutputs.has(node.outputs[0]) && !consumers.has(node.outputs[0]) && ins[0]?.kind === 'q') {
      const rank = ins[0].q.shape.length;
      const axis = Number(node.attrs.get('axis') ?? (graph.opset >= 13 ? -1 : 1));
      finalActivation = { op: node.opType as 'Softmax' | 'LogSoftmax', axis: axis < 0 ? axis + rank : axis, output: node.outputs[0] };
      values.set(node.outputs[0], ins[0]);
      continue;
    }
    if (!def.lower) throw new ZkmlError(`${node.opType} is supported on constant inputs only`, 'E_UNSUPPORTED', where);
    refuseScaledInputs(def, ins, node.opType, where);
    const outShapes = node.outputs.map((o) => graph.shapes.get(o) ?? []);
    const deferred = def.deferredFinal?.(node);
    const deferOut = deferred && node.outputs[deferred.output];
    const deferFinal = !!deferOut && graphOutputs.has(deferOut) && !consumers.has(deferOut);
    if (deferFinal) finalActivation = { op: deferred!.op, axis: deferred!.axis, output: deferOut };
    const inputTypes = node.inputs.map((i) => types.get(i));
    outputTypes(node, inputTypes).forEach((t, k) => t && node.outputs[k] && !types.has(node.outputs[k]) && types.set(node.outputs[k], t));
    const results = def.lower({ node, opset: graph.opset, where, program, opts, inputs: ins, outShapes, deferFinal, inputTypes });
    results.forEach((q, k) => {
      const name = node.outputs[k];
      if (!name) return;
      const expected = graph.shapes.get(name);
      if (expected && expected.reduce((a, b) => a * b, 1) !== q.exprs.length) {
        throw new ZkmlError(`lowered to ${q.exprs.length} values; shape inference said [${expected}]`, 'E_INTERNAL', where);
      }
      // Linear ops create no gadget, so check their values here: the error names the first node that overflows.
      for (const e of q.exprs) program.checkRange(e, node.name);
      values.set(name, { kind: 'q', q: { ...q, shape: expected ?? q.shape } });
    });
  }

  const tensors = new Map<string, QTensor>();
  for (const [name, v] of values) if (v.kind === 'q') tensors.set(name, v.q);

  const outputs: IoSpec[] = graph.outputs.map((o) => {
    const v = values.get(o.name);
    if (!v) throw new ZkmlError(`graph output "${o.name}" was not computed`, 'E_GRAPH', graph.path);
    if (v.kind === 'const') throw new ZkmlError(`graph output "${o.name}" is a constant: there is nothing to prove`, 'E_GRAPH', graph.path);
    const q = v.q;
    // A dequantized int8 output (DequantizeLinear) is emitted as the model's integers q = expr + zeroPoint;
    // the manifest's encoding (scale, zero point) dequantizes them.
    const zp = q.scale !== undefined ? (q.zeroPoint ?? 0) : 0;
    const exprs = zp ? q.exprs.map((e) => e.addConst(BigInt(zp))) : q.exprs;
    program.addOutput(o.name, q.shape, exprs, `output "${o.name}"`);
    const ranges = exprs.map((e) => program.bounds(e));
    const lo = ranges.reduce((m, r) => (r[0] < m ? r[0] : m), ranges[0]?.[0] ?? 0n);
    const hi = ranges.reduce((m, r) => (r[1] > m ? r[1] : m), ranges[0]?.[1] ?? 0n);
    const spec: IoSpec = { name: o.name, signal: program.outputs.at(-1)!.signal, shape: q.shape, exp: q.exp, intRange: [lo, hi] };
    return q.scale !== undefined ? { ...spec, scale: q.scale, zeroPoint: zp } : spec;
  });
  return { program, inputs, outputs, finalActivation, tensors };
}
