import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const ZKML = join(import.meta.dirname, '..', '..', 'bin', 'zkml.js');

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI as a user would (a separate process), with optional extra environment. */
export function zkml(args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [ZKML, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
