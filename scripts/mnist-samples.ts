/**
 * Writes MNIST test images as a JSON-lines sample file, the form `zkml calibrate --data` and `zkml prove`
 * batches read: one `{"<input name>": [784 values]}` per line, pixel p written as p · scale (rounded to 6
 * decimals, so 1/255 steps survive and the file stays small).
 *
 *   npx tsx scripts/mnist-samples.ts <out.jsonl> [--n 200] [--input network_input] [--scale 0.00392156862745098]
 *       [--offset 0] [--mnist ../shared/datasets/mnist]
 *
 * The model zoo MLP (pytorch.onnx) takes pixels / 255 in [0, 1] (--scale 1/255, the default); the zoo CNN
 * (model.onnx, input "Input3") takes raw pixels 0..255 (--scale 1).
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMnist } from '../dev/data/mnist.ts';
import { writeFileAtomic } from '../src/util/atomic.ts';

export const DEFAULT_MNIST_DIR = resolve(import.meta.dirname, '..', '..', 'shared', 'datasets', 'mnist');

export interface MnistSampleOptions {
  /** Number of images (from the start of the test set, after `offset`). */
  n: number;
  /** The model's input name (the JSON key). */
  input: string;
  /** Pixel multiplier: 1/255 for [0, 1] inputs, 1 for raw pixels. */
  scale: number;
  /** First image index. */
  offset?: number;
  mnistDir?: string;
}

/** The JSON lines, and the labels of the images (for accuracy figures). */
export function mnistSampleLines(opts: MnistSampleOptions): { lines: string[]; labels: number[] } {
  const offset = opts.offset ?? 0;
  const set = loadMnist(opts.mnistDir ?? DEFAULT_MNIST_DIR, offset + opts.n);
  const images = set.images.slice(offset);
  const lines = images.map((img) => JSON.stringify({ [opts.input]: Array.from(img, (p) => Math.round(p * opts.scale * 1e6) / 1e6) }));
  return { lines, labels: set.labels.slice(offset) };
}

/** Writes the sample file atomically; returns the number of samples written. */
export function writeMnistSamples(path: string, opts: MnistSampleOptions): number {
  const { lines } = mnistSampleLines(opts);
  writeFileAtomic(path, lines.join('\n') + '\n');
  return lines.length;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const out = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
  if (!out) {
    process.stderr.write('usage: tsx scripts/mnist-samples.ts <out.jsonl> [--n 200] [--input network_input] [--scale 0.00392156862745098] [--offset 0] [--mnist dir]\n');
    process.exit(2);
  }
  const n = writeMnistSamples(out, {
    n: Number(flag('n') ?? 200),
    input: flag('input') ?? 'network_input',
    scale: Number(flag('scale') ?? 1 / 255),
    offset: Number(flag('offset') ?? 0),
    mnistDir: flag('mnist'),
  });
  process.stdout.write(`wrote ${n} MNIST samples to ${out}\n`);
}
