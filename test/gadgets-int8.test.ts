/**
 * The int8 requantization gadget (gadgets/requant-int8.ts, circuits/requant_int8.circom):
 * - its plan is right for any spec and interval: a model of exactly what the template computes (decomposition,
 *   tie correction, comparisons, selection) equals the ONNX semantics on every tie and every clamp edge;
 * - circom: the witness equals the semantics, the constraint count equals the cost model, and changing any
 *   output or bit of a valid witness breaks a constraint.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  evaluateRequantInt8, planRequantInt8, requantInt8, roundHalfEvenShift, Side, type RequantInt8Params, type RequantInt8Spec,
} from '../src/gadgets/requant-int8.ts';
import { approxMultiplier, exactMultiplier, qlinearMultiplier } from '../src/quantize/int8.ts';
import { bundleCircom } from '../src/circom/bundle.ts';
import { compileCircom, CIRCUITS_DIR, NODE_MODULES_DIR } from '../src/circom/compile.ts';
import { loadWitnessCalculator } from '../src/circom/witness.ts';
import { loadR1cs, violatedConstraints } from '../src/circom/r1cs.ts';
import { loadSymbols } from '../src/circom/sym.ts';
import { fieldToSigned, FIELD_P } from '../src/io/output.ts';
import { mulberry32 } from '../fixtures/onnx-builder.ts';
import { tempDir } from './helpers/models.ts';

/** What circuits/requant_int8.circom computes, step by step (throws where it would have no witness). */
function circuitModel(p: RequantInt8Params, a: bigint): bigint {
  const n = BigInt(p.n);
  const w = a * p.m0 + (p.n > 0 ? 1n << (n - 1n) : 0n) - (p.base << n);
  if (w < 0n || w >= 1n << BigInt(p.n + p.b)) throw new Error(`no decomposition of w = ${w} in ${p.n + p.b} bits`);
  const rup = p.base + (w >> n);
  let r = rup;
  if (p.tie) {
    const rem = w & ((1n << n) - 1n);
    const m = rem + 1n - (rup & 1n);
    r = rup - (m === 0n ? 1n : 0n);
  }
  const L = p.lo - p.zp;
  const H = p.hi - p.zp;
  const own = () => {
    const T = p.low === Side.Own ? p.tl : H + 1n;
    const v = rup - T + (1n << BigInt(p.c - 1));
    if (v < 0n || v >= 1n << BigInt(p.c)) throw new Error(`no ${p.c}-bit comparison of ${v}`);
    return (v >> BigInt(p.c - 1)) & 1n;
  };
  const side = (s: Side) => (s === Side.False ? 0n : s === Side.True ? 1n : s === Side.TopBit ? (w >> BigInt(p.n + p.b - 1)) & 1n : own());
  const sL = side(p.low);
  const sH = side(p.high);
  return p.zp + L + sL * (r - L) - sH * (r - H);
}

test('round half to even of v / 2^n, including negative halves', () => {
  assert.deepEqual([-7n, -6n, -5n, -3n, -2n, -1n, 1n, 2n, 3n, 5n, 6n, 7n].map((v) => roundHalfEvenShift(v, 1)), [-4n, -3n, -2n, -2n, -1n, 0n, 0n, 1n, 2n, 2n, 3n, 4n]);
  assert.deepEqual([-12n, -4n, 4n, 12n, 13n].map((v) => roundHalfEvenShift(v, 3)), [-2n, 0n, 0n, 2n, 2n]);
  assert.equal(roundHalfEvenShift(17n, 0), 17n);
});

test('multipliers: float32 values are exact, real ratios keep 32 bits', () => {
  const M = qlinearMultiplier(0.0066, 0.00705, 0.0107);
  const { m0, n } = exactMultiplier(M, 'test');
  assert.equal(Number(m0) / 2 ** n, M);
  assert.ok(m0 % 2n === 1n && m0 < 1n << 24n, 'a float32 is an odd m0 of at most 24 bits');
  assert.deepEqual(exactMultiplier(0.5, 'test'), { m0: 1n, n: 1 });
  assert.deepEqual(exactMultiplier(12, 'test'), { m0: 12n, n: 0 });
  const r = approxMultiplier(1 / 5, 'test');
  assert.ok(r.m0 < 1n << 32n && Math.abs(Number(r.m0) / 2 ** r.n - 0.2) < 2 ** -33);
  assert.throws(() => exactMultiplier(0, 'node "x"'), /not a positive finite number/);
});

test('the plan: what the template computes equals the ONNX semantics, ties and clamps included', () => {
  const rand = mulberry32(42);
  const types: [bigint, bigint][] = [[-128n, 127n], [0n, 255n]];
  let checked = 0;
  let withTies = 0;
  for (let t = 0; t < 400; t++) {
    const [qmin, qmax] = types[t % 2];
    const zp = qmin + BigInt(Math.floor(rand() * 256));
    const relu = rand() < 0.3;
    // Small multipliers hit ties often; 24-bit ones are what real models have.
    const mult = rand() < 0.5 ? { m0: BigInt(1 + 2 * Math.floor(rand() * 8)), n: Math.floor(rand() * 6) } : exactMultiplier(Math.fround(rand() * 0.05 + 1e-4), 'test');
    const spec: RequantInt8Spec = { ...mult, zp, lo: relu && zp > qmin ? zp : qmin, hi: qmax };
    const width = BigInt(Math.floor(2 ** (rand() * 20)));
    const centre = BigInt(Math.floor((rand() - 0.5) * 2 ** (mult.n + 8))) * (rand() < 0.5 ? 1n : 0n);
    const aLo = centre - width * BigInt(Math.floor(rand() * 3));
    const aHi = centre + width;
    const plan = planRequantInt8(spec, aLo, aHi);
    const values: bigint[] = [aLo, aHi];
    for (let k = 0; k < 60; k++) values.push(aLo + BigInt(Math.floor(rand() * Number(aHi - aLo + 1n))));
    // Every exact tie in range (a·m0 ≡ 2^(n-1) mod 2^n), up to a few hundred.
    if (mult.n > 0) for (let a = aLo; a <= aHi && values.length < 400; a++) if (((a * mult.m0) % (1n << BigInt(mult.n)) + (1n << BigInt(mult.n))) % (1n << BigInt(mult.n)) === 1n << BigInt(mult.n - 1)) values.push(a);
    for (const a of values) {
      const expected = evaluateRequantInt8(spec, a);
      if ('constant' in plan) assert.equal(plan.constant, expected);
      else if ('linear' in plan) assert.equal(a * spec.m0 + spec.zp, expected);
      else assert.equal(circuitModel(plan.params, a), expected, `${JSON.stringify(plan.params, (_k, v) => (typeof v === 'bigint' ? `${v}` : v))} at a = ${a}`);
      checked++;
    }
    if ('params' in plan && plan.params.tie) withTies++;
  }
  assert.ok(checked > 20000 && withTies > 20, `${checked} values, ${withTies} plans with tie logic`);
});

test('the plan drops what the interval rules out', () => {
  const uint8 = { zp: 0n, lo: 0n, hi: 255n };
  // Non-negative accumulators never clamp low; a 24-bit odd multiplier cannot tie below 2^(n-1).
  const m = exactMultiplier(qlinearMultiplier(0.02, 0.003, 0.05), 'test');
  const p = planRequantInt8({ ...m, ...uint8 }, 0n, 1000000n);
  assert.ok('params' in p);
  assert.equal(p.params.low, Side.True);
  assert.equal(p.params.high, Side.TopBit);
  assert.equal(p.params.tie, false);
  assert.equal(p.params.c, 0);
  // Both sides live: one comes from the top bit, the other from its own comparison.
  const q = planRequantInt8({ ...m, zp: 0n, lo: -128n, hi: 127n }, -1000000n, 1000000n);
  assert.ok('params' in q && q.params.c > 0 && [q.params.low, q.params.high].includes(Side.TopBit) && [q.params.low, q.params.high].includes(Side.Own));
  // An interval that saturates everywhere, or a shift-free unclamped one.
  assert.deepEqual(planRequantInt8({ m0: 1n, n: 0, ...uint8 }, 300n, 400n), { constant: 255n });
  assert.deepEqual(planRequantInt8({ m0: 2n, n: 0, ...uint8 }, 0n, 100n), { linear: true });
  // M = 1/2 ties on every odd accumulator.
  const h = planRequantInt8({ m0: 1n, n: 1, zp: 0n, lo: -128n, hi: 127n }, -1000n, 1000n);
  assert.ok('params' in h && h.params.tie);
});

async function compileGadget(p: RequantInt8Params) {
  const dir = tempDir('requant-int8');
  const file = join(dir, 'circuit.circom');
  writeFileSync(file, bundleCircom(`include "${requantInt8.file}";\ncomponent main = ${requantInt8.template}(${requantInt8.templateArgs(p).join(', ')});\n`, [CIRCUITS_DIR, NODE_MODULES_DIR]));
  const compiled = await compileCircom(file, dir);
  return { compiled, wc: await loadWitnessCalculator(compiled.wasm), r1cs: await loadR1cs(compiled.r1cs), symbols: loadSymbols(compiled.sym) };
}

const qm = exactMultiplier(qlinearMultiplier(0.0123, 0.00456, 0.0789), 'test');
const cases: { name: string; spec: RequantInt8Spec; range: [bigint, bigint]; inputs: bigint[] }[] = [
  {
    name: 'M = 1/2 into int8: ties everywhere, both sides clamp',
    spec: { m0: 1n, n: 1, zp: 0n, lo: -128n, hi: 127n },
    range: [-1000n, 1000n],
    inputs: [-1000n, -258n, -257n, -255n, -5n, -3n, -1n, 0n, 1n, 3n, 5n, 253n, 255n, 1000n],
  },
  {
    name: 'a 24-bit multiplier into uint8 with a fused Relu (clamp at the zero point)',
    spec: { ...qm, zp: 3n, lo: 3n, hi: 255n },
    range: [-300000n, 300000n],
    inputs: [-300000n, -1n, 0n, 1n, 777n, 50000n, 300000n],
  },
  {
    name: 'no shift (integer multiplier 3), both sides clamp',
    spec: { m0: 3n, n: 0, zp: -10n, lo: -128n, hi: 127n },
    range: [-100n, 100n],
    inputs: [-100n, -40n, -39n, 0n, 45n, 46n, 100n],
  },
  {
    name: 'ties at the clamp edges, odd zero point',
    spec: { m0: 3n, n: 2, zp: 7n, lo: 0n, hi: 255n },
    range: [-50n, 400n],
    inputs: [-50n, -10n, -6n, -2n, 2n, 6n, 10n, 330n, 331n, 332n, 333n, 334n, 400n],
  },
];

for (const c of cases) {
  test(`ZkRequantInt8, ${c.name}: exact, costed and tamper-proof`, async () => {
    const plan = planRequantInt8(c.spec, ...c.range);
    assert.ok('params' in plan, 'needs a gadget');
    const p = plan.params;
    const { compiled, wc, r1cs, symbols } = await compileGadget(p);
    assert.equal(compiled.constraints, requantInt8.constraints(p), `${requantInt8.describe(p)}: circom's count equals the cost model`);
    for (const a of c.inputs) {
      const witness: bigint[] = await wc.calculateWitness({ in: a.toString() }, true);
      const expected = requantInt8.evaluate(p, [a])[0];
      assert.equal(fieldToSigned(witness[symbols.get('main.out')!]), expected, `${requantInt8.describe(p)} on ${a}`);
      assert.deepEqual(violatedConstraints(r1cs, witness), [], 'a valid witness satisfies every constraint');
      const dIdx = symbols.get('main.d');
      const atTieOdd = dIdx !== undefined && dIdx > 0 && witness[dIdx] === 1n;
      let tampered = 0;
      for (const [name, idx] of symbols) {
        if (idx <= 0 || name === 'main.in') continue;
        // IsZero's hint: when its argument is 0 the inverse is unused (d = 1 is forced whatever it is).
        if (name === 'main.inv' && atTieOdd) continue;
        for (const delta of [1n, FIELD_P - 1n]) {
          const w = witness.slice();
          w[idx] = (w[idx] + delta) % FIELD_P;
          assert.ok(violatedConstraints(r1cs, w, 1).length > 0, `changing ${name} by ${delta === 1n ? '+1' : '-1'} on input ${a} must violate a constraint`);
        }
        tampered++;
      }
      assert.ok(tampered > 0);
    }
    // An input outside the planned interval has no witness (its decomposition does not fit).
    await assert.rejects(wc.calculateWitness({ in: (c.range[1] + (1n << BigInt(p.n + p.b))).toString() }, true));
  });
}
