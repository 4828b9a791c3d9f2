/**
 * Recurrent ops LSTM, GRU, RNN (src/ops/recurrent.ts): small models written with fixtures/onnx-builder.ts (hidden
 * 3–4, sequence 3–4), zkml's reference executor compared with onnxruntime on seeded inputs in [-1, 1] for every
 * direction, GRU's linear_before_reset, optional inputs (B, initial_h/initial_c constant or computed, peepholes,
 * full sequence_lens), computed weights, opset 7; layout 1 against layout 0 (onnxruntime's CPU kernels refuse
 * layout 1); circuits compiled with their witness checked against every constraint, and a mutation sweep over
 * two of them. Bad inputs (short sequence_lens, other activations, clip, input_forget) are refused with the node
 * named.
 *
 * Tolerance: TOL = 0.02 absolute on every output. The file header of recurrent.ts bounds the local error per
 * step by about 2ε + 2^-(s+1) ≈ 0.01 at s = 8 for the state h; the weights here are at most 0.5 in magnitude, so
 * the cell contracts its state error (each gate's slope is <= 1/4 or 1, times ‖R‖ < 1) and 4 steps stay below
 * 0.02 (the computed weights are drawn in [-1, 1], and stay below 0.01 measured). The measured maxima are printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../src/run.ts';
import { ZkmlError } from '../src/util/errors.ts';
import { analyze } from '../src/compiler/compile.ts';
import { classifySignals, MutationTarget, sweep } from '../src/audit/mutate.ts';
import { witnessedBuild } from './helpers/builds.ts';
import * as b from '../fixtures/onnx-builder.ts';
import { compileAndCheck, tempDir } from './helpers/models.ts';

const dir = tempDir('ops-recurrent');
const TOL = 0.02;
const GATES = { LSTM: 4, GRU: 3, RNN: 1 } as const;

type Cell = keyof typeof GATES;
interface Case {
  cell: Cell;
  direction?: 'forward' | 'reverse' | 'bidirectional';
  layout?: 0 | 1;
  S?: number;
  batch?: number;
  I?: number;
  H?: number;
  lbr?: number;
  bias?: boolean;
  /** initial_h (and initial_c): absent, a constant initializer, or a graph input. */
  initial?: 'none' | 'const' | 'input';
  peepholes?: boolean;
  /**
   * sequence_lens initializer: the full length, or these values; 'input': a graph input (int32); 'proven':
   * computed from the int32 graph input `n` as n·0 + S (the interval analysis proves it is S).
   */
  seqLens?: number[] | 'full' | 'input' | 'proven';
  /** Attributes written on top (clip...). */
  attrs?: Record<string, b.Attr>;
  /** The activations attribute (STRINGS, which the builder's attr has no constructor for). */
  activations?: string[];
  opset?: number;
  /** Weight seed (default: one per model built). */
  seed?: number;
  /** W, R, B (and P) as graph inputs instead of initializers. */
  computedWeights?: boolean;
}

let count = 0;

/** Writes the one-node model of `c`; returns its path, input sizes and outputs. */
function build(c: Case): { path: string; inputs: Record<string, number>; outputs: string[] } {
  const { cell, direction = 'forward', layout = 0, S = 4, batch = 1, I = 2, H = 3 } = c;
  const D = direction === 'bidirectional' ? 2 : 1;
  const G = GATES[cell];
  const rand = b.mulberry32(c.seed ?? 1000 + count);
  const uniform = (n: number, r: number) => Array.from({ length: n }, () => (rand() * 2 - 1) * r);
  const name = `${cell.toLowerCase()}_${direction}_${count++}`;
  const xShape = layout === 0 ? [S, batch, I] : [batch, S, I];
  const stateShape = layout === 0 ? [D, batch, H] : [batch, D, H];
  const initializers: b.Tensor[] = [b.floatTensor('W', [D, G * H, I], uniform(D * G * H * I, 0.5)), b.floatTensor('R', [D, G * H, H], uniform(D * G * H * H, 0.5))];
  const ins = ['X', 'W', 'R', '', '', '', '', ''];
  const graphInputs = [b.valueInfo('X', xShape)];
  const inputs: Record<string, number> = { X: S * batch * I };
  if (c.bias !== false) {
    initializers.push(b.floatTensor('B', [D, 2 * G * H], uniform(D * 2 * G * H, 0.5)));
    ins[3] = 'B';
  }
  const pre: b.Node[] = [];
  if (c.seqLens === 'input') {
    graphInputs.push(b.valueInfo('seq', [batch], b.DataType.INT32));
    ins[4] = 'seq';
  } else if (c.seqLens === 'proven') {
    graphInputs.push(b.valueInfo('n', [batch], b.DataType.INT32));
    initializers.push(b.intTensor('zero', 'int32', [], [0]), b.intTensor('len', 'int32', [], [S]));
    pre.push(b.node('Mul', ['n', 'zero'], ['n0'], { name: 'n0' }), b.node('Add', ['n0', 'len'], ['seq'], { name: 'seq' }));
    ins[4] = 'seq';
  } else if (c.seqLens) {
    const lens = c.seqLens === 'full' ? new Array(batch).fill(S) : c.seqLens;
    initializers.push(b.intTensor('seq', 'int32', [batch], lens));
    ins[4] = 'seq';
  }
  const states = cell === 'LSTM' ? ['initial_h', 'initial_c'] : ['initial_h'];
  states.forEach((s, k) => {
    if (!c.initial || c.initial === 'none') return;
    ins[5 + k] = s;
    if (c.initial === 'const') initializers.push(b.floatTensor(s, stateShape, uniform(D * batch * H, 0.8)));
    else {
      graphInputs.push(b.valueInfo(s, stateShape));
      inputs[s] = D * batch * H;
    }
  });
  if (c.peepholes) {
    initializers.push(b.floatTensor('P', [D, 3 * H], uniform(D * 3 * H, 0.5)));
    ins[7] = 'P';
  }
  if (c.computedWeights) {
    // The weights become graph inputs (the circuit's, drawn by sample() in [-1, 1]).
    for (const t of initializers.filter((t) => ['W', 'R', 'B', 'P'].includes(t.name!))) {
      graphInputs.push(b.valueInfo(t.name!, t.dims as number[]));
      inputs[t.name!] = (t.dims as number[]).reduce((a, x) => a * x, 1);
    }
    initializers.splice(0, initializers.length, ...initializers.filter((t) => !['W', 'R', 'B', 'P'].includes(t.name!)));
  }
  while (ins.at(-1) === '') ins.pop();
  const outs = cell === 'LSTM' ? ['Y', 'Y_h', 'Y_c'] : ['Y', 'Y_h'];
  const attrs: Record<string, b.Attr> = { hidden_size: b.attr.int(H), direction: b.attr.string(direction), ...c.attrs };
  if (layout) attrs.layout = b.attr.int(layout);
  if (c.lbr !== undefined) attrs.linear_before_reset = b.attr.int(c.lbr);
  const yShape = layout === 0 ? [S, D, batch, H] : [batch, S, D, H];
  const n = b.node(cell, ins, outs, { name: 'cell', attrs });
  if (c.activations) n.attribute!.push({ name: 'activations', type: b.onnx.AttributeProto.AttributeType.STRINGS, strings: c.activations.map((a) => new TextEncoder().encode(a)) });
  const path = join(dir, `${name}.onnx`);
  writeFileSync(
    path,
    b.serialize(
      b.model({
        name,
        opset: c.opset ?? (layout ? 14 : 13),
        nodes: [...pre, n],
        inputs: graphInputs,
        outputs: outs.map((o, k) => b.valueInfo(o, k === 0 ? yShape : stateShape)),
        initializers,
      }),
    ),
  );
  return { path, inputs, outputs: outs };
}

const inputRange: [number, number] = [-1, 1];

/** Seeded inputs in [-1, 1] for each graph input. */
function sample(inputs: Record<string, number>, seed: number): Record<string, number[]> {
  const rand = b.mulberry32(seed);
  return Object.fromEntries(Object.entries(inputs).map(([k, n]) => [k, Array.from({ length: n }, () => Math.round((rand() * 2 - 1) * 1e4) / 1e4)]));
}

/** zkml's reference executor against onnxruntime on `trials` inputs; every output within TOL. Returns the max error. */
async function agrees(c: Case, trials = 3): Promise<number> {
  const m = build(c);
  let worst = 0;
  for (let t = 0; t < trials; t++) {
    const input = sample(m.inputs, 77 + t);
    const outs = await run(m.path, input, { inputRange });
    assert.deepEqual(outs.map((o) => o.name), m.outputs);
    for (const o of outs) {
      assert.equal(o.float.length, o.dequantized.length, o.name);
      const err = Math.max(0, ...o.float.map((f, i) => Math.abs(f - o.dequantized[i])));
      assert.ok(err <= TOL, `${JSON.stringify(c)} ${o.name}: error ${err} > ${TOL}\n  ort  ${o.float}\n  zkml ${o.dequantized}`);
      worst = Math.max(worst, err);
    }
  }
  return worst;
}

const DIRECTIONS = ['forward', 'reverse', 'bidirectional'] as const;

for (const cell of ['LSTM', 'GRU', 'RNN'] as const) {
  for (const direction of DIRECTIONS) {
    const variants: Case[] = cell === 'GRU' ? [{ cell, direction, lbr: 0 }, { cell, direction, lbr: 1 }] : [{ cell, direction }];
    for (const v of variants) {
      test(`${cell} ${direction}${v.lbr !== undefined ? ` linear_before_reset=${v.lbr}` : ''}: Y, Y_h${cell === 'LSTM' ? ', Y_c' : ''} agree with onnxruntime within ${TOL}`, async () => {
        const err = await agrees(v);
        console.log(`# ${cell} ${direction} lbr=${v.lbr ?? '-'}: max |error| ${err.toFixed(5)}`);
      });
    }
  }
}

/** The reference executor's output integers of `path` on input integers. */
function execute(path: string, ints: Record<string, bigint[]>): Map<string, bigint[]> {
  const { lowered } = analyze(path, { inputRange, inputVisibility: 'private', outputVisibility: 'public' });
  return lowered.program.execute(new Map(Object.entries(ints))).outputs;
}

/** Moves axis 0 and 1 of a row-major tensor of shape [a, b, ...rest] (rest of `inner` elements). */
function swap01<T>(v: T[], a: number, bb: number, inner: number): T[] {
  return Array.from({ length: v.length }, (_, n) => {
    const [j, i, k] = [Math.floor(n / (a * inner)), Math.floor(n / inner) % a, n % inner];
    return v[(i * bb + j) * inner + k];
  });
}

// onnxruntime's CPU kernels refuse layout 1 ("Batchwise recurrent operations are not supported"), so layout 1 is
// checked against layout 0 (itself checked against onnxruntime above): the same weights on the transposed input
// must give exactly the same integers, transposed.
test('layout 1 (batch first, opset 14) computes exactly what layout 0 does, transposed (batch 2, bidirectional)', () => {
  const [S, batch, I, H, D] = [3, 2, 2, 3, 2];
  for (const cell of ['LSTM', 'GRU', 'RNN'] as const) {
    const base = { cell, direction: 'bidirectional', batch, S, I, H, initial: 'input', seed: 42 } as Case;
    const m0 = build(base);
    const m1 = build({ ...base, layout: 1 });
    const rand = b.mulberry32(9);
    const ints = (n: number) => Array.from({ length: n }, () => BigInt(Math.round((rand() * 2 - 1) * 128)));
    const x0 = ints(S * batch * I);
    const states = Object.keys(m0.inputs).filter((k) => k !== 'X');
    const s0 = Object.fromEntries(states.map((k) => [k, ints(D * batch * H)]));
    const y0 = execute(m0.path, { X: x0, ...s0 });
    const y1 = execute(m1.path, { X: swap01(x0, S, batch, I), ...Object.fromEntries(states.map((k) => [k, swap01(s0[k], D, batch, H)])) });
    // Y: [S, D, B, H] vs [B, S, D, H]; states: [D, B, H] vs [B, D, H].
    const Y0 = y0.get('Y')!;
    const expectedY = Array.from({ length: Y0.length }, (_, n) => {
      const [bi, t, d, j] = [Math.floor(n / (S * D * H)), Math.floor(n / (D * H)) % S, Math.floor(n / H) % D, n % H];
      return Y0[((t * D + d) * batch + bi) * H + j];
    });
    assert.deepEqual(y1.get('Y'), expectedY, `${cell} Y`);
    for (const k of m0.outputs.slice(1)) assert.deepEqual(y1.get(k), swap01(y0.get(k)!, D, batch, H), `${cell} ${k}`);
  }
});

test('computed W, R, B (and P): every weight × activation one product per step, within the same tolerance', async () => {
  for (const cell of ['LSTM', 'GRU', 'RNN'] as const) {
    const err = await agrees({ cell, computedWeights: true, direction: 'bidirectional', S: 3, lbr: cell === 'GRU' ? 1 : undefined, peepholes: cell === 'LSTM' }, 2);
    console.log(`# ${cell} computed weights: max |error| ${err.toFixed(5)}`);
  }
  await agrees({ cell: 'GRU', computedWeights: true, lbr: 0, S: 3 }, 2);
});

test('optional inputs: no B, constant and computed initial states, LSTM peepholes, full sequence_lens; opset 7; explicit default activations', async () => {
  for (const cell of ['LSTM', 'GRU', 'RNN'] as const) {
    await agrees({ cell, bias: false }, 2);
    await agrees({ cell, initial: 'const', direction: 'bidirectional', batch: 2, S: 3 }, 2);
    await agrees({ cell, initial: 'input', lbr: cell === 'GRU' ? 1 : undefined }, 2);
    await agrees({ cell, seqLens: 'full', batch: 2, S: 3 }, 2);
  }
  await agrees({ cell: 'LSTM', peepholes: true, initial: 'input', direction: 'bidirectional' }, 2);
  // Opset 7 (before layout existed) reads the same.
  for (const cell of ['LSTM', 'GRU', 'RNN'] as const) await agrees({ cell, opset: 7, direction: 'reverse' }, 1);
  // The default activations written out explicitly are accepted.
  await agrees({ cell: 'LSTM', direction: 'bidirectional', activations: ['Sigmoid', 'Tanh', 'Tanh', 'Sigmoid', 'Tanh', 'Tanh'] }, 1);
  await agrees({ cell: 'GRU', activations: ['Sigmoid', 'Tanh'] }, 1);
});

/** Compiles `c` and checks the witness: equal to the reference and satisfying every constraint. */
async function witnessHolds(c: Case): Promise<number> {
  const m = build(c);
  const r = await compileAndCheck(m.path, sample(m.inputs, 5), { inputRange });
  assert.deepEqual(r.check.mismatches, [], 'every gadget output equals the reference executor');
  assert.deepEqual(r.check.violated, [], 'the witness satisfies every constraint');
  return [...r.program.costByNode().values()].reduce((a, x) => a + x, 0);
}

test('circuits: the witness satisfies every constraint (LSTM, GRU both resets, RNN; bidirectional, computed initial state)', async () => {
  const S = 3;
  const H = 3;
  for (const c of [
    { cell: 'LSTM', direction: 'bidirectional', initial: 'input', peepholes: true },
    { cell: 'GRU', direction: 'reverse', lbr: 0 },
    { cell: 'GRU', direction: 'forward', lbr: 1, initial: 'input' },
    { cell: 'RNN', direction: 'bidirectional' },
    { cell: 'GRU', direction: 'forward', lbr: 1, computedWeights: true },
  ] as Case[]) {
    const cost = await witnessHolds({ ...c, S, H });
    const D = c.direction === 'bidirectional' ? 2 : 1;
    console.log(`# ${c.cell} ${c.direction}: ${cost} constraints, ${(cost / (S * H * D)).toFixed(0)} per unit and step`);
  }
});

// Tampering with any one witness signal of a recurrent circuit (product outputs, the requantizations' bits, the
// tables' one-hot selectors, the states between steps) must break a constraint: +1, -1 and the lowest bit flipped
// on every signal, as test/mutation.test.ts does for whole models.
test('mutation: every tampered signal of a GRU (lbr 0) and an LSTM circuit breaks a constraint', async () => {
  for (const c of [{ cell: 'GRU', lbr: 0, S: 2, H: 2, initial: 'input' }, { cell: 'LSTM', S: 2, H: 2 }] as Case[]) {
    const m = build(c);
    const { program, check } = await witnessedBuild(m.path, sample(m.inputs, 3), { inputRange });
    assert.deepEqual(check.violated, []);
    const signals = classifySignals(program, check.symbols, check.r1cs);
    const tally = sweep(new MutationTarget(check.r1cs, check.witness, signals), signals);
    assert.deepEqual(tally.uncaught.map((r) => `${r.signal.name}: ${r.outcome}`), [], c.cell);
    assert.equal(tally.total().caught, 3 * signals.length, `${c.cell}: all ${3 * signals.length} tampers caught`);
  }
});

// Private weights (--param-visibility private/hashed) are parameter signals: the same integers, one product per
// weight and step instead of a linear combination; the outputs must be the fixed build's exactly.
test('private weights: the same output integers as fixed weights, and the witness holds', async () => {
  for (const c of [{ cell: 'LSTM', peepholes: true, S: 3 }, { cell: 'GRU', lbr: 1, S: 3 }, { cell: 'RNN', direction: 'bidirectional', S: 3 }] as Case[]) {
    const m = build(c);
    const input = sample(m.inputs, 11);
    const fixed = await run(m.path, input, { inputRange });
    const priv = await run(m.path, input, { inputRange, paramVisibility: 'private' });
    assert.deepEqual(priv.map((o) => o.ints), fixed.map((o) => o.ints), c.cell);
  }
  const m = build({ cell: 'GRU', lbr: 0, S: 2, H: 2 });
  const r = await compileAndCheck(m.path, sample(m.inputs, 12), { inputRange, paramVisibility: 'private' });
  assert.deepEqual(r.check.mismatches, []);
  assert.deepEqual(r.check.violated, []);
});

/** The lowering of `c` fails with a ZkmlError whose message matches `re` and names the node. */
async function refuses(c: Case, re: RegExp): Promise<void> {
  const m = build(c);
  await assert.rejects(run(m.path, sample(m.inputs, 1), { inputRange }), (e: unknown) => {
    assert.ok(e instanceof ZkmlError, String(e));
    assert.match(e.message, re);
    assert.match(e.message, /node "cell" \((LSTM|GRU|RNN)\)/);
    return true;
  });
}

test('computed sequence_lens the interval analysis proves equal to the sequence length: agrees with onnxruntime, the witness holds', async () => {
  const c: Case = { cell: 'LSTM', seqLens: 'proven', batch: 2, S: 3 };
  const m = build(c);
  const input = { ...sample(m.inputs, 9), n: [1, -1] }; // any n within --input-range: n·0 + S is S
  for (const o of await run(m.path, input, { inputRange })) {
    const err = Math.max(0, ...o.float.map((f, i) => Math.abs(f - o.dequantized[i])));
    assert.ok(err <= TOL, `${o.name}: error ${err} > ${TOL}`);
  }
  const r = await compileAndCheck(m.path, input, { inputRange });
  assert.deepEqual(r.check.mismatches, [], 'every gadget output equals the reference executor');
  assert.deepEqual(r.check.violated, [], 'the witness satisfies every constraint');
});

test('refused clearly: short or data-dependent sequence_lens, other activations, clip, input_forget', async () => {
  await refuses({ cell: 'LSTM', seqLens: [4, 2], batch: 2 }, /sequence_lens \[4,2\] must equal the sequence length 4/);
  await refuses({ cell: 'GRU', seqLens: 'input' }, /sequence_lens \(input 4, "seq"\) is computed and not provably the sequence length 4 .*data-dependent sequence length/);
  await refuses({ cell: 'GRU', attrs: { clip: b.attr.float(3) } }, /clip attribute/);
  await refuses({ cell: 'RNN', activations: ['Relu'] }, /activations \[Relu\] are not supported: only the defaults \[Tanh\]/);
  await refuses({ cell: 'LSTM', attrs: { input_forget: b.attr.int(1) } }, /input_forget/);
});
