import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, relative, join } from 'node:path';
import { existsSync } from 'node:fs';
import { ZkmlError } from '../util/errors.ts';

const require = createRequire(import.meta.url);

/** Folder holding circomlib, so generated code can `include "circomlib/circuits/poseidon.circom"`. */
export const NODE_MODULES_DIR = dirname(dirname(require.resolve('circomlib/package.json')));

export interface CircomResult {
  r1cs: string;
  wasm: string;
  sym: string;
  /** Non-linear + linear constraints as circom reports them after --O2. */
  constraints: number;
  log: string;
}

/**
 * Compiles `file` (inside `outDir`, self-contained: see bundle.ts) with circom2, the Circom 2 compiler built to WebAssembly. It runs in a child
 * process: the compiler's memory is released when it exits and a failure cannot take the caller down.
 * circom2 only reaches folders given as relative paths, so every path is made relative to `outDir`.
 */
export interface CircomOptions {
  onLine?: (line: string) => void;
  /** Also write circom's substitution map (`<name>_substitutions.json`: every eliminated signal's combination). */
  substitutions?: boolean;
}

/** ANSI colour and cursor codes, which circom's messages carry. */
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

export async function compileCircom(file: string, outDir: string, opts: CircomOptions = {}): Promise<CircomResult> {
  const cli = require.resolve('circom2/cli.js');
  const rel = (p: string) => relative(outDir, p) || '.';
  const args = [cli, rel(file), '--r1cs', '--wasm', '--sym', '--O2', '--prime', 'bn128', '-o', '.', ...(opts.substitutions ? ['--simplification_substitution'] : [])];
  // circom2 writes its output a few bytes (often one character) at a time: lines are cut only from the whole text.
  let output = '';
  let pending = '';
  const code = await new Promise<number>((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { cwd: outDir, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (chunk: Buffer) => {
      const text = chunk.toString();
      output += text;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) if (line.trim()) opts.onLine?.(line.replace(ANSI, ''));
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (c) => resolvePromise(c ?? 1));
  });
  const text = output.replace(ANSI, '').split('\n').filter((l) => l.trim()).join('\n');
  const base = file.replace(/^.*\//, '').replace(/\.circom$/, '');
  const result = {
    r1cs: join(outDir, `${base}.r1cs`),
    wasm: join(outDir, `${base}_js`, `${base}.wasm`),
    sym: join(outDir, `${base}.sym`),
  };
  if (code !== 0 || /error\[/i.test(text) || !existsSync(result.r1cs) || !existsSync(result.wasm)) {
    throw new ZkmlError(`circom failed (exit ${code}):\n${text.split('\n').slice(-40).join('\n')}`, 'E_CIRCOM', file);
  }
  const nonLinear = Number(/non-linear constraints:\s*(\d+)/.exec(text)?.[1] ?? NaN);
  const linear = Number(/(?<!non-)linear constraints:\s*(\d+)/.exec(text)?.[1] ?? 0);
  return { ...result, constraints: nonLinear + linear, log: text };
}
