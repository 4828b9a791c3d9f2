import type { Command } from 'commander';
import { run } from '../../run.ts';
import { readInputFile } from '../../io/input.ts';
import { makeReporter } from '../output.ts';
import { addQuantOptions, quantFrom } from '../quant-options.ts';

const fmt = (xs: number[]) => `[${xs.map((x) => (Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(3) : x.toFixed(4))).join(', ')}]`;

export function register(program: Command): void {
  addQuantOptions(
    program
      .command('run <model>')
      .description('run a model through onnxruntime (float) and the integer reference executor; print both and the error')
      .requiredOption('--input <file>', 'input JSON (EZKL {"input_data": ...} or {"<input name>": ...})'),
  )
    .option('--json', 'JSON output')
    .action(async (model: string, o: Record<string, unknown>, cmd: Command) => {
      const r = makeReporter(Boolean(o.json));
      const outputs = await run(model, readInputFile(o.input as string), quantFrom(o, cmd), o.input as string);
      for (const out of outputs) {
        r.event('output', { ...out }, [
          `${out.name} [${out.shape.join('x')}]`,
          `  onnxruntime (float): ${fmt(out.float)}`,
          `  quantized (circuit): ${fmt(out.derived)}${out.derived !== out.dequantized ? `\n  logits (proven):     ${fmt(out.dequantized)}` : ''}`,
          `  integers:            [${out.ints.join(', ')}]`,
          `  max abs error ${out.maxAbsError.toExponential(3)}; argmax float ${out.argmaxFloat}, quantized ${out.argmaxQuantized}`,
        ].join('\n'));
      }
    });
}
