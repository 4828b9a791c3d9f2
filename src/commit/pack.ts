import { bitLength } from '../util/bits.ts';
import { ZkmlError } from '../util/errors.ts';
import type { PackLayout } from '../manifest.ts';

export type { PackLayout, TensorPacking } from '../manifest.ts';

/**
 * Packing small integers several to a field element before hashing: fewer Poseidon inputs, fewer
 * constraints. Each value is offset by the tensor's lower bound and takes `width` bits; a field element holds
 * `perElement` values within 248 bits (below the BN254 field's 253, so a packed element never wraps).
 * Injective only because every packed value is range-checked to its width in the circuit (design rule 7).
 */
export const PACK_BITS = 248;

export function packLayout(count: number, lo: bigint, hi: bigint): PackLayout {
  const width = Math.max(1, bitLength(hi - lo));
  if (width > PACK_BITS) throw new ZkmlError(`values of ${width} bits cannot be packed`, 'E_INTERNAL');
  const perElement = Math.floor(PACK_BITS / width);
  return { lo: lo.toString(), width, perElement, count, fieldElements: Math.ceil(count / perElement) };
}

/** Packs values (each in [lo, lo + 2^width)) into field elements, little-endian within an element. */
export function pack(values: bigint[], layout: PackLayout): bigint[] {
  if (values.length !== layout.count) throw new ZkmlError(`expected ${layout.count} values to pack, got ${values.length}`, 'E_PACK');
  const lo = BigInt(layout.lo);
  const limit = 1n << BigInt(layout.width);
  const out: bigint[] = [];
  for (let j = 0; j < layout.fieldElements; j++) {
    let acc = 0n;
    const chunk = values.slice(j * layout.perElement, (j + 1) * layout.perElement);
    for (let i = chunk.length - 1; i >= 0; i--) {
      const v = chunk[i] - lo;
      if (v < 0n || v >= limit) throw new ZkmlError(`value ${chunk[i]} is outside the packed range [${lo}, ${lo + limit - 1n}]`, 'E_PACK');
      acc = (acc << BigInt(layout.width)) | v;
    }
    out.push(acc);
  }
  return out;
}

export function unpack(fields: bigint[], layout: PackLayout): bigint[] {
  const lo = BigInt(layout.lo);
  const mask = (1n << BigInt(layout.width)) - 1n;
  const out: bigint[] = [];
  for (const f of fields) {
    let acc = f;
    for (let i = 0; i < layout.perElement && out.length < layout.count; i++) {
      out.push((acc & mask) + lo);
      acc >>= BigInt(layout.width);
    }
  }
  return out;
}
