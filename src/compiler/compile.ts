import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { loadOnnx } from '../onnx/load.ts';
import { foldBatchNorms } from '../onnx/fuse.ts';
import { rewriteQdq } from '../onnx/qdq.ts';
import { lowerPoolsFirst } from '../onnx/reorder.ts';
import { lowerGraph, type Lowered } from './lower.ts';
import { emitCircom } from './emit.ts';
import { layoutCircuit } from './layout.ts';
import { circomBackend, zkmlBackend } from './backend.ts';
import { buildManifest } from './build-manifest.ts';
import { encodeProgram } from '../circuit/program-file.ts';
import type { EliminationMode } from '../circuit/eliminate.ts';
import { bundleCircom } from '../circom/bundle.ts';
import { NODE_MODULES_DIR } from '../circom/compile.ts';
import { DEFAULT_QUANT, type QuantOptions } from '../quantize/options.ts';
import { buildPaths, writeManifest, type Manifest } from '../manifest.ts';
import { commitStaging, stagingDir } from '../util/atomic.ts';
import { sha256File, sha256Hex } from '../util/hash.ts';
import { applyVisibility, modelIdFromDigest, DEFAULT_VISIBILITY, type Commitments, type InputVisibility, type OutputVisibility, type VisibilityOptions } from './visibility.ts';
import type { ProgramOutput } from '../ir/program.ts';
import { VERSION } from '../version.ts';
import { ZkmlError } from '../util/errors.ts';
import { loadPoseidon } from '../commit/poseidon.ts';
import type { Graph } from '../onnx/graph.ts';

export interface AnalyzeOptions extends Partial<QuantOptions> {
  inputVisibility?: InputVisibility;
  outputVisibility?: OutputVisibility;
  singleSignal?: boolean;
}

export interface CompileOptions extends AnalyzeOptions {
  onProgress?: (step: string, data?: Record<string, unknown>) => void;
  /** Compile circuit.circom with circom2 (its r1cs and witness calculator) instead of zkml's own back end. */
  circom?: boolean;
  /**
   * How zkml's back end folds linear constraints: `cost` (default) where it is cheapest for the prover, `circom`
   * as circom --O2 does (same constraint count as `--circom`). See src/circuit/eliminate.ts.
   */
  elimination?: EliminationMode;
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

const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/**
 * Loads and lowers a model into the integer program the circuit computes, public outputs included (the
 * visibility rewrite): for `compile`, `zkml run`, calibration and tests. No circuit is compiled.
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
  // QDQ int8 groups become integer ops (onnx/qdq.ts); a float model passes through unchanged.
  const graph = rewriteQdq(foldBatchNorms(loadOnnx(modelPath)));
  const lowered = lowerPoolsFirst(graph, quant);
  // The model id hashes the quantized computation itself (weights are constants in it), before visibility.
  const modelId = modelIdFromDigest(sha256Hex(encodeProgram(lowered.program)));
  const { commitments, tensorOutputs, publicInputs } = applyVisibility(lowered.program, visibility, modelId, quant.checkInputs);
  return { graph, lowered, quant, visibility, tensorOutputs, commitments, publicInputs };
}

/** The options that reproduce a build's integer program (quantization and visibility), from its manifest. */
export function analyzeOptionsOf(m: Manifest): AnalyzeOptions {
  const q = m.quantization;
  return {
    scale: q.scale,
    inputScale: q.inputScale,
    weightBits: q.weightBits,
    inputRange: q.inputRange,
    checkInputs: q.checkInputs,
    inputVisibility: m.visibility.input,
    outputVisibility: m.visibility.output,
    singleSignal: m.visibility.singleSignal,
    paramVisibility: m.visibility.params ?? 'fixed',
  };
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

/**
 * `zkml compile`: model.onnx → circuit.circom (always), circuit.r1cs, circuit.sym and the witness program (zkml's
 * back end) or circom's wasm (`circom: true`), and manifest.json in `outDir`. Everything is written in a staging
 * folder first and moved in at the end, so a failure leaves the output folder as it was.
 */
export async function compile(modelPath: string, outDir: string, opts: CompileOptions = {}): Promise<Manifest> {
  const progress = opts.onProgress ?? (() => {});
  progress('load', { model: modelPath });
  if (opts.paramVisibility === 'hashed') await loadPoseidon(); // the model id is a Poseidon digest of the weights
  const analysis = analyze(modelPath, {
    ...opts,
    inputVisibility: opts.inputVisibility ?? DEFAULT_VISIBILITY.input,
    outputVisibility: opts.outputVisibility ?? DEFAULT_VISIBILITY.output,
    singleSignal: opts.singleSignal ?? DEFAULT_VISIBILITY.singleSignal,
  });
  const { program } = analysis.lowered;
  const estimate = [...program.costByNode().values()].reduce((a, b) => a + b, 0);
  progress('lowered', { gadgets: program.gadgets.length, estimatedConstraints: estimate });
  const layout = layoutCircuit(program);

  const staging = stagingDir(resolve(outDir));
  try {
    const paths = buildPaths(staging);
    const main = emitCircom(program, { publicInputs: analysis.publicInputs, layout, header: [`zkml ${VERSION}: ${basename(modelPath)} (sha256 ${analysis.graph.sha256})`] });
    writeFileSync(paths.circom, bundleCircom(main, [NODE_MODULES_DIR]));
    // Private weights are witness data: the prover's secret, kept with the build (and hash-checked by it).
    if (program.params.length) writeFileSync(paths.params, JSON.stringify(program.paramInputs()), { mode: 0o600 });
    const hashedOutputs = analysis.visibility.singleSignal || analysis.visibility.output === 'hashed';
    const reports = hashedOutputs ? analysis.tensorOutputs : [];
    const circuit = opts.circom
      ? await circomBackend(staging, program, { reports, progress })
      : await zkmlBackend(staging, program, layout, { publicInputs: analysis.publicInputs, elimination: opts.elimination ?? 'cost', reports, progress });
    if (program.params.length) circuit.artifacts.paramsSha256 = sha256File(paths.params);
    const manifest = buildManifest(modelPath, analysis, circuit);
    writeManifest(staging, manifest);
    // A new circuit invalidates any earlier setup and verifier in the folder.
    const old = buildPaths(outDir);
    for (const f of [old.zkey, old.vkey, old.verifierSol, old.verifierArtifact, old.program, old.wasm]) if (existsSync(f)) rmSync(f);
    commitStaging(staging, outDir);
    progress('done', { constraints: manifest.constraints, outDir });
    return manifest;
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}
