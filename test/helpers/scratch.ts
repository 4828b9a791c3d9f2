/**
 * Temp folders a test file creates and removes when it ends: the soundness suites copy builds and write
 * damaged files by the hundred, which would otherwise pile up in the OS temp folder run after run.
 */
import { after } from 'node:test';
import { rmSync } from 'node:fs';
import { tempDir } from './models.ts';

/** Call once at a test file's top level; returns a `tempDir` whose folders are removed after the file's tests. */
export function scratchDirs(): (prefix: string) => string {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return (prefix: string) => {
    const d = tempDir(prefix);
    dirs.push(d);
    return d;
  };
}
