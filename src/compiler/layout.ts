import type { Program } from './program.ts';
import type { GadgetDef } from '../gadgets/gadget.ts';
import { inputPorts } from '../gadgets/gadget.ts';

/**
 * How a program's gadgets become Circom components. Gadgets of one ONNX node that use the same template and
 * do not depend on one another form a run: one component array (`c3[0..M)`) instantiated in a loop, so the
 * generated witness code grows with the number of runs, not with the number of gadgets. A node's gadgets are
 * split into levels first (a gadget's level is one more than the highest level of the same node's gadgets it
 * reads), so a max-pool's comparison tree becomes one run per tree level.
 */
export interface Run {
  /** Component array name, e.g. `c3`. */
  name: string;
  def: GadgetDef<any>;
  ports: string[];
  /** Gadget ids in array order. */
  gadgets: number[];
  node: string;
}

/** Where a wire's value lives in Circom: `${array}[${index}]${suffix}`, e.g. `c3[5].out` or `in0[12]`. */
export interface WireSource {
  array: string;
  index: number;
  suffix: string;
}

export interface CircuitLayout {
  /** Runs in emission order: every run reads only inputs and runs emitted before it. */
  runs: Run[];
  /** Component of each gadget id, e.g. `c3[5]`. */
  componentOf: string[];
  sources: WireSource[];
}

export function layoutCircuit(program: Program): CircuitLayout {
  const sources: WireSource[] = new Array(program.lo.length);
  for (const input of [...program.inputs, ...program.params]) input.wires.forEach((w, i) => (sources[w] = { array: input.signal, index: i, suffix: '' }));
  const producer = new Map<number, number>();
  program.gadgets.forEach((g, id) => g.outputs.forEach((w) => producer.set(w, id)));

  const runs: Run[] = [];
  const componentOf: string[] = new Array(program.gadgets.length);
  const gadgets = program.gadgets;
  for (let start = 0; start < gadgets.length; ) {
    let end = start;
    while (end < gadgets.length && gadgets[end].node === gadgets[start].node) end++;
    // Levels within the segment [start, end) of one node.
    const level = new Map<number, number>();
    const byKey = new Map<string, Run>();
    const order: { level: number; run: Run }[] = [];
    for (let id = start; id < end; id++) {
      const g = gadgets[id];
      let lv = 0;
      for (const e of g.inputs) {
        for (const w of e.terms.keys()) {
          const p = producer.get(w);
          if (p !== undefined && p >= start && p < id) lv = Math.max(lv, level.get(p)! + 1);
        }
      }
      level.set(id, lv);
      const ports = inputPorts(g.def, g.params);
      const key = `${lv}|${g.def.template}|${ports.join(',')}`;
      let run = byKey.get(key);
      if (!run) {
        run = { name: '', def: g.def, ports, gadgets: [], node: g.node };
        byKey.set(key, run);
        order.push({ level: lv, run });
      }
      run.gadgets.push(id);
    }
    order.sort((a, b) => a.level - b.level); // stable: first appearance within a level
    for (const { run } of order) {
      run.name = `c${runs.length}`;
      runs.push(run);
      run.gadgets.forEach((id, j) => {
        componentOf[id] = `${run.name}[${j}]`;
        gadgets[id].outputs.forEach((w, o) => (sources[w] = { array: run.name, index: j, suffix: `.${run.def.outputs[o]}` }));
      });
    }
    start = end;
  }
  return { runs, componentOf, sources };
}
