/**
 * Bad input, generated with fixed seeds: truncated and byte-flipped ONNX files, absurd dimensions, cyclic and
 * malformed graphs, input JSON with every wrong kind of value, and damaged circuit artifacts. Each case must
 * either work or fail with a ZkmlError (a clear message, a stable code), never another exception, a stack
 * trace or a hang, and a failed compile must leave nothing in its output folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { analyze, analyzeOptionsOf, compile } from '../src/compiler/compile.ts';
import { crossCheck } from '../src/compiler/crosscheck.ts';
import { loadR1cs, violatedConstraints } from '../src/circom/r1cs.ts';
import { encodeInputs } from '../src/io/input.ts';
import { readManifest, type Manifest, type TensorSpec } from '../src/manifest.ts';
import { ZkmlError } from '../src/util/errors.ts';
import { audit } from '../src/audit/audit.ts';
import { cachedBuild } from './helpers/builds.ts';
import { zkml } from './helpers/cli.ts';
import { scratchDirs } from './helpers/scratch.ts';
import { report } from './helpers/counts.ts';
import * as b from '../fixtures/onnx-builder.ts';

const tempDir = scratchDirs();

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'models');
const SEED = 424_242;
/** A case that takes longer than this is a hang for our purposes: every one here is small. */
const SLOW_MS = 10_000;

type Outcome = { ok: true } | { ok: false; code: string };

/** Cases tried, reported per test (scripts/security-counts.ts sums them). */
let cases = 0;

/** A test that reports how many cases it tried. */
function fuzzTest(name: string, fn: () => unknown): void {
  test(name, async (t) => {
    const start = cases;
    await fn();
    report(t, { suite: 'fuzz', test: name, cases: cases - start });
  });
}

/** Runs `f`; a ZkmlError is an outcome, anything else fails the test with the offending case named. */
function outcome(what: string, f: () => unknown): Outcome {
  cases++;
  const t0 = Date.now();
  try {
    f();
    return { ok: true };
  } catch (err) {
    if (!(err instanceof ZkmlError)) assert.fail(`${what}: ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
    assert.doesNotMatch(err.message, /\n\s+at /, `${what}: a message, not a stack trace`);
    return { ok: false, code: err.code };
  } finally {
    assert.ok(Date.now() - t0 < SLOW_MS, `${what}: took ${Date.now() - t0} ms`);
  }
}

async function outcomeAsync(what: string, f: () => Promise<unknown>): Promise<Outcome> {
  cases++;
  try {
    await f();
    return { ok: true };
  } catch (err) {
    if (!(err instanceof ZkmlError)) assert.fail(`${what}: ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
    return { ok: false, code: err.code };
  }
}

/** Loads (and lowers) bytes as a model file. */
function analyzeBytes(dir: string, bytes: Uint8Array, what: string): Outcome {
  const path = join(dir, 'model.onnx');
  writeFileSync(path, bytes);
  return outcome(what, () => analyze(path, { inputRange: [-1, 1] }));
}

function writeModel(dir: string, spec: b.ModelSpec): string {
  const path = join(dir, `${spec.name}.onnx`);
  writeFileSync(path, b.serialize(b.model(spec)));
  return path;
}

const codeOf = (f: () => unknown): string => {
  cases++;
  try {
    f();
  } catch (err) {
    if (err instanceof ZkmlError) return err.code;
    throw err;
  }
  return 'ok';
};

fuzzTest('fuzz: every prefix of two ONNX files loads or gives a ZkmlError; a failed compile writes nothing', async () => {
  const dir = tempDir('fuzz');
  let refused = 0;
  for (const name of ['gemm_attrs', 'constant_node']) {
    const full = readFileSync(join(FIXTURES, `${name}.onnx`));
    for (let n = 0; n < full.length; n++) {
      const r = analyzeBytes(dir, full.subarray(0, n), `${name} truncated to ${n} of ${full.length} bytes`);
      if (!r.ok) refused++;
    }
    // The library compile() refuses a truncated file before anything is written (here: half the file).
    writeFileSync(join(dir, 'half.onnx'), full.subarray(0, full.length >> 1));
    await assert.rejects(compile(join(dir, 'half.onnx'), join(dir, 'out', 'build')), ZkmlError);
    assert.ok(!existsSync(join(dir, 'out')) || readdirSync(join(dir, 'out')).length === 0, 'no build folder, no staging folder');
  }
  assert.ok(refused > 1000, `most prefixes are refused (${refused})`);
});

fuzzTest('fuzz: the CLI refuses truncated models (each length class) with exit 1 and writes nothing', () => {
  const dir = tempDir('fuzz-cli');
  const full = readFileSync(join(FIXTURES, 'gemm_basic.onnx'));
  // Empty, inside the first field, half (every prefix is tried in-process by the test above).
  for (const n of [0, 7, full.length >> 1]) {
    const model = join(dir, `cut${n}.onnx`);
    writeFileSync(model, full.subarray(0, n));
    const out = join(dir, `build${n}`);
    cases++;
    const r = zkml(['compile', model, '-o', out]);
    assert.equal(r.status, 1, `${n} bytes: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^error: .*cut${n}\\.onnx`), `${n} bytes: the message names the file`);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.ok(!existsSync(out), `${n} bytes: no output folder`);
  }
  assert.deepEqual(readdirSync(dir).filter((f) => !f.endsWith('.onnx')), [], 'no staging folder left');
});

fuzzTest('fuzz: random byte flips in valid models load or give a ZkmlError', () => {
  const dir = tempDir('fuzz');
  const models = ['gemm_basic', 'reshape_ops_opset11', 'constant_node', 'matmul_add', 'softmax_final'].map((n) => readFileSync(join(FIXTURES, `${n}.onnx`)));
  const flips = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 });
  fc.assert(
    fc.property(fc.nat({ max: models.length - 1 }), flips, (m, changes) => {
      const bytes = Uint8Array.from(models[m]);
      for (const [at, v] of changes) bytes[at % bytes.length] = v;
      analyzeBytes(dir, bytes, `model ${m} with bytes ${JSON.stringify(changes)}`);
    }),
    { seed: SEED, numRuns: 600 },
  );
});

fuzzTest('fuzz: absurd dimensions are refused before anything is built', () => {
  const dir = tempDir('fuzz');
  const relu = (name: string, dims: (number | string)[]) =>
    writeModel(dir, { name, nodes: [b.node('Relu', ['x'], ['y'], { name: 'relu' })], inputs: [b.valueInfo('x', dims)], outputs: [b.valueInfo('y', dims)] });
  const refuse = (path: string, pattern: RegExp) => {
    cases++;
    const t0 = Date.now();
    assert.throws(() => analyze(path, {}), (err: unknown) => err instanceof ZkmlError && err.code === 'E_SHAPE' && pattern.test(err.message));
    assert.ok(Date.now() - t0 < 2000, 'refused at once, not after building');
  };
  refuse(relu('huge_input', [1, 2 ** 40]), /input "x" has shape \[1,1099511627776\] \(1099511627776 values\), too large for a circuit/);
  refuse(relu('huge_dims', [2 ** 31, 2 ** 31, 2 ** 31]), /too large for a circuit/);
  refuse(relu('just_over', [1, 2 ** 20 + 1]), /input "x" has shape \[1,1048577\]/);
  // A computed tensor larger than any input: [2048, 1] + [1, 1024] broadcasts to 2^21 values.
  const wide = writeModel(dir, {
    name: 'broadcast',
    nodes: [b.node('Add', ['x', 'c'], ['y'], { name: 'add' })],
    inputs: [b.valueInfo('x', [2048, 1])],
    outputs: [b.valueInfo('y', [2048, 1024])],
    initializers: [b.floatTensor('c', [1, 1024], new Array(1024).fill(0.5))],
  });
  refuse(wide, /tensor "y" has shape \[2048,1024\] \(2097152 values\)/);
  // An initializer that claims 2^40 elements but holds 4 bytes.
  const liar = writeModel(dir, {
    name: 'liar',
    nodes: [b.node('MatMul', ['x', 'W'], ['y'], { name: 'mm' })],
    inputs: [b.valueInfo('x', [1, 4])],
    outputs: [b.valueInfo('y', [1, 2])],
    initializers: [{ name: 'W', dims: [2 ** 20, 2 ** 20], dataType: b.DataType.FLOAT, rawData: new Uint8Array(4) }],
  });
  cases++;
  assert.throws(() => analyze(liar, {}), (err: unknown) => err instanceof ZkmlError && err.code === 'E_BAD_TENSOR' && /holds 4 bytes/.test(err.message));
});

fuzzTest('fuzz: cyclic graphs are refused naming the cycle; a 20,000-node chain in reverse order loads', () => {
  const dir = tempDir('fuzz');
  const io = { inputs: [b.valueInfo('x', [1, 4])], outputs: [b.valueInfo('y', [1, 4])] };
  const two = writeModel(dir, { name: 'cycle2', ...io, nodes: [b.node('Add', ['x', 'h2'], ['h1'], { name: 'A' }), b.node('Relu', ['h1'], ['h2'], { name: 'B' }), b.node('Relu', ['h2'], ['y'], { name: 'C' })] });
  cases += 2;
  assert.throws(() => analyze(two, {}), (err: unknown) => err instanceof ZkmlError && err.code === 'E_CYCLE' && /the graph has a cycle: (A -> B -> A|B -> A -> B)/.test(err.message));
  const self = writeModel(dir, { name: 'cycle1', ...io, nodes: [b.node('Add', ['x', 'y'], ['y'], { name: 'selfie' })] });
  assert.throws(() => analyze(self, {}), (err: unknown) => err instanceof ZkmlError && err.code === 'E_CYCLE' && /selfie -> selfie/.test(err.message));
  // A long chain listed outputs-first: depth-first ordering must not recurse once per node.
  const depth = 20_000;
  const nodes = Array.from({ length: depth }, (_, i) => b.node('Identity', [i === 0 ? 'x' : `h${i}`], [i === depth - 1 ? 'y' : `h${i + 1}`], { name: `n${i}` })).reverse();
  const chain = writeModel(dir, { name: 'chain', ...io, nodes });
  assert.equal(codeOf(() => analyze(chain, {})), 'ok');
});

fuzzTest('fuzz: malformed nodes are refused by name (missing inputs, two producers, empty tensor attribute, NaN weights)', () => {
  const dir = tempDir('fuzz');
  const io = { inputs: [b.valueInfo('x', [1, 4])], outputs: [b.valueInfo('y', [1, 4])] };
  const W = b.floatTensor('W', [4, 4], new Array(16).fill(0.25));
  const malformed: [string, b.ModelSpec, string, RegExp][] = [
    ['a MatMul with one input', { name: 'one', ...io, nodes: [b.node('MatMul', ['x'], ['y'], { name: 'mm' })] }, 'E_GRAPH', /node "mm" \(MatMul\): MatMul takes 2 input\(s\); this node has 1/],
    ['a required input left empty', { name: 'empty', ...io, initializers: [W], nodes: [b.node('Gemm', ['', 'W'], ['y'], { name: 'g' })] }, 'E_GRAPH', /node "g" \(Gemm\): Gemm takes 2 to 3 input\(s\); this node has 2 \(input 0 is empty\)/],
    ['a BatchNormalization with 4 inputs', { name: 'bn4', ...io, initializers: [b.floatTensor('s', [4], [1, 1, 1, 1])], nodes: [b.node('BatchNormalization', ['x', 's', 's', 's'], ['y'], { name: 'bn' })] }, 'E_GRAPH', /BatchNormalization takes 5 input\(s\); this node has 4/],
    ['an Identity with two outputs', { name: 'two_out', ...io, nodes: [b.node('Identity', ['x'], ['y', 'z'], { name: 'id' })] }, 'E_GRAPH', /Identity has one output; this node has 2/],
    [
      'a value produced twice',
      { name: 'twice', ...io, nodes: [b.node('Relu', ['x'], ['h'], { name: 'r1' }), b.node('Relu', ['x'], ['h'], { name: 'r2' }), b.node('Relu', ['h'], ['y'], { name: 'r3' })] },
      'E_GRAPH',
      /value "h" is produced twice, by node "r1" \(Relu\) and node "r2" \(Relu\)/,
    ],
    ['a node writing over the input', { name: 'overwrite', ...io, nodes: [b.node('Relu', ['x'], ['x'], { name: 'r' }), b.node('Relu', ['x'], ['y'], { name: 'r2' })] }, 'E_GRAPH', /node "r" \(Relu\) writes "x", which is a graph input or initializer/],
    ['a TENSOR attribute with no tensor', { name: 'noattr', ...io, nodes: [{ opType: 'Constant', name: 'k', output: ['c'], attribute: [{ name: 'value', type: b.onnx.AttributeProto.AttributeType.TENSOR }] }, b.node('Add', ['x', 'c'], ['y'], { name: 'add' })] }, 'E_ATTR', /attribute "value" is of type TENSOR but holds no tensor/],
    ['a Concat of mismatched shapes', { name: 'concat', inputs: [b.valueInfo('x', [1, 4]), b.valueInfo('z', [1, 2, 2])], outputs: [b.valueInfo('y', [1, 8])], nodes: [b.node('Concat', ['x', 'z'], ['y'], { name: 'cat', attrs: { axis: { type: 'int', value: 1 } } })] }, 'E_SHAPE', /node "cat" \(Concat\): input 1 has shape \[1,2,2\]; every input must match input 0's \[1,4\] except along axis 1/],
    ['a NaN weight', { name: 'nan', ...io, initializers: [b.floatTensor('W', [4, 4], [...new Array(15).fill(0.25), NaN])], nodes: [b.node('MatMul', ['x', 'W'], ['y'], { name: 'mm' })] }, 'E_BAD_TENSOR', /tensor "W" holds NaN \(element 15\)/],
  ];
  for (const [what, spec, code, message] of malformed) {
    cases++;
    const path = writeModel(dir, spec);
    assert.throws(() => analyze(path, {}), (err: unknown) => err instanceof ZkmlError && err.code === code && message.test(err.message), what);
  }
});

/** A manifest with one input tensor, as encodeInputs sees it (no circuit needed). */
function inputManifest(name = 'x', shape = [1, 4]): Manifest {
  const spec: TensorSpec = { name, signal: 'in0', shape, encoding: { scaleExp: 8, scale: 2 ** -8, zeroPoint: 0 }, intRange: ['-256', '256'], floatRange: [-1, 1], visibility: 'private' };
  return { inputs: [spec] } as unknown as Manifest;
}

fuzzTest('fuzz: inputs of every wrong kind (NaN, Inf, strings, shapes, ranges, nesting) give a ZkmlError', () => {
  const m = inputManifest();
  const element = fc.oneof(
    fc.double(),
    fc.integer(),
    fc.string(),
    fc.jsonValue(),
    fc.constantFrom(null, true, {}, [], 1e308, -1e308, 5e-324, '1e400', 'NaN', 'Infinity', ' 0.5 ', '0x10', 2 ** 53 + 2, 0.99, -1),
  );
  fc.assert(
    fc.property(fc.array(element, { minLength: 0, maxLength: 6 }), fc.boolean(), (values, raw) => {
      for (const v of [{ input_data: [values] }, { x: [values] }, values, { input_data: values }, { x: values }]) {
        outcome(`input ${JSON.stringify(v)}${raw ? ' --raw' : ''}`, () => encodeInputs(m, v, { raw }));
      }
    }),
    { seed: SEED, numRuns: 1500 },
  );
  fc.assert(
    fc.property(fc.anything(), (v) => {
      outcome('arbitrary value', () => encodeInputs(m, v));
    }),
    { seed: SEED, numRuns: 500 },
  );
  // Cases a random draw may miss, each with its code.
  const code = (v: unknown, mm = m) => codeOf(() => encodeInputs(mm, v));
  assert.equal(code({ x: [[1e308, 0, 0, 0]] }), 'E_INPUT_RANGE', 'overflows when quantized');
  assert.equal(code({ x: [[NaN, 0, 0, 0]] }), 'E_INPUT_VALUE');
  assert.equal(code({ x: [[Infinity, 0, 0, 0]] }), 'E_INPUT_VALUE');
  assert.equal(code({ x: [['zero', 0, 0, 0]] }), 'E_INPUT_VALUE');
  assert.equal(code({ x: [[0, 0, 0]] }), 'E_INPUT_SHAPE');
  assert.equal(code({ x: [[1.5, 0, 0, 0]] }), 'E_INPUT_RANGE');
  let deep: unknown = [0.5, 0, 0, 0];
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.equal(code({ x: deep }), 'E_INPUT_SHAPE', 'deep nesting is refused, not a stack overflow');
  for (const name of ['toString', 'constructor', '__proto__']) {
    assert.equal(code({}, inputManifest(name)), 'E_INPUT', `an input named "${name}" is not found on Object.prototype`);
  }
  assert.equal(code({ x: [[0.5, 0, 0, -0.25]] }), 'ok');
});

fuzzTest('fuzz: damaged circuit program, r1cs and sym give a ZkmlError from crossCheck (or a checked result)', async () => {
  const model = join(FIXTURES, 'gemm_basic.onnx');
  const build = await cachedBuild(model, { inputRange: [-1, 1] });
  const manifest = readManifest(build);
  const { lowered } = analyze(model, analyzeOptionsOf(manifest));
  const encoded = encodeInputs(manifest, JSON.parse(readFileSync(join(FIXTURES, 'gemm_basic.input.json'), 'utf8')));
  const damaged = async (file: string, bytes: Uint8Array, what: string) => {
    const dir = tempDir('fuzz-artifact');
    cpSync(build, dir, { recursive: true });
    writeFileSync(join(dir, file), bytes);
    return outcomeAsync(what, () => crossCheck(dir, manifest, lowered.program, encoded));
  };
  for (const file of ['circuit.program', 'circuit.r1cs']) {
    const full = readFileSync(join(build, file));
    for (const n of [0, 4, 16, 64, full.length >> 2, full.length >> 1]) {
      const r = await damaged(file, full.subarray(0, n), `${file} truncated to ${n} bytes`);
      assert.deepEqual(r, { ok: false, code: 'E_ARTIFACT' }, `${file} truncated to ${n} bytes`);
    }
    // Without its last byte: a clear error or a checked result, never a crash.
    await damaged(file, full.subarray(0, full.length - 1), `${file} without its last byte`);
  }
  const programFile = readFileSync(join(build, 'circuit.program'));
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), async (changes) => {
      const bytes = Uint8Array.from(programFile);
      for (const [at, v] of changes) bytes[at % bytes.length] = v;
      await damaged('circuit.program', bytes, `program with bytes ${JSON.stringify(changes)}`);
    }),
    { seed: SEED, numRuns: 25 },
  );
  // Header damage that still parses as JSON: a bigint parameter turned into text, a parameter renamed away, the
  // wire map's header entry gone. Each reached the executor as a TypeError before (the first one only with the
  // program file's bytes of a build in another folder, which is how CI found it).
  const headerLength = programFile.readUInt32LE(12);
  const header = programFile.toString('utf8', 16, 16 + headerLength);
  const withHeader = (edit: (h: string) => string) => {
    const edited = edit(header);
    assert.notEqual(edited, header, 'the edit applies');
    assert.equal(Buffer.byteLength(edited), headerLength, 'the edit keeps the header length');
    return Uint8Array.from(Buffer.concat([programFile.subarray(0, 16), Buffer.from(edited), programFile.subarray(16 + headerLength)]));
  };
  const edits: [string, (h: string) => string][] = [
    ['a bigint parameter as text', (h) => h.replace(/(\\")(-?\d+)n(\\")/, '$1$2 $3')],
    ['a parameter renamed', (h) => h.replace(/\{\\"(\w)/, '{\\"Z')],
    ['the wire map entry renamed', (h) => h.replace('"signals"', '"signalz"')],
  ];
  for (const [what, edit] of edits) {
    assert.deepEqual(await damaged('circuit.program', withHeader(edit), what), { ok: false, code: 'E_ARTIFACT' }, what);
  }
  // The sym file only names signals: garbage in it loses names, never the check.
  const sym = await damaged('circuit.sym', new TextEncoder().encode('not,a,sym\n\n,,,\n1,2\n'), 'garbage sym');
  assert.deepEqual(sym, { ok: true });
});

fuzzTest('fuzz: zkml audit refuses a truncated r1cs and one whose constraints name missing wires', async () => {
  const build = await cachedBuild(join(FIXTURES, 'gemm_basic.onnx'), { inputRange: [-1, 1] });
  const dir = tempDir('fuzz-audit');
  cpSync(build, dir, { recursive: true });
  const full = readFileSync(join(build, 'circuit.r1cs'));
  writeFileSync(join(dir, 'circuit.r1cs'), full.subarray(0, full.length >> 1));
  cases += 2;
  const r = zkml(['audit', dir]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /circuit\.r1cs: not a readable r1cs file/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  // The first wire of the first constraint, pointed past the end of the witness. r1cs layout: "r1cs", version,
  // section count, then sections (u32 type, u64 size); in the constraints section (type 2) a linear combination
  // starts with its term count (u32), then (u32 wire, 32-byte coefficient) pairs.
  const bytes = Uint8Array.from(full);
  const view = new DataView(bytes.buffer);
  let at = 12;
  while (view.getUint32(at, true) !== 2) at += 12 + Number(view.getBigUint64(at + 4, true));
  view.setUint32(at + 12 + 4, 0x7fffff, true);
  writeFileSync(join(dir, 'circuit.r1cs'), bytes);
  await assert.rejects(audit(dir), (err: unknown) => err instanceof ZkmlError && err.code === 'E_ARTIFACT' && /circuit\.r1cs: a constraint names wire 8388607; the file has \d+ wires/.test(err.message));
});

fuzzTest('fuzz: byte flips in the r1cs give a ZkmlError where crossCheck reads it', async () => {
  const model = join(FIXTURES, 'gemm_basic.onnx');
  const build = await cachedBuild(model, { inputRange: [-1, 1] });
  const manifest = readManifest(build);
  const { lowered } = analyze(model, analyzeOptionsOf(manifest));
  const encoded = encodeInputs(manifest, JSON.parse(readFileSync(join(FIXTURES, 'gemm_basic.input.json'), 'utf8')));
  const { witness } = await crossCheck(build, manifest, lowered.program, encoded);
  const r1cs = readFileSync(join(build, 'circuit.r1cs'));
  const dir = tempDir('fuzz-r1cs');
  // crossCheck's last steps, on a damaged file: load the r1cs, check the (valid) witness against it.
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), async (changes) => {
      const bytes = Uint8Array.from(r1cs);
      for (const [at, v] of changes) bytes[at % bytes.length] = v;
      writeFileSync(join(dir, 'circuit.r1cs'), bytes);
      await outcomeAsync(`r1cs with bytes ${JSON.stringify(changes)}`, async () => violatedConstraints(await loadR1cs(join(dir, 'circuit.r1cs')), witness));
    }),
    { seed: SEED, numRuns: 40 },
  );
});

fuzzTest('fuzz: a BatchNormalization whose variance + epsilon is negative gives a ZkmlError', () => {
  const dir = tempDir('fuzz');
  const c = (name: string, v: number) => b.floatTensor(name, [4], [v, v, v, v]);
  const path = writeModel(dir, {
    name: 'bn_negative_var',
    nodes: [b.node('BatchNormalization', ['x', 'g', 'beta', 'mean', 'var'], ['y'], { name: 'bn' })],
    inputs: [b.valueInfo('x', [1, 4])],
    outputs: [b.valueInfo('y', [1, 4])],
    // One channel's variance is negative: its weight is NaN, the others are finite.
    initializers: [c('g', 1), c('beta', 0), c('mean', 0), b.floatTensor('var', [4], [1, 1, 1, -1])],
  });
  outcome('negative variance', () => analyze(path, {}));
});
