import type { Command } from 'commander';

/**
 * Every subcommand lives in its own file in this folder and exports `register(program)`. Modules are loaded
 * lazily: a command imports snarkjs, ethers, Hardhat or onnxruntime only when it runs, so `zkml inspect` does
 * not pay for `zkml deploy`'s dependencies (seconds of start-up on a small machine). Adding a command means
 * adding a file and one entry below, keyed by the command names the file registers.
 */
type CommandModule = { register: (program: Command) => void };

const commands: [string[], () => Promise<CommandModule>][] = [
  [['compile'], () => import('./compile.ts')],
  [['run'], () => import('./run.ts')],
  [['inspect'], () => import('./inspect.ts')],
  [['setup', 'contribute', 'beacon'], () => import('./setup.ts')],
  [['prove'], () => import('./prove.ts')],
  [['verify'], () => import('./verify.ts')],
  [['export-verifier'], () => import('./export-verifier.ts')],
  [['deploy'], () => import('./deploy.ts')],
  [['calibrate'], () => import('./calibrate.ts')],
  [['quantize'], () => import('./quantize.ts')],
  [['audit'], () => import('./audit.ts')],
  [['worker', 'status'], () => import('./fleet.ts')],
];

/** Registers the command named in argv (or all of them, for help and unknown names). */
export async function registerCommands(program: Command, argv: string[]): Promise<void> {
  const name = argv.slice(2).find((a) => !a.startsWith('-'));
  const wanted = commands.filter(([names]) => name !== undefined && names.includes(name));
  for (const [, load] of wanted.length ? wanted : commands) (await load()).register(program);
}
