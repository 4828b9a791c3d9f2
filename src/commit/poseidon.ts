/**
 * Poseidon outside the circuit (circomlibjs), with the same chaining as the hash gadget (gadgets/hash.ts): the first 16
 * elements in one call, then each further group of up to 15 hashed together with the previous digest. One
 * instance per process, built once (it compiles its field arithmetic). circomlibjs is imported on first use: it
 * pulls in ethers 5 (for its contract generators), most of a second that commands without hashes skip.
 */
type PoseidonFn = ((inputs: bigint[]) => Uint8Array) & { F: { toObject(x: Uint8Array): bigint } };
let instance: Promise<PoseidonFn> | undefined;
let ready: PoseidonFn | undefined;

export async function loadPoseidon(): Promise<void> {
  ready ??= await (instance ??= import('circomlibjs').then(({ buildPoseidon }) => buildPoseidon() as Promise<PoseidonFn>));
}

function poseidon(): PoseidonFn {
  if (!ready) throw new Error('Poseidon is not loaded: await loadPoseidon() first');
  return ready;
}

/** Sizes of the Poseidon calls that hash `m` field elements (one call takes at most 16 inputs). */
export function chainSizes(m: number): number[] {
  const sizes = [Math.min(m, 16)];
  for (let pos = sizes[0]; pos < m; pos += 15) sizes.push(Math.min(15, m - pos) + 1);
  return sizes;
}

export function hashChain(fields: bigint[]): bigint {
  const p = poseidon();
  if (fields.length === 0) throw new Error('nothing to hash');
  let digest = p.F.toObject(p(fields.slice(0, 16)));
  for (let pos = 16; pos < fields.length; pos += 15) digest = p.F.toObject(p([digest, ...fields.slice(pos, pos + 15)]));
  return digest;
}
