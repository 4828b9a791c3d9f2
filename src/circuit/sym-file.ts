/**
 * circuit.sym as circom writes it: one line per signal, `label,wire,component,name`, the wire being -1 for a
 * signal that elimination removed. `zkml audit`, the mutation tests and users' own tools read signals by name.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { ConstraintSystem } from './system.ts';

export async function writeSym(path: string, cs: ConstraintSystem, wireOf: Int32Array): Promise<void> {
  const out = createWriteStream(path);
  let chunk = '';
  for (let s = 1; s < cs.nSignals; s++) {
    chunk += `${s},${wireOf[s]},0,${cs.names[s]}\n`;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}
