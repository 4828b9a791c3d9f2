import type { Command } from 'commander';
import { readManifest } from '../../manifest.ts';
import { makeReporter } from '../output.ts';
import { layerTable } from '../layers.ts';

export function register(program: Command): void {
  program
    .command('inspect <dir>')
    .description('show a build: model, inputs and outputs, quantization, setup and per-layer costs')
    .option('--json', 'print the manifest as JSON')
    .action((dir: string, o: { json?: boolean }) => {
      const m = readManifest(dir);
      const r = makeReporter(Boolean(o.json));
      if (r.json) return r.event('manifest', { manifest: m });
      const io = (t: typeof m.inputs[number]) => `  ${t.name} [${t.shape.join('x')}] ${t.visibility}, scale 2^-${t.encoding.scaleExp ?? '?'}, integers in [${t.intRange.join(', ')}]`;
      r.info(`model:    ${m.model.path} (sha256 ${m.model.sha256}, opset ${m.model.opset})`);
      r.info(`zkml:     ${m.zkmlVersion}; ${Object.entries(m.tools).map(([k, v]) => `${k} ${v}`).join(', ')}`);
      r.info(`inputs:\n${m.inputs.map(io).join('\n')}${m.inputRangeChecked ? '\n  (range-checked in the circuit)' : ''}`);
      r.info(`outputs:\n${m.outputs.map(io).join('\n')}`);
      if (m.finalActivation) r.info(`final op: ${m.finalActivation.op} (axis ${m.finalActivation.axis}) — the circuit proves its input, the logits; the CLI derives the ${m.finalActivation.op} and argmax`);
      const params = m.visibility.params ?? 'fixed';
      const weights = { fixed: 'weights fixed in the circuit', hashed: 'Poseidon digest of the private weights, proven in the circuit', private: 'weights private and unbound' }[params];
      r.info(`model id: ${m.commitments.modelId} (${weights})`);
      r.info(`public signals: ${m.publicSignals.length} (${[...new Set(m.publicSignals.map((s) => s.kind))].join(', ')})`);
      r.info(m.setup ? `setup:    ptau power ${m.setup.ptau.power} (${m.setup.ptau.source})${m.setup.insecure ? '  ** INSECURE development setup: anyone can forge proofs **' : ''}` : 'setup:    none yet (run zkml setup)');
      r.info('');
      r.info(layerTable(m));
    });
}
