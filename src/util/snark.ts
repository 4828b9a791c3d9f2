/**
 * Loading snarkjs and ffjavascript in-process, and letting the process exit afterwards.
 *
 * - ffjavascript keeps one multi-threaded bn128 curve in `globalThis.curve_bn128` (snarkjs builds it on first use);
 *   its worker threads keep the process alive until the curve is terminated. zkml's snarkjs operations all go
 *   through `loadSnarkjs()`, which counts them: a curve built during one is terminated once none has run for
 *   IDLE_RELEASE_MS, so a library call leaves nothing running and a script ends by itself, while back-to-back
 *   calls (a loop of proofs) keep using the warm curve. `releaseCurve()` terminates every curve at once (the CLI
 *   calls it when a command ends). A curve that other code built outside zkml's operations is left to that code.
 * - Three copies of ffjavascript are installed (snarkjs', r1csfile's, circomlibjs'), and each one sets
 *   `globalThis.curve_bn128 = null` when it is first imported; two concurrent first uses also build two curves and
 *   keep only the last. Either way a running curve would drop out of sight and keep the process alive forever, so
 *   the global is watched (an accessor property) and every multi-threaded curve ever stored there is tracked until
 *   it is terminated.
 * - Both packages reach `web-worker`, which decides once, when first loaded, whether it runs inside one of its own
 *   workers by reading `worker_threads.isMainThread`. Inside any other worker thread (a piscina pool) it then
 *   crashes with "Cannot destructure property 'mod' of 'threads.workerData'". The loaders below present the
 *   thread as the main one for the duration of the first import.
 */
import threads from 'node:worker_threads';

type Snarkjs = typeof import('snarkjs');

/** The part of ffjavascript's API that zkml uses (the package ships no type declarations). */
export interface Ffjavascript {
  /** `singleThread`: a private curve in this thread; otherwise the shared multi-threaded one. */
  buildBn128(singleThread?: boolean): Promise<Bn128>;
  ChaCha: new (seed: number[]) => unknown;
}

/** An ffjavascript curve object; its groups and fields are untyped in ffjavascript itself. */
export interface Bn128 {
  G1: any;
  G2: any;
  Fr: any;
  /** Order of the groups (the scalar field). */
  r: bigint;
  /** The base field's prime. */
  q: bigint;
  /** Thread manager: its `code` (wasm bytes, single-threaded curves) and pointers to constants in wasm memory. */
  tm: any;
  terminate(): Promise<void>;
}

async function importAsMainThread<T>(load: () => Promise<T>): Promise<T> {
  if (threads.isMainThread) return load();
  const mutable = threads as { isMainThread: boolean };
  mutable.isMainThread = true;
  try {
    return await load();
  } finally {
    mutable.isMainThread = false;
  }
}

/**
 * How long the curve outlives zkml's last snarkjs operation. Building it again costs ~0.3 s on this project's
 * 2-core machine (wasm compilation and one worker per core; terminating costs 0.2 s more): waiting about as long
 * as a rebuild costs keeps a loop of calls warm and delays a finished script's exit by little more than that.
 */
export const IDLE_RELEASE_MS = 300;

interface CurveRegistry {
  /** Multi-threaded curves alive in this thread; `ours`: built during one of zkml's snarkjs operations. */
  live: Map<Bn128, { ours: boolean }>;
  /** zkml's snarkjs operations in flight. */
  inFlight: number;
  idleTimer?: NodeJS.Timeout;
}

/** One registry per thread, shared by every copy of this module a process may load (sources and build). */
const REGISTRY = Symbol.for('zkml.bn128-curves');
const registry: CurveRegistry = ((globalThis as Record<symbol, CurveRegistry | undefined>)[REGISTRY] ??= watchCurveGlobal());

function watchCurveGlobal(): CurveRegistry {
  const reg: CurveRegistry = { live: new Map(), inFlight: 0 };
  const track = (curve: Bn128 | null | undefined) => {
    if (!curve || curve.tm?.singleThread || reg.live.has(curve)) return;
    reg.live.set(curve, { ours: reg.inFlight > 0 });
    const terminate = curve.terminate;
    curve.terminate = async function (this: Bn128) {
      reg.live.delete(curve);
      await terminate.call(this);
    };
  };
  let current = (globalThis as { curve_bn128?: Bn128 | null }).curve_bn128 ?? null;
  track(current);
  Object.defineProperty(globalThis, 'curve_bn128', {
    configurable: true,
    enumerable: true,
    get: () => current,
    set: (curve: Bn128 | null) => {
      current = curve;
      track(curve);
    },
  });
  return reg;
}

/** Whether a curve's workers have work queued or running (ffjavascript's ThreadManager fields). */
function busy(curve: Bn128): boolean {
  return curve.tm?.actionQueue?.length > 0 || Boolean(curve.tm?.working?.some(Boolean));
}

function releaseIdle(): void {
  registry.idleTimer = undefined;
  if (registry.inFlight > 0) return;
  for (const [curve, { ours }] of registry.live) {
    if (!ours) continue;
    // In use by code outside zkml's operations (it found the curve in the global): try again later.
    if (busy(curve)) scheduleIdleRelease();
    else void curve.terminate();
  }
}

function scheduleIdleRelease(): void {
  clearTimeout(registry.idleTimer);
  // Unref'd: the timer alone never keeps the process alive; a live curve's threads do, until the timer fires.
  registry.idleTimer = setTimeout(releaseIdle, IDLE_RELEASE_MS).unref();
}

function begin(): void {
  registry.inFlight++;
  clearTimeout(registry.idleTimer);
  registry.idleTimer = undefined;
}

function end(): void {
  if (--registry.inFlight === 0) scheduleIdleRelease();
}

/** `fn`, counted as one of zkml's snarkjs operations while it runs. */
function counted<F extends (...args: never[]) => unknown>(fn: F): F {
  return ((...args: Parameters<F>) => {
    begin();
    let result: unknown;
    try {
      result = fn(...args);
    } catch (err) {
      end();
      throw err;
    }
    if (result instanceof Promise) return result.finally(end);
    end();
    return result;
  }) as F;
}

/** snarkjs' namespaces (groth16, zKey, …) with every function counted. */
function countedSnarkjs(module: Snarkjs): Snarkjs {
  const wrap = (ns: object) =>
    Object.fromEntries(Object.entries(ns).map(([name, value]) => [name, typeof value === 'function' ? counted(value) : value]));
  return Object.fromEntries(Object.entries(module).map(([name, ns]) => [name, ns !== null && typeof ns === 'object' ? wrap(ns) : ns])) as Snarkjs;
}

let snarkjs: Promise<Snarkjs> | undefined;

/**
 * snarkjs, imported once and lazily (its import costs a few hundred ms that commands without proofs skip), with
 * its operations counted for the curve's release.
 */
export function loadSnarkjs(): Promise<Snarkjs> {
  snarkjs ??= importAsMainThread(() => import('snarkjs')).then(countedSnarkjs);
  return snarkjs;
}

export function loadFfjavascript(): Promise<Ffjavascript> {
  // @ts-expect-error ffjavascript ships no type declarations: the interface above is its typed surface.
  return importAsMainThread(() => import('ffjavascript'));
}

/**
 * Terminates the worker threads of every bn128 curve alive in this thread, zkml's or not, now (zkml's own are
 * released IDLE_RELEASE_MS after their last use anyway). Safe to call any time; the next proof builds a new curve.
 */
export async function releaseCurve(): Promise<void> {
  clearTimeout(registry.idleTimer);
  registry.idleTimer = undefined;
  await Promise.all([...registry.live.keys()].map((curve) => curve.terminate()));
}
