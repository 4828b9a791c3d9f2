/**
 * Loading snarkjs and ffjavascript in-process, and letting the process exit afterwards.
 *
 * - ffjavascript keeps one multi-threaded bn128 curve in `globalThis.curve_bn128` (snarkjs builds it on first use);
 *   its worker threads keep the process alive until `releaseCurve()` terminates them.
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

let snarkjs: Promise<Snarkjs> | undefined;

/** snarkjs, imported once and lazily (its import costs a few hundred ms that commands without proofs skip). */
export function loadSnarkjs(): Promise<Snarkjs> {
  snarkjs ??= importAsMainThread(() => import('snarkjs'));
  return snarkjs;
}

export function loadFfjavascript(): Promise<Ffjavascript> {
  // @ts-expect-error ffjavascript ships no type declarations: the interface above is its typed surface.
  return importAsMainThread(() => import('ffjavascript'));
}

/** Terminates the shared curve's worker threads (if any), so the process can exit. Safe to call any time. */
export async function releaseCurve(): Promise<void> {
  await (globalThis as { curve_bn128?: Bn128 | null }).curve_bn128?.terminate();
}
