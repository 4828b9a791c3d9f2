/**
 * Interval analysis under attack (rule 3 of the design: no value may reach ±2^250, so nothing wraps around the
 * field). test/cli-errors.test.ts covers a huge input range and a deep linear chain; here the weights are the
 * adversary: a Gemm + ReLU whose weights all have the largest magnitude, with signs that line up with an
 * extreme input, so the interval bound is reached exactly. The boundary is probed to one part in 2^53 (a double's
 * precision): a model whose accumulators can reach 2^250 - 2^197 compiles, and its witness at the extreme inputs
 * equals the exact integers; the same model with the input range widened to 2^241 is refused, naming the node.
 * The last test is a soundness bug this suite found, now fixed: bounds were computed from the declared input
 * range, but the circuit's range check admits inputs up to the next power-of-two width; the interval analysis
 * now assumes what the check admits (src/compiler/lower.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyze, analyzeOptionsOf, compile } from '../src/compiler/compile.ts';
import { crossCheck } from '../src/compiler/crosscheck.ts';
import { encodeInputs } from '../src/io/input.ts';
import { ZkmlError } from '../src/util/errors.ts';
import { loadWitnessCalculator } from '../src/circom/witness.ts';
import { loadR1cs, violatedConstraints } from '../src/circom/r1cs.ts';
import { loadSymbols } from '../src/circom/sym.ts';
import { fieldToSigned } from '../src/io/output.ts';
import { zkml } from './helpers/cli.ts';
import { scratchDirs } from './helpers/scratch.ts';
import * as b from '../fixtures/onnx-builder.ts';

const tempDir = scratchDirs();

/**
 * x[1,4] → Gemm (weights ±1, signs alternating by column) → Relu → y[1,2]. With the default 9 weight bits,
 * ±1 quantizes to ±128 = ±2^7, so |accumulator| <= 4 · 2^7 · max|x| = 2^9 · max|x| exactly, reached when x's
 * signs match a column's. `second` adds a Gemm + Relu layer with the same weights after the first.
 */
function adversarialModel(dir: string, second = false): string {
  const W = b.floatTensor('W', [4, 2], [1, -1, -1, 1, 1, -1, -1, 1]);
  const W2 = b.floatTensor('W2', [2, 2], [1, 1, 1, 1]);
  const nodes = [b.node('Gemm', ['x', 'W'], ['h'], { name: 'fc' }), b.node('Relu', ['h'], [second ? 'r' : 'y'], { name: 'relu' })];
  if (second) nodes.push(b.node('Gemm', ['r', 'W2'], ['h2'], { name: 'fc2' }), b.node('Relu', ['h2'], ['y'], { name: 'relu2' }));
  const path = join(dir, second ? 'adversarial2.onnx' : 'adversarial.onnx');
  writeFileSync(path, b.serialize(b.model({ name: 'adversarial', nodes, inputs: [b.valueInfo('x', [1, 4])], outputs: [b.valueInfo('y', [1, 2])], initializers: second ? [W, W2] : [W] })));
  return path;
}

/** 2^241 - 2^188: the largest double below 2^241 (53 one-bits), so 2^9 times it is 2^250 - 2^197. */
const R_UNDER = 2 ** 241 - 2 ** 188;
const R_OVER = 2 ** 241;

test('interval: accumulators of 2^250 - 2^197 compile, and the witness at the extreme inputs is exact', async () => {
  const dir = tempDir('interval');
  const model = adversarialModel(dir);
  const build = join(dir, 'build');
  // --input-scale 0: inputs are integers, so R_UNDER is the largest input integer.
  const manifest = await compile(model, build, { inputRange: [-R_UNDER, R_UNDER], inputScale: 0 });
  const { lowered } = analyze(model, analyzeOptionsOf(manifest));
  const max = (1n << 250n) - (1n << 197n);
  // Each column's largest accumulator, and its most negative one (where the ReLU's sign bit is at its extreme).
  for (const [x, y] of [
    [[R_UNDER, -R_UNDER, R_UNDER, -R_UNDER], [max, 0n]],
    [[-R_UNDER, R_UNDER, -R_UNDER, R_UNDER], [0n, max]],
  ] as [number[], bigint[]][]) {
    const check = await crossCheck(build, manifest, lowered.program, encodeInputs(manifest, { x: [x] }));
    assert.deepEqual(check.mismatches, [], 'witness equals the reference executor');
    assert.deepEqual(check.violated, []);
    assert.deepEqual(check.circuit.get('y'), y, 'the exact integers, no wrap-around');
  }
  // A dishonest prover is bound only by the circuit: each input's range check of b bits admits up to
  // lo + 2^b - 1, a little above R_UNDER. At those edges (positive weights on the top edge, negative ones on
  // -R) the accumulator is 2^8 · (2^242 - 1) = 2^250 - 256, and the witness is still exact.
  const top = -BigInt(R_UNDER) + (1n << BigInt((2n * BigInt(R_UNDER)).toString(2).length)) - 1n;
  const edge = new Map([['x', [top, -BigInt(R_UNDER), top, -BigInt(R_UNDER)]]]);
  const check = await crossCheck(build, manifest, lowered.program, edge);
  assert.ok(top > BigInt(R_UNDER), 'the admitted edge is beyond the declared range');
  assert.deepEqual(check.mismatches, []);
  assert.deepEqual(check.violated, []);
  assert.deepEqual(check.circuit.get('y'), [(1n << 250n) - 256n, 0n]);
});

test('interval: the same Gemm + ReLU with the input range at 2^241 is refused at compile time, naming the Gemm', async () => {
  const dir = tempDir('interval');
  const model = adversarialModel(dir);
  const build = join(dir, 'build');
  await assert.rejects(compile(model, build, { inputRange: [-R_OVER, R_OVER], inputScale: 0 }), (err: unknown) => {
    assert.ok(err instanceof ZkmlError);
    assert.equal(err.code, 'E_RANGE');
    assert.match(err.message, /adversarial\.onnx: node "fc" \(Gemm\): a value could reach ±2\^251 \(interval \[-\d+, \d+\]\)/);
    assert.match(err.message, /beyond the ±2\^250/);
    return true;
  });
  assert.deepEqual(readdirSync(dir), ['adversarial.onnx'], 'no build folder, no staging folder');
});

test('interval: a second layer that overflows is named, not the first (CLI: exit 1, nothing written)', () => {
  const dir = tempDir('interval');
  const model = adversarialModel(dir, true);
  // fc: about 2^9 · 2^235 = 2^244 fits; fc2 multiplies that by 2 · 2^7 again, past 2^250.
  const r = zkml(['compile', model, '-o', join(dir, 'build'), '--input-range', `${-(2 ** 235)},${2 ** 235}`, '--input-scale', '0']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /node "fc2" \(Gemm\): a value could reach ±2\^25\d \(interval \[0, \d+\]\)/);
  assert.doesNotMatch(r.stderr, /node "fc" /);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'a message, not a stack trace');
  assert.deepEqual(readdirSync(dir), ['adversarial2.onnx']);
});

test('interval: an input range whose range check itself would pass 2^250 is refused, naming the input', () => {
  const dir = tempDir('interval');
  const model = adversarialModel(dir);
  assert.throws(
    () => analyze(model, { inputRange: [-(2 ** 250), 2 ** 250], inputScale: 0 }),
    (err: unknown) => err instanceof ZkmlError && err.code === 'E_RANGE' && /^x \(range check\): a value could reach ±2\^25\d/.test(err.message),
  );
});

test(
  'interval: inputs at the edge of their range check cannot make a product wrap around the field',
  async () => {
    // y = a·b·c with a, b, c in [-2^83, 2^83]: |y| <= 2^249 from the declared range. The range check of
    // x - lo has b = 85 bits, so a prover who builds the witness without zkml's input checks may use
    // x = 3·2^83 - 1 > hi, whose product, ~2^253.7, exceeds p: the public output would be its residue (~2^251), a
    // value no input in the declared range gives. Bounded by what the check admits, the analysis refuses the
    // model at compile time; were it compiled, that witness would have to violate a constraint.
    const dir = tempDir('interval');
    const vi = (n: string) => b.valueInfo(n, [1, 1]);
    const model = join(dir, 'product3.onnx');
    writeFileSync(model, b.serialize(b.model({ name: 'product3', nodes: [b.node('Mul', ['a', 'b'], ['p'], { name: 'mul1' }), b.node('Mul', ['p', 'c'], ['y'], { name: 'mul2' })], inputs: [vi('a'), vi('b'), vi('c')], outputs: [vi('y')] })));
    const R = 2 ** 83;
    let manifest;
    try {
      manifest = await compile(model, join(dir, 'build'), { inputRange: [-R, R], inputScale: 0, inputVisibility: 'private' });
    } catch (err) {
      assert.ok(err instanceof ZkmlError && err.code === 'E_RANGE');
      return;
    }
    const edge = ((3n << 83n) - 1n).toString();
    const wc = await loadWitnessCalculator(join(dir, 'build', 'circuit_js', 'circuit.wasm'));
    const witness = await wc.calculateWitness({ in0: [edge], in1: [edge], in2: [edge] }, true);
    const r1cs = await loadR1cs(join(dir, 'build', 'circuit.r1cs'));
    const out = fieldToSigned(witness[loadSymbols(join(dir, 'build', 'circuit.sym')).get('main.out0[0]')!]);
    const honestMax = BigInt(manifest.outputs[0].intRange[1]);
    assert.ok(violatedConstraints(r1cs, witness).length > 0, `a witness with inputs beyond the declared range proves output ${out}, beyond the largest honest output ${honestMax}`);
  },
);
