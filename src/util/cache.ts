import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * zkml's cache folder (`sub` inside it), created if missing: `$ZKML_CACHE`, else `$XDG_CACHE_HOME/zkml`, else
 * `~/.cache/zkml`. It holds only what can be made again (development ptau files): deleting it is always safe.
 */
export function cacheDir(sub?: string): string {
  const root = process.env.ZKML_CACHE || (process.env.XDG_CACHE_HOME ? join(process.env.XDG_CACHE_HOME, 'zkml') : join(homedir(), '.cache', 'zkml'));
  const dir = resolve(sub ? join(root, sub) : root);
  mkdirSync(dir, { recursive: true });
  return dir;
}
