import { mkdirSync, renameSync, writeFileSync, rmSync, existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Writes a file so that readers see either the old content or the new one, never a half-written file. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, jsonBigint, 2) + '\n');
}

/** JSON has no bigint: write them as decimal strings, the form snarkjs uses for field elements. */
export function jsonBigint(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/**
 * A staging folder beside `target`, renamed into place only when everything in it is written. Used by
 * commands that produce several files (compile, setup) so that a failure leaves no partial build behind.
 */
export function stagingDir(target: string): string {
  mkdirSync(dirname(target), { recursive: true });
  return mkdtempSync(join(dirname(target), `.${basename(target)}.staging-`));
}

/** Moves every file of `staging` into `target` (created if needed), replacing files of the same name. */
export function commitStaging(staging: string, target: string): void {
  mkdirSync(target, { recursive: true });
  for (const name of readdirSync(staging)) {
    const to = join(target, name);
    if (existsSync(to)) rmSync(to, { recursive: true, force: true });
    renameSync(join(staging, name), to);
  }
  rmSync(staging, { recursive: true, force: true });
}
