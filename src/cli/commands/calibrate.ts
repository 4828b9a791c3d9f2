import { type Command, InvalidArgumentError, Option } from 'commander';
import { byCost, calibrate, chosenQuant, DEFAULT_MIN_AGREEMENT, DEFAULT_SCALES, DEFAULT_WEIGHT_BITS, type Calibration, type SettingResult } from '../../calibrate/calibrate.ts';
import { loadSamples } from '../../io/samples.ts';
import { writeSettings } from '../../calibrate/settings.ts';
import { makeReporter } from '../output.ts';

/** A grid axis: "8", "4-12" or "4,6,8". */
function grid(name: string) {
  return (v: string): number[] => {
    const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(v);
    const values = m ? Array.from({ length: Math.max(0, Number(m[2]) - Number(m[1]) + 1) }, (_, i) => Number(m[1]) + i) : v.split(',').map((s) => Number(s.trim()));
    if (values.length === 0 || values.some((x) => !Number.isInteger(x) || x < 0)) throw new InvalidArgumentError(`${name} takes "8", "4-12" or "4,6,8", got "${v}"`);
    return values;
  };
}

const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`${name} takes a number, got "${v}"`);
  return n;
};

function rangeArg(v: string): [number, number] {
  const parts = v.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 2 || parts.some((x) => !Number.isFinite(x)) || parts[0] > parts[1]) throw new InvalidArgumentError(`expected "lo,hi" with lo <= hi, got "${v}"`);
  return parts as [number, number];
}

const span = (xs: number[]) => (xs.length > 2 && xs.every((x, i) => i === 0 || x === xs[i - 1] + 1) ? `${xs[0]}-${xs.at(-1)}` : xs.join(','));
const pct = (x?: number) => (x === undefined ? '-' : `${(x * 100).toFixed(2)}%`);
const err = (x?: number) => (x === undefined ? '-' : x.toExponential(2));
const cells = (r: SettingResult) => [r.scale, r.inputScale, r.weightBits, r.constraints ?? '-', pct(r.agreement), err(r.maxAbsError), err(r.meanAbsError)];
const HEADERS = ['scale', 'input scale', 'weight bits', 'constraints', 'agreement', 'max abs err', 'mean max err'];

const WIDTHS = HEADERS.map((h) => h.length);
/** One table row, right-aligned under HEADERS: the same layout for progress lines and the summary. */
const line = (xs: (string | number)[]) => xs.map((x, i) => String(x).padStart(WIDTHS[i] ?? 0)).join('  ').trimEnd();
const HEADER = `${line(HEADERS)}\n${line(WIDTHS.map((w) => '-'.repeat(w)))}`;

/** The explored trade-off, cheapest first, the chosen setting marked. */
function summary(c: Calibration): string {
  const ok = c.rows.filter((r) => r.constraints !== undefined).sort(byCost);
  const lines = [HEADER, ...ok.map((r) => line([...cells(r), r === c.chosen ? '<- chosen' : '']))];
  for (const r of c.rows.filter((x) => x.constraints === undefined)) lines.push(`scale ${r.scale}, weight bits ${r.weightBits}: not compilable (${r.error})`);
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('calibrate <model>')
    .description('pick quantization settings from sample data: accuracy vs onnxruntime and constraint cost over a grid; writes settings for `compile --settings`')
    .requiredOption('--data <samples>', 'samples: a JSON array of inputs, a .jsonl file (one input per line) or a folder of .json inputs')
    .addOption(new Option('--target <target>', 'accuracy: cheapest with agreement >= min(best, 99.5%) and error within --max-error; resources: cheapest with agreement >= --min-agreement').choices(['accuracy', 'resources']).default('accuracy'))
    .option('--min-agreement <fraction>', `target resources: top-1 agreement floor (default ${DEFAULT_MIN_AGREEMENT})`, num('--min-agreement'))
    .option('--max-error <abs>', 'target accuracy: max abs output error accepted (default: twice the smallest error the grid reaches)', num('--max-error'))
    .option('--scale <grid>', `activation fractional bits to try: "8", "4-12" or "4,6,8" (default ${span(DEFAULT_SCALES)})`, grid('--scale'))
    .option('--weight-bits <grid>', `signed weight bits to try (default ${span(DEFAULT_WEIGHT_BITS)})`, grid('--weight-bits'))
    .option('--input-scale <bits>', 'fixed fractional bits of the inputs (default: derived from each scale and the input range)', num('--input-scale'))
    .option('--input-range <lo,hi>', 'input range to use instead of measuring it from the samples', rangeArg)
    .option('--margin <fraction>', 'widen the measured input range by this fraction of its span on each side not saturated by the data (default 0.05)', num('--margin'))
    .option('--limit <n>', 'use the first n samples only', num('--limit'))
    .option('--no-check-inputs', 'cost and settings without input range checks in the circuit (see SECURITY.md)')
    .addOption(new Option('--input-visibility <v>', 'visibility the model will be compiled with (its hashing is part of the cost)').choices(['hashed', 'public', 'private']).default('hashed'))
    .addOption(new Option('--output-visibility <v>', 'output visibility the model will be compiled with').choices(['public', 'hashed']).default('public'))
    .option('--single-signal', 'the model will be compiled with --single-signal')
    .option('-o, --out <file>', 'settings file to write', 'settings.json')
    .option('--json', 'JSON lines output')
    .action(async (model: string, o: Record<string, unknown>) => {
      const r = makeReporter(Boolean(o.json));
      const samples = loadSamples(o.data as string, (o.limit as number | undefined) ?? Infinity);
      const started = Date.now();
      r.info(`${samples.length} samples from ${o.data}`);
      const result = await calibrate(model, samples, {
        target: o.target as 'accuracy' | 'resources',
        minAgreement: o.minAgreement as number | undefined,
        maxError: o.maxError as number | undefined,
        scales: o.scale as number[] | undefined,
        weightBits: o.weightBits as number[] | undefined,
        inputScale: o.inputScale as number | undefined,
        inputRange: o.inputRange as [number, number] | undefined,
        margin: o.margin as number | undefined,
        checkInputs: o.checkInputs as boolean,
        inputVisibility: o.inputVisibility as 'hashed' | 'public' | 'private',
        outputVisibility: o.outputVisibility as 'public' | 'hashed',
        singleSignal: Boolean(o.singleSignal),
        onRange: (range) => {
          const sides = [range.saturated.lo ? 'low' : '', range.saturated.hi ? 'high' : ''].filter(Boolean);
          const how = range.source === 'given'
            ? '(--input-range)'
            : `(measured [${range.measured.join(', ')}]; margin ${range.margin} of the span${sides.length ? `, none on the saturated ${sides.join(' and ')} side` : ''})`;
          r.event('range', { ...range }, `input range [${range.range.join(', ')}] ${how}`);
          r.info(HEADER);
        },
        onSetting: (row, i, n) => r.event('setting', { index: i, of: n, ...row }, `${line(cells(row))}${row.error ? `  (${row.error})` : ''}`),
      });
      r.info(`\nexplored ${result.rows.length} settings in ${((Date.now() - started) / 1000).toFixed(1)} s, cheapest first:\n${summary(result)}`);
      const quant = chosenQuant(result);
      writeSettings(o.out as string, quant, {
        model: result.model,
        modelSha256: result.modelSha256,
        samples: result.samples,
        target: result.target,
        reason: result.reason,
        agreement: result.chosen.agreement,
        maxAbsError: result.chosen.maxAbsError,
        constraints: result.chosen.constraints,
        costedFor: result.visibility,
        inputRange: { measured: result.range.measured, margin: result.range.margin, saturated: result.range.saturated, source: result.range.source },
        ...(result.target === 'accuracy' ? { maxErrorBound: result.errorBound } : { minAgreement: result.minAgreement }),
      });
      r.event(
        'chosen',
        { ...result.chosen, reason: result.reason, settings: quant, out: o.out },
        `chose scale ${quant.scale}, input scale ${quant.inputScale}, weight bits ${quant.weightBits}, input range [${quant.inputRange.join(', ')}]: ` +
          `${result.chosen.constraints} constraints, agreement ${pct(result.chosen.agreement)}, max abs error ${err(result.chosen.maxAbsError)} (${result.reason})\n` +
          `wrote ${o.out}: use it with zkml compile ${model} --settings ${o.out} -o <dir>`,
      );
    });
}
