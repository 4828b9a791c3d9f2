/**
 * Progress of a long command, in the form its reader wants: a bar for a person at a terminal, one JSON line per
 * step with --json (`{"event":"progress","done":n,"total":m,"id":...}`, for CI jobs), nothing when stdout is a
 * pipe or a file (logs stay clean; the command's summary says what happened).
 */
import cliProgress from 'cli-progress';
import type { Reporter } from './output.ts';

export interface Progress {
  start(total: number): void;
  /** One more step done; `extra` goes into the JSON line (e.g. status, timings). */
  update(done: number, id: string, extra?: Record<string, unknown>): void;
  stop(): void;
}

export function createProgress(reporter: Reporter, stream: NodeJS.WriteStream = process.stdout): Progress {
  if (reporter.json) {
    let total = 0;
    return {
      start: (t) => (total = t),
      update: (done, id, extra) => reporter.event('progress', { done, total, id, ...extra }),
      stop: () => {},
    };
  }
  if (!stream.isTTY) return { start() {}, update() {}, stop() {} };
  const bar = new cliProgress.SingleBar({ stream, format: '{bar} {value}/{total} {id}', hideCursor: true }, cliProgress.Presets.shades_classic);
  return {
    start: (total) => bar.start(total, 0, { id: '' }),
    update: (done, id) => bar.update(done, { id }),
    stop: () => bar.stop(),
  };
}
