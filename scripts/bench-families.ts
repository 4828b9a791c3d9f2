/**
 * One demonstration model (scripts/bench-demos.ts) against onnxruntime on seeded inputs: agreement of integer
 * outputs (labels) or of the top-1 per group (a language model's next token), max abs error of the others (after the final op the CLI derives), and the circuit's
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
let top1Same = 0;
let top1Groups = 0;
const argmax = (xs: number[]) => xs.reduce((b, v, i) => (v > xs[b] ? i : b), 0);
for (let k = 0; k < n; k++) {
  for (const o of await run(model, demo.input(k), demo.options as never)) {
    const float = o.float.map(Number);
    if (demo.top1) {
      for (let g = 0; g < float.length / demo.top1; g++) {
        const at = (xs: number[]) => xs.slice(g * demo.top1!, (g + 1) * demo.top1!);
        top1Groups++;
        if (argmax(at(o.derived)) === argmax(at(float))) top1Same++;
      }
    }
    if (o.ints.length && o.dequantized.every(Number.isInteger) && float.every(Number.isInteger) && o.name === 'label') {
      integerOutputs++;
      if (o.derived.every((v, i) => v === float[i])) exact++;
    } else maxAbsError = Math.max(maxAbsError, ...o.derived.map((v, i) => Math.abs(v - float[i])));
  }
}
const { lowered } = analyze(model, demo.options as never);
const constraints = [...lowered.program.costByNode().values()].reduce((a, b) => a + b, 0);
const labelAgreement = integerOutputs ? exact / integerOutputs : top1Groups ? top1Same / top1Groups : undefined;
console.log(JSON.stringify({ name, inputs: n, labelAgreement, maxAbsError, constraints }));
