/**
 * One demonstration model (scripts/bench-demos.ts) against onnxruntime on seeded inputs: agreement of integer
 * outputs (labels), max abs error of the others (after the final op the CLI derives), and the circuit's
 * constraints per node from the cost model (no compile). Prints one JSON object.
 *
 *   tsx scripts/bench-families.ts <demo name> <model path> [--n N]
 */
import { parseArgs } from 'node:util';
import { run } from '../src/run.ts';
import { analyze } from '../src/compiler/compile.ts';
import { DEMOS } from './bench-demos.ts';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { n: { type: 'string', default: '50' } } });
const [name, model] = positionals;
const demo = DEMOS.find((d) => d.name === name);
if (!demo || !model) throw new Error(`usage: bench-families.ts <demo name> <model path>; demos: ${DEMOS.map((d) => d.name).join(', ')}`);

const n = Number(values.n);
let exact = 0;
let integerOutputs = 0;
let maxAbsError = 0;
for (let k = 0; k < n; k++) {
  for (const o of await run(model, demo.input(k), demo.options as never)) {
    const float = o.float.map(Number);
    if (o.ints.length && o.dequantized.every(Number.isInteger) && float.every(Number.isInteger) && o.name === 'label') {
      integerOutputs++;
      if (o.derived.every((v, i) => v === float[i])) exact++;
    } else maxAbsError = Math.max(maxAbsError, ...o.derived.map((v, i) => Math.abs(v - float[i])));
  }
}
const { lowered } = analyze(model, demo.options as never);
const constraints = [...lowered.program.costByNode().values()].reduce((a, b) => a + b, 0);
console.log(JSON.stringify({ name, inputs: n, labelAgreement: integerOutputs ? exact / integerOutputs : undefined, maxAbsError, constraints }));
