/**
 * ONNX backend node tests (Debian's libonnx-testdata, onnx 1.12) through zkml: every case that zkml does not
 * refuse must match the expected output (exactly for integer outputs, within the scale-derived tolerance
 * otherwise), a few circuits must agree with the reference executor, and each core op must have run enough
 * cases. The full report, all ops and one circuit per op, is scripts/conformance.ts → CONFORMANCE.md.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { caseLabel, runConformance, type CaseResult } from '../dev/conformance/run.ts';
import { DEFAULT_NODE_TESTS } from '../dev/conformance/testdata.ts';

/**
 * Cases that fail for a known bug, with the reason they fail for. Each must still fail (so a fix shows up
 * here as a test failure telling to delete its entry). None today: the expanded NLLLoss graphs, whose weighted
 * mean chains two rounded constants (w·(1/Σw)), failed until the lowering recorded each constant's rounding
 * (ir/expr.ts) and tolerance.ts bounded with it (issue 15).
 */
const KNOWN_FAILURES: Record<string, string> = {};

/**
 * Cases that must pass per core op (the counts on this machine's suite when this test was written: a drop
 * means a case regressed from pass to skip). Softmax/LogSoftmax are not listed: the final-op policy proves
 * their input, so their cases check the derivation in `zkml run`, not the circuit.
 */
const MIN_PASSED: Record<string, number> = {
  Gemm: 11,
  MatMul: 1,
  Add: 6,
  Sub: 8,
  Mul: 9,
  Div: 3,
  Relu: 1,
  Flatten: 9,
  Reshape: 9,
  Identity: 1,
  Squeeze: 2,
  Unsqueeze: 8,
  Transpose: 7,
  Concat: 24,
  BatchNormalization: 4,
  // Comparisons, logic, selection and rounding (ops/logic.ts, ops/rounding.ts).
  Equal: 4,
  Less: 8,
  LessOrEqual: 4,
  Greater: 8,
  GreaterOrEqual: 4,
  And: 8,
  Or: 8,
  Xor: 8,
  Where: 2,
  Abs: 1,
  Sign: 1,
  Neg: 2,
  Floor: 2,
  Ceil: 2,
  Round: 1,
  // Wiring ops (expand.ts, indexing.ts, resize.ts) and the linear ConvTranspose and Einsum.
  Expand: 2,
  Tile: 2,
  Trilu: 11,
  Split: 6,
  GatherElements: 3,
  GatherND: 3,
  ScatterElements: 4,
  Scatter: 2,
  ScatterND: 3,
  DepthToSpace: 4,
  SpaceToDepth: 2,
  Resize: 18,
  Upsample: 1,
  ConvTranspose: 20,
  Einsum: 5,
  // The long tail (ops/transcendental.ts, loss.ts, reduce-extra.ts, tail.ts, mod.ts, bitshift.ts).
  Exp: 2, Sin: 2, Cos: 2, Sinh: 2, Cosh: 2, Atan: 2, Asinh: 2, Softplus: 2, Softsign: 2, Elu: 3, Selu: 3, Celu: 1,
  NegativeLogLikelihoodLoss: 46, SoftmaxCrossEntropyLoss: 30, ReduceLogSumExp: 8, ReduceProd: 8,
  CumSum: 7, Hardmax: 7, ThresholdedRelu: 3, Shrink: 2, TopK: 3, Mod: 23, BitShift: 16, CastLike: 10,
  // Computed parameters (ops/conv.ts, qlinear.ts, computed-activation.ts, normalization.ts, arith.ts, select.ts).
  Conv: 12, ConvInteger: 6, MatMulInteger: 2, QLinearConv: 1, QLinearMatMul: 2, PRelu: 4, Clip: 20, Dropout: 10, Pow: 21, OneHot: 4,
};

/** Circuits compiled here (each 2–8 s): the ops whose lowering differs most (weights, gadgets, data moves). */
const CIRCUIT_OPS = ['Gemm', 'Relu', 'Mul', 'Transpose', 'BatchNormalization', 'GatherElements', 'ConvTranspose'];

/** Node tests with more input elements than this are left to scripts/conformance.ts (3-D pools take minutes). */
const MAX_INPUT_ELEMENTS = 4096;

test('ONNX node tests of the supported ops', async () => {
  // Fail, never skip, when the suite is missing: a silent skip would hide every regression below.
  assert.ok(existsSync(DEFAULT_NODE_TESTS), `${DEFAULT_NODE_TESTS} is missing: run scripts/setup-system.sh (installs Debian's libonnx-testdata)`);

  const report = await runConformance({
    include: (t) => t.inputs.reduce((a, io) => a + io.elements, 0) <= MAX_INPUT_ELEMENTS,
    circuitOps: CIRCUIT_OPS,
  });
  const byStatus = (s: CaseResult['status']) => report.cases.filter((c) => c.status === s);
  const passed = byStatus('pass');
  const failed = byStatus('fail');

  const unexpected = failed.filter((c) => !(caseLabel(c) in KNOWN_FAILURES));
  assert.deepEqual(
    unexpected.map((c) => `${caseLabel(c)}: ${c.reason}`),
    [],
    'every case zkml does not refuse must match the node test',
  );
  for (const [label, why] of Object.entries(KNOWN_FAILURES)) {
    const c = report.cases.find((r) => caseLabel(r) === label);
    assert.ok(c, `known failure ${label} did not run`);
    assert.equal(c.status, 'fail', `${label} now ${c.status}s: the bug is fixed, delete it from KNOWN_FAILURES`);
    assert.ok(c.reason?.includes(why), `${label} fails differently than recorded: ${c.reason}`);
  }

  for (const [op, min] of Object.entries(MIN_PASSED)) {
    const n = passed.filter((c) => c.op === op).length;
    assert.ok(n >= min, `${op}: ${n} cases passed, expected at least ${min}`);
  }

  const circuits = report.cases.filter((c) => c.circuit);
  assert.deepEqual(circuits.map((c) => c.op).sort(), [...CIRCUIT_OPS].sort(), 'one circuit cross-check per listed op');
  for (const c of circuits) {
    assert.equal(c.circuit!.mismatches, 0, `${caseLabel(c)}: witness differs from the reference executor`);
    assert.equal(c.circuit!.violated, 0, `${caseLabel(c)}: witness violates constraints`);
  }
  // Honest accounting: a skip carries zkml's error code and message, never a pass.
  for (const c of byStatus('skip')) assert.ok(c.code && c.reason, `${caseLabel(c)} skipped without a reason`);
});
