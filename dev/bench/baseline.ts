/**
 * The circomlib-ml baseline of the benchmark: a model encoded the way keras2circom + circomlib-ml encode it
 * (templates in baseline.circom), to measure what zkml's rules save on the same model.
 *
 * The graph (loaded and BatchNorm-folded exactly as zkml does) becomes a chain of circomlib-ml layers:
 * Gemm / MatMul → Dense, Conv (2-D, square kernel, equal strides, no dilation or groups) → [ZeroPadding2D +]
 * Conv2D, Relu → ReLU, MaxPool (square, no padding) → MaxPooling2D, a constant Add after Dense/Conv → its
 * bias; Reshape/Flatten are wiring; a final Softmax/LogSoftmax is dropped (like zkml, the circuit outputs the
 * logits). Images are channels-last in the circuit, as keras has them; the witness generator maps ONNX's
 * channels-first order onto that.
 * Numbers are fixed point with `scale` fractional bits, as keras2circom scales by one factor n: inputs and
 * weights at n = 2^scale, biases at n², each Dense/Conv2D divides by n.
 *
 * Cost structure predicted per layer (checked against circom in test/baseline.test.ts):
 * - Dense: nIn·nOut, one constraint per weight;
 * - Conv2D: one per multiply-accumulate over the unpadded input (padding zeros are constants circom folds);
 * - ReLU: 517 per element (Num2Bits(254) 254, Sign's CompConstant 127 + Num2Bits(135) 135, the product 1);
 * - MaxPooling2D: 254 per window element (GreaterThan(252) = Num2Bits(253) 253, Switcher 1), less 1 per window:
 *   the first element is compared with itself, and its Switcher's product by R − L = 0 folds away.
 * The output copy `out <== L_out` costs nothing: circom folds it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadOnnx } from '../../src/compiler/passes/load.ts';
import { foldBatchNorms } from '../../src/compiler/passes/fuse-batchnorm.ts';
import { attrFloat, attrInt, attrInts, nodeLabel, type Graph, type OnnxNode } from '../../src/onnx/graph.ts';
import type { Tensor } from '../../src/onnx/tensor.ts';
import { windowOf } from '../../src/ops/window.ts';
import { toFixed } from '../../src/quantize/fixed.ts';
import { bundleCircom } from '../../src/circom/bundle.ts';
import { compileCircom, NODE_MODULES_DIR, type CircomResult } from '../../src/circom/compile.ts';
import { ZkmlError } from '../../src/util/errors.ts';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));

/** Constraints of circomlib-ml's ReLU after circom --O2: Num2Bits(254) + Sign() (127 + 135) + 1 product. */
export const RELU_CONSTRAINTS = 254 + 127 + 135 + 1;
/** Constraints per element of circomlib-ml's Max: GreaterThan(252) (a 253-bit Num2Bits) + a Switcher. */
export const MAX_ELEMENT_CONSTRAINTS = 253 + 1;

/**
 * An activation tensor of the chain: `n` values in ONNX order; an image (`image` set) is stored channels
 * last, `[h][w][c]`, in the circuit, and is still an image after a Flatten (`flat`) for wiring purposes.
 */
export interface Act {
  n: number;
  image?: { c: number; h: number; w: number };
  /** A flattened image: consumers see n flat values, the signal keeps its [h][w][c] layout. */
  flat: boolean;
}

interface Common {
  id: string;
  node: string;
  input: Act;
  output: Act;
}

export type BaselineLayer = Common &
  (
    | { kind: 'Dense'; nIn: number; nOut: number; /** [nIn][nOut] row-major */ weights: number[]; bias: number[] }
    | {
        kind: 'Conv2D';
        /** ONNX layout [F][C][K][K]. */
        weights: number[];
        bias: number[];
        f: number;
        k: number;
        stride: number;
        pads: { top: number; left: number; bottom: number; right: number };
      }
    | { kind: 'ReLU' }
    | { kind: 'MaxPooling2D'; pool: number; stride: number }
  );

export interface Baseline {
  model: string;
  /** Fractional bits of every value (n = 2^scale in circomlib-ml's Dense and Conv2D). */
  scale: number;
  inputName: string;
  input: Act;
  outputName: string;
  layers: BaselineLayer[];
  /** Constraints the cost structure predicts, per layer (by ONNX node) and in total. */
  predicted: { perLayer: { id: string; node: string; kind: string; constraints: number }[]; total: number };
  /** The main circuit (includes baseline.circom). */
  circom: string;
}

export interface BaselineOptions {
  /** Fractional bits (default 8, zkml's default scale). */
  scale?: number;
}

const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

/** W[k][n] (row-major [K][N]) from a constant B, transposed if asked, times alpha. */
function weightsKN(B: Tensor, transB: boolean, alpha: number): { K: number; N: number; w: number[] } {
  const [r, c] = B.dims;
  const [K, N] = transB ? [c, r] : [r, c];
  const w = Array.from({ length: K * N }, (_, i) => alpha * (transB ? B.data[(i % N) * K + Math.floor(i / N)] : B.data[i]));
  return { K, N, w };
}

/** Per-output (per-channel) bias of length N from a constant that holds one value, or one per output. */
function biasOf(C: Tensor | undefined, N: number, beta: number): number[] | undefined {
  if (!C) return new Array(N).fill(0);
  if (C.data.length === 1) return new Array(N).fill(beta * C.data[0]);
  if (C.data.length === N) return C.data.map((v) => beta * v);
  return undefined;
}

/** Number of kernel taps (0..k-1) landing inside [0, n) for each output position along one axis. */
function insideCounts(n: number, out: number, k: number, stride: number, padBegin: number): number[] {
  return Array.from({ length: out }, (_, i) => {
    let count = 0;
    for (let x = 0; x < k; x++) {
      const at = i * stride + x - padBegin;
      if (at >= 0 && at < n) count++;
    }
    return count;
  });
}

function predictedCost(l: BaselineLayer): number {
  switch (l.kind) {
    case 'Dense':
      return l.nIn * l.nOut;
    case 'ReLU':
      return l.input.n * RELU_CONSTRAINTS;
    case 'MaxPooling2D':
      return l.output.n * (l.pool * l.pool * MAX_ELEMENT_CONSTRAINTS - 1);
    case 'Conv2D': {
      const i = l.input.image!;
      const o = l.output.image!;
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      const rows = sum(insideCounts(i.h, o.h, l.k, l.stride, l.pads.top));
      const cols = sum(insideCounts(i.w, o.w, l.k, l.stride, l.pads.left));
      return rows * cols * i.c * l.f;
    }
  }
}

/** Reads the graph as a chain of circomlib-ml layers. */
function layersOf(graph: Graph): { layers: BaselineLayer[]; input: Act } {
  if (graph.inputs.length !== 1 || graph.outputs.length !== 1) {
    throw new ZkmlError(`the baseline takes models with one input and one output; this one has ${graph.inputs.length} and ${graph.outputs.length}`, 'E_UNSUPPORTED', graph.path);
  }
  const shape = graph.inputs[0].shape;
  const input: Act = shape.length === 4 && shape[0] === 1 ? { n: size(shape), image: { c: shape[1], h: shape[2], w: shape[3] }, flat: false } : { n: size(shape), flat: true };
  const c = graph.constants;
  const layers: BaselineLayer[] = [];
  let current = graph.inputs[0].name;
  let act = input;

  for (const n of graph.nodes) {
    if (n.outputs.every((o) => !o || c.has(o))) continue; // folded constant
    const where = `${graph.path}: ${nodeLabel(n)}`;
    const unsupported = (why: string) => new ZkmlError(`the circomlib-ml baseline ${why}`, 'E_UNSUPPORTED', where);
    if (n.inputs[0] !== current) throw unsupported(`takes a chain of layers, each consuming the previous one (this node reads ${n.inputs[0]})`);
    const common = { id: `L${layers.length}`, node: n.name, input: act };
    const flatInput = () => {
      if (!act.flat) throw unsupported('takes an image into a dense layer only after a Flatten or Reshape');
      return act.n;
    };
    const last = layers.at(-1);
    switch (n.opType) {
      case 'Gemm':
      case 'MatMul': {
        const B = c.get(n.inputs[1]);
        if (!B || B.dims.length !== 2) throw unsupported('needs constant 2-D weights on the right');
        if (n.opType === 'Gemm' && attrInt(n, 'transA', 0)) throw unsupported('does not take transA');
        const gemm = n.opType === 'Gemm';
        const { K, N, w } = weightsKN(B, gemm && attrInt(n, 'transB', 0) === 1, gemm ? attrFloat(n, 'alpha', 1) : 1);
        if (K !== flatInput()) throw unsupported(`expected ${act.n} inputs, the weights have ${K}`);
        const bias = biasOf(gemm && n.inputs[2] ? c.get(n.inputs[2]) : undefined, N, gemm ? attrFloat(n, 'beta', 1) : 1);
        if (!bias) throw unsupported('takes a per-output bias only');
        act = { n: N, flat: true };
        layers.push({ ...common, output: act, kind: 'Dense', nIn: K, nOut: N, weights: w, bias });
        break;
      }
      case 'Conv': {
        const img = act.image;
        if (!img || act.flat) throw unsupported('takes Conv on an image [1, C, H, W]');
        const W = c.get(n.inputs[1]);
        if (!W || W.dims.length !== 4 || W.dims[1] !== img.c || W.dims[2] !== W.dims[3]) throw unsupported('takes constant square kernels [F, C, K, K] (no groups)');
        if (attrInt(n, 'group', 1) !== 1) throw unsupported('takes Conv without groups');
        const k = W.dims[2];
        const win = windowOf(n, where, [img.h, img.w], [k, k]);
        if (win.dilations.some((d) => d !== 1) || win.strides[0] !== win.strides[1]) throw unsupported('takes Conv with equal strides and no dilation');
        const f = W.dims[0];
        const bias = biasOf(n.inputs[2] ? c.get(n.inputs[2]) : undefined, f, 1)!;
        act = { n: f * win.output[0] * win.output[1], image: { c: f, h: win.output[0], w: win.output[1] }, flat: false };
        layers.push({
          ...common, output: act, kind: 'Conv2D', weights: W.data, bias, f, k, stride: win.strides[0],
          pads: { top: win.padsBegin[0], left: win.padsBegin[1], bottom: win.padsEnd[0], right: win.padsEnd[1] },
        });
        break;
      }
      case 'MaxPool': {
        const img = act.image;
        if (!img || act.flat) throw unsupported('takes MaxPool on an image [1, C, H, W]');
        const kernel = attrInts(n, 'kernel_shape') ?? [];
        if (kernel.length !== 2 || kernel[0] !== kernel[1]) throw unsupported('takes square 2-D MaxPool kernels');
        if (attrInt(n, 'ceil_mode', 0) === 1 || n.outputs[1]) throw unsupported('takes MaxPool without ceil_mode or indices');
        const win = windowOf(n, where, [img.h, img.w], kernel);
        if (win.padsBegin.some((p) => p) || win.padsEnd.some((p) => p) || win.strides[0] !== win.strides[1] || win.dilations.some((d) => d !== 1)) {
          throw unsupported('takes MaxPool without padding or dilation, with equal strides');
        }
        act = { n: img.c * win.output[0] * win.output[1], image: { c: img.c, h: win.output[0], w: win.output[1] }, flat: false };
        layers.push({ ...common, output: act, kind: 'MaxPooling2D', pool: kernel[0], stride: win.strides[0] });
        break;
      }
      case 'Add': {
        // A constant added to a Dense or Conv2D output is its bias (keras' layers have one).
        const C = c.get(n.inputs[1]);
        const channels = last?.kind === 'Dense' ? last.nOut : last?.kind === 'Conv2D' ? last.f : 0;
        const bias = C && channels ? biasOf(C, channels, 1) : undefined;
        if (!bias || !last || (last.kind !== 'Dense' && last.kind !== 'Conv2D') || last.bias.some((b) => b !== 0)) {
          throw unsupported('takes Add only as the per-output bias of the Dense or Conv before it');
        }
        last.bias = bias;
        break;
      }
      case 'Relu':
        layers.push({ ...common, output: act, kind: 'ReLU' });
        break;
      case 'Reshape':
      case 'Flatten':
      case 'Squeeze':
      case 'Unsqueeze':
      case 'Identity': {
        const out = graph.shapes.get(n.outputs[0]) ?? [];
        const isFlat = out.filter((d) => d !== 1).length <= 1;
        if (act.image && !act.flat && !isFlat && n.opType !== 'Identity') throw unsupported(`takes reshapes of images to flat vectors only (got [${out}])`);
        if (act.image && isFlat) act = { ...act, flat: true };
        break;
      }
      case 'Softmax':
      case 'LogSoftmax':
        if (n.outputs[0] !== graph.outputs[0].name) throw unsupported('takes Softmax only as the final op');
        break;
      default:
        throw unsupported(`supports Gemm, MatMul, Conv, MaxPool, Relu, Add (bias) and reshapes, not ${n.opType}`);
    }
    current = n.outputs[0];
  }
  if (current !== graph.outputs[0].name) throw new ZkmlError(`the chain ends at ${current}, not at the graph output ${graph.outputs[0].name}`, 'E_UNSUPPORTED', graph.path);
  if (layers.length === 0) throw new ZkmlError('the model computes nothing the baseline encodes', 'E_UNSUPPORTED', graph.path);
  return { layers, input };
}

/** Circom dimensions of a tensor's signal: [n], or [h][w][c] for an image. */
const dims = (a: Act) => (a.image ? `[${a.image.h}][${a.image.w}][${a.image.c}]` : `[${a.n}]`);

/** The element of signal `s` that holds ONNX flat index `i` (a circom expression over the var `i`). */
function flatRef(s: string, a: Act, i = 'i'): string {
  if (!a.image) return `${s}[${i}]`;
  const { h, w } = a.image;
  return `${s}[(${i} \\ ${w}) % ${h}][${i} % ${w}][${i} \\ ${h * w}]`;
}

/** Loops over an image's [h][w][c] positions around `body` (which uses i, j, k). */
function imageLoop(a: Act, body: string[]): string[] {
  const { c, h, w } = a.image!;
  return [`    for (var i = 0; i < ${h}; i++) for (var j = 0; j < ${w}; j++) for (var k = 0; k < ${c}; k++) {`, ...body.map((l) => `        ${l}`), '    }'];
}

/** The main circuit: every weight, bias, layer output and remainder is a private input, as keras2circom makes them. */
function emit(layers: BaselineLayer[], input: Act, scale: number): string {
  const n = (1n << BigInt(scale)).toString();
  const decl: string[] = [`    signal input in${dims(input)};`];
  const body: string[] = [];
  let prev = 'in';
  for (const l of layers) {
    const out = `${l.id}_out`;
    if (l.kind === 'Dense') {
      decl.push(`    signal input ${l.id}_weights[${l.nIn}][${l.nOut}];`, `    signal input ${l.id}_bias[${l.nOut}];`, `    signal input ${out}[${l.nOut}];`, `    signal input ${l.id}_remainder[${l.nOut}];`);
      body.push(
        `    component ${l.id} = Dense(${l.nIn}, ${l.nOut}, ${n});`,
        `    for (var i = 0; i < ${l.nIn}; i++) {`,
        `        ${l.id}.in[i] <== ${flatRef(prev, l.input)};`,
        `        for (var j = 0; j < ${l.nOut}; j++) ${l.id}.weights[i][j] <== ${l.id}_weights[i][j];`,
        '    }',
        `    for (var j = 0; j < ${l.nOut}; j++) {`,
        `        ${l.id}.bias[j] <== ${l.id}_bias[j];`,
        `        ${l.id}.out[j] <== ${out}[j];`,
        `        ${l.id}.remainder[j] <== ${l.id}_remainder[j];`,
        '    }',
      );
    } else if (l.kind === 'Conv2D') {
      const i = l.input.image!;
      const { top, left, bottom, right } = l.pads;
      const padded = top + left + bottom + right > 0;
      decl.push(`    signal input ${l.id}_weights[${l.k}][${l.k}][${i.c}][${l.f}];`, `    signal input ${l.id}_bias[${l.f}];`, `    signal input ${out}${dims(l.output)};`, `    signal input ${l.id}_remainder${dims(l.output)};`);
      let src = prev;
      if (padded) {
        body.push(`    component ${l.id}_pad = ZeroPadding2D(${i.h}, ${i.w}, ${i.c}, ${top}, ${bottom}, ${left}, ${right});`, ...imageLoop(l.input, [`${l.id}_pad.in[i][j][k] <== ${prev}[i][j][k];`]));
        src = `${l.id}_pad.out`;
      }
      const inAct: Act = { n: 0, flat: false, image: { c: i.c, h: i.h + top + bottom, w: i.w + left + right } };
      body.push(
        `    component ${l.id} = Conv2D(${inAct.image!.h}, ${inAct.image!.w}, ${i.c}, ${l.f}, ${l.k}, ${l.stride}, ${n});`,
        ...imageLoop(inAct, [`${l.id}.in[i][j][k] <== ${src}[i][j][k];`]),
        `    for (var x = 0; x < ${l.k}; x++) for (var y = 0; y < ${l.k}; y++) for (var k = 0; k < ${i.c}; k++) for (var m = 0; m < ${l.f}; m++) ${l.id}.weights[x][y][k][m] <== ${l.id}_weights[x][y][k][m];`,
        `    for (var m = 0; m < ${l.f}; m++) ${l.id}.bias[m] <== ${l.id}_bias[m];`,
        ...imageLoop(l.output, [`${l.id}.out[i][j][k] <== ${out}[i][j][k];`, `${l.id}.remainder[i][j][k] <== ${l.id}_remainder[i][j][k];`]),
      );
    } else if (l.kind === 'MaxPooling2D') {
      const i = l.input.image!;
      decl.push(`    signal input ${out}${dims(l.output)};`);
      body.push(
        `    component ${l.id} = MaxPooling2D(${i.h}, ${i.w}, ${i.c}, ${l.pool}, ${l.stride});`,
        ...imageLoop(l.input, [`${l.id}.in[i][j][k] <== ${prev}[i][j][k];`]),
        ...imageLoop(l.output, [`${l.id}.out[i][j][k] <== ${out}[i][j][k];`]),
      );
    } else {
      decl.push(`    signal input ${out}${dims(l.output)};`);
      body.push(`    component ${l.id}[${l.input.n}];`);
      if (l.input.image) {
        const { c, w } = l.input.image;
        const at = `(i * ${w} + j) * ${c} + k`;
        body.push(...imageLoop(l.input, [`${l.id}[${at}] = ReLU();`, `${l.id}[${at}].in <== ${prev}[i][j][k];`, `${l.id}[${at}].out <== ${out}[i][j][k];`]));
      } else {
        body.push(`    for (var i = 0; i < ${l.input.n}; i++) {`, `        ${l.id}[i] = ReLU();`, `        ${l.id}[i].in <== ${prev}[i];`, `        ${l.id}[i].out <== ${out}[i];`, '    }');
      }
    }
    prev = out;
  }
  const final = layers.at(-1)!.output;
  return [
    'pragma circom 2.1.0;',
    '// circomlib-ml-style baseline (dev/bench/baseline.ts): weights, biases, layer outputs and remainders are private inputs.',
    'include "baseline.circom";',
    '',
    'template Model() {',
    ...decl,
    `    signal output out[${final.n}];`,
    '',
    ...body,
    `    for (var i = 0; i < ${final.n}; i++) out[i] <== ${flatRef(prev, final)};`,
    '}',
    '',
    'component main = Model();',
    '',
  ].join('\n');
}

export function buildBaseline(modelPath: string, opts: BaselineOptions = {}): Baseline {
  const scale = opts.scale ?? 8;
  if (!Number.isInteger(scale) || scale < 1 || scale > 60) throw new ZkmlError(`the baseline scale must be an integer in [1, 60], got ${scale}`, 'E_OPTION');
  const graph = foldBatchNorms(loadOnnx(modelPath));
  const { layers, input } = layersOf(graph);
  const perLayer = layers.map((l) => ({ id: l.id, node: l.node, kind: l.kind, constraints: predictedCost(l) }));
  return {
    model: modelPath,
    scale,
    inputName: graph.inputs[0].name,
    input,
    outputName: graph.outputs[0].name,
    layers,
    predicted: { perLayer, total: perLayer.reduce((a, l) => a + l.constraints, 0) },
    circom: emit(layers, input, scale),
  };
}

/** ONNX-order values as the circuit's signal value: flat strings, or nested [h][w][c] for an image. */
function toSignal(values: bigint[], a: Act): unknown {
  if (!a.image) return values.map(String);
  const { c, h, w } = a.image;
  return Array.from({ length: h }, (_, i) => Array.from({ length: w }, (_, j) => Array.from({ length: c }, (_, k) => values[(k * h + i) * w + j].toString())));
}

/** floor(v / 2^s) and its remainder: circomlib-ml's rescaling, done by the prover. */
function divide(v: bigint, s: number): [bigint, bigint] {
  const q = v >> BigInt(s); // floor, also for negative v
  return [q, v - (q << BigInt(s))];
}

/**
 * The witness input for one model input (flat floats, ONNX order): the quantized input, weights and biases,
 * and every layer's output and remainder, computed as circomlib-ml's prover does. Also returns the output
 * integers (at `scale` fractional bits).
 */
export function baselineWitnessInput(b: Baseline, input: number[]): { input: Record<string, unknown>; output: bigint[] } {
  if (input.length !== b.input.n) throw new ZkmlError(`expected ${b.input.n} input values, got ${input.length}`, 'E_INPUT_SHAPE', b.model);
  const s = b.scale;
  let x = input.map((v) => toFixed(v, s, `input "${b.inputName}"`));
  const signals: Record<string, unknown> = { in: toSignal(x, b.input) };
  for (const l of b.layers) {
    const where = `${b.model}: node "${l.node}"`;
    if (l.kind === 'Dense') {
      const W = l.weights.map((w) => toFixed(w, s, where));
      const bias = l.bias.map((v) => toFixed(v, 2 * s, where));
      const qr = bias.map((b0, j) => {
        let v = b0;
        for (let i = 0; i < l.nIn; i++) v += x[i] * W[i * l.nOut + j];
        return divide(v, s);
      });
      signals[`${l.id}_weights`] = Array.from({ length: l.nIn }, (_, i) => W.slice(i * l.nOut, (i + 1) * l.nOut).map(String));
      signals[`${l.id}_bias`] = bias.map(String);
      x = qr.map(([q]) => q);
      signals[`${l.id}_out`] = toSignal(x, l.output);
      signals[`${l.id}_remainder`] = qr.map(([, r]) => r.toString());
    } else if (l.kind === 'Conv2D') {
      const { c, h, w } = l.input.image!;
      const o = l.output.image!;
      const K = l.k;
      const W = l.weights.map((v) => toFixed(v, s, where));
      const bias = l.bias.map((v) => toFixed(v, 2 * s, where));
      const q: bigint[] = new Array(l.output.n);
      const r: bigint[] = new Array(l.output.n);
      for (let f = 0; f < l.f; f++) for (let i = 0; i < o.h; i++) for (let j = 0; j < o.w; j++) {
        let v = bias[f];
        for (let ch = 0; ch < c; ch++) for (let dx = 0; dx < K; dx++) for (let dy = 0; dy < K; dy++) {
          const y0 = i * l.stride + dx - l.pads.top;
          const x0 = j * l.stride + dy - l.pads.left;
          if (y0 >= 0 && y0 < h && x0 >= 0 && x0 < w) v += x[(ch * h + y0) * w + x0] * W[((f * c + ch) * K + dx) * K + dy];
        }
        [q[(f * o.h + i) * o.w + j], r[(f * o.h + i) * o.w + j]] = divide(v, s);
      }
      // circomlib-ml's weights are [x][y][channel][filter].
      signals[`${l.id}_weights`] = Array.from({ length: K }, (_, dx) => Array.from({ length: K }, (_, dy) => Array.from({ length: c }, (_, ch) => Array.from({ length: l.f }, (_, f) => W[((f * c + ch) * K + dx) * K + dy].toString()))));
      signals[`${l.id}_bias`] = bias.map(String);
      x = q;
      signals[`${l.id}_out`] = toSignal(q, l.output);
      signals[`${l.id}_remainder`] = toSignal(r, l.output);
    } else if (l.kind === 'MaxPooling2D') {
      const { h, w } = l.input.image!;
      const o = l.output.image!;
      const out: bigint[] = new Array(l.output.n);
      for (let ch = 0; ch < o.c; ch++) for (let i = 0; i < o.h; i++) for (let j = 0; j < o.w; j++) {
        let m: bigint | undefined;
        for (let dx = 0; dx < l.pool; dx++) for (let dy = 0; dy < l.pool; dy++) {
          const v = x[(ch * h + i * l.stride + dx) * w + j * l.stride + dy];
          if (m === undefined || v > m) m = v;
        }
        out[(ch * o.h + i) * o.w + j] = m!;
      }
      x = out;
      signals[`${l.id}_out`] = toSignal(x, l.output);
    } else {
      x = x.map((v) => (v > 0n ? v : 0n));
      signals[`${l.id}_out`] = toSignal(x, l.output);
    }
  }
  return { input: signals, output: x };
}

/** Writes circuit.circom (self-contained, circomlib inlined) into `outDir` and compiles it with circom2. */
export async function compileBaseline(b: Baseline, outDir: string): Promise<CircomResult> {
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'circuit.circom');
  writeFileSync(file, bundleCircom(b.circom, [BENCH_DIR, NODE_MODULES_DIR]));
  return compileCircom(file, outDir);
}
