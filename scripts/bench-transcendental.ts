/**
 * Transcendental encodings: for Sigmoid, Tanh, Exp, Log, Erf, Sqrt and Reciprocal at scales 8 and 16, the
 * constraints per element and the measured max abs error against the float op, of the encoding the op uses
 * today against the one-hot table approaches (the tangent table Sigmoid/Tanh used before, the chord and parabola
 * tables of secant-table.ts). The op's own encoding is its registry definition lowered on a one-node context, so what is
 * measured is what a compile builds.
 *
 * Error: every input of a dense grid over the interval (GRID points at the input's exponent s, plus both ends)
 * through the integer reference executor (what the circuit proves), dequantized, against the float function of
 * that (exact) input. Constraints per element: the gadgets' cost model of one element's program (every element
 * has the same interval, so the same cost).
 *
 *   npx tsx scripts/bench-transcendental.ts [--grid N]     (prints one JSON object)
 */
import { parseArgs } from 'node:util';
import { Program } from '../src/ir/program.ts';
import type { Expr } from '../src/ir/expr.ts';
import type { LowerCtx, QTensor } from '../src/ops/op.ts';
import { opFor } from '../src/ops/registry.ts';
import { DEFAULT_QUANT } from '../src/quantize/options.ts';
import { liftExp } from '../src/quantize/fixed.ts';
import { secantTable, type TableFunction, type TableOrder } from '../src/ops/secant-table.ts';
import { MAX_NODES, SMOOTH, tableGrid, tableOne, tableValues } from '../src/ops/nonlinear.ts';
import { tableFunction } from '../src/ops/transcendental.ts';

const { values } = parseArgs({ options: { grid: { type: 'string', default: '4096' } } });
const GRID = Number(values.grid);
/** Elements per program: keeps the executor's memory small and the widest chord tables under the per-node limit. */
const CHUNK = 64;

interface Case {
  op: string;
  /** The input interval the table covers. */
  range: [number, number];
  f: (x: number) => number;
}

const CASES: Case[] = [
  { op: 'Sigmoid', range: [-16, 16], f: SMOOTH.Sigmoid.f },
  { op: 'Tanh', range: [-8, 8], f: SMOOTH.Tanh.f },
  { op: 'Exp', range: [-8, 2], f: Math.exp },
  { op: 'Log', range: [0.125, 16], f: Math.log },
  { op: 'Erf', range: [-4, 4], f: tableFunction({ node: { opType: 'Erf' } as never }).f },
  { op: 'Sqrt', range: [0.0625, 16], f: Math.sqrt },
  { op: 'Reciprocal', range: [0.25, 16], f: (x) => 1 / x },
];

/** One encoding: lowers the elements of x (exponent s) to a tensor; undefined when it refuses. */
type Encoding = (program: Program, x: QTensor, s: number) => QTensor;

const node = (opType: string) => ({ name: 'op', opType, domain: '', inputs: ['x'], outputs: ['y'], attrs: new Map() });

/** The op as a compile lowers it (its registry definition). */
const inUse = (opType: string): Encoding => (program, x, s) => {
  const ctx: LowerCtx = { node: node(opType), opset: 17, where: `node op (${opType})`, program, opts: { ...DEFAULT_QUANT, scale: s }, inputs: [{ kind: 'q', q: x }], outShapes: [x.shape] };
  return opFor(opType, '')!.lower!(ctx)[0];
};

const asTable = (c: Case): TableFunction => ({ name: c.op, f: c.f, ...(c.op === 'Sqrt' || c.op === 'Log' || c.op === 'Reciprocal' ? { domain: [0, Infinity] as [number, number] } : {}) });

/** A secant table of `order` over the op's function (the chord is the plain table approach). */
const table = (c: Case, order: TableOrder): Encoding => (program, x, s) => secantTable(program, x, c.op === 'Sigmoid' || c.op === 'Tanh' || c.op === 'Exp' || c.op === 'Erf' ? tableFunctionOf(c) : asTable(c), s, 'op', 'bench', order);

function tableFunctionOf(c: Case): TableFunction {
  if (c.op === 'Sigmoid') return { name: c.op, f: c.f, lowLimit: 0, highLimit: 1 };
  if (c.op === 'Tanh') return { name: c.op, f: c.f, lowLimit: -1, highLimit: 1 };
  return tableFunction({ node: node(c.op) as never });
}

/** The tangent table Sigmoid and Tanh used before (ops/nonlinear.ts's tableOne, one node per grid point). */
const tangent = (op: 'Sigmoid' | 'Tanh'): Encoding => (program, x0, s) => {
  const fn = SMOOTH[op];
  const g = tableGrid(fn, s);
  if (2 * g.N + 1 > MAX_NODES) throw new Error(`${2 * g.N + 1} nodes`);
  const x = liftExp(x0, g.t);
  const E = x.exp + g.m;
  const { values: v, slopes } = tableValues(fn, g, E, 'bench');
  return { shape: x.shape, exp: E, exprs: x.exprs.map((e) => tableOne(program, e, x.exp, g, v, slopes, 'op')) };
};

interface Measured {
  constraintsPerElement: number;
  maxAbsError: number;
}

/** Builds `enc` over `xs` (integers at exponent s) in chunks; returns its cost per element and max abs error. */
function measure(c: Case, enc: Encoding, s: number): Measured {
  const [lo, hi] = c.range.map((v) => BigInt(Math.round(v * 2 ** s)));
  const xs: bigint[] = [];
  for (let k = 0; k <= GRID; k++) xs.push(lo + ((hi - lo) * BigInt(k)) / BigInt(GRID));
  let worst = 0;
  let cost = 0;
  for (let at = 0; at < xs.length; at += CHUNK) {
    const part = xs.slice(at, at + CHUNK);
    const program = new Program();
    const exprs: Expr[] = program.addInput('x', [part.length], lo, hi);
    const y = enc(program, { shape: [part.length], exp: s, exprs }, s);
    program.addOutput('y', y.shape, y.exprs, 'op');
    if (at === 0) cost = [...program.costByNode().values()].reduce((a, b) => a + b, 0) / part.length;
    const out = program.execute(new Map([['x', part]])).outputs.get('y')!;
    out.forEach((v, i) => (worst = Math.max(worst, Math.abs(Number(v) * 2 ** -y.exp - c.f(Number(part[i]) * 2 ** -s)))));
  }
  return { constraintsPerElement: Math.round(cost * 10) / 10, maxAbsError: worst };
}

function attempt(c: Case, enc: Encoding, s: number): Measured | { error: string } {
  try {
    return measure(c, enc, s);
  } catch (err) {
    return { error: (err as Error).message.split('\n')[0] };
  }
}

const rows = [];
for (const c of CASES) {
  for (const s of [8, 16]) {
    const encodings: Record<string, Encoding> = { 'in use': inUse(c.op), 'chord table (order 1)': table(c, 1) };
    if (c.op === 'Sigmoid' || c.op === 'Tanh') encodings['tangent table (before)'] = tangent(c.op);
    if (c.op !== 'Sigmoid' && c.op !== 'Tanh') encodings['parabola table (order 2)'] = table(c, 2);
    for (const [encoding, enc] of Object.entries(encodings)) {
      process.stderr.write(`  ${c.op} s=${s} ${encoding}\n`);
      rows.push({ op: c.op, range: c.range, scale: s, encoding, ...attempt(c, enc, s) });
    }
  }
}
console.log(JSON.stringify({ grid: GRID, rows }));
