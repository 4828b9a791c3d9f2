import { analyze } from './compiler/compile.ts';
import { tensorSpec } from './compiler/build-manifest.ts';
import type { QuantOptions } from './quantize/options.ts';
import { dequantizeValue, encodeInputs, readInputValues } from './io/input.ts';
import { FloatModel } from './onnx/ort.ts';
import { argmax, softmaxAlong } from './io/output.ts';
import type { Manifest } from './manifest.ts';

export interface RunOutput {
  name: string;
  shape: number[];
  /** onnxruntime's float output (for a final Softmax/LogSoftmax: of the model as exported). */
  float: number[];
  /** The integer program's output (the circuit's public output) and its dequantized value. */
  ints: bigint[];
  dequantized: number[];
  /** The dequantized output passed through the final activation, comparable with `float`. */
  derived: number[];
  maxAbsError: number;
  argmaxFloat: number;
  argmaxQuantized: number;
}

/**
 * `zkml run`: the model on one input through both oracles, onnxruntime (float) and the integer reference
 * executor (what the circuit proves), with the error between them. No circuit is compiled.
 */
export async function run(modelPath: string, input: unknown, opts: Partial<QuantOptions> = {}, source = 'input'): Promise<RunOutput[]> {
  // Commitments are beside the point here: the tensors themselves are compared.
  const { lowered } = analyze(modelPath, { ...opts, inputVisibility: 'private', outputVisibility: 'public' });
  const inputs = lowered.inputs.map((io) => tensorSpec(io, 'private', opts.inputRange));
  const pseudo = { inputs } as Manifest;
  const encoded = encodeInputs(pseudo, input, { source });
  const values = readInputValues(input, inputs, source);
  const floatModel = await FloatModel.load(modelPath);
  const floats = await floatModel.run(inputs.map((spec, k) => ({ name: spec.name, dims: spec.shape, data: values[k] })));
  const reference = lowered.program.execute(encoded);
  const final = lowered.finalActivation;
  return lowered.outputs.map((o) => {
    const ints = reference.outputs.get(o.name)!;
    // The output's encoding: 2^-exp for float models, scale and zero point for int8 (QDQ) outputs.
    const dequantized = ints.map((v) => dequantizeValue(v, tensorSpec(o, 'public').encoding));
    let derived = dequantized;
    if (final && final.output === o.name) derived = softmaxAlong(dequantized, o.shape, final.axis, final.op);
    const float = floats.find((f) => f.name === o.name)?.data ?? [];
    return {
      name: o.name,
      shape: o.shape,
      float,
      ints,
      dequantized,
      derived,
      maxAbsError: Math.max(0, ...derived.map((d, i) => Math.abs(d - float[i]))),
      argmaxFloat: argmax(float),
      argmaxQuantized: argmax(derived),
    };
  });
}
