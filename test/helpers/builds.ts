/**
 * Compiled builds shared by the soundness suites (mutation, audit) and scripts/security-counts.ts: circom
 * takes seconds per model, and the same model compiled with the same options and the same compiler gives the
 * same circuit. A build is cached under the checkout's .cache/ (git-ignored; one cache per checkout, so two
 * checkouts never share half-written builds), keyed by the model's bytes, the options and a hash
 * of every source the circuit depends on (the compiler's folders of src/, circuits/, package.json), so any
 * change to the compiler recompiles.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { analyze, analyzeOptionsOf, compile, type CompileOptions } from '../../src/compiler/compile.ts';
import { crossCheck, type CrossCheck } from '../../src/compiler/crosscheck.ts';
import { encodeInputs } from '../../src/io/input.ts';
import { readManifest, type Manifest } from '../../src/manifest.ts';
import type { Program } from '../../src/compiler/program.ts';

const ROOT = join(import.meta.dirname, '..', '..');

function hashTree(h: ReturnType<typeof createHash>, dir: string): void {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) hashTree(h, path);
    else if (/\.(ts|js|circom)$/.test(name)) h.update(name).update(readFileSync(path));
  }
}

let compilerHash: string | undefined;
function compilerVersion(): string {
  if (!compilerHash) {
    const h = createHash('sha256');
    for (const d of ['onnx', 'ops', 'quantize', 'compiler', 'gadgets', 'circom', 'io']) hashTree(h, join(ROOT, 'src', d));
    hashTree(h, join(ROOT, 'circuits'));
    h.update(readFileSync(join(ROOT, 'src', 'manifest.ts')));
    h.update(readFileSync(join(ROOT, 'package.json')));
    compilerHash = h.digest('hex');
  }
  return compilerHash;
}

/** Compiles `model` with `opts` into a cached build folder (or reuses it); returns the folder. */
export async function cachedBuild(model: string, opts: CompileOptions = {}): Promise<string> {
  const key = createHash('sha256').update(compilerVersion()).update(readFileSync(model)).update(JSON.stringify(opts)).digest('hex').slice(0, 24);
  const dir = join(ROOT, '.cache', 'test-builds', key);
  if (!existsSync(join(dir, 'manifest.json'))) await compile(model, dir, opts);
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
