/**
 * The benchmark's MNIST MLP with ReLU: 784 → Gemm(56) → Relu → Gemm(10), the shape keras2circom and
 * circomlib-ml use in their MNIST example, so constraint counts compare like for like. (The model zoo MLP,
 * pytorch.onnx, is linear: MatMul + BatchNormalization with no activation.)
 *
 * Trained here in plain TypeScript on the MNIST test set's images 2000..9999 (mini-batch SGD with momentum,
 * softmax cross-entropy), held-out accuracy measured on images 0..1999 — the calibration and bench samples
 * come from there. Everything is seeded (mulberry32) and float64, so every run writes the same weights.
 * Input "input" [1, 784] = pixels / 255 in [0, 1]; output "logits" [1, 10].
 */
import { writeFileSync } from 'node:fs';
import { model, node, attr, floatTensor, valueInfo, serialize, mulberry32 } from '../../fixtures/onnx-builder.ts';
import { loadMnist } from '../data/mnist.ts';

export const MLP784_INPUT = 'input';
export const MLP784_OUTPUT = 'logits';
const IN = 784;
const HIDDEN = 56;
const OUT = 10;
const HELD_OUT = 2000;

export interface Mlp784Options {
  mnistDir: string;
  epochs?: number;
  seed?: number;
  /** Training images used (from index 2000); fewer make a quick, less accurate model. */
  trainImages?: number;
}

export interface Mlp784 {
  onnx: Uint8Array;
  /** Float64 accuracy on the held-out images 0..1999. */
  heldOutAccuracy: number;
  trainImages: number;
  epochs: number;
}

/** Trains the network and returns the ONNX model bytes. Takes a few seconds. */
export function trainMlp784(opts: Mlp784Options): Mlp784 {
  const epochs = opts.epochs ?? 4;
  const rand = mulberry32(opts.seed ?? 784056010);
  const all = loadMnist(opts.mnistDir);
  const trainCount = Math.min(opts.trainImages ?? all.images.length - HELD_OUT, all.images.length - HELD_OUT);
  const toX = (img: Uint8Array) => Float64Array.from(img, (p) => p / 255);
  const train = Array.from({ length: trainCount }, (_, i) => ({ x: toX(all.images[HELD_OUT + i]), y: all.labels[HELD_OUT + i] }));
  const test = Array.from({ length: HELD_OUT }, (_, i) => ({ x: toX(all.images[i]), y: all.labels[i] }));

  // He-style uniform initialisation, row-major [out][in] like PyTorch's Linear (and Gemm with transB = 1).
  const init = (n: number, fanIn: number) => Float64Array.from({ length: n }, () => (2 * rand() - 1) * Math.sqrt(6 / fanIn));
  const w1 = init(HIDDEN * IN, IN);
  const b1 = new Float64Array(HIDDEN);
  const w2 = init(OUT * HIDDEN, HIDDEN);
  const b2 = new Float64Array(OUT);
  const vel = [w1, b1, w2, b2].map((p) => new Float64Array(p.length));
  const grad = [w1, b1, w2, b2].map((p) => new Float64Array(p.length));
  const h = new Float64Array(HIDDEN);
  const z = new Float64Array(OUT);

  const forward = (x: Float64Array) => {
    for (let j = 0; j < HIDDEN; j++) {
      let s = b1[j];
      for (let i = 0, o = j * IN; i < IN; i++) s += w1[o + i] * x[i];
      h[j] = s > 0 ? s : 0;
    }
    for (let k = 0; k < OUT; k++) {
      let s = b2[k];
      for (let j = 0, o = k * HIDDEN; j < HIDDEN; j++) s += w2[o + j] * h[j];
      z[k] = s;
    }
  };

  const batch = 32;
  const momentum = 0.9;
  const order = train.map((_, i) => i);
  for (let epoch = 0; epoch < epochs; epoch++) {
    const lr = 0.05 / (1 + epoch);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (let start = 0; start < order.length; start += batch) {
      grad.forEach((g) => g.fill(0));
      const end = Math.min(order.length, start + batch);
      for (let s = start; s < end; s++) {
        const { x, y } = train[order[s]];
        forward(x);
        // Softmax cross-entropy: d loss / d z = softmax(z) - onehot(y).
        const m = Math.max(...z);
        const dz = Array.from(z, (v) => Math.exp(v - m));
        const sum = dz.reduce((a, b) => a + b, 0);
        for (let k = 0; k < OUT; k++) dz[k] = dz[k] / sum - (k === y ? 1 : 0);
        for (let k = 0; k < OUT; k++) {
          grad[3][k] += dz[k];
          for (let j = 0, o = k * HIDDEN; j < HIDDEN; j++) grad[2][o + j] += dz[k] * h[j];
        }
        for (let j = 0; j < HIDDEN; j++) {
          if (h[j] <= 0) continue;
          let dh = 0;
          for (let k = 0; k < OUT; k++) dh += dz[k] * w2[k * HIDDEN + j];
          grad[1][j] += dh;
          for (let i = 0, o = j * IN; i < IN; i++) grad[0][o + i] += dh * x[i];
        }
      }
      const n = end - start;
      [w1, b1, w2, b2].forEach((p, q) => {
        for (let i = 0; i < p.length; i++) {
          vel[q][i] = momentum * vel[q][i] - (lr * grad[q][i]) / n;
          p[i] += vel[q][i];
        }
      });
    }
  }

  let correct = 0;
  for (const { x, y } of test) {
    forward(x);
    let best = 0;
    for (let k = 1; k < OUT; k++) if (z[k] > z[best]) best = k;
    if (best === y) correct++;
  }

  const onnx = serialize(
    model({
      name: 'mlp784_56_10',
      docString: `784-56-10 ReLU MLP trained on MNIST test images 2000..${2000 + trainCount - 1} (${epochs} epochs); input = pixels / 255`,
      inputs: [valueInfo(MLP784_INPUT, [1, IN])],
      outputs: [valueInfo(MLP784_OUTPUT, [1, OUT])],
      initializers: [
        floatTensor('fc1.weight', [HIDDEN, IN], w1),
        floatTensor('fc1.bias', [HIDDEN], b1),
        floatTensor('fc2.weight', [OUT, HIDDEN], w2),
        floatTensor('fc2.bias', [OUT], b2),
      ],
      nodes: [
        node('Gemm', [MLP784_INPUT, 'fc1.weight', 'fc1.bias'], ['fc1'], { name: 'fc1', attrs: { transB: attr.int(1) } }),
        node('Relu', ['fc1'], ['relu1'], { name: 'relu1' }),
        node('Gemm', ['relu1', 'fc2.weight', 'fc2.bias'], [MLP784_OUTPUT], { name: 'fc2', attrs: { transB: attr.int(1) } }),
      ],
    }),
  );
  return { onnx, heldOutAccuracy: correct / test.length, trainImages: trainCount, epochs };
}

/** Trains and writes the model to `path`. */
export function writeMlp784(path: string, opts: Mlp784Options): Mlp784 {
  const m = trainMlp784(opts);
  writeFileSync(path, m.onnx);
  return m;
}
