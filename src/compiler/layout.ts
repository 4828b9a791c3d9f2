import type { Program } from '../ir/program.ts';
import type { GadgetDef } from '../gadgets/gadget.ts';
import { inputPorts, outputPorts } from '../gadgets/gadget.ts';

/**
 * How a program's gadgets become Circom components. Each parameter set of a gadget is one template (the printer
 * writes it from the gadget's `synthesize`, src/circom/template.ts). Gadgets of one ONNX node that use the same
 * template and do not depend on one another form a run: one component array (`c3[0..M)`) instantiated in a loop,
 * so the generated code grows with the number of runs, not with the number of gadgets. A node's gadgets are split
 * into levels first (a gadget's level is one more than the highest level of the same node's gadgets it reads), so
 * a max-pool's comparison tree becomes one run per tree level. The component names (`c3[5]`) are also the signal
 * names of zkml's own constraint system, so the two can be compared signal by signal.
 */
export interface Run {
  /** Component array name, e.g. `c3`. */
  name: string;
  def: GadgetDef<any>;
  /** The template of every gadget of the run. */
  template: TemplateInstance;
  ports: string[];
  /** Gadget ids in array order. */
  gadgets: number[];
  node: string;
}

/** One printed template: a gadget with one parameter set. */
export interface TemplateInstance {
  /** e.g. `ZkRequant_3`: the gadget's template stem and the instance's number in this circuit. */
  name: string;
  def: GadgetDef<any>;
  params: unknown;
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
  /** Templates in order of first use. */
  templates: TemplateInstance[];
  /** Component of each gadget id, e.g. `c3[5]`. */
  componentOf: string[];
  sources: WireSource[];
}

/** A parameter set's identity (bigints written as decimal strings with a marker, so they cannot collide with numbers). */
export const paramsKey = (kind: string, params: unknown) => `${kind}:${JSON.stringify(params, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`;

export function layoutCircuit(program: Program): CircuitLayout {
  const sources: WireSource[] = new Array(program.nWires);
  for (const input of [...program.inputs, ...program.params]) input.wires.forEach((w, i) => (sources[w] = { array: input.signal, index: i, suffix: '' }));
  const producer = new Map<number, number>();
  program.gadgets.forEach((g, id) => g.outputs.forEach((w) => producer.set(w, id)));

  const templates: TemplateInstance[] = [];
  const templateByKey = new Map<string, TemplateInstance>();
  const templateOf = (def: GadgetDef<any>, params: unknown) => {
    const key = paramsKey(def.kind, params);
    let t = templateByKey.get(key);
    if (!t) {
      t = { name: `${def.template}_${templates.length}`, def, params };
      templates.push(t);
      templateByKey.set(key, t);
    }
    return t;
  };

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
      const template = templateOf(g.def, g.params);
      const key = `${lv}|${template.name}`;
      let run = byKey.get(key);
      if (!run) {
        run = { name: '', def: g.def, template, ports: inputPorts(g.def, g.params), gadgets: [], node: g.node };
        byKey.set(key, run);
        order.push({ level: lv, run });
      }
      run.gadgets.push(id);
    }
    order.sort((a, b) => a.level - b.level); // stable: first appearance within a level
    for (const { run } of order) {
      run.name = `c${runs.length}`;
      runs.push(run);
      const outs = outputPorts(run.def, run.template.params);
      run.gadgets.forEach((id, j) => {
        componentOf[id] = `${run.name}[${j}]`;
        gadgets[id].outputs.forEach((w, o) => (sources[w] = { array: run.name, index: j, suffix: `.${outs[o]}` }));
      });
    }
    start = end;
  }
  return { runs, templates, componentOf, sources };
}
