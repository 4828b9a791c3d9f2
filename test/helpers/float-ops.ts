/**
 * The harness of the float-op tests (small models written with fixtures/onnx-builder.ts, compared with
 * onnxruntime on seeded random inputs on the input grid, then compiled and cross-checked): one copy for the
 * op-family test files that share it.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../src/run.ts';
import { inputScaleFor } from '../../src/compiler/lower.ts';
import { DEFAULT_QUANT } from '../../src/quantize/options.ts';
import * as b from '../../fixtures/onnx-builder.ts';
import { compileAndCheck, tempDir } from './models.ts';

/** A generator of one input value from a seeded uniform [0, 1) source. */
export type Gen = (rand: () => number) => number;

export function floatOpHarness(prefix: string, inputRange: [number, number]) {
  const dir = tempDir(prefix);
  /** The inputs' grid: values k·2^-inputExp are exact, so every error comes from the ops. */
  const inputExp = inputScaleFor({ ...DEFAULT_QUANT, inputRange });
  const grid = (v: number) => Math.round(v * 2 ** inputExp) / 2 ** inputExp;
  const uniform: Gen = (rand) => grid(inputRange[0] + rand() * (inputRange[1] - inputRange[0]));

  function save(spec: b.ModelSpec): string {
    const path = join(dir, `${spec.name}.onnx`);
    writeFileSync(path, b.serialize(b.model(spec)));
    return path;
  }

  function randomInputs(seed: number, n: number, gen: Gen = uniform): number[] {
    const rand = b.mulberry32(seed);
    return Array.from({ length: n }, () => gen(rand));
  }

  /** Largest |ort − zkml| relative to max(1, |ort|) over `trials` random inputs, per output (a count or [count, generator] per input). */
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

  /** Compiles the model and asserts its witness equals the reference and satisfies every constraint; the gadget kinds per node. */
  async function compiles(path: string, input: Record<string, number[]>) {
    const r = await compileAndCheck(path, input, { inputRange });
    assert.deepEqual(r.check.mismatches, [], 'every gadget output and circuit output equals the reference');
    assert.deepEqual(r.check.violated, [], 'the witness satisfies every constraint');
    const cost = r.program.costByNode();
    return { cost: (node: string) => cost.get(node) ?? 0, kinds: (node: string) => r.program.gadgets.filter((g) => g.node === node).map((g) => g.def.kind) };
  }

  return { dir, inputRange, inputExp, grid, save, randomInputs, worstErrors, compiles };
}
