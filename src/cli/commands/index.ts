import type { Command } from 'commander';
import * as compile from './compile.ts';
import * as inspect from './inspect.ts';
import * as run from './run.ts';
import * as prove from './prove.ts';
import * as verify from './verify.ts';
import * as setup from './setup.ts';
import * as calibrate from './calibrate.ts';
import * as exportVerifier from './export-verifier.ts';
import * as deploy from './deploy.ts';
import * as quantize from './quantize.ts';
import * as audit from './audit.ts';

/**
 * Every subcommand lives in its own file in this folder and exports `register(program)`.
 * Adding a command means adding a file, one import and one entry below.
 */
type CommandModule = { register: (program: Command) => void };

const commands: CommandModule[] = [
  compile,
  run,
  inspect,
  prove,
  verify,
  setup,
  exportVerifier,
  deploy,
  calibrate,
  quantize,
  audit,
];

export function registerCommands(program: Command): void {
  for (const c of commands) c.register(program);
}
