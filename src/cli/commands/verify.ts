import type { Command } from 'commander';
import { verify } from '../../prove/verify.ts';
import { makeReporter } from '../output.ts';
import { formatOutputs } from './prove.ts';

export function register(program: Command): void {
  program
    .command('verify <dir> <out>')
    .description("verify proofs off-chain against a build's verification key: a result folder, or a batch output folder")
    .option('--json', 'JSON lines on stdout')
    .action(async (dir: string, out: string, o: { json?: boolean }) => {
      const r = makeReporter(Boolean(o.json));
      const result = await verify(dir, out);
      for (const res of result.results) {
        const name = res.id ?? res.folder;
        r.event(
          'verified',
          { id: res.id, folder: res.folder, valid: res.valid, reason: res.reason, outputs: res.outputs },
          res.valid ? `valid: ${name}\n${formatOutputs(res.outputs!, '  ')}` : `INVALID: ${name}: ${res.reason}`,
        );
      }
      for (const f of result.failedInputs) r.event('failed-input', { ...f }, `not proven: ${f.id}: ${f.error}`);
      for (const w of result.warnings) r.warn(w);
      const validCount = result.results.filter((x) => x.valid).length;
      r.event(
        'verify',
        { valid: result.valid, kind: result.kind, insecureSetup: result.insecureSetup, validProofs: validCount, invalidProofs: result.results.length - validCount, failedInputs: result.failedInputs.length },
        result.kind === 'single'
          ? result.valid ? 'the proof is valid' : 'the proof is NOT valid'
          : `${validCount} of ${result.results.length} proofs valid${result.failedInputs.length ? `, ${result.failedInputs.length} input(s) not proven` : ''}`,
      );
      if (!result.valid) process.exitCode = 1;
    });
}
