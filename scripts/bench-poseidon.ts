/**
 * On-chain gas of the three ways to check an iris inference (fixtures/models/iris.onnx, 4 features → 8 ReLU → 3
 * logits, input range 0..8) on the in-process chain (Hardhat 2, its default hardfork), zkml's default bytecode
 * (solc 0.8.37, evmVersion paris, optimizer 200 runs). Prints one JSON object.
 *
 *   npx tsx scripts/bench-poseidon.ts
 *
 * (a) outputsPublic: the default build (hashed input, public output): verifyProof with the 3 logits and the
 *     input digest as public signals;
 * (b) singleSignal: the --single-signal build's verifyProof alone (one signal, Poseidon(model id, input digest,
 *     output digest)), which leaves the output unchecked unless the caller recomputes the signal;
 * (c) singleSignalRecomputed: SingleSignalVerifier.verify, which recomputes that signal on chain from the claimed
 *     logits (packing + circomlibjs' Poseidon contracts: Poseidon(1) for the output digest, Poseidon(3) for the
 *     signal) and then calls the same verifier.
 * Every figure is the receipt gas of a transaction (21,000 base and calldata included) sent with a generous
 * explicit gas limit; each proof is checked to be valid first. Also: each Poseidon width's call and deployment
 * gas, SingleSignalVerifier's deployment, and the recomputation alone (commitment()) for outputs packing into 1 to 6
 * field elements. Receipt gas varies by a few dozen gas with the proof's zero bytes.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Contract, ContractFactory, type TransactionReceipt } from 'ethers';
import { cachedBuild } from '../test/helpers/builds.ts';
import { setup } from '../src/setup/setup.ts';
import { prove } from '../src/prove/prove.ts';
import { readManifest } from '../src/manifest.ts';
import { encodeInputs } from '../src/io/input.ts';
import { releaseCurve } from '../src/util/snark.ts';
import { readProofArgs, verifierInterface, verifyProofCalldata } from '../src/chain/calldata.ts';
import { connect, type Chain } from '../src/chain/provider.ts';
import { DEFAULT_EVM_VERSION, SOLC_VERSION, exportVerifier } from '../src/chain/solidity.ts';
import { MAX_POSEIDON_INPUTS, deployPoseidon, deploySingleSignalVerifier, poseidonInterface, singleSignalArtifact, singleSignalClaim, singleSignalConstructorArgs } from '../src/chain/poseidon-contract.ts';
import { packLayout } from '../src/commit/pack.ts';

const ROOT = join(import.meta.dirname, '..');
const model = join(ROOT, 'fixtures', 'models', 'iris.onnx');
const input = JSON.parse(readFileSync(join(ROOT, 'fixtures', 'iris-samples', 'sample-0.json'), 'utf8'));
const GAS_LIMIT = 2_000_000;

async function gasOf(chain: Chain, to: string, data: string): Promise<number> {
  const receipt = (await (await chain.signer.sendTransaction({ to, data, gasLimit: GAS_LIMIT })).wait()) as TransactionReceipt;
  if (receipt.status !== 1) throw new Error(`transaction to ${to} failed`);
  return Number(receipt.gasUsed);
}

/** A copy of the cached build of iris with `opts`, set up, with a proof of the setosa sample. */
async function proven(tmp: string, name: string, opts: { singleSignal?: boolean }) {
  const dir = join(tmp, name);
  cpSync(await cachedBuild(model, { inputRange: [0, 8], ...opts }), dir, { recursive: true });
  await setup(dir);
  const out = join(tmp, `${name}-proof`);
  const result = await prove(dir, input, { out });
  return { dir, out, result, manifest: readManifest(dir) };
}

const tmp = mkdtempSync(join(tmpdir(), 'zkml-bench-poseidon-'));
const chain = await connect();
try {
  const plain = await proven(tmp, 'outputs-public', {});
  const single = await proven(tmp, 'single-signal', { singleSignal: true });

  // (a) outputs (and the input digest) as public signals.
  const exported = await exportVerifier(plain.dir);
  const plainVerifier = await new ContractFactory(exported.artifact.abi as never, exported.artifact.bytecode, chain.signer).deploy();
  await plainVerifier.waitForDeployment();
  const plainArgs = readProofArgs(plain.out);
  const plainAddress = await plainVerifier.getAddress();
  const n = plainArgs.input.length;
  if (!(await new Contract(plainAddress, verifierInterface(n), chain.provider).verifyProof(plainArgs.a, plainArgs.b, plainArgs.c, plainArgs.input))) throw new Error('(a): the proof does not verify');
  const outputsPublic = { publicSignals: n, signals: plain.manifest.publicSignals.map((s) => s.kind), verifyProofGas: await gasOf(chain, plainAddress, verifyProofCalldata(plainArgs)) };

  // (b) the single signal alone, and (c) through SingleSignalVerifier.
  const deployed = await deploySingleSignalVerifier(single.dir, { chain });
  const singleArgs = readProofArgs(single.out);
  if (!(await new Contract(deployed.verifier, verifierInterface(1), chain.provider).verifyProof(singleArgs.a, singleArgs.b, singleArgs.c, singleArgs.input))) throw new Error('(b): the proof does not verify');
  const singleSignal = { publicSignals: 1, verifyProofGas: await gasOf(chain, deployed.verifier, verifyProofCalldata(singleArgs)) };

  const outputs = new Map(single.result.outputs.outputs.map((t) => [t.name, t.ints.map(BigInt)]));
  const claim = await singleSignalClaim(single.manifest, { inputs: encodeInputs(single.manifest, input), outputs });
  if (claim.commitment !== singleArgs.input[0]) throw new Error('(c): the recomputed signal differs from the proof\'s');
  const helper = new Contract(deployed.address, singleSignalArtifact().abi as never, chain.provider);
  const verifyArgs = [claim.modelId, claim.inputDigest, claim.outputs, singleArgs.a, singleArgs.b, singleArgs.c] as const;
  if ((await helper.verify(...verifyArgs)) !== claim.commitment) throw new Error('(c): SingleSignalVerifier does not accept the proof');
  const packing = single.manifest.commitments.output!;
  const singleSignalRecomputed = {
    outputs: claim.outputs.length,
    outputFieldElements: packing.reduce((m, p) => m + p.layout.fieldElements, 0),
    poseidonCalls: Object.keys(deployed.poseidon).map(Number),
    verifyGas: await gasOf(chain, deployed.address, helper.interface.encodeFunctionData('verify', verifyArgs)),
    // The recomputation alone (signal from the claim, no proof check), as a transaction of its own.
    commitmentGas: await gasOf(chain, deployed.address, helper.interface.encodeFunctionData('commitment', [claim.modelId, claim.inputDigest, claim.outputs])),
  };

  // The recomputation alone as the packed output grows: 24-bit logits (iris' width), 10 to a field element,
  // 1 to 6 elements (the widest Poseidon circomlibjs makes); a commitment() transaction on a SingleSignalVerifier
  // configured with that packing (digests only: no proof of such a model is needed for this figure).
  const allWidths = Object.fromEntries(await Promise.all(Array.from({ length: MAX_POSEIDON_INPUTS }, async (_, i) => [i + 1, deployed.poseidon[i + 1] ?? (await deployPoseidon(chain, i + 1)).address])));
  const recomputationByFieldElements = [];
  for (let m = 1; m <= MAX_POSEIDON_INPUTS; m++) {
    const count = 10 * m;
    const layout = packLayout(count, -(1n << 23n), (1n << 23n) - 1n);
    const c = await new ContractFactory(helper.interface, singleSignalArtifact().bytecode, chain.signer).deploy(...singleSignalConstructorArgs(deployed.verifier, allWidths, [{ tensor: 'y', layout }]));
    await c.waitForDeployment();
    const values = Array.from({ length: count }, (_, i) => BigInt(i * 1000 - 20_000));
    const data = helper.interface.encodeFunctionData('commitment', [claim.modelId, claim.inputDigest, values]);
    recomputationByFieldElements.push({ outputs: count, fieldElements: layout.fieldElements, commitmentGas: await gasOf(chain, await c.getAddress(), data) });
  }

  // circomlibjs' Poseidon contracts, each width: one call with inputs 1..n, deployment, runtime size.
  const poseidon = [];
  for (let w = 1; w <= MAX_POSEIDON_INPUTS; w++) {
    const d = await deployPoseidon(chain, w);
    const data = poseidonInterface(w).encodeFunctionData('poseidon', [Array.from({ length: w }, (_, i) => BigInt(i + 1))]);
    poseidon.push({ inputs: w, callGas: await gasOf(chain, d.address, data), deployGas: Number(d.gasUsed), runtimeBytes: ((await chain.provider.getCode(d.address)).length - 2) / 2 });
  }

  console.log(
    JSON.stringify(
      {
        bench: 'poseidon',
        chain: 'in-process Hardhat 2.29.1 (EDR), hardfork osaka (its default)',
        solc: SOLC_VERSION,
        evmVersion: DEFAULT_EVM_VERSION,
        model: 'fixtures/models/iris.onnx (4 → 8 ReLU → 3 logits), --input-range 0,8, setosa sample',
        outputsPublic,
        singleSignal,
        singleSignalRecomputed,
        deployGas: {
          outputsPublicVerifier: Number((await plainVerifier.deploymentTransaction()!.wait())!.gasUsed),
          singleSignalVerifierGroth16: Number(deployed.gasUsed.verifier),
          singleSignalVerifier: Number(deployed.gasUsed.singleSignalVerifier),
          singleSignalVerifierBytes: ((await chain.provider.getCode(deployed.address)).length - 2) / 2,
        },
        recomputationByFieldElements,
        poseidon,
      },
      null,
      2,
    ),
  );
} finally {
  await chain.close();
  await releaseCurve();
  rmSync(tmp, { recursive: true, force: true });
}
