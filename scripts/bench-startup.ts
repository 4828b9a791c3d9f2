/**
 * Start-up and shut-down costs: how fast the CLI answers (`zkml --help`, `--version`, against bare `node`), and
 * what releasing the bn128 curve after library calls costs (src/util/snark.ts): back-to-back `prove()` calls on a
 * warm curve, calls spaced wider than the idle window (the curve is released and built again), and how long a
 * finished script takes to exit by itself. Prints one JSON object.
 *
 *   npx tsx scripts/bench-startup.ts [--runs 15]
 *
 * It builds the package first (`npm run build`), so the CLI figures are those of the built JavaScript.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { prove } from '../src/prove/prove.ts';
import { setup } from '../src/setup/setup.ts';
import { IDLE_RELEASE_MS, releaseCurve } from '../src/util/snark.ts';
import { readManifest } from '../src/manifest.ts';
import { makeTinyBuild } from '../test/helpers/tiny-build.ts';

const root = join(import.meta.dirname, '..');
const args = process.argv.slice(2);
const runs = args.includes('--runs') ? Number(args[args.indexOf('--runs') + 1]) : 15;
/** Above prover/worker.ts' SINGLE_THREAD_BELOW, so that prove() runs on the multi-threaded curve. */
const PRODUCTS = 1500;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const round = (x: number) => Math.round(x * 10) / 10;

// A preload that reports the process's own peak RSS (KB) on stderr as it exits.
const PEAK_RSS = `data:text/javascript,${encodeURIComponent("import { writeSync } from 'node:fs'; process.on('exit', () => writeSync(2, `\\npeak-rss-kb ${process.resourceUsage().maxRSS}\\n`));")}`;

function startup(command: string, argv: string[]) {
  const times: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const t = performance.now();
    const r = spawnSync(process.execPath, ['--import', PEAK_RSS, ...argv], { encoding: 'utf8', cwd: root });
    const ms = performance.now() - t;
    if (r.status !== 0) throw new Error(`${command} exited with ${r.status}: ${r.stderr.slice(-500)}`);
    if (i === 0) continue; // warm-up: file-system cache
    times.push(ms);
    rss.push(Number(/peak-rss-kb (\d+)/.exec(r.stderr)?.[1]));
  }
  return { command, runs, medianMs: round(median(times)), minMs: round(Math.min(...times)), peakRssMB: round(median(rss) / 1024) };
}

/** A child process that calls prove() once and ends: ms from its last line of output to its exit. */
function exitAfterLastCall(dir: string, work: string): Promise<number> {
  const script = join(work, 'one-call.mjs');
  writeFileSync(script, `import { prove } from ${JSON.stringify(pathToFileURL(join(root, 'src', 'index.ts')).href)};
await prove(${JSON.stringify(dir)}, { x: [[3, 5]] }, { out: ${JSON.stringify(join(work, 'child-out'))}, raw: true });
console.log('done');
`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let doneAt: number | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('done')) doneAt = performance.now();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0 || doneAt === undefined) reject(new Error(`the one-call script exited with ${code} (killed after 60 s if it never exits)`));
      else resolve(round(performance.now() - doneAt));
    });
  });
}

async function library(work: string) {
  const dir = await makeTinyBuild(join(work, 'chain'), PRODUCTS);
  await setup(dir);
  await releaseCurve();
  const out = join(work, 'out');
  const call = async () => {
    const t = performance.now();
    const r = await prove(dir, { x: [[3, 5]] }, { out, raw: true });
    if (r.threads !== 'multi') throw new Error(`prove() ran ${r.threads}-threaded: the chain build is too small`);
    return performance.now() - t;
  };
  const first = await call();
  const warm: number[] = [];
  for (let i = 0; i < 8; i++) warm.push(await call());
  const spaced: number[] = [];
  for (let i = 0; i < 4; i++) {
    await new Promise((resolve) => setTimeout(resolve, IDLE_RELEASE_MS + 500));
    spaced.push(await call());
  }
  await releaseCurve();
  return {
    constraints: readManifest(dir).constraints,
    idleReleaseMs: IDLE_RELEASE_MS,
    firstProveMs: round(first),
    warmProveMs: round(median(warm)),
    spacedProveMs: round(median(spaced)),
    exitAfterLastCallMs: await exitAfterLastCall(dir, work),
  };
}

const build = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8' });
if (build.status !== 0) throw new Error(`npm run build failed: ${build.stderr.slice(-2000)}`);
const work = mkdtempSync(join(tmpdir(), 'zkml-bench-startup-'));
try {
  const zkml = join(root, 'bin', 'zkml.js');
  const cli = [startup('node -e 0', ['-e', '0']), startup('zkml --version', [zkml, '--version']), startup('zkml --help', [zkml, '--help'])];
  console.log(JSON.stringify({ cli, library: await library(work) }, null, 1));
} finally {
  rmSync(work, { recursive: true, force: true });
}
