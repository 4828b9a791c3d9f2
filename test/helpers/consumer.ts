/**
 * A project that depends on zkml's packed tarball, installed offline as a user's `npm install` would install it.
 * npm cannot resolve versions without the registry, so the project gets a lockfile: the tarball, plus the entries
 * of the checkout's own lockfile that zkml's dependencies (and the extra packages asked for) reach, which `npm ci`
 * then installs from npm's cache (filled by the checkout's `npm ci`). A dependency zkml needs at run time but
 * declares only as a dev dependency is therefore missing there, as it would be for a user.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

type LockEntry = Record<string, unknown> & { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>; peerDependencies?: Record<string, string> };

/** The lockfile path `name` resolves to from the package at `from` (Node's lookup: nearest node_modules first). */
function resolveIn(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  for (let dir = from; ; dir = dir.includes('/node_modules/') ? dir.slice(0, dir.lastIndexOf('/node_modules/')) : '') {
    const path = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[path]) return path;
    if (!dir) return undefined;
  }
}

/** Writes package.json and package-lock.json in `dir` and runs `npm ci --offline`; returns npm's output. */
export function installTarball(dir: string, tarball: string, extra: Record<string, string>): string {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const spec = `file:${relative(dir, tarball)}`;
  const dependencies = { zkml: spec, ...extra };
  const packages: Record<string, LockEntry> = {
    '': { name: 'consumer', dependencies },
    'node_modules/zkml': {
      version: pkg.version,
      resolved: spec,
      integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
    },
  };
  // zkml's dependencies resolve from the top of node_modules, where the checkout's lockfile has them too.
  const todo: [string, string][] = [...Object.keys(pkg.dependencies), ...Object.keys(extra)].map((name) => ['', name]);
  while (todo.length) {
    const [from, name] = todo.pop()!;
    const path = resolveIn(lock.packages, from, name);
    if (!path || packages[path]) continue;
    const { dev: _dev, devOptional: _devOptional, ...entry } = lock.packages[path];
    packages[path] = entry;
    for (const deps of [entry.dependencies, entry.optionalDependencies, entry.peerDependencies]) for (const d of Object.keys(deps ?? {})) todo.push([path, d]);
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies }, null, 2));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'consumer', lockfileVersion: 3, requires: true, packages }, null, 2));
  const r = spawnSync('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm ci --offline in ${dir} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}
