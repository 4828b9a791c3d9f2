import type { Graph, OnnxNode } from '../../onnx/graph.ts';
import { nodeLabel } from '../../onnx/graph.ts';
import { opFor } from '../../ops/registry.ts';
import type { LowerCtx, QTensor } from '../../ops/op.ts';
import { lowerGraph, type Lowered } from '../lower.ts';
import { Program } from '../../ir/program.ts';
import type { QuantOptions } from '../../quantize/options.ts';

/**
 * "Pool before ReLU": MaxPool(ReLU(requant(x))) = ReLU(requant(MaxPool(x))), exactly, in integers too, because
 * requantization (round half up) and ReLU are monotone non-decreasing and MaxPool only picks values. Swapping
 * the two runs one requantization per pooled element instead of one per accumulator element, but compares the
 * wider accumulators: the swap is cheaper for most CNNs, not for all. So each candidate is costed both ways
 * with the gadgets' own constraint counts, on the intervals the first lowering found, and swapped only where
 * that is cheaper; then the graph is lowered again. The circuit computes the same integers either way.
 */
interface Candidate {
  relu: OnnxNode;
  pool: OnnxNode;
}

/** Relu nodes whose only consumer is a MaxPool (without Indices output), not graph outputs nor folded constants. */
function candidates(graph: Graph): Candidate[] {
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of graph.nodes) for (const i of n.inputs) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const found: Candidate[] = [];
  for (const relu of graph.nodes) {
    if (relu.opType !== 'Relu' || relu.domain) continue;
    const r = relu.outputs[0];
    const users = consumers.get(r) ?? [];
    const pool = users[0];
    if (users.length !== 1 || outputs.has(r) || graph.constants.has(r) || pool.opType !== 'MaxPool' || pool.domain || pool.inputs[0] !== r || pool.outputs[1]) continue;
    found.push({ relu, pool });
  }
  return found;
}

/** Constraints of MaxPool then Relu on the accumulator, in a scratch program that shares the wires' intervals. */
function swappedCost(lowered: Lowered, graph: Graph, c: Candidate, opts: QuantOptions): number | undefined {
  const acc = lowered.tensors.get(c.relu.inputs[0]);
  if (!acc) return undefined;
  const { program } = lowered;
  const scratch = new Program();
  for (let w = 0; w < program.lo.length; w++) {
    scratch.lo.push(program.lo[w]);
    scratch.hi.push(program.hi[w]);
  }
  const run = (node: OnnxNode, q: QTensor, outShape: number[]): QTensor => {
    const ctx: LowerCtx = { node, opset: graph.opset, where: `${graph.path}: ${nodeLabel(node)}`, program: scratch, opts, inputs: [{ kind: 'q', q }], outShapes: [outShape] };
    return opFor(node.opType, node.domain)!.lower!(ctx)[0];
  };
  const poolShape = graph.shapes.get(c.pool.outputs[0])!;
  run(c.relu, run(c.pool, acc, poolShape), poolShape);
  return [...scratch.costByNode().values()].reduce((a, b) => a + b, 0);
}

function swap(graph: Graph, { relu, pool }: Candidate): void {
  const acc = relu.inputs[0];
  const activated = relu.outputs[0];
  const out = pool.outputs[0];
  const pooled = `${out}__pooled_before_relu`;
  pool.inputs[0] = acc;
  pool.outputs[0] = pooled;
  relu.inputs[0] = pooled;
  relu.outputs[0] = out;
  graph.shapes.set(pooled, graph.shapes.get(out)!);
  graph.shapes.delete(activated); // no node produces it any more
  // The pool takes the Relu's place and the Relu the pool's: every input is still produced before its use.
  const i = graph.nodes.indexOf(relu);
  const j = graph.nodes.indexOf(pool);
  graph.nodes[i] = pool;
  graph.nodes[j] = relu;
}

export interface Reordering {
  relu: string;
  pool: string;
  before: number;
  after: number;
  swapped: boolean;
}

/**
 * Lowers the graph, swapping each Relu → MaxPool pair where pooling first costs fewer constraints. The graph is
 * rewritten in place (node names are kept, so per-layer costs still name the model's nodes). `report` receives
 * each candidate's costs both ways.
 */
export function lowerPoolsFirst(graph: Graph, opts: QuantOptions, report?: (r: Reordering) => void): Lowered {
  const lowered = lowerGraph(graph, opts);
  const found = candidates(graph);
  if (found.length === 0) return lowered;
  const costs = lowered.program.costByNode();
  let any = false;
  for (const c of found) {
    const before = (costs.get(c.relu.name) ?? 0) + (costs.get(c.pool.name) ?? 0);
    const after = swappedCost(lowered, graph, c, opts);
    const swapped = after !== undefined && after < before;
    report?.({ relu: c.relu.name, pool: c.pool.name, before, after: after ?? before, swapped });
    if (swapped) {
      swap(graph, c);
      any = true;
    }
  }
  return any ? lowerGraph(graph, opts) : lowered;
}
