/**
 * Reading the ONNX backend node tests (onnx/backend/test/data/node/<test>/): model.onnx plus
 * test_data_set_N/input_K.pb and output_K.pb, each a serialized TensorProto in graph input/output order.
 * Kept apart from the runner so that the runner only decides what to compare, not how files look.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { decodeTensor } from '../../src/onnx/load.ts';
import { DTYPE_NAMES, type Tensor } from '../../src/onnx/tensor.ts';
import { ZkmlError } from '../../src/util/errors.ts';

const { onnx } = onnxProto;

/** Where Debian's libonnx-testdata (onnx 1.12) puts the node tests. */
export const DEFAULT_NODE_TESTS = '/usr/share/libonnx-testdata/data/node';

export interface NodeTestIo {
  name: string;
  /** Element type name (float, int64, ...), or the kind of a non-tensor value (sequence, optional, map). */
  dtype: string;
  isTensor: boolean;
  /** Elements of the declared shape (symbolic or unknown dimensions count as 1). */
  elements: number;
}

export interface NodeTest {
  name: string;
  dir: string;
  modelPath: string;
  /** Op types of the model's nodes, domain-qualified when not the default domain ("com.microsoft.Foo"). */
  ops: string[];
  opset: number;
  /** Graph inputs that are not initializers, in the order of input_K.pb. */
  inputs: NodeTestIo[];
  outputs: NodeTestIo[];
  dataSets: string[];
}

export interface DataSet {
  inputs: Tensor[];
  outputs: Tensor[];
}

function ioOf(v: onnxProto.onnx.IValueInfoProto): NodeTestIo {
  const t = v.type;
  if (t?.tensorType) {
    const dims = (t.tensorType.shape?.dim ?? []).map((d) => (d.dimValue != null ? Number(d.dimValue) : 1));
    const elements = dims.reduce((a, b) => a * b, 1);
    return { name: v.name ?? '', dtype: DTYPE_NAMES[t.tensorType.elemType ?? 0] ?? `type ${t.tensorType.elemType}`, isTensor: true, elements };
  }
  const kind = t?.sequenceType ? 'sequence' : t?.optionalType ? 'optional' : t?.mapType ? 'map' : t?.sparseTensorType ? 'sparse tensor' : 'unknown';
  return { name: v.name ?? '', dtype: kind, isTensor: false, elements: 0 };
}

/** Lists the node tests under `root` (sorted by name), reading each model's header (ops, opset, io types). */
export function listNodeTests(root = DEFAULT_NODE_TESTS): NodeTest[] {
  if (!existsSync(root)) {
    throw new ZkmlError(`the ONNX node tests are not installed at ${root}: run scripts/setup-system.sh (Debian package libonnx-testdata)`, 'E_NO_FILE', root);
  }
  const tests: NodeTest[] = [];
  for (const name of readdirSync(root).sort()) {
    const dir = join(root, name);
    const modelPath = join(dir, 'model.onnx');
    if (!existsSync(modelPath)) continue;
    const model = onnx.ModelProto.decode(readFileSync(modelPath));
    const g = model.graph!;
    const initializers = new Set((g.initializer ?? []).map((t) => t.name));
    const opset = Math.max(0, ...(model.opsetImport ?? []).filter((o) => !o.domain || o.domain === 'ai.onnx').map((o) => Number(o.version)));
    tests.push({
      name,
      dir,
      modelPath,
      ops: [...new Set((g.node ?? []).map((n) => (n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.` : '') + n.opType))],
      opset,
      inputs: (g.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map(ioOf),
      outputs: (g.output ?? []).map(ioOf),
      dataSets: readdirSync(dir).filter((d) => d.startsWith('test_data_set_')).sort().map((d) => join(dir, d)),
    });
  }
  return tests;
}

function readTensor(path: string): Tensor {
  return decodeTensor(onnx.TensorProto.decode(readFileSync(path)), path);
}

/**
 * Reads one test_data_set folder. Sequences, optionals and maps are refused by the caller before this is
 * reached (their .pb files are not TensorProtos); element types zkml cannot read (strings, float16...) throw
 * decodeTensor's ZkmlError, which names the type.
 */
export function readDataSet(test: NodeTest, dir: string): DataSet {
  return {
    inputs: test.inputs.map((_, k) => readTensor(join(dir, `input_${k}.pb`))),
    outputs: test.outputs.map((_, k) => readTensor(join(dir, `output_${k}.pb`))),
  };
}

/**
 * The same model with some graph inputs turned into initializers holding the test's values: that is how a
 * zkml model carries weights, shapes, axes and indices (fixed parameters, Circom constants), while the node
 * tests feed every operand as an input. Returns the serialized model.
 */
export function freezeInputs(test: NodeTest, frozen: Map<string, Tensor>): Uint8Array {
  const model = onnx.ModelProto.decode(readFileSync(test.modelPath));
  const g = model.graph!;
  const proto = onnx.TensorProto;
  const typeOf = Object.fromEntries(Object.entries(DTYPE_NAMES).map(([k, v]) => [v, Number(k)]));
  for (const [name, t] of frozen) {
    const dataType = typeOf[t.dtype];
    // The test's own element type, in the typed field the ONNX spec gives it, so no value is rounded.
    const init = proto.create({ name, dims: t.dims, dataType });
    if (t.dtype === 'float') init.floatData = t.data.slice();
    else if (t.dtype === 'double') init.doubleData = t.data.slice();
    else if (t.dtype === 'int64') init.int64Data = t.data.slice();
    else if (t.dtype === 'uint64' || t.dtype === 'uint32') init.uint64Data = t.data.slice();
    else if (/int|bool/.test(t.dtype)) init.int32Data = t.data.slice();
    else throw new ZkmlError(`cannot freeze input "${name}" of element type ${t.dtype}`, 'E_DTYPE', test.name);
    (g.initializer ??= []).push(init);
  }
  g.input = (g.input ?? []).filter((v) => !frozen.has(v.name ?? ''));
  return onnx.ModelProto.encode(model).finish();
}
