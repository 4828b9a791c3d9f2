import { readFileSync } from 'node:fs';

/**
 * The .sym file maps every signal name (e.g. `main.c4[12].bits[3]`) to its witness index; -1 means --O2
 * eliminated the signal (it equals a linear combination of others).
 */
export function loadSymbols(path: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line) continue;
    const parts = line.split(',');
    map.set(parts.slice(3).join(','), Number(parts[1]));
  }
  return map;
}
