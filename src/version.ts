import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

/** zkml's version, from package.json (one source of truth). */
export const VERSION: string = pkg.version;
/** The exact (pinned) versions of the packages zkml builds on, recorded in every manifest. */
export const DEPENDENCIES: Record<string, string> = pkg.dependencies;
