import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, relative, resolve, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { ZkmlError } from '../util/errors.ts';

const require = createRequire(import.meta.url);
const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Folder of zkml's hand-written templates. */
export const CIRCUITS_DIR = join(projectRoot, 'circuits');
/** Folder holding circomlib, so generated code can `include "circomlib/circuits/poseidon.circom"`. */
export const INCLUDE_PATHS = () => [CIRCUITS_DIR, NODE_MODULES_DIR];
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
export async function compileCircom(file: string, outDir: string, onLine?: (line: string) => void): Promise<CircomResult> {
  const cli = require.resolve('circom2/cli.js');
  const rel = (p: string) => relative(outDir, p) || '.';
  const args = [cli, rel(file), '--r1cs', '--wasm', '--sym', '--O2', '--prime', 'bn128', '-o', '.'];
  const log: string[] = [];
  const code = await new Promise<number>((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { cwd: outDir, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        log.push(line);
        onLine?.(line);
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (c) => resolvePromise(c ?? 1));
  });
  const text = log.join('\n');
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
