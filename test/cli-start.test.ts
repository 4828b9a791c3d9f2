/**
 * How the CLI starts (issue 13, item 13): bin/zkml.js runs the build in dist/, or the sources through tsx in a
 * checkout whose sources changed since the build, or says how to build; the top-level help, which loads no
 * command module, lists exactly what the command modules register. Start-up times are in the bench.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Help } from 'commander';
import { COMMAND_FILES } from '../src/cli/commands/index.ts';
import { zkml } from './helpers/cli.ts';
import { scratchDirs } from './helpers/scratch.ts';

const ROOT = join(import.meta.dirname, '..');
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
const tmp = scratchDirs();

test('the help table matches what each command file registers', async () => {
  const help = new Help();
  for (const file of COMMAND_FILES) {
    const program = new Command('zkml');
    (await file.load()).register(program);
    assert.deepEqual(program.commands.map((c) => c.name()).sort(), Object.keys(file.commands).sort());
    for (const cmd of program.commands) {
      const [term, description] = file.commands[cmd.name()];
      assert.equal(help.subcommandTerm(cmd), term, `usage of ${cmd.name()} in src/cli/commands/index.ts`);
      assert.equal(cmd.description(), description, `description of ${cmd.name()} in src/cli/commands/index.ts`);
    }
  }
});

test('zkml --help lists every command, --version is package.json\'s, help <command> and unknown commands', () => {
  const help = zkml(['--help']);
  assert.equal(help.status, 0, help.stderr);
  for (const file of COMMAND_FILES) for (const [term] of Object.values(file.commands)) assert.match(help.stdout, new RegExp(`^  ${term.replace(/[[\]]/g, '\\$&')} `, 'm'));
  const version = zkml(['--version']);
  assert.equal(version.status, 0, version.stderr);
  const [versionLine, proverLine] = version.stdout.trim().split('\n');
  assert.equal(versionLine, VERSION);
  assert.match(proverLine, /^Groth16 prover: (native \(zkml_native addon\)|snarkjs \(.+\))$/);
  const prove = zkml(['help', 'prove']);
  assert.equal(prove.status, 0, prove.stderr);
  assert.match(prove.stdout, /^Usage: zkml prove \[options\] <dir>/m);
  assert.match(prove.stdout, /--workers/);
  const unknown = zkml(['prov']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command 'prov'[\s\S]*Did you mean prove\?/);
});

/**
 * A package laid out like the checkout, with stand-ins for the built and the source entry points that say which
 * one ran; node_modules links to the checkout's (for tsx) unless `tsx` is false.
 */
function fakePackage(opts: { built: boolean; sources: boolean; checkout: boolean; tsx: boolean }): string {
  const dir = tmp('bin');
  mkdirSync(join(dir, 'bin'));
  copyFileSync(join(ROOT, 'bin', 'zkml.js'), join(dir, 'bin', 'zkml.js'));
  writeFileSync(join(dir, 'package.json'), '{"type": "module"}');
  if (opts.checkout) writeFileSync(join(dir, 'tsconfig.json'), '{}');
  if (opts.tsx) symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const entry = (from: string) => `export async function main() { console.log(${JSON.stringify(from)}); return 0; }\n`;
  if (opts.sources) {
    mkdirSync(join(dir, 'src', 'cli'), { recursive: true });
    writeFileSync(join(dir, 'src', 'cli', 'main.ts'), entry('sources'));
  }
  if (opts.built) {
    mkdirSync(join(dir, 'dist', 'src', 'cli'), { recursive: true });
    writeFileSync(join(dir, 'dist', 'src', 'cli', 'main.js'), entry('built'));
  }
  return dir;
}

const runBin = (dir: string) => spawnSync(process.execPath, [join(dir, 'bin', 'zkml.js')], { encoding: 'utf8' });
const age = (path: string, seconds: number) => utimesSync(path, new Date(Date.now() - seconds * 1000), new Date(Date.now() - seconds * 1000));

test('bin/zkml.js runs the build unless the checkout\'s sources are newer, and says how to build when there is none', () => {
  // A checkout built after its last edit, and the installed package (no tsconfig.json, no tsx): the build.
  const fresh = fakePackage({ built: true, sources: true, checkout: true, tsx: true });
  age(join(fresh, 'src', 'cli', 'main.ts'), 60);
  assert.equal(runBin(fresh).stdout.trim(), 'built');
  const installed = fakePackage({ built: true, sources: false, checkout: false, tsx: false });
  assert.equal(runBin(installed).stdout.trim(), 'built');

  // A source edited after the build: the sources, through tsx.
  const edited = fakePackage({ built: true, sources: true, checkout: true, tsx: true });
  age(join(edited, 'dist', 'src', 'cli', 'main.js'), 60);
  assert.equal(runBin(edited).stdout.trim(), 'sources');

  // Not built: the sources if tsx is there, else a clear error.
  assert.equal(runBin(fakePackage({ built: false, sources: true, checkout: true, tsx: true })).stdout.trim(), 'sources');
  const bare = fakePackage({ built: false, sources: true, checkout: true, tsx: false });
  const r = runBin(bare);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /zkml is not built .*run `npm run build`/);
});
