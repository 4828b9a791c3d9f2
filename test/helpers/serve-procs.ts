/**
 * `zkml serve`, `zkml worker` and redis-server as child processes on 127.0.0.1, for what only separate processes
 * can show: a kill -9 mid-batch (test/serve-kill.test.ts) and the service's benchmark (scripts/bench-serve.ts).
 * Every process started here is remembered and `stopAll()` ends what is still running (SIGKILL: these are
 * throwaway processes on throwaway data).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const ZKML = join(import.meta.dirname, '..', '..', 'bin', 'zkml.js');

const started = new Set<ChildProcess>();
const output = new WeakMap<ChildProcess, string[]>();

/** The complete stdout lines a process started here has printed so far (JSON events with --json). */
export function linesOf(child: ChildProcess): string[] {
  return output.get(child) ?? [];
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** The version of redis-server on PATH, or undefined when there is none. */
export function redisVersion(): string | undefined {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  return /v=(\S+)/.exec(r.stdout)?.[1] ?? 'unknown';
}

/** Resolves with the first line of `child`'s stdout that matches, or rejects when it exits first. */
function waitForLine(child: ChildProcess, what: string, match: (line: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (c: Buffer) => {
      out += c;
      const line = out.split('\n').find(match);
      if (line !== undefined) {
        child.stdout!.off('data', onData);
        child.off('exit', onExit);
        resolve(line);
      }
    };
    const onExit = (code: number | null, signal: string | null) => reject(new Error(`${what} exited (${code ?? signal}) before it was ready:\n${out.slice(-2000)}`));
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

function track(child: ChildProcess): ChildProcess {
  started.add(child);
  // Read all along: a child blocks on a full stdout pipe (writes to pipes are synchronous on Linux).
  const lines: string[] = [];
  let partial = '';
  output.set(child, lines);
  child.stdout?.on('data', (c: Buffer) => {
    const parts = (partial + c).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  child.once('exit', () => started.delete(child));
  return child;
}

/** A redis-server with no persistence on a free port; resolves with its URL once it accepts connections. */
export async function startRedis(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = track(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  await waitForLine(child, 'redis-server', (l) => l.includes('Ready to accept connections'));
  return { url: `redis://127.0.0.1:${port}/0`, child };
}

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  /** Jobs the server found unfinished at its start. */
  resumed: number;
}

/** `hardhat node` (Hardhat's CLI with the checkout's hardhat.config.cjs) on a free port; resolves once it answers. */
export async function startHardhatNode(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const cli = createRequire(import.meta.url).resolve('hardhat/internal/cli/cli.js');
  const child = track(spawn(process.execPath, [cli, 'node', '--hostname', '127.0.0.1', '--port', String(port)], { cwd: join(import.meta.dirname, '..', '..'), stdio: 'ignore' }));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' });
      if (res.ok) return { url, child };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop(child, 'SIGKILL');
  throw new Error('hardhat node did not start within 30 s');
}

/** `zkml serve --json` on a free port; resolves once it listens. `args`: more options (--queue, --workers…). */
export async function startServe(dataDir: string, args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  const child = track(spawn(process.execPath, [ZKML, 'serve', '--port', '0', '--data', dataDir, '--json', ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } }));
  const line = await waitForLine(child, 'zkml serve', (l) => l.includes('"event":"listening"'));
  const { url, resumed } = JSON.parse(line) as { url: string; resumed: number };
  return { child, url, resumed };
}

/** `zkml worker --json` on the data folder's builds; resolves once it takes jobs. */
export async function startWorker(queue: string, builds: string, args: string[] = [], env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = track(spawn(process.execPath, [ZKML, 'worker', '--queue', queue, '--builds', builds, '--json', ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } }));
  await waitForLine(child, 'zkml worker', (l) => l.includes('"event":"worker"'));
  return child;
}

/** Sends `signal` and resolves once the process has exited. */
export async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

/** SIGKILLs every process started here that still runs. */
export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((c) => stop(c, 'SIGKILL')));
}
