import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadOnnx } from '../onnx/load.ts';
import { foldBatchNorms } from '../onnx/fuse.ts';
import { rewriteQdq } from '../onnx/qdq.ts';
import { lowerPoolsFirst } from '../onnx/reorder.ts';
import { lowerGraph, inputScaleFor, type IoSpec, type Lowered } from './lower.ts';
import { emitCircom } from './emit.ts';
import { bundleCircom } from '../circom/bundle.ts';
import { compileCircom, CIRCUITS_DIR, NODE_MODULES_DIR } from '../circom/compile.ts';
import { DEFAULT_QUANT, type QuantOptions } from '../quantize/options.ts';
import { MANIFEST_FORMAT, buildPaths, writeManifest, type LayerCost, type Manifest, type PublicSignal, type TensorSpec } from '../manifest.ts';
import { commitStaging, stagingDir } from '../util/atomic.ts';
import { sha256File, sha256Hex } from '../util/hash.ts';
import { applyVisibility, modelIdFromDigest, DEFAULT_VISIBILITY, type Commitments, type InputVisibility, type OutputVisibility, type VisibilityOptions } from './visibility.ts';
import type { ProgramOutput } from './program.ts';
import { VERSION, DEPENDENCIES } from '../version.ts';
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
  const modelId = modelIdFromDigest(sha256Hex(emitCircom(lowered.program, { publicInputs: false })));
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

export function tensorSpec(io: IoSpec, visibility: TensorSpec['visibility'], floatRange?: [number, number]): TensorSpec {
  const range = io.floatRange ?? floatRange;
  return {
    name: io.name,
    signal: io.signal,
    shape: io.shape,
    // Integer-domain tensors (int8 models) carry any scale and a zero point; float models a power of two.
    encoding: io.scale !== undefined ? { scale: io.scale, zeroPoint: io.zeroPoint ?? 0 } : { scaleExp: io.exp, scale: 2 ** -io.exp, zeroPoint: 0 },
    intRange: [io.intRange[0].toString(), io.intRange[1].toString()],
    ...(range ? { floatRange: range } : {}),
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
  if (opts.paramVisibility === 'hashed') await loadPoseidon(); // the model id is a Poseidon digest of the weights
  const { graph, lowered, quant, visibility, commitments, publicInputs } = analyze(modelPath, {
    ...opts,
    inputVisibility: opts.inputVisibility ?? DEFAULT_VISIBILITY.input,
    outputVisibility: opts.outputVisibility ?? DEFAULT_VISIBILITY.output,
    singleSignal: opts.singleSignal ?? DEFAULT_VISIBILITY.singleSignal,
  });
  const { program } = lowered;
  const estimate = [...program.costByNode().values()].reduce((a, b) => a + b, 0);
  progress('lowered', { gadgets: program.gadgets.length, estimatedConstraints: estimate });

  const staging = stagingDir(resolve(outDir));
  try {
    const paths = buildPaths(staging);
    const main = emitCircom(program, { publicInputs, header: [`zkml ${VERSION}: ${basename(modelPath)} (sha256 ${graph.sha256})`] });
    writeFileSync(paths.circom, bundleCircom(main, [CIRCUITS_DIR, NODE_MODULES_DIR]));
    // Private weights are witness data: the prover's secret, kept with the build (and hash-checked by it).
    const params = program.params.length ? join(staging, 'params.json') : undefined;
    if (params) writeFileSync(params, JSON.stringify(program.paramInputs()), { mode: 0o600 });
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
    // Costs outside the model's nodes: input range checks and commitments.
    for (const [node, c] of costs) {
      if (graph.nodes.some((n) => n.name === node)) continue;
      const op = node.includes('range check') ? 'RangeCheck' : 'Commitment';
      (op === 'RangeCheck' ? layers.unshift.bind(layers) : layers.push.bind(layers))({ node, op, outputShape: [], constraints: c });
    }

    const hashedIn = visibility.singleSignal || visibility.input === 'hashed';
    const hashedOut = visibility.singleSignal || visibility.output === 'hashed';
    const inputs = lowered.inputs.map((io) => tensorSpec(io, hashedIn ? 'hashed' : publicInputs ? 'public' : 'private', quant.inputRange));
    const outputs = lowered.outputs.map((io) => tensorSpec(io, hashedOut ? 'hashed' : 'public'));
    const digestKind = { commitment: 'commitment', outputDigest: 'outputDigest', inputDigest: 'inputDigest', modelId: 'modelId' } as const;
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      zkmlVersion: VERSION,
      tools: toolVersions(),
      createdAt: new Date().toISOString(),
      model: { path: resolve(modelPath), sha256: graph.sha256, opset: graph.opset, ...(graph.producer ? { producer: graph.producer } : {}) },
      ...(lowered.finalActivation ? { finalActivation: { op: lowered.finalActivation.op, axis: lowered.finalActivation.axis } } : {}),
      inputs,
      outputs,
      // snarkjs' order: the circuit's outputs as declared, then its public inputs.
      publicSignals: [
        ...program.outputs.flatMap((o): PublicSignal[] =>
          o.signal in digestKind
            ? [{ kind: digestKind[o.signal as keyof typeof digestKind], tensor: o.name, index: 0 }]
            : o.exprs.map((_, index) => ({ kind: 'output' as const, tensor: o.name, index })),
        ),
        ...(publicInputs ? inputs.flatMap((t) => Array.from({ length: t.shape.reduce((a, b) => a * b, 1) }, (_, index) => ({ kind: 'input' as const, tensor: t.name, index }))) : []),
      ],
      inputRangeChecked: quant.checkInputs,
      modelId: commitments.modelId,
      commitments,
      constraints: result.constraints,
      layers,
      quantization: { scale: quant.scale, inputScale: inputScaleFor(quant), weightBits: quant.weightBits, inputRange: quant.inputRange, checkInputs: quant.checkInputs },
      visibility,
      circuit: {
        circom: 'circuit.circom',
        r1cs: 'circuit.r1cs',
        wasm: 'circuit_js/circuit.wasm',
        sym: 'circuit.sym',
        r1csSha256: sha256File(paths.r1cs),
        wasmSha256: sha256File(paths.wasm),
        ...(params ? { paramsSha256: sha256File(params) } : {}),
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

