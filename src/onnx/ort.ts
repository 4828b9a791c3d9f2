import { ZkmlError } from '../util/errors.ts';

type Ort = typeof import('onnxruntime-node');
let ortModule: Promise<Ort> | undefined;
const ort = () => (ortModule ??= import('onnxruntime-node'));

export interface FloatTensor {
  name: string;
  dims: number[];
  data: number[];
}

/**
 * onnxruntime, the float oracle: runs the original model so its output can be compared with the circuit's.
 * One session per model, reused for many inputs.
 */
export class FloatModel {
  private constructor(private readonly session: import('onnxruntime-node').InferenceSession, private readonly lib: Ort) {}

  static async load(path: string): Promise<FloatModel> {
    const lib = await ort();
    try {
      return new FloatModel(await lib.InferenceSession.create(path), lib);
    } catch (err) {
      throw new ZkmlError(`onnxruntime cannot load the model (${(err as Error).message.split('\n')[0]})`, 'E_ORT', path);
    }
  }

  /**
   * Runs one input set: tensors by input name, shapes as the compiler fixed them. Each input is fed in the element
   * type the model declares (bool, integers, float16/32/64), so models with bool or index inputs run too; outputs
   * of any numeric or bool type come back as numbers.
   */
  async run(inputs: { name: string; dims: number[]; data: ArrayLike<number> }[]): Promise<FloatTensor[]> {
    const feeds: Record<string, import('onnxruntime-node').Tensor> = {};
    const types = new Map(this.session.inputMetadata.map((m) => [m.name, m.isTensor ? m.type : undefined]));
    for (const i of inputs) {
      const type = types.get(i.name) ?? 'float32';
      feeds[i.name] = new this.lib.Tensor(type as 'float32', typedData(type, i.data, i.name) as Float32Array, i.dims);
    }
    const out = await this.session.run(feeds);
    return this.session.outputNames.map((name) => ({ name, dims: [...out[name].dims], data: Array.from(out[name].data as ArrayLike<number | bigint | boolean>, Number) }));
  }
}

/** The typed array onnxruntime takes for each element type zkml feeds (bool, int64, uint64: see typedData). */
const TYPED_ARRAYS: Record<string, { from(values: number[]): ArrayLike<number> }> = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
};

/** `data` as the typed array onnxruntime takes for an input of element type `type`. */
function typedData(type: string, data: ArrayLike<number>, name: string): ArrayLike<number | bigint> {
  const values = Array.from(data, Number);
  if (type === 'bool') return Uint8Array.from(values, (v) => (v !== 0 ? 1 : 0));
  if (type === 'int64') return BigInt64Array.from(values, (v) => BigInt(Math.round(v)));
  if (type === 'uint64') return BigUint64Array.from(values, (v) => BigInt(Math.round(v)));
  const array = TYPED_ARRAYS[type];
  if (!array) throw new ZkmlError(`onnxruntime input ${name} has element type ${type}: zkml feeds numeric and bool inputs only`, 'E_ORT', name);
  return array.from(values);
}
