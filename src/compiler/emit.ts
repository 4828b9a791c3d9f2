import type { Expr } from './expr.ts';
import type { Program } from './program.ts';
import { inputPorts } from '../gadgets/gadget.ts';

/**
 * A linear expression as Circom source, e.g. `((3*in0[0] + -2*g5.out) + 7)`. Sums are written as balanced
 * trees: circom's compiler recurses once per nesting level, and a flat sum of a few hundred terms (a dense
 * layer's row) overflows its stack.
 */
export function exprToCircom(e: Expr, ref: string[]): string {
  const terms: string[] = [];
  const ids = [...e.terms.keys()].sort((a, b) => a - b);
  for (const w of ids) {
    const a = e.terms.get(w)!;
    terms.push(a === 1n ? ref[w] : `${a}*${ref[w]}`);
  }
  if (e.c !== 0n || terms.length === 0) terms.push(`${e.c}`);
  let level = terms;
  while (level.length > 1) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? `(${level[i]} + ${level[i + 1]})` : level[i]);
    level = next;
  }
  return level[0];
}

/**
 * The main Circom source of a program: inputs and outputs as signal arrays, one component per gadget (named
 * g<i>, wired by linear expressions, so fixed weights cost nothing), and the output assignments.
 * Includes name the templates in circuits/; bundle.ts inlines them.
 */
export function emitCircom(program: Program, opts: { publicInputs: boolean; header?: string[] }): string {
  const lines: string[] = [];
  for (const h of opts.header ?? []) lines.push(`// ${h}`);
  const files = [...new Set(program.gadgets.map((g) => g.def.file))].sort();
  for (const f of files) lines.push(`include "${f}";`);
  lines.push('', 'template Model() {');
  for (const input of program.inputs) lines.push(`    signal input ${input.signal}[${input.wires.length}];`);
  for (const output of program.outputs) lines.push(`    signal output ${output.signal}[${output.exprs.length}];`);
  let node = '';
  program.gadgets.forEach((g, id) => {
    if (g.node !== node) {
      node = g.node;
      lines.push('', `    // ${node.replace(/[\r\n]/g, ' ')}`);
    }
    lines.push(`    component g${id} = ${g.def.template}(${g.def.templateArgs(g.params).join(', ')});`);
    const ports = inputPorts(g.def, g.params);
    g.inputs.forEach((e, i) => lines.push(`    g${id}.${ports[i]} <== ${exprToCircom(e, program.ref)};`));
  });
  lines.push('');
  for (const output of program.outputs) {
    output.exprs.forEach((e, i) => lines.push(`    ${output.signal}[${i}] <== ${exprToCircom(e, program.ref)};`));
  }
  lines.push('}', '');
  const pub = opts.publicInputs && program.inputs.length ? ` {public [${program.inputs.map((i) => i.signal).join(', ')}]}` : '';
  lines.push(`component main${pub} = Model();`, '');
  return lines.join('\n');
}
