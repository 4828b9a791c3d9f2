/**
 * Runs a script as a separate process that must end by itself: a library call that leaves threads, a pool or a
 * timer behind keeps such a process alive, which only a process boundary shows. The script prints `done` when its
 * work is over; the process is killed (and the result says so) if it is still alive `graceMs` later.
 */
import { spawn } from 'node:child_process';

export interface ExitResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Still running `graceMs` after printing `done` (or `limitMs` after starting): killed. */
  killed: boolean;
}

export function runUntilExit(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; graceMs?: number; limitMs?: number }): Promise<ExitResult> {
  const { graceMs = 30_000, limitMs = 600_000 } = opts;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    const kill = () => {
      killed = true;
      child.kill('SIGKILL');
    };
    let timer = setTimeout(kill, limitMs);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
      if (/^done$/m.test(stdout) && !killed) {
        clearTimeout(timer);
        timer = setTimeout(kill, graceMs);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, killed });
    });
  });
}
