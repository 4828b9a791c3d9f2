import { ZkmlError } from '../util/errors.ts';

/** ONNX element types zkml reads (TensorProto.DataType numbering). */
export const DTYPE_NAMES: Record<number, string> = {
  1: 'float', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool',
  10: 'float16', 11: 'double', 12: 'uint32', 13: 'uint64', 16: 'bfloat16',
};

/**
 * A constant tensor as the compiler sees it: every element as a JS number (float types as read, integer types
 * exactly while they fit in 2^53, which shape and index tensors always do).
 */
export interface Tensor {
  dtype: string;
  dims: number[];
  data: number[];
}

export const sizeOf = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

export function makeTensor(dims: number[], data: number[], dtype = 'float'): Tensor {
  if (sizeOf(dims) !== data.length) throw new ZkmlError(`tensor data has ${data.length} values for shape [${dims}]`, 'E_INTERNAL');
  return { dtype, dims, data };
}

export const isIntegerType = (dtype: string) => /int|bool/.test(dtype);

/** Row-major strides of a shape. */
export function strides(dims: number[]): number[] {
  const s = new Array(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

/** Numpy-style broadcast of two shapes; throws naming `where` when incompatible. */
export function broadcastShapes(a: number[], b: number[], where: string): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new ZkmlError(`shapes [${a}] and [${b}] do not broadcast`, 'E_SHAPE', where);
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Maps an index of the broadcast output back to the flat index of an input of shape `dims`. */
export function broadcastIndexer(outDims: number[], dims: number[]): (flat: number) => number {
  const outStrides = strides(outDims);
  const inStrides = strides(dims);
  const offset = outDims.length - dims.length;
  return (flat) => {
    let idx = 0;
    for (let d = 0; d < outDims.length; d++) {
      const coord = Math.floor(flat / outStrides[d]) % outDims[d];
      const k = d - offset;
      if (k >= 0 && dims[k] !== 1) idx += coord * inStrides[k];
    }
    return idx;
  };
}

/** Normalizes a possibly negative axis against a rank, with a clear error. */
export function normAxis(axis: number, rank: number, where: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new ZkmlError(`axis ${axis} is out of range for rank ${rank}`, 'E_ATTR', where);
  return a;
}
