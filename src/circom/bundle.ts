import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ZkmlError } from '../util/errors.ts';

const INCLUDE = /^\s*include\s+"([^"]+)"\s*;\s*$/;
const PRAGMA = /^\s*pragma\s+circom\b.*$/;

/**
 * Inlines every `include` of a Circom source into one self-contained file.
 * Why: circom2 (the compiler built to WebAssembly) fails to resolve includes that leave the folder of the file
 * being compiled, whatever `-l` says. A single file also makes a build folder reproducible on its own: the
 * exact template text that was compiled is kept beside the r1cs.
 * Each file is emitted once, dependencies before dependants; `pragma circom` lines are replaced by one.
 */
export function bundleCircom(entrySource: string, searchPaths: string[], pragma = 'pragma circom 2.1.0;'): string {
  const seen = new Set<string>();
  const out: string[] = [pragma];

  const resolveInclude = (name: string, from: string | undefined): string => {
    const candidates = [...(from ? [join(dirname(from), name)] : []), ...searchPaths.map((p) => join(p, name))];
    const found = candidates.find((c) => existsSync(c));
    if (!found) throw new ZkmlError(`include "${name}" not found (searched ${candidates.join(', ')})`, 'E_CIRCOM_INCLUDE', from);
    return resolve(found);
  };

  const visit = (source: string, path: string | undefined) => {
    const body: string[] = [];
    for (const line of source.split('\n')) {
      const inc = INCLUDE.exec(line);
      if (inc) {
        const file = resolveInclude(inc[1], path);
        if (!seen.has(file)) {
          seen.add(file);
          visit(readFileSync(file, 'utf8'), file);
        }
      } else if (!PRAGMA.test(line)) {
        body.push(line);
      }
    }
    if (path) out.push(`// ---- ${path.replace(/^.*node_modules\//, '').replace(/^.*\/circuits\//, 'circuits/')}`);
    out.push(...body);
  };

  visit(entrySource, undefined);
  return out.join('\n');
}
