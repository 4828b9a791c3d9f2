/**
 * The CNN templates on their own (circuits/max.circom, requant_split.circom, onehot.circom): the witness equals
 * the gadget's integer semantics, circom's constraint count equals the gadget's cost model, and tampering with
 * the output, a comparison/sign bit, an intermediate bit, or any other witness entry violates a constraint.
 *
 * Each template is wrapped the way the emitter uses it: a component of a main template whose inputs feed its
 * ports, with the gadget's outputs used only inside one linear output y = Σ (j²+1)·out_j. The outputs then stay
 * private signals that --O2 may substitute, exactly as in a compiled model, so circom's count is the template's
 * own cost. --O2 also substitutes one signal per linear constraint (often a top bit: the sign then lives on only
 * as a linear combination of the other bits), so each named signal to tamper with is the first of a list of
 * equivalent signals that is still a witness entry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type GadgetDef, inputPorts, signedWidth } from '../src/gadgets/gadget.ts';
import { max, type MaxParams } from '../src/gadgets/max.ts';
import { requantSplit, type RequantSplitParams } from '../src/gadgets/requant-split.ts';
import { oneHot } from '../src/gadgets/onehot.ts';
import { bundleCircom } from '../src/circom/bundle.ts';
import { compileCircom, CIRCUITS_DIR, NODE_MODULES_DIR } from '../src/circom/compile.ts';
import { loadWitnessCalculator, type WitnessCalculator } from '../src/circom/witness.ts';
import { loadR1cs, violatedConstraints, type R1cs } from '../src/circom/r1cs.ts';
import { loadSymbols } from '../src/circom/sym.ts';
import { fieldToSigned, FIELD_P } from '../src/io/output.ts';
import { tempDir } from './helpers/models.ts';

interface Built<P> {
  def: GadgetDef<P>;
  params: P;
  wc: WitnessCalculator;
  r1cs: R1cs;
  symbols: Map<string, number>;
  constraints: number;
}

async function build<P>(def: GadgetDef<P>, params: P): Promise<Built<P>> {
  const ports = inputPorts(def, params);
  const n = def.outputs.length;
  const main = [
    `include "${def.file}";`,
    'template Wrap() {',
    `    signal input x[${ports.length}];`,
    '    signal output y;',
    `    component g = ${def.template}(${def.templateArgs(params).join(', ')});`,
    ...ports.map((p, i) => `    g.${p} <== x[${i}];`),
    // Coefficients j² + 1: not affine in j, so y is no linear function of the inputs (see ZkOneHot below).
    `    y <== ${def.outputs.map((o, j) => `${j * j + 1} * g.${o}`).join(' + ')};`,
    '}',
    // Public inputs: --O2 never substitutes them, so the tampered witness is checked against fixed inputs.
    'component main {public [x]} = Wrap();',
    '',
  ].join('\n');
  const dir = tempDir(def.kind);
  const file = join(dir, 'circuit.circom');
  writeFileSync(file, bundleCircom(main, [CIRCUITS_DIR, NODE_MODULES_DIR]));
  const compiled = await compileCircom(file, dir);
  assert.ok(n > 0);
  return { def, params, wc: await loadWitnessCalculator(compiled.wasm), r1cs: await loadR1cs(compiled.r1cs), symbols: loadSymbols(compiled.sym), constraints: compiled.constraints };
}

/** Index of a named signal in the witness, or undefined where --O2 substituted it away. */
function entry<P>(b: Built<P>, name: string): number | undefined {
  const i = b.symbols.get(`main.${name}`);
  return i !== undefined && i > 0 ? i : undefined;
}

async function witnessFor<P>(b: Built<P>, inputs: bigint[]): Promise<bigint[]> {
  return b.wc.calculateWitness({ x: inputs.map(String) }, true);
}

const breaks = <P>(b: Built<P>, w: bigint[], index: number, delta: bigint) => {
  const t = w.slice();
  t[index] = (((t[index] + delta) % FIELD_P) + FIELD_P) % FIELD_P;
  return violatedConstraints(b.r1cs, t, 1).length > 0;
};

/**
 * Runs the cases: exact witness, no violated constraint, and every witness entry but the inputs breaks a
 * constraint when changed by ±1 — the `focus` signals by name first: for each group (e.g. the sign: `sign`, or
 * the top bit, or the next...) the first that is still a witness entry.
 */
async function check<P>(b: Built<P>, cases: bigint[][], focus: string[][]) {
  for (const inputs of cases) {
    const w = await witnessFor(b, inputs);
    const expected = b.def.evaluate(b.params, inputs);
    const what = `${b.def.describe(b.params)} on [${inputs}]`;
    assert.equal(fieldToSigned(w[entry(b, 'y')!]), expected.reduce((s, v, j) => s + BigInt(j * j + 1) * v, 0n), `${what}: y`);
    b.def.outputs.forEach((o, j) => {
      const i = entry(b, `g.${o}`);
      if (i !== undefined) assert.equal(fieldToSigned(w[i]), expected[j], `${what}: ${o}`);
    });
    assert.deepEqual(violatedConstraints(b.r1cs, w), [], `${what}: a valid witness satisfies every constraint`);
    for (const group of focus) {
      const name = group.find((n) => entry(b, n) !== undefined);
      assert.ok(name, `one of ${group.join(', ')} is a witness entry`);
      const i = entry(b, name)!;
      for (const d of [1n, -1n]) assert.ok(breaks(b, w, i, d), `${what}: changing ${name} by ${d} must violate a constraint`);
    }
    for (const [name, i] of b.symbols) {
      if (i <= 0 || /^main\.x\[/.test(name)) continue;
      for (const d of [1n, -1n]) assert.ok(breaks(b, w, i, d), `${what}: changing ${name} by ${d} must violate a constraint`);
    }
  }
}

// ---- ZkMax -------------------------------------------------------------------------------------------------

const maxCases: [MaxParams, bigint[][]][] = [
  [{ w: signedWidth(-20n, 20n) }, [[5n, -3n], [-3n, 5n], [7n, 7n], [-10n, 10n], [10n, -10n], [0n, 0n]]],
  [{ w: 1 }, [[0n, 1n], [1n, 1n]]],
  [{ w: 40 }, [[(1n << 38n) - 1n, -(1n << 38n)], [-(1n << 38n), (1n << 38n) - 1n], [123456789n, 123456788n]]],
];

for (const [params, cases] of maxCases) {
  test(`ZkMax ${max.describe(params)}: exact, costed and tamper-proof`, async () => {
    const b = await build(max, params);
    assert.equal(b.constraints, max.constraints(params), "circom's count equals the cost model (w + 1)");
    // The output, the comparison bit (sign, else the highest surviving bit) and an intermediate (low) bit.
    const bits = (from: number, to: number) => Array.from({ length: Math.abs(to - from) + 1 }, (_, i) => `g.bits[${from < to ? from + i : from - i}]`);
    // With w = 1 the single bit is a - b + 1 itself, linear in the inputs: there is no bit left to tamper with.
    const focus = params.w === 1 ? [['g.out', 'y']] : [['g.out', 'y'], ['g.sign', ...bits(params.w - 1, 0)], bits(0, params.w - 1)];
    await check(b, cases, focus);
    // The lie that matters: claiming the smaller operand as the max (through y = out + 2·sign where --O2 kept
    // only y).
    const out = entry(b, 'g.out') ?? entry(b, 'y')!;
    for (const [x, y] of cases.filter(([x, y]) => x !== y)) {
      const w = await witnessFor(b, [x, y]);
      const [hi, lo] = x > y ? [x, y] : [y, x];
      assert.ok(breaks(b, w, out, lo - hi), `claiming max(${x}, ${y}) = ${lo} must violate a constraint`);
    }
  });
}

test('ZkMax: a difference outside the checked width has no witness, and ties pick a (sign 1)', async () => {
  const b = await build(max, { w: 5 }); // a - b in [-16, 16)
  await witnessFor(b, [15n, 0n]);
  await witnessFor(b, [0n, 16n]);
  await assert.rejects(witnessFor(b, [16n, 0n]));
  await assert.rejects(witnessFor(b, [0n, 17n]));
  assert.deepEqual(max.evaluate({ w: 5 }, [4n, 4n]), [4n, 1n]);
  assert.deepEqual(max.evaluate({ w: 5 }, [3n, 4n]), [4n, 0n]);
});

// ---- ZkRequantSplit ----------------------------------------------------------------------------------------

const splitCases: [RequantSplitParams, bigint[][]][] = [
  [{ k: 4, b: 6, signed: true, relu: true }, [[-500n], [-8n], [-9n], [7n], [8n], [0n], [503n]]],
  [{ k: 4, b: 6, signed: true, relu: false }, [[-512n], [-8n], [24n], [503n]]],
  [{ k: 3, b: 5, signed: false, relu: false }, [[0n], [3n], [4n], [251n]]],
  [{ k: 2, b: 4, signed: false, relu: true }, [[0n], [1n], [2n], [61n]]],
];

for (const [params, cases] of splitCases) {
  test(`ZkRequantSplit ${requantSplit.describe(params)}: exact, costed and tamper-proof`, async () => {
    const b = await build(requantSplit, params);
    assert.equal(b.constraints, requantSplit.constraints(params), "circom's count equals the cost model (k + b (+1))");
    const top = params.k + params.b - 1;
    const bits = (from: number, to: number) => Array.from({ length: Math.abs(to - from) + 1 }, (_, i) => `g.bits[${from < to ? from + i : from - i}]`);
    // The output (pos, else y), the sign / top bit, and a remainder bit (an intermediate).
    await check(b, cases, [['g.pos', 'y'], bits(top, 0), bits(0, top)]);
  });
}

test('ZkRequantSplit: q·2^k + rem = x with rem in [-2^(k-1), 2^(k-1)), and pos = max(q, 0)', () => {
  const p = { k: 3, b: 8, signed: true, relu: true };
  for (let x = -200n; x <= 200n; x++) {
    const [q, rem, pos] = requantSplit.evaluate(p, [x]);
    assert.equal(q * 8n + rem, x);
    assert.ok(rem >= -4n && rem < 4n);
    assert.equal(pos, q > 0n ? q : 0n);
  }
});

// ---- ZkOneHot ----------------------------------------------------------------------------------------------

for (const n of [2, 5, 33]) {
  test(`ZkOneHot of ${n}: exact, costed and tamper-proof`, async () => {
    const def = oneHot(n);
    const b = await build(def, { n });
    // With n = 2 any linear use of h is affine in idx, so the wrapper's own output equation survives --O2 as
    // one extra linear constraint; in a model that is the same for every n, so the cost model stays n.
    assert.equal(b.constraints, def.constraints({ n }) + (n === 2 ? 1 : 0), "circom's count equals the cost model (n)");
    const cases = [0, 1, n - 1, Math.floor(n / 2)].map((i) => [BigInt(i)]);
    // Which h[i] survive --O2 depends on its substitutions; the first and last that do are tampered by name
    // (and every other entry by the general sweep; with n = 2 none survives: h is then affine in idx).
    const kept = Array.from({ length: n }, (_, i) => `g.h[${i}]`).filter((s) => entry(b, s) !== undefined);
    // The template's two linear constraints and the wrapper's output equation each remove one entry.
    assert.ok(kept.length >= n - 3, 'at most three one-hot entries are substituted');
    await check(b, cases, [['y'], ...(kept.length ? [[kept[0]], [kept[kept.length - 1]]] : [])]);
  });
}

test('ZkOneHot: an index outside [0, n) has no witness', async () => {
  const b = await build(oneHot(4), { n: 4 });
  await assert.rejects(witnessFor(b, [4n]));
  await assert.rejects(witnessFor(b, [-1n]));
});
