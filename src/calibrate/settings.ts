import { readFileSync } from 'node:fs';
import type { QuantOptions } from '../quantize/options.ts';
import { writeJsonAtomic } from '../util/atomic.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * The settings file `zkml calibrate` writes and `zkml compile|run --settings` reads: the chosen quantization,
 * plus a record of how it was chosen (informational: compile uses `quantization` only).
 */
export const SETTINGS_FORMAT = 'zkml-settings/1';

export type SettingsQuant = Pick<QuantOptions, 'scale' | 'inputScale' | 'weightBits' | 'inputRange' | 'checkInputs'>;

export interface SettingsFile {
  format: typeof SETTINGS_FORMAT;
  quantization: SettingsQuant;
  calibration?: Record<string, unknown>;
}

export function writeSettings(path: string, quantization: SettingsQuant, calibration?: Record<string, unknown>): void {
  const file: SettingsFile = { format: SETTINGS_FORMAT, quantization, ...(calibration ? { calibration } : {}) };
  writeJsonAtomic(path, file);
}

/**
 * Reads a settings file into quantization options. Every field is checked here, so a hand-edited file fails
 * with a message naming the field rather than deep inside the compiler.
 */
export function readSettings(path: string): Partial<QuantOptions> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ZkmlError(e.code ? `cannot read settings (${e.code})` : `settings are not valid JSON (${e.message})`, 'E_SETTINGS', path);
  }
  const obj = raw as Partial<SettingsFile> | null;
  if (!obj || typeof obj !== 'object' || obj.format !== SETTINGS_FORMAT || typeof obj.quantization !== 'object' || obj.quantization === null) {
    throw new ZkmlError(`not a zkml settings file (expected {"format": "${SETTINGS_FORMAT}", "quantization": {...}}, as written by 'zkml calibrate')`, 'E_SETTINGS', path);
  }
  const q = obj.quantization as Record<string, unknown>;
  const out: Partial<QuantOptions> = {};
  const int = (key: 'scale' | 'inputScale' | 'weightBits') => {
    if (q[key] === undefined) return;
    if (!Number.isInteger(q[key])) throw new ZkmlError(`quantization.${key} must be an integer, got ${JSON.stringify(q[key])}`, 'E_SETTINGS', path);
    out[key] = q[key] as number;
  };
  int('scale');
  int('inputScale');
  int('weightBits');
  if (q.inputRange !== undefined) {
    const r = q.inputRange;
    if (!Array.isArray(r) || r.length !== 2 || r.some((v) => typeof v !== 'number' || !Number.isFinite(v)) || r[0] > r[1]) {
      throw new ZkmlError(`quantization.inputRange must be [lo, hi] with lo <= hi, got ${JSON.stringify(r)}`, 'E_SETTINGS', path);
    }
    out.inputRange = [r[0], r[1]];
  }
  if (q.checkInputs !== undefined) {
    if (typeof q.checkInputs !== 'boolean') throw new ZkmlError(`quantization.checkInputs must be true or false, got ${JSON.stringify(q.checkInputs)}`, 'E_SETTINGS', path);
    out.checkInputs = q.checkInputs;
  }
  return out;
}
