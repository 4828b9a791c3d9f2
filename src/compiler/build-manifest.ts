/**
 * manifest.json of a new build, from what the compiler knows: the analysis (quantization, visibility, tensors,
 * commitments) and what the circuit back end wrote (constraint count, per-node costs, artifact hashes).
 */
import { resolve } from 'node:path';
import { MANIFEST_FORMAT, type CircuitArtifacts, type LayerCost, type Manifest, type PublicSignal, type TensorSpec } from '../manifest.ts';
import { VERSION, DEPENDENCIES } from '../version.ts';
import { inputScaleFor, type IoSpec } from './lower.ts';
import type { Analysis } from './pipeline.ts';

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

/** Per-node constraint counts as the manifest and `zkml inspect` show them, model nodes first. */
function layerCosts(analysis: Analysis, costs: Map<string, number>): LayerCost[] {
  const { graph, lowered } = analysis;
  const { program } = lowered;
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
  // Costs outside the model's nodes: input range checks, commitments and the output equalities.
  const modelNodes = new Set(graph.nodes.map((n) => n.name));
  for (const [node, c] of costs) {
    if (modelNodes.has(node)) continue;
    const op = node.includes('range check') ? 'RangeCheck' : node === 'outputs' ? 'Outputs' : 'Commitment';
    if (op === 'RangeCheck') layers.unshift({ node, op, outputShape: [], constraints: c });
    else layers.push({ node, op, outputShape: [], constraints: c });
  }
  return layers;
}

export function buildManifest(modelPath: string, analysis: Analysis, circuit: { constraints: number; costs: Map<string, number>; artifacts: CircuitArtifacts }): Manifest {
  const { graph, lowered, quant, visibility, commitments, publicInputs } = analysis;
  const { program } = lowered;
  const hashedIn = visibility.singleSignal || visibility.input === 'hashed';
  const hashedOut = visibility.singleSignal || visibility.output === 'hashed';
  const inputs = lowered.inputs.map((io) => tensorSpec(io, hashedIn ? 'hashed' : publicInputs ? 'public' : 'private', quant.inputRange));
  const outputs = lowered.outputs.map((io) => tensorSpec(io, hashedOut ? 'hashed' : 'public'));
  const digestKind = { commitment: 'commitment', outputDigest: 'outputDigest', inputDigest: 'inputDigest', modelId: 'modelId' } as const;
  return {
    format: MANIFEST_FORMAT,
    zkmlVersion: VERSION,
    tools: toolVersions(),
    createdAt: new Date().toISOString(),
    model: { path: resolve(modelPath), sha256: graph.sha256, opset: graph.opset, ...(graph.producer ? { producer: graph.producer } : {}) },
    ...(lowered.finalActivation ? { finalActivation: { op: lowered.finalActivation.op, axis: lowered.finalActivation.axis, output: lowered.finalActivation.output } } : {}),
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
    constraints: circuit.constraints,
    layers: layerCosts(analysis, circuit.costs),
    quantization: { scale: quant.scale, inputScale: inputScaleFor(quant), weightBits: quant.weightBits, inputRange: quant.inputRange, checkInputs: quant.checkInputs },
    visibility,
    circuit: circuit.artifacts,
  };
}
