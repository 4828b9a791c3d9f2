/**
 * `zkml calibrate`: picks quantization settings for a model from sample data.
 *
 * For every setting of a grid (activation fractional bits × weight bits, the input's fractional bits derived
 * from the measured input range) it measures, over the samples, what a user of the proof cares about and what
 * the proof costs:
 * - top-1 agreement with onnxruntime and the largest absolute output error, from the integer reference
 *   executor: it is exact (the circuit's witness equals it bit for bit), so no circuit is compiled;
 * - constraints: what compile's default back end builds (constraintCount: the gadgets' cost model plus long-combination rows), input range
 *   checks (when on) and the commitments of the chosen visibility included: what `zkml compile` will report.
 * Then it picks the cheapest setting that meets the target.
 */
import { analyze, type Analysis } from '../compiler/compile.ts';
import { tensorSpec } from '../compiler/build-manifest.ts';
import { constraintCount } from '../compiler/backend.ts';
import { DEFAULT_VISIBILITY, type InputVisibility, type OutputVisibility } from '../compiler/visibility.ts';
import { loadPoseidon } from '../commit/poseidon.ts';
import { inputScaleFor, type Lowered } from '../compiler/lower.ts';
import { dequantizeValue, quantizeValue, readInputValues } from '../io/input.ts';
import { argmax, softmaxAlong } from '../io/output.ts';
import { FloatModel } from '../onnx/ort.ts';
import { loadOnnx } from '../compiler/passes/load.ts';
import { DEFAULT_QUANT, type QuantOptions } from '../quantize/options.ts';
import { ZkmlError } from '../util/errors.ts';
import { measureRange, type RangeReport } from './range.ts';
import type { Sample } from '../io/samples.ts';

export type Target = 'accuracy' | 'resources';

export interface CalibrateOptions {
  target?: Target;
  /** Grid of activation fractional bits (default 4..12). */
  scales?: number[];
  /** Grid of signed weight bits (default 6..10). */
  weightBits?: number[];
  /** Fixed input fractional bits; default: derived per scale from the input range (lower.ts inputScaleFor). */
  inputScale?: number;
  /** Use this input range instead of measuring it. */
  inputRange?: [number, number];
  /** Fraction of the measured span added to each unsaturated side of the input range (default 0.05). */
  margin?: number;
  /** Range-check the inputs inside the circuit (default true); counted in the cost. */
  checkInputs?: boolean;
  /**
   * Visibility the model will be compiled with (defaults: compile's, a hashed input and public output): the
   * commitments' hashing is part of the cost.
   */
  inputVisibility?: InputVisibility;
  outputVisibility?: OutputVisibility;
  singleSignal?: boolean;
  /** Target `resources`: the agreement floor (default 0.99). */
  minAgreement?: number;
  /** Target `accuracy`: the max abs error bound (default: defaultErrorBound). */
  maxError?: number;
  onRange?: (r: RangeReport) => void;
  onSetting?: (row: SettingResult, index: number, total: number) => void;
}

export interface SettingResult {
  scale: number;
  inputScale: number;
  weightBits: number;
  /** Absent when the setting cannot be compiled (`error` says why, e.g. an accumulator overflow). */
  constraints?: number;
  /** Fraction of samples whose top-1 class (argmax of every output) equals onnxruntime's. */
  agreement?: number;
  /** Largest |quantized − float| over all samples and output elements (after a final Softmax, if any). */
  maxAbsError?: number;
  /** Mean over samples of the per-sample largest error. */
  meanAbsError?: number;
  error?: string;
}

export interface Calibration {
  model: string;
  modelSha256: string;
  samples: number;
  target: Target;
  range: RangeReport;
  checkInputs: boolean;
  /** The visibility the costs were computed for. */
  visibility: Visibility;
  /** Error bound of the accuracy target and agreement floor of the resources target, as applied. */
  errorBound: number;
  minAgreement: number;
  rows: SettingResult[];
  chosen: SettingResult;
  /** Why `chosen` won, in words. */
  reason: string;
}

/** Settings `zkml compile --settings` takes from a calibration. */
export function chosenQuant(c: Calibration): Pick<QuantOptions, 'scale' | 'inputScale' | 'weightBits' | 'inputRange' | 'checkInputs'> {
  return { scale: c.chosen.scale, inputScale: c.chosen.inputScale, weightBits: c.chosen.weightBits, inputRange: c.range.range, checkInputs: c.checkInputs };
}

const seq = (lo: number, hi: number) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
export const DEFAULT_SCALES = seq(4, 12);
export const DEFAULT_WEIGHT_BITS = seq(6, 10);
export const DEFAULT_MIN_AGREEMENT = 0.99;
/** Target accuracy accepts a setting below the best agreement only from this agreement up. */
export const ACCURACY_AGREEMENT = 0.995;

/** A final Softmax/LogSoftmax applied to the proven logits along its axis, comparable with onnxruntime. */
function applyFinal(values: number[], shape: number[], final: Lowered['finalActivation']): number[] {
  return final ? softmaxAlong(values, shape, final.axis, final.op) : values;
}

export type Visibility = { inputVisibility: InputVisibility; outputVisibility: OutputVisibility; singleSignal: boolean };

interface Prepared {
  /** Per sample, per model input: flat float values. */
  floats: number[][][];
  /** Per sample: onnxruntime's outputs, by name. */
  expected: Map<string, number[]>[];
}

/** Parses every sample against the model's inputs and runs onnxruntime on it once (it does not depend on the setting). */
async function prepare(modelPath: string, inputs: { name: string; shape: number[] }[], samples: Sample[]): Promise<Prepared> {
  const floats = samples.map((s) => readInputValues(s.value, inputs, s.source));
  const ort = await FloatModel.load(modelPath);
  const expected: Map<string, number[]>[] = [];
  for (const f of floats) {
    const out = await ort.run(inputs.map((spec, k) => ({ name: spec.name, dims: spec.shape, data: f[k] })));
    expected.push(new Map(out.map((o) => [o.name, o.data])));
  }
  return { floats, expected };
}

/** Measures one setting on every sample. */
function evaluate(modelPath: string, quant: QuantOptions, visibility: Visibility, data: Prepared, sources: string[]): SettingResult {
  const inputScale = inputScaleFor(quant);
  const row: SettingResult = { scale: quant.scale, inputScale, weightBits: quant.weightBits };
  let analysis: Analysis;
  try {
    analysis = analyze(modelPath, { ...quant, ...visibility });
  } catch (err) {
    // A setting whose accumulators could overflow the field is a row of the table, not a failure.
    if (err instanceof ZkmlError && err.code === 'E_RANGE') return { ...row, error: err.message };
    throw err;
  }
  const { lowered } = analysis;
  const { program } = lowered;
  // The model's own outputs, whatever the visibility made public (a digest replaces them when hashed).
  const tensorExprs = new Map(analysis.tensorOutputs.map((o) => [o.name, o.exprs]));
  // What compile's default back end builds: the gadgets' cost model plus the rows that keep long linear
  // combinations out of the matrices (src/circuit/eliminate.ts).
  row.constraints = constraintCount(program, analysis.publicInputs);
  const specs = lowered.inputs.map((io) => tensorSpec(io, 'private', quant.inputRange));
  let agreed = 0;
  let maxErr = 0;
  let sumErr = 0;
  data.floats.forEach((perInput, s) => {
    const encoded = new Map<string, bigint[]>();
    specs.forEach((spec, k) => {
      const [lo, hi] = spec.intRange.map(BigInt);
      encoded.set(spec.name, perInput[k].map((x, i) => {
        const q = quantizeValue(x, spec);
        if (q < lo || q > hi) {
          throw new ZkmlError(`input "${spec.name}"[${i}] = ${x} is outside the input range [${quant.inputRange.join(', ')}]: widen --input-range or leave it out to measure it`, 'E_INPUT_RANGE', sources[s]);
        }
        return q;
      }));
    });
    const { wires } = program.execute(encoded);
    let agree = true;
    let err = 0;
    for (const o of lowered.outputs) {
      const ints = tensorExprs.get(o.name)!.map((e) => e.evaluate(wires));
      const enc = tensorSpec(o, 'public').encoding;
      const derived = applyFinal(ints.map((v) => dequantizeValue(v, enc)), o.shape, lowered.finalActivation?.output === o.name ? lowered.finalActivation : undefined);
      const float = data.expected[s].get(o.name);
      if (!float) throw new ZkmlError(`onnxruntime gave no output "${o.name}"`, 'E_ORT', modelPath);
      if (argmax(derived) !== argmax(float)) agree = false;
      derived.forEach((d, i) => (err = Math.max(err, Math.abs(d - float[i]))));
    }
    if (agree) agreed++;
    maxErr = Math.max(maxErr, err);
    sumErr += err;
  });
  const n = data.floats.length;
  return { ...row, agreement: agreed / n, maxAbsError: maxErr, meanAbsError: sumErr / n };
}

/** Cheapest first; among equals, the more accurate, then the smaller numbers. */
export function byCost(a: SettingResult, b: SettingResult): number {
  return a.constraints! - b.constraints! || b.agreement! - a.agreement! || a.maxAbsError! - b.maxAbsError! || a.scale - b.scale || a.weightBits - b.weightBits;
}

function cheapest(rows: SettingResult[]): SettingResult | undefined {
  return [...rows].sort(byCost)[0];
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/**
 * The error bound of the accuracy target when --max-error is not given: twice the smallest max abs error the
 * grid reached among its most agreeing settings, i.e. within one bit of the best precision on offer. An
 * absolute default would not fit every model (logits of 30 or probabilities of 1), and 100% agreement on a
 * few hundred samples is reached early, so agreement alone does not say "accurate".
 */
export function defaultErrorBound(rows: SettingResult[]): number {
  const ok = rows.filter((r) => r.agreement !== undefined);
  const best = Math.max(...ok.map((r) => r.agreement!));
  return 2 * Math.min(...ok.filter((r) => r.agreement === best).map((r) => r.maxAbsError!));
}

/**
 * Picks the setting for the target; throws when nothing qualifies.
 * - accuracy: the cheapest setting whose agreement is the best reached (or at least 99.5%) and whose max abs
 *   error is within `errorBound`;
 * - resources: the cheapest setting whose agreement is at least `minAgreement`.
 */
export function choose(rows: SettingResult[], target: Target, errorBound: number | undefined, minAgreement: number): { chosen: SettingResult; reason: string; errorBound: number } {
  const ok = rows.filter((r) => r.agreement !== undefined);
  if (ok.length === 0) throw new ZkmlError(`no setting of the grid could be compiled (first error: ${rows[0]?.error ?? 'empty grid'})`, 'E_CALIBRATE');
  const best = Math.max(...ok.map((r) => r.agreement!));
  const bound = errorBound ?? defaultErrorBound(rows);
  if (target === 'accuracy') {
    const floor = Math.min(best, ACCURACY_AGREEMENT);
    const chosen = cheapest(ok.filter((r) => r.agreement! >= floor && r.maxAbsError! <= bound));
    if (!chosen) {
      const top = [...ok].sort((a, b) => a.maxAbsError! - b.maxAbsError!)[0];
      throw new ZkmlError(
        `no setting with agreement ≥ ${pct(floor)} has max abs error ≤ ${bound.toPrecision(3)}; the smallest error was ${top.maxAbsError!.toPrecision(3)} ` +
          `(scale ${top.scale}, weight bits ${top.weightBits}): raise --max-error or widen the grid (--scale, --weight-bits)`,
        'E_CALIBRATE',
      );
    }
    return { chosen, errorBound: bound, reason: `cheapest setting with agreement ≥ ${pct(floor)} and max abs error ≤ ${bound.toPrecision(3)}` };
  }
  const chosen = cheapest(ok.filter((r) => r.agreement! >= minAgreement));
  if (!chosen) {
    const top = cheapest(ok.filter((r) => r.agreement === best))!;
    throw new ZkmlError(
      `no setting reached ${pct(minAgreement)} agreement with onnxruntime; the best was ${pct(best)} (scale ${top.scale}, weight bits ${top.weightBits}): ` +
        'lower --min-agreement or widen the grid (--scale, --weight-bits)',
      'E_CALIBRATE',
    );
  }
  return { chosen, errorBound: bound, reason: `cheapest setting with agreement ≥ ${pct(minAgreement)}` };
}

export async function calibrate(modelPath: string, samples: Sample[], opts: CalibrateOptions = {}): Promise<Calibration> {
  const target = opts.target ?? 'accuracy';
  if (target !== 'accuracy' && target !== 'resources') throw new ZkmlError(`--target must be accuracy or resources, got ${target}`, 'E_OPTION');
  const scales = opts.scales ?? DEFAULT_SCALES;
  const weightBits = opts.weightBits ?? DEFAULT_WEIGHT_BITS;
  if (scales.length === 0 || weightBits.length === 0) throw new ZkmlError('the grid is empty: give at least one scale and one weight width', 'E_OPTION');
  const minAgreement = opts.minAgreement ?? DEFAULT_MIN_AGREEMENT;
  if (!(minAgreement >= 0 && minAgreement <= 1)) throw new ZkmlError(`--min-agreement must be in [0, 1], got ${minAgreement}`, 'E_OPTION');
  const margin = opts.margin ?? 0.05;
  if (!(margin >= 0)) throw new ZkmlError(`--margin must be a non-negative fraction, got ${margin}`, 'E_OPTION');
  const checkInputs = opts.checkInputs ?? true;
  if (opts.maxError !== undefined && !(opts.maxError >= 0)) throw new ZkmlError(`--max-error must be a non-negative number, got ${opts.maxError}`, 'E_OPTION');

  const visibility: Visibility = {
    inputVisibility: opts.inputVisibility ?? DEFAULT_VISIBILITY.input,
    outputVisibility: opts.outputVisibility ?? DEFAULT_VISIBILITY.output,
    singleSignal: opts.singleSignal ?? DEFAULT_VISIBILITY.singleSignal,
  };
  if (!checkInputs && (visibility.inputVisibility === 'hashed' || visibility.singleSignal)) {
    throw new ZkmlError('a hashed input needs its values range-checked (packing is injective only then): drop --no-check-inputs or choose another --input-visibility', 'E_OPTION');
  }
  await loadPoseidon(); // the reference executor computes the commitments' digests

  const graph = loadOnnx(modelPath);
  const data = await prepare(modelPath, graph.inputs, samples);
  const range: RangeReport = opts.inputRange
    ? { measured: measureRange(data.floats.map((f) => f.flat()), 0).measured, range: opts.inputRange, margin: 0, saturated: { lo: false, hi: false }, source: 'given' }
    : measureRange(data.floats.map((f) => f.flat()), margin);
  opts.onRange?.(range);

  const grid = scales.flatMap((scale) => weightBits.map((wb) => ({ scale, wb })));
  const rows: SettingResult[] = [];
  const sources = samples.map((s) => s.source);
  for (const { scale, wb } of grid) {
    const quant: QuantOptions = {
      scale,
      weightBits: wb,
      inputScale: opts.inputScale,
      maxWeightExp: DEFAULT_QUANT.maxWeightExp,
      paramVisibility: DEFAULT_QUANT.paramVisibility,
      inputRange: range.range,
      checkInputs,
    };
    const row = evaluate(modelPath, quant, visibility, data, sources);
    rows.push(row);
    opts.onSetting?.(row, rows.length, grid.length);
  }
  const { chosen, reason, errorBound } = choose(rows, target, opts.maxError, minAgreement);
  return { model: modelPath, modelSha256: graph.sha256, samples: samples.length, target, range, checkInputs, visibility, errorBound, minAgreement, rows, chosen, reason };
}
