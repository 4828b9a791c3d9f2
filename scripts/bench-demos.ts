/**
 * The op families' demonstration models for `npm run bench` (issue 15): each is written into the bench cache
 * by a generator in fixtures/, with the compile options and a seeded input generator its agreement run
 * (scripts/bench-families.ts) and its proof run (scripts/bench-model.ts) share.
 */
import { writeFileSync } from 'node:fs';
import { serialize, mulberry32 } from '../fixtures/onnx-builder.ts';
import { ensembleModel, randomEnsemble } from '../fixtures/ml-models.ts';
import { gptModel, SMALL_GPT } from '../fixtures/gpt.ts';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Demo {
  family: string;
  name: string;
  /** What the model is, in a few words, for the table. */
  shape: string;
  write(path: string): void;
  options: Record<string, unknown>;
  /** The k-th seeded input, by graph input name. */
  input(k: number): Record<string, unknown>;
  /** Compare the argmax of each group of this many values along the output's last axis (a language model's next token). */
  top1?: number;
}

const LSTM = join(import.meta.dirname, '..', 'fixtures', 'lstm-regressor');

const features = (n: number, lo: number, hi: number) => (k: number) => {
  const rand = mulberry32(1000 + k);
  return { x: [Array.from({ length: n }, () => lo + rand() * (hi - lo))] };
};

export const DEMOS: Demo[] = [
  {
    family: 'tree ensembles',
    name: 'gradient boosting (binary)',
    shape: '50 trees of depth 4, 8 features, LOGISTIC',
    write: (p) => writeFileSync(p, serialize(ensembleModel('boosted', randomEnsemble({ kind: 'boosted', trees: 50, depth: 4, features: 8, seed: 1 })))),
    options: { inputRange: [-2, 2], inputScale: 16 },
    input: features(8, -2, 2),
  },
  {
    family: 'tree ensembles',
    name: 'random forest (3 classes)',
    shape: '20 trees of depth 5, 8 features',
    write: (p) => writeFileSync(p, serialize(ensembleModel('forest', randomEnsemble({ kind: 'forest', trees: 20, depth: 5, features: 8, classes: 3, seed: 2 })))),
    options: { inputRange: [-2, 2], inputScale: 16 },
    input: features(8, -2, 2),
  },
  {
    family: 'recurrent',
    name: 'LSTM time-series regressor',
    shape: '8 steps → LSTM(4) → Gemm (fixtures/lstm-regressor, trained)',
    write: (p) => copyFileSync(join(LSTM, 'lstm_regressor.onnx'), p),
    options: { inputRange: [-1, 1] },
    input: (k) => {
      const rand = mulberry32(2000 + k);
      const phase = rand() * 2 * Math.PI;
      return { x: Array.from({ length: 8 }, (_, t) => Math.sin(phase + t * 0.7) * 0.8) };
    },
  },
  {
    family: 'transformers',
    name: 'GPT-style decoder',
    shape: `${SMALL_GPT.layers} layers, d=${SMALL_GPT.dim}, ${SMALL_GPT.heads} heads, ${SMALL_GPT.seq} tokens, vocabulary ${SMALL_GPT.vocab}`,
    write: (p) => writeFileSync(p, serialize(gptModel())),
    options: { inputRange: [0, SMALL_GPT.vocab - 1] },
    input: (k) => {
      const rand = mulberry32(3000 + k);
      return { ids: [Array.from({ length: SMALL_GPT.seq }, () => Math.floor(rand() * SMALL_GPT.vocab))] };
    },
    top1: SMALL_GPT.vocab,
  },
];
