import { writeFileAtomic } from '../util/atomic.ts';
import type { Graph, OnnxNode } from '../onnx/graph.ts';
import { attrFloat, attrInt, nodeLabel } from '../onnx/graph.ts';
import { loadOnnx } from '../compiler/passes/load.ts';
import { foldBatchNorms } from '../compiler/passes/fuse-batchnorm.ts';
import { normAxis, sizeOf, type Tensor } from '../onnx/tensor.ts';
import { graphToBytes } from '../onnx/write-graph.ts';
import type { Sample } from '../io/samples.ts';
import { calibrateRanges, sampleFeeds } from './ranges.ts';
import { argmax } from '../io/output.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * `zkml quantize`: static post-training quantization of a float ONNX model into a QDQ model that onnxruntime
 * runs and zkml compiles to exact int8 arithmetic (compiler/passes/qdq.ts):
 * - activations: asymmetric uint8 (default) or int8, one scale and zero point per tensor from the min/max that
 *   onnxruntime computes over the calibration inputs (ptq/ranges.ts), the range widened to include 0 as
 *   onnxruntime's quantizer does (so 0 is exact and a Relu's output gets zero point = qmin);
 * - weights: symmetric int8 in [-127, 127], per output channel (default) or per tensor;
 * - biases: int32 at scale input_scale × weight_scale (per channel), zero point 0, as integer kernels add them;
 * - QuantizeLinear → DequantizeLinear pairs after every quantized tensor; Conv/Gemm/MatMul read DQ'd
 *   activations, DQ'd weights and biases; a Relu right after a Conv/Gemm/MatMul/Add is quantized at its output
 *   only (the pattern onnxruntime fuses); data-movement ops (Reshape, Flatten, Transpose, MaxPool, ...) keep
 *   their input's parameters; a final Softmax/LogSoftmax stays in float on the dequantized logits.
 * Before quantizing, in float: BatchNormalization folds into the layer before it (compiler/passes/fuse-batchnorm.ts), a constant Add
 * after a Conv or a 2-D MatMul becomes its bias, and Gemm's alpha/beta are folded into its constants, so every
 * layer is one integer op with one requantization.
 */
export type ActivationType = 'uint8' | 'int8';

export interface PtqOptions {
  activations?: ActivationType;
  perChannel?: boolean;
  onProgress?: (step: string, data?: Record<string, unknown>) => void;
}

export interface PtqReport {
  model: string;
  output: string;
  samples: number;
  opset: number;
  activations: ActivationType;
  perChannel: boolean;
  /** Quantized activation tensors with their parameters. */
  tensors: { name: string; scale: number; zeroPoint: number; range: [number, number] }[];
  /** Quantized layers (Conv/Gemm/MatMul) and their weight scale count. */
  layers: { node: string; op: string; weightScales: number }[];
  /** onnxruntime: QDQ model vs float model on the calibration inputs. */
  calibration: { top1Agreement: number; maxAbsError: number };
}

const LINEAR = new Set(['Conv', 'Gemm', 'MatMul']);
const MOVE = new Set(['Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze', 'Identity', 'MaxPool', 'GlobalMaxPool']);
const FINAL = new Set(['Softmax', 'LogSoftmax']);
const SUPPORTED = new Set([...LINEAR, ...MOVE, ...FINAL, 'Relu', 'Add', 'Dropout']);
export const QUANTIZE_OPSET = 13;

interface QP {
  scale: number;
  zeroPoint: number;
  dtype: ActivationType | 'int8' | 'int32';
}

/** Round half to even, as numpy's np.round in onnxruntime's quantizer. */
function rint(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
}

/** Asymmetric activation parameters from a calibrated [min, max], the range extended to include 0. */
export function activationParams([lo, hi]: [number, number], dtype: ActivationType): QP {
  const [qmin, qmax] = dtype === 'uint8' ? [0, 255] : [-128, 127];
  const rmin = Math.min(lo, 0);
  const rmax = Math.max(hi, 0);
  if (!(rmax > rmin)) return { scale: 1, zeroPoint: dtype === 'uint8' ? 0 : 0, dtype };
  const scale = Math.fround((rmax - rmin) / (qmax - qmin));
  const zeroPoint = Math.min(qmax, Math.max(qmin, rint(qmin - rmin / scale)));
  return { scale, zeroPoint, dtype };
}

/** Symmetric int8 weights in [-127, 127] with one scale per slice along `axis` (or one for all). */
function quantizeWeights(w: Tensor, axis: number | undefined): { ints: number[]; scales: number[] } {
  const channels = axis === undefined ? 1 : w.dims[axis];
  const inner = axis === undefined ? w.data.length : sizeOf(w.dims.slice(axis + 1));
  const ch = (i: number) => (axis === undefined ? 0 : Math.floor(i / inner) % channels);
  const absmax = new Array(channels).fill(0);
  w.data.forEach((v, i) => (absmax[ch(i)] = Math.max(absmax[ch(i)], Math.abs(v))));
  const scales = absmax.map((m) => (m > 0 ? Math.fround(m / 127) : 1));
  const ints = w.data.map((v, i) => Math.min(127, Math.max(-127, rint(v / scales[ch(i)]))));
  return { ints, scales };
}

// ---------------------------------------------------------------------------------------------------------------
// Float preparation

/** Brings nodes of older opsets to their opset-13 form (Q/DQ per axis needs opset 13). */
function upgradeOpset(graph: Graph): void {
  if (graph.opset >= QUANTIZE_OPSET) return;
  for (const n of graph.nodes) {
    const where = `${graph.path}: ${nodeLabel(n)}`;
    if ((n.opType === 'Squeeze' || n.opType === 'Unsqueeze') && n.attrs.has('axes')) {
      const name = `${n.name}__axes`;
      const axes = n.attrs.get('axes') as number[];
      graph.constants.set(name, { dtype: 'int64', dims: [axes.length], data: axes });
      graph.shapes.set(name, [axes.length]);
      n.inputs = [n.inputs[0], name];
      n.attrs.delete('axes');
    } else if (n.opType === 'Dropout') {
      n.opType = 'Identity';
      n.attrs = new Map();
      n.inputs = [n.inputs[0]];
      n.outputs = [n.outputs[0]];
    } else if (FINAL.has(n.opType)) {
      // Before opset 13 Softmax flattens to 2-D at `axis` (default 1): the same as per-axis on the last axis only.
      const rank = graph.shapes.get(n.inputs[0])?.length ?? 2;
      if (normAxis(attrInt(n, 'axis', 1), rank, where) !== rank - 1) throw new ZkmlError(`${n.opType} over more than the last axis (opset ${graph.opset}) is not supported`, 'E_UNSUPPORTED', where);
      n.attrs.set('axis', -1);
    } else if (n.opType === 'Reshape' && n.attrs.has('shape')) {
      throw new ZkmlError('Reshape with a shape attribute (opset < 5) is not supported', 'E_UNSUPPORTED', where);
    }
  }
  graph.opset = QUANTIZE_OPSET;
}

/**
 * A constant broadcast onto an [N, C, ...] tensor (or [M, N] for rank 2) that varies only along axis 1:
 * its C values, else undefined.
 */
function perChannelConst(c: Tensor, outShape: number[]): number[] | undefined {
  const r = outShape.length;
  if (c.dims.length > r) return undefined;
  const dims = [...new Array(r - c.dims.length).fill(1), ...c.dims];
  if (dims.some((d, a) => a !== 1 && d !== 1)) return undefined;
  const C = outShape[1];
  if (dims[1] === C) return c.data.slice();
  if (dims[1] === 1) return new Array(C).fill(c.data[0]);
  return undefined;
}

/** Conv + Add(const per channel) → Conv with bias; MatMul(2-D) + Add(const per column) → Gemm; Gemm alpha/beta folded. */
function fuseBiases(graph: Graph): void {
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of graph.nodes) for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const c = graph.constants;
  const removed = new Set<OnnxNode>();
  for (const lin of graph.nodes) {
    if (lin.domain || !['Conv', 'MatMul'].includes(lin.opType) || !c.has(lin.inputs[1])) continue;
    const y = lin.outputs[0];
    const uses = consumers.get(y) ?? [];
    const add = uses[0];
    if (uses.length !== 1 || outputs.has(y) || add.opType !== 'Add' || add.domain) continue;
    const other = add.inputs[0] === y ? add.inputs[1] : add.inputs[0];
    const k = c.get(other);
    const shape = graph.shapes.get(y)!;
    if (!k) continue;
    const values = perChannelConst(k, shape);
    if (!values) continue;
    const name = `${lin.name}__bias`;
    if (lin.opType === 'Conv') {
      const old = lin.inputs[2] ? c.get(lin.inputs[2]) : undefined;
      if (lin.inputs[2] && !old) continue;
      c.set(name, { dtype: 'float', dims: [values.length], data: values.map((v, i) => v + (old ? old.data[i] : 0)) });
      lin.inputs = [lin.inputs[0], lin.inputs[1], name];
    } else {
      if (shape.length !== 2 || c.get(lin.inputs[1])!.dims.length !== 2) continue;
      c.set(name, { dtype: 'float', dims: [values.length], data: values });
      lin.opType = 'Gemm';
      lin.attrs = new Map();
      lin.inputs = [lin.inputs[0], lin.inputs[1], name];
    }
    graph.shapes.set(name, [values.length]);
    lin.outputs[0] = add.outputs[0];
    graph.shapes.set(add.outputs[0], shape);
    removed.add(add);
  }
  graph.nodes = graph.nodes.filter((n) => !removed.has(n));
  for (const n of graph.nodes) {
    if (n.opType !== 'Gemm' || n.domain) continue;
    const alpha = attrFloat(n, 'alpha', 1);
    const beta = attrFloat(n, 'beta', 1);
    const B = c.get(n.inputs[1]);
    const C = n.inputs[2] ? c.get(n.inputs[2]) : undefined;
    if (!B) continue;
    if (alpha !== 1) {
      n.inputs[1] = `${n.name}__B`;
      c.set(n.inputs[1], { ...B, data: B.data.map((v) => v * alpha) });
      graph.shapes.set(n.inputs[1], B.dims);
    }
    if (C && beta !== 1) {
      n.inputs[2] = `${n.name}__C`;
      c.set(n.inputs[2], { ...C, data: C.data.map((v) => v * beta) });
      graph.shapes.set(n.inputs[2], C.dims);
    }
    n.attrs.delete('alpha');
    n.attrs.delete('beta');
  }
}

/** Loads the float model and brings it to the form that quantizes layer by layer. */
export function prepareFloat(modelPath: string): Graph {
  const graph = foldBatchNorms(loadOnnx(modelPath));
  const live = graph.nodes.filter((n) => !n.outputs.every((o) => !o || graph.constants.has(o)));
  const bad = live.filter((n) => n.domain || !SUPPORTED.has(n.opType));
  if (bad.length) {
    throw new ZkmlError(
      `zkml quantize handles ${[...SUPPORTED].join(', ')}; this model also has:\n  ${bad.map(nodeLabel).join('\n  ')}`,
      'E_UNSUPPORTED_OP',
      modelPath,
    );
  }
  if (graph.inputs.some((i) => i.dtype !== 'float')) throw new ZkmlError('every model input must be float to be quantized', 'E_UNSUPPORTED', modelPath);
  upgradeOpset(graph);
  fuseBiases(graph);
  return graph;
}

// ---------------------------------------------------------------------------------------------------------------
// QDQ construction

/**
 * The QDQ graph: the float graph's nodes reading dequantized tensors, with Q → DQ after every quantized
 * tensor and DQ'd constant weights and biases.
 */
function buildQdq(float: Graph, ranges: Map<string, [number, number]>, opts: Required<Omit<PtqOptions, 'onProgress'>>, report: PtqReport): Graph {
  const constants = new Map(float.constants);
  const shapes = new Map(float.shapes);
  const nodes: OnnxNode[] = [];
  const outputs = new Set(float.outputs.map((o) => o.name));
  const live = float.nodes.filter((n) => !n.outputs.every((o) => !o || float.constants.has(o)));
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of live) for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  /** The DQ output that stands for each quantized tensor, and its parameters. */
  const dq = new Map<string, string>();
  const qp = new Map<string, QP>();

  const addConst = (name: string, t: Tensor) => {
    constants.set(name, t);
    shapes.set(name, t.dims);
    return name;
  };
  const mk = (name: string, opType: string, inputs: string[], outs: string[], attrs: [string, number][] = []): OnnxNode => ({
    name, opType, domain: '', inputs, outputs: outs, attrs: new Map(attrs),
  });

  /** Q → DQ after float tensor `t` (written by its producer as `floatName`). */
  const quantize = (t: string, p: QP, floatName: string) => {
    const scale = addConst(`${t}_scale`, { dtype: 'float', dims: [], data: [p.scale] });
    const zp = addConst(`${t}_zero_point`, { dtype: p.dtype, dims: [], data: [p.zeroPoint] });
    const out = outputs.has(t) ? t : `${t}__dq`;
    nodes.push(mk(`${t}_QuantizeLinear`, 'QuantizeLinear', [floatName, scale, zp], [`${t}__q`]));
    nodes.push(mk(`${t}_DequantizeLinear`, 'DequantizeLinear', [`${t}__q`, scale, zp], [out]));
    shapes.set(`${t}__q`, shapes.get(t)!);
    shapes.set(out, shapes.get(t)!);
    dq.set(t, out);
    qp.set(t, p);
    report.tensors.push({ name: t, scale: p.scale, zeroPoint: p.zeroPoint, range: ranges.get(t) ?? [0, 0] });
  };
  const calibrated = (t: string, where: string): QP => {
    const r = ranges.get(t);
    if (!r || !Number.isFinite(r[0])) throw new ZkmlError(`no calibration range for tensor "${t}"`, 'E_INTERNAL', where);
    return activationParams(r, opts.activations);
  };

  for (const input of float.inputs) quantize(input.name, calibrated(input.name, input.name), input.name);

  for (const n of live) {
    const where = `${float.path}: ${nodeLabel(n)}`;
    const inputs = n.inputs.map((i) => (i && !constants.has(i) ? (dq.get(i) ?? i) : i));
    const out = n.outputs[0];
    const uses = consumers.get(out) ?? [];
    /** A Conv/Gemm/MatMul/Add whose only use is a Relu: quantized after the Relu (one fused group). */
    const feedsRelu = uses.length === 1 && uses[0].opType === 'Relu' && !outputs.has(out);
    let p: QP | undefined;

    if (LINEAR.has(n.opType)) {
      const W = constants.get(n.inputs[1]);
      if (!W || n.inputs[0] === n.inputs[1] || constants.has(n.inputs[0])) throw new ZkmlError(`${n.opType} needs computed activations and constant weights to be quantized`, 'E_UNSUPPORTED', where);
      if (!dq.has(n.inputs[0])) throw new ZkmlError(`${n.opType}'s input "${n.inputs[0]}" is not quantized (it follows an op that stays in float)`, 'E_UNSUPPORTED', where);
      if (n.opType === 'MatMul' && W.dims.length !== 2) throw new ZkmlError('MatMul weights must be 2-D to be quantized', 'E_UNSUPPORTED', where);
      const transB = n.opType === 'Gemm' && attrInt(n, 'transB', 0) === 1;
      const axis = opts.perChannel ? (n.opType === 'Conv' || transB ? 0 : 1) : undefined;
      const { ints, scales } = quantizeWeights(W, axis);
      const wName = n.inputs[1];
      const perAxis: [string, number][] = axis === undefined ? [] : [['axis', axis]];
      const sDims = axis === undefined ? [] : [scales.length];
      addConst(`${wName}_quantized`, { dtype: 'int8', dims: W.dims, data: ints });
      addConst(`${wName}_scale`, { dtype: 'float', dims: sDims, data: scales });
      addConst(`${wName}_zero_point`, { dtype: 'int8', dims: sDims, data: scales.map(() => 0) });
      nodes.push(mk(`${wName}_DequantizeLinear`, 'DequantizeLinear', [`${wName}_quantized`, `${wName}_scale`, `${wName}_zero_point`], [`${wName}__dq`], perAxis));
      inputs[1] = `${wName}__dq`;
      const bName = n.inputs[2];
      if (bName) {
        const b = constants.get(bName);
        const channels = n.opType === 'Conv' ? W.dims[0] : transB ? W.dims[0] : W.dims[1];
        if (!b || b.data.length !== channels) throw new ZkmlError(`the bias must be a constant with one value per output channel (${channels})`, 'E_UNSUPPORTED', where);
        const sx = qp.get(n.inputs[0])!.scale;
        const bScales = Array.from({ length: channels }, (_, ch) => Math.fround(Math.fround(sx) * scales[axis === undefined ? 0 : ch]));
        const bInts = b.data.map((v, ch) => Math.min(2 ** 31 - 1, Math.max(-(2 ** 31), rint(v / bScales[ch]))));
        const bAxis: [string, number][] = axis === undefined ? [] : [['axis', 0]];
        const bsDims = axis === undefined ? [] : [channels];
        addConst(`${bName}_quantized`, { dtype: 'int32', dims: [channels], data: bInts });
        addConst(`${bName}_scale`, { dtype: 'float', dims: bsDims, data: axis === undefined ? [bScales[0]] : bScales });
        addConst(`${bName}_zero_point`, { dtype: 'int32', dims: bsDims, data: (axis === undefined ? [0] : bScales).map(() => 0) });
        nodes.push(mk(`${bName}_DequantizeLinear`, 'DequantizeLinear', [`${bName}_quantized`, `${bName}_scale`, `${bName}_zero_point`], [`${bName}__dq`], bAxis));
        inputs[2] = `${bName}__dq`;
      }
      report.layers.push({ node: n.name, op: n.opType, weightScales: scales.length });
      if (!feedsRelu) p = calibrated(out, where);
    } else if (n.opType === 'Add') {
      if (n.inputs.some((i) => constants.has(i) || !dq.has(i))) {
        throw new ZkmlError('Add is quantized only between two quantized tensors (a constant Add must follow a Conv or 2-D MatMul, as its bias)', 'E_UNSUPPORTED', where);
      }
      if (!feedsRelu) p = calibrated(out, where);
    } else if (n.opType === 'Relu') {
      const from = live.find((m) => m.outputs[0] === n.inputs[0]);
      if (!from || dq.has(n.inputs[0]) || !(LINEAR.has(from.opType) || from.opType === 'Add')) {
        throw new ZkmlError('a Relu is quantized only right after a Conv, Gemm, MatMul or Add', 'E_UNSUPPORTED', where);
      }
      p = calibrated(out, where);
    } else if (MOVE.has(n.opType)) {
      const src = qp.get(n.inputs[0]);
      if (!src) throw new ZkmlError(`the input of ${n.opType} is not quantized`, 'E_UNSUPPORTED', where);
      // Data movement keeps its input's parameters: the QDQ pair around it then cancels (compiler/passes/qdq.ts).
      p = src;
    } else if (!FINAL.has(n.opType)) {
      throw new ZkmlError(`${n.opType} is not supported by zkml quantize`, 'E_UNSUPPORTED', where);
    }

    const written = p && outputs.has(out) ? `${out}__f` : out;
    nodes.push({ ...n, inputs, outputs: [written, ...n.outputs.slice(1)] });
    shapes.set(written, shapes.get(out)!);
    if (p) quantize(out, p, written);
  }
  return { ...float, nodes, constants, shapes, inputs: float.inputs.map((i) => ({ ...i })), outputs: float.outputs.map((o) => ({ ...o, dtype: 'float' })) };
}

/** Runs onnxruntime on both models over the calibration inputs: top-1 agreement and largest output difference. */
async function compareOnCalibration(float: Graph, floatBytes: Uint8Array, qdqBytes: Uint8Array, samples: Sample[]): Promise<PtqReport['calibration']> {
  const ort = await import('onnxruntime-node');
  const a = await ort.InferenceSession.create(floatBytes, { logSeverityLevel: 3 });
  const b = await ort.InferenceSession.create(qdqBytes, { logSeverityLevel: 3 });
  let agree = 0;
  let maxAbsError = 0;
  try {
    for (const s of samples) {
      const feeds = () => Object.fromEntries(sampleFeeds(float, s).map((f) => [f.name, new ort.Tensor('float32', Float32Array.from(f.data), f.dims)]));
      const [ra, rb] = [await a.run(feeds()), await b.run(feeds())];
      const name = float.outputs[0].name;
      const fa = Array.from(ra[name].data as Float32Array);
      const fb = Array.from(rb[name].data as Float32Array);
      if (argmax(fa) === argmax(fb)) agree++;
      fa.forEach((v, i) => (maxAbsError = Math.max(maxAbsError, Math.abs(v - fb[i]))));
    }
  } finally {
    await a.release();
    await b.release();
  }
  return { top1Agreement: agree / samples.length, maxAbsError };
}

export async function quantizeModel(modelPath: string, samples: Sample[], outPath: string, options: PtqOptions = {}): Promise<PtqReport> {
  const opts = { activations: options.activations ?? 'uint8', perChannel: options.perChannel ?? true };
  const progress = options.onProgress ?? (() => {});
  const float = prepareFloat(modelPath);
  progress('calibrate', { samples: samples.length });
  const { ranges } = await calibrateRanges(float, samples, (i) => progress('sample', { index: i }));
  const report: PtqReport = {
    model: modelPath, output: outPath, samples: samples.length, opset: QUANTIZE_OPSET, activations: opts.activations, perChannel: opts.perChannel,
    tensors: [], layers: [], calibration: { top1Agreement: 0, maxAbsError: 0 },
  };
  const qdq = buildQdq(float, ranges, opts, report);
  const doc = `zkml quantize: static PTQ (${opts.activations} activations, int8 ${opts.perChannel ? 'per-channel' : 'per-tensor'} weights, int32 biases), min/max over ${samples.length} calibration inputs`;
  const bytes = graphToBytes(qdq, { opset: QUANTIZE_OPSET, docString: doc });
  progress('verify');
  report.calibration = await compareOnCalibration(float, graphToBytes(float, { opset: QUANTIZE_OPSET }), bytes, samples);
  writeFileAtomic(outPath, bytes);
  return report;
}
