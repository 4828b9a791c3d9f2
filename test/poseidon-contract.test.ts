/**
 * The Solidity side of single-signal builds on the in-process chain: circomlibjs' Poseidon contracts against
 * zkml's Poseidon, SingleSignalVerifier's output digest and signal against src/commit (negative values, values at
 * the bounds of the packing widths, several tensors), and proofs of the iris classifier accepted or rejected
 * through it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Contract, ContractFactory, ZeroAddress } from 'ethers';
import { cachedBuild } from './helpers/builds.ts';
import { tempDir } from './helpers/models.ts';
import { TEST_CACHE } from './helpers/cache.ts';
import { setup } from '../src/setup/setup.ts';
import { prove, type ProveResult } from '../src/prove/prove.ts';
import { readManifest, type Manifest } from '../src/manifest.ts';
import { encodeInputs } from '../src/io/input.ts';
import { FIELD_P } from '../src/io/output.ts';
import { releaseCurve } from '../src/util/snark.ts';
import { ZkmlError } from '../src/util/errors.ts';
import { pack, packLayout } from '../src/commit/pack.ts';
import { hashChain, loadPoseidon } from '../src/commit/poseidon.ts';
import { recomputeDigests } from '../src/commit/commitments.ts';
import type { TensorPacking } from '../src/compiler/visibility.ts';
import { readProofArgs } from '../src/chain/calldata.ts';
import { connect, type Chain } from '../src/chain/provider.ts';
import {
  MAX_POSEIDON_INPUTS,
  deployPoseidon,
  deploySingleSignalVerifier,
  poseidonCreationCode,
  poseidonInterface,
  poseidonWidthsFor,
  singleSignalArtifact,
  singleSignalClaim,
  singleSignalConstructorArgs,
  singleSignalPacking,
  type PoseidonContracts,
  type SingleSignalClaim,
  type SingleSignalDeployment,
} from '../src/chain/poseidon-contract.ts';

process.env.ZKML_CACHE ||= TEST_CACHE;

const ROOT = join(import.meta.dirname, '..');
const iris = join(ROOT, 'fixtures', 'models', 'iris.onnx');
const sample = (i: number) => JSON.parse(readFileSync(join(ROOT, 'fixtures', 'iris-samples', `sample-${i}.json`), 'utf8'));

let tmp: string;
let build: string;
let manifest: Manifest;
let proof: string;
let proven: ProveResult;
let claim: SingleSignalClaim;
let chain: Chain;
let deployed: SingleSignalDeployment;
let helper: Contract;
/** Poseidon contracts of every width circomlibjs makes, on `chain`. */
const poseidon: PoseidonContracts = {};

before(async () => {
  tmp = tempDir('poseidon-contract');
  build = join(tmp, 'build');
  cpSync(await cachedBuild(iris, { inputRange: [0, 8], singleSignal: true }), build, { recursive: true });
  await setup(build);
  manifest = readManifest(build);
  proof = join(tmp, 'setosa');
  proven = await prove(build, sample(0), { out: proof });
  const outputs = new Map(proven.outputs.outputs.map((t) => [t.name, t.ints.map(BigInt)]));
  claim = await singleSignalClaim(manifest, { inputs: encodeInputs(manifest, sample(0)), outputs });
  chain = await connect();
  deployed = await deploySingleSignalVerifier(build, { chain });
  helper = new Contract(deployed.address, singleSignalArtifact().abi as never, chain.signer);
  Object.assign(poseidon, deployed.poseidon);
  for (let n = 1; n <= MAX_POSEIDON_INPUTS; n++) poseidon[n] ??= (await deployPoseidon(chain, n)).address;
  await loadPoseidon();
});

after(async () => {
  await chain?.close();
  await releaseCurve();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const reverts = (name: string) => (err: any) => {
  assert.equal(err.revert?.name, name, err.shortMessage ?? err.message);
  return true;
};

test("circomlibjs' Poseidon contracts compute zkml's Poseidon, at every width the generator makes", async () => {
  const big = [0n, 1n, FIELD_P - 1n, (1n << 248n) - 1n, 123456789n, FIELD_P / 2n];
  for (let n = 1; n <= MAX_POSEIDON_INPUTS; n++) {
    const c = new Contract(poseidon[n]!, poseidonInterface(n), chain.provider);
    for (const xs of [Array.from({ length: n }, (_, i) => big[i]), Array.from({ length: n }, (_, i) => big[(i + 2) % big.length])]) {
      assert.equal(await c.poseidon(xs), hashChain(xs), `Poseidon(${n}) of ${xs}`);
    }
  }
  assert.throws(() => poseidonCreationCode(MAX_POSEIDON_INPUTS + 1), (err: ZkmlError) => err.code === 'E_POSEIDON_WIDTH');
  // The selector the contract computes is circomlibjs' own.
  for (let n = 1; n <= MAX_POSEIDON_INPUTS; n++) assert.equal(await helper.poseidonSelector(n), poseidonInterface(n).getFunction('poseidon')!.selector);
});

/** A SingleSignalVerifier for an arbitrary output packing (bound to the iris verifier; only its digests are used). */
async function helperFor(packing: TensorPacking[]): Promise<Contract> {
  const artifact = singleSignalArtifact();
  const factory = new ContractFactory(artifact.abi as never, artifact.bytecode, chain.signer);
  const c = await factory.deploy(...singleSignalConstructorArgs(deployed.verifier, poseidon, packing));
  await c.waitForDeployment();
  return new Contract(await c.getAddress(), artifact.abi as never, chain.provider);
}

/** Packings made by zkml's own packLayout from integer ranges, as the compiler makes them. */
function packingOf(tensors: [lo: bigint, hi: bigint, count: number][]): TensorPacking[] {
  return tensors.map(([lo, hi, count], i) => ({ tensor: `t${i}`, layout: packLayout(count, lo, hi) }));
}

test("the contract's output digest and signal are zkml's: negative values, bounds of the packing widths, several tensors", async () => {
  const inputPacking = packingOf([[0n, 255n, 1]]);
  const modelId = BigInt(manifest.modelId);
  const cases: { what: string; packing: TensorPacking[] }[] = [
    { what: '1-bit values, 248 to an element', packing: packingOf([[0n, 1n, 300]]) },
    { what: 'signed 8-bit', packing: packingOf([[-128n, 127n, 40]]) },
    { what: 'signed 62-bit', packing: packingOf([[-(1n << 61n), (1n << 61n) - 1n, 9]]) },
    { what: 'one 248-bit value per element', packing: packingOf([[-(1n << 247n), (1n << 247n) - 1n, 2]]) },
    { what: 'three tensors, one all negative', packing: packingOf([[-4n, 3n, 5], [-500_000n, -1n, 13], [7n, 30n, 1]]) },
    { what: 'six field elements (the widest Poseidon)', packing: packingOf([[-(1n << 123n), (1n << 123n) - 1n, 12]]) },
  ];
  let rng = 20261124n;
  const random = (lo: bigint, hi: bigint) => {
    let x = 0n;
    for (let i = 0; i < 5; i++) {
      rng = (rng * 6364136223846793005n + 1442695040888963407n) % (1n << 64n);
      x = (x << 64n) | rng;
    }
    return lo + (x % (hi - lo + 1n));
  };
  for (const { what, packing } of cases) {
    const m = packing.reduce((n, p) => n + p.layout.fieldElements, 0);
    assert.ok(m <= MAX_POSEIDON_INPUTS, what);
    const c = await helperFor(packing);
    assert.equal(await c.fieldCount(), BigInt(m), what);
    const fake = { commitments: { modelId: manifest.modelId, single: true, input: inputPacking, output: packing } } as unknown as Manifest;
    const bounds = packing.map((p) => [BigInt(p.layout.lo), BigInt(p.layout.lo) + (1n << BigInt(p.layout.width)) - 1n] as const);
    const vectors: [string, (lo: bigint, hi: bigint, i: number) => bigint][] = [
      ['all at the lower bound', (lo) => lo],
      ['all at the upper bound', (_lo, hi) => hi],
      ['alternating bounds', (lo, hi, i) => (i % 2 ? hi : lo)],
      ['-1, 0 and 1 where in range, else the bounds', (lo, hi, i) => [-1n, 0n, 1n].map((v) => (v < lo ? lo : v > hi ? hi : v))[i % 3]],
      ['random', (lo, hi) => random(lo, hi)],
    ];
    for (const [how, value] of vectors) {
      const outputs = new Map(packing.map((p, t) => [p.tensor, Array.from({ length: p.layout.count }, (_, i) => value(bounds[t][0], bounds[t][1], i))]));
      const flat = packing.flatMap((p) => outputs.get(p.tensor)!);
      const ts = await recomputeDigests(fake, { inputs: new Map([['t0', [42n]]]), outputs });
      assert.equal(await c.outputDigest(flat), ts.outputDigest, `${what}, ${how}: output digest`);
      assert.equal(await c.commitment(modelId, ts.inputDigest, flat), ts.commitment, `${what}, ${how}: signal`);
    }
    // One step outside a tensor's range: zkml's pack() refuses it, and so does the contract.
    const [lo, hi] = bounds[0];
    const first = packing[0].layout.count;
    for (const v of [lo - 1n, hi + 1n]) {
      const flat = packing.flatMap((p, t) => Array.from({ length: p.layout.count }, () => bounds[t][0]));
      flat[first - 1] = v;
      assert.throws(() => pack(flat.slice(0, first), packing[0].layout), /outside the packed range/);
      await assert.rejects(c.outputDigest(flat), reverts('OutputOutOfRange'), `${what}: ${v}`);
    }
  }
});

test('the deployed contract recomputes the iris proof\'s public signal from the claimed outputs', async () => {
  assert.ok(claim.outputs.some((v) => v < 0n), 'the setosa logits include negative integers');
  assert.equal(claim.commitment, BigInt(proven.publicSignals[0]), 'off-chain recomputation (src/commit)');
  assert.equal(await helper.commitment(claim.modelId, claim.inputDigest, claim.outputs), claim.commitment, 'on-chain recomputation');
  assert.deepEqual(poseidonWidthsFor(singleSignalPacking(manifest)), [1, 3], 'three logits pack into one element: Poseidon(1), then Poseidon(3)');
  assert.deepEqual(Object.keys(deployed.poseidon).map(Number), [1, 3]);
  assert.equal(await helper.verifier(), deployed.verifier);
});

test('a valid proof is accepted through SingleSignalVerifier, in a call and in a transaction', async () => {
  const p = readProofArgs(proof);
  const args = [claim.modelId, claim.inputDigest, claim.outputs, p.a, p.b, p.c] as const;
  assert.equal(await helper.verify(...args), claim.commitment);
  // verify reverts instead of returning false, so the node's own estimate is an amount at which the pairing passes.
  const estimate = await helper.verify.estimateGas(...args);
  const receipt = await (await helper.verify.send(...args, { gasLimit: estimate })).wait();
  assert.equal(receipt?.status, 1);
  await assert.rejects(helper.verify.staticCall(...args, { gasLimit: estimate - 20_000n }), 'too little gas reverts, never a quiet false');
});

test('a wrong output, input digest, model id or proof is rejected', async () => {
  const p = readProofArgs(proof);
  const other = await singleSignalClaim(manifest, { inputs: encodeInputs(manifest, sample(4)), outputs: new Map([[manifest.outputs[0].name, claim.outputs]]) });
  assert.notEqual(other.inputDigest, claim.inputDigest);
  const bumped = claim.outputs.map((v, i) => (i === 2 ? v + 1n : v));
  const wrong: [string, unknown[]][] = [
    ['another output', [claim.modelId, claim.inputDigest, bumped, p.a, p.b, p.c]],
    ['outputs in another order', [claim.modelId, claim.inputDigest, [claim.outputs[1], claim.outputs[0], claim.outputs[2]], p.a, p.b, p.c]],
    ['the digest of another input', [claim.modelId, other.inputDigest, claim.outputs, p.a, p.b, p.c]],
    ['another model id', [claim.modelId + 1n, claim.inputDigest, claim.outputs, p.a, p.b, p.c]],
    ['a changed proof', [claim.modelId, claim.inputDigest, claim.outputs, p.c, p.b, p.a]],
  ];
  for (const [what, args] of wrong) await assert.rejects(helper.verify(...args), reverts('InvalidProof'), what);
  // Not field elements: x + p would hash like x, so the contract refuses them.
  await assert.rejects(helper.verify(claim.modelId + FIELD_P, claim.inputDigest, claim.outputs, p.a, p.b, p.c), reverts('NotAFieldElement'));
  await assert.rejects(helper.verify(claim.modelId, claim.inputDigest + FIELD_P, claim.outputs, p.a, p.b, p.c), reverts('NotAFieldElement'));
  await assert.rejects(helper.verify(claim.modelId, claim.inputDigest, claim.outputs.slice(0, 2), p.a, p.b, p.c), reverts('WrongOutputCount'));
  const lo = BigInt(manifest.commitments.output![0].layout.lo);
  await assert.rejects(helper.verify(claim.modelId, claim.inputDigest, [lo - 1n, 0n, 0n], p.a, p.b, p.c), reverts('OutputOutOfRange'));
});

test('builds and layouts it cannot serve are refused, off-chain and by the constructor', async () => {
  const notSingle = { ...manifest, commitments: { ...manifest.commitments, single: false } };
  assert.throws(() => singleSignalPacking(notSingle), (err: ZkmlError) => err.code === 'E_NOT_SINGLE_SIGNAL');
  const seven = packingOf([[0n, (1n << 124n) - 1n, 14]]);
  assert.throws(() => poseidonWidthsFor(seven), (err: ZkmlError) => err.code === 'E_POSEIDON_WIDTH' && /7 field elements/.test(err.message));
  const artifact = singleSignalArtifact();
  const factory = new ContractFactory(artifact.abi as never, artifact.bytecode, chain.signer);
  const deployReverts = async (args: unknown[], name: string) =>
    assert.rejects(factory.getDeployTransaction(...args).then((tx) => chain.signer.call(tx)), (err: any) => {
      assert.equal(factory.interface.parseError(err.data)?.name, name);
      return true;
    });
  await deployReverts(singleSignalConstructorArgs(deployed.verifier, poseidon, seven), 'NoPoseidon');
  await deployReverts(singleSignalConstructorArgs(deployed.verifier, { 1: poseidon[1] }, packingOf([[0n, 1n, 3]])), 'NoPoseidon');
  const tooWide = [{ tensor: 't', layout: { ...packLayout(4, 0n, 255n), perElement: 32 } }];
  await deployReverts(singleSignalConstructorArgs(deployed.verifier, poseidon, tooWide), 'BadLayout');
  await deployReverts(singleSignalConstructorArgs(ZeroAddress, poseidon, packingOf([[0n, 1n, 3]])), 'NotAContract');
});
