import type { Command } from 'commander';
import { compile } from '../../compiler/compile.ts';
import { makeReporter } from '../output.ts';
import { addQuantOptions, quantFrom } from '../quant-options.ts';
import { layerTable } from '../layers.ts';

export function register(program: Command): void {
  addQuantOptions(
    program
      .command('compile <model>')
      .description('compile an ONNX model into a Circom circuit (r1cs, wasm, sym) and manifest.json')
      .requiredOption('-o, --out <dir>', 'output folder'),
  )
    .option('--no-check-inputs', 'do not range-check the inputs inside the circuit (saves one constraint per input bit; see SECURITY.md)')
    .option('--public-input', 'make the model input public signals (default: private)')
    .option('--json', 'JSON lines output')
    .action(async (model: string, o: Record<string, unknown>) => {
      const r = makeReporter(Boolean(o.json));
      const started = Date.now();
      const manifest = await compile(model, o.out as string, {
        ...quantFrom(o),
        publicInputs: Boolean(o.publicInput),
        onProgress: (step, data) => r.event('progress', { step, ...data }, step === 'circom' ? 'compiling the circuit with circom…' : undefined),
      });
      r.info(layerTable(manifest));
      r.event('compiled', { dir: o.out, constraints: manifest.constraints, layers: manifest.layers, ms: Date.now() - started }, `wrote ${o.out} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    });
}
