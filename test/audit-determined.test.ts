/**
 * Rules 6 and 7 of src/audit/determined.ts: one-hot groups (src/audit/onehot.ts) and hinted quotients and roots
 * (src/audit/euclid.ts). Tiny models of each gadget family, compiled as the product builds them by default
 * (zkml's back end, `cost` elimination; the tables also with circom --O2), audit clean: every signal determined
 * by the inputs. Table ops (Sigmoid, Tanh, Exp), Gather with a computed index, quotients (Reciprocal, Div),
 * roots (Sqrt, Pow), divmod (Mod), square + root + quotient (LayerNormalization), in-circuit Softmax. And the
 * rules are not vacuous: hand-built r1cs whose one-hot lacks Σ h = 1, sums to 2 or has a repeated index weight,
 * or whose remainder (or root excess) lacks its upper range check, leave their signals undetermined.
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

/** x → x² + 1 → x / (x² + 1): a quotient by a computed denominator. */
const division = () =>
  save({
    name: 'div',
    nodes: [b.node('Mul', ['x', 'x'], ['s'], { name: 'sq' }), b.node('Add', ['s', 'one'], ['d'], { name: 'den' }), b.node('Div', ['x', 'd'], ['y'], { name: 'div' })],
    initializers: [b.floatTensor('one', [1], [1])],
    inputs: [b.valueInfo('x', [1, 3])],
    outputs: [b.valueInfo('y', [1, 3])],
  });

/** One node y = op(x, constant). */
const binary = (op: string, value: number, attrs?: Record<string, b.Attr>) =>
  save({
    name: `${op.toLowerCase()}-${value}`,
    nodes: [b.node(op, ['x', 'k'], ['y'], { name: 'op', ...(attrs ? { attrs } : {}) })],
    initializers: [b.floatTensor('k', [1], [value])],
    inputs: [b.valueInfo('x', [1, 3])],
    outputs: [b.valueInfo('y', [1, 3])],
  });

const layerNorm = () =>
  save({
    name: 'layernorm',
    opset: 17,
    nodes: [b.node('LayerNormalization', ['x', 'g', 'bb'], ['y'], { name: 'ln', attrs: { axis: b.attr.int(-1) } })],
    initializers: [b.floatTensor('g', [3], [1, 0.5, 2]), b.floatTensor('bb', [3], [0, 0.25, -0.5])],
    inputs: [b.valueInfo('x', [1, 3])],
    outputs: [b.valueInfo('y', [1, 3])],
  });

/** Softmax followed by an op, so it is computed in the circuit (ops/softmax-circuit.ts). */
const softmax = () =>
  save({
    name: 'softmax-inside',
    nodes: [b.node('Softmax', ['x'], ['p'], { name: 'sm', attrs: { axis: b.attr.int(-1) } }), b.node('Add', ['p', 'c'], ['y'], { name: 'after' })],
    initializers: [b.floatTensor('c', [1], [0.125])],
    inputs: [b.valueInfo('x', [1, 3])],
    outputs: [b.valueInfo('y', [1, 3])],
  });

const CASES: { name: string; model: () => string; opts: CompileOptions }[] = [
  { name: 'Reciprocal (quotient)', model: () => unary('Reciprocal'), opts: { inputRange: [0.5, 2] } },
  { name: 'Div by a computed denominator (quotient)', model: division, opts: { inputRange: [-1, 1] } },
  { name: 'Sqrt (root)', model: () => unary('Sqrt'), opts: { inputRange: [0, 2] } },
  { name: 'Pow x^-1.5 (root, then quotient)', model: () => binary('Pow', -1.5), opts: { inputRange: [0.5, 2] } },
  { name: 'Mod by 3 (divmod)', model: () => binary('Mod', 3), opts: { inputRange: [-5, 5] } },
  { name: 'Mod by 0.75, fmod (divmod, a sign test)', model: () => binary('Mod', 0.75, { fmod: b.attr.int(1) }), opts: { inputRange: [-2, 2] } },
  { name: 'LayerNormalization (square, root, quotient)', model: layerNorm, opts: { inputRange: [-1, 1] } },
  { name: 'Softmax inside the network (exp table, quotient)', model: softmax, opts: { inputRange: [-1, 1] } },
  { name: 'Sigmoid table', model: () => unary('Sigmoid'), opts: { inputRange: [-1, 1] } },
  { name: 'Tanh table', model: () => unary('Tanh'), opts: { inputRange: [-1, 1] } },
  { name: 'Exp table', model: () => unary('Exp'), opts: { inputRange: [-1, 1] } },
  { name: 'Gather with a computed, possibly negative index', model: gather, opts: { inputRange: [-3, 3] } },
  { name: 'Sigmoid table, circom --O2', model: () => unary('Sigmoid'), opts: { inputRange: [-1, 1], circom: true } },
  { name: 'Gather with a computed index, circom --O2', model: gather, opts: { inputRange: [-3, 3], circom: true } },
];

for (const c of CASES) {
  test(`audit, default build: ${c.name}: no findings, every signal determined`, async () => {
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

// Rule 7 (src/audit/euclid.ts): hinted quotients and roots, on hand-built r1cs in the gadgets' textbook form.
const bits = (from: number, n: number, k = 1n): [number, bigint][] => Array.from({ length: n }, (_, i) => [from + i, k << BigInt(i)]);
const all = (nWires: number, inputs: number[], constraints: Constraint[]) =>
  [...determineSignals({ nWires, nOutputs: 0, nPubInputs: 0, nPrvInputs: inputs.length, constraints }, inputs).determined].every((x) => x === 1);
const booleans = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => boolean(from + i));

test('audit rule 7: divmod by 3 (x = 3q + r, r and 2 - r range-checked) is determined; without the check of 2 - r it is not', () => {
  // Wires: 0 = 1, 1 = x, 2-3 = q bits, 4-5 = r bits, 6-7 = bits of 2 - r.
  const division: Constraint = [one, lc([[1, 1n], ...bits(2, 2, -3n), ...bits(4, 2, -1n)]), lc([])];
  const bound: Constraint = [one, lc([...bits(4, 2), ...bits(6, 2), [0, -2n]]), lc([])];
  assert.equal(all(8, [1], [...booleans(2, 7), division, bound]), true);
  // r may be 3: x = 3 is q = 1, r = 0 or q = 0, r = 3.
  assert.equal(all(8, [1], [...booleans(2, 7), division]), false);
});

test('audit rule 7: a quotient by a computed y (q·y = qy, x - qy = r, r and y - 1 - r range-checked) is determined; without the check of y - 1 - r it is not', () => {
  // Wires: 0 = 1, 1 = x, 2 = y, 3-4 = q bits, 5 = qy, 6-8 = r bits, 9-11 = bits of y - 1 - r.
  const product: Constraint = [lc(bits(3, 2)), lc([[2, 1n]]), lc([[5, 1n]])];
  const remainder: Constraint = [one, lc([...bits(6, 3), [5, 1n], [1, -1n]]), lc([])];
  const bound: Constraint = [one, lc([[2, 1n], [0, -1n], ...bits(6, 3, -1n), ...bits(9, 3, -1n)]), lc([])];
  assert.equal(all(12, [1, 2], [...booleans(3, 4), ...booleans(6, 11), product, remainder, bound]), true);
  assert.equal(all(12, [1, 2], [...booleans(3, 4), ...booleans(6, 11), product, remainder]), false);
});

test('audit rule 7: an integer square root (s·s = ss, x - ss = e, 2s - e range-checked) is determined; without the check of 2s - e it is not', () => {
  // Wires: 0 = 1, 1 = x, 2-4 = s bits, 5 = ss, 6-9 = e bits, 10-13 = bits of 2s - e.
  const square: Constraint = [lc(bits(2, 3)), lc(bits(2, 3)), lc([[5, 1n]])];
  const excess: Constraint = [one, lc([[1, 1n], [5, -1n], ...bits(6, 4, -1n)]), lc([])];
  const bound: Constraint = [one, lc([...bits(2, 3, 2n), ...bits(6, 4, -1n), ...bits(10, 4, -1n)]), lc([])];
  assert.equal(all(14, [1], [...booleans(2, 4), ...booleans(6, 13), square, excess, bound]), true);
  // x = 4 is s = 2, e = 0 or s = 1, e = 3.
  assert.equal(all(14, [1], [...booleans(2, 4), ...booleans(6, 13), square, excess]), false);
});
