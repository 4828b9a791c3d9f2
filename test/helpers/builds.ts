/**
 * Compiled builds shared by the soundness suites (mutation, audit) and scripts/security-counts.ts: circom
 * takes seconds per model, and the same model compiled with the same options and the same compiler gives the
 * same circuit. A build is cached under the checkout's .cache/ (git-ignored; one cache per checkout, so two
 * checkouts never share half-written builds), in one folder per compiler version (a hash of every source
 * compile() reaches and package.json, so any change to the compiler recompiles), keyed by the model's
 * bytes and the options. Versions unused for an hour are removed.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { analyze, analyzeOptionsOf, compile, type CompileOptions } from '../../src/compiler/compile.ts';
import { crossCheck, type CrossCheck } from '../../src/compiler/crosscheck.ts';
import { encodeInputs } from '../../src/io/input.ts';
import { readManifest, type Manifest } from '../../src/manifest.ts';
import type { Program } from '../../src/ir/program.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** Every source file compile() can reach: src/compiler/compile.ts and its relative imports, transitively. */
function compilerSources(): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+\.ts)'/g)) visit(resolve(dirname(file), m[1]));
  };
  visit(join(ROOT, 'src', 'compiler', 'compile.ts'));
  return [...seen].sort();
}

let compilerHash: string | undefined;
function compilerVersion(): string {
  if (!compilerHash) {
    const h = createHash('sha256');
    for (const f of compilerSources()) h.update(f).update(readFileSync(f));
    h.update(readFileSync(join(ROOT, 'package.json')));
    compilerHash = h.digest('hex');
  }
  return compilerHash;
}

const CACHE = join(ROOT, '.cache', 'test-builds');
/** Builds of other compiler versions are removed once nothing has used them for this long. */
const STALE_MS = 60 * 60 * 1000;
let pruned = false;

/** Removes the builds of compiler versions not used for an hour (each version has its own folder). */
function pruneStale(current: string): void {
  if (pruned || !existsSync(CACHE)) return;
  pruned = true;
  for (const name of readdirSync(CACHE)) {
    const path = join(CACHE, name);
    if (name !== current && Date.now() - statSync(path).mtimeMs > STALE_MS) rmSync(path, { recursive: true, force: true });
  }
}

/** Compiles `model` with `opts` into a cached build folder (or reuses it); returns the folder. */
export async function cachedBuild(model: string, opts: CompileOptions = {}): Promise<string> {
  const version = compilerVersion().slice(0, 16);
  pruneStale(version);
  const key = createHash('sha256').update(readFileSync(model)).update(JSON.stringify(opts)).digest('hex').slice(0, 24);
  const dir = join(CACHE, version, key);
  if (!existsSync(join(dir, 'manifest.json'))) await compile(model, dir, opts);
  // Marks the version as in use, so another process does not prune it.
  utimesSync(join(CACHE, version), new Date(), new Date());
  return dir;
}

/** Builds several models, two circom processes at a time (circom is single-threaded). */
export async function cachedBuilds(list: { model: string; opts?: CompileOptions }[], concurrency = 2): Promise<string[]> {
  const out: string[] = new Array(list.length);
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const i = next++;
      out[i] = await cachedBuild(list[i].model, list[i].opts);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, list.length) }, worker));
  return out;
}

export interface WitnessedBuild {
  dir: string;
  manifest: Manifest;
  program: Program;
  check: CrossCheck;
}

/** A cached build plus a valid witness for `input` (checked against the reference executor). */
export async function witnessedBuild(model: string, input: unknown, opts: CompileOptions = {}): Promise<WitnessedBuild> {
  const dir = await cachedBuild(model, opts);
  const manifest = readManifest(dir);
  // The build's own options (visibility defaults included), so the program has the build's gadgets.
  const { lowered } = analyze(model, analyzeOptionsOf(manifest));
  const check = await crossCheck(dir, manifest, lowered.program, encodeInputs(manifest, input));
  return { dir, manifest, program: lowered.program, check };
}
