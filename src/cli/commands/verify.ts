import type { Command } from 'commander';
import { verify } from '../../prove/verify.ts';
import { makeReporter } from '../output.ts';
import { formatOutputs } from './prove.ts';
import { readInputFile } from '../../io/input.ts';
import { releaseCurve } from '../../util/snark.ts';

export function register(program: Command): void {
  program
    .command('verify <dir> <out>')
    .description("verify proofs off-chain against a build's verification key: a result folder, or a batch output folder")
    .option('--input <file>', 'check that the proof is about this input (public, or through its digest)')
    .option('--output <file>', "check that the proof is about this output (output.json of zkml prove, or {\"<name>\": [integers]})")
    .option('--onchain', 'also verify on an EVM chain and record the inference in the registry (default: an in-process chain)')
    .option('--rpc-url <url>', 'JSON-RPC endpoint of the chain')
    .option('--private-key <key>', 'signer key (or env ZKML_PRIVATE_KEY)')
    .option('--keystore <file>', 'encrypted JSON keystore (password in env ZKML_KEYSTORE_PASSWORD)')
    .option('--registry <address>', 'InferenceRegistry address (default: the one recorded by zkml deploy)')
    .option('--json', 'JSON lines on stdout')
    .action(async (dir: string, out: string, o: { json?: boolean; input?: string; output?: string; onchain?: boolean; rpcUrl?: string; privateKey?: string; keystore?: string; registry?: string }) => {
      const r = makeReporter(Boolean(o.json));
      const claims = { input: o.input ? readInputFile(o.input) : undefined, inputSource: o.input, output: o.output ? readInputFile(o.output) : undefined };
      const result = await verify(dir, out, claims);
      for (const res of result.results) {
        const name = res.id ?? res.folder;
        r.event(
          'verified',
          { id: res.id, folder: res.folder, valid: res.valid, reason: res.reason, outputs: res.outputs },
          res.valid ? `valid: ${name}\n${formatOutputs(res.outputs!, '  ')}` : `INVALID: ${name}: ${res.reason}`,
        );
      }
      for (const f of result.failedInputs) r.event('failed-input', { ...f }, `not proven: ${f.id}: ${f.error}`);
      for (const w of result.warnings) r.warn(w);
      const validCount = result.results.filter((x) => x.valid).length;
      r.event(
        'verify',
        { valid: result.valid, kind: result.kind, insecureSetup: result.insecureSetup, validProofs: validCount, invalidProofs: result.results.length - validCount, failedInputs: result.failedInputs.length },
        result.kind === 'single'
          ? result.valid ? 'the proof is valid' : 'the proof is NOT valid'
          : `${validCount} of ${result.results.length} proofs valid${result.failedInputs.length ? `, ${result.failedInputs.length} input(s) not proven` : ''}`,
      );
      for (const res of result.results) {
        if (res.claims?.input !== undefined) r.event('claim', { kind: 'input', matches: res.claims.input }, `claimed input ${o.input}: ${res.claims.input ? 'matches the proof' : 'does NOT match the proof'}`);
        if (res.claims?.output !== undefined) r.event('claim', { kind: 'output', matches: res.claims.output }, `claimed output ${o.output}: ${res.claims.output ? 'matches the proof' : 'does NOT match the proof'}`);
      }
      if (!result.valid) process.exitCode = 1;
      if (o.onchain && result.valid) {
        try {
          const folders = result.kind === 'single' ? [out] : result.results.map((x) => x.folder);
          // ethers, solc and Hardhat load only when a chain is asked for: an off-chain verify skips their start-up.
          const [{ connect }, { verifyOnchain }] = await Promise.all([import('../../chain/provider.ts'), import('../../chain/verify-onchain.ts')]);
          const chain = await connect({ rpcUrl: o.rpcUrl, privateKey: o.privateKey, keystore: o.keystore });
          try {
            for (const folder of folders) {
              const c = await verifyOnchain(dir, folder, { chain, registry: o.registry, log: (m) => r.info(m) });
              r.event(
                'verified-onchain',
                { folder, ...c },
                c.valid
                  ? c.submit
                    ? `on-chain (${chain.label}): valid; recorded inference ${c.inferenceId} (gas used ${c.submit.gasUsed}, tx ${c.submit.txHash})`
                    : c.alreadyRecorded
                      ? `on-chain (${chain.label}): valid; already recorded in block ${c.alreadyRecorded.blockNumber}`
                      : `on-chain (${chain.label}): valid`
                  : `on-chain (${chain.label}): the proof is NOT valid: ${c.reason}`,
              );
              if (!c.valid) process.exitCode = 1;
            }
          } finally {
            await chain.close();
          }
        } finally {
          await releaseCurve();
        }
      }
    });
}
