import { existsSync, readFileSync } from 'node:fs';
import { AbiCoder, Contract, ZeroAddress, getAddress, keccak256 } from 'ethers';
import { buildPaths, readManifest, type Deployment as ManifestDeployment, type Manifest } from '../manifest.ts';
import { verifiesOffchain } from '../prove/verify.ts';
import { ZkmlError } from '../util/errors.ts';
import { decodePublicSignals } from '../io/output.ts';
import { readProofArgs, verifierInterface, type VerifyProofArgs } from './calldata.ts';
import { deploy, modelIdOf, registryArtifact } from './deploy.ts';
import { chainError, connect, ensureFunds, type Chain, type ChainOptions } from './provider.ts';

export interface VerifyOnchainOptions extends ChainOptions {
  /** An open connection, e.g. the one deploy() used. Default: connect(opts). */
  chain?: Chain;
  /** Key under manifest.deployments (default: the chain id, or 'in-process'). */
  network?: string;
  /** Addresses to use instead of those recorded in manifest.deployments. */
  verifier?: string;
  registry?: string;
  /** Only the verifier's view call: no transaction, no gas spent. */
  viewOnly?: boolean;
  log?: (message: string) => void;
}

export interface OnchainVerification {
  network: string;
  chainId: string;
  modelId: string;
  verifier: string;
  registry?: string;
  /** The verifier's answer to an eth_call of verifyProof. */
  valid: boolean;
  /**
   * Why the verifier said no: whether the proof verifies against the build's own verification key off-chain
   * (then the contract checks another key) or not even there (then it is no proof of this build's setup).
   */
  reason?: string;
  /** keccak256(abi.encode(modelId, publicSignals)): the registry's key for this statement. */
  inferenceId: string;
  /** The registry transaction, when one was sent (valid proof, new statement, not viewOnly). */
  submit?: { txHash: string; blockNumber: number; gasLimit: bigint; gasUsed: bigint };
  /** The statement was recorded before: the registry refuses replays, so nothing was sent. */
  alreadyRecorded?: { submitter: string; blockNumber: bigint };
  /** verifyOnchain deployed the build first (a fresh in-process chain has nothing on it). */
  deployed: boolean;
}

/** Gas for the view call: far above any verifier's need, so the answer never depends on running short. */
const VIEW_GAS = 10_000_000n;

/**
 * A floor for registry.submit's gas limit that does not trust any estimate: the pairing check (181k) and each
 * public signal's ecMul + ecAdd (~6.2k) need that much *inside* the verifier, which gets only 63/64 of what
 * the registry has; on top come the registry's storage write (~22k), event, calldata and the 21k base fee.
 * Measured submit gas: 249,857 with 1 signal to 358,129 with 16; the floor stays 24-28% above.
 */
export function submitGasFloor(numPublicSignals: number): bigint {
  return 300_000n + 10_000n * BigInt(numPublicSignals);
}

/**
 * The explicit gas limit of a submit transaction: 25% over the node's estimate, and never below the floor.
 * The registry reverts when verification fails, so a correct node's estimate already is a passing amount;
 * the margin and floor cover nodes whose estimators cut corners. A bare estimate is never sent as is: with a
 * verifier called directly it makes verifyProof run out of gas in the pairing and quietly return false.
 */
export function submitGasLimit(estimate: bigint, numPublicSignals: number): bigint {
  const padded = (estimate * 5n) / 4n;
  const floor = submitGasFloor(numPublicSignals);
  return padded > floor ? padded : floor;
}

export function inferenceIdOf(modelId: string, publicSignals: bigint[]): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(['bytes32', 'uint256[]'], [modelId, publicSignals]));
}

interface Deployment {
  verifier: string;
  registry?: string;
  deployed: boolean;
}

/**
 * The deployment recorded for `network` on this chain that verifies an earlier setup's key: moved to
 * retiredDeployments by a new setup, or recorded with another vkey (e.g. a manifest edited by hand).
 */
function staleDeployment(manifest: Manifest, network: string, chainId: string): (ManifestDeployment & { retiredAt?: string }) | undefined {
  const current = manifest.deployments?.[network];
  if (current?.chainId === chainId && current.vkeySha256 !== undefined && current.vkeySha256 !== manifest.setup?.vkeySha256) return current;
  const retired = manifest.retiredDeployments?.[network];
  return !current && retired?.chainId === chainId ? retired : undefined;
}

/** Addresses from the options or the manifest; on a fresh in-process chain, deploys the build first. */
async function locate(dir: string, chain: Chain, network: string, opts: VerifyOnchainOptions): Promise<Deployment> {
  const manifest = readManifest(dir);
  const chainId = chain.chainId.toString();
  const stale = opts.verifier ? undefined : staleDeployment(manifest, network, chainId);
  // The old verifier is live on this chain: using it would refuse every proof, and deploying again into the
  // same registry fails (ids are immutable). Said plainly, with what to do.
  if (stale && (await chain.provider.getCode(stale.verifier)) !== '0x') {
    const when = stale.retiredAt ? ` (new verification key since ${stale.retiredAt})` : '';
    throw new ZkmlError(
      `the deployment recorded for network '${network}' (verifier ${stale.verifier}${stale.registry ? `, registry ${stale.registry}` : ''}) verifies the key of an earlier setup of this build: zkml setup, contribute or beacon ran since${when}, so that verifier refuses every proof of the current setup. ` +
        `Deploy again: ${chain.inProcess ? "deploy(dir, { chain, registry: 'new' })" : `'zkml deploy ${dir} --rpc-url ${stale.rpcUrl ?? chain.label} --registry new'`}${stale.registry ? ` (registry ${stale.registry} binds model ${modelIdOf(manifest)} to the old verifier for good)` : ''}`,
      'E_STALE_DEPLOYMENT',
      chain.label,
    );
  }
  const entry = stale ? undefined : manifest.deployments?.[network];
  const recorded = entry?.chainId === chainId ? entry : undefined;
  const verifier = opts.verifier ?? recorded?.verifier;
  if (verifier && (await chain.provider.getCode(verifier)) !== '0x') {
    return { verifier: getAddress(verifier), registry: opts.registry ?? recorded?.registry, deployed: false };
  }
  if (chain.inProcess && !opts.verifier) {
    opts.log?.('the in-process chain starts empty: deploying this build on it first');
    const d = await deploy(dir, { chain, network, registry: opts.registry, log: opts.log });
    return { verifier: d.verifier, registry: d.registry, deployed: true };
  }
  throw new ZkmlError(
    verifier ? `no contract at verifier ${verifier} on this chain` : `this build has no deployment recorded for network '${network}': run 'zkml deploy ${dir}' with the same --rpc-url first`,
    'E_NOT_DEPLOYED',
    chain.label,
  );
}

/** A verifier deployed from an older setup rejects every proof of the current one: say so instead of "invalid". */
async function checkVerifierIsCurrent(dir: string, chain: Chain, verifier: string): Promise<void> {
  const artifactPath = buildPaths(dir).verifierArtifact;
  if (!existsSync(artifactPath)) return;
  const expected: string = JSON.parse(readFileSync(artifactPath, 'utf8')).deployedBytecode;
  if ((await chain.provider.getCode(verifier)) !== expected) {
    throw new ZkmlError(`the contract at ${verifier} is not this build's current verifier (Verifier.json): the setup or --evm-version changed since the deployment. Run 'zkml deploy ${dir}' again`, 'E_STALE_VERIFIER', chain.label);
  }
}

async function submitToRegistry(chain: Chain, registryAddress: string, verifier: string, modelId: string, args: VerifyProofArgs, result: OnchainVerification): Promise<void> {
  const registry = new Contract(registryAddress, registryArtifact().abi as never, chain.signer);
  let bound: string, seen: [string, bigint];
  try {
    [[bound], seen] = await Promise.all([registry.models(modelId), registry.inferences(result.inferenceId)]);
  } catch (err) {
    throw chainError(err, `reading registry ${registryAddress}`, chain);
  }
  if (bound === ZeroAddress) throw new ZkmlError(`model ${modelId} is not registered in registry ${registryAddress}: run 'zkml deploy'`, 'E_NOT_REGISTERED', chain.label);
  if (getAddress(bound) !== verifier) throw new ZkmlError(`registry ${registryAddress} binds model ${modelId} to verifier ${bound}, not ${verifier}`, 'E_MODEL_ID_TAKEN', chain.label);
  if (seen[0] !== ZeroAddress) {
    result.alreadyRecorded = { submitter: seen[0], blockNumber: seen[1] };
    return;
  }

  const callArgs = [modelId, args.a, args.b, args.c, args.input] as const;
  let gasLimit: bigint;
  try {
    gasLimit = submitGasLimit(await registry.submit.estimateGas(...callArgs), args.input.length);
  } catch (err) {
    throw chainError(err, 'estimating registry.submit', chain, registry.interface);
  }
  await ensureFunds(chain, gasLimit, 'registry.submit');
  let receipt;
  try {
    receipt = await (await registry.submit(...callArgs, { gasLimit })).wait();
  } catch (err) {
    throw chainError(err, 'registry.submit', chain, registry.interface);
  }
  if (!receipt || receipt.status !== 1) throw new ZkmlError(`registry.submit failed (${receipt?.hash})`, 'E_CHAIN', chain.label);
  const event = receipt.logs.map((l: { topics: string[]; data: string }) => registry.interface.parseLog(l)).find((e: { name: string } | null) => e?.name === 'InferenceRecorded');
  if (!event || event.args.inferenceId !== result.inferenceId) {
    throw new ZkmlError(`registry.submit succeeded without the expected InferenceRecorded event (${receipt.hash})`, 'E_CHAIN', chain.label);
  }
  result.submit = { txHash: receipt.hash, blockNumber: receipt.blockNumber, gasLimit, gasUsed: receipt.gasUsed };
}

/**
 * Checks `<out>/proof.json` + `<out>/public.json` on chain: the verifier's view result (eth_call), then, for a
 * valid proof of a new statement, a registry.submit transaction with an explicit gas limit that records it.
 * An invalid proof is reported (valid: false), not thrown, and nothing is sent.
 */
export async function verifyOnchain(dir: string, out: string, opts: VerifyOnchainOptions = {}): Promise<OnchainVerification> {
  const manifest = readManifest(dir);
  const args = readProofArgs(out);
  if (args.input.length !== manifest.publicSignals.length) {
    throw new ZkmlError(`public.json has ${args.input.length} signals; this build's circuit has ${manifest.publicSignals.length}: is it a proof of another model?`, 'E_PROOF_FORMAT', out);
  }
  // Public inputs or outputs outside the build's integer ranges are no statement of the model: never recorded.
  decodePublicSignals(manifest, args.input.map(String));
  const chain = opts.chain ?? (await connect(opts));
  try {
    return await verifyOn(chain, dir, out, manifest, args, opts);
  } finally {
    // A connection made here is closed here; one passed in belongs to the caller.
    if (!opts.chain) await chain.close();
  }
}

async function verifyOn(chain: Chain, dir: string, out: string, manifest: Manifest, args: VerifyProofArgs, opts: VerifyOnchainOptions): Promise<OnchainVerification> {
  const network = opts.network ?? chain.key;
  const modelId = modelIdOf(manifest);
  const { verifier, registry, deployed } = await locate(dir, chain, network, opts);
  await checkVerifierIsCurrent(dir, chain, verifier);

  const contract = new Contract(verifier, verifierInterface(args.input.length), chain.provider);
  const block = await chain.provider.getBlock('latest');
  const gasLimit = block && block.gasLimit < VIEW_GAS ? block.gasLimit : VIEW_GAS;
  let valid: boolean;
  try {
    valid = await contract.verifyProof.staticCall(args.a, args.b, args.c, args.input, { gasLimit });
  } catch (err) {
    throw chainError(err, 'verifyProof (eth_call)', chain);
  }
  const result: OnchainVerification = {
    network,
    chainId: chain.chainId.toString(),
    modelId,
    verifier,
    registry,
    valid,
    inferenceId: inferenceIdOf(modelId, args.input),
    deployed,
  };
  if (!valid) {
    result.reason = (await verifiesOffchain(dir, out))
      ? `the proof verifies against this build's verification key off-chain, but the verifier at ${verifier} checks another key (deployed for an earlier setup of this build, or for another build): deploy this build's verifier with 'zkml deploy ${dir}'`
      : "the proof does not verify against this build's verification key either: it is not a proof of this build's current setup";
  }
  if (valid && registry && !opts.viewOnly) await submitToRegistry(chain, registry, verifier, modelId, args, result);
  return result;
}
