import { type Command, InvalidArgumentError } from 'commander';
import type { QuantOptions } from '../quantize/options.ts';
import { DEFAULT_QUANT } from '../quantize/options.ts';

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
    .option('--input-range <lo,hi>', `float range of every input (default ${DEFAULT_QUANT.inputRange.join(',')})`, range);
}

export function quantFrom(o: Record<string, unknown>): Partial<QuantOptions> {
  return {
    scale: o.scale as number | undefined,
    inputScale: o.inputScale as number | undefined,
    weightBits: o.weightBits as number | undefined,
    inputRange: o.inputRange as [number, number] | undefined,
    checkInputs: o.checkInputs as boolean | undefined,
  };
}
