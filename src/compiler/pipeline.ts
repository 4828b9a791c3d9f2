/**
 * The compiler, pass by pass, in the order they run: read this list to read the whole pipeline. Each pass is one
 * file; a pass reads what the passes before it made and nothing else (layers: src/README.md).
 *
 *   model.onnx
 *    1. load             passes/load.ts            read and check the file (onnx/load.ts), then infer static
 *                                                  shapes and fold constants with the ops' rules (passes/prepare.ts)
 *    2. graph rewrites   GRAPH_REWRITES below      passes/fuse-batchnorm.ts: BatchNormalization into the layer before
 *                                                  passes/qdq.ts: QDQ int8 groups into integer ops
 *    3. lower            lower.ts                  each op lowers itself (ops/) into the integer program (ir/):
 *                        passes/reorder-pools.ts   linear expressions and gadgets, MaxPool before ReLU where cheaper
 *    4. model id         (here)                    sha256 of the encoded program, before visibility
 *    5. visibility       visibility.ts             public / hashed inputs, outputs, weights; commitments
 *   -- analyze() stops here: `zkml run`, calibration and the tests use the program; compile() goes on --
 *    6. layout           layout.ts                 gadgets into component arrays: the circuit's signal names
 *    7. emit             emit.ts                   circuit.circom (always written, once), params.json
 *    8. back end         backend.ts                zkml: circuit.r1cs, .sym, .program from the gadgets (circuit/);
 *                                                  or --circom: circom2 compiles circuit.circom (circom/)
 *    9. manifest         build-manifest.ts         manifest.json: everything `prove` reads is in the build folder
 */
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Graph } from '../onnx/graph.ts';
import type { ProgramOutput } from '../ir/program.ts';
import { loadOnnx } from './passes/load.ts';
import { foldBatchNorms } from './passes/fuse-batchnorm.ts';
import { rewriteQdq } from './passes/qdq.ts';
import { lowerPoolsFirst } from './passes/reorder-pools.ts';
import type { Lowered } from './lower.ts';
import { applyVisibility, modelIdFromDigest, type Commitments, type InputVisibility, type OutputVisibility, type VisibilityOptions } from './visibility.ts';
import { layoutCircuit } from './layout.ts';
import { emitCircom } from './emit.ts';
import { circomBackend, zkmlBackend } from './backend.ts';
import { buildManifest } from './build-manifest.ts';
import { encodeProgram } from '../circuit/program-file.ts';
import type { EliminationMode } from '../circuit/eliminate.ts';
import { bundleCircom } from '../circom/bundle.ts';
import { NODE_MODULES_DIR } from '../circom/compile.ts';
import { DEFAULT_QUANT, type QuantOptions } from '../quantize/options.ts';
import { buildPaths, type Manifest } from '../manifest.ts';
import { sha256File, sha256Hex } from '../util/hash.ts';
import { ZkmlError } from '../util/errors.ts';
import { VERSION } from '../version.ts';

/** Pass 2: the graph rewrites, in order. Each takes the loaded graph and returns it rewritten (a float model without BatchNorm or QDQ passes through unchanged). */
export const GRAPH_REWRITES: readonly ((graph: Graph) => Graph)[] = [foldBatchNorms, rewriteQdq];

export interface AnalyzeOptions extends Partial<QuantOptions> {
  inputVisibility?: InputVisibility;
  outputVisibility?: OutputVisibility;
  singleSignal?: boolean;
}

export interface Analysis {
  graph: Graph;
  lowered: Lowered;
  quant: QuantOptions;
  visibility: VisibilityOptions;
  /** The model's tensor outputs (before any hashing), what output.json reports. */
  tensorOutputs: ProgramOutput[];
  commitments: Commitments;
  publicInputs: boolean;
}

export type Progress = (step: string, data?: Record<string, unknown>) => void;

export interface BackEndOptions {
  /** Compile circuit.circom with circom2 (its r1cs and witness calculator) instead of zkml's own back end. */
  circom?: boolean;
  /**
   * How zkml's back end folds linear constraints: `cost` (default) where it is cheapest for the prover, `circom`
   * as circom --O2 does (same constraint count as `--circom`). See src/circuit/eliminate.ts.
   */
  elimination?: EliminationMode;
}

const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/**
 * Passes 1 to 5: a model into the integer program the circuit computes, public outputs included. No circuit is
 * built: for `compile`, `zkml run`, calibration and tests.
 */
export function analyze(modelPath: string, opts: AnalyzeOptions = {}): Analysis {
  const quant: QuantOptions = { ...DEFAULT_QUANT, ...defined(opts) };
  validateQuant(quant);
  // Without visibility options the program has no commitments (plain tensors in, tensors out); compile()
  // applies the product's defaults (DEFAULT_VISIBILITY: hashed input, public output).
  const visibility: VisibilityOptions = {
    input: opts.inputVisibility ?? 'private',
    output: opts.outputVisibility ?? 'public',
    singleSignal: opts.singleSignal ?? false,
    params: quant.paramVisibility,
  };
  const graph = GRAPH_REWRITES.reduce((g, rewrite) => rewrite(g), loadOnnx(modelPath));
  const lowered = lowerPoolsFirst(graph, quant);
  // The model id hashes the quantized computation itself (weights are constants in it), before visibility.
  const modelId = modelIdFromDigest(sha256Hex(encodeProgram(lowered.program)));
  const { commitments, tensorOutputs, publicInputs } = applyVisibility(lowered.program, visibility, modelId, quant.checkInputs);
  return { graph, lowered, quant, visibility, tensorOutputs, commitments, publicInputs };
}

/**
 * Passes 6 to 9: the analysed program into a build folder (`dir`, the caller's staging folder): circuit.circom,
 * params.json (private weights), the back end's artifacts; returns the manifest, not yet written.
 */
export async function buildCircuit(dir: string, modelPath: string, analysis: Analysis, opts: BackEndOptions, progress: Progress): Promise<Manifest> {
  const { program } = analysis.lowered;
  const paths = buildPaths(dir);
  const layout = layoutCircuit(program);
  const main = emitCircom(program, { publicInputs: analysis.publicInputs, layout, header: [`zkml ${VERSION}: ${basename(modelPath)} (sha256 ${analysis.graph.sha256})`] });
  writeFileSync(paths.circom, bundleCircom(main, [NODE_MODULES_DIR]));
  // Private weights are witness data: the prover's secret, kept with the build (and hash-checked by it).
  if (program.params.length) writeFileSync(paths.params, JSON.stringify(program.paramInputs()), { mode: 0o600 });
  const hashedOutputs = analysis.visibility.singleSignal || analysis.visibility.output === 'hashed';
  const reports = hashedOutputs ? analysis.tensorOutputs : [];
  const circuit = opts.circom
    ? await circomBackend(dir, program, { reports, progress })
    : await zkmlBackend(dir, program, layout, { publicInputs: analysis.publicInputs, elimination: opts.elimination ?? 'cost', reports, progress });
  if (program.params.length) circuit.artifacts.paramsSha256 = sha256File(paths.params);
  return buildManifest(modelPath, analysis, circuit);
}

function validateQuant(q: QuantOptions): void {
  const int = (v: number, lo: number, hi: number, name: string) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new ZkmlError(`${name} must be an integer in [${lo}, ${hi}], got ${v}`, 'E_OPTION');
  };
  int(q.scale, 0, 64, '--scale');
  if (q.inputScale !== undefined) int(q.inputScale, 0, 64, '--input-scale');
  int(q.weightBits, 2, 32, '--weight-bits');
  if (q.inputRange.length !== 2 || q.inputRange.some((v) => !Number.isFinite(v)) || q.inputRange[0] > q.inputRange[1]) {
    throw new ZkmlError(`--input-range must be two finite numbers lo,hi with lo <= hi, got ${q.inputRange.join(',')}`, 'E_OPTION');
  }
}
