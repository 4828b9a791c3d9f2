/**
 * The rounding of constants recorded where it happens (ir/expr.ts) and the tolerance bound built on it
 * (conformance/tolerance.ts): a chain of rounded constants (w·(1/Σw), the weighted mean of NLLLoss) is bounded
 * by the product rule, never by one half unit of the final coefficient; untracked steps stay untracked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Expr } from '../src/ir/expr.ts';
import { runConformance, caseLabel } from '../dev/conformance/run.ts';
import { DEFAULT_NODE_TESTS } from '../dev/conformance/testdata.ts';
import { existsSync } from 'node:fs';

test('chained rounded constants: the recorded error bounds the exact coefficient, and lifts and signs keep it exact', () => {
  // 1/5 at 2^16 rounds to 13107 (error 0.2); then ×0.3 at 2^16 (19661, error 0.2); then lifted by 2^16.
  const w = Expr.wire(0);
  const r1 = 2 ** 16 / 5;
  const r2 = 0.3 * 2 ** 16;
  const e = w.scaleRounded(13107n, Math.abs(r1 - 13107)).scaleRounded(19661n, Math.abs(r2 - 19661)).scaleExact(1n << 16n).scale(-1n);
  assert.ok(e.err, 'tracked');
  const exact = -r1 * r2 * 2 ** 16;
  const a = Number(e.terms.get(0));
  assert.equal(a, -13107 * 19661 * 65536);
  assert.ok(Math.abs(exact - a) <= e.err.get(0)!, `|exact − a| = ${Math.abs(exact - a)} <= recorded ${e.err.get(0)}`);
  // One half unit of the final coefficient, the old rule, is far below the true error: the reason for tracking.
  assert.ok(Math.abs(exact - a) > 0.5 * 65536);
  // A constant with its rounding, summed in: tracked; addConst or a scale by an integer of unknown origin: not.
  const c = Expr.sum([[e, 1n], [Expr.constant(7n, 0.25), 1n]]);
  assert.equal(c.cErr, 0.25);
  assert.equal(e.addConst(3n).err, undefined);
  assert.equal(w.scale(3n).err, undefined);
  assert.equal(Expr.sum([[w, 2n]]).err, undefined, 'a sum with a coefficient other than ±1 may hide a rounded constant');
  // A weight that rounds to 0 keeps its wire's error.
  const z = w.scaleRounded(0n, 0.4);
  assert.equal(z.terms.size, 0);
  assert.equal(z.err?.get(0), 0.4);
});

test('the expanded NLLLoss cases pass within the tracked bound', async () => {
  assert.ok(existsSync(DEFAULT_NODE_TESTS), `${DEFAULT_NODE_TESTS} is missing: run scripts/setup-system.sh`);
  const report = await runConformance({ include: (t) => /^test_nllloss_.*_expanded$/.test(t.name), maxCircuits: 0 });
  assert.ok(report.cases.length >= 18);
  assert.deepEqual(report.cases.filter((c) => c.status !== 'pass').map((c) => `${caseLabel(c)}: ${c.reason}`), []);
});
