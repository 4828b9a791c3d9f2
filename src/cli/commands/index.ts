import type { Command } from 'commander';

/**
 * Every subcommand lives in its own file in this folder and exports `register(program)`.
 * Adding a command means adding a file, one import and one entry below.
 */
type CommandModule = { register: (program: Command) => void };

const commands: CommandModule[] = [
];

export function registerCommands(program: Command): void {
  for (const c of commands) c.register(program);
}
