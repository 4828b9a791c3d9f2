import { type Command, Option } from 'commander';
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
    .addOption(new Option('--input-visibility <v>', 'the input: hashed (a Poseidon digest is public), public, or private').choices(['hashed', 'public', 'private']).default('hashed'))
    .addOption(new Option('--output-visibility <v>', 'the output: public, or hashed (a Poseidon digest is public)').choices(['public', 'hashed']).default('public'))
    .addOption(
      new Option('--param-visibility <v>', 'the weights: fixed constants, hashed (private signals whose Poseidon digest is the public model id), or private (unbound)')
        .choices(['fixed', 'hashed', 'private'])
        .default('fixed'),
    )
    .option('--single-signal', 'one public signal: Poseidon(model id, input digest, output digest) — the cheapest verification')
    .option('--json', 'JSON lines output')
    .action(async (model: string, o: Record<string, unknown>, cmd: Command) => {
      const r = makeReporter(Boolean(o.json));
      const started = Date.now();
      const manifest = await compile(model, o.out as string, {
        ...quantFrom(o, cmd),
        inputVisibility: o.inputVisibility as 'hashed' | 'public' | 'private',
        outputVisibility: o.outputVisibility as 'public' | 'hashed',
        singleSignal: Boolean(o.singleSignal),
        paramVisibility: o.paramVisibility as 'fixed' | 'hashed' | 'private',
        onProgress: (step, data) => r.event('progress', { step, ...data }, step === 'circom' ? 'compiling the circuit with circom…' : undefined),
      });
      r.info(layerTable(manifest));
      r.event('compiled', { dir: o.out, constraints: manifest.constraints, layers: manifest.layers, ms: Date.now() - started }, `wrote ${o.out} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    });
}
