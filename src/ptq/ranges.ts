import type { Graph } from '../onnx/graph.ts';
import { graphToBytes } from '../onnx/write-graph.ts';
import { readInputValues } from '../io/input.ts';
import type { Sample } from '../io/samples.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * Activation ranges for static quantization: onnxruntime runs the float model on every calibration input, with
 * every intermediate tensor exposed as an extra graph output of a temporary copy, and each tensor's smallest and
 * largest value over all inputs is kept (min/max calibration, onnxruntime's quantizer default).
 */
export interface Ranges {
  /** [min, max] per tensor name (graph inputs and every computed float tensor). */
  ranges: Map<string, [number, number]>;
  samples: number;
}

/** Every model input of a sample as a flat float array, by input name. */
export function sampleFeeds(graph: Graph, sample: Sample): { name: string; dims: number[]; data: number[] }[] {
  const values = readInputValues(sample.value, graph.inputs, sample.source);
  return graph.inputs.map((spec, k) => ({ name: spec.name, dims: spec.shape, data: values[k] }));
}

export async function calibrateRanges(graph: Graph, samples: Sample[], onSample?: (i: number) => void): Promise<Ranges> {
  const ort = await import('onnxruntime-node');
  const computed = graph.nodes
    .filter((n) => !n.outputs.every((o) => !o || graph.constants.has(o)))
    .flatMap((n) => n.outputs.filter((o) => o && !graph.constants.has(o)));
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const extra = [...new Set(computed)].filter((o) => !outputs.has(o));
  let session: import('onnxruntime-node').InferenceSession;
  try {
    session = await ort.InferenceSession.create(graphToBytes(graph, { extraOutputs: extra }), { logSeverityLevel: 3 });
  } catch (err) {
    throw new ZkmlError(`onnxruntime cannot run the calibration copy of the model (${(err as Error).message.split('\n')[0]})`, 'E_ORT', graph.path);
  }
  const ranges = new Map<string, [number, number]>();
  const widen = (name: string, values: ArrayLike<number>) => {
    let [lo, hi] = ranges.get(name) ?? [Infinity, -Infinity];
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    ranges.set(name, [lo, hi]);
  };
  try {
    for (const [i, sample] of samples.entries()) {
      const feeds: Record<string, import('onnxruntime-node').Tensor> = {};
      for (const f of sampleFeeds(graph, sample)) {
        feeds[f.name] = new ort.Tensor('float32', Float32Array.from(f.data), f.dims);
        widen(f.name, f.data);
      }
      const out = await session.run(feeds);
      for (const name of session.outputNames) widen(name, out[name].data as Float32Array);
      onSample?.(i);
    }
  } finally {
    await session.release();
  }
  return { ranges, samples: samples.length };
}
