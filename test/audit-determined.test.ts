/**
 * Rule 6 of src/audit/determined.ts (src/audit/onehot.ts): one-hot groups. The table ops of ops/nonlinear.ts
 * (Sigmoid, Tanh, Exp) and the computed-index Gather of ops/select.ts, compiled as the product builds them by
 * default (zkml's back end, `cost` elimination) and with circom --O2, audit clean: every signal determined by
 * the inputs. And the rule is not vacuous: hand-built r1cs whose one-hot lacks Σ h = 1, sums to 2, or has an
 * index with a repeated weight leave the h undetermined.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { audit } from '../src/audit/audit.ts';
import { determineSignals } from '../src/audit/determined.ts';
import type { R1cs } from '../src/circom/r1cs.ts';
import type { CompileOptions } from '../src/compiler/compile.ts';
import { FIELD_P } from '../src/io/output.ts';
import { cachedBuild } from './helpers/builds.ts';
import { scratchDirs } from './helpers/scratch.ts';
import * as b from '../fixtures/onnx-builder.ts';

const tempDir = scratchDirs();
const dir = tempDir('audit-determined');

function save(spec: b.ModelSpec): string {
  const path = join(dir, `${spec.name}.onnx`);
  writeFileSync(path, b.serialize(b.model(spec)));
  return path;
}

/** x → op → + 0.125 (an op after the table, so the table is proven, not left as the final activation). */
const unary = (op: string) =>
  save({
    name: op.toLowerCase(),
    nodes: [b.node(op, ['x'], ['u'], { name: 'op' }), b.node('Add', ['u', 'c'], ['y'], { name: 'after' })],
    initializers: [b.floatTensor('c', [1], [0.125])],
    inputs: [b.valueInfo('x', [1, 3])],
    outputs: [b.valueInfo('y', [1, 3])],
  });

/** Gather from a computed tensor by int64 indices that may be negative (a sign test, then a one-hot). */
const gather = () =>
  save({
    name: 'gather-computed',
    nodes: [b.node('Mul', ['x', 'two'], ['x2'], { name: 'double' }), b.node('Gather', ['x2', 'i'], ['y'], { name: 'gather', attrs: { axis: b.attr.int(1) } })],
    initializers: [b.floatTensor('two', [1], [2])],
    inputs: [b.valueInfo('x', [1, 4]), b.valueInfo('i', [2], b.DataType.INT64)],
    outputs: [b.valueInfo('y', [1, 2])],
  });

const CASES: { name: string; model: () => string; opts: CompileOptions }[] = [
  { name: 'Sigmoid table', model: () => unary('Sigmoid'), opts: { inputRange: [-1, 1] } },
  { name: 'Tanh table', model: () => unary('Tanh'), opts: { inputRange: [-1, 1] } },
  { name: 'Exp table', model: () => unary('Exp'), opts: { inputRange: [-1, 1] } },
  { name: 'Gather with a computed, possibly negative index', model: gather, opts: { inputRange: [-3, 3] } },
  { name: 'Sigmoid table, circom --O2', model: () => unary('Sigmoid'), opts: { inputRange: [-1, 1], circom: true } },
  { name: 'Gather with a computed index, circom --O2', model: gather, opts: { inputRange: [-3, 3], circom: true } },
];

for (const c of CASES) {
  test(`audit rule 6: ${c.name}: no findings, every signal determined`, async () => {
    const r = await audit(await cachedBuild(c.model(), c.opts));
    assert.deepEqual(r.findings, []);
    assert.equal(r.determined, r.wires - 1 - r.publicInputs - r.privateInputs);
  });
}

// Hand-built one-hots over 4 positions. Wires: 0 = 1, 1 = idx (input), 2..5 = h0..h3.
const lc = (entries: [number, bigint][]) => new Map(entries.map(([v, c]) => [v, ((c % FIELD_P) + FIELD_P) % FIELD_P]));
type Constraint = R1cs['constraints'][number];
const one = lc([[0, 1n]]);
const boolean = (v: number): Constraint => [lc([[v, 1n]]), lc([[v, 1n], [0, -1n]]), lc([])];
/** Σ_j w_j·h_j = idx (weights for h0..h3). */
const index = (w: bigint[]): Constraint => [one, lc([...w.map((c, j) => [2 + j, c] as [number, bigint]), [1, -1n]]), lc([])];
/** Σ h_j = total. */
const sum = (total: bigint): Constraint => [one, lc([[2, 1n], [3, 1n], [4, 1n], [5, 1n], [0, -total]]), lc([])];
const hOf = (constraints: Constraint[], nWires = 6) => [...determineSignals({ nWires, nOutputs: 0, nPubInputs: 0, nPrvInputs: 1, constraints }, [1]).determined].slice(2, 6);
const bools = [2, 3, 4, 5].map(boolean);

test('audit rule 6: a textbook one-hot (booleans, Σ h = 1, Σ j·h_j = idx) is determined; without Σ h = 1 it is not', () => {
  assert.deepEqual(hOf([...bools, sum(1n), index([0n, 1n, 2n, 3n])]), [1, 1, 1, 1]);
  // idx = 3 is h3 = 1 or h1 = h2 = 1 (h0 anything): nothing ties the choice down.
  assert.deepEqual(hOf([...bools, index([0n, 1n, 2n, 3n])]), [0, 0, 0, 0]);
});

test('audit rule 6: a sum of 2 instead of 1, or an index with a repeated weight, leaves the one-hot undetermined', () => {
  // Σ h = 2 and idx = 3: {h0, h3} or {h1, h2}.
  assert.deepEqual(hOf([...bools, sum(2n), index([0n, 1n, 2n, 3n])]), [0, 0, 0, 0]);
  // Weights 0, 1, 2, 2: idx = 2 is h2 or h3.
  assert.deepEqual(hOf([...bools, sum(1n), index([0n, 1n, 2n, 2n])]), [0, 0, 0, 0]);
});

test('audit rule 6: the one-hot as `cost` elimination leaves it (h0 folded into its own boolean check) is determined; without that check it is not', () => {
  // h0 = 1 - h1 - h2 - h3, so its boolean check reads (1 - S)·(-S) = 0 with S = h1 + h2 + h3; wire 2 unused.
  const S: [number, bigint][] = [[3, 1n], [4, 1n], [5, 1n]];
  const folded: Constraint = [lc([[0, 1n], ...S.map(([v, c]) => [v, -c] as [number, bigint])]), lc(S.map(([v, c]) => [v, -c] as [number, bigint])), lc([])];
  const rest = [3, 4, 5].map(boolean);
  const idx = index([0n, 1n, 2n, 3n]);
  assert.deepEqual(hOf([...rest, folded, idx]).slice(1), [1, 1, 1]);
  assert.deepEqual(hOf([...rest, idx]).slice(1), [0, 0, 0], 'S may be 2: idx = 3 is h3 or h1 + h2');
});
