/**
 * The native Groth16 prover (native/, a Node-API addon built by `npm ci`): loaded when its build exists,
 * otherwise `nativeProver()` is null and zkml proves with snarkjs (src/prove/backend.ts chooses). It reads
 * snarkjs' own .zkey and .wtns bytes and returns a proof in snarkjs' JSON form, which snarkjs verifies.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Groth16Proof } from 'snarkjs';
import { ZkmlError } from '../util/errors.ts';

export interface NativeAddon {
  /** pi_a, pi_b, pi_c as plain little-endian coordinates, infinity flags, nPublic, public signals. */
  prove(zkey: Uint8Array, wtns: Uint8Array): Buffer;
  /** The same on libuv's thread pool (the event loop keeps running); rejects with code E_NATIVE. */
  proveAsync(zkey: Uint8Array, wtns: Uint8Array): Promise<Buffer>;
  /** Test hooks: snarkjs LEM affine points, plain 32-byte scalars; affine plain result + infinity flag. */
  msmG1(points: Uint8Array, scalars: Uint8Array): Buffer;
  msmG2(points: Uint8Array, scalars: Uint8Array): Buffer;
  /** Montgomery-form Fr elements, natural order; inverse includes the 1/n. */
  ntt(values: Uint8Array, inverse: boolean): Buffer;
  /** Whether proofs run the x86-64 BMI2/ADX field arithmetic (read per call: ZKML_NATIVE_ASM=0 turns it off). */
  usesAsm(): boolean;
}

const ADDON = join('native', 'build', 'Release', 'zkml_native.node');

/** The addon's path: from this file up to the package root (src/prove in the checkout, dist/src/prove built). */
export function nativeAddonPath(): string | undefined {
  if (process.env.ZKML_NATIVE_ADDON) return process.env.ZKML_NATIVE_ADDON;
  let dir = import.meta.dirname;
  for (let i = 0; i < 5; i++) {
    const p = join(dir, ADDON);
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return undefined;
}

let loaded: { addon: NativeAddon | null; reason?: string } | undefined;

/** The addon, or null with the reason (not built, failed to load) in `nativeUnavailableReason()`. */
export function nativeProver(): NativeAddon | null {
  if (!loaded) {
    const path = nativeAddonPath();
    if (!path) loaded = { addon: null, reason: 'the native prover is not built (npm ci builds it; needs make, g++ and python3)' };
    else {
      try {
        loaded = { addon: createRequire(import.meta.url)(path) as NativeAddon };
      } catch (err) {
        loaded = { addon: null, reason: `the native prover did not load (${(err as Error).message.split('\n')[0]})` };
      }
    }
  }
  return loaded.addon;
}

export function nativeUnavailableReason(): string | undefined {
  nativeProver();
  return loaded?.reason;
}

function leInt(b: Buffer, off: number): bigint {
  let v = 0n;
  for (let i = 31; i >= 0; i--) v = (v << 8n) | BigInt(b[off + i]);
  return v;
}

/** A G1 point as snarkjs prints it: affine decimal strings with the trailing "1" (infinity: 0, 1, 0). */
function g1(b: Buffer, off: number, inf: boolean): string[] {
  return inf ? ['0', '1', '0'] : [leInt(b, off).toString(), leInt(b, off + 32).toString(), '1'];
}
function g2(b: Buffer, off: number, inf: boolean): string[][] {
  if (inf) return [['0', '0'], ['1', '0'], ['0', '0']];
  const c = (k: number) => leInt(b, off + 32 * k).toString();
  return [[c(0), c(1)], [c(2), c(3)], ['1', '0']];
}

/** Decodes the addon's proof bytes into snarkjs' `{proof, publicSignals}`. */
export function decodeNativeProof(out: Buffer): { proof: Groth16Proof; publicSignals: string[] } {
  const nPublic = out.readUInt32LE(259);
  const publicSignals = Array.from({ length: nPublic }, (_, i) => leInt(out, 263 + 32 * i).toString());
  const proof = { pi_a: g1(out, 0, out[256] === 1), pi_b: g2(out, 64, out[257] === 1), pi_c: g1(out, 192, out[258] === 1), protocol: 'groth16', curve: 'bn128' };
  return { proof: proof as unknown as Groth16Proof, publicSignals };
}

/**
 * One Groth16 proof with the native prover, from a zkey and a witness (paths or the files' bytes; pass bytes
 * to prove many times without rereading the zkey). Throws ZkmlError (E_NATIVE) for a malformed file or when
 * the addon is not built.
 */
export async function proveNative(zkey: string | Uint8Array, wtns: string | Uint8Array): Promise<{ proof: Groth16Proof; publicSignals: string[] }> {
  const addon = nativeProver();
  if (!addon) throw new ZkmlError(nativeUnavailableReason() ?? 'the native prover is unavailable', 'E_NATIVE');
  const z = typeof zkey === 'string' ? readFileSync(zkey) : zkey;
  const w = typeof wtns === 'string' ? readFileSync(wtns) : wtns;
  let out: Buffer;
  try {
    out = await addon.proveAsync(z, w);
  } catch (err) {
    throw new ZkmlError((err as Error).message, 'E_NATIVE', typeof zkey === 'string' ? zkey : undefined);
  }
  return decodeNativeProof(out);
}
