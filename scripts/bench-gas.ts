/**
 * On-chain gas by number of public signals: receipt gas of a direct `verifyProof` transaction and of
 * `InferenceRegistry.submit`, plus deployment costs, on the in-process chain (Hardhat 2, its default hardfork) with
 * zkml's default bytecode (solc 0.8.37, evmVersion paris, optimizer 200 runs). Prints one JSON object.
 *
 *   npx tsx scripts/bench-gas.ts [N ...]        (default: 1 2 3 4 8 16)
 *
 * For each N it builds a circuit with N public outputs (out[i] = x0 * x1 + i), sets it up with the cached dev
 * ptau, proves x = [3, 5], deploys it on one shared chain (one registry for all) and sends both transactions.
 * Receipt gas depends on the proof's bytes only through calldata (zero bytes are cheaper), so it varies by a few
 * dozen gas between proofs of the same circuit.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Contract, type TransactionReceipt } from 'ethers';
import { compileCircom } from '../src/circom/compile.ts';
import { buildPaths, readManifest, writeManifest, type Manifest } from '../src/manifest.ts';
import { setup } from '../src/setup/setup.ts';
import { prove } from '../src/prove/prove.ts';
import { releaseCurve } from '../src/util/snark.ts';
import { sha256File, sha256Hex } from '../src/util/hash.ts';
import { readProofArgs, verifierInterface, verifyProofCalldata } from '../src/chain/calldata.ts';
import { connect } from '../src/chain/provider.ts';
import { deploy } from '../src/chain/deploy.ts';
import { DEFAULT_EVM_VERSION, SOLC_VERSION } from '../src/chain/solidity.ts';
import { verifyOnchain } from '../src/chain/verify-onchain.ts';
import { makeTinyBuild } from '../test/helpers/tiny-build.ts';

const counts = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [1, 2, 3, 4, 8, 16];

/**
 * A build folder with `n` public outputs and a model hash of its own. Its manifest is the tiny test build's
 * (test/helpers/tiny-build.ts) with the circuit-specific fields replaced, so it follows the manifest's shape.
 */
async function makeBuild(base: Manifest, dir: string, n: number): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const source = `pragma circom 2.1.0;
template Outs(N) {
  signal input in0[2];
  signal output out0[N];
  for (var i = 0; i < N; i++) out0[i] <== in0[0] * in0[1] + i;
}
component main = Outs(${n});
`;
  const paths = buildPaths(dir);
  writeFileSync(paths.circom, source);
  const r = await compileCircom(paths.circom, dir);
  writeManifest(dir, {
    ...base,
    // Distinct per N: every build is registered in the same registry under its model id.
    model: { ...base.model, path: `outs-${n}`, sha256: sha256Hex(source) },
    modelId: String(n),
    commitments: { ...base.commitments, modelId: String(n) },
    outputs: [{ ...base.outputs[0], shape: [1, n] }],
    publicSignals: Array.from({ length: n }, (_, index) => ({ kind: 'output' as const, tensor: base.outputs[0].name, index })),
    constraints: r.constraints,
    circuit: { ...base.circuit, r1csSha256: sha256File(paths.r1cs), wasmSha256: sha256File(paths.wasm) },
  });
  return dir;
}

const tmp = mkdtempSync(join(tmpdir(), 'zkml-bench-gas-'));
const chain = await connect();
try {
  const rows = [];
  let registryGas: bigint | undefined;
  const base = readManifest(await makeTinyBuild(join(tmp, 'tiny')));
  for (const n of counts) {
    const dir = await makeBuild(base, join(tmp, `n${n}`), n);
    await setup(dir);
    const out = join(tmp, `n${n}-proof`);
    await prove(dir, { x: [[3, 5]] }, { out });
    const d = await deploy(dir, { chain });
    registryGas ??= d.gasUsed.registry;

    // A direct verifyProof transaction, with a generous explicit limit (see the gas trap in verifier-contracts/).
    const args = readProofArgs(out);
    const tx = await chain.signer.sendTransaction({ to: d.verifier, data: verifyProofCalldata(args), gasLimit: 2_000_000 });
    const receipt = (await tx.wait()) as TransactionReceipt;
    const verifier = new Contract(d.verifier, verifierInterface(n), chain.provider);
    if (!(await verifier.verifyProof(args.a, args.b, args.c, args.input))) throw new Error(`N=${n}: the proof does not verify`);

    const v = await verifyOnchain(dir, out, { chain });
    if (!v.submit) throw new Error(`N=${n}: nothing submitted`);
    rows.push({
      publicSignals: n,
      verifyProofGas: Number(receipt.gasUsed),
      submitGas: Number(v.submit.gasUsed),
      submitGasLimit: Number(v.submit.gasLimit),
      deployVerifierGas: Number(d.gasUsed.verifier),
      registerModelGas: Number(d.gasUsed.registerModel),
      verifierBytes: (((await chain.provider.getCode(d.verifier)).length - 2) / 2),
    });
  }
  // Least-squares line through (N, verifyProof gas): the per-signal cost and the fixed part.
  const xs = rows.map((r) => r.publicSignals);
  const ys = rows.map((r) => r.verifyProofGas);
  const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
  const [mx, my] = [mean(xs), mean(ys)];
  const slope = xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0) / xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  console.log(
    JSON.stringify(
      {
        bench: 'gas',
        chain: 'in-process Hardhat 2.29.1 (EDR), hardfork osaka (its default)',
        solc: SOLC_VERSION,
        evmVersion: DEFAULT_EVM_VERSION,
        registryDeployGas: Number(registryGas),
        verifyProofFit: { fixed: Math.round(my - slope * mx), perSignal: Math.round(slope) },
        rows,
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
