/**
 * Issue 14's scale table: compile (and, with --prove, development setup and a warm prove) of random-weight
 * Gemm/Relu MLPs against their weight count, each step in a child process so its peak RSS is its own.
 * Prints one JSON object: { models: [{ dims, weights, constraints, compileMs, compileRssMB, setupMs?, setupCpuMs?,
 * setupRssMB?, proveMs?, proveRssMB?, genericSetupMs?, genericSetupCpuMs? }] }. Setup is the development one
 * from known secrets (src/setup/dev-zkey.ts); --generic-setup also times snarkjs' generic phase 2 (zkey new and a
 * contribution) over the cached dev ptau, as `zkml setup` did before. CPU figures are of all the step's threads,
 * which say more than wall time on a shared machine.
 *
 *   npx tsx scripts/bench-scale.ts [--prove] [--generic-setup] [784-256-10,784-1024-256-10,...]
 *   npx tsx scripts/bench-scale.ts --step compile|setup|generic-setup|prove <model.onnx> <build>   (one child step)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { model, node, floatTensor, valueInfo, serialize, mulberry32 } from '../fixtures/onnx-builder.ts';

const DEFAULT_SIZES = ['784-256-10', '784-512-10', '784-1024-256-10', '784-2048-256-10', '784-2048-1024-512-10'];

/** A dense ReLU MLP with seeded uniform weights (±1/sqrt(fan-in)), as onnx's Python helpers would write it. */
function writeMlp(path: string, dims: number[]): number {
  const rand = mulberry32(dims.reduce((a, b) => a * 31 + b, 7));
  const nodes = [];
  const inits = [];
  let x = 'x';
  let weights = 0;
  for (let l = 0; l + 1 < dims.length; l++) {
    const [i, o] = [dims[l], dims[l + 1]];
    const s = 1 / Math.sqrt(i);
    inits.push(floatTensor(`W${l}`, [i, o], Array.from({ length: i * o }, () => (rand() * 2 - 1) * s)));
    inits.push(floatTensor(`b${l}`, [o], Array.from({ length: o }, () => (rand() * 2 - 1) * 0.1)));
    weights += i * o + o;
    nodes.push(node('Gemm', [x, `W${l}`, `b${l}`], [`g${l}`]));
    x = `g${l}`;
    if (l + 2 < dims.length) {
      nodes.push(node('Relu', [x], [`r${l}`]));
      x = `r${l}`;
    }
  }
  const m = model({ name: 'mlp', nodes, inputs: [valueInfo('x', [1, dims[0]])], outputs: [valueInfo(x, [1, dims.at(-1)!])], initializers: inits, opset: 13 });
  writeFileSync(path, serialize(m));
  return weights;
}

/** One step in this process: prints { ms, rssMB, ... }. */
async function step(kind: string, modelPath: string, build: string): Promise<void> {
  let ptau: string | undefined;
  if (kind === 'generic-setup') {
    // The dev ptau is made (or found cached) before the clock starts: it is shared by every circuit of its power.
    const [{ devPtau }, { ptauPowerFor }, { readManifest }] = await Promise.all([import('../src/setup/dev-ptau.ts'), import('../src/setup/ptau.ts'), import('../src/manifest.ts')]);
    const m = readManifest(build);
    ptau = await devPtau(ptauPowerFor(m.constraints, m.publicSignals.length));
  }
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let extra: Record<string, unknown> = {};
  if (kind === 'compile') {
    const { compile } = await import('../src/compiler/compile.ts');
    const manifest = await compile(modelPath, build, { inputRange: [0, 1] });
    extra = { constraints: manifest.constraints };
  } else if (kind === 'setup' || kind === 'generic-setup') {
    const { setup } = await import('../src/setup/setup.ts');
    await setup(build, { ptau });
  } else {
    const { prove } = await import('../src/prove/prove.ts');
    const input = { x: Array.from({ length: 784 }, (_, i) => ((i * 37) % 100) / 100) };
    // Warm: the first proof loads the zkey and starts the curve; the second is the figure.
    await prove(build, input, { out: join(build, 'proof-cold') });
    const t1 = performance.now();
    await prove(build, input, { out: join(build, 'proof-warm') });
    extra = { warmMs: Math.round(performance.now() - t1) };
  }
  const { releaseCurve } = await import('../src/util/snark.ts');
  await releaseCurve();
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(JSON.stringify({ ms: Math.round(performance.now() - t0), cpuMs: Math.round((cpu.user + cpu.system) / 1000), rssMB: Math.round(process.resourceUsage().maxRSS / 1024), ...extra }) + '\n');
}

function child(kind: string, modelPath: string, build: string): any {
  const r = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--step', kind, modelPath, build], { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`${kind} of ${modelPath} exited with ${r.status ?? r.signal}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

const args = process.argv.slice(2);
if (args[0] === '--step') {
  await step(args[1], args[2], args[3]);
} else {
  const withProve = args.includes('--prove');
  const withGeneric = args.includes('--generic-setup');
  const sizes = (args.find((a) => !a.startsWith('--')) ?? DEFAULT_SIZES.join(',')).split(',');
  const dir = join(tmpdir(), `zkml-bench-scale-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const models = [];
  try {
    for (const size of sizes) {
      const dims = size.split('-').map(Number);
      const path = join(dir, `mlp-${size}.onnx`);
      const weights = writeMlp(path, dims);
      const build = join(dir, `build-${size}`);
      process.stderr.write(`  scale: ${size} (${weights} weights)\n`);
      const c = child('compile', path, build);
      const row: Record<string, unknown> = { dims: size, weights, constraints: c.constraints, compileMs: c.ms, compileRssMB: c.rssMB };
      if (withGeneric) {
        const g = child('generic-setup', path, build);
        Object.assign(row, { genericSetupMs: g.ms, genericSetupCpuMs: g.cpuMs });
      }
      if (withProve) {
        const s = child('setup', path, build);
        const p = child('prove', path, build);
        Object.assign(row, { setupMs: s.ms, setupCpuMs: s.cpuMs, setupRssMB: s.rssMB, proveMs: p.warmMs, proveRssMB: p.rssMB });
      }
      models.push(row);
      rmSync(build, { recursive: true, force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify({ models }) + '\n');
}
