import { Command, CommanderError } from 'commander';
import { ZkmlError } from '../util/errors.ts';
import { VERSION } from '../version.ts';
import { backendDescription } from '../prove/backend.ts';
import { registerCommands } from './commands/index.ts';

/** Runs the CLI; returns the exit code (0 ok, 1 failed, 2 usage error). */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('zkml')
    .description('Prove that an ONNX model produced an output: compile to Circom, Groth16 proofs, EVM verifiers.')
    // --version names the prover too (issue 17); the addon is looked up only when asked, not at every start.
    .option('-V, --version', 'output the version number and the Groth16 prover')
    .addHelpText('after', () => `\nGroth16 prover: ${backendDescription()}`)
    .exitOverride()
    .showHelpAfterError();
  program.on('option:version', () => {
    process.stdout.write(`${VERSION}\nGroth16 prover: ${backendDescription()}\n`);
    throw new CommanderError(0, 'commander.version', VERSION);
  });
  await registerCommands(program, argv);
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : 2;
    }
    const message = err instanceof Error ? err.message : String(err);
    const code = err instanceof ZkmlError ? err.code : 'E_INTERNAL';
    if (json) process.stdout.write(JSON.stringify({ event: 'error', code, message }) + '\n');
    else process.stderr.write(`error: ${message}\n`);
    if (!(err instanceof ZkmlError) && process.env.ZKML_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    return 1;
  }
}
