import { Help, type Command } from 'commander';

/**
 * Every subcommand lives in its own file in this folder and exports `register(program)`. Only the file of the
 * command that runs is loaded: a command module imports snarkjs, ethers, Hardhat, BullMQ or onnxruntime at its
 * top, seconds of start-up that `zkml inspect` must not pay for `zkml deploy`. `zkml --help` (or no command, or
 * an unknown one) loads none: it lists the commands from the table below, which test/cli-start.test.ts checks
 * against what each file registers. Adding a command means adding a file and its entry here.
 */
type CommandModule = { register: (program: Command) => void };

interface CommandFile {
  load: () => Promise<CommandModule>;
  /** Each command the file registers: its name → how the top-level help lists it (usage term, description). */
  commands: Record<string, [term: string, description: string]>;
}

export const COMMAND_FILES: CommandFile[] = [
  { load: () => import('./compile.ts'), commands: { compile: ['compile [options] <model>', 'compile an ONNX model into a Circom circuit (r1cs, wasm, sym) and manifest.json'] } },
  { load: () => import('./run.ts'), commands: { run: ['run [options] <model>', 'run a model through onnxruntime (float) and the integer reference executor; print both and the error'] } },
  { load: () => import('./inspect.ts'), commands: { inspect: ['inspect [options] <dir>', 'show a build: model, inputs and outputs, quantization, setup and per-layer costs'] } },
  {
    load: () => import('./setup.ts'),
    commands: {
      setup: ['setup [options] <dir>', 'Groth16 trusted setup of a compiled build: circuit.zkey and verification_key.json'],
      contribute: ['contribute [options] <dir>', "add a phase-2 contribution (random entropy) to a build's zkey"],
      beacon: ['beacon [options] <dir>', "apply a beacon (public randomness, e.g. a future block hash) to a build's zkey to close phase 2"],
    },
  },
  { load: () => import('./prove.ts'), commands: { prove: ['prove [options] <dir>', 'prove inference of a compiled, set-up build: one input in-process, or many in a pool of worker threads'] } },
  { load: () => import('./verify.ts'), commands: { verify: ['verify [options] <dir> <out>', "verify proofs off-chain against a build's verification key: a result folder, or a batch output folder"] } },
  {
    load: () => import('./export-verifier.ts'),
    commands: { 'export-verifier': ['export-verifier [options] <dir>', "write the build's Groth16 verifier as Verifier.sol and its compiled Hardhat-style artifact as Verifier.json"] },
  },
  { load: () => import('./deploy.ts'), commands: { deploy: ['deploy [options] <dir>', "deploy the build's verifier and an InferenceRegistry, register the model, record the addresses in manifest.json"] } },
  {
    load: () => import('./calibrate.ts'),
    commands: { calibrate: ['calibrate [options] <model>', 'pick quantization settings from sample data: accuracy vs onnxruntime and constraint cost over a grid; writes settings for `compile --settings`'] },
  },
  {
    load: () => import('./quantize.ts'),
    commands: { quantize: ['quantize [options] <model>', 'static post-training quantization to an int8 QDQ model (onnxruntime runs it; `zkml compile` proves its exact int8 arithmetic)'] },
  },
  { load: () => import('./audit.ts'), commands: { audit: ['audit [options] <dir>', "static soundness checks of a build's constraints: unused signals, free outputs, signals not determined by the inputs"] } },
  { load: () => import('./serve.ts'), commands: { serve: ['serve [options]', 'verifiable inference over HTTP: hosted models, outputs at once, Groth16 proofs behind them (docs/serve.md)'] } },
  {
    load: () => import('./fleet.ts'),
    commands: {
      worker: ['worker [options]', 'prove jobs from a Redis queue (filled by `zkml prove --queue`) in a local pool, until SIGTERM'],
      status: ['status [options] <batch>', 'counts and errors of a batch submitted with `zkml prove --queue`'],
    },
  },
];

/**
 * Registers the command named in argv (also for `zkml help <command>`) from its file; otherwise a listing-only
 * entry for every command, enough for the top-level help and for commander's "unknown command" suggestions.
 */
export async function registerCommands(program: Command, argv: string[]): Promise<void> {
  const words = argv.slice(2).filter((a) => !a.startsWith('-'));
  const name = words[0] === 'help' ? words[1] : words[0];
  const file = name === undefined ? undefined : COMMAND_FILES.find((f) => Object.hasOwn(f.commands, name));
  if (file) return (await file.load()).register(program);
  const terms = new Map<string, string>();
  for (const f of COMMAND_FILES) {
    for (const [command, [term, description]] of Object.entries(f.commands)) {
      program.command(command).description(description);
      terms.set(command, term);
    }
  }
  program.configureHelp({
    subcommandTerm(this: Help, cmd: Command) {
      return terms.get(cmd.name()) ?? Help.prototype.subcommandTerm.call(this, cmd);
    },
  });
}
