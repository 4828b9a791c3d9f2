import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadOnnx } from '../onnx/load.ts';
import { foldBatchNorms } from '../onnx/fuse.ts';
import { lowerGraph, inputScaleFor, type IoSpec, type Lowered } from './lower.ts';
import { emitCircom } from './emit.ts';
import { bundleCircom } from '../circom/bundle.ts';
import { compileCircom, CIRCUITS_DIR, NODE_MODULES_DIR } from '../circom/compile.ts';
import { DEFAULT_QUANT, type QuantOptions } from '../quantize/options.ts';
import { MANIFEST_FORMAT, buildPaths, writeManifest, type LayerCost, type Manifest, type TensorSpec } from '../manifest.ts';
import { commitStaging, stagingDir } from '../util/atomic.ts';
import { sha256File } from '../util/hash.ts';
import { VERSION, DEPENDENCIES } from '../version.ts';
import { ZkmlError } from '../util/errors.ts';
import type { Graph } from '../onnx/graph.ts';

export interface CompileOptions extends Partial<QuantOptions> {
  /** Make model inputs public signals (default private). */
  publicInputs?: boolean;
  onProgress?: (step: string, data?: Record<string, unknown>) => void;
}

/** Loads and lowers a model without compiling the circuit: for `zkml run`, calibration and tests. */
export function analyze(modelPath: string, opts: Partial<QuantOptions> = {}): { graph: Graph; lowered: Lowered; quant: QuantOptions } {
  const quant: QuantOptions = { ...DEFAULT_QUANT, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) };
  validateQuant(quant);
  const graph = foldBatchNorms(loadOnnx(modelPath));
  return { graph, lowered: lowerGraph(graph, quant), quant };
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

export function tensorSpec(io: IoSpec, visibility: TensorSpec['visibility'], floatRange?: [number, number]): TensorSpec {
  return {
    name: io.name,
    signal: io.signal,
    shape: io.shape,
    encoding: { scaleExp: io.exp, scale: 2 ** -io.exp, zeroPoint: 0 },
    intRange: [io.intRange[0].toString(), io.intRange[1].toString()],
    ...(floatRange ? { floatRange } : {}),
    visibility,
  };
}

function toolVersions(): Record<string, string> {
  const pick = ['circom2', 'snarkjs', 'circomlib', 'onnxruntime-node'];
  return { ...Object.fromEntries(pick.map((p) => [p, DEPENDENCIES[p]])), node: process.versions.node };
}

/**
 * `zkml compile`: model.onnx → circuit.circom, circuit.r1cs, circuit_js/circuit.wasm, circuit.sym and
 * manifest.json in `outDir`. Everything is written in a staging folder first and moved in at the end, so a
 * failure leaves the output folder as it was.
 */
export async function compile(modelPath: string, outDir: string, opts: CompileOptions = {}): Promise<Manifest> {
  const progress = opts.onProgress ?? (() => {});
  progress('load', { model: modelPath });
  const { graph, lowered, quant } = analyze(modelPath, opts);
  const { program } = lowered;
  const publicInputs = opts.publicInputs ?? false;
  const estimate = [...program.costByNode().values()].reduce((a, b) => a + b, 0);
  progress('lowered', { gadgets: program.gadgets.length, estimatedConstraints: estimate });

  const staging = stagingDir(resolve(outDir));
  try {
    const paths = buildPaths(staging);
    const main = emitCircom(program, { publicInputs, header: [`zkml ${VERSION}: ${basename(modelPath)} (sha256 ${graph.sha256})`] });
    writeFileSync(paths.circom, bundleCircom(main, [CIRCUITS_DIR, NODE_MODULES_DIR]));
    progress('circom', { file: 'circuit.circom' });
    const result = await compileCircom(paths.circom, staging);

    const costs = program.costByNode();
    const layers: LayerCost[] = graph.nodes
      .filter((n) => costs.has(n.name) || lowered.tensors.has(n.outputs[0]))
      .map((n) => {
        const gadgets = program.gadgets.filter((g) => g.node === n.name);
        const details = [...new Set(gadgets.map((g) => g.def.describe(g.params)))];
        return {
          node: n.name,
          op: n.opType,
          outputShape: graph.shapes.get(n.outputs[0]) ?? [],
          constraints: costs.get(n.name) ?? 0,
          ...(details.length ? { detail: details.length > 3 ? `${details.slice(0, 3).join('; ')}; …` : details.join('; ') } : {}),
        };
      });
    for (const [node, c] of costs) if (!graph.nodes.some((n) => n.name === node)) layers.unshift({ node, op: 'RangeCheck', outputShape: [], constraints: c });

    const inputs = lowered.inputs.map((io) => tensorSpec(io, publicInputs ? 'public' : 'private', quant.inputRange));
    const outputs = lowered.outputs.map((io) => tensorSpec(io, 'public'));
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      zkmlVersion: VERSION,
      tools: toolVersions(),
      createdAt: new Date().toISOString(),
      model: { path: resolve(modelPath), sha256: graph.sha256, opset: graph.opset, ...(graph.producer ? { producer: graph.producer } : {}) },
      ...(lowered.finalActivation ? { finalActivation: { op: lowered.finalActivation.op, axis: lowered.finalActivation.axis } } : {}),
      inputs,
      outputs,
      publicSignals: [
        ...outputs.flatMap((o) => Array.from({ length: o.shape.reduce((a, b) => a * b, 1) }, (_, index) => ({ kind: 'output' as const, tensor: o.name, index }))),
        ...(publicInputs ? inputs.flatMap((t) => Array.from({ length: t.shape.reduce((a, b) => a * b, 1) }, (_, index) => ({ kind: 'input' as const, tensor: t.name, index }))) : []),
      ],
      inputRangeChecked: quant.checkInputs,
      constraints: result.constraints,
      layers,
      quantization: { scale: quant.scale, inputScale: inputScaleFor(quant), weightBits: quant.weightBits, inputRange: quant.inputRange, checkInputs: quant.checkInputs },
      circuit: {
        circom: 'circuit.circom',
        r1cs: 'circuit.r1cs',
        wasm: 'circuit_js/circuit.wasm',
        sym: 'circuit.sym',
        r1csSha256: sha256File(paths.r1cs),
        wasmSha256: sha256File(paths.wasm),
      },
    };
    writeManifest(staging, manifest);
    // A new circuit invalidates any earlier setup and verifier in the folder.
    const old = buildPaths(outDir);
    for (const f of [old.zkey, old.vkey, old.verifierSol, old.verifierArtifact]) if (existsSync(f)) rmSync(f);
    commitStaging(staging, outDir);
    progress('done', { constraints: manifest.constraints, outDir });
    return manifest;
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}

