/**
 * How every command talks to its user: human lines on a terminal, or one JSON object per line with --json
 * (for CI jobs and scripts). Commands never call console.log directly.
 */
export interface Reporter {
  json: boolean;
  /** A result or event. In JSON mode printed as is (plus `event`); otherwise `text` is printed. */
  event(event: string, data: Record<string, unknown>, text?: string): void;
  /** Human-only line (suppressed in JSON mode). */
  info(text: string): void;
  /** Loud warning, in both modes (stderr for humans). */
  warn(text: string, data?: Record<string, unknown>): void;
}

const toJson = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));

export function makeReporter(json: boolean): Reporter {
  return {
    json,
    event(event, data, text) {
      if (json) process.stdout.write(toJson({ event, ...data }) + '\n');
      else if (text !== undefined) process.stdout.write(text + '\n');
    },
    info(text) {
      if (!json) process.stdout.write(text + '\n');
    },
    warn(text, data) {
      if (json) process.stdout.write(toJson({ event: 'warning', message: text, ...data }) + '\n');
      else process.stderr.write(`WARNING: ${text}\n`);
    },
  };
}
