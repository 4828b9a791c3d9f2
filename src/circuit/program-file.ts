/**
 * circuit.program: the integer program of a build, which is all the prover needs to compute a witness (with the
 * input, and params.json for private weights): the wires, every gadget (kind, parameters, input expressions,
 * output wires) and the output expressions. `zkml prove` reads it instead of the model, so a build folder proves
 * on its own, and the model id hashes it, because it is exactly the computation the circuit proves.
 *
 * Encoding: a magic and version, a JSON header (names, shapes, gadget kinds and parameter sets), then the
 * expressions in LEB128 varints (terms sorted by wire, coefficients zigzag-encoded, of any size). Deterministic:
 * the same program gives the same bytes.
 */
import { Expr } from '../ir/expr.ts';
import type { CircuitProgram, GadgetInstance, ProgramInput, ProgramOutput } from '../ir/program.ts';
import { gadgetByKind } from '../gadgets/registry.ts';
import { inputPorts, outputPorts } from '../gadgets/gadget.ts';
import { ZkmlError } from '../util/errors.ts';

const MAGIC = 'zkmlprog';
const VERSION = 1;

interface Header {
  nWires: number;
  inputs: { name: string; signal: string; shape: number[]; size: number }[];
  params: { name: string; signal: string; size: number }[];
  outputs: { name: string; signal: string; shape: number[]; size: number }[];
  kinds: string[];
  /** Distinct parameter sets, as JSON with bigints written `"123n"`. */
  paramSets: string[];
  nodes: string[];
  gadgets: number;
  /** Node labels for messages (file and op), by node name. */
  labels: Record<string, string>;
  /** The model's tensor outputs as output.json reports them, where the circuit outputs only their digest. */
  reports: { name: string; signal: string; shape: number[]; size: number }[];
  /** Signals of the constraint system, and how many of them are R1CS wires (the witness keeps those). */
  signals?: number;
  wires?: number;
}

/** What a build's program file carries besides the program. */
export interface ProgramExtras {
  labels?: Map<string, string>;
  /** Tensor outputs to report (hashed-output builds). */
  reports?: readonly ProgramOutput[];
  /** R1CS wire of every signal (-1: not a wire), from elimination. */
  wireOf?: Int32Array;
  nWires?: number;
}

const encodeParams = (p: unknown) => JSON.stringify(p, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
/**
 * Gadget parameters are integers, booleans and arrays or records of them; no gadget takes a string, so a string
 * left after reading the bigints means a damaged set (it would reach the gadget's arithmetic as text).
 */
const decodeParams = (s: string, i: number) =>
  JSON.parse(s, (_k, v) => {
    if (typeof v !== 'string') return v;
    if (!/^-?\d+n$/.test(v)) throw new Error(`parameter set ${i} holds the string ${JSON.stringify(v.slice(0, 40))} where integers are written as 123n`);
    return BigInt(v.slice(0, -1));
  });

class VarWriter {
  private buf = Buffer.alloc(1 << 16);
  private pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  uint(v: number): void {
    this.room(10);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  /** A signed integer of any size, zigzag-encoded. */
  int(v: bigint): void {
    if (v > -0x40000000n && v < 0x40000000n) {
      const n = Number(v);
      this.uint(n >= 0 ? n * 2 : -n * 2 - 1);
      return;
    }
    let z = v >= 0n ? v << 1n : ((-v) << 1n) - 1n;
    this.room(40);
    while (z >= 0x80n) {
      this.buf[this.pos++] = Number(z & 0x7fn) | 0x80;
      z >>= 7n;
    }
    this.buf[this.pos++] = Number(z);
  }

  expr(e: Expr): void {
    const terms = [...e.terms].sort((a, b) => a[0] - b[0]);
    this.uint(terms.length);
    this.int(e.c);
    let last = 0;
    for (const [w, k] of terms) {
      this.uint(w - last);
      last = w;
      this.int(k);
    }
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

class VarReader {
  pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  uint(): number {
    let v = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated');
      const b = this.buf[this.pos++];
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 128;
      if (scale > 2 ** 49) throw new Error('varint too long');
    }
  }

  int(): bigint {
    const start = this.pos;
    let small = 0;
    let scale = 1;
    for (let i = 0; i < 4; i++) {
      if (this.pos >= this.buf.length) throw new Error('truncated');
      const b = this.buf[this.pos++];
      small += (b & 0x7f) * scale;
      if (b < 0x80) return BigInt(small % 2 === 0 ? small / 2 : -(small + 1) / 2);
      scale *= 128;
    }
    this.pos = start;
    let z = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated');
      const b = this.buf[this.pos++];
      z |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7n;
      if (shift > 600n) throw new Error('integer too long');
    }
    return z & 1n ? -((z + 1n) >> 1n) : z >> 1n;
  }

  expr(nWires: number): Expr {
    const n = this.uint();
    const c = this.int();
    const terms = new Map<number, bigint>();
    let w = 0;
    for (let i = 0; i < n; i++) {
      w += this.uint();
      if (w >= nWires) throw new Error(`wire ${w} out of range`);
      terms.set(w, this.int());
    }
    return new Expr(terms, c);
  }
}

/** The program file's bytes (without extras: the canonical form the model id hashes). */
export function encodeProgram(program: CircuitProgram, extras: ProgramExtras = {}): Buffer {
  const labels = extras.labels ?? new Map<string, string>();
  const reports = extras.reports ?? [];
  const kinds: string[] = [];
  const paramSets: string[] = [];
  const nodes: string[] = [];
  const index = <T>(list: T[], map: Map<T, number>, v: T) => {
    let i = map.get(v);
    if (i === undefined) {
      i = list.length;
      list.push(v);
      map.set(v, i);
    }
    return i;
  };
  const kindIndex = new Map<string, number>();
  const paramIndex = new Map<string, number>();
  const nodeIndex = new Map<string, number>();
  const body = new VarWriter();
  for (const input of program.inputs) for (const w of input.wires) body.uint(w);
  for (const p of program.params) for (const w of p.wires) body.uint(w);
  for (const g of program.gadgets) {
    body.uint(index(kinds, kindIndex, g.def.kind));
    body.uint(index(paramSets, paramIndex, encodeParams(g.params)));
    body.uint(index(nodes, nodeIndex, g.node));
    body.uint(g.inputs.length);
    for (const e of g.inputs) body.expr(e);
    body.uint(g.outputs.length);
    for (const w of g.outputs) body.uint(w);
  }
  for (const o of program.outputs) for (const e of o.exprs) body.expr(e);
  for (const o of reports) for (const e of o.exprs) body.expr(e);
  // The wire map as runs: alternating counts of signals with and without a wire, starting with "with".
  if (extras.wireOf) {
    let kept = true;
    let run = 0;
    const runs: number[] = [];
    for (const w of extras.wireOf) {
      if (w >= 0 === kept) run++;
      else {
        runs.push(run);
        kept = !kept;
        run = 1;
      }
    }
    runs.push(run);
    body.uint(runs.length);
    for (const r of runs) body.uint(r);
  }
  const header: Header = {
    nWires: program.nWires,
    inputs: program.inputs.map((i) => ({ name: i.name, signal: i.signal, shape: i.shape, size: i.wires.length })),
    params: program.params.map((p) => ({ name: p.name, signal: p.signal, size: p.wires.length })),
    outputs: program.outputs.map((o) => ({ name: o.name, signal: o.signal, shape: o.shape, size: o.exprs.length })),
    kinds,
    paramSets,
    nodes,
    gadgets: program.gadgets.length,
    labels: Object.fromEntries(nodes.filter((n) => labels.has(n)).map((n) => [n, labels.get(n)!])),
    reports: reports.map((o) => ({ name: o.name, signal: o.signal, shape: o.shape, size: o.exprs.length })),
    ...(extras.wireOf ? { signals: extras.wireOf.length, wires: extras.nWires } : {}),
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const head = Buffer.alloc(16);
  head.write(MAGIC, 0, 'ascii');
  head.writeUInt32LE(VERSION, 8);
  head.writeUInt32LE(json.length, 12);
  return Buffer.concat([head, json, body.bytes()]);
}

export interface DecodedProgram extends CircuitProgram {
  labels: Map<string, string>;
  reports: ProgramOutput[];
  /** R1CS wire of every signal, when the file has one (builds of zkml's own back end). */
  wireOf?: Int32Array;
  nR1csWires?: number;
}

/** Reads a program file; a damaged or foreign file is a clear error naming `where`. */
export function decodeProgram(bytes: Uint8Array, where: string): DecodedProgram {
  const bad = (why: string) => new ZkmlError(`not a valid program file (${why}): recompile with zkml compile`, 'E_ARTIFACT', where);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 16 || buf.toString('ascii', 0, 8) !== MAGIC) throw bad('wrong magic');
  if (buf.readUInt32LE(8) !== VERSION) throw bad(`version ${buf.readUInt32LE(8)}, this zkml reads ${VERSION}`);
  const jsonLength = buf.readUInt32LE(12);
  if (16 + jsonLength > buf.length) throw bad('truncated header');
  let header: Header;
  try {
    header = JSON.parse(buf.toString('utf8', 16, 16 + jsonLength));
  } catch {
    throw bad('unreadable header');
  }
  try {
    const r = new VarReader(buf.subarray(16 + jsonLength));
    const n = header.nWires;
    const wire = () => {
      const w = r.uint();
      if (w >= n) throw new Error(`wire ${w} out of range`);
      return w;
    };
    const inputs: ProgramInput[] = header.inputs.map((i) => ({ name: i.name, signal: i.signal, shape: i.shape, wires: Array.from({ length: i.size }, wire) }));
    const params = header.params.map((p) => ({ name: p.name, signal: p.signal, wires: Array.from({ length: p.size }, wire) }));
    // The witness is computed in file order: an expression may only read wires an input, a weight or an
    // earlier gadget gave a value (a damaged file must be refused here, not fail inside the executor).
    const defined = new Uint8Array(n);
    for (const io of [...inputs, ...params]) for (const w of io.wires) defined[w] = 1;
    const computed = (e: Expr): Expr => {
      for (const w of e.terms.keys()) if (!defined[w]) throw new Error(`an expression reads wire ${w} before it is computed`);
      return e;
    };
    const sets = header.paramSets.map((set, i) => decodeParams(set, i));
    const gadgets: GadgetInstance[] = [];
    for (let i = 0; i < header.gadgets; i++) {
      const kind = header.kinds[r.uint()];
      const def = gadgetByKind(kind);
      if (!def) throw new Error(`unknown gadget kind ${kind}`);
      const params = sets[r.uint()];
      const node = header.nodes[r.uint()];
      const ins = Array.from({ length: r.uint() }, () => computed(r.expr(n)));
      const outs = Array.from({ length: r.uint() }, wire);
      if (!params) throw new Error(`gadget ${i} has no parameter set`);
      const ports = [inputPorts(def, params).length, outputPorts(def, params).length];
      if (ins.length !== ports[0] || outs.length !== ports[1]) {
        throw new Error(`a ${kind} gadget has ${ins.length} inputs and ${outs.length} outputs; it takes ${ports[0]} and gives ${ports[1]}`);
      }
      for (const w of outs) {
        if (defined[w]) throw new Error(`wire ${w} is computed twice`);
        defined[w] = 1;
      }
      gadgets.push({ def, params, inputs: ins, outputs: outs, node });
    }
    const readOutputs = (list: Header['outputs']): ProgramOutput[] => list.map((o) => ({ name: o.name, signal: o.signal, shape: o.shape, exprs: Array.from({ length: o.size }, () => computed(r.expr(n))) }));
    const outputs = readOutputs(header.outputs);
    const reports = readOutputs(header.reports ?? []);
    let wireOf: Int32Array | undefined;
    if (header.signals !== undefined) {
      wireOf = new Int32Array(header.signals);
      const runs = r.uint();
      let s = 0;
      let w = 0;
      for (let i = 0; i < runs; i++) {
        const len = r.uint();
        if (s + len > wireOf.length) throw new Error('wire map longer than the signals');
        for (let j = 0; j < len; j++) wireOf[s++] = i % 2 === 0 ? w++ : -1;
      }
      if (s !== wireOf.length || w !== header.wires) throw new Error('wire map does not match the header');
    }
    return { nWires: n, inputs, params, gadgets, outputs, labels: new Map(Object.entries(header.labels ?? {})), reports, wireOf, nR1csWires: header.wires };
  } catch (err) {
    if (err instanceof ZkmlError) throw err;
    throw bad((err as Error).message);
  }
}
