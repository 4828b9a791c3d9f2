import { type Command, InvalidArgumentError, Option } from 'commander';
import { loadSamples } from '../../io/samples.ts';
import { quantizeModel, type ActivationType } from '../../ptq/ptq.ts';
import { makeReporter } from '../output.ts';

const count = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`--limit takes a positive integer, got "${v}"`);
  return n;
};

export function register(program: Command): void {
  program
    .command('quantize <model>')
    .description('static post-training quantization to an int8 QDQ model (onnxruntime runs it; `zkml compile` proves its exact int8 arithmetic)')
    .requiredOption('--calibration <data>', 'calibration inputs: a JSON array of inputs, a .jsonl file (one input per line) or a folder of .json inputs')
    .requiredOption('-o, --out <file>', 'the quantized model to write (e.g. model.int8.onnx)')
    .addOption(new Option('--activations <type>', 'activation type (asymmetric, per tensor)').choices(['uint8', 'int8']).default('uint8'))
    .option('--per-tensor', 'one weight scale per tensor instead of one per output channel')
    .option('--limit <n>', 'use the first n calibration inputs only', count)
    .option('--json', 'JSON lines output')
    .action(async (model: string, o: Record<string, unknown>) => {
      const r = makeReporter(Boolean(o.json));
      const samples = loadSamples(o.calibration as string, (o.limit as number | undefined) ?? Infinity);
      r.info(`calibrating on ${samples.length} inputs from ${o.calibration}…`);
      const started = Date.now();
      const report = await quantizeModel(model, samples, o.out as string, {
        activations: o.activations as ActivationType,
        perChannel: !o.perTensor,
      });
      r.event('quantized', { ...report, ms: Date.now() - started }, [
        `wrote ${report.output} (opset ${report.opset}): ${report.layers.length} layers with int8 ${report.perChannel ? 'per-channel' : 'per-tensor'} weights, ` +
          `${report.tensors.length} ${report.activations} activation tensors`,
        ...report.layers.map((l) => `  ${l.node} (${l.op}): ${l.weightScales} weight scale(s)`),
        `onnxruntime on the calibration inputs, int8 vs float: top-1 agreement ${(report.calibration.top1Agreement * 100).toFixed(1)}%, ` +
          `max abs output difference ${report.calibration.maxAbsError.toPrecision(4)}`,
        `next: zkml compile ${report.output} -o <dir>`,
      ].join('\n'));
    });
}
