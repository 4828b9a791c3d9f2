/**
 * zkml as its users get it (issue 13, items 12 and 13): the tarball `npm pack` makes (its `prepare` script builds
 * dist/), installed offline into a fresh project. The package holds the built JavaScript, its declarations and
 * the files it reads at run time, and no sources; a strict TypeScript project type-checks against it with
 * skipLibCheck off; its CLI runs the built JavaScript (there are no sources and no tsx to fall back on); and a
 * script calling the library ends by itself.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_CACHE } from './helpers/cache.ts';
import { installTarball } from './helpers/consumer.ts';
import { runUntilExit } from './helpers/exits.ts';
import { scratchDirs } from './helpers/scratch.ts';

const ROOT = join(import.meta.dirname, '..');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const tmp = scratchDirs();

let tarball: string;
let consumer: string;
const installed = () => join(consumer, 'node_modules', 'zkml');

before(() => {
  const packs = tmp('pack');
  const pack = spawnSync('npm', ['pack', '--json', '--pack-destination', packs], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(pack.status, 0, pack.stderr);
  tarball = join(packs, JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')))[0].filename);
  consumer = tmp('consumer');
  installTarball(consumer, tarball, { typescript: PKG.devDependencies.typescript, '@types/node': PKG.devDependencies['@types/node'] });
});

test('the package holds the build, its declarations and the files read at run time, and no sources', () => {
  const list = spawnSync('tar', ['tzf', tarball], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
  for (const file of ['bin/zkml.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'dist/prover/worker.js', 'dist/src/setup/dev-ptau.worker.js', 'verifier-contracts/InferenceRegistry.sol', 'README.md', 'SECURITY.md']) {
    assert.ok(list.includes(file), `${file} is missing from the package`);
  }
  assert.deepEqual(list.filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts')), [], 'TypeScript sources in the package');
  assert.deepEqual(list.filter((f) => /^(test|scripts|fixtures|src|dev)\//.test(f)), [], 'development files in the package');
});

test("a strict project type-checks against the package with skipLibCheck off, and sees zkml's types", () => {
  writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, skipLibCheck: false, noEmit: true, types: ['node'] },
    files: ['app.ts', 'wrong.ts'],
  }));
  writeFileSync(join(consumer, 'app.ts'), `import { compile, setup, prove, verify, proveBatch, calibrate, chosenQuant, loadSamples, quantizeModel, audit, releaseCurve, ZkmlError, type Manifest, type AuditReport } from 'zkml';
const manifest: Manifest = await compile('model.onnx', 'build', { inputRange: [0, 1] });
await setup('build');
const proof = await prove('build', { file: 'x.json' }, { out: 'out' });
const { valid } = await verify('build', 'out');
const batch = await proveBatch('build', 'inputs', { out: 'batch', workers: 2 });
const calibration = await calibrate('model.onnx', loadSamples('samples.jsonl'), { target: 'accuracy' });
const settings = chosenQuant(calibration);
const ptq = await quantizeModel('model.onnx', loadSamples('samples.jsonl'), 'model.int8.onnx', { activations: 'uint8' });
const report: AuditReport = await audit('build');
await releaseCurve();
const code: string = new ZkmlError('message', 'E_X').code;
console.log(manifest.constraints, proof.publicSignals[0], valid, batch.failed, settings.scale, ptq.calibration.top1Agreement, report.findings.length, code);
`);
  // Wrong uses must be errors, or the check above proves nothing (an untyped package would accept anything).
  writeFileSync(join(consumer, 'wrong.ts'), `import { compile, prove } from 'zkml';
const n: number = await compile('model.onnx', 'build');
await prove('build', { file: 'x.json' }, {});
`);
  const tsc = join(consumer, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', consumer], { cwd: consumer, encoding: 'utf8' });
  const errors = r.stdout.split('\n').filter((l) => /error TS/.test(l));
  assert.deepEqual(errors.filter((l) => !l.startsWith('wrong.ts')), [], 'errors outside the deliberate ones (zkml internals or app.ts)');
  assert.equal(errors.filter((l) => l.startsWith('wrong.ts(2,')).length, 1, `compile() is not typed:\n${r.stdout}`);
  assert.equal(errors.filter((l) => l.startsWith('wrong.ts(3,')).length, 1, `prove()'s options are not typed:\n${r.stdout}`);
});

test('the installed CLI starts from the built JavaScript', () => {
  assert.ok(!readdirSync(installed()).includes('src'), 'the package has no sources to run');
  const bin = join(consumer, 'node_modules', '.bin', 'zkml');
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  assert.equal(version.status, 0, version.stderr);
  const [versionLine, proverLine] = version.stdout.trim().split('\n');
  assert.equal(versionLine, PKG.version);
  assert.match(proverLine, /^Groth16 prover: /, '--version names the prover');
  const help = spawnSync(bin, ['--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^  prove \[options\] <dir> /m);
});

test('a script using the installed library end to end exits by itself', async () => {
  // The script must sit in the consumer project: from the checkout, 'zkml' would resolve to the checkout itself.
  const script = join(consumer, 'session.mjs');
  copyFileSync(join(ROOT, 'test', 'helpers', 'library-session.mjs'), script);
  const r = await runUntilExit([script, 'zkml', join(ROOT, 'fixtures'), tmp('session')], { cwd: consumer, env: { ...process.env, ZKML_CACHE: TEST_CACHE } });
  assert.match(r.stdout, /^done$/m, `the session did not finish:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.killed, false, `still running 30 s after its last call:\n${r.stdout}`);
  assert.equal(r.code, 0, r.stderr);
});
