import type { Graph } from '../../onnx/graph.ts';
import { readOnnx } from '../../onnx/load.ts';
import { prepareGraph } from './prepare.ts';

/**
 * Pass 1, load: the ONNX file as a Graph with static shapes and constants folded (onnx/load.ts reads and checks
 * the file; prepare.ts infers shapes and folds constants with the ops' own rules). Every later pass and every
 * tool that reads a model (calibrate, quantize, the bench) starts here.
 */
export function loadOnnx(path: string): Graph {
  return prepareGraph(readOnnx(path));
}
