/**
 * `zkml compile`: the pipeline (pipeline.ts, which lists every pass) run into a staging folder that replaces the
 * output folder only when everything is written, so a failure leaves the output folder as it was.
 */
import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { analyze, buildCircuit, type AnalyzeOptions, type BackEndOptions, type Progress } from './pipeline.ts';
import { DEFAULT_VISIBILITY } from './visibility.ts';
import { buildPaths, writeManifest, type Manifest } from '../manifest.ts';
import { commitStaging, stagingDir } from '../util/atomic.ts';
import { loadPoseidon } from '../commit/poseidon.ts';

export { analyze, type AnalyzeOptions, type Analysis } from './pipeline.ts';

export interface CompileOptions extends AnalyzeOptions, BackEndOptions {
  onProgress?: Progress;
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

/**
 * model.onnx → circuit.circom (always), circuit.r1cs, circuit.sym and the witness program (zkml's back end) or
 * circom's wasm (`circom: true`), and manifest.json in `outDir`.
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

  const staging = stagingDir(resolve(outDir));
  try {
    const manifest = await buildCircuit(staging, modelPath, analysis, opts, progress);
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
