import { type Command, InvalidArgumentError } from 'commander';
import type { QuantOptions } from '../quantize/options.ts';
import { DEFAULT_QUANT } from '../quantize/options.ts';
import { readSettings } from '../calibrate/settings.ts';
import { inputScaleFor } from '../compiler/lower.ts';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} takes an integer, got "${v}"`);
  return n;
};

function range(v: string): [number, number] {
  const parts = v.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 2 || parts.some((x) => !Number.isFinite(x)) || parts[0] > parts[1]) {
    throw new InvalidArgumentError(`expected "lo,hi" with lo <= hi, got "${v}"`);
  }
  return parts as [number, number];
}

/** The quantization options shared by compile, run and calibrate. */
export function addQuantOptions(cmd: Command): Command {
  return cmd
    .option('--scale <bits>', `fractional bits of activations (default ${DEFAULT_QUANT.scale})`, int('--scale'))
    .option('--input-scale <bits>', 'fractional bits of the inputs (default: from --scale and --input-range)', int('--input-scale'))
    .option('--weight-bits <bits>', `signed bits per weight (default ${DEFAULT_QUANT.weightBits})`, int('--weight-bits'))
    .option('--input-range <lo,hi>', `float range of every input (default ${DEFAULT_QUANT.inputRange.join(',')})`, range)
    .option('--settings <file>', "quantization settings written by 'zkml calibrate' (flags given explicitly override them)");
}

/**
 * The quantization options of a command: its --settings file (if any), overridden by every flag the user
 * gave. Pass the command so that a value commander filled in by default (`--no-check-inputs` defaults to true)
 * does not count as given and override the file.
 */
export function quantFrom(o: Record<string, unknown>, cmd?: Command): Partial<QuantOptions> {
  const given = (key: string) => (cmd?.getOptionValueSource(key) === 'default' ? undefined : o[key]);
  const flags: Partial<QuantOptions> = {
    scale: given('scale') as number | undefined,
    inputScale: given('inputScale') as number | undefined,
    weightBits: given('weightBits') as number | undefined,
    inputRange: given('inputRange') as [number, number] | undefined,
    checkInputs: given('checkInputs') as boolean | undefined,
  };
  const file = typeof o.settings === 'string' ? readSettings(o.settings) : {};
  // The file's input scale, when it is the one derived from its scale, follows an explicit --scale.
  if (flags.scale !== undefined && flags.inputScale === undefined && file.inputScale !== undefined && file.scale !== undefined &&
      file.inputScale === inputScaleFor({ ...DEFAULT_QUANT, ...file, inputScale: undefined })) delete file.inputScale;
  return { ...file, ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) };
}
