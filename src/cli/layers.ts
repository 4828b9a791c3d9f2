import type { Manifest } from '../manifest.ts';
import { table } from './table.ts';

/** The per-layer cost table printed by compile and inspect. */
export function layerTable(m: Manifest): string {
  const rows = m.layers.map((l) => [l.node, l.op, `[${l.outputShape.join('x')}]`, l.constraints, l.detail ?? '']);
  const sum = m.layers.reduce((a, l) => a + l.constraints, 0);
  return `${table(['node', 'op', 'output', 'constraints', 'detail'], rows)}\ntotal: ${m.constraints} constraints (layers ${sum}, outputs and wiring ${m.constraints - sum})`;
}
