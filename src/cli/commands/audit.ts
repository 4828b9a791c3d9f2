import type { Command } from 'commander';
import { audit } from '../../audit/audit.ts';
import { makeReporter } from '../output.ts';

/** How many findings a terminal shows before summarising the rest (--json always lists them all). */
const SHOWN = 20;

export function register(program: Command): void {
  program
    .command('audit <dir>')
    .description('static soundness checks of a build\'s constraints: unused signals, free outputs, signals not determined by the inputs')
    .option('--json', 'print the report as JSON')
    .action(async (dir: string, o: { json?: boolean }) => {
      const r = makeReporter(Boolean(o.json));
      const report = await audit(dir);
      if (r.json) r.event('audit', { ...report, ok: report.findings.length === 0 });
      else {
        r.info(`r1cs:        ${report.r1cs}`);
        r.info(`constraints: ${report.constraints}`);
        r.info(`signals:     ${report.wires - 1} (${report.outputs} public outputs, ${report.publicInputs} public inputs, ${report.privateInputs} private inputs)`);
        r.info(`determined:  ${report.determined} of ${report.wires - 1 - report.publicInputs - report.privateInputs} computed signals are determined by the inputs`);
        if (report.inputsRangeChecked !== undefined) r.info(`inputs:      ${report.inputsRangeChecked ? 'range-checked in the circuit' : 'NOT range-checked (--no-check-inputs)'}`);
        for (const note of report.notes) r.info(`note:        ${note}`);
        for (const f of report.findings.slice(0, SHOWN)) r.info(`FINDING [${f.kind}] ${f.message}`);
        if (report.findings.length > SHOWN) r.info(`... and ${report.findings.length - SHOWN} more finding(s) (--json lists all)`);
        r.info(report.findings.length === 0 ? 'no findings' : `${report.findings.length} finding(s)`);
      }
      if (report.findings.length > 0) process.exitCode = 1;
    });
}
