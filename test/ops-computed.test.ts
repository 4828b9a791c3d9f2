/**
 * Ops whose parameters are computed tensors (graph inputs or activations) instead of constants: Conv and
 * ConvTranspose with computed weights and bias (ops/conv.ts), ... Small models written with
 * fixtures/onnx-builder.ts are compared with onnxruntime on seeded random inputs and compiled (the witness equals
 * the reference executor and satisfies every constraint).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../src/run.ts';
import { inputScaleFor } from '../src/compiler/lower.ts';
import { DEFAULT_QUANT } from '../src/quantize/options.ts';
import * as b from '../fixtures/onnx-builder.ts';
import { compileAndCheck, tempDir } from './helpers/models.ts';

const dir = tempDir('ops-computed');
const inputRange: [number, number] = [-2, 2];
const SCALE = DEFAULT_QUANT.scale;
/** The inputs' grid: values k·2^-INPUT_EXP are exact, so every error comes from the ops. */
const INPUT_EXP = inputScaleFor({ ...DEFAULT_QUANT, inputRange });

function save(spec: b.ModelSpec): string {
  const path = join(dir, `${spec.name}.onnx`);
  writeFileSync(path, b.serialize(b.model(spec)));
  return path;
}

type Gen = (rand: () => number) => number;
const uniform: Gen = (rand) => Math.round((rand() * 4 - 2) * 2 ** INPUT_EXP) / 2 ** INPUT_EXP;

function randomInputs(seed: number, n: number, gen: Gen = uniform): number[] {
  const rand = b.mulberry32(seed);
  return Array.from({ length: n }, () => gen(rand));
}

/** Largest |ort − zkml| relative to max(1, |ort|) over `trials` random inputs, per output. */
async function worstErrors(path: string, inputs: Record<string, number | [number, Gen]>, trials: number, seed: number): Promise<Map<string, number>> {
  const worst = new Map<string, number>();
  for (let t = 0; t < trials; t++) {
    const input = Object.fromEntries(
      Object.entries(inputs).map(([name, spec], k) => {
        const [n, gen] = typeof spec === 'number' ? [spec, uniform] : spec;
        return [name, randomInputs(seed + 97 * t + k, n, gen)];
      }),
    );
    for (const o of await run(path, input, { inputRange })) {
      const d = Math.max(0, ...o.float.map((f, i) => Math.abs(f - o.dequantized[i]) / Math.max(1, Math.abs(f))));
      worst.set(o.name, Math.max(worst.get(o.name) ?? 0, d));
    }
  }
  return worst;
}

async function compiles(path: string, input: Record<string, number[]>) {
  const r = await compileAndCheck(path, input, { inputRange });
  assert.deepEqual(r.check.mismatches, [], 'every gadget output and circuit output equals the reference');
  assert.deepEqual(r.check.violated, [], 'the witness satisfies every constraint');
  return { kinds: (node: string) => r.program.gadgets.filter((g) => g.node === node).map((g) => g.def.kind) };
}

const count = (kinds: string[], kind: string) => kinds.filter((k) => k === kind).length;

// x [1,2,3,3], w [2,2,2,2], bias [2] computed; ConvTranspose of x by v [2,1,2,2] (computed).
const convModel = save({
  name: 'conv-computed',
  nodes: [
    b.node('Conv', ['x', 'w', 'bias'], ['y'], { name: 'conv', attrs: { pads: b.attr.ints([1, 0, 0, 1]) } }),
    b.node('ConvTranspose', ['x', 'v'], ['t'], { name: 'convt', attrs: { strides: b.attr.ints([2, 1]) } }),
  ],
  inputs: [b.valueInfo('x', [1, 2, 3, 3]), b.valueInfo('w', [2, 2, 2, 2]), b.valueInfo('bias', [2]), b.valueInfo('v', [2, 1, 2, 2])],
  outputs: [b.valueInfo('y', [1, 2, 3, 3]), b.valueInfo('t', [1, 1, 6, 4])],
});

test('Conv and ConvTranspose with computed weights and bias: agree with onnxruntime, one constraint per product', async () => {
  const worst = await worstErrors(convModel, { x: 18, w: 16, bias: 2, v: 8 }, 4, 21);
  // Operands exact on the grid: one rounding (2^-(s+1)) of the requantized sum.
  for (const [name, d] of worst) assert.ok(d <= 2 * 2 ** -SCALE, `${name}: error ${d}`);
  const { kinds } = await compiles(convModel, { x: randomInputs(1, 18), w: randomInputs(2, 16), bias: randomInputs(3, 2), v: randomInputs(4, 8) });
  // Conv: 2 output channels × 9 positions, windows of 2×2 taps × 2 channels inside the padded input.
  assert.ok(count(kinds('conv'), 'product') > 0 && count(kinds('conv'), 'product') <= 2 * 9 * 8);
  assert.equal(count(kinds('conv'), 'requant'), 18, 'each output requantized back to the scale');
  assert.equal(count(kinds('convt'), 'product'), 2 * 9 * 4, 'ConvTranspose: every input element times every tap, per input channel');
  assert.equal(count(kinds('convt'), 'requant'), 24);
});
