import { Expr } from '../ir/expr.ts';
import type { Program, ProgramOutput } from '../ir/program.ts';
import { hash } from '../gadgets/hash.ts';
import { packLayout, type PackLayout, type TensorPacking } from '../commit/pack.ts';
import { ZkmlError } from '../util/errors.ts';
import { FIELD_P } from '../io/output.ts';
import { digestFields, packedDigest } from '../commit/commitments.ts';
import type { Commitments, VisibilityOptions } from '../manifest.ts';

// The visibility options and commitments are part of the build's format: declared in manifest.ts.
export type { Commitments, InputVisibility, OutputVisibility, TensorPacking, VisibilityOptions } from '../manifest.ts';

export const DEFAULT_VISIBILITY: VisibilityOptions = { input: 'hashed', output: 'public', singleSignal: false };

/** The canonical model id as a field element: the first 248 bits of a sha256 over the quantized circuit. */
export function modelIdFromDigest(sha256Hex: string): bigint {
  return BigInt(`0x${sha256Hex.slice(0, 62)}`) % FIELD_P;
}

/** Packs a tensor's expressions (each within [lo, hi] by interval analysis or range checks) into field expressions. */
function packExprs(exprs: Expr[], layout: PackLayout): Expr[] {
  const lo = BigInt(layout.lo);
  const fields: Expr[] = [];
  for (let j = 0; j < layout.fieldElements; j++) {
    const parts: [Expr, bigint][] = [];
    exprs.slice(j * layout.perElement, (j + 1) * layout.perElement).forEach((e, i) => parts.push([e.addConst(-lo), 1n << BigInt(layout.width * i)]));
    fields.push(Expr.sum(parts));
  }
  return fields;
}

function rangeOf(program: Program, exprs: Expr[], node: string): [bigint, bigint] {
  let lo = 0n;
  let hi = 0n;
  exprs.forEach((e, i) => {
    const [a, b] = program.checkRange(e, node);
    if (i === 0 || a < lo) lo = a;
    if (i === 0 || b > hi) hi = b;
  });
  return [lo, hi];
}

function digest(program: Program, tensors: { name: string; exprs: Expr[] }[], node: string): { wire: Expr; packing: TensorPacking[] } {
  const packing: TensorPacking[] = [];
  const fields: Expr[] = [];
  for (const t of tensors) {
    const [lo, hi] = rangeOf(program, t.exprs, node);
    const layout = packLayout(t.exprs.length, lo, hi);
    packing.push({ tensor: t.name, layout });
    fields.push(...packExprs(t.exprs, layout));
  }
  const hashed = digestFields(fields, Expr.constant(0n));
  const [wire] = program.apply(hash, { m: hashed.length }, hashed, node);
  return { wire, packing };
}

/**
 * Rewrites the program's public outputs per the visibility options: tensors stay public, or are replaced by
 * a Poseidon digest of their packed values; hashed inputs add an input digest; single-signal mode folds the
 * model id and both digests into one public signal. Returns what the manifest must record; the tensor
 * outputs before the rewrite are returned too (the prover reports them in output.json).
 */
export function applyVisibility(program: Program, opts: VisibilityOptions, modelId: bigint, inputsChecked: boolean): { commitments: Commitments; tensorOutputs: ProgramOutput[]; publicInputs: boolean } {
  const tensorOutputs = program.outputs.slice();
  const hashInput = opts.singleSignal || opts.input === 'hashed';
  const hashOutput = opts.singleSignal || opts.output === 'hashed';
  if (hashInput && !inputsChecked) {
    throw new ZkmlError('a hashed input needs its values range-checked (packing is injective only then): drop --no-check-inputs', 'E_OPTION');
  }
  const commitments: Commitments = { modelId: modelId.toString(), single: opts.singleSignal };
  const outputs: ProgramOutput[] = [];
  // Hashed weights: the model id is their digest, computed in the circuit and outside it here (circomlibjs
  // Poseidon: the caller loads it). It is always a public signal of its own, the first, single-signal mode
  // included: the verifying key then fits every model of the architecture, so only that signal says which
  // one a proof is about. Folded into the commitment alone it would bind nothing a verifier without the
  // claimed input and output could check, and the registry (which checks signal 0) none at all.
  let modelIdWire = Expr.constant(modelId);
  if (opts.params === 'hashed' && program.params.length) {
    const d = digest(program, program.params.map((p) => ({ name: p.name, exprs: p.wires.map((w) => Expr.wire(w)) })), 'parameter commitment');
    modelIdWire = d.wire;
    commitments.params = d.packing;
    commitments.modelId = packedDigest(d.packing, program.params.map((p) => p.values)).toString();
    outputs.push({ name: 'model id', signal: 'modelId', shape: [1], exprs: [d.wire] });
  }
  let outDigest: Expr | undefined;
  let inDigest: Expr | undefined;
  if (hashOutput) {
    const d = digest(program, tensorOutputs.map((o) => ({ name: o.name, exprs: o.exprs })), 'output commitment');
    outDigest = d.wire;
    commitments.output = d.packing;
  }
  if (hashInput) {
    const d = digest(program, program.inputs.map((i) => ({ name: i.name, exprs: i.wires.map((w) => Expr.wire(w)) })), 'input commitment');
    inDigest = d.wire;
    commitments.input = d.packing;
  }
  if (opts.singleSignal) {
    const [c] = program.apply(hash, { m: 3 }, [modelIdWire, inDigest!, outDigest!], 'commitment');
    outputs.push({ name: 'commitment', signal: 'commitment', shape: [1], exprs: [c] });
  } else {
    if (outDigest) outputs.push({ name: 'output digest', signal: 'outputDigest', shape: [1], exprs: [outDigest] });
    else outputs.push(...tensorOutputs);
    if (inDigest) outputs.push({ name: 'input digest', signal: 'inputDigest', shape: [1], exprs: [inDigest] });
  }
  program.outputs.splice(0, program.outputs.length, ...outputs);
  return { commitments, tensorOutputs, publicInputs: !opts.singleSignal && opts.input === 'public' };
}
