import { readFileSync } from 'node:fs';
import { readR1cs } from 'r1csfile';
import { FIELD_P } from '../io/output.ts';
import { ZkmlError } from '../util/errors.ts';

/** A linear combination of witness entries: wire index → coefficient. */
export type LinearCombination = Map<number, bigint>;

export interface R1cs {
  nWires: number;
  nOutputs: number;
  nPubInputs: number;
  nPrvInputs: number;
  /** Each constraint is A·w × B·w = C·w. */
  constraints: [LinearCombination, LinearCombination, LinearCombination][];
}

/** A plain BigInt view of the field, so coefficients come out as bigint (not Montgomery form). */
const plainField = {
  p: FIELD_P,
  fromRprLE(buff: Uint8Array, offset: number): bigint {
    let v = 0n;
    for (let i = 31; i >= 0; i--) v = (v << 8n) | BigInt(buff[offset + i]);
    return v;
  },
};

/**
 * The iden3 binary layout ("r1cs", version, sections of (type u32, size u64)) must cover the file exactly:
 * r1csfile reads only the sections it is asked for, so a file cut after its constraints would pass unnoticed.
 */
function checkSections(path: string): void {
  const bytes = readFileSync(path);
  const fail = (why: string) => new ZkmlError(`not a readable r1cs file (incomplete: ${why})`, 'E_ARTIFACT', path);
  if (bytes.length < 12 || bytes.toString('latin1', 0, 4) !== 'r1cs') throw fail('no r1cs header');
  const nSections = bytes.readUInt32LE(8);
  let pos = 12;
  for (let i = 0; i < nSections; i++) {
    if (pos + 12 > bytes.length) throw fail(`section ${i + 1} of ${nSections} is missing (file of ${bytes.length} bytes)`);
    const size = Number(bytes.readBigUInt64LE(pos + 4));
    pos += 12 + size;
    if (pos > bytes.length) throw fail(`section ${i + 1} of ${nSections} declares ${size} bytes past the end of the file (${bytes.length} bytes)`);
  }
  if (pos !== bytes.length) throw fail(`${bytes.length - pos} bytes after the last section`);
}

export async function loadR1cs(path: string): Promise<R1cs> {
  checkSections(path);
  let raw: any;
  try {
    raw = await readR1cs(path, { loadConstraints: true, loadMap: false, loadCustomGates: false, F: plainField });
  } catch (err) {
    throw new ZkmlError(`not a readable r1cs file (${(err as Error).message})`, 'E_ARTIFACT', path);
  }
  const lc = (o: Record<string, bigint>): LinearCombination =>
    new Map(
      Object.entries(o).map(([k, v]) => {
        const wire = Number(k);
        if (!(wire < raw.nVars)) throw new ZkmlError(`a constraint names wire ${wire}; the file has ${raw.nVars} wires`, 'E_ARTIFACT', path);
        return [wire, v];
      }),
    );
  return {
    nWires: raw.nVars,
    nOutputs: raw.nOutputs,
    nPubInputs: raw.nPubInputs,
    nPrvInputs: raw.nPrvInputs,
    constraints: raw.constraints.map((c: Record<string, bigint>[]) => [lc(c[0]), lc(c[1]), lc(c[2])]),
  };
}

const mod = (v: bigint) => ((v % FIELD_P) + FIELD_P) % FIELD_P;

function dot(lc: LinearCombination, w: bigint[]): bigint {
  let acc = 0n;
  for (const [i, a] of lc) acc += a * w[i];
  return mod(acc);
}

/** Indexes of the constraints a witness violates (empty: the witness satisfies the circuit). */
export function violatedConstraints(r1cs: R1cs, witness: bigint[], limit = Infinity): number[] {
  const bad: number[] = [];
  const w = witness.map(mod);
  for (let i = 0; i < r1cs.constraints.length && bad.length < limit; i++) {
    const [a, b, c] = r1cs.constraints[i];
    if (mod(dot(a, w) * dot(b, w)) !== dot(c, w)) bad.push(i);
  }
  return bad;
}
