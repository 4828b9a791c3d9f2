// Builds the native Groth16 prover (native/, node-gyp) during `npm ci`, as package.json's install script.
// Never fails the install: on any error it prints one line and exits 0, and zkml proves with snarkjs instead.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');  // native/install.mjs: the package root
const native = join(root, 'native');

function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((c) => c && existsSync(c));
}

function main() {
  if (process.env.ZKML_SKIP_NATIVE === '1') return 'skipped (ZKML_SKIP_NATIVE=1)';
  if (process.platform !== 'linux' && process.platform !== 'darwin') return `unsupported platform ${process.platform}`;
  if (process.arch !== 'x64' && process.arch !== 'arm64') return `unsupported architecture ${process.arch}`;
  const gyp = nodeGyp();
  if (!gyp) return 'node-gyp not found';
  const args = [gyp, 'rebuild', '--directory', native];
  // Node's own headers when they are installed next to the binary: no download.
  const prefix = resolve(dirname(process.execPath), '..');
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
  const r = spawnSync(process.execPath, args, { stdio: process.env.ZKML_NATIVE_VERBOSE ? 'inherit' : 'pipe', encoding: 'utf8', timeout: 600_000 });
  if (r.error) return r.error.message;
  if (r.status !== 0) {
    const last = `${r.stderr ?? ''}`.trim().split('\n').filter((l) => /error/i.test(l)).slice(-1)[0] ?? `exit ${r.status}`;
    return `node-gyp failed (${last.trim().slice(0, 200)}); ZKML_NATIVE_VERBOSE=1 npm rebuild zkml for the full log`;
  }
  return null;
}

let failure;
try {
  failure = main();
} catch (e) {
  failure = e instanceof Error ? e.message : String(e);
}
if (failure) console.log(`zkml: native prover not built (${failure}); proofs use snarkjs.`);
else console.log('zkml: native prover built (native/build/Release/zkml_native.node).');
process.exit(0);
