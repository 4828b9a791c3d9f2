/**
 * The steps every op-family test repeats: write a small model built with fixtures/onnx-builder.ts into a temp
 * folder, draw seeded inputs on the input grid (so every error comes from the ops, not from quantizing the
 * input), measure the worst error of the reference executor against onnxruntime, and compile a model with its
 * witness checked gadget by gadget and constraint by constraint.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../src/run.ts';
import { inputScaleFor } from '../../src/compiler/lower.ts';
import { DEFAULT_QUANT } from '../../src/quantize/options.ts';
import * as b from '../../fixtures/onnx-builder.ts';
import { compileAndCheck, tempDir } from './models.ts';

export interface OpTestbed {
  dir: string;
  inputRange: [number, number];
  /** The exponent of the inputs' grid: values k·2^-inputExp are exact. */
  inputExp: number;
  /** Writes the model and gives its path. */
  save(spec: b.ModelSpec): string;
  /** `n` seeded values of the input grid, uniform over the input range. */
  gridValues(seed: number, n: number): number[];
  /** Largest |ort − zkml| relative to max(1, |ort|) over `trials` seeded inputs (element counts by input name), per output. */
  worstErrors(path: string, inputs: Record<string, number>, trials: number, seed: number): Promise<Map<string, number>>;
  /** Compiles `path`, asserts the witness equals the reference and satisfies every constraint; gives each node's cost and gadget kinds. */
  compiles(path: string, input: Record<string, number[]>): Promise<{ cost(node: string): number; kinds(node: string): string[] }>;
}

export function opTestbed(name: string, inputRange: [number, number]): OpTestbed {
  const dir = tempDir(name);
  const inputExp = inputScaleFor({ ...DEFAULT_QUANT, inputRange });
  const [lo, hi] = inputRange;
  const gridValues = (seed: number, n: number) => {
    const rand = b.mulberry32(seed);
    return Array.from({ length: n }, () => Math.round((lo + rand() * (hi - lo)) * 2 ** inputExp) / 2 ** inputExp);
  };
  return {
    dir,
    inputRange,
    inputExp,
    gridValues,
    save(spec) {
      const path = join(dir, `${spec.name}.onnx`);
      writeFileSync(path, b.serialize(b.model(spec)));
      return path;
    },
    async worstErrors(path, inputs, trials, seed) {
      const worst = new Map<string, number>();
      for (let t = 0; t < trials; t++) {
        const input = Object.fromEntries(Object.entries(inputs).map(([n, count], k) => [n, gridValues(seed + 97 * t + k, count)]));
        for (const o of await run(path, input, { inputRange })) {
          const d = Math.max(0, ...o.float.map((f, i) => Math.abs(f - o.dequantized[i]) / Math.max(1, Math.abs(f))));
          worst.set(o.name, Math.max(worst.get(o.name) ?? 0, d));
        }
      }
      return worst;
    },
    async compiles(path, input) {
      const r = await compileAndCheck(path, input, { inputRange });
      assert.deepEqual(r.check.mismatches, [], 'every gadget output and circuit output equals the reference');
      assert.deepEqual(r.check.violated, [], 'the witness satisfies every constraint');
      const cost = r.program.costByNode();
      return { cost: (node) => cost.get(node) ?? 0, kinds: (node) => r.program.gadgets.filter((g) => g.node === node).map((g) => g.def.kind) };
    },
  };
}
