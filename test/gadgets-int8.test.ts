/**
 * The int8 requantization gadget (gadgets/requant-int8.ts):
 * - its plan is right for any spec and interval: a model of exactly what the template computes (decomposition,
 *   tie correction, comparisons, selection) equals the ONNX semantics on every tie and every clamp edge;
 * - circom: the witness equals the semantics, the constraint count equals the cost model, and changing any
 *   output or bit of a valid witness breaks a constraint.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  evaluateRequantInt8, planRequantInt8, requantInt8, roundHalfEvenShift, Side, type RequantInt8Params, type RequantInt8Spec,
} from '../src/gadgets/requant-int8.ts';
import { approxMultiplier, exactMultiplier, qlinearMultiplier } from '../src/quantize/int8.ts';
import { mulberry32 } from '../fixtures/onnx-builder.ts';

/** What the gadget's circuit computes, step by step (throws where it would have no witness). */
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

// The gadget's circuit on these cases (exact, costed, tamper-proof, equivalent to circom's): test/gadgets.test.ts.
