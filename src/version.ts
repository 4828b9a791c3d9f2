import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from './util/package-root.ts';

const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8'));

/** zkml's version, from package.json (one source of truth). */
export const VERSION: string = pkg.version;
/** The exact (pinned) versions of the packages zkml builds on, recorded in every manifest. */
export const DEPENDENCIES: Record<string, string> = pkg.dependencies;
