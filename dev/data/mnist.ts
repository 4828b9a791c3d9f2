import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { ZkmlError } from '../../src/util/errors.ts';

export interface MnistSet {
  images: Uint8Array[];
  labels: number[];
  rows: number;
  cols: number;
}

function readIdx(path: string): { dims: number[]; data: Uint8Array } {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
    if (path.endsWith('.gz')) buf = gunzipSync(buf);
  } catch (err) {
    throw new ZkmlError(`cannot read IDX file (${(err as Error).message})`, 'E_DATA', path);
  }
  if (buf.readUInt16BE(0) !== 0 || buf[2] !== 0x08) throw new ZkmlError('not an unsigned-byte IDX file', 'E_DATA', path);
  const rank = buf[3];
  const dims = Array.from({ length: rank }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + 4 + 4 * rank) };
}

/** Reads the MNIST test set (IDX format, gzip) from a folder: t10k-images-idx3-ubyte.gz and the labels. */
export function loadMnist(dir: string, limit = Infinity): MnistSet {
  const images = readIdx(join(dir, 't10k-images-idx3-ubyte.gz'));
  const labels = readIdx(join(dir, 't10k-labels-idx1-ubyte.gz'));
  const [n, rows, cols] = images.dims;
  const count = Math.min(n, limit);
  return {
    rows,
    cols,
    images: Array.from({ length: count }, (_, i) => images.data.subarray(i * rows * cols, (i + 1) * rows * cols)),
    labels: Array.from(labels.data.subarray(0, count)),
  };
}
