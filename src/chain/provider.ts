import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BrowserProvider, FetchRequest, JsonRpcProvider, Network, Wallet, formatEther, formatUnits, type Eip1193Provider, type Interface, type Provider, type Signer } from 'ethers';
import { ZkmlError } from '../util/errors.ts';

const require = createRequire(import.meta.url);

/** Where to connect and who signs. No rpcUrl: a fresh in-process EVM (Hardhat 2 network), no server needed. */
export interface ChainOptions {
  rpcUrl?: string;
  /** 0x + 64 hex digits. Falls back to env ZKML_PRIVATE_KEY (keeps the key out of shell history). */
  privateKey?: string;
  /** An encrypted JSON keystore (geth/ethers format); its password comes from env ZKML_KEYSTORE_PASSWORD. */
  keystore?: string;
  /** How long an RPC node may take to answer the first request (default 10 s). */
  timeoutMs?: number;
}

/** One connection, shared by deploy and verifyOnchain so that both see the same (possibly in-process) chain. */
export interface Chain {
  provider: Provider;
  signer: Signer;
  chainId: bigint;
  /** The key of manifest.deployments for this chain: 'in-process' or the chain id. */
  key: string;
  /** For messages: 'in-process EVM' or the RPC URL's origin (never its path, which often holds an API key). */
  label: string;
  inProcess: boolean;
  /** A registry deployed through this connection, reused by later deploys of other builds on the same chain. */
  registry?: string;
  close(): Promise<void>;
}

/**
 * ethers reuses the answer to an identical request for 250 ms by default: getCode right after a deployment then
 * returns the code from before it (seen on the in-process chain, where blocks take milliseconds). Off.
 */
const NO_CACHE = -1;

/**
 * Hardhat 2's in-process network, built through its internal constructors (~0.6 s, vs ~1 s via `require('hardhat')`,
 * which needs a config file). These paths are internal: package.json pins hardhat exactly (2.29.1). Chain id 31337,
 * hardfork osaka, 20 default accounts holding 10,000 ETH each.
 */
async function inProcessProvider(): Promise<Eip1193Provider> {
  const { resolveConfig } = require('hardhat/internal/core/config/config-resolution');
  const { createProvider } = require('hardhat/internal/core/providers/construction');
  // resolveConfig wants an existing "config file" to anchor project paths; they are unused without forking.
  const config = resolveConfig(fileURLToPath(import.meta.url), {});
  return createProvider(config, 'hardhat');
}

/** Origin of an RPC URL: safe to print and record (API keys usually sit in the path or query). */
export function rpcOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '<invalid URL>';
  }
}

/** Asks the node for its chain id with a deadline, so a wrong URL fails in seconds instead of ethers' endless retry. */
async function probeChainId(url: string, timeoutMs: number): Promise<bigint> {
  const where = rpcOrigin(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ZkmlError(`--rpc-url ${JSON.stringify(url)} is not a URL (expected e.g. http://127.0.0.1:8545)`, 'E_RPC_URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ZkmlError(`--rpc-url must be http:// or https:// (got ${parsed.protocol})`, 'E_RPC_URL', where);
  }
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new ZkmlError(`cannot reach the RPC node (${why}): check --rpc-url and that the node is running`, 'E_RPC_UNREACHABLE', where);
  }
  const body = await response.text();
  let result: unknown;
  try {
    result = JSON.parse(body).result;
  } catch {
    result = undefined;
  }
  if (!response.ok || typeof result !== 'string' || !/^0x[0-9a-f]+$/i.test(result)) {
    throw new ZkmlError(`HTTP ${response.status} without a chain id: is this a JSON-RPC endpoint? (${body.slice(0, 120)})`, 'E_RPC_NOT_JSONRPC', where);
  }
  return BigInt(result);
}

async function loadSigner(opts: ChainOptions, provider: JsonRpcProvider, where: string): Promise<Signer> {
  const privateKey = opts.privateKey ?? (process.env.ZKML_PRIVATE_KEY || undefined);
  if (privateKey !== undefined && opts.keystore !== undefined) throw new ZkmlError('give either a private key or --keystore, not both', 'E_SIGNER');
  if (privateKey !== undefined) {
    const hex = privateKey.trim().replace(/^0x/i, '');
    // Never echo the key itself: it may be a real one with a typo.
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new ZkmlError(`malformed private key: expected 64 hex digits (32 bytes, optional 0x), got ${hex.length} characters`, 'E_BAD_KEY');
    try {
      return new Wallet(`0x${hex}`, provider);
    } catch {
      throw new ZkmlError('malformed private key: not a valid secp256k1 secret (zero or above the curve order)', 'E_BAD_KEY');
    }
  }
  if (opts.keystore !== undefined) {
    if (!existsSync(opts.keystore)) throw new ZkmlError('keystore file not found', 'E_KEYSTORE', opts.keystore);
    const password = process.env.ZKML_KEYSTORE_PASSWORD;
    if (password === undefined) throw new ZkmlError('set ZKML_KEYSTORE_PASSWORD to the keystore password', 'E_KEYSTORE', opts.keystore);
    try {
      return (await Wallet.fromEncryptedJson(readFileSync(opts.keystore, 'utf8'), password)).connect(provider);
    } catch (err) {
      throw new ZkmlError(`cannot decrypt the keystore (${(err as Error).message}): wrong password or not a JSON keystore`, 'E_KEYSTORE', opts.keystore);
    }
  }
  // Development nodes (hardhat node, anvil) sign for their own unlocked accounts; public nodes have none.
  const accounts = await provider.listAccounts();
  if (accounts.length === 0) throw new ZkmlError('the node has no unlocked accounts: pass --private-key KEY (or env ZKML_PRIVATE_KEY) or --keystore FILE', 'E_SIGNER', where);
  return accounts[0];
}

/** Opens the chain: in-process by default, or the node at opts.rpcUrl with the given signer. */
export async function connect(opts: ChainOptions = {}): Promise<Chain> {
  if (opts.rpcUrl === undefined) {
    if (opts.privateKey !== undefined || opts.keystore !== undefined) {
      throw new ZkmlError('a key or keystore needs --rpc-url: the in-process chain signs with its own funded accounts', 'E_SIGNER');
    }
    const provider = new BrowserProvider(await inProcessProvider(), undefined, { cacheTimeout: NO_CACHE });
    return {
      provider,
      signer: await provider.getSigner(0),
      chainId: (await provider.getNetwork()).chainId,
      key: 'in-process',
      label: 'in-process EVM',
      inProcess: true,
      close: async () => provider.destroy(),
    };
  }
  const where = rpcOrigin(opts.rpcUrl);
  const chainId = await probeChainId(opts.rpcUrl, opts.timeoutMs ?? 10_000);
  const request = new FetchRequest(opts.rpcUrl);
  request.timeout = 120_000;
  // A static network: ethers skips its own chain-id detection, which retries forever on a dead node.
  const network = Network.from(chainId);
  const provider = new JsonRpcProvider(request, network, { staticNetwork: network, pollingInterval: 1000, cacheTimeout: NO_CACHE });
  try {
    return {
      provider,
      signer: await loadSigner(opts, provider, where),
      chainId,
      key: chainId.toString(),
      label: where,
      inProcess: false,
      close: async () => provider.destroy(),
    };
  } catch (err) {
    provider.destroy();
    throw err;
  }
}

/** Checks the signer can pay for `gasLimit` at today's worst-case price before anything is sent, and says how much. */
export async function ensureFunds(chain: Chain, gasLimit: bigint, what: string): Promise<void> {
  const address = await chain.signer.getAddress();
  const [balance, fee] = await Promise.all([chain.provider.getBalance(address), chain.provider.getFeeData()]);
  const price = fee.maxFeePerGas ?? fee.gasPrice ?? 0n;
  const cost = gasLimit * price;
  if (balance < cost) {
    throw new ZkmlError(
      `account ${address} holds ${formatEther(balance)} ETH; ${what} needs up to ${formatEther(cost)} ETH (${gasLimit} gas at ${formatUnits(price, 'gwei')} gwei): fund it or use another key`,
      'E_FUNDS',
      chain.label,
    );
  }
}

/** Revert data wherever ethers or the node put it (ethers' CallException, or a node error it could not coalesce). */
function revertData(err: unknown): string | undefined {
  const e = err as { data?: unknown; error?: { data?: unknown }; info?: { error?: { data?: unknown } } };
  for (const d of [e.data, e.error?.data, e.info?.error?.data]) if (typeof d === 'string' && /^0x[0-9a-f]{8}/i.test(d)) return d;
  return undefined;
}

/**
 * Turns an ethers/node error into a ZkmlError that names the step and, for reverts, the contract's custom error
 * (decoded with `iface`, the ABI of the contract called, when ethers has not decoded it already).
 */
export function chainError(err: unknown, what: string, chain: Chain, iface?: Interface): ZkmlError {
  if (err instanceof ZkmlError) return err;
  const e = err as { code?: string; shortMessage?: string; message?: string; revert?: { name: string; args: unknown[] } | null };
  const data = revertData(err);
  const revert = e.revert ?? (data && iface ? iface.parseError(data) : null);
  if (revert) return new ZkmlError(`${what} reverted with ${revert.name}(${[...revert.args].map(String).join(', ')})`, 'E_REVERT', chain.label);
  if (e.code === 'INSUFFICIENT_FUNDS') return new ZkmlError(`${what}: the account cannot pay for gas (${e.shortMessage})`, 'E_FUNDS', chain.label);
  const nodeMessage = (err as { error?: { message?: string } }).error?.message;
  return new ZkmlError(`${what} failed: ${nodeMessage ?? e.shortMessage ?? e.message ?? String(err)}`, 'E_CHAIN', chain.label);
}
