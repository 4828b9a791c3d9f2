// A library user's script: each public function that starts threads, worker pools, a chain or onnxruntime, in
// the order a user would call them, and then nothing. test/library-exit.test.ts runs it from the sources and
// test/package.test.ts from the installed package, each as a child process that must exit by itself: anything
// left running (the bn128 curve's worker threads, a prover pool, a timer) keeps it alive past the test's timeout.
// Plain JavaScript so that it runs where no TypeScript loader is installed.
//
//   node [--import tsx] library-session.mjs <'zkml' | path of src/index.ts> <fixtures dir> <work dir> [last step]
//
// It prints `step <name>` after each step and `done` at the end.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [library, fixtures, work, last] = process.argv.slice(2);
const z = await import(library.startsWith('/') ? pathToFileURL(library).href : library);

const model = join(fixtures, 'models', 'iris.onnx');
const build = join(work, 'build');
const inputs = join(work, 'inputs');
mkdirSync(inputs, { recursive: true });
for (const i of [0, 1, 2]) copyFileSync(join(fixtures, 'iris-samples', `sample-${i}.json`), join(inputs, `sample-${i}.json`));
const first = join(inputs, 'sample-0.json');
const proof = join(work, 'proof');

let chain;
const steps = {
  run: async () => z.run(model, z.readInputFile(first), { inputRange: [0, 8] }),
  calibrate: async () => z.calibrate(model, z.loadSamples(inputs), { scales: [6], weightBits: [8] }),
  quantize: async () => z.quantizeModel(model, z.loadSamples(inputs), join(work, 'iris.int8.onnx')),
  compile: async () => z.compile(model, build, { inputRange: [0, 8] }),
  audit: async () => {
    const report = await z.audit(build);
    if (report.findings.length) console.log(`audit findings: ${report.findings.length}`);
  },
  setup: async () => z.setup(build),
  contribute: async () => z.contribute(build, 'second'),
  // The default setup is the development one from known secrets, which verifySetup refuses (it is no ceremony).
  verifySetup: async () =>
    z.verifySetup(build).then(
      () => {
        throw new Error('verifySetup accepted a development setup');
      },
      (err) => {
        if (err.code !== 'E_SETUP_NOT_CEREMONY') throw err;
      },
    ),
  prove: async () => z.prove(build, { file: first }, { out: proof }),
  verify: async () => {
    const { valid } = await z.verify(build, proof);
    if (!valid) throw new Error('the proof does not verify');
  },
  proveBatch: async () => {
    const summary = await z.proveBatch(build, inputs, { out: join(work, 'batch'), workers: 2 });
    if (summary.failed) throw new Error(`${summary.failed} batch inputs failed`);
  },
  exportVerifier: async () => z.exportVerifier(build),
  deploy: async () => {
    chain = await z.connect();
    await z.deploy(build, { chain });
  },
  verifyOnchain: async () => {
    const { valid } = await z.verifyOnchain(build, proof, { chain });
    if (!valid) throw new Error('the proof does not verify on chain');
    await chain.close();
  },
};

for (const [name, step] of Object.entries(steps)) {
  await step();
  console.log(`step ${name}`);
  if (name === last) break;
}
console.log('done');
