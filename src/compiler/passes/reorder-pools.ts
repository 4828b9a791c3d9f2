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
 * with the gadgets' own constraint counts, on the accumulator's intervals, when lowering reaches it (a hook of
 * lower.ts: the graph is lowered once), and swapped only where that is cheaper. The circuit computes the same
 * integers either way.
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

/**
 * Constraints of the pair lowered in the given order (each node with its output shape) on the accumulator, in a
 * scratch program that shares the wires' intervals (the program itself is left as it is).
 */
function pairCost(program: Program, graph: Graph, acc: QTensor, steps: [OnnxNode, number[]][], opts: QuantOptions): number {
  const scratch = new Program();
  for (let w = 0; w < program.lo.length; w++) {
    scratch.lo.push(program.lo[w]);
    scratch.hi.push(program.hi[w]);
  }
  const run = (node: OnnxNode, q: QTensor, outShape: number[]): QTensor => {
    const ctx: LowerCtx = { node, opset: graph.opset, where: `${graph.path}: ${nodeLabel(node)}`, program: scratch, opts, inputs: [{ kind: 'q', q }], outShapes: [outShape] };
    return { ...opFor(node.opType, node.domain)!.lower!(ctx)[0], shape: outShape };
  };
  steps.reduce((q, [node, outShape]) => run(node, q, outShape), acc);
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
  const pending = new Map(candidates(graph).map((c) => [c.relu, c]));
  if (pending.size === 0) return lowerGraph(graph, opts);
  return lowerGraph(graph, opts, {
    beforeNode(index, values, program) {
      const c = pending.get(graph.nodes[index]);
      if (!c) return;
      pending.delete(c.relu);
      const acc = values.get(c.relu.inputs[0]);
      if (acc?.kind !== 'q') return;
      const accShape = graph.shapes.get(c.relu.outputs[0])!;
      const poolShape = graph.shapes.get(c.pool.outputs[0])!;
      const before = pairCost(program, graph, acc.q, [[c.relu, accShape], [c.pool, poolShape]], opts);
      const after = pairCost(program, graph, acc.q, [[c.pool, poolShape], [c.relu, poolShape]], opts);
      const swapped = after < before;
      report?.({ relu: c.relu.name, pool: c.pool.name, before, after, swapped });
      if (swapped) swap(graph, c);
    },
  });
}
