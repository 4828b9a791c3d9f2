import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { ZkmlError } from '../util/errors.ts';

/** One calibration sample: a model input in any form src/io/input.ts accepts, and where it came from. */
export interface Sample {
  value: unknown;
  /** File (and line or index) for error messages. */
  source: string;
}

function parse(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ZkmlError(`not valid JSON (${(err as Error).message})`, 'E_SAMPLES', source);
  }
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ZkmlError(`cannot read samples (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'E_SAMPLES', path);
  }
}

/** One JSON value per non-empty line. */
function fromJsonLines(path: string, text: string): Sample[] {
  const out: Sample[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim()) out.push({ value: parse(line, `${path}:${i + 1}`), source: `${path}:${i + 1}` });
  });
  return out;
}

/**
 * Reads calibration samples from:
 * - a folder: every `*.json` file in it (name order) is one input;
 * - a `.jsonl` / `.ndjson` file: one input per line (the batch format of `zkml prove`);
 * - a `.json` file holding an array: one input per element. A top-level object is a single input
 *   (e.g. EZKL's `{"input_data": ...}`); a bare array of numbers is refused as ambiguous.
 * Each value is validated later against the model's inputs, with `source` naming the sample.
 */
export function loadSamples(path: string, limit = Infinity): Sample[] {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new ZkmlError('no such file or folder', 'E_SAMPLES', path);
  }
  let samples: Sample[];
  if (stat.isDirectory()) {
    const files = readdirSync(path).filter((f) => f.endsWith('.json')).sort();
    samples = files.slice(0, Number.isFinite(limit) ? limit : undefined).map((f) => {
      const file = join(path, f);
      return { value: parse(read(file), file), source: file };
    });
  } else if (['.jsonl', '.ndjson'].includes(extname(path).toLowerCase())) {
    samples = fromJsonLines(path, read(path));
  } else {
    const value = parse(read(path), path);
    if (Array.isArray(value)) {
      if (value.length > 0 && value.every((v) => typeof v === 'number')) {
        throw new ZkmlError('a flat array of numbers is ambiguous: give an array of inputs ([[...], [...]]) or one input per line (.jsonl)', 'E_SAMPLES', path);
      }
      samples = value.map((v, i) => ({ value: v, source: `${path}[${i}]` }));
    } else {
      samples = [{ value, source: path }];
    }
  }
  samples = samples.slice(0, Number.isFinite(limit) ? limit : undefined);
  if (samples.length === 0) throw new ZkmlError('no samples found (a folder of .json files, a .jsonl file or a JSON array of inputs)', 'E_SAMPLES', path);
  return samples;
}
