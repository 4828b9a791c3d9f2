/**
 * The ONNX element type of every tensor the lowering meets, where the graph fixes it: model inputs, constants
 * and declared outputs as written, and each node's outputs from its op's typing rule. Ops ask for it where the
 * integer program alone cannot tell (an integer tensor and a float one both reach an op at exponent 0: integer
 * Div truncates, float Div does not). A type the rules below do not fix is unknown, and an op that needs it
 * refuses rather than guesses.
 */
import type { Graph, OnnxNode } from '../onnx/graph.ts';
import { attrInt } from '../onnx/graph.ts';
import { DTYPE_NAMES } from '../onnx/tensor.ts';

const BOOL_OUT = new Set(['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Not', 'IsNaN', 'IsInf']);
const INT64_OUT = new Set(['ArgMax', 'ArgMin', 'Shape', 'Size', 'NonZero']);
/** Ops whose inputs and outputs all share one type T: any input's type is the output's. */
const ONE_TYPE = new Set(['Add', 'Sub', 'Mul', 'Div', 'Mod', 'Min', 'Max', 'Sum', 'Mean', 'Concat', 'BitShift']);
/** Ops whose outputs have the element type of their first input (arithmetic, selection and data movement). */
const SAME_AS_FIRST = new Set([
  'Identity', 'Abs', 'Neg', 'Pow', 'Relu', 'Clip', 'Sign', 'CumSum', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose', 'Slice', 'Split', 'Gather',
  'GatherElements', 'GatherND', 'Expand', 'Tile', 'Pad', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'Range',
  'ScatterND', 'ScatterElements', 'Trilu', 'DepthToSpace', 'SpaceToDepth', 'Floor', 'Ceil', 'Round',
]);

/** The element types of a node's outputs from those of its inputs (undefined where the rules do not fix one). */
export function outputTypes(node: OnnxNode, inputTypes: (string | undefined)[]): (string | undefined)[] {
  const op = node.opType;
  const all = (t: string | undefined) => node.outputs.map(() => t);
  if (op === 'Cast') return all(DTYPE_NAMES[attrInt(node, 'to', 0)]);
  if (op === 'CastLike') return all(inputTypes[1]);
  if (BOOL_OUT.has(op)) return all('bool');
  if (INT64_OUT.has(op)) return all('int64');
  if (op === 'Where') return all(inputTypes[1] ?? inputTypes[2]);
  if (op === 'TopK' || op === 'MaxPool') return node.outputs.map((_, k) => (k === 0 ? inputTypes[0] : 'int64'));
  if (ONE_TYPE.has(op)) return all(inputTypes.find((t) => t !== undefined));
  if (SAME_AS_FIRST.has(op)) return all(inputTypes[0]);
  return all(undefined);
}

/** A running map of element types for one lowering, seeded from the graph's inputs, constants and outputs. */
export function elementTypes(graph: Graph): Map<string, string> {
  const types = new Map<string, string>();
  for (const [name, t] of graph.constants) types.set(name, t.dtype);
  for (const v of [...graph.inputs, ...graph.outputs]) if (v.dtype) types.set(v.name, v.dtype);
  return types;
}
