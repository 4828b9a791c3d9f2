import type { OnnxNode } from '../onnx/graph.ts';
import { attrInt, attrInts, attrString } from '../onnx/graph.ts';
import { sizeOf, strides } from '../onnx/tensor.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * Sliding-window geometry shared by Conv and the pools: kernel, strides, dilations, pads (explicit or
 * auto_pad) and ceil_mode give the output's spatial size and, for each output position, the input positions
 * its window covers. Any number of spatial dimensions (1-D, 2-D, 3-D) goes through the same code.
 */
export interface Window {
  /** Spatial sizes of the input and the output. */
  input: number[];
  output: number[];
  kernel: number[];
  strides: number[];
  dilations: number[];
  padsBegin: number[];
  padsEnd: number[];
}

/** One kernel position of a window: its flat index in the kernel, and the flat input position (-1: padding). */
export interface Tap {
  k: number;
  at: number;
}

function check(values: number[] | undefined, rank: number, what: string, where: string, min: number): number[] | undefined {
  if (!values) return undefined;
  if (values.length !== rank || values.some((v) => !Number.isInteger(v) || v < min)) {
    throw new ZkmlError(`${what} [${values}] must be ${rank} integers >= ${min}`, 'E_ATTR', where);
  }
  return values;
}

/**
 * The window of `node` over input spatial sizes `input` with kernel sizes `kernel` (from kernel_shape or the
 * weights). ceil_mode (pools): the last window may overhang, but must start inside the input or its leading
 * pad, as onnxruntime and PyTorch require.
 */
export function windowOf(node: OnnxNode, where: string, input: number[], kernel: number[], ceilMode = false): Window {
  const r = input.length;
  if (kernel.length !== r) throw new ZkmlError(`kernel_shape [${kernel}] does not match ${r} spatial dimension(s)`, 'E_ATTR', where);
  check(kernel, r, 'kernel_shape', where, 1);
  const st = check(attrInts(node, 'strides'), r, 'strides', where, 1) ?? kernel.map(() => 1);
  const dil = check(attrInts(node, 'dilations'), r, 'dilations', where, 1) ?? kernel.map(() => 1);
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const span = kernel.map((k, i) => (k - 1) * dil[i] + 1);
  let padsBegin: number[];
  let padsEnd: number[];
  let output: number[];
  if (autoPad === 'NOTSET') {
    const pads = check(attrInts(node, 'pads'), 2 * r, 'pads', where, 0) ?? new Array(2 * r).fill(0);
    padsBegin = pads.slice(0, r);
    padsEnd = pads.slice(r);
    output = input.map((n, i) => {
      const room = n + padsBegin[i] + padsEnd[i] - span[i];
      if (room < 0) throw new ZkmlError(`the window (${span[i]} wide) is larger than the padded input (${n + padsBegin[i] + padsEnd[i]}) on spatial axis ${i}`, 'E_SHAPE', where);
      let out = (ceilMode ? Math.ceil(room / st[i]) : Math.floor(room / st[i])) + 1;
      if (ceilMode && (out - 1) * st[i] >= n + padsBegin[i]) out--;
      return out;
    });
  } else if (autoPad === 'VALID') {
    padsBegin = input.map(() => 0);
    padsEnd = input.map(() => 0);
    output = input.map((n, i) => {
      if (n < span[i]) throw new ZkmlError(`the window (${span[i]} wide) is larger than the input (${n}) on spatial axis ${i}`, 'E_SHAPE', where);
      return Math.floor((n - span[i]) / st[i]) + 1;
    });
  } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    output = input.map((n, i) => Math.ceil(n / st[i]));
    const total = input.map((n, i) => Math.max(0, (output[i] - 1) * st[i] + span[i] - n));
    // SAME_UPPER puts the odd pad at the end, SAME_LOWER at the beginning.
    padsBegin = total.map((t) => (autoPad === 'SAME_UPPER' ? Math.floor(t / 2) : t - Math.floor(t / 2)));
    padsEnd = total.map((t, i) => t - padsBegin[i]);
  } else {
    throw new ZkmlError(`auto_pad "${autoPad}" is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER`, 'E_ATTR', where);
  }
  return { input, output, kernel, strides: st, dilations: dil, padsBegin, padsEnd };
}

/** ceil_mode of a pool (an int attribute). */
export const ceilModeOf = (node: OnnxNode) => attrInt(node, 'ceil_mode', 0) === 1;

/**
 * The taps of the window at output position `flat` (row-major over w.output): every kernel position with the
 * input position it reads, or -1 where it reads padding.
 */
export function taps(w: Window, flat: number): Tap[] {
  const r = w.input.length;
  const outStrides = strides(w.output);
  const inStrides = strides(w.input);
  const kStrides = strides(w.kernel);
  const start = w.output.map((d, i) => (Math.floor(flat / outStrides[i]) % d) * w.strides[i] - w.padsBegin[i]);
  const result: Tap[] = [];
  const count = sizeOf(w.kernel);
  for (let k = 0; k < count; k++) {
    let at = 0;
    for (let i = 0; i < r; i++) {
      const p = start[i] + (Math.floor(k / kStrides[i]) % w.kernel[i]) * w.dilations[i];
      if (p < 0 || p >= w.input[i]) {
        at = -1;
        break;
      }
      at += p * inStrides[i];
    }
    result.push({ k, at });
  }
  return result;
}

/**
 * How many taps of the window at `flat` lie inside the input extended by its pads (AveragePool's divisor with
 * count_include_pad: a ceil_mode overhang beyond the end pad is not counted, as in onnxruntime).
 */
export function tapsInsidePads(w: Window, flat: number): number {
  const outStrides = strides(w.output);
  let count = 1;
  for (let i = 0; i < w.input.length; i++) {
    const start = (Math.floor(flat / outStrides[i]) % w.output[i]) * w.strides[i] - w.padsBegin[i];
    let n = 0;
    for (let j = 0; j < w.kernel[i]; j++) {
      const p = start + j * w.dilations[i];
      if (p >= -w.padsBegin[i] && p < w.input[i] + w.padsEnd[i]) n++;
    }
    count *= n;
  }
  return count;
}
