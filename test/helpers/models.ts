/**
 * Shared steps of the model tests: compile a model into a temp folder, run both oracles on an input and
 * compare them (crossCheck), and the tolerance every float comparison uses.
 */
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile, analyze, analyzeOptionsOf, type CompileOptions } from '../../src/compiler/compile.ts';
import { crossCheck, type CrossCheck } from '../../src/compiler/crosscheck.ts';
import { encodeInputs } from '../../src/io/input.ts';
import type { Manifest } from '../../src/manifest.ts';
import type { Program } from '../../src/ir/program.ts';
import { softmaxAlong } from '../../src/io/output.ts';

export const SHARED = join(import.meta.dirname, '..', '..', '..', 'shared');
export const SHARED_MODELS = join(SHARED, 'models');

/** Third-party corpora must be present: a missing folder fails the suite loudly instead of skipping. */
export function requireShared(path: string): string {
  if (!existsSync(path)) throw new Error(`${path} is missing: the tests need ../shared beside the project (see ../shared/models/SOURCES.md)`);
  return path;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `zkml-${prefix}-`));
}

export interface Checked {
  dir: string;
  manifest: Manifest;
  program: Program;
  check: CrossCheck;
  /** The model's output integers by tensor name (public, or committed to by a digest). */
  tensors: Map<string, bigint[]>;
  /** Dequantized circuit outputs, with a final Softmax/LogSoftmax applied (comparable with onnxruntime). */
  floats: number[][];
}

export async function compileAndCheck(model: string, input: unknown, opts: CompileOptions = {}): Promise<Checked> {
  const dir = tempDir('model');
  const manifest = await compile(model, dir, opts);
  const { lowered, tensorOutputs } = analyze(model, analyzeOptionsOf(manifest));
  const check = await crossCheck(dir, manifest, lowered.program, encodeInputs(manifest, input));
  // The model's tensor outputs as the reference computed them (equal to the circuit's wherever they are public).
  const tensors = new Map(tensorOutputs.map((o) => [o.name, o.exprs.map((e) => e.evaluate(check.referenceWires))]));
  const floats = manifest.outputs.map((o) => {
    const deq = tensors.get(o.name)!.map((v) => Number(v) * o.encoding.scale);
    const final = manifest.finalActivation;
    if (!final || (final.output ?? o.name) !== o.name) return deq;
    return softmaxAlong(deq, o.shape, final.axis, final.op);
  });
  return { dir, manifest, program: lowered.program, check, floats, tensors };
}

/**
 * The tolerance of a float comparison, derived from the scales: 8 steps of the activation resolution
 * (2^-scale), relative to the output's magnitude when it exceeds 1. Each layer adds at most half a step of
 * rounding per activation and per weight (weights keep weightBits significant bits), and the test models have
 * at most three layers of modest width, so 8 steps bounds the accumulated error with margin.
 */
export function tolerance(scale: number, expected: number[]): number {
  const magnitude = Math.max(1, ...expected.map(Math.abs));
  return 8 * 2 ** -scale * magnitude;
}

export function maxAbsDiff(a: number[], b: number[]): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  return Math.max(0, ...a.map((x, i) => Math.abs(x - b[i])));
}
