/**
 * The op families' demonstration models for `npm run bench` (issue 15): each is written into the bench cache
 * by a generator in fixtures/, with the compile options and a seeded input generator its agreement run
 * (scripts/bench-families.ts) and its proof run (scripts/bench-model.ts) share.
 */
import { writeFileSync } from 'node:fs';
import { serialize, mulberry32 } from '../fixtures/onnx-builder.ts';
import { ensembleModel, randomEnsemble } from '../fixtures/ml-models.ts';

export interface Demo {
  family: string;
  name: string;
  /** What the model is, in a few words, for the table. */
  shape: string;
  write(path: string): void;
  options: Record<string, unknown>;
  /** The k-th seeded input, by graph input name. */
  input(k: number): Record<string, unknown>;
}

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
];
