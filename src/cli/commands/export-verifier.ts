import type { Command } from 'commander';
import { DEFAULT_EVM_VERSION, MAX_DEPLOYED_BYTES, SOLC_VERSION, exportVerifier } from '../../chain/solidity.ts';
import { releaseCurve } from '../../util/snark.ts';
import { makeReporter } from '../output.ts';

/** `zkml export-verifier`: the build's Solidity verifier and its compiled artifact, for Hardhat/Foundry projects. */
export function register(program: Command): void {
  program
    .command('export-verifier <dir>')
    .description("write the build's Groth16 verifier as Verifier.sol and its compiled Hardhat-style artifact as Verifier.json")
    .option('--evm-version <version>', `EVM target of the bytecode (default ${DEFAULT_EVM_VERSION}: runs on every EVM chain in service)`)
    .option('--json', 'JSON lines on stdout')
    .action(async (dir: string, o: { evmVersion?: string; json?: boolean }) => {
      const r = makeReporter(Boolean(o.json));
      try {
        const e = await exportVerifier(dir, { evmVersion: o.evmVersion });
        if (e.deployedBytes > MAX_DEPLOYED_BYTES) {
          r.warn(`the verifier is ${e.deployedBytes} bytes of code, above the ${MAX_DEPLOYED_BYTES}-byte limit (EIP-170) of most chains: make fewer signals public`);
        }
        r.event(
          'verifier',
          { contractName: e.contractName, source: e.sourcePath, artifact: e.artifactPath, solc: SOLC_VERSION, evmVersion: e.evmVersion, publicSignals: e.numPublicSignals, deployedBytes: e.deployedBytes },
          `${e.contractName} (${e.numPublicSignals} public signals, ${e.deployedBytes} bytes; solc ${SOLC_VERSION}, evm ${e.evmVersion})\n  ${e.sourcePath}\n  ${e.artifactPath}`,
        );
      } finally {
        await releaseCurve();
      }
    });
}
