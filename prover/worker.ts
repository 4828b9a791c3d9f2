/**
 * The proving engine, run in each piscina worker (default export) and in-process by `zkml prove` for a single
 * input (the named exports). Per thread it keeps, for each build folder, the circuit's witness calculator and the
 * zkey bytes in memory, so a worker proves many inputs without reading or compiling anything again.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import vm from 'node:vm';
import type { Groth16Proof } from 'snarkjs';
import { ZkmlError } from '../src/util/errors.ts';
import { sha256Hex } from '../src/util/hash.ts';
import { loadFfjavascript, loadSnarkjs, type Bn128 } from '../src/util/snark.ts';
import { decodeProgram } from '../src/circuit/program-file.ts';
import { witnessFile } from '../src/circuit/witness.ts';
import { selectBackend, type ProverBackend } from '../src/prove/backend.ts';
import { proveNative } from '../src/prove/native.ts';

/** A build folder's proving artifacts and the hashes the manifest records for them. */
export interface BuildRef {
  dir: string;
  /**
   * How witnesses are computed: from zkml's program file (circuit.program) or circom's witness calculator
   * (circuit_js/circuit.wasm, builds made with `compile --circom`), with the file's sha256.
   */
  witness: { kind: 'program' | 'wasm'; sha256: string };
  zkeySha256: string;
  /** Builds with private parameter signals (--param-visibility hashed|private): params.json's hash. */
  paramsSha256?: string;
}

/**
 * How snarkjs computes one proof: `multi` lets ffjavascript spread FFTs and multi-exponentiations over one thread
 * per core; `single` keeps the whole proof on the calling thread.
 */
export type ThreadMode = 'single' | 'multi';

export interface ProveTask {
  build: BuildRef;
  /** Signal name → decimal strings, as `witnessInput()` makes it. */
  input: Record<string, string[]>;
  threads: ThreadMode;
  /** Groth16 prover: default native when the addon is built (src/prove/backend.ts). */
  prover?: ProverBackend;
}

export interface ProveOutput {
  proof: Groth16Proof;
  publicSignals: string[];
  /** The tensors a hashed-output build commits to, when the witness step computed them (decimal strings). */
  reports?: Record<string, string[]>;
  witnessMs: number;
  proveMs: number;
  threads: ThreadMode;
  prover?: ProverBackend;
}

/** What a pool task returns: errors travel as data so their ZkmlError code survives the thread boundary. */
export type TaskOutcome = ({ ok: true } & ProveOutput) | { ok: false; message: string; code: string };

/**
 * Picks snarkjs' threading for a pool of `poolWidth` workers (1 for an in-process proof). Measured on this
 * project's 2-vCPU machine with chain circuits and the tiny build (warm proofs; ad-hoc runs and
 * scripts/bench-prove.ts; the machine was shared with other jobs, so single figures vary by ±30%):
 *
 *   one proof at a time, median ms        single   multi
 *     tiny (1 constraint)                     14      78
 *     400 constraints                         86     118
 *     900                                    174     165
 *     1,900                                  328     215
 *     3,900                                  950     448
 *
 *   pool throughput, proofs/s             1 worker          2 workers
 *   (after warm-up)                     single  multi     single  multi
 *     tiny                                  52     17        106     32
 *     400 constraints                       14     16         10      8
 *     900                                  6.1    8.7        5.8   10.6   (another run: 7.4 and 5.5 with 2)
 *     1,900                                3.9    5.4        3.8    3.8
 *
 * - ffjavascript's threads cost ~60 ms of messaging per proof and only pay off once the FFTs and
 *   multi-exponentiations are large: in-process proofs are single-threaded below SINGLE_THREAD_BELOW constraints.
 * - In a pool wider than one worker, multi-threaded snarkjs starts one thread per core in every worker
 *   (workers × cores threads fighting for the cores) and was not faster overall: pool workers prove
 *   single-threaded.
 * - On this machine two concurrent proofs of 1,900 constraints each took 2.0× as long as one (also as two
 *   separate processes), so a second worker adds throughput only for small circuits; for large circuits on a
 *   2-core machine `--workers 1` (then multi-threaded) is as fast or faster. On machines with more physical cores
 *   a worker per core is the design's default.
 */
export const SINGLE_THREAD_BELOW = 1000;

export function chooseThreads(poolWidth: number, constraints: number): ThreadMode {
  return poolWidth > 1 || constraints < SINGLE_THREAD_BELOW ? 'single' : 'multi';
}

let singleCurve: Promise<Bn128> | undefined;
let singleDepth = 0;
let savedCurve: unknown;

/**
 * Runs `fn` with snarkjs on a single-threaded curve. snarkjs' own `{singleThread: true}` builds a new curve
 * (wasm module and all) for every proof, ~200 ms each; ffjavascript hands out whatever sits in
 * `globalThis.curve_bn128` to callers that do not ask for a single thread, so one curve built here and placed
 * there for the duration of the call is reused by every proof and verification of this thread. The previous
 * value is restored when the last overlapping call ends. A single-threaded curve owns no threads: nothing to
 * terminate.
 */
export async function withThreads<T>(mode: ThreadMode, fn: () => Promise<T>): Promise<T> {
  if (mode === 'multi') return fn();
  singleCurve ??= loadFfjavascript().then((ff) => ff.buildBn128(true));
  const curve = await singleCurve;
  const g = globalThis as { curve_bn128?: unknown };
  if (singleDepth++ === 0) {
    savedCurve = g.curve_bn128;
    g.curve_bn128 = curve;
  }
  try {
    return await fn();
  } finally {
    if (--singleDepth === 0) g.curve_bn128 = savedCurve;
  }
}

/** Reads an artifact and refuses it unless its sha256 is the one the manifest recorded. */
export function readVerified(path: string, expectedSha256: string, fix: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new ZkmlError(`cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): ${fix}`, 'E_ARTIFACT', path);
  }
  const actual = sha256Hex(bytes);
  if (actual !== expectedSha256) {
    throw new ZkmlError(`sha256 is ${actual.slice(0, 16)}…, the manifest expects ${expectedSha256.slice(0, 16)}…: the file is stale or from another build; ${fix}`, 'E_ARTIFACT_HASH', path);
  }
  return bytes;
}

const WITNESS_FILES = { program: 'circuit.program', wasm: join('circuit_js', 'circuit.wasm') } as const;

/** The build's witness source and zkey, refused unless they are the ones its manifest records. */
export function readArtifacts(build: BuildRef): { witness: Buffer; zkey: Buffer; params: Record<string, string[]> } {
  return {
    witness: readVerified(join(build.dir, WITNESS_FILES[build.witness.kind]), build.witness.sha256, 'recompile with zkml compile'),
    zkey: readVerified(join(build.dir, 'circuit.zkey'), build.zkeySha256, 'rerun zkml setup'),
    params: readParams(build),
  };
}

/**
 * The model's weights as the circuit's private parameter signals (--param-visibility hashed|private): witness
 * data, read from the build folder on the proving host, never sent with a job. Empty for fixed weights.
 */
export function readParams(build: BuildRef): Record<string, string[]> {
  if (!build.paramsSha256) return {};
  return JSON.parse(readVerified(join(build.dir, 'params.json'), build.paramsSha256, 'recompile with zkml compile').toString('utf8'));
}

interface WitnessCalculator {
  calculateWTNSBin(input: Record<string, unknown>, sanityCheck: boolean): Promise<Uint8Array>;
}

/** Computes one input's witness: .wtns bytes, and the tensors a hashed-output build reports. */
type WitnessStep = (input: Record<string, string[]>, params: Record<string, string[]>) => Promise<{ wtns: Uint8Array; reports?: Record<string, string[]> }>;

interface LoadedBuild {
  key: string;
  ready: Promise<{ witness: WitnessStep; zkey: Buffer; params: Record<string, string[]> }>;
}

/** One entry per build folder; a changed wasm or zkey (new hashes) replaces the entry. */
const loaded = new Map<string, LoadedBuild>();

/**
 * circom writes `witness_calculator.js` next to the wasm, as CommonJS. It is evaluated here rather than
 * `require`d because a build folder inside an ESM package (`"type": "module"`) would make Node refuse it, and
 * rather than taken from snarkjs' `circom_runtime` because the generated file always matches the wasm it sits
 * next to. It is code from the build folder, trusted exactly as much as the wasm itself.
 */
async function loadWitnessCalculator(dir: string, wasm: Buffer): Promise<WitnessCalculator> {
  const file = join(dir, 'circuit_js', 'witness_calculator.js');
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ZkmlError(`cannot read (${(err as NodeJS.ErrnoException).code}): recompile with zkml compile`, 'E_ARTIFACT', file);
  }
  const module = { exports: {} as unknown };
  vm.compileFunction(source, ['module', 'exports'], { filename: file })(module, module.exports);
  if (typeof module.exports !== 'function') throw new ZkmlError('does not export a witness calculator builder', 'E_ARTIFACT', file);
  return (module.exports as (code: Buffer) => Promise<WitnessCalculator>)(wasm);
}

/** The witness step of a build: zkml's own (from its program file) or circom's wasm. */
export async function witnessStep(dir: string, kind: BuildRef['witness']['kind'], bytes: Buffer): Promise<WitnessStep> {
  if (kind === 'program') {
    const program = decodeProgram(bytes, join(dir, WITNESS_FILES.program));
    return async (input, params) => witnessFile(program, input, params);
  }
  const wc = await loadWitnessCalculator(dir, bytes);
  return async (input, params) => {
    try {
      return { wtns: await wc.calculateWTNSBin({ ...input, ...params }, true) };
    } catch (err) {
      // circom's messages ("Assert Failed. Error in template …", "Not enough values for input signal …") are
      // the useful part; drop the wasm stack.
      throw new ZkmlError(`witness calculation failed: ${(err as Error).message.split('\n').filter(Boolean).slice(0, 3).join(' ')}`, 'E_WITNESS', dir);
    }
  };
}

function loadBuild(build: BuildRef) {
  const dir = resolve(build.dir);
  const key = `${build.witness.kind}:${build.witness.sha256}:${build.zkeySha256}:${build.paramsSha256 ?? ''}`;
  let entry = loaded.get(dir);
  if (!entry || entry.key !== key) {
    const ready = (async () => {
      const { witness, zkey, params } = readArtifacts(build);
      return { witness: await witnessStep(dir, build.witness.kind, witness), zkey, params };
    })();
    entry = { key, ready };
    loaded.set(dir, entry);
    // A failed load must not stick: the next task retries (e.g. after the user reran setup).
    ready.catch(() => loaded.get(dir) === entry && loaded.delete(dir));
  }
  return entry.ready;
}

/** Witness and Groth16 proof for one encoded input. Throws ZkmlError for inputs the circuit rejects. */
export async function proveInput(task: ProveTask): Promise<ProveOutput> {
  const [snarkjs, { witness: computeWitness, zkey, params }] = await Promise.all([loadSnarkjs(), loadBuild(task.build)]);
  const t0 = performance.now();
  const { wtns, reports } = await computeWitness(task.input, params);
  const t1 = performance.now();
  const prover = selectBackend(task.prover);
  const { proof, publicSignals } = prover === 'native' ? await proveNative(zkey, wtns) : await withThreads(task.threads, () => snarkjs.groth16.prove(zkey, wtns));
  const t2 = performance.now();
  const ms = (x: number) => Math.round(x * 10) / 10;
  return { proof, publicSignals, ...(reports && Object.keys(reports).length ? { reports } : {}), witnessMs: ms(t1 - t0), proveMs: ms(t2 - t1), threads: task.threads, prover };
}

/** The piscina task handler. */
export default async function runTask(task: ProveTask): Promise<TaskOutcome> {
  try {
    return { ok: true, ...(await proveInput(task)) };
  } catch (err) {
    return { ok: false, message: (err as Error).message, code: err instanceof ZkmlError ? err.code : 'E_PROVE' };
  }
}
