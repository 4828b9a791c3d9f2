/**
 * Whole-model mutation testing (src/audit/mutate.ts): on several compiled models, every witness signal is
 * tampered with (+1, -1, lowest bit flipped), then random tampers of every signal class and two-signal attacks
 * (tamper, then repair one constraint by solving it for a second signal) are drawn by fast-check with a fixed
 * seed. With inputs range-checked (the default) every one must be caught: no tamper may leave the constraints
 * satisfied, whether or not it changes a public output. A hand-written circuit with an output assigned by `<--`
 * only shows what an uncaught tamper looks like.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { classifySignals, MutationTarget, MutationTally, sweep, type SignalClass } from '../src/audit/mutate.ts';
import { violatedConstraints } from '../src/circom/r1cs.ts';
import { compileCircom } from '../src/circom/compile.ts';
import { loadWitnessCalculator, computeWitness } from '../src/circom/witness.ts';
import { loadR1cs } from '../src/circom/r1cs.ts';
import { loadSymbols } from '../src/circom/sym.ts';
import { Program } from '../src/ir/program.ts';
import { witnessedBuild } from './helpers/builds.ts';
import { MUTATION_SEED, signalArb, tamperArb, writeProductModel } from './helpers/mutation.ts';
import { scratchDirs } from './helpers/scratch.ts';
import { report } from './helpers/counts.ts';

const tempDir = scratchDirs();

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'models');
const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const RUNS = 300;

const fixture = (name: string, inputRange: [number, number]) => ({
  name,
  model: join(FIXTURES, `${name}.onnx`),
  input: json(join(FIXTURES, `${name}.input.json`)),
  opts: { inputRange },
});
const product = writeProductModel(tempDir('mutation'));

const MODELS: { name: string; model: string; input: unknown; opts: { inputRange: [number, number] }; classes: SignalClass[] }[] = [
  { ...fixture('gemm_basic', [-1, 1]), classes: ['output', 'private input', 'range-check bit', 'requant remainder bit', 'requant quotient bit', 'gadget output'] },
  { ...fixture('iris', [0, 8]), classes: ['output', 'private input', 'requant remainder bit', 'requant quotient bit'] },
  { ...fixture('matmul_add', [-1, 1]), classes: ['output', 'requant quotient bit'] },
  { ...fixture('batchnorm_standalone', [-1, 1]), classes: ['output', 'range-check bit'] },
  { ...fixture('softmax_final', [-1, 1]), classes: ['output', 'requant remainder bit'] },
  { name: 'product (Mul of two computed tensors)', model: product.model, input: product.input, opts: { inputRange: [-1, 1] }, classes: ['output', 'private input', 'requant remainder bit'] },
  // (The product wire itself is eliminated: the requantization's bit decomposition is its only linear use, so
  // the product constraint reads a·b = Σ bits·2^i, and tampering a factor or a bit must break it.)
];

for (const m of MODELS) {
  test(`mutation: ${m.name}: every tampered signal breaks a constraint`, async (t) => {
    const { program, check } = await witnessedBuild(m.model, m.input, m.opts);
    assert.deepEqual(check.mismatches, []);
    assert.deepEqual(check.violated, []);
    const signals = classifySignals(program, check.symbols, check.r1cs);
    assert.equal(signals.length, check.witness.length - 1, 'every witness entry but the constant is classified');
    const present = new Set(signals.map((s) => s.cls));
    for (const c of m.classes) assert.ok(present.has(c), `the build has ${c} signals to tamper with (has: ${[...present].join(', ')})`);
    const target = new MutationTarget(check.r1cs, check.witness, signals);

    // Every signal: +1, -1, lowest bit flipped.
    const tally = sweep(target, signals);
    assert.deepEqual(tally.uncaught.map((r) => `${r.signal.name}: ${r.outcome}`), []);
    assert.equal(tally.total().caught, 3 * signals.length, 'none of the three tampers can leave a field element unchanged');

    // Random tampers, every class equally likely.
    fc.assert(
      fc.property(signalArb(signals), tamperArb, (s, tamper) => {
        const r = target.mutate(s, tamper);
        tally.add(r);
        return r === undefined || r.outcome === 'caught';
      }),
      { seed: MUTATION_SEED, numRuns: RUNS },
    );

    // Two-signal attacks: a constraint the tamper breaks is repaired by solving it for a second signal; another
    // constraint must still catch it. (A draw whose signal occurs in no solvable constraint is skipped.)
    const pairs = new MutationTally();
    fc.assert(
      fc.property(signalArb(signals), tamperArb, fc.nat(), (s, tamper, pick) => {
        const r = target.compensated(s, tamper, pick);
        pairs.add(r);
        return r === undefined || r.outcome === 'caught';
      }),
      { seed: MUTATION_SEED, numRuns: RUNS },
    );
    report(t, { suite: 'mutation', model: m.name, single: tally.byClass, pairs: pairs.total(), pairDraws: RUNS });

    // The per-signal check (only the constraints that mention the tampered signal) agrees with a full check.
    fc.assert(
      fc.property(signalArb(signals), tamperArb, (s, t) => {
        const w = target.tampered(s, t);
        if (!w) return true;
        return (target.mutate(s, t)!.outcome === 'caught') === violatedConstraints(check.r1cs, w, 1).length > 0;
      }),
      { seed: MUTATION_SEED, numRuns: 40 },
    );
  });
}

test('mutation: an output assigned with <-- only is forged by a tamper, and the tally says so', async () => {
  const dir = tempDir('mutation-hand');
  writeFileSync(
    join(dir, 'circuit.circom'),
    `pragma circom 2.1.0;
template Loose() {
  signal input in0[2];
  signal output out0[2];
  out0[0] <== in0[0] * in0[1];
  out0[1] <-- in0[0] + 1; // assigned, never constrained
}
component main = Loose();
`,
  );
  const r = await compileCircom(join(dir, 'circuit.circom'), dir);
  const wc = await loadWitnessCalculator(r.wasm);
  const witness = await computeWitness(wc, { in0: ['3', '5'] });
  const r1cs = await loadR1cs(r.r1cs);
  const signals = classifySignals(new Program(), loadSymbols(r.sym), r1cs);
  const target = new MutationTarget(r1cs, witness, signals);
  const tally = sweep(target, signals, new MutationTally());
  const loose = tally.uncaught.filter((u) => u.signal.name === 'main.out0[1]');
  assert.equal(loose.length, 3, 'all three tampers of the loose output go through');
  assert.ok(loose.every((u) => u.outcome === 'forged'));
  assert.equal(tally.byClass.get('output')!.forged, 3);
  // The constrained output is caught.
  assert.ok(!tally.uncaught.some((u) => u.signal.name === 'main.out0[0]'));
});
