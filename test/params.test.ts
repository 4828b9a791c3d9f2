/**
 * --param-visibility hashed|private: weights as private signals. The circuit must not depend on their values
 * (one verifying key per architecture), the hashed model id must be their Poseidon digest, proven in the
 * circuit, and a proof made with other weights must not pass as this model's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnx } from '../src/onnx/write.ts';
import { compileAndCheck, requireShared, SHARED_MODELS, tempDir } from './helpers/models.ts';
import { violatedConstraints } from '../src/circom/r1cs.ts';
import { layoutCircuit } from '../src/compiler/layout.ts';
import { pack } from '../src/commit/pack.ts';
import { hashChain, loadPoseidon } from '../src/commit/poseidon.ts';
import { compile } from '../src/compiler/compile.ts';
import { setup } from '../src/setup/setup.ts';
import { prove } from '../src/prove/prove.ts';
import { verify } from '../src/prove/verify.ts';
import { verifyOnchain } from '../src/chain/verify-onchain.ts';
import { connect } from '../src/chain/provider.ts';
import { buildPaths, readManifest } from '../src/manifest.ts';
import { releaseCurve } from '../src/util/snark.ts';
import { encodeInputs, witnessInput } from '../src/io/input.ts';
import { forgeProof } from './helpers/forge.ts';
import { Contract } from 'ethers';
import { readProofArgs } from '../src/chain/calldata.ts';
import { deploySingleSignalVerifier, singleSignalArtifact, singleSignalClaim } from '../src/chain/poseidon-contract.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'models');
const model = join(FIXTURES, 'gemm_basic.onnx');
const input = JSON.parse(readFileSync(join(FIXTURES, 'gemm_basic.input.json'), 'utf8'));

/** The same architecture with other weights: every initializer's values reversed (same ranges, so same widths). */
function otherWeights(): string {
  const m = onnx.ModelProto.decode(readFileSync(model));
  for (const t of m.graph!.initializer!) {
    if (t.rawData?.length) {
      const floats = new Float32Array(new Uint8Array(t.rawData).slice().buffer).reverse();
      t.rawData = new Uint8Array(floats.buffer);
    } else t.floatData = t.floatData!.slice().reverse();
  }
  const path = join(tempDir('other-weights'), 'model.onnx');
  writeFileSync(path, onnx.ModelProto.encode(m).finish());
  return path;
}

test.after(releaseCurve);

test('hashed weights: witness = reference, the model id is the weights\' Poseidon digest, one circuit per architecture, tampering caught', async () => {
  const a = await compileAndCheck(model, input, { paramVisibility: 'hashed' });
  assert.deepEqual(a.check.mismatches, []);
  assert.deepEqual(a.check.violated, []);
  assert.equal(a.manifest.visibility.params, 'hashed');
  assert.equal(a.manifest.publicSignals[0].kind, 'modelId', 'the model id is the first public signal');
  assert.equal(a.check.witness[1].toString(), a.manifest.commitments.modelId, 'the circuit computes the model id');

  // The model id recomputed outside the circuit from params.json and the recorded packing.
  await loadPoseidon();
  const params = JSON.parse(readFileSync(join(a.dir, 'params.json'), 'utf8')) as Record<string, string[]>;
  const fields = a.manifest.commitments.params!.flatMap((p, i) => pack(params[`p${i}`].map(BigInt), p.layout));
  assert.equal(hashChain(fields).toString(), a.manifest.commitments.modelId);
  // No weight is a public signal, and the circuit source holds no weight table.
  const pub = a.manifest.publicSignals.map((_, i) => a.check.witness[i + 1].toString());
  const weights = new Set(Object.values(params).flat().filter((v) => BigInt(v) > 1n || BigInt(v) < -1n));
  assert.ok(!pub.some((p) => weights.has(p)), 'weights never appear in public.json');

  // Other weights, same architecture: the same r1cs (so one verifying key), another model id.
  const b = await compileAndCheck(otherWeights(), input, { paramVisibility: 'hashed' });
  assert.deepEqual(b.check.violated, []);
  assert.equal(b.manifest.circuit.r1csSha256, a.manifest.circuit.r1csSha256, 'the circuit does not depend on the weights');
  assert.notEqual(b.manifest.commitments.modelId, a.manifest.commitments.modelId);

  // Mutation: a weight changed in the witness breaks the constraints (its range check, products and digest).
  // --O2 keeps one witness entry per value: the weight lives on as its signal, a product's operand or a bit.
  const { componentOf } = layoutCircuit(a.program);
  const names = [
    ...a.program.params[0].wires.map((_, i) => `main.p0[${i}]`),
    ...a.program.gadgets.flatMap((g, id) => (g.def.kind === 'product' ? [`main.${componentOf[id]}.b`] : [])),
  ];
  const entries = names.map((n) => a.check.symbols.get(n)).filter((i): i is number => i !== undefined && i > 0);
  assert.ok(entries.length > 0, 'weights are witness entries');
  for (const idx of entries.slice(0, 20)) {
    const tampered = a.check.witness.slice();
    tampered[idx] += 1n;
    assert.ok(violatedConstraints(a.check.r1cs, tampered, 1).length > 0, 'a changed weight violates a constraint');
  }
});

test('hashed weights end to end: prove, verify off-chain and on-chain; a proof made with other weights is refused', async () => {
  const a = tempDir('params-a');
  const b = tempDir('params-b');
  await compile(model, a, { paramVisibility: 'hashed' });
  await compile(otherWeights(), b, { paramVisibility: 'hashed' });
  await setup(a);
  // One setup serves the whole architecture: b reuses a's zkey (same r1cs), as a provider with many models would.
  const manifestA = readManifest(a);
  const manifestB = readManifest(b);
  for (const f of ['zkey', 'vkey'] as const) copyFileSync(buildPaths(a)[f], buildPaths(b)[f]);
  writeFileSync(join(b, 'manifest.json'), JSON.stringify({ ...manifestB, setup: manifestA.setup }, null, 2));

  const proofA = join(tempDir('params-proof-a'), 'out');
  const proofB = join(tempDir('params-proof-b'), 'out');
  await prove(a, input, { out: proofA });
  await prove(b, input, { out: proofB });
  assert.equal((await verify(a, proofA)).valid, true);
  assert.equal((await verify(b, proofB)).valid, true);
  // b's proof satisfies the shared verifying key, but it is about b's weights: a refuses it by model id.
  const crossed = await verify(a, proofB);
  assert.equal(crossed.valid, false);
  assert.match(crossed.results[0].reason ?? '', /model id/);

  const chain = await connect();
  try {
    const onchain = await verifyOnchain(a, proofA, { chain });
    assert.equal(onchain.valid, true, 'the generated Solidity verifier accepts the proof');
    assert.ok(onchain.submit, 'and the registry records it');
    // The registry checks the proven model id: b's proof cannot be recorded as an inference of a.
    await assert.rejects(verifyOnchain(a, proofB, { chain }), /ModelIdMismatch/);
  } finally {
    await chain.close();
  }
});

test('hashed weights + single signal: a proof forged with other weights from the public wasm and zkey alone is refused by verify and by the registry', async () => {
  const a = tempDir('params-single');
  await compile(model, a, { paramVisibility: 'hashed', singleSignal: true });
  await setup(a);
  const manifest = readManifest(a);
  assert.deepEqual(manifest.publicSignals.map((s) => s.kind), ['modelId', 'commitment'], 'the proven model id is a public signal of its own');
  const honest = join(tempDir('params-single-proof'), 'out');
  const proven = await prove(a, input, { out: honest });
  assert.equal((await verify(a, honest)).valid, true);

  // The forger has the build's public files but not params.json: it proves with weights of its own (the
  // circuit fixes only their widths), here -1, 0, 1 in turn, which every weight and bias width admits.
  const signals: Record<string, string[]> = witnessInput(manifest, encodeInputs(manifest, input));
  manifest.commitments.params!.forEach((p, i) => (signals[`p${i}`] = Array.from({ length: p.layout.count }, (_, k) => String((k % 3) - 1))));
  const forged = join(tempDir('params-single-forged'), 'out');
  const forgedSignals = await forgeProof(a, signals, forged);

  const offchain = await verify(a, forged);
  assert.equal(offchain.valid, false, `zkml verify (no claims) must refuse a proof about other weights; public signals ${forgedSignals}`);
  assert.match(offchain.results[0].reason ?? '', /model id/);

  const chain = await connect();
  try {
    const recorded = await verifyOnchain(a, honest, { chain });
    assert.equal(recorded.valid, true);
    assert.ok(recorded.submit, 'the honest proof is recorded');
    await assert.rejects(verifyOnchain(a, forged, { chain }), /ModelIdMismatch/, 'the registry refuses the forged proof under the build\'s model id');

    // SingleSignalVerifier passes the model id it is asked about as the first signal: the honest claim
    // verifies, the forged proof does not pass for the build's model.
    const ssv = await deploySingleSignalVerifier(a, { chain });
    const contract = new Contract(ssv.address, singleSignalArtifact().abi as never, chain.provider);
    assert.equal(await contract.modelIdSignal(), true);
    const outputs = new Map(proven.outputs.outputs.map((t) => [t.name, t.ints.map(BigInt)]));
    const claim = await singleSignalClaim(manifest, { inputs: encodeInputs(manifest, input), outputs });
    const [h, f] = [readProofArgs(honest), readProofArgs(forged)];
    assert.equal(await contract.verify(claim.modelId, claim.inputDigest, claim.outputs, h.a, h.b, h.c), claim.commitment);
    await assert.rejects(contract.verify(claim.modelId, claim.inputDigest, claim.outputs, f.a, f.b, f.c), (err: any) => err.revert?.name === 'InvalidProof');
  } finally {
    await chain.close();
  }
});

test('private weights: unbound, never public, no model id signal', async () => {
  const r = await compileAndCheck(model, input, { paramVisibility: 'private' });
  assert.deepEqual(r.check.mismatches, []);
  assert.deepEqual(r.check.violated, []);
  assert.ok(!r.manifest.publicSignals.some((s) => s.kind === 'modelId'));
  assert.equal(r.manifest.commitments.params, undefined);
  assert.ok(r.program.params.length > 0);
});

test('hashed weights in a convolution: the same outputs as fixed weights, witness = reference', async () => {
  const dir = join(requireShared(join(SHARED_MODELS, 'ezkl-examples', '1l_conv')));
  const convInput = JSON.parse(readFileSync(join(dir, 'input.json'), 'utf8'));
  const fixed = await compileAndCheck(join(dir, 'network.onnx'), convInput, { inputRange: [-4, 4] });
  const hashed = await compileAndCheck(join(dir, 'network.onnx'), convInput, { inputRange: [-4, 4], paramVisibility: 'hashed' });
  assert.deepEqual(hashed.check.mismatches, []);
  assert.deepEqual(hashed.check.violated, []);
  assert.deepEqual(hashed.floats, fixed.floats, 'private weights compute exactly what fixed weights do');
  assert.ok(hashed.program.gadgets.some((g) => g.def.kind === 'product'), 'each multiplication by a weight is a product');
});
