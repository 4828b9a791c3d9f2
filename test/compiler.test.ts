import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileAndCheck, tolerance, maxAbsDiff } from './helpers/models.ts';
import { violatedConstraints } from '../src/circom/r1cs.ts';
import { DEFAULT_QUANT } from '../src/quantize/options.ts';
import { layoutCircuit } from '../src/compiler/layout.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'models');
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

/** Every fixture the compiler must handle, with the input range covering its committed input. */
const MODELS: [string, [number, number]][] = [
  ['gemm_basic', [-1, 1]],
  ['gemm_attrs', [-1, 1]],
  ['matmul_add', [-1, 1]],
  ['arith_consts', [-1, 1]],
  ['reshape_ops', [-1, 1]],
  ['reshape_ops_opset11', [-1, 1]],
  ['batchnorm_after_linear', [-1, 1]],
  ['batchnorm_standalone', [-1, 1]],
  ['softmax_final', [-1, 1]],
  ['logsoftmax_final', [-1, 1]],
  ['dynamic_batch', [-1, 1]],
  ['constant_node', [-1, 1]],
  ['iris', [0, 8]],
];

for (const [name, inputRange] of MODELS) {
  test(`fixture ${name}: witness equals the reference executor and matches onnxruntime`, async () => {
    const model = join(FIXTURES, `${name}.onnx`);
    const input = json(join(FIXTURES, `${name}.input.json`));
    const expected: number[] = json(join(FIXTURES, `${name}.expected.json`)).output_data.flat(Infinity);
    const r = await compileAndCheck(model, input, { inputRange });

    assert.deepEqual(r.check.mismatches, [], 'every gadget output and circuit output equals the reference');
    assert.deepEqual(r.check.violated, [], 'the witness satisfies every constraint');
    const diff = maxAbsDiff(r.floats[0], expected);
    const tol = tolerance(DEFAULT_QUANT.scale, expected);
    assert.ok(diff <= tol, `max abs error ${diff} exceeds the tolerance ${tol}`);

    // The gadgets' own cost model agrees with circom's count (outputs may add linear constraints).
    const estimated = r.manifest.layers.reduce((a, l) => a + l.constraints, 0);
    assert.ok(r.manifest.constraints >= estimated && r.manifest.constraints <= estimated + expected.length, `circom ${r.manifest.constraints} vs estimate ${estimated}`);

    // Mutation: a changed output breaks a constraint.
    const outIndex = r.check.symbols.get('main.out0[0]')!;
    const tampered = r.check.witness.slice();
    tampered[outIndex] += 1n;
    assert.ok(violatedConstraints(r.check.r1cs, tampered, 1).length > 0, 'a changed output must violate a constraint');

    // Mutation: every kind of requantization signal (remainder bit, quotient bit, sign bit, output).
    const g = r.program.gadgets.findIndex((x) => x.def.kind === 'requant' && x.params.k > 0 && x.params.signed);
    if (g >= 0) {
      const { k, b } = r.program.gadgets[g].params;
      // --O2 substitutes one signal per linear constraint, so a class's first bit may live on only as a linear
      // combination of the others: tamper with the first bit of each class that is still a witness entry.
      const classes: [string, number[]][] = [
        ['remainder bit', range(0, k)],
        ['quotient bit', range(k, k + b - 1)],
        ['sign bit', [k + b - 1]],
      ];
      let tampered = 0;
      for (const [what, bits] of classes) {
        const idx = bits.map((i) => r.check.symbols.get(`main.${layoutCircuit(r.program).componentOf[g]}.bits[${i}]`)!).find((x) => x >= 0);
        if (idx === undefined) continue;
        const w = r.check.witness.slice();
        w[idx] = 1n - w[idx];
        assert.ok(violatedConstraints(r.check.r1cs, w, 1).length > 0, `flipping a ${what} must violate a constraint`);
        tampered++;
      }
      assert.ok(tampered >= 2, 'at least two classes of requantization bits were tampered with');
    }
  });
}
