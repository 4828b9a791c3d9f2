import { Contract, ContractFactory, ZeroAddress, getAddress, type Interface, type TransactionReceipt } from 'ethers';
import { readManifest, writeManifest, type Manifest } from '../manifest.ts';
import { ZkmlError } from '../util/errors.ts';
import { chainError, connect, ensureFunds, type Chain, type ChainOptions } from './provider.ts';
import { DEFAULT_EVM_VERSION, MAX_DEPLOYED_BYTES, exportVerifier, projectContract, type ExportedVerifier, type HardhatArtifact } from './solidity.ts';


/** Gas limit of registerModel, fixed because it is counted before the registry exists to estimate it (measured: 50.5k). */
const REGISTER_GAS_LIMIT = 150_000n;

/**
 * The id a model is registered under: the canonical model id of the manifest (a hash of the quantized
 * circuit, the same field element single-signal proofs commit to), as bytes32.
 */
export function modelIdOf(manifest: Manifest): string {
  if (!/^\d+$/.test(manifest.modelId ?? '')) throw new ZkmlError(`modelId ${JSON.stringify(manifest.modelId)} is not a decimal field element`, 'E_BAD_MANIFEST');
  return `0x${BigInt(manifest.modelId).toString(16).padStart(64, '0')}`;
}

/** The InferenceRegistry artifact (verifier-contracts/InferenceRegistry.sol). */
export function registryArtifact(evmVersion = DEFAULT_EVM_VERSION): HardhatArtifact {
  return projectContract('InferenceRegistry', evmVersion);
}

export interface DeployOptions extends ChainOptions {
  /** An open connection (e.g. the in-process chain a later verifyOnchain will use). Default: connect(opts). */
  chain?: Chain;
  /** An existing InferenceRegistry to register the model in, or 'new' to deploy a fresh one. */
  registry?: string;
  /** Key under manifest.deployments (default: the chain id, or 'in-process'). */
  network?: string;
  evmVersion?: string;
  /** Progress lines for humans (deployments on real chains wait for blocks). */
  log?: (message: string) => void;
}

export interface DeployResult {
  chain: Chain;
  /** The manifest.deployments key written. */
  network: string;
  chainId: string;
  modelId: string;
  contractName: string;
  verifier: string;
  registry: string;
  /** What this call sent (false: found already in place on this chain). */
  sent: { verifier: boolean; registry: boolean; registerModel: boolean };
  /** Receipt gas of each transaction sent. */
  gasUsed: { verifier?: bigint; registry?: bigint; registerModel?: bigint };
}

const withHeadroom = (gas: bigint) => (gas * 12n) / 10n;

async function hasCode(chain: Chain, address: string | undefined, code?: string): Promise<boolean> {
  if (!address) return false;
  const onChain = await chain.provider.getCode(address);
  return code === undefined ? onChain !== '0x' : onChain === code;
}

async function mined(chain: Chain, what: string, send: () => Promise<{ wait(): Promise<TransactionReceipt | null> }>, iface?: Interface): Promise<TransactionReceipt> {
  let receipt: TransactionReceipt | null;
  try {
    receipt = await (await send()).wait();
  } catch (err) {
    throw chainError(err, what, chain, iface);
  }
  if (!receipt || receipt.status !== 1) throw new ZkmlError(`${what}: transaction failed (${receipt?.hash})`, 'E_CHAIN', chain.label);
  return receipt;
}

/** A registry to use: given, remembered by this connection, recorded in the manifest (if still there), or none. */
async function existingRegistry(chain: Chain, opts: DeployOptions, recorded: string | undefined): Promise<string | undefined> {
  if (opts.registry === 'new') return undefined;
  if (opts.registry !== undefined) {
    if (!(await hasCode(chain, opts.registry))) throw new ZkmlError(`no contract at --registry ${opts.registry}`, 'E_NOT_REGISTRY', chain.label);
    return getAddress(opts.registry);
  }
  for (const candidate of [chain.registry, recorded]) if (await hasCode(chain, candidate)) return candidate;
  return undefined;
}

/**
 * The verifier an existing registry binds this model to, if its code is this build's verifier (reused as is), or
 * undefined when the model is not registered yet and we may register it. Runs before anything is sent, so a
 * refusal costs nothing.
 */
async function registeredVerifier(chain: Chain, registry: Contract, modelId: string, verifierCode: string): Promise<string | undefined> {
  let bound: string, owner: string;
  try {
    [[bound], owner] = await Promise.all([registry.models(modelId), registry.owner()]);
  } catch (err) {
    throw new ZkmlError(`${registry.target} does not answer as an InferenceRegistry (${chainError(err, 'reading it', chain).message})`, 'E_NOT_REGISTRY', chain.label);
  }
  if (bound !== ZeroAddress) {
    if (await hasCode(chain, bound, verifierCode)) return getAddress(bound);
    throw new ZkmlError(
      `model id ${modelId} is bound to verifier ${bound} in registry ${registry.target} (ids are immutable), and this build's verifier differs: the setup changed since. Deploy a fresh registry (--registry new)`,
      'E_MODEL_ID_TAKEN',
      chain.label,
    );
  }
  const signer = await chain.signer.getAddress();
  if (getAddress(owner) !== signer) {
    throw new ZkmlError(`only the registry's owner ${owner} can register models, not ${signer}: use --registry new to deploy your own`, 'E_NOT_OWNER', chain.label);
  }
  return undefined;
}

/**
 * Deploys the build's verifier (regenerated from circuit.zkey, so it always matches the current setup), an
 * InferenceRegistry if none is known on this chain, and registers the model. Reuses whatever is already in
 * place: a recorded verifier with the same code, a recorded or given registry, an existing registration.
 * Records the addresses in manifest.deployments. On the in-process chain they live only as long as `result.chain`:
 * pass it to verifyOnchain, and close it when done.
 */
export async function deploy(dir: string, opts: DeployOptions = {}): Promise<DeployResult> {
  // Connect first: a wrong URL or key should fail in seconds, before solc runs.
  const chain = opts.chain ?? (await connect(opts));
  try {
    const exported = await exportVerifier(dir, { evmVersion: opts.evmVersion });
    if (exported.deployedBytes > MAX_DEPLOYED_BYTES) {
      throw new ZkmlError(`the verifier is ${exported.deployedBytes} bytes, above the ${MAX_DEPLOYED_BYTES}-byte limit of EIP-170: make fewer signals public (hash or pack them)`, 'E_VERIFIER_TOO_LARGE', dir);
    }
    return await deployOn(chain, dir, exported, opts);
  } catch (err) {
    if (!opts.chain) await chain.close();
    throw err;
  }
}

async function deployOn(chain: Chain, dir: string, exported: ExportedVerifier, opts: DeployOptions): Promise<DeployResult> {
  const log = opts.log ?? (() => {});
  const manifest = readManifest(dir);
  const modelId = modelIdOf(manifest);
  const network = opts.network ?? chain.key;
  const entry = manifest.deployments?.[network];
  const recorded = entry?.chainId === chain.chainId.toString() ? entry : undefined;
  const registryArt = registryArtifact(exported.evmVersion);
  const code = exported.artifact.deployedBytecode;

  let registry = await existingRegistry(chain, opts, recorded?.registry);
  const registered = registry ? await registeredVerifier(chain, new Contract(registry, registryArt.abi as never, chain.provider), modelId, code) : undefined;
  let verifier = registered ?? ((await hasCode(chain, recorded?.verifier, code)) ? getAddress(recorded!.verifier) : undefined);

  // Check funds for everything before sending anything, so a short balance cannot leave a half deployment.
  const factories = {
    verifier: new ContractFactory(exported.artifact.abi as never, exported.artifact.bytecode, chain.signer),
    registry: new ContractFactory(registryArt.abi as never, registryArt.bytecode, chain.signer),
  };
  const gas = { verifier: 0n, registry: 0n };
  try {
    if (!verifier) gas.verifier = withHeadroom(await chain.signer.estimateGas(await factories.verifier.getDeployTransaction()));
    if (!registry) gas.registry = withHeadroom(await chain.signer.estimateGas(await factories.registry.getDeployTransaction()));
  } catch (err) {
    throw chainError(err, 'estimating deployment gas', chain);
  }
  const registerGas = registered ? 0n : REGISTER_GAS_LIMIT;
  await ensureFunds(chain, gas.verifier + gas.registry + registerGas, `deploying ${exported.contractName}${registry ? '' : ' and InferenceRegistry'}`);

  const sent = { verifier: !verifier, registry: !registry, registerModel: !registered };
  const gasUsed: DeployResult['gasUsed'] = {};
  if (!verifier) {
    log(`deploying ${exported.contractName} on ${chain.label}`);
    const receipt = await mined(chain, `deploying ${exported.contractName}`, () => factories.verifier.deploy({ gasLimit: gas.verifier }).then((c) => c.deploymentTransaction()!));
    verifier = getAddress(receipt.contractAddress!);
    gasUsed.verifier = receipt.gasUsed;
  }
  if (!registry) {
    log(`deploying InferenceRegistry on ${chain.label}`);
    const receipt = await mined(chain, 'deploying InferenceRegistry', () => factories.registry.deploy({ gasLimit: gas.registry }).then((c) => c.deploymentTransaction()!));
    registry = getAddress(receipt.contractAddress!);
    gasUsed.registry = receipt.gasUsed;
  }
  chain.registry = registry;
  if (sent.registerModel) {
    log(`registering model ${modelId}`);
    const contract = new Contract(registry, registryArt.abi as never, chain.signer);
    // Hashed weights: the model id is the proofs' first public signal, which the registry then checks.
    const register = manifest.publicSignals[0]?.kind === 'modelId' ? contract.registerHashedModel : contract.registerModel;
    const receipt = await mined(chain, 'registerModel', () => register(modelId, verifier, manifest.publicSignals.length, { gasLimit: REGISTER_GAS_LIMIT }), contract.interface);
    gasUsed.registerModel = receipt.gasUsed;
  }

  // Re-read: another command may have updated the manifest while we waited for blocks.
  const latest = readManifest(dir);
  latest.deployments = {
    ...latest.deployments,
    [network]: {
      chainId: chain.chainId.toString(),
      verifier,
      registry,
      ...(chain.inProcess ? {} : { rpcUrl: chain.label }),
      deployedAt: new Date().toISOString(),
      ...(manifest.setup ? { vkeySha256: manifest.setup.vkeySha256 } : {}),
    },
  };
  writeManifest(dir, latest);
  return { chain, network, chainId: chain.chainId.toString(), modelId, contractName: exported.contractName, verifier, registry, sent, gasUsed };
}
