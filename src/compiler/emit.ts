import type { Expr } from '../ir/expr.ts';
import type { Program } from '../ir/program.ts';
import { printTemplate } from '../circom/template.ts';
import { layoutCircuit, type CircuitLayout, type WireSource } from './layout.ts';

/**
 * Circom emission. Gadgets become component arrays (layout.ts) and the linear expressions feeding them are
 * written as loops over constant tables wherever they share structure, so the circuit's source and its
 * witness code grow with the model's weights, not with its connections:
 * - shared weights, shifted inputs (a convolution: every output of a channel applies the same kernel at
 *   another position; an elementwise add): one coefficient and offset table per kernel, one base per output;
 * - shared inputs, own weights (a dense layer's rows): one coefficient table, the input indices once;
 * - anything else is written out as a balanced sum.
 * The constraints are those of the expressions themselves: only how they are written changes. Each gadget's
 * templates are printed from its `synthesize` (circom/template.ts), one per parameter set.
 */
export function emitCircom(program: Program, opts: { publicInputs: boolean; header?: string[]; layout?: CircuitLayout }): string {
  const layout = opts.layout ?? layoutCircuit(program);
  const w = new Writer(layout.sources);
  const head: string[] = ['pragma circom 2.1.0;', ''];
  for (const h of opts.header ?? []) head.push(`// ${h}`);
  const printed = layout.templates.map((t) => printTemplate(t.def, t.params, t.name));
  for (const f of [...new Set(printed.flatMap((t) => t.includes))].sort()) head.push(`include "${f}";`);
  const functions = new Map(printed.flatMap((t) => [...t.functions]));
  head.push('', ...functions.values(), ...printed.map((t) => t.text));
  w.line('template Model() {', 0);
  for (const input of program.inputs) w.line(`signal input ${input.signal}[${input.wires.length}];`);
  // Weights as private signals (--param-visibility hashed|private): the prover supplies them (params.json).
  for (const p of program.params) w.line(`signal input ${p.signal}[${p.wires.length}]; // ${p.name.replace(/[\r\n]/g, ' ')}`);
  for (const output of program.outputs) w.line(`signal output ${output.signal}[${output.exprs.length}];`);
  let node = '';
  for (const run of layout.runs) {
    if (run.node !== node) {
      node = run.node;
      w.line('');
      w.line(`// ${node.replace(/[\r\n]/g, ' ')}`);
    }
    const gadgets = run.gadgets.map((id) => program.gadgets[id]);
    w.line(`component ${run.name}[${gadgets.length}];`);
    w.loop(gadgets.length, (q) => `${run.name}[${q}] = ${run.template.name}();`);
    run.ports.forEach((port, s) =>
      w.assign(
        gadgets.map((g) => g.inputs[s]),
        (q) => `${run.name}[${q}].${port}`,
      ),
    );
  }
  w.line('');
  for (const output of program.outputs) w.assign(output.exprs, (q) => `${output.signal}[${q}]`);
  w.line('}', 0);
  w.line('', 0);
  const pub = opts.publicInputs && program.inputs.length ? ` {public [${program.inputs.map((i) => i.signal).join(', ')}]}` : '';
  w.line(`component main${pub} = Model();`, 0);
  w.line('', 0);
  return [...head, ...w.templates, w.text()].join('\n');
}

interface Term {
  coef: bigint;
  source: WireSource;
  /** `${array}|${suffix}`: terms of one source array are contiguous after sorting. */
  key: string;
}

/** A Circom expression written for a loop variable, or for a literal index where there is no loop. */
type Indexed = (i: string) => string;
/** A summand written for the member and term loop variables (q, k). */
type Term2 = (q: string, k: string) => string;

/** Consecutive terms reading the same source array. */
function blocks(terms: Term[]): Term[][] {
  const out: Term[][] = [];
  for (const t of terms) {
    if (out.length && out.at(-1)![0].key === t.key) out.at(-1)!.push(t);
    else out.push([t]);
  }
  return out;
}

/**
 * Circom writes a template's witness code as one WebAssembly function with its loops unrolled, and V8
 * refuses functions over 7.6 MB (about 350k terms): expressions with many terms in all go to templates of
 * their own, each at most CHUNK_TERMS terms.
 */
const OWN_TEMPLATE_TERMS = 2_000;
const CHUNK_TERMS = 100_000;
/** Blocks at least this long are summed as a tree: circom copies a growing sum at every `+=`. */
const TREE_SUM = 16;

/** Counters behind every generated name (tables, templates, vars): a name is never made twice. */
interface Names {
  tables: number;
  templates: number;
  vars: number;
}

class Writer {
  private readonly lines: string[] = [];
  /** Templates holding large groups of expressions, written before Model. */
  readonly templates: string[] = [];

  constructor(
    private readonly sources: WireSource[],
    private readonly names: Names = { tables: 0, templates: 0, vars: 0 },
  ) {}

  /** A var name no other statement uses. */
  private fresh(stem: string): string {
    return `${stem}${this.names.vars++}`;
  }

  line(s: string, depth = 1): void {
    this.lines.push(s ? '    '.repeat(depth) + s : '');
  }

  text(): string {
    return this.lines.join('\n');
  }

  /** `for (q in 0..n) body(q)`; a single statement without a loop when n = 1 (a body declaring vars needs its own scope). */
  loop(n: number, body: (q: string) => string | string[]): void {
    const once = n === 1 ? [body('0')].flat() : [];
    if (once.length === 1) {
      this.line(once[0]);
      return;
    }
    this.line(`for (var q = 0; q < ${n}; q++) {`);
    for (const l of [body('q')].flat()) this.line(l, 2);
    this.line('}');
  }

  /**
   * The i-th of `values` as a Circom expression of a loop variable, written for the variable (or the literal)
   * it is given: a literal when all are equal, `(a + s*i)` for an arithmetic progression (parenthesized:
   * callers multiply it, `(1 + -2*k) * x`; without the parentheses a coefficient 1 - 2k would print as
   * `1 + -2*k * x`), else an entry of a new constant table (written now, before the loop that reads it).
   */
  indexed(values: (string | bigint | number)[]): Indexed {
    const v = values.map(String);
    if (v.every((x) => x === v[0])) return () => v[0];
    if (v.every((x) => /^-?\d+$/.test(x))) {
      const a = BigInt(v[0]);
      const s = BigInt(v[1]) - a;
      if (v.every((x, j) => BigInt(x) === a + s * BigInt(j))) {
        return (i) => {
          const step = s === 1n ? i : `${s}*${i}`;
          return a === 0n ? step : `(${a} + ${step})`;
        };
      }
    }
    const name = this.table(v);
    return (i) => `${name}[${i}]`;
  }

  /** A constant table: `values` as one row, or as `rows` rows of equal length (a 2-D table). */
  private table(values: string[], rows = 0): string {
    const name = `t${this.names.tables++}`;
    const chunk = (xs: string[]) => {
      const out: string[] = [];
      for (let i = 0; i < xs.length; i += 24) out.push(xs.slice(i, i + 24).join(', '));
      return out.join(',\n' + '    '.repeat(2));
    };
    if (rows === 0) {
      this.line(`var ${name}[${values.length}] = [`);
      this.line(chunk(values), 2);
    } else {
      const width = values.length / rows;
      this.line(`var ${name}[${rows}][${width}] = [`);
      for (let r = 0; r < rows; r++) this.line(`[${chunk(values.slice(r * width, (r + 1) * width))}]${r + 1 < rows ? ',' : ''}`, 2);
    }
    this.line('];');
    return name;
  }

  private terms(e: Expr): Term[] {
    const terms = [...e.terms].map(([wire, coef]) => {
      const source = this.sources[wire];
      return { coef, source, key: `${source.array}|${source.suffix}` };
    });
    return terms.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.source.index - b.source.index));
  }

  /** `target(q) <== exprs[q]` for every q, grouped into loops by shared structure. */
  assign(exprs: Expr[], target: (q: string) => string): void {
    const terms = exprs.map((e) => this.terms(e));
    const consts = exprs.map((e) => e.c);
    const total = terms.reduce((a, t) => a + t.length, 0);
    if (total < OWN_TEMPLATE_TERMS) {
      this.emitTerms(terms, consts, target);
      return;
    }
    for (let start = 0; start < exprs.length; ) {
      let end = start;
      let size = 0;
      while (end < exprs.length && (end === start || size + terms[end].length <= CHUNK_TERMS)) size += terms[end++].length;
      // The chunk's q-th expression is the `start + q`-th of all.
      const shifted = (q: string) => (start === 0 ? q : q === 'q' ? `${start} + q` : String(start + Number(q)));
      this.ownTemplate(terms.slice(start, end), consts.slice(start, end), (q) => target(shifted(q)));
      start = end;
    }
  }

  /**
   * Expressions in a template of their own: it takes the ranges of the source arrays they read as input
   * arrays and returns the values in `y`. The copies are equalities, which circom's --O2 substitutes away:
   * the constraints are the same as inline.
   */
  private ownTemplate(terms: Term[][], consts: bigint[], target: (q: string) => string): void {
    const ranges = new Map<string, { source: WireSource; min: number; max: number; input: string }>();
    for (const t of terms.flat()) {
      const r = ranges.get(t.key);
      if (!r) ranges.set(t.key, { source: t.source, min: t.source.index, max: t.source.index, input: `s${ranges.size}` });
      else {
        r.min = Math.min(r.min, t.source.index);
        r.max = Math.max(r.max, t.source.index);
      }
    }
    const remapped = terms.map((ts) =>
      ts.map((t) => {
        const r = ranges.get(t.key)!;
        return { coef: t.coef, key: r.input, source: { array: r.input, index: t.source.index - r.min, suffix: '' } };
      }),
    );
    const id = this.names.templates++;
    const inner = new Writer(this.sources, this.names);
    inner.line(`template Linear${id}() {`, 0);
    for (const r of ranges.values()) inner.line(`signal input ${r.input}[${r.max - r.min + 1}];`);
    inner.line(`signal output y[${terms.length}];`);
    inner.emitTerms(remapped, consts, (q) => `y[${q}]`);
    inner.line('}', 0);
    this.templates.push(...inner.templates, inner.text(), '');

    this.line(`component linear${id} = Linear${id}();`);
    for (const r of ranges.values()) {
      const { array, suffix } = r.source;
      const at = r.min ? `${r.min} + i` : 'i';
      this.line(`for (var i = 0; i < ${r.max - r.min + 1}; i++) linear${id}.${r.input}[i] <== ${array}[${at}]${suffix};`);
    }
    this.loop(terms.length, (q) => `${target(q)} <== linear${id}.y[${q}];`);
  }

  private emitTerms(terms: Term[][], consts: bigint[], target: (q: string) => string): void {
    const shifted = new Map<string, number[]>();
    terms.forEach((t, q) => {
      const base = t[0]?.source.index ?? 0;
      const key = t.map((x) => `${x.coef}*${x.key}:${x.source.index - base}`).join(' ');
      shifted.set(key, [...(shifted.get(key) ?? []), q]);
    });
    const sameInputs = new Map<string, number[]>();
    const single: number[] = [];
    for (const members of shifted.values()) {
      if (members.length > 1) {
        this.shiftedGroup(members, terms, consts, target);
        continue;
      }
      const q = members[0];
      const key = terms[q].map((x) => `${x.key}:${x.source.index}`).join(' ');
      sameInputs.set(key, [...(sameInputs.get(key) ?? []), q]);
    }
    for (const members of sameInputs.values()) {
      if (members.length > 1) this.sameInputsGroup(members, terms, consts, target);
      else single.push(members[0]);
    }
    for (const q of single) this.line(`${target(String(q))} <== ${this.balancedSum(terms[q], consts[q])};`);
  }

  /** `lc += Σ_{k < n} term(k)`: a loop, or for long blocks a tree of partial sums (linear, not quadratic, in circom). */
  private accumulate(lc: string, n: number, term: Indexed): string[] {
    if (n === 1) return [`${lc} += ${term('0')};`];
    if (n < TREE_SUM) return [`for (var k = 0; k < ${n}; k++) ${lc} += ${term('k')};`];
    const part = this.fresh('part');
    return [
      `var ${part}[${n}];`,
      `for (var k = 0; k < ${n}; k++) ${part}[k] = ${term('k')};`,
      `for (var w = 1; w < ${n}; w *= 2) for (var k = 0; k + w < ${n}; k += 2 * w) ${part}[k] += ${part}[k + w];`,
      `${lc} += ${part}[0];`,
    ];
  }

  /** Members share coefficients and relative input positions: Σ_k c[k]·src[base[q] + off[k]]. */
  private shiftedGroup(members: number[], terms: Term[][], consts: bigint[], target: (q: string) => string): void {
    const first = terms[members[0]];
    const base0 = first[0]?.source.index ?? 0;
    const plan = blocks(first).map((block) => ({
      block,
      coefs: this.indexed(block.map((t) => t.coef)),
      offsets: this.indexed(block.map((t) => t.source.index - base0)),
    }));
    const base = this.indexed(members.map((q) => terms[q][0]?.source.index ?? 0));
    this.memberLoop(members, consts, target, () =>
      plan.map(({ block, coefs, offsets }) => {
        const { array, suffix } = block[0].source;
        const term: Term2 = (q, k) => {
          const [c, off] = [coefs(k), offsets(k)];
          const index = off === '0' ? base(q) : `${base(q)} + ${off}`;
          return `${c === '1' ? '' : `${c} * `}${array}[${index}]${suffix}`;
        };
        return [block.length, term];
      }),
    );
  }

  /** Members read the same inputs with their own coefficients (a dense layer): Σ_k c[q][k]·src[idx[k]]. */
  private sameInputsGroup(members: number[], terms: Term[][], consts: bigint[], target: (q: string) => string): void {
    const first = terms[members[0]];
    const width = first.length;
    const coefs = width ? this.table(members.flatMap((q) => terms[q].map((t) => String(t.coef))), members.length) : '';
    let at = 0;
    const plan = blocks(first).map((block) => {
      const start = at;
      at += block.length;
      return { block, start, index: this.indexed(block.map((t) => t.source.index)) };
    });
    this.memberLoop(members, consts, target, () =>
      plan.map(({ block, start, index }) => {
        const { array, suffix } = block[0].source;
        const term: Term2 = (q, k) => `${coefs}[${q}][${start ? `${start} + ${k}` : k}] * ${array}[${index(k)}]${suffix}`;
        return [block.length, term];
      }),
    );
  }

  /**
   * For each member q: target(q) <== consts[q] + the blocks' sums, each block a count and a term written for the
   * loop variables (or literals) q and k.
   */
  private memberLoop(members: number[], consts: bigint[], target: (q: string) => string, blocks: () => [number, Term2][]): void {
    const constant = this.indexed(members.map((q) => consts[q]));
    const position = this.indexed(members);
    const plan = blocks();
    const lc = this.fresh('lc');
    this.loop(members.length, (q) => [
      `var ${lc} = ${constant(q)};`,
      ...plan.flatMap(([n, term]) => this.accumulate(lc, n, (k) => term(q, k))),
      `${target(position(q))} <== ${lc};`,
    ]);
  }

  /**
   * A lone expression as a balanced sum: circom's compiler recurses once per nesting level, and a flat sum
   * of a few hundred terms overflows its stack.
   */
  private balancedSum(terms: Term[], c: bigint): string {
    let level = terms.map(({ coef, source }) => {
      const ref = `${source.array}[${source.index}]${source.suffix}`;
      return coef === 1n ? ref : `${coef}*${ref}`;
    });
    if (c !== 0n || level.length === 0) level.push(`${c}`);
    while (level.length > 1) {
      const next: string[] = [];
      for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? `(${level[i]} + ${level[i + 1]})` : level[i]);
      level = next;
    }
    return level[0];
  }
}
