/**
 * On-chain settlement (`zkml serve --rpc-url URL` with a key): every proven inference is submitted to an
 * InferenceRegistry (verifier-contracts/InferenceRegistry.sol), and the transaction's hash and status are kept in
 * the store (GET /v1/inferences/{id}: `settlement`).
 *
 * - The registry is the one given (`registry`), else one this service deployed on that chain at first need
 *   (remembered in the store's meta table). Each model's verifier (the build's Verifier.json) is deployed and
 *   registered at its first settlement, also remembered; nothing is written into the build folder, whose
 *   manifest.json the fleet's workers find builds by.
 * - Never two transactions for one inference: before sending, the registry is asked whether the statement
 *   (model id, public signals) is recorded already (by an attempt whose answer was lost, a server killed after
 *   sending, or anyone else): then the inference is settled with the transaction that recorded it, found in the
 *   registry's events. A hash recorded as `submitted` is waited for before anything is sent again. The registry
 *   itself refuses a statement twice, so even a race between two servers cannot record one twice.
 * - Settlements run one at a time (one nonce sequence, one deployment of each contract). A failure (RPC
 *   unreachable, a revert, no funds) is retried a few times with a growing pause, then left `failed` with its
 *   error; the inference stays proven. Failed, pending and submitted settlements are taken up again at the next
 *   start.
 */
import { readFileSync } from 'node:fs';
import { Contract, ContractFactory, ZeroAddress, getAddress, type Interface, type TransactionReceipt } from 'ethers';
import { toVerifyProofArgs } from '../chain/calldata.ts';
import { modelIdOf, registryArtifact } from '../chain/deploy.ts';
import { chainError, connect, ensureFunds, type Chain } from '../chain/provider.ts';
import type { HardhatArtifact } from '../chain/solidity.ts';
import { inferenceIdOf, submitGasLimit } from '../chain/verify-onchain.ts';
import { buildPaths } from '../manifest.ts';
import { ZkmlError } from '../util/errors.ts';
import { openBuild } from './inference.ts';
import type { Store } from './store.ts';

export interface SettleOptions {
  /** The chain's JSON-RPC URL (http:// or https://). */
  rpcUrl: string;
  /** The account that pays and signs: 0x + 64 hex digits (zkml serve: env ZKML_SETTLE_KEY or --settle-key-file). */
  privateKey: string;
  /** An existing InferenceRegistry; models are registered in it, so its owner must be this key's account. */
  registry?: string;
  /** Attempts per settlement per start (default 3). */
  attempts?: number;
  /** Pause before the second attempt, doubled for each further one (default 1000 ms). */
  retryMs?: number;
  /** How long to wait for a sent transaction's receipt (default 120 s). */
  receiptTimeoutMs?: number;
}

export interface SettlerHooks {
  log?: (message: string) => void;
  /** An inference's settlement changed. */
  changed?: (inferenceId: string) => void;
}

const withHeadroom = (gas: bigint) => (gas * 12n) / 10n;

/** Runs one chain step; its failure becomes a ZkmlError naming the step (and a revert, decoded with `iface`). */
async function step<T>(chain: Chain, what: string, fn: () => Promise<T>, iface?: Interface): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw chainError(err, what, chain, iface);
  }
}

export class Settler {
  private chain?: Promise<Chain>;
  private tail: Promise<void> = Promise.resolve();
  private readonly queued = new Set<string>();
  private closed = false;
  private wake?: () => void;

  constructor(
    private readonly store: Store,
    private readonly opts: SettleOptions,
    private readonly hooks: SettlerHooks = {},
  ) {}

  /** Settles a proven inference, after those queued before it. */
  enqueue(inferenceId: string): void {
    if (this.closed || this.queued.has(inferenceId)) return;
    this.queued.add(inferenceId);
    this.tail = this.tail.then(() => this.settle(inferenceId)).finally(() => this.queued.delete(inferenceId));
  }

  /** Queues every proven inference whose settlement has not succeeded; returns how many. */
  resume(): number {
    const ids = this.store.unsettled();
    for (const id of ids) this.enqueue(id);
    return ids.length;
  }

  /** Resolves when everything queued so far has been tried. */
  idle(): Promise<void> {
    return this.tail;
  }

  /** Stops after the settlement under way (the queued ones stay pending for the next start). */
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.tail;
    const chain = await this.chain?.catch(() => undefined);
    await chain?.close();
  }

  private async settle(id: string): Promise<void> {
    const attempts = this.opts.attempts ?? 3;
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        await this.settleOnce(id);
        return;
      } catch (err) {
        const e = err as Error & { code?: string };
        const message = e instanceof ZkmlError ? `${e.code}: ${e.message}` : e.message;
        const row = this.store.getInference(id);
        // A hash already sent stays recorded: the next attempt (or start) looks it up before sending again.
        const txHash = row?.settlement?.txHash ?? null;
        if (attempt >= attempts) {
          this.store.setSettlement(id, 'failed', txHash, message);
          this.hooks.log?.(`inference ${id}: settlement failed after ${attempts} attempt(s): ${message}`);
          this.hooks.changed?.(id);
          return;
        }
        this.store.setSettlement(id, row?.settlement?.status === 'submitted' ? 'submitted' : 'pending', txHash, message);
        this.hooks.changed?.(id);
        await this.pause((this.opts.retryMs ?? 1000) * 2 ** (attempt - 1));
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => (clearTimeout(timer), resolve());
    });
  }

  /** One connection for the service's life; a failed attempt to connect is forgotten so the next one retries. */
  private connection(): Promise<Chain> {
    this.chain ??= connect({ rpcUrl: this.opts.rpcUrl, privateKey: this.opts.privateKey }).catch((err) => {
      this.chain = undefined;
      throw err;
    });
    return this.chain;
  }

  private async settleOnce(id: string): Promise<void> {
    const row = this.store.getInference(id);
    if (!row || row.status !== 'proven' || row.settlement?.status === 'settled') return;
    const chain = await this.connection();
    const dir = this.store.buildDir(row.modelId);
    const manifest = openBuild(dir).manifest;
    const modelId = modelIdOf(manifest);
    const registryAddress = await this.registry(chain);
    await this.registered(chain, registryAddress, row.modelId, dir, modelId, manifest.publicSignals[0]?.kind === 'modelId', manifest.publicSignals.length);

    const registry = new Contract(registryAddress, registryArtifact().abi as never, chain.signer);
    const args = toVerifyProofArgs(row.proof, row.publicSignals);
    const inferenceId = inferenceIdOf(modelId, args.input);
    const recorded = async (): Promise<string | undefined> => {
      const [submitter, blockNumber] = (await registry.inferences(inferenceId)) as [string, bigint];
      if (submitter === ZeroAddress) return undefined;
      const events = await registry.queryFilter(registry.filters.InferenceRecorded(null, inferenceId), Number(blockNumber), Number(blockNumber));
      return events[0]?.transactionHash ?? row.settlement?.txHash ?? '';
    };
    const done = (txHash: string) => {
      this.store.setSettlement(id, 'settled', txHash || null);
      this.hooks.changed?.(id);
    };

    // Sent before (this process or one killed since): its receipt first, so nothing is sent twice.
    // A hash the node does not know (dropped, or the chain was reset) is not waited for.
    const sent = row.settlement?.txHash;
    if (sent) {
      const known = await chain.provider.getTransaction(sent).catch(() => null);
      const receipt = known ? await chain.provider.waitForTransaction(sent, 1, this.opts.receiptTimeoutMs ?? 120_000).catch(() => null) : null;
      if (receipt?.status === 1) return done(sent);
    }
    const already = await step(chain, `reading registry ${registryAddress}`, recorded);
    if (already !== undefined) return done(already);

    const callArgs = [modelId, args.a, args.b, args.c, args.input] as const;
    const estimate = await step(chain, 'estimating registry.submit', () => registry.submit.estimateGas(...callArgs), registry.interface);
    const gasLimit = submitGasLimit(estimate, args.input.length);
    await ensureFunds(chain, gasLimit, 'registry.submit');
    const tx = await step(chain, 'registry.submit', () => registry.submit(...callArgs, { gasLimit }), registry.interface);
    this.store.setSettlement(id, 'submitted', tx.hash);
    this.hooks.changed?.(id);
    const receipt: TransactionReceipt | null = await step(chain, `waiting for ${tx.hash}`, () => tx.wait(1, this.opts.receiptTimeoutMs ?? 120_000), registry.interface);
    if (!receipt || receipt.status !== 1) throw new ZkmlError(`registry.submit reverted (${tx.hash})`, 'E_CHAIN', chain.label);
    this.hooks.log?.(`inference ${id} settled on chain: ${tx.hash}`);
    done(tx.hash);
  }

  /** The registry: the one given, else the one this service deployed on this chain, else a new one. */
  private async registry(chain: Chain): Promise<string> {
    const hasCode = async (a: string) => (await chain.provider.getCode(a)) !== '0x';
    if (this.opts.registry) {
      if (!(await hasCode(this.opts.registry))) throw new ZkmlError(`no contract at registry ${this.opts.registry}`, 'E_NOT_REGISTRY', chain.label);
      return getAddress(this.opts.registry);
    }
    const key = `settle.registry.${chain.chainId}`;
    const known = this.store.getMeta(key);
    if (known && (await hasCode(known))) return known;
    const art = registryArtifact();
    const address = await this.deployContract(chain, 'InferenceRegistry', art);
    this.store.setMeta(key, address);
    this.hooks.log?.(`deployed InferenceRegistry at ${address} on ${chain.label}`);
    return address;
  }

  /** The model's verifier deployed and registered in the registry (once per chain, remembered in the store). */
  private async registered(chain: Chain, registryAddress: string, serveId: string, dir: string, modelId: string, hashed: boolean, numSignals: number): Promise<void> {
    const key = `settle.verifier.${chain.chainId}.${registryAddress}.${serveId}`;
    if (this.store.getMeta(key)) return;
    const artifact = JSON.parse(readFileSync(buildPaths(dir).verifierArtifact, 'utf8')) as HardhatArtifact;
    const registry = new Contract(registryAddress, registryArtifact().abi as never, chain.signer);
    const [bound] = (await step(chain, `reading registry ${registryAddress}`, () => registry.models(modelId))) as [string];
    if (bound !== ZeroAddress) {
      // Registered before (by this service before a restart, or another server on the same store and chain).
      if ((await chain.provider.getCode(bound)) !== artifact.deployedBytecode) {
        throw new ZkmlError(`model id ${modelId} is bound to verifier ${bound} in registry ${registryAddress}, whose code is not this build's verifier: settle into another registry`, 'E_MODEL_ID_TAKEN', chain.label);
      }
    } else {
      const verifier = await this.deployContract(chain, artifact.contractName, artifact);
      const register = hashed ? registry.registerHashedModel : registry.registerModel;
      const receipt: TransactionReceipt | null = await step(chain, 'registerModel', async () => (await register(modelId, verifier, numSignals, { gasLimit: withHeadroom(await register.estimateGas(modelId, verifier, numSignals)) })).wait(), registry.interface);
      if (!receipt || receipt.status !== 1) throw new ZkmlError(`registerModel reverted (${receipt?.hash})`, 'E_CHAIN', chain.label);
      this.hooks.log?.(`model ${serveId}: verifier ${verifier} registered as ${modelId}`);
    }
    this.store.setMeta(key, 'registered');
  }

  private async deployContract(chain: Chain, name: string, artifact: Pick<HardhatArtifact, 'abi' | 'bytecode'>): Promise<string> {
    const factory = new ContractFactory(artifact.abi as never, artifact.bytecode, chain.signer);
    const gasLimit = withHeadroom(await step(chain, `estimating the deployment of ${name}`, async () => chain.signer.estimateGas(await factory.getDeployTransaction())));
    await ensureFunds(chain, gasLimit, `deploying ${name}`);
    const receipt = await step(chain, `deploying ${name}`, async () => (await factory.deploy({ gasLimit })).deploymentTransaction()!.wait());
    if (!receipt || receipt.status !== 1 || !receipt.contractAddress) throw new ZkmlError(`deploying ${name} failed (${receipt?.hash})`, 'E_CHAIN', chain.label);
    return getAddress(receipt.contractAddress);
  }

}
