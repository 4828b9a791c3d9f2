/**
 * circomlib's Poseidon circuit (circomlib/circuits/poseidon.circom: `Poseidon(n)` → `PoseidonEx(n, 1)`), rebuilt signal for
 * signal on top of the builder's `linear` and `product`, so that zkml's constraint system and witness contain
 * exactly the signals circom would keep, under circom's own names (`<name>.pEx.sigmaF[r][j].in2`, …): the
 * equivalence tests map the two circuits onto each other by those names. The Circom printer does not use this:
 * it writes `Poseidon(n)` and lets circom compile circomlib's template, which the tests compare with this one.
 *
 * The permutation (t = n + 1 lanes, 8 full rounds, N_ROUNDS_P[t-2] partial rounds, x^5 S-boxes) with the
 * optimised constants circomlib and circomlibjs share (C, S, M, P of poseidon_constants_opt.json): every S-box is
 * three products (in², in⁴, in⁴·in) and everything else is linear. The initial state lane is 0, so the first S-box
 * of lane 0 is a constant and costs nothing: 3·(8t + partial rounds) − 3 constraints (213 for n = 1).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { GadgetBuilder } from '../ir/builder.ts';

/** BN254's scalar field: Poseidon's arithmetic is modulo this prime. */
export const FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

const N_ROUNDS_F = 8;
const N_ROUNDS_P = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68];

interface Constants {
  C: bigint[];
  S: bigint[];
  M: bigint[][];
  P: bigint[][];
}

let table: { C: string[][]; S: string[][]; M: string[][][]; P: string[][][] } | undefined;
const byWidth = new Map<number, Constants>();

/** circomlibjs' constants file (the package's exports map hides it, so it is read next to its main module). */
function constants(t: number): Constants {
  let c = byWidth.get(t);
  if (!c) {
    table ??= JSON.parse(readFileSync(join(dirname(createRequire(import.meta.url).resolve('circomlibjs')), '..', 'src', 'poseidon_constants_opt.json'), 'utf8'));
    const big = (x: string) => BigInt(x);
    const i = t - 2;
    c = { C: table!.C[i].map(big), S: table!.S[i].map(big), M: table!.M[i].map((r) => r.map(big)), P: table!.P[i].map((r) => r.map(big)) };
    byWidth.set(t, c);
  }
  return c;
}

/** Digest of `inputs` (1..16 field elements) as the last round's linear combination. */
export function poseidonCircuit<L>(b: GadgetBuilder<L>, name: string, inputs: L[]): L {
  const t = inputs.length + 1;
  if (t < 2 || t > 17) throw new Error(`Poseidon takes 1 to 16 inputs, got ${inputs.length}`);
  const nRoundsP = N_ROUNDS_P[t - 2];
  const { C, S, M, P } = constants(t);
  const at = `${name}.pEx`;
  const add = (x: L, c: bigint) => b.linear([[x, 1n]], c);
  const sigma = (x: L, id: string) => {
    const in2 = b.product(`${at}.${id}.in2`, x, x);
    const in4 = b.product(`${at}.${id}.in4`, in2, in2);
    return b.product(`${at}.${id}.out`, in4, x);
  };
  const mix = (state: L[], m: bigint[][]) => state.map((_, i) => b.linear(state.map((x, j) => [x, m[j][i]] as const)));
  const ark = (state: L[], offset: number) => state.map((x, i) => add(x, C[offset + i]));
  const half = N_ROUNDS_F / 2;

  let state = ark([b.constant(0n), ...inputs], 0);
  for (let r = 0; r < half - 1; r++) {
    state = state.map((x, j) => sigma(x, `sigmaF[${r}][${j}]`));
    state = mix(ark(state, (r + 1) * t), M);
  }
  state = state.map((x, j) => sigma(x, `sigmaF[${half - 1}][${j}]`));
  state = mix(ark(state, half * t), P);
  for (let r = 0; r < nRoundsP; r++) {
    const first = add(sigma(state[0], `sigmaP[${r}]`), C[(half + 1) * t + r]);
    const lanes = [first, ...state.slice(1)];
    const s = (i: number) => S[(t * 2 - 1) * r + i];
    state = [b.linear(lanes.map((x, i) => [x, s(i)] as const)), ...lanes.slice(1).map((x, i) => b.linear([[x, 1n], [first, s(t + i)]]))];
  }
  for (let r = 0; r < half - 1; r++) {
    state = state.map((x, j) => sigma(x, `sigmaF[${half + r}][${j}]`));
    state = mix(ark(state, (half + 1) * t + nRoundsP + r * t), M);
  }
  state = state.map((x, j) => sigma(x, `sigmaF[${N_ROUNDS_F - 1}][${j}]`));
  return b.linear(state.map((x, j) => [x, M[j][0]] as const));
}
