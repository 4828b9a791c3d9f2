import type { Command } from 'commander';
import { deploy } from '../../chain/deploy.ts';
import { releaseCurve } from '../../util/snark.ts';
import { makeReporter } from '../output.ts';

/** `zkml deploy`: the build's verifier, an InferenceRegistry and the model's registration, on a chain. */
export function register(program: Command): void {
  program
    .command('deploy <dir>')
    .description("deploy the build's verifier and an InferenceRegistry, register the model, record the addresses in manifest.json")
    .option('--rpc-url <url>', 'JSON-RPC node (default: an in-process EVM that lives only as long as this command)')
    .option('--private-key <key>', 'signer key, 0x + 64 hex digits (or env ZKML_PRIVATE_KEY, which stays out of shell history)')
    .option('--keystore <file>', 'encrypted JSON keystore; password from env ZKML_KEYSTORE_PASSWORD')
    .option('--registry <address>', "an existing InferenceRegistry to register the model in, or 'new' to deploy a fresh one")
    .option('--network <name>', 'key under manifest.deployments (default: the chain id)')
    .option('--evm-version <version>', 'EVM target of the verifier and registry bytecode (default paris)')
    .option('--json', 'JSON lines on stdout')
    .action(async (dir: string, o: { rpcUrl?: string; privateKey?: string; keystore?: string; registry?: string; network?: string; evmVersion?: string; json?: boolean }) => {
      const r = makeReporter(Boolean(o.json));
      try {
        const d = await deploy(dir, { ...o, log: (m) => r.info(m) });
        await d.chain.close();
        const verb = (sent: boolean) => (sent ? 'deployed' : 'already there');
        r.event(
          'deployed',
          { network: d.network, chainId: d.chainId, modelId: d.modelId, contractName: d.contractName, verifier: d.verifier, registry: d.registry, sent: d.sent, gasUsed: d.gasUsed },
          [
            `${d.contractName}: ${d.verifier} (${verb(d.sent.verifier)}${d.gasUsed.verifier ? `, ${d.gasUsed.verifier} gas` : ''})`,
            `InferenceRegistry: ${d.registry} (${verb(d.sent.registry)}${d.gasUsed.registry ? `, ${d.gasUsed.registry} gas` : ''})`,
            `model ${d.modelId} ${d.sent.registerModel ? `registered (${d.gasUsed.registerModel} gas)` : 'was registered already'}`,
            `chain ${d.chainId}; recorded as deployments["${d.network}"] in manifest.json`,
          ].join('\n'),
        );
        if (d.chain.inProcess) r.warn("the in-process chain ends with this command: its addresses are informative only. Use --rpc-url for a lasting deployment, or call deploy() and verifyOnchain() on one chain in-process ('zkml verify --onchain' does both)");
      } finally {
        await releaseCurve();
      }
    });
}
