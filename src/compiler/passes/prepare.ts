import type { Graph } from '../../onnx/graph.ts';
import { nodeLabel } from '../../onnx/graph.ts';
import type { Tensor } from '../../onnx/tensor.ts';
import { opFor } from '../../ops/registry.ts';
import { checkSize } from '../../onnx/load.ts';
import { ZkmlError } from '../../util/errors.ts';

/**
 * Static shape inference and constant folding, in one walk over the sorted nodes. Every node whose inputs are
 * all constant is evaluated here (shape arithmetic, reshaped weights, Constant nodes), so lowering only sees
 * computed tensors. Unsupported ops are collected and reported together, not one at a time.
 */
export function prepareGraph(graph: Graph): Graph {
  const { shapes, constants } = graph;
  for (const i of graph.inputs) shapes.set(i.name, i.shape);
  for (const [name, t] of constants) shapes.set(name, t.dims);

  const unsupported: string[] = [];
  for (const node of graph.nodes) {
    const def = opFor(node.opType, node.domain);
    if (!def) {
      unsupported.push(`${node.name} (${node.domain ? node.domain + '.' : ''}${node.opType}, opset ${graph.opset})`);
      continue;
    }
    const present = node.inputs.filter((i) => i !== '');
    if (present.some((i) => !shapes.has(i))) continue; // downstream of an unsupported node
    const where = `${graph.path}: ${nodeLabel(node)}`;
    const consts = node.inputs.map((i) => (i === '' ? undefined : constants.get(i)));
    const ctx = { node, opset: graph.opset, where, shapes: node.inputs.map((i) => (i === '' ? [] : shapes.get(i)!)), consts };
    const outShapes = def.shapes(ctx);
    if (def.fold && (def.foldsFromShapes || present.every((i) => constants.has(i)))) {
      const folded = def.fold(ctx, consts as Tensor[]);
      folded.forEach((t, k) => {
        if (node.outputs[k]) constants.set(node.outputs[k], t);
      });
    }
    node.outputs.forEach((o, k) => {
      if (o && outShapes[k]) {
        if (outShapes[k].some((d) => !Number.isInteger(d) || d < 0)) {
          throw new ZkmlError(`inferred an invalid output shape [${outShapes[k]}]`, 'E_SHAPE', where);
        }
        shapes.set(o, outShapes[k]);
      }
    });
  }
  if (unsupported.length > 0) {
    throw new ZkmlError(
      `${unsupported.length} node(s) use ops zkml does not support:\n  ${unsupported.join('\n  ')}`,
      'E_UNSUPPORTED_OP',
      graph.path,
    );
  }
  // Graph outputs get the inferred shapes (the model's own may be symbolic).
  for (const o of graph.outputs) {
    const s = shapes.get(o.name);
    if (!s) throw new ZkmlError(`graph output "${o.name}" is produced by no node`, 'E_GRAPH', graph.path);
    o.shape = s;
  }
  // Shapes follow from the inputs' (a batch dimension, a Reshape): a computed tensor can be larger than any input.
  for (const [name, shape] of shapes) if (!constants.has(name)) checkSize(`tensor "${name}"`, shape, graph.path);
  return graph;
}
