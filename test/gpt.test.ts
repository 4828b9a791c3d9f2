/**
 * A GPT-style decoder (fixtures/gpt.ts: token embedding of int64 ids, causal multi-head self-attention with an
 * in-circuit Softmax, LayerNorm, an erf GELU MLP, two layers) end to end: the integer program agrees with
 * onnxruntime on seeded token sequences (the next-token argmax at every position, up to near-ties within twice
 * the logits' error, and the logits within 2^-2 at scale 8), and the compiled circuit's witness equals the reference
 * and satisfies every constraint.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../src/run.ts';
import { gptModel, SMALL_GPT } from '../fixtures/gpt.ts';
import { serialize, mulberry32 } from '../fixtures/onnx-builder.ts';
import { compileAndCheck, tempDir } from './helpers/models.ts';

const dir = tempDir('gpt');
const path = join(dir, 'gpt.onnx');
writeFileSync(path, serialize(gptModel()));
const { vocab: V, seq: T } = SMALL_GPT;
const inputRange: [number, number] = [0, V - 1];
const argmax = (xs: number[]) => xs.reduce((b, v, i) => (v > xs[b] ? i : b), 0);

test('GPT-style decoder: next token at every position is onnxruntime\'s (up to near-ties), logits within 2^-2', async () => {
  const rand = mulberry32(21);
  for (let k = 0; k < 4; k++) {
    const ids = Array.from({ length: T }, () => Math.floor(rand() * V));
    const [o] = await run(path, { ids: [ids] }, { inputRange });
    assert.ok(o.maxAbsError <= 0.25, `max abs error ${o.maxAbsError} on ${ids}`);
    for (let p = 0; p < T; p++) {
      const at = (xs: number[]) => xs.slice(p * V, (p + 1) * V);
      const float = at(o.float);
      // The circuit's next token is onnxruntime's, or a near-tie of it: its float logit within twice the error of the top.
      const chosen = float[argmax(at(o.dequantized))];
      assert.ok(chosen >= Math.max(...float) - 2 * o.maxAbsError, `position ${p} of ${ids}: token logit ${chosen} vs top ${Math.max(...float)}`);
    }
  }
});

test('GPT-style decoder: the circuit witness equals the reference executor and satisfies every constraint', async () => {
  const r = await compileAndCheck(path, { ids: [[1, 5, 9, 3]] }, { inputRange });
  assert.deepEqual(r.check.mismatches, []);
  assert.deepEqual(r.check.violated, []);
  assert.ok(r.manifest.constraints > 10_000, `${r.manifest.constraints} constraints`);
});
