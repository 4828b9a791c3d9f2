/**
 * A gadget's Circom template, printed from its `synthesize` (the same code that builds its constraints and its
 * witness: ir/builder.ts). One template per parameter set, since the parameters shape the circuit (widths,
 * shifts, which clamp sides exist); each primitive prints as the Circom statements that mean the same thing, with
 * its loops as loops, so the templates read like hand-written ones and circom compiles them to the constraints
 * zkml writes itself (the tests compare the two, signal by signal).
 *
 * Names are made by construction: signals are the names the gadget gives (checked unique, and distinct from the
 * template's ports); every `var` is derived from the signal it serves, so no two statements can declare the same
 * symbol.
 */
import type { BitArray, GadgetBuilder, Hint } from '../ir/builder.ts';
import { type GadgetDef, inputPorts, outputPorts } from '../gadgets/gadget.ts';

/** A Circom expression, and whether it is a constant (then `value` holds it), as the other backends track it. */
interface Printed {
  text: string;
  fixed: boolean;
  value: bigint;
}

const expr = (text: string): Printed => ({ text, fixed: false, value: 0n });
const lit = (v: bigint): string => (v < 0n ? `(${v})` : `${v}`);

/** Port names `in`, `in[3]` → declarations `in`, `in[4]`, in order of first appearance. */
function declarations(ports: string[]): string[] {
  const sizes = new Map<string, number>();
  for (const p of ports) {
    const m = /^([A-Za-z_]\w*)(?:\[(\d+)\])?$/.exec(p);
    if (!m) throw new Error(`not a Circom port name: ${p}`);
    const size = m[2] === undefined ? 0 : Number(m[2]) + 1;
    sizes.set(m[1], Math.max(sizes.get(m[1]) ?? 0, size));
  }
  return [...sizes].map(([name, size]) => (size ? `${name}[${size}]` : name));
}

export interface PrintedTemplate {
  text: string;
  /** circomlib files the template needs (`circomlib/circuits/poseidon.circom`). */
  includes: string[];
  /** Circom functions the template's hints call, by name (printed once per circuit). */
  functions: Map<string, string>;
}

/** The integer square root for `hintBits` (Newton's method; its result is pinned by the template's constraints). */
const ISQRT = [
  'function zkmlIsqrt(v) {',
  '    if (v < 2) {',
  '        return v;',
  '    }',
  '    var x = v;',
  '    var y = (x + 1) \\ 2;',
  '    while (y < x) {',
  '        x = y;',
  '        y = (x + v \\ x) \\ 2;',
  '    }',
  '    return x;',
  '}',
  '',
].join('\n');

/** The template `name` for `def` with `params`: its full text. */
export function printTemplate<P>(def: GadgetDef<P>, params: P, name: string): PrintedTemplate {
  const ins = inputPorts(def, params);
  const outs = outputPorts(def, params);
  const b = new TemplateBuilder(new Set([...ins, ...outs].map((p) => p.replace(/\[.*$/, ''))));
  const results = def.synthesize(b, params, ins.map(expr));
  const body = [
    ...declarations(ins).map((d) => `signal input ${d};`),
    ...declarations(outs).map((d) => `signal output ${d};`),
    ...b.lines,
    ...outs.map((o, j) => `${o} <== ${results[j].text};`),
  ];
  const paramText = JSON.stringify(params, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  const text = [`// ${def.describe(params)}: ${def.kind} ${paramText}`, `template ${name}() {`, ...body.map((l) => `    ${l}`), '}', ''].join('\n');
  return { text, includes: b.usesPoseidon ? ['circomlib/circuits/poseidon.circom'] : [], functions: b.functions };
}

class TemplateBuilder implements GadgetBuilder<Printed> {
  readonly lines: string[] = [];
  usesPoseidon = false;
  readonly functions = new Map<string, string>();
  private readonly names = new Set<string>();

  constructor(private readonly ports: Set<string>) {}

  /** Claims a name for a signal or component (and the vars derived from it). */
  private claim(name: string): string {
    const base = name.replace(/\[.*$/, '');
    if (!/^[A-Za-z_]\w*$/.test(base)) throw new Error(`not a Circom name: ${name}`);
    if (this.names.has(base) || this.ports.has(base)) throw new Error(`gadget name ${base} used twice (or as a port)`);
    this.names.add(base);
    return base;
  }

  /** A long expression becomes a var of its own, so statements stay readable. */
  private named(name: string, e: Printed): string {
    if (/^[\w.[\]]+$/.test(e.text)) return e.text;
    this.lines.push(`var ${name} = ${e.text};`);
    return name;
  }

  constant(v: bigint): Printed {
    return { text: lit(v), fixed: true, value: v };
  }

  linear(terms: readonly (readonly [Printed, bigint])[], c = 0n): Printed {
    const fixed = terms.every(([x]) => x.fixed);
    if (fixed) {
      const value = terms.reduce((a, [x, k]) => a + x.value * k, c);
      return { text: lit(value), fixed, value };
    }
    const parts = terms.filter(([, k]) => k !== 0n).map(([x, k]) => (k === 1n ? x.text : `${lit(k)} * ${x.text}`));
    if (c !== 0n || parts.length === 0) parts.push(lit(c));
    return expr(parts.length === 1 ? parts[0] : `(${parts.join(' + ')})`);
  }

  bits(name: string, v: Printed, n: number): BitArray<Printed> {
    const s = this.claim(name);
    const value = this.named(`${s}_value`, v);
    this.lines.push(
      `signal ${s}[${n}];`,
      `var ${s}_sum = 0;`,
      `for (var i = 0; i < ${n}; i++) {`,
      `    ${s}[i] <-- (${value} >> i) & 1;`,
      `    ${s}[i] * (${s}[i] - 1) === 0;`,
      `    ${s}_sum += ${s}[i] * 2 ** i;`,
      `}`,
      `${s}_sum === ${value};`,
    );
    return this.digitArray(s, n);
  }

  /** Digits `s[0..n)`; a weighted sum of a run of them becomes a var (printed once) with its loop. */
  private digitArray(s: string, n: number): BitArray<Printed> {
    const sums = new Map<string, Printed>();
    return {
      n,
      bit: (i) => expr(`${s}[${i}]`),
      sum: (from, count) => {
        if (count === 0) return this.constant(0n);
        if (count === 1) return expr(`${s}[${from}]`);
        const key = `${from}_${count}`;
        let r = sums.get(key);
        if (!r) {
          const v = `${s}_${key}`;
          this.lines.push(`var ${v} = 0;`, `for (var i = 0; i < ${count}; i++) ${v} += ${s}[${from} + i] * 2 ** i;`);
          r = expr(v);
          sums.set(key, r);
        }
        return r;
      },
    };
  }

  hintBits(name: string, n: number, hint: Hint<Printed>): BitArray<Printed> {
    const s = this.claim(name);
    let value: string;
    if (hint.op === 'div') value = `(${hint.num.text}) \\ (${hint.den.text})`;
    else {
      this.functions.set('zkmlIsqrt', ISQRT);
      value = `zkmlIsqrt(${hint.x.text})`;
    }
    this.lines.push(
      `var ${s}_hint = ${value};`,
      `signal ${s}[${n}];`,
      `for (var i = 0; i < ${n}; i++) {`,
      `    ${s}[i] <-- (${s}_hint >> i) & 1;`,
      `    ${s}[i] * (${s}[i] - 1) === 0;`,
      `}`,
    );
    return this.digitArray(s, n);
  }

  product(name: string, a: Printed, b: Printed): Printed {
    if (a.fixed) return this.linear([[b, a.value]]);
    if (b.fixed) return this.linear([[a, b.value]]);
    const s = this.claim(name);
    this.lines.push(`signal ${s};`, `${s} <== ${a.text} * ${b.text};`);
    return expr(s);
  }

  isZero(name: string, m: Printed): Printed {
    if (m.fixed) return this.constant(m.value === 0n ? 1n : 0n);
    const s = this.claim(name);
    this.claim(`${name}_inv`);
    const x = this.named(`${s}_m`, m);
    this.lines.push(`signal ${s}_inv;`, `signal ${s};`, `${s}_inv <-- ${x} != 0 ? 1 / ${x} : 0;`, `${s} <== 1 - ${x} * ${s}_inv;`, `${x} * ${s} === 0;`);
    return expr(s);
  }

  oneHot(name: string, idx: Printed, n: number): Printed[] {
    const s = this.claim(name);
    const i = this.named(`${s}_idx`, idx);
    this.lines.push(
      `signal ${s}[${n}];`,
      `var ${s}_count = 0;`,
      `var ${s}_position = 0;`,
      `for (var i = 0; i < ${n}; i++) {`,
      `    ${s}[i] <-- ${i} == i ? 1 : 0;`,
      `    ${s}[i] * (${s}[i] - 1) === 0;`,
      `    ${s}_count += ${s}[i];`,
      `    ${s}_position += i * ${s}[i];`,
      `}`,
      `${s}_count === 1;`,
      `${s}_position === ${i};`,
    );
    return Array.from({ length: n }, (_, k) => expr(`${s}[${k}]`));
  }

  poseidon(name: string, inputs: Printed[]): Printed {
    const s = this.claim(name);
    this.usesPoseidon = true;
    this.lines.push(`component ${s} = Poseidon(${inputs.length});`, ...inputs.map((x, i) => `${s}.inputs[${i}] <== ${x.text};`));
    return expr(`${s}.out`);
  }
}
