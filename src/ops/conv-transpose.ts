import type { OpDef, ShapeCtx } from './op.ts';
import { attrInt, attrInts, attrString } from '../onnx/graph.ts';
import { sizeOf, strides } from '../onnx/tensor.ts';
import { coordsOf } from './shape.ts';
import { weightedOp } from './conv.ts';
import { ZkmlError } from '../util/errors.ts';

/**
 * ConvTranspose (any number of spatial axes; strides, dilations, pads, output_padding, output_shape, auto_pad,
 * groups, optional bias) with constant weights. Each input element scatters x·w into the output windows, so
 * every output element is Σ w·x over the products that reach it: a linear expression, 0 constraints per
 * element. Weights and bias are quantized and the accumulator left for the next nonlinearity to requantize,
 * exactly as Conv (the shared weightedOp in conv.ts); its error is Conv's: the weights' rounding (weightBits)
 * times the inputs, summed over the products, plus the input's own.
 */
interface TransposeGeometry {
  N: number;
  C: number;
  M: number;
  group: number;
  input: number[];
  kernel: number[];
  strides: number[];
  dilations: number[];
  padsBegin: number[];
  output: number[];
  outShape: number[];
}

function ints(node: ShapeCtx['node'], name: string, r: number, dflt: number, where: string): number[] {
  const v = attrInts(node, name) ?? new Array(r).fill(dflt);
  if (v.length !== r || v.some((x) => !Number.isInteger(x))) throw new ZkmlError(`${name} [${v}] must be ${r} integers`, 'E_ATTR', where);
  return v;
}

function geometry(ctx: { node: ShapeCtx['node']; where: string }, x: number[], w: number[]): TransposeGeometry {
  const { node, where } = ctx;
  if (x.length < 3) throw new ZkmlError(`ConvTranspose input must be [N, C, spatial...], got [${x}]`, 'E_SHAPE', where);
  if (w.length !== x.length) throw new ZkmlError(`ConvTranspose weights [${w}] must have the input's rank ${x.length} ([C, M/group, kernel...])`, 'E_SHAPE', where);
  const [N, C] = x;
  const group = attrInt(node, 'group', 1);
  if (!Number.isInteger(group) || group < 1 || w[0] !== C || C % group !== 0) {
    throw new ZkmlError(`weights [${w}] and group ${group} do not fit ${C} input channels (weights are [C, M/group, kernel...])`, 'E_SHAPE', where);
  }
  const M = w[1] * group;
  const input = x.slice(2);
  const kernel = w.slice(2);
  const r = input.length;
  const declared = attrInts(node, 'kernel_shape');
  if (declared && declared.join() !== kernel.join()) throw new ZkmlError(`kernel_shape [${declared}] differs from the weights' [${kernel}]`, 'E_SHAPE', where);
  const st = ints(node, 'strides', r, 1, where);
  const dil = ints(node, 'dilations', r, 1, where);
  const outPad = ints(node, 'output_padding', r, 0, where);
  // The output before cropping by pads: (in - 1)·stride + output_padding + the dilated kernel's span.
  const full = input.map((n, i) => (n - 1) * st[i] + outPad[i] + (kernel[i] - 1) * dil[i] + 1);
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const outputShape = attrInts(node, 'output_shape')?.slice(-r);
  let padsBegin: number[];
  let output: number[];
  if (outputShape || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    // The spec's rule: the total padding makes the requested output (SAME: input · stride); SAME_UPPER puts the
    // odd unit at the end, otherwise it goes at the beginning.
    // A negative total (output_shape beyond the full output) extends the output with zeros (plus bias), as the
    // reference does.
    output = outputShape ?? input.map((n, i) => n * st[i]);
    if (output.length !== r || output.some((o) => !Number.isInteger(o) || o < 1)) throw new ZkmlError(`output_shape [${output}] must be ${r} positive integers`, 'E_ATTR', where);
    const total = full.map((f, i) => f - output[i]);
    padsBegin = total.map((t) => (autoPad === 'SAME_UPPER' ? Math.floor(t / 2) : t - Math.floor(t / 2)));
  } else if (autoPad === 'NOTSET' || autoPad === 'VALID') {
    const pads = autoPad === 'VALID' ? new Array(2 * r).fill(0) : ints(node, 'pads', 2 * r, 0, where);
    padsBegin = pads.slice(0, r);
    output = full.map((f, i) => f - pads[i] - pads[i + r]);
    if (output.some((o) => o < 1)) throw new ZkmlError(`pads [${pads}] leave an empty output (full output [${full}])`, 'E_SHAPE', where);
  } else {
    throw new ZkmlError(`auto_pad "${autoPad}" is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER`, 'E_ATTR', where);
  }
  return { N, C, M, group, input, kernel, strides: st, dilations: dil, padsBegin, output, outShape: [N, M, ...output] };
}

/** Every product: input (n, c, p) times weight (c, m, k) lands on output position p·stride + k·dilation − pad. */
function forEachProduct(g: TransposeGeometry, visit: (o: number, i: number, k: number) => void): void {
  const { N, C, M, group } = g;
  const Cg = C / group;
  const Mg = M / group;
  const inSize = sizeOf(g.input);
  const outSize = sizeOf(g.output);
  const kSize = sizeOf(g.kernel);
  const inStrides = strides(g.input);
  const kStrides = strides(g.kernel);
  const outStrides = strides(g.output);
  // Per (input position, kernel position): the output position it reaches, or -1 outside the cropped output.
  const target = Array.from({ length: inSize * kSize }, (_, pk) => {
    const p = coordsOf(Math.floor(pk / kSize), g.input, inStrides);
    const k = coordsOf(pk % kSize, g.kernel, kStrides);
    let at = 0;
    for (let d = 0; d < p.length; d++) {
      const q = p[d] * g.strides[d] + k[d] * g.dilations[d] - g.padsBegin[d];
      if (q < 0 || q >= g.output[d]) return -1;
      at += q * outStrides[d];
    }
    return at;
  });
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const firstOut = Math.floor(c / Cg) * Mg;
      for (let m = 0; m < Mg; m++) {
        const oBase = (n * M + firstOut + m) * outSize;
        const wBase = (c * Mg + m) * kSize;
        for (let p = 0; p < inSize; p++) {
          const i = (n * C + c) * inSize + p;
          for (let k = 0; k < kSize; k++) {
            const at = target[p * kSize + k];
            if (at >= 0) visit(oBase + at, i, wBase + k);
          }
        }
      }
    }
  }
}

export const convTransposeOps: OpDef[] = [weightedOp('ConvTranspose', geometry, forEachProduct)];
