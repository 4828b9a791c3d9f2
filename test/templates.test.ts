/**
 * Every template of circuits/ on its own: its witness equals the gadget's integer semantics, its constraint
 * count equals the gadget's cost model, and tampering with any of its signals breaks a constraint.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type GadgetDef, inputPorts } from '../src/gadgets/gadget.ts';
import { requant, type RequantParams } from '../src/gadgets/requant.ts';
import { range, type RangeParams } from '../src/gadgets/range.ts';
import { product } from '../src/gadgets/product.ts';
import { bundleCircom } from '../src/circom/bundle.ts';
import { compileCircom, CIRCUITS_DIR, NODE_MODULES_DIR } from '../src/circom/compile.ts';
import { loadWitnessCalculator } from '../src/circom/witness.ts';
import { loadR1cs, violatedConstraints } from '../src/circom/r1cs.ts';
import { loadSymbols } from '../src/circom/sym.ts';
import { fieldToSigned, FIELD_P } from '../src/io/output.ts';
import { tempDir } from './helpers/models.ts';

async function checkTemplate<P>(def: GadgetDef<P>, params: P, cases: bigint[][]) {
  const dir = tempDir(def.kind);
  const file = join(dir, 'circuit.circom');
  const main = `include "${def.file}";\ncomponent main = ${def.template}(${def.templateArgs(params).join(', ')});\n`;
  writeFileSync(file, bundleCircom(main, [CIRCUITS_DIR, NODE_MODULES_DIR]));
  const compiled = await compileCircom(file, dir);
  assert.equal(compiled.constraints, def.constraints(params), `${def.describe(params)}: circom's count equals the cost model`);
  const wc = await loadWitnessCalculator(compiled.wasm);
  const r1cs = await loadR1cs(compiled.r1cs);
  const symbols = loadSymbols(compiled.sym);
  for (const inputs of cases) {
    const witness: bigint[] = await wc.calculateWitness(Object.fromEntries(inputPorts(def, params).map((n, i) => [n, inputs[i].toString()])), true);
    const expected = def.evaluate(params, inputs);
    def.outputs.forEach((o, j) => assert.equal(fieldToSigned(witness[symbols.get(`main.${o}`)!]), expected[j], `${def.describe(params)} on ${inputs}`));
    assert.deepEqual(violatedConstraints(r1cs, witness), [], 'a valid witness satisfies every constraint');
    // Tamper with every signal that is still a witness entry (outputs and internal bits); index 0 is the constant 1.
    let tampered = 0;
    for (const [name, idx] of symbols) {
      if (idx <= 0 || inputPorts(def, params).some((n) => name === `main.${n}`)) continue;
      for (const delta of [1n, FIELD_P - 1n]) {
        const w = witness.slice();
        w[idx] = (w[idx] + delta) % FIELD_P;
        assert.ok(violatedConstraints(r1cs, w, 1).length > 0, `changing ${name} by ${delta === 1n ? '+1' : '-1'} must violate a constraint`);
      }
      tampered++;
    }
    assert.ok(tampered > 0);
  }
}

const requantCases: [RequantParams, bigint[][]][] = [
  [{ k: 4, b: 6, signed: true, relu: true }, [[-500n], [-8n], [-9n], [7n], [8n], [0n], [503n]]],
  [{ k: 4, b: 6, signed: true, relu: false }, [[-512n], [-8n], [24n], [503n]]],
  [{ k: 3, b: 5, signed: false, relu: false }, [[0n], [3n], [4n], [251n]]],
  [{ k: 0, b: 8, signed: true, relu: true }, [[-128n], [-1n], [0n], [127n]]],
  [{ k: 0, b: 8, signed: true, relu: false }, [[-128n], [127n]]],
];

for (const [params, cases] of requantCases) {
  test(`ZkRequant ${requant.describe(params)}: exact, costed and tamper-proof`, async () => {
    await checkTemplate(requant, params, cases);
  });
}

test('ZkRequant rounds half up, including negative halves', () => {
  const p = { k: 2, b: 8, signed: true, relu: false };
  assert.deepEqual([-6n, -5n, -2n, -1n, 1n, 2n, 5n, 6n].map((x) => requant.evaluate(p, [x])[0]), [-1n, -1n, 0n, 0n, 0n, 1n, 1n, 2n]);
});

const rangeCases: [RangeParams, bigint[][]][] = [
  [{ lo: 0n, hi: 255n }, [[0n], [255n], [17n]]],
  [{ lo: -256n, hi: 256n }, [[-256n], [256n], [0n]]],
];
for (const [params, cases] of rangeCases) {
  test(`ZkRange [${params.lo}, ${params.hi}]: exact, costed and tamper-proof`, async () => {
    await checkTemplate(range, params, cases);
  });
}

test('ZkRange refuses a value outside its range (no witness exists)', async () => {
  const dir = tempDir('range-out');
  const file = join(dir, 'circuit.circom');
  writeFileSync(file, bundleCircom(`include "range.circom";\ncomponent main = ZkRange(8, 0);\n`, [CIRCUITS_DIR, NODE_MODULES_DIR]));
  const compiled = await compileCircom(file, dir);
  const wc = await loadWitnessCalculator(compiled.wasm);
  await assert.rejects(wc.calculateWitness({ in: '256' }, true));
  await assert.rejects(wc.calculateWitness({ in: '-1' }, true));
});

test('ZkProduct: exact, costed and tamper-proof', async () => {
  await checkTemplate(product, {}, [[3n, -7n], [0n, 5n]]);
});
