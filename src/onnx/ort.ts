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

  /** Runs one input set: tensors by input name, shapes as the compiler fixed them. */
  async run(inputs: { name: string; dims: number[]; data: ArrayLike<number> }[]): Promise<FloatTensor[]> {
    const feeds: Record<string, import('onnxruntime-node').Tensor> = {};
    for (const i of inputs) feeds[i.name] = new this.lib.Tensor('float32', Float32Array.from(i.data), i.dims);
    const out = await this.session.run(feeds);
    return this.session.outputNames.map((name) => ({ name, dims: [...out[name].dims], data: Array.from(out[name].data as Float32Array, Number) }));
  }
}
