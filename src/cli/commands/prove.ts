import { InvalidArgumentError, type Command } from 'commander';
import { prove, type OutputReport, type TensorReport } from '../../prove/prove.ts';
import { proveBatch, ERRORS_FILE } from '../../prove/batch.ts';
import { releaseCurve } from '../../util/snark.ts';
import { createProgress } from '../progress.ts';
import { makeReporter, type Reporter } from '../output.ts';
import { parseProverBackend, type ProverBackend } from '../../prove/backend.ts';

const MAX_SHOWN = 10;

const list = (xs: (number | string)[], digits?: number) => {
  const shown = xs.slice(0, MAX_SHOWN).map((x) => (typeof x === 'number' && digits !== undefined ? Number(x.toPrecision(digits)) : x));
  return `[${shown.join(', ')}${xs.length > MAX_SHOWN ? `, … ${xs.length} values` : ''}]`;
};

function tensorLines(t: TensorReport): string[] {
  const head = `${t.name} [${t.shape.join('x')}]:`;
  // With a final softmax the circuit proves the logits; the probabilities are derived from them.
  const lines = t.probabilities ? [`${head} probabilities ${list(t.probabilities, 4)}`, `  logits (proven): ${list(t.floats, 6)}`] : [`${head} ${list(t.floats, 6)}`];
  if (t.floats.some((f, i) => String(f) !== t.ints[i])) lines.push(`  integers: ${list(t.ints)}`);
  if (t.argmax !== undefined) lines.push(`  argmax: ${t.argmax}`);
  return lines;
}

/** Human-readable decoded outputs (shared with `zkml verify`). */
export function formatOutputs(report: OutputReport, indent = ''): string {
  const lines = report.outputs.flatMap(tensorLines);
  for (const t of report.publicInputs) lines.push(...tensorLines(t).map((l, i) => (i === 0 ? `input ${l}` : l)));
  for (const [kind, value] of Object.entries(report.digests)) lines.push(`${kind}: ${value}`);
  return lines.map((l) => indent + l).join('\n');
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

interface ProveCliOptions {
  input?: string;
  inputs?: string;
  out: string;
  workers?: number;
  raw?: boolean;
  json?: boolean;
  queue?: string;
  detach?: boolean;
  prover?: ProverBackend;
}

async function proveOne(dir: string, o: ProveCliOptions, r: Reporter): Promise<void> {
  try {
    const result = await prove(dir, { file: o.input! }, { out: o.out, raw: o.raw, prover: o.prover });
    for (const w of result.warnings) r.warn(w);
    const ms = (x: number) => `${Math.round(x)} ms`;
    r.event(
      'proved',
      { out: result.out, outputs: result.outputs, insecureSetup: result.insecureSetup, threads: result.threads, timings: result.timings },
      [
        formatOutputs(result.outputs),
        `proof written to ${result.out} (proof.json, public.json, output.json); witness ${ms(result.timings.witnessMs)}, proof ${ms(result.timings.proveMs)}`,
      ].join('\n'),
    );
  } finally {
    await releaseCurve();
  }
}

async function proveMany(dir: string, o: ProveCliOptions, r: Reporter): Promise<void> {
  const progress = createProgress(r);
  const shown = new Set<string>();
  const summary = await proveBatch(dir, o.inputs!, {
    out: o.out,
    workers: o.workers,
    raw: o.raw,
    prover: o.prover,
    onProgress: (e) => {
      if (e.kind === 'start') {
        // Said before the proofs start (e.g. a pool wider than the machine), not only once they are done.
        for (const w of e.warnings ?? []) {
          r.warn(w);
          shown.add(w);
        }
        progress.start(e.total);
      } else progress.update(e.done, e.id, { status: e.status, error: e.error, witnessMs: e.witnessMs, proveMs: e.proveMs });
    },
  }).finally(() => progress.stop());
  for (const w of summary.warnings) if (!shown.has(w)) r.warn(w);
  for (const e of summary.errors) r.info(`failed: ${e.id}: ${e.error}`);
  const { errors: _errors, warnings: _warnings, ...fields } = summary;
  r.event(
    'batch',
    fields,
    `${summary.proven} proven, ${summary.skipped} already done, ${summary.failed} failed${summary.failed ? ` (see ${o.out}/${ERRORS_FILE})` : ''}` +
      ` of ${summary.total} in ${(summary.elapsedMs / 1000).toFixed(1)} s (${summary.workers} worker${summary.workers === 1 ? '' : 's'})`,
  );
  if (summary.failed > 0) process.exitCode = 1;
}

export function register(program: Command): void {
  program
    .command('prove <dir>')
    .description('prove inference of a compiled, set-up build: one input in-process, or many in a pool of worker threads')
    .option('--input <file>', 'one input JSON file')
    .option('--inputs <path>', 'a folder of *.json inputs, or a .jsonl file with one input per line')
    .requiredOption('-o, --out <folder>', 'output folder (a batch writes one <input-id>/ folder per input)')
    .option('--workers <n>', 'worker threads for --inputs (default: one per core)', positiveInt)
    .option('--raw', 'input values are circuit integers already (no quantization)')
    .option('--prover <name>', 'Groth16 prover: native (default when its addon is built) or snarkjs', parseProverBackend)
    .option('--json', 'JSON lines on stdout')
    .option('--queue <url>', 'with --inputs: enqueue on this Redis (redis://host:port/db) for `zkml worker` processes (docs/fleet.md)')
    .option('--detach', 'with --queue: enqueue, print the batch id and return (see `zkml status`)')
    .action(async (dir: string, o: ProveCliOptions, cmd: Command) => {
      if (Boolean(o.input) === Boolean(o.inputs)) cmd.error('error: give exactly one of --input <file> and --inputs <folder|file.jsonl>', { exitCode: 2 });
      if ((o.queue && !o.inputs) || (o.detach && !o.queue)) cmd.error('error: --queue needs --inputs, and --detach needs --queue', { exitCode: 2 });
      const r = makeReporter(Boolean(o.json));
      if (o.queue) await (await import('./prove-queue.ts')).proveQueued(dir, o as ProveCliOptions & { inputs: string; queue: string }, r);
      else if (o.input) await proveOne(dir, o, r);
      else await proveMany(dir, o, r);
    });
}
