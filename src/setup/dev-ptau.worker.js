// Worker of the development powers-of-tau generator (dev-ptau.ts): computes k·G for many scalars k with a fixed
// base G, by windowed fixed-base multiplication in ffjavascript's bn128 WebAssembly.
//
// Why not ffjavascript's own batch operations: G.batchApplyKey does a full double-and-add per point (measured here
// at ~150 µs per G1 point and ~830 µs per G2 point on 2 cores), 10–20× slower than this. Why plain JavaScript: a
// worker thread does not inherit tsx's loader when zkml runs through bin/zkml.js.
//
// Protocol: workerData = { module: WebAssembly.Module, windowBits, groups: { G1: { pGen, n8 }, G2: { pGen, n8 } } }
// (pGen: the generator, Jacobian, in the module's static memory; n8: bytes of one base-field element).
// Message in: { id, group, scalars: Uint8Array of 32-byte little-endian integers below the group order, forms }.
// Message out: { id, lem } with the points as affine little-endian Montgomery (the ptau layout), plus
// { compressed, uncompressed } when `forms` is set (the encodings snarkjs hashes), or { id, error }.
import { parentPort, workerData } from 'node:worker_threads';

const SCALAR_BITS = 254; // the bn128 group order is below 2^254
const { module, windowBits: C, groups } = workerData;
const WINDOWS = Math.ceil(SCALAR_BITS / C);
const DIGITS = (1 << C) - 1; // table entries per window: d·2^(C·w)·G for d = 1..2^C-1
// batchToAffine takes n field elements of scratch above the free pointer, and its batch inversion n+1 more.
const BATCH_SCRATCH = 3;

const memory = new WebAssembly.Memory({ initial: 25 });
const wasm = new WebAssembly.Instance(module, { env: { memory } }).exports;

// The module keeps its free-memory pointer in its first 32-bit word (ffjavascript's convention); wasm functions
// such as batchToAffine take scratch space from there, so every allocation goes through it.
function alloc(bytes) {
  const u32 = new Uint32Array(memory.buffer, 0, 1);
  const p = (u32[0] + 7) & ~7;
  u32[0] = p + bytes;
  return p;
}
function freePointer() {
  return new Uint32Array(memory.buffer, 0, 1)[0];
}
function setFreePointer(p) {
  new Uint32Array(memory.buffer, 0, 1)[0] = p;
}
/** Makes sure `bytes` more bytes fit above the free pointer. */
function reserve(bytes) {
  const need = freePointer() + bytes + 65536;
  if (need > memory.buffer.byteLength) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
}
function read(p, bytes) {
  return new Uint8Array(memory.buffer, p, bytes).slice();
}

const tables = {};

/** Affine table of d·2^(C·w)·G, built once per group and kept for the worker's life. */
function table(group) {
  if (tables[group]) return tables[group];
  const { pGen, n8 } = groups[group];
  const g = group === 'G1' ? 'g1m' : 'g2m';
  const sJ = n8 * 3;
  const sA = n8 * 2;
  const n = WINDOWS * DIGITS;
  reserve(n * (sA + sJ + BATCH_SCRATCH * n8) + 2 * sJ);
  const pTable = alloc(n * sA);
  const mark = freePointer();
  const pBase = alloc(sJ);
  const pNext = alloc(sJ);
  const pJac = alloc(n * sJ);
  wasm[`${g}_copy`](pGen, pBase);
  for (let w = 0; w < WINDOWS; w++) {
    const row = pJac + w * DIGITS * sJ;
    wasm[`${g}_copy`](pBase, row);
    for (let d = 1; d < DIGITS; d++) wasm[`${g}_add`](row + (d - 1) * sJ, pBase, row + d * sJ);
    wasm[`${g}_add`](row + (DIGITS - 1) * sJ, pBase, pNext); // 2^C · base
    wasm[`${g}_copy`](pNext, pBase);
  }
  wasm[`${g}_batchToAffine`](pJac, n, pTable);
  setFreePointer(mark);
  tables[group] = pTable;
  return pTable;
}

function multiply({ group, scalars, forms }) {
  const { n8 } = groups[group];
  const g = group === 'G1' ? 'g1m' : 'g2m';
  const sJ = n8 * 3;
  const sA = n8 * 2;
  const pTable = table(group);
  const n = scalars.length / 32;
  // Three bytes are read per digit: pad so the last scalar's top window stays inside the buffer.
  const s = new Uint8Array(scalars.length + 4);
  s.set(scalars);
  const mark = freePointer();
  reserve(n * (sJ + sA + BATCH_SCRATCH * n8));
  const pJac = alloc(n * sJ);
  const pAff = alloc(n * sA);
  const addMixed = wasm[`${g}_addMixed`];
  const zero = wasm[`${g}_zero`];
  for (let i = 0; i < n; i++) {
    const pAcc = pJac + i * sJ;
    const o = i * 32;
    zero(pAcc);
    for (let w = 0; w < WINDOWS; w++) {
      const bit = w * C;
      const at = o + (bit >> 3);
      const bits = Math.min(C, SCALAR_BITS - bit);
      const d = ((s[at] | (s[at + 1] << 8) | (s[at + 2] << 16)) >>> (bit & 7)) & ((1 << bits) - 1);
      if (d !== 0) addMixed(pAcc, pTable + (w * DIGITS + d - 1) * sA, pAcc);
    }
  }
  wasm[`${g}_batchToAffine`](pJac, n, pAff);
  const out = { lem: read(pAff, n * sA) };
  if (forms) {
    wasm[`${g}_batchLEMtoC`](pAff, n, pJac);
    out.compressed = read(pJac, n * n8);
    wasm[`${g}_batchLEMtoU`](pAff, n, pJac);
    out.uncompressed = read(pJac, n * sA);
  }
  setFreePointer(mark);
  return out;
}

parentPort.on('message', (task) => {
  try {
    const out = multiply(task);
    parentPort.postMessage({ id: task.id, ...out }, Object.values(out).map((b) => b.buffer));
  } catch (err) {
    parentPort.postMessage({ id: task.id, error: err instanceof Error ? err.stack : String(err) });
  }
});
