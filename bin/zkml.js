#!/usr/bin/env node
// The zkml CLI. It runs the JavaScript that tsc builds into dist/ (the published package ships it; in a checkout
// `npm ci` or `npm install` builds it through the `prepare` script, `npm run build` by hand), and it loads only
// the command that runs (src/cli/commands/index.ts), so `zkml --help` starts in a fraction of a second.
//
// In a checkout whose TypeScript sources changed after the last build, it runs the sources through tsx (a dev
// dependency) instead: slower to start, but never stale code, so tests and hand runs see every edit.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');

/** A checkout (the package has no tsconfig.json) with a source file newer than its build, or no build. */
function sourcesChangedSinceBuild() {
  if (!existsSync(join(root, 'tsconfig.json'))) return false;
  if (!existsSync(join(dist, 'src', 'cli', 'main.js'))) return true;
  const newer = (dir) =>
    readdirSync(dir, { withFileTypes: true }).some((entry) => {
      const built = join(dir, entry.name);
      if (entry.isDirectory()) return newer(built);
      if (!entry.name.endsWith('.js')) return false;
      const relative = built.slice(dist.length + 1);
      const source = [relative.replace(/\.js$/, '.ts'), relative].map((r) => join(root, r)).find((p) => existsSync(p));
      return source !== undefined && statSync(source).mtimeMs > statSync(built).mtimeMs;
    });
  return newer(dist);
}

async function loadMain() {
  if (sourcesChangedSinceBuild()) {
    const tsx = await import('tsx/esm/api').catch((err) => {
      if (err?.code === 'ERR_MODULE_NOT_FOUND') return undefined; // dev dependencies not installed: only the build
      throw err;
    });
    if (tsx) {
      tsx.register();
      if (process.stderr.isTTY) process.stderr.write('zkml: sources changed since the last build, running them through tsx (`npm run build` for a fast start)\n');
      return (await import('../src/cli/main.ts')).main;
    }
  }
  try {
    return (await import('../dist/src/cli/main.js')).main;
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || existsSync(join(dist, 'src', 'cli', 'main.js'))) throw err;
    process.stderr.write(`error: zkml is not built (no ${join(dist, 'src', 'cli', 'main.js')}): run \`npm run build\` in ${root}\n`);
    process.exit(1);
  }
}

const main = await loadMain();
process.exitCode = await main(process.argv);
