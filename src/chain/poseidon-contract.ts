/**
 * The Solidity side of zkml's commitments: Poseidon contracts from circomlibjs' generator, and
 * SingleSignalVerifier (verifier-contracts/), which recomputes a single-signal build's public signal
 * Poseidon(model id, input digest, output digest) from claimed output integers, with the same packing and the
 * same Poseidon chain as src/commit, and checks the proof with the build's Groth16 verifier (one signal; with
 * hashed weights the proven model id, then the signal).
 */
import { ContractFactory, Interface, getAddress, type TransactionReceipt } from 'ethers';
import { poseidonContract } from 'circomlibjs';
import { readManifest, type Manifest } from '../manifest.ts';
import type { TensorPacking } from '../compiler/visibility.ts';
import { chainSizes, hashChain } from '../commit/poseidon.ts';
import { recomputeDigests } from '../commit/commitments.ts';
import { FIELD_P } from '../io/output.ts';
import { ZkmlError } from '../util/errors.ts';
import { chainError, connect, type Chain, type ChainOptions } from './provider.ts';
import { DEFAULT_EVM_VERSION, exportVerifier, projectContract, type HardhatArtifact } from './solidity.ts';


/**
 * circomlibjs 0.1.7 generates Poseidon contracts for 1..8 inputs in name, but its stack-only code needs DUP
 * operands beyond DUP16 from 7 inputs on (createCode(7) fails its own assertion), so 6 is the widest it makes.
 */
export const MAX_POSEIDON_INPUTS = 6;

function checkWidth(inputs: number): void {
  if (!Number.isInteger(inputs) || inputs < 1 || inputs > MAX_POSEIDON_INPUTS) {
    throw new ZkmlError(`circomlibjs generates Poseidon contracts of 1 to ${MAX_POSEIDON_INPUTS} inputs, not ${inputs}`, 'E_POSEIDON_WIDTH');
  }
}

/** Creation code (0x hex) of circomlibjs' Poseidon contract with `inputs` inputs: `poseidon(uint256[inputs])`. */
export function poseidonCreationCode(inputs: number): string {
  checkWidth(inputs);
  return poseidonContract.createCode(inputs) as string;
}

/** The generated contract's ABI, as circomlibjs describes it (`poseidon(uint256[n])` and `poseidon(bytes32[n])`). */
export function poseidonAbi(inputs: number): unknown[] {
  checkWidth(inputs);
  return poseidonContract.generateABI(inputs) as unknown[];
}

/** An ethers interface with just `poseidon(uint256[n]) returns (uint256)`. */
export function poseidonInterface(inputs: number): Interface {
  checkWidth(inputs);
  return new Interface([`function poseidon(uint256[${inputs}]) pure returns (uint256)`]);
}

/** Poseidon contract address by number of inputs. */
export type PoseidonContracts = Partial<Record<number, string>>;

async function mined(chain: Chain, what: string, send: () => Promise<{ wait(): Promise<TransactionReceipt | null> }>): Promise<TransactionReceipt> {
  let receipt: TransactionReceipt | null;
  try {
    receipt = await (await send()).wait();
  } catch (err) {
    throw chainError(err, what, chain);
  }
  if (!receipt || receipt.status !== 1) throw new ZkmlError(`${what}: transaction failed (${receipt?.hash})`, 'E_CHAIN', chain.label);
  return receipt;
}

/** Deploys circomlibjs' Poseidon contract of `inputs` inputs. Measured on the in-process chain: 1.53M gas (1 input) to 5.16M (6). */
export async function deployPoseidon(chain: Chain, inputs: number): Promise<{ address: string; gasUsed: bigint }> {
  const data = poseidonCreationCode(inputs);
  const receipt = await mined(chain, `deploying Poseidon(${inputs})`, async () => {
    const gasLimit = ((await chain.signer.estimateGas({ data })) * 12n) / 10n;
    return chain.signer.sendTransaction({ data, gasLimit });
  });
  return { address: getAddress(receipt.contractAddress!), gasUsed: receipt.gasUsed };
}

/** SingleSignalVerifier (verifier-contracts/SingleSignalVerifier.sol). */
export function singleSignalArtifact(evmVersion = DEFAULT_EVM_VERSION): HardhatArtifact {
  return projectContract('SingleSignalVerifier', evmVersion);
}

/** The output packing of a single-signal build (manifest.commitments.output), or a clear error. */
export function singleSignalPacking(manifest: Manifest): TensorPacking[] {
  const c = manifest.commitments;
  if (!c?.single || !c.output || !c.input) {
    throw new ZkmlError('not a single-signal build: SingleSignalVerifier needs a build compiled with --single-signal', 'E_NOT_SINGLE_SIGNAL');
  }
  const kinds = manifest.publicSignals.map((s) => s.kind).join(',');
  if (kinds !== 'commitment' && kinds !== 'modelId,commitment') {
    throw new ZkmlError(`a single-signal build's public signals are the commitment, after the model id with hashed weights; this one has ${kinds}`, 'E_BAD_MANIFEST');
  }
  return c.output;
}

/**
 * The Poseidon widths the contract calls for this output packing: zkml's chain over the packed output
 * elements (chainSizes), and 3 for the signal. Refuses layouts that need a width circomlibjs cannot generate.
 */
export function poseidonWidthsFor(packing: TensorPacking[]): number[] {
  const fields = packing.reduce((n, p) => n + p.layout.fieldElements, 0);
  const sizes = chainSizes(fields);
  const widest = Math.max(...sizes);
  if (widest > MAX_POSEIDON_INPUTS) {
    throw new ZkmlError(
      `the outputs pack into ${fields} field elements, hashed with a Poseidon of ${widest} inputs; circomlibjs' Poseidon contracts take at most ${MAX_POSEIDON_INPUTS} (outputs of up to ${MAX_POSEIDON_INPUTS * 248} packed bits): verify with the outputs as public signals instead`,
      'E_POSEIDON_WIDTH',
    );
  }
  return [...new Set([...sizes, 3])].sort((a, b) => a - b);
}

/** True when the build's verifier takes the proven model id before the commitment (hashed weights). */
export function hasModelIdSignal(manifest: Manifest): boolean {
  return manifest.publicSignals[0]?.kind === 'modelId';
}

/** SingleSignalVerifier's constructor arguments, in order (`modelIdSignal`: see hasModelIdSignal). */
export function singleSignalConstructorArgs(verifier: string, poseidon: PoseidonContracts, packing: TensorPacking[], modelIdSignal = false): unknown[] {
  const addresses = Array.from({ length: MAX_POSEIDON_INPUTS }, (_, i) => poseidon[i + 1] ?? '0x0000000000000000000000000000000000000000');
  return [
    verifier,
    addresses,
    packing.map((p) => BigInt(p.layout.lo)),
    packing.map((p) => p.layout.count),
    packing.map((p) => p.layout.width),
    packing.map((p) => p.layout.perElement),
    modelIdSignal,
  ];
}

export interface SingleSignalDeployOptions extends ChainOptions {
  /** An open connection. Default: connect(opts). */
  chain?: Chain;
  /** The build's verifier, already deployed. Default: the verifier recorded for this chain if its code is current, else a fresh deployment. */
  verifier?: string;
  /** Poseidon contracts already on this chain (shared by every model): only missing widths are deployed. */
  poseidon?: PoseidonContracts;
  evmVersion?: string;
  log?: (message: string) => void;
}

export interface SingleSignalDeployment {
  chain: Chain;
  /** The SingleSignalVerifier. */
  address: string;
  verifier: string;
  /** Every Poseidon contract it calls, by width (given or deployed here). */
  poseidon: PoseidonContracts;
  /** Receipt gas of what this call deployed. */
  gasUsed: { verifier?: bigint; poseidon: Partial<Record<number, bigint>>; singleSignalVerifier: bigint };
}

/**
 * Deploys, for a single-signal build, what a contract needs to check "model, input digest, output" claims:
 * the Poseidon contracts its output packing needs (unless given), the build's verifier (unless given or found),
 * and a SingleSignalVerifier bound to them. Nothing is written to the manifest. On the in-process chain the
 * contracts live as long as `result.chain`: close it when done.
 */
export async function deploySingleSignalVerifier(dir: string, opts: SingleSignalDeployOptions = {}): Promise<SingleSignalDeployment> {
  const manifest = readManifest(dir);
  const packing = singleSignalPacking(manifest);
  const widths = poseidonWidthsFor(packing);
  const chain = opts.chain ?? (await connect(opts));
  const log = opts.log ?? (() => {});
  try {
    const gasUsed: SingleSignalDeployment['gasUsed'] = { poseidon: {}, singleSignalVerifier: 0n };
    let verifier = opts.verifier;
    if (verifier === undefined) {
      const exported = await exportVerifier(dir, { evmVersion: opts.evmVersion });
      const recorded = manifest.deployments?.[chain.key];
      if (recorded?.chainId === chain.chainId.toString() && (await chain.provider.getCode(recorded.verifier)) === exported.artifact.deployedBytecode) {
        verifier = getAddress(recorded.verifier);
      } else {
        log(`deploying ${exported.contractName} on ${chain.label}`);
        const factory = new ContractFactory(exported.artifact.abi as never, exported.artifact.bytecode, chain.signer);
        const receipt = await mined(chain, `deploying ${exported.contractName}`, () => factory.deploy().then((c) => c.deploymentTransaction()!));
        verifier = getAddress(receipt.contractAddress!);
        gasUsed.verifier = receipt.gasUsed;
      }
    }
    const poseidon: PoseidonContracts = {};
    for (const n of widths) {
      const given = opts.poseidon?.[n];
      if (given !== undefined && (await chain.provider.getCode(given)) === '0x') throw new ZkmlError(`no contract at the Poseidon(${n}) address ${given}`, 'E_NOT_DEPLOYED', chain.label);
      if (given !== undefined) {
        poseidon[n] = getAddress(given);
        continue;
      }
      log(`deploying Poseidon(${n}) on ${chain.label}`);
      const d = await deployPoseidon(chain, n);
      poseidon[n] = d.address;
      gasUsed.poseidon[n] = d.gasUsed;
    }
    const artifact = singleSignalArtifact(opts.evmVersion);
    const factory = new ContractFactory(artifact.abi as never, artifact.bytecode, chain.signer);
    log(`deploying SingleSignalVerifier on ${chain.label}`);
    const receipt = await mined(chain, 'deploying SingleSignalVerifier', () => factory.deploy(...singleSignalConstructorArgs(verifier!, poseidon, packing, hasModelIdSignal(manifest))).then((c) => c.deploymentTransaction()!));
    gasUsed.singleSignalVerifier = receipt.gasUsed;
    return { chain, address: getAddress(receipt.contractAddress!), verifier: verifier!, poseidon, gasUsed };
  } catch (err) {
    if (!opts.chain) await chain.close();
    throw err;
  }
}

/** The claimed output integers of every output tensor, flattened in the order the contract packs them. */
export function flattenOutputs(packing: TensorPacking[], outputs: Map<string, bigint[]>): bigint[] {
  return packing.flatMap((p) => {
    const v = outputs.get(p.tensor);
    if (!v) throw new ZkmlError(`no values for output tensor "${p.tensor}"`, 'E_CLAIM');
    if (v.length !== p.layout.count) throw new ZkmlError(`output tensor "${p.tensor}" has ${v.length} values; expected ${p.layout.count}`, 'E_CLAIM');
    return v;
  });
}

/** A claim as SingleSignalVerifier.verify / commitment take it. */
export interface SingleSignalClaim {
  modelId: bigint;
  inputDigest: bigint;
  /** int256 values, flattened (flattenOutputs). */
  outputs: bigint[];
  /** What the contract should compute: the single public signal, recomputed off-chain (src/commit). */
  commitment: bigint;
}

/**
 * The claim "this build's model, on this input (its integers by input name, as encodeInputs gives them, or
 * directly its digest), gave these outputs (integers by output name)", with the signal recomputed off-chain.
 */
export async function singleSignalClaim(manifest: Manifest, claim: { inputs?: Map<string, bigint[]>; inputDigest?: bigint; outputs: Map<string, bigint[]> }): Promise<SingleSignalClaim> {
  const packing = singleSignalPacking(manifest);
  const outputs = flattenOutputs(packing, claim.outputs);
  let inputDigest = claim.inputDigest;
  if (claim.inputs) {
    const fromInputs = (await recomputeDigests(manifest, { inputs: claim.inputs })).inputDigest!;
    if (inputDigest !== undefined && inputDigest !== fromInputs) throw new ZkmlError('the given input digest is not the digest of the given inputs', 'E_CLAIM');
    inputDigest = fromInputs;
  }
  if (inputDigest === undefined) throw new ZkmlError('give the claimed inputs or their digest', 'E_CLAIM');
  if (inputDigest < 0n || inputDigest >= FIELD_P) throw new ZkmlError(`input digest ${inputDigest} is not a field element`, 'E_CLAIM');
  const { outputDigest } = await recomputeDigests(manifest, { outputs: claim.outputs });
  const modelId = BigInt(manifest.commitments.modelId);
  return { modelId, inputDigest, outputs, commitment: hashChain([modelId, inputDigest, outputDigest!]) };
}
