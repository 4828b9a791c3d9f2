/**
 * The folder holding zkml's package.json: the anchor for files zkml reads from its own package (package.json,
 * verifier-contracts/, circomlib). Found by walking up from this file because the same code runs at two depths:
 * from the sources (src/util/, in a checkout, through tsx) and from the build (dist/src/util/, the package).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}: zkml's package is incomplete`);
  }
}

export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
