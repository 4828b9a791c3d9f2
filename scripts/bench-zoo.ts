/**
 * Every third-party model in ../shared/models, end to end as a user would run it: compile with an input range
 * read off the model's own shipped input (the smallest power-of-two span that holds it, from 0 when the input is
 * non-negative), development setup, one proof, off-chain verification, and the proven output against
 * onnxruntime and against the output shipped with the model. The models are found by listing the folders
 * (ezkl-examples/<name>/network.onnx with input.json; onnx-zoo-mnist/*.onnx with test_data_set_0), not from a
 * list written here, so a model added to the corpus is measured without a change to this script.
 *
 *   tsx scripts/bench-zoo.ts [--only REGEX] [--shared DIR]     prints one JSON object { models: [...] } on its last line
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import onnxProto from 'onnx-proto';
import { compile } from '../src/compiler/compile.ts';
import { setup } from '../src/setup/setup.ts';
import { prove } from '../src/prove/prove.ts';
import { verify } from '../src/prove/verify.ts';
import { decodeTensor } from '../src/onnx/load.ts';
import { FloatModel } from '../src/onnx/ort.ts';
import { readInputValues } from '../src/io/input.ts';
import { readManifest } from '../src/manifest.ts';

const { values: args } = parseArgs({ options: { only: { type: 'string' }, shared: { type: 'string', default: join(import.meta.dirname, '..', '..', 'shared') } } });
const models = join(args.shared!, 'models');
const only = args.only ? new RegExp(args.only) : undefined;

interface ZooModel {
  name: string;
  model: string;
  /** The input as zkml's input file takes it: EZKL's input.json, or { <input name>: values }. */
  input: unknown;
  /** Every input value, flat, to read the input range from. */
  values: number[];
  /** The output shipped with the model, flat, when there is one. */
  shipped?: number[];
}

/** The model's first graph input that is not an initializer: its name and dims (symbolic dims taken as 1). */
function firstInput(model: string): { name: string; dims: number[] } {
  const g = onnxProto.onnx.ModelProto.decode(readFileSync(model)).graph!;
  const weights = new Set((g.initializer ?? []).map((t) => t.name));
  const i = (g.input ?? []).find((v) => !weights.has(v.name))!;
  const dims = (i.type?.tensorType?.shape?.dim ?? []).map((d) => Number(d.dimValue ?? 0) || 1);
  return { name: i.name!, dims };
}

const readPb = (path: string) => decodeTensor(onnxProto.onnx.TensorProto.decode(readFileSync(path)), path);

function discover(): ZooModel[] {
  const found: ZooModel[] = [];
  const ezkl = join(models, 'ezkl-examples');
  for (const name of existsSync(ezkl) ? readdirSync(ezkl).sort() : []) {
    const model = join(ezkl, name, 'network.onnx');
    if (!existsSync(model)) continue;
    const input = JSON.parse(readFileSync(join(ezkl, name, 'input.json'), 'utf8'));
    const shipped = input.output_data ? (input.output_data as unknown[]).flat(Infinity as 1).map(Number) : undefined;
    found.push({ name: `ezkl-examples/${name}`, model, input, values: (input.input_data as unknown[]).flat(Infinity as 1).map(Number), shipped });
  }
  const zoo = join(models, 'onnx-zoo-mnist');
  for (const file of existsSync(zoo) ? readdirSync(zoo).filter((f) => f.endsWith('.onnx')).sort() : []) {
    const sets = readdirSync(zoo).filter((d) => d.startsWith('test_data_set_')).sort();
    // The two zoo models share the folder; a test set belongs to the model whose input it fits.
    found.push({ name: `onnx-zoo-mnist/${file}`, model: join(zoo, file), input: undefined, values: [], shipped: undefined, ...{ sets } } as ZooModel & { sets: string[] });
  }
  return found.filter((m) => !only || only.test(m.name));
}

/**
 * The onnx-zoo folder holds the test sets of one of its models (mnist-8, model.onnx): a set belongs to the model
 * whose onnxruntime output on it is the set's output_0.pb. A model with no set of its own gets a seeded image in
 * [0, 1] of its input size.
 */
async function zooInput(m: ZooModel & { sets?: string[] }): Promise<void> {
  if (!m.sets) return;
  const want = firstInput(m.model);
  const f = await FloatModel.load(m.model);
  for (const set of m.sets) {
    const x = readPb(join(models, 'onnx-zoo-mnist', set, 'input_0.pb'));
    if (x.data.length !== want.dims.reduce((a, b) => a * b, 1)) continue;
    const expected = readPb(join(models, 'onnx-zoo-mnist', set, 'output_0.pb')).data;
    const [got] = await f.run([{ name: want.name, dims: want.dims, data: x.data }]);
    if (got.data.length !== expected.length || got.data.some((v, i) => Math.abs(v - expected[i]) > 1e-3 * Math.max(1, Math.abs(expected[i])))) continue;
    m.input = { [want.name]: x.data };
    m.values = x.data;
    m.shipped = expected;
    return;
  }
  const n = want.dims.reduce((a, b) => a * b, 1);
  m.values = Array.from({ length: n }, (_, i) => ((i * 2654435761) % 256) / 255);
  m.input = { [want.name]: m.values };
}

function rangeOf(values: number[]): [number, number] {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const span = 2 ** Math.ceil(Math.log2(Math.max(1, Math.abs(lo), Math.abs(hi)) * (1 + 2 ** -20)));
  return [lo >= 0 ? 0 : -span, span];
}

const work = mkdtempSync(join(tmpdir(), 'zkml-bench-zoo-'));
const rows: Record<string, unknown>[] = [];
try {
  for (const m of discover()) {
    const row: Record<string, unknown> = { name: m.name };
    rows.push(row);
    try {
      await zooInput(m);
      const inputRange = rangeOf(m.values);
      row.inputRange = inputRange;
      const dir = join(work, m.name.replace(/\W+/g, '-'));
      let t = performance.now();
      await compile(m.model, dir, { inputRange });
      row.compileMs = performance.now() - t;
      row.constraints = readManifest(dir).constraints;
      t = performance.now();
      await setup(dir);
      row.setupMs = performance.now() - t;
      t = performance.now();
      const proof = await prove(dir, m.input, { out: join(dir, 'proof') });
      row.proveMs = performance.now() - t;
      row.valid = (await verify(dir, join(dir, 'proof'))).valid;
      const proven = proof.outputs.outputs[0];
      const ours = proven ? (proven.probabilities ?? proven.floats) : [];
      const f = await FloatModel.load(m.model);
      const specs = readManifest(dir).inputs.map((i) => ({ name: i.name, shape: i.shape }));
      const values = readInputValues(m.input, specs, m.name);
      const [ort] = await f.run(specs.map((s, k) => ({ name: s.name, dims: s.shape, data: values[k] })));
      const diff = (ref: number[]) => Math.max(0, ...ref.map((v, i) => Math.abs(v - ours[i])));
      const argmax = (xs: number[]) => xs.reduce((b, v, i) => (v > xs[b] ? i : b), 0);
      row.maxAbsErrorOrt = diff(ort.data);
      row.maxAbsOrt = Math.max(0, ...ort.data.map(Math.abs));
      if (ort.data.length > 1) row.argmaxAgrees = argmax(ort.data) === argmax(ours);
      if (m.shipped && m.shipped.length === ours.length) row.maxAbsErrorShipped = diff(m.shipped);
      process.stderr.write(`zoo ${m.name}: ${row.constraints} constraints, valid ${row.valid}, max |Δ| vs onnxruntime ${(row.maxAbsErrorOrt as number).toExponential(2)}\n`);
    } catch (err) {
      row.error = (err as Error).message.split('\n')[0];
      process.stderr.write(`zoo ${m.name}: FAILED ${row.error}\n`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log(JSON.stringify({ models: rows }));
