import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { buildPaths, readManifest, type Manifest } from '../manifest.ts';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.ts';
import { ZkmlError } from '../util/errors.ts';
import { PACKAGE_ROOT } from '../util/package-root.ts';
import { loadSnarkjs } from '../util/snark.ts';

const require = createRequire(import.meta.url);

/** The compiler every zkml contract is built with. package.json pins the same solc-js release exactly. */
export const SOLC_VERSION = '0.8.37';

/**
 * Default EVM target. `paris` (the Merge) is the newest target that avoids PUSH0 (shanghai) and MCOPY/transient
 * storage (cancun), so the bytecode runs on every EVM chain still in service, including L2s and side chains that
 * lag behind mainnet forks. The verifier is almost all assembly and precompile calls: newer targets save a few
 * hundred gas at most. solc 0.8.37's own default is `osaka`, which many chains reject.
 */
export const DEFAULT_EVM_VERSION = 'paris';

/** EIP-170: chains refuse to deploy runtime code larger than this. */
export const MAX_DEPLOYED_BYTES = 24_576;

/** A compiled contract in Hardhat's artifact format, which Hardhat (`artifacts`) and ethers read as is. */
export interface HardhatArtifact {
  _format: 'hh-sol-artifact-1';
  contractName: string;
  sourceName: string;
  abi: unknown[];
  bytecode: string;
  deployedBytecode: string;
  linkReferences: Record<string, unknown>;
  deployedLinkReferences: Record<string, unknown>;
}

/** The EVM targets solc 0.8.37 accepts, oldest first. */
export const EVM_VERSIONS = ['homestead', 'tangerineWhistle', 'spuriousDragon', 'byzantium', 'constantinople', 'petersburg', 'istanbul', 'berlin', 'london', 'paris', 'shanghai', 'cancun', 'prague', 'osaka'];

export interface CompileOptions {
  evmVersion?: string;
}

type Solc = typeof import('solc');

/** solc-js, required on first use: loading its compiler takes ~0.4 s that importing the library should not cost. */
function loadSolc(): Solc {
  const solc: Solc = require('solc');
  const version: string = solc.version();
  if (!version.startsWith(`${SOLC_VERSION}+`)) {
    throw new ZkmlError(`solc-js ${version} is installed; zkml needs exactly ${SOLC_VERSION} (run npm ci)`, 'E_SOLC');
  }
  return solc;
}

/**
 * Compiles Solidity sources (file name → text, no imports) with the pinned solc and the optimizer on.
 * Returns one artifact per contract, keyed by its fully qualified name `<sourceName>:<contractName>`.
 */
export function compileContracts(sources: Record<string, string>, opts: CompileOptions = {}): Record<string, HardhatArtifact> {
  const evmVersion = opts.evmVersion ?? DEFAULT_EVM_VERSION;
  if (!EVM_VERSIONS.includes(evmVersion)) throw new ZkmlError(`unknown EVM version ${JSON.stringify(evmVersion)}: solc ${SOLC_VERSION} knows ${EVM_VERSIONS.join(', ')}`, 'E_EVM_VERSION');
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(Object.entries(sources).map(([name, content]) => [name, { content }])),
    settings: {
      evmVersion,
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.bytecode.linkReferences', 'evm.deployedBytecode.object', 'evm.deployedBytecode.linkReferences'] } },
    },
  };
  const output = JSON.parse(loadSolc().compile(JSON.stringify(input)));
  const errors = ((output.errors ?? []) as { severity: string; formattedMessage: string }[]).filter((e) => e.severity === 'error');
  if (errors.length > 0) {
    throw new ZkmlError(`solc ${SOLC_VERSION} (evmVersion ${evmVersion}) failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`, 'E_SOLC', Object.keys(sources).join(', '));
  }
  const artifacts: Record<string, HardhatArtifact> = {};
  for (const [sourceName, contracts] of Object.entries(output.contracts ?? {}) as [string, Record<string, any>][]) {
    for (const [contractName, c] of Object.entries(contracts)) {
      artifacts[`${sourceName}:${contractName}`] = {
        _format: 'hh-sol-artifact-1',
        contractName,
        sourceName,
        abi: c.abi,
        bytecode: `0x${c.evm.bytecode.object}`,
        deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
        linkReferences: c.evm.bytecode.linkReferences,
        deployedLinkReferences: c.evm.deployedBytecode.linkReferences,
      };
    }
  }
  return artifacts;
}

const projectContracts = new Map<string, HardhatArtifact>();

/**
 * A contract of verifier-contracts/ (e.g. `InferenceRegistry`), compiled with the pinned solc from
 * `<name>.sol`, memoized per EVM version.
 */
export function projectContract(name: string, evmVersion = DEFAULT_EVM_VERSION): HardhatArtifact {
  const key = `${name}@${evmVersion}`;
  let artifact = projectContracts.get(key);
  if (!artifact) {
    const source = join(PACKAGE_ROOT, 'verifier-contracts', `${name}.sol`);
    artifact = compileContracts({ [`${name}.sol`]: readFileSync(source, 'utf8') }, { evmVersion })[`${name}.sol:${name}`];
    projectContracts.set(key, artifact);
  }
  return artifact;
}

/**
 * A contract name per model (`mnist-mlp.onnx` → `MnistMlpVerifier`), so that verifiers of several models can be
 * imported into one Hardhat or Foundry project, or one Solidity file, without a name clash.
 */
export function verifierContractName(manifest: Manifest): string {
  const stem = basename(manifest.model.path).replace(/\.onnx$/i, '');
  const pascal = stem
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('');
  return `${/^[A-Za-z]/.test(pascal) ? pascal : `Model${pascal}`}Verifier`;
}

/** snarkjs' own Groth16 template, from the installed package (not exported by its package.json, so found by path). */
function groth16Template(): string {
  const root = dirname(dirname(require.resolve('snarkjs')));
  return readFileSync(join(root, 'templates', 'verifier_groth16.sol.ejs'), 'utf8');
}

export interface ExportedVerifier {
  contractName: string;
  /** Verifier.sol and Verifier.json in the build folder. */
  sourcePath: string;
  artifactPath: string;
  artifact: HardhatArtifact;
  evmVersion: string;
  numPublicSignals: number;
  /** Runtime code size in bytes; above MAX_DEPLOYED_BYTES mainstream chains refuse the deployment. */
  deployedBytes: number;
}

/**
 * Writes the model's Groth16 verifier (snarkjs' template filled with the build's verifying key) as Verifier.sol,
 * and its compiled artifact as Verifier.json, into the build folder.
 * It loads snarkjs' bn128 curve: a process that wants to exit calls `releaseCurve()` (src/util/snark.ts) afterwards.
 */
export async function exportVerifier(dir: string, opts: CompileOptions = {}): Promise<ExportedVerifier> {
  const manifest = readManifest(dir);
  const paths = buildPaths(dir);
  if (!existsSync(paths.zkey)) {
    throw new ZkmlError(`no circuit.zkey: run 'zkml setup ${dir}' before exporting a verifier`, 'E_NO_SETUP', dir);
  }
  const evmVersion = opts.evmVersion ?? DEFAULT_EVM_VERSION;
  const snarkjs = await loadSnarkjs();
  const generated: string = await snarkjs.zKey.exportSolidityVerifier(paths.zkey, { groth16: groth16Template() });
  const numPublicSignals = Number(/uint\[(\d+)\] calldata _pubSignals/.exec(generated)?.[1] ?? NaN);
  if (numPublicSignals !== manifest.publicSignals.length) {
    throw new ZkmlError(
      `circuit.zkey has ${numPublicSignals} public signals but the manifest lists ${manifest.publicSignals.length}: the zkey is from another build; rerun 'zkml setup'`,
      'E_ZKEY_MISMATCH',
      paths.zkey,
    );
  }
  const contractName = verifierContractName(manifest);
  if (numPublicSignals === 0) throw new ZkmlError('the circuit has no public signals: an on-chain verifier would prove nothing about the output', 'E_NO_PUBLIC', dir);
  // No zkml version here: the source is part of the bytecode's metadata hash, and a verifier already deployed
  // should still match a re-export by a newer zkml.
  const header = `// Generated by zkml from snarkjs' Groth16 template for model sha256 ${manifest.model.sha256};\n// compile with solc ${SOLC_VERSION}, evmVersion ${evmVersion}, optimizer on (200 runs) to reproduce Verifier.json.\n`;
  const source = generated
    .replace(/^(\/\/ SPDX-License-Identifier: [^\n]*\n)/, `$1${header}`)
    .replace(/\bcontract Groth16Verifier\b/, `contract ${contractName}`);

  const sourceName = basename(paths.verifierSol);
  const artifact = compileContracts({ [sourceName]: source }, { evmVersion })[`${sourceName}:${contractName}`];
  writeFileAtomic(paths.verifierSol, source);
  writeJsonAtomic(paths.verifierArtifact, artifact);
  return {
    contractName,
    sourcePath: paths.verifierSol,
    artifactPath: paths.verifierArtifact,
    artifact,
    evmVersion,
    numPublicSignals,
    deployedBytes: (artifact.deployedBytecode.length - 2) / 2,
  };
}

