/**
 * Runs the ONNX backend node tests of every op zkml supports and writes CONFORMANCE.md (atomically): per op,
 * cases passed / total, the reason of every failed or skipped case, and how and where it was run.
 *
 *   npx tsx scripts/conformance.ts [--out CONFORMANCE.md] [--root DIR] [--scale N] [--max-circuits N] [--json FILE]
 *     [--only REGEX] [--quiet] [--help]
 *
 * `--only` runs the node tests whose name matches (a quick check, e.g. `--only '^test_relu' --out /tmp/c.md`).
 */
import { cpus, platform, release, arch } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { caseLabel, DEFAULT_SCALE, runConformance, summarize, type CaseResult, type ConformanceReport } from '../dev/conformance/run.ts';
import { DEFAULT_NODE_TESTS } from '../dev/conformance/testdata.ts';
import { ASSUMED_STEPS } from '../dev/conformance/tolerance.ts';
import { writeFileAtomic, writeJsonAtomic } from '../src/util/atomic.ts';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: 'CONFORMANCE.md' },
    root: { type: 'string', default: DEFAULT_NODE_TESTS },
    scale: { type: 'string', default: String(DEFAULT_SCALE) },
    'max-circuits': { type: 'string' },
    json: { type: 'string' },
    only: { type: 'string' },
    quiet: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (args.help) {
  process.stdout.write(
    'npx tsx scripts/conformance.ts [--out CONFORMANCE.md] [--root DIR] [--scale N] [--max-circuits N] [--json FILE] [--only REGEX] [--quiet]\n' +
      '  Runs the ONNX backend node tests of the supported ops and writes the report (--out, default CONFORMANCE.md).\n' +
      '  --only REGEX   only node tests whose name matches (no report unless --out is given)\n',
  );
  process.exit(0);
}
const only = args.only !== undefined ? new RegExp(args.only) : undefined;
// A partial run must not replace the full report: with --only, a report is written only where --out says.
const out = only === undefined || process.argv.some((a) => a === '--out' || a.startsWith('--out=')) ? args.out : undefined;

const root = resolve(args.root!);
const command = `npx tsx scripts/conformance.ts${process.argv.slice(2).length ? ' ' + process.argv.slice(2).join(' ') : ''}`;
const log = (s: string) => {
  if (!args.quiet) process.stderr.write(s + '\n');
};

/** Paths in messages point into the machine's temp folder or the test data: keep the part after the node test. */
const tidy = (s: string) => {
  const t = s
    // eslint-disable-next-line no-control-regex
    .replace(/\x1b\[[0-9;]*m/g, '')
    .replaceAll(`${root}/`, '')
    .replace(/\/tmp\/zkml-conformance-[^/]+\/\.circuit-[^/]+\//g, '')
    .replace(/\/tmp\/zkml-conformance-[^/]+\/(test_[\w]+)\.[\w.]+\.onnx/g, '$1/model.onnx (constants variant)')
    .replace(/\s+/g, ' ')
    .trim();
  // Compiler diagnostics can run to pages: the start says what went wrong.
  return t.length > 400 ? `${t.slice(0, 400)}…` : t;
};

const fmt = (x: number | undefined) => (x === undefined ? '' : x === 0 ? '0' : x.toExponential(2));

function detail(c: CaseResult): string {
  if (c.status === 'skip') return `skipped (${c.code}): ${tidy(c.reason ?? '')}`;
  return `**failed**${c.code && c.code !== 'CRASH' ? ` (${c.code})` : ''}: ${tidy(c.reason ?? '')}${c.maxError !== undefined ? ` — max error ${fmt(c.maxError)}` : ''}`;
}

function markdown(report: ConformanceReport, started: Date): string {
  const rows = summarize(report);
  const total = report.cases.length;
  const count = (s: CaseResult['status']) => report.cases.filter((c) => c.status === s).length;
  const circuits = report.cases.filter((c) => c.circuit);
  const lines: string[] = [];
  lines.push('# ONNX backend node-test conformance', '');
  lines.push(
    `Generated ${started.toISOString().slice(0, 10)} by \`${command}\` on ${platform()} ${release()} (${arch()}), ${cpus().length} CPUs, ` +
      `node ${process.versions.node}, in ${(report.ms / 1000).toFixed(0)} s.`,
  );
  lines.push(`Suite: the ONNX 1.12 backend node tests of Debian's \`libonnx-testdata\` (\`${root}\`; \`scripts/setup-system.sh\` installs it).`, '');
  lines.push(
    `**${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped** of ${total} cases from the node tests whose model uses only ops in zkml's registry; ` +
      `${circuits.length} circuits compiled and cross-checked, ${circuits.filter((c) => !c.circuit!.error && c.circuit!.mismatches === 0 && c.circuit!.violated === 0).length} of them with a witness equal to the reference executor and no violated constraint. ` +
      `${report.unsupported.length} further node tests use an op zkml does not support (listed at the end).`,
    '',
  );
  lines.push('## How the cases are run', '');
  lines.push(
    '- Each node test runs in up to two variants. *computed*: every graph input is a circuit input (not generated when an input is int64 or bool: those are shapes, axes, pads, indices or flags). *constants* `[constants: …]`: the first input is the circuit input and every other input becomes an initializer holding the test\'s value, as a zkml model carries weights, shapes and axes (only for tests with two or more inputs).',
    `- Quantization: ${report.scale} fractional bits for inputs, activations and constants (\`--scale ${report.scale} --input-scale ${report.scale}\`, weights as wide as needed for that), input range = the inputs' span plus 1/8 of it (at least 1) on each side, input range checks on.`,
    '- The lowered model runs in the integer reference executor; its dequantized output is compared with `output_N.pb`: **exactly** when the expected element type is an integer type (within one unit only where the error bound described next for the element reaches a whole unit: a rounding of an inexact value, such as QuantizeLinear by a computed scale, may break a near tie the other way than float32 did), else within a **tolerance derived from the program\'s scales**: a bound on every rounding the program makes (inputs, constants, rescalings, products), propagated through its expressions and gadgets, plus the rounding of the expected value in its own element type (`dev/conformance/tolerance.ts` states the formula). ' +
      `Where the harness cannot model a gadget's error (a function table: Sigmoid, Tanh), ${ASSUMED_STEPS} steps of 2^-scale are allowed on top.`,
    '- A final Softmax/LogSoftmax follows the final-op policy: the circuit proves the logits and `zkml run` derives the probabilities, which are compared (tolerance: twice the logits\' bound, since both are 2-Lipschitz in the max norm).',
    '- One case per op is also compiled to a circuit (its smallest passing case, of the *computed* variant when there is one); its witness must equal the reference executor gadget by gadget and satisfy every constraint.',
    '- *skipped* means zkml refused the case with a clear error (its code is shown): an unsupported construct, not a wrong answer. A crash or an internal error counts as *failed*. A skip is never counted as a pass.',
    '',
  );
  lines.push('## Per op', '');
  lines.push('| op | passed / total | failed | skipped | circuit cross-check |', '| --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const circuit = report.cases.find((c) => c.op === r.op && c.circuit);
    const cc = !circuit ? '—' : circuit.circuit!.error ? `**failed** (${caseLabel(circuit)}: see below)` : `${r.circuit} (${caseLabel(circuit)}, ${circuit.circuit!.constraints} constraints)`;
    lines.push(`| ${r.op} | ${r.passed} / ${r.total} | ${r.failed || ''} | ${r.skipped || ''} | ${cc} |`);
  }
  lines.push('');
  lines.push('## Failed and skipped cases', '');
  for (const r of rows) {
    const bad = report.cases.filter((c) => c.op === r.op && c.status !== 'pass');
    if (bad.length === 0) continue;
    lines.push(`### ${r.op}`, '');
    for (const c of bad) lines.push(`- \`${caseLabel(c)}\` — ${detail(c)}`);
    lines.push('');
  }
  lines.push('## Node tests of ops zkml does not support', '');
  const byOp = new Map<string, number>();
  for (const u of report.unsupported) for (const op of u.missing) byOp.set(op, (byOp.get(op) ?? 0) + 1);
  lines.push(
    `${report.unsupported.length} node tests, not run. Ops (number of tests using each): ` +
      [...byOp.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([op, n]) => `${op} (${n})`).join(', ') +
      '.',
    '',
  );
  return lines.join('\n');
}

const started = new Date();
log(`conformance: running the node tests under ${root}`);
const report = await runConformance({
  root,
  scale: Number(args.scale),
  ...(args['max-circuits'] !== undefined ? { maxCircuits: Number(args['max-circuits']) } : {}),
  ...(only ? { include: (t: { name: string }) => only.test(t.name) } : {}),
  onCase: (c) => log(`${c.status.padEnd(4)} ${caseLabel(c)}${c.status === 'pass' ? '' : ` — ${tidy(c.reason ?? '').slice(0, 160)}`}`),
  onCircuit: (c) => log(`circuit ${c.op}: ${caseLabel(c)} ${c.status === 'pass' ? `ok, ${c.circuit!.constraints} constraints, ${c.circuit!.ms} ms` : `FAILED: ${c.reason}`}`),
});
if (out) writeFileAtomic(resolve(out), markdown(report, started));
if (args.json) writeJsonAtomic(resolve(args.json), report);
const failed = report.cases.filter((c) => c.status === 'fail').length;
log(`conformance: ${report.cases.filter((c) => c.status === 'pass').length} passed, ${failed} failed, ${report.cases.filter((c) => c.status === 'skip').length} skipped${out ? `; wrote ${out}` : ' (no report written: --only without --out)'}`);
