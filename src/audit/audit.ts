/**
 * `zkml audit`: static checks of a compiled circuit (r1cs + sym), independent of the compiler that wrote it.
 * The compiler's own tests check that honest witnesses are right; the audit checks that dishonest ones are
 * impossible, by looking at the constraints only:
 * - every witness signal is used by some constraint (an unused one is a value the prover picks freely);
 * - every public output appears in a constraint together with other signals, or is pinned to a constant (else
 *   nothing ties it to the computation);
 * - every signal is determined by the inputs (determined.ts): an output that is not could be proven with
 *   more than one value for the same input, and an undetermined intermediate is a template that lost a
 *   constraint. Signals left undetermined are reported with where they occur, e.g. only in linear
 *   constraints (each shared with another free signal, so the pair can move together).
 * - the r1cs is the one the manifest describes (its sha256), so the audit speaks about the build in use.
 * Where circom --O2 eliminated private inputs, the signals computed from them cannot be shown determined from
 * this r1cs alone; the same circuit source is then compiled again with its inputs kept and analysed instead
 * (recheckWithInputsKept), and the report says so. Any finding makes the command exit non-zero.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readR1cs } from 'r1csfile';
import { compileCircom } from '../circom/compile.ts';
import { loadR1cs, type R1cs } from '../circom/r1cs.ts';
import { loadSymbols } from '../circom/sym.ts';
import { FIELD_P } from '../io/output.ts';
import { readManifest, type Manifest } from '../manifest.ts';
import { sha256File } from '../util/hash.ts';
import { ZkmlError } from '../util/errors.ts';
import { determineSignals } from './determined.ts';

export type FindingKind = 'r1cs-mismatch' | 'unused-signal' | 'free-output' | 'undetermined-output' | 'undetermined-signal';

export interface Finding {
  kind: FindingKind;
  /** Witness index and name of the signal concerned, when one is. */
  index?: number;
  signal?: string;
  message: string;
}

export interface AuditReport {
  r1cs: string;
  constraints: number;
  /** Witness size, including the constant 1. */
  wires: number;
  publicSignals: number;
  outputs: number;
  publicInputs: number;
  privateInputs: number;
  /** Signals (besides the constant and the inputs) proven determined by the inputs. */
  determined: number;
  /** Outputs that are affine functions of the inputs (no nonlinear constraint between them). */
  affineOutputs: number;
  /** Whether the manifest says inputs are range-checked (undefined: no manifest). */
  inputsRangeChecked?: boolean;
  findings: Finding[];
  /** Facts worth knowing that are not defects (e.g. what unchecked inputs mean). */
  notes: string[];
}

/** Where the build's r1cs and sym are, with or without a manifest (a hand-written circuit has none). */
function locate(dir: string): { r1cs: string; sym?: string; manifest?: Manifest } {
  if (!existsSync(dir)) throw new ZkmlError('no such folder', 'E_NO_FILE', dir);
  if (existsSync(join(dir, 'manifest.json'))) {
    const manifest = readManifest(dir);
    return { r1cs: join(dir, manifest.circuit.r1cs), sym: join(dir, manifest.circuit.sym), manifest };
  }
  const r1cs = readdirSync(dir).filter((f) => f.endsWith('.r1cs'));
  if (r1cs.length !== 1) throw new ZkmlError(`expected a build folder (manifest.json) or one .r1cs file, found ${r1cs.length} .r1cs files`, 'E_NO_MANIFEST', dir);
  const sym = join(dir, r1cs[0].replace(/\.r1cs$/, '.sym'));
  return { r1cs: join(dir, r1cs[0]), ...(existsSync(sym) ? { sym } : {}) };
}

/**
 * The checks on a loaded r1cs. `names` maps witness indices to signal names for the messages; `inputs` are the
 * witness indices of the circuit's inputs (see inputWires: not always the header's count).
 */
export function auditR1cs(r1cs: R1cs, names: Map<number, string>, inputs: number[]): Omit<AuditReport, 'r1cs' | 'inputsRangeChecked'> {
  const name = (i: number) => names.get(i) ?? `witness[${i}]`;
  const nOut = r1cs.nOutputs;
  const nPub = r1cs.nPubInputs;
  const inputSet = new Set(inputs);
  const isOutput = (i: number) => i >= 1 && i <= nOut;
  const isInput = (i: number) => inputSet.has(i);

  // Where each signal occurs: how many constraints, how many of them nonlinear, and with how many other signals.
  const occurs = new Array<number>(r1cs.nWires).fill(0);
  const nonlinear = new Array<number>(r1cs.nWires).fill(0);
  const withOthers = new Array<boolean>(r1cs.nWires).fill(false);
  for (const [A, B, C] of r1cs.constraints) {
    const isNonlinear = [...A.keys()].some((k) => k !== 0) && [...B.keys()].some((k) => k !== 0);
    const sigs = new Set([...A.keys(), ...B.keys(), ...C.keys()].filter((k) => k !== 0));
    for (const s of sigs) {
      occurs[s]++;
      if (isNonlinear) nonlinear[s]++;
      if (sigs.size > 1) withOthers[s] = true;
    }
  }

  const d = determineSignals(r1cs, inputs);
  const findings: Finding[] = [];
  /** Outputs reported as free: their undetermined-output finding would say less. */
  const free = new Set<number>();
  for (let i = 1; i < r1cs.nWires; i++) {
    if (occurs[i] === 0) {
      const what = isOutput(i) ? 'public output' : isInput(i) ? 'input' : 'signal';
      findings.push({ kind: 'unused-signal', index: i, signal: name(i), message: `${what} ${name(i)} is used by no constraint: the prover can set it to anything` });
    } else if (isOutput(i) && !withOthers[i] && !d.determined[i]) {
      // A determined output alone in its constraints is pinned to a constant (a model output that does not depend
      // on the input, e.g. a zero weight column plus its bias): tied to the computation, just trivially.
      free.add(i);
      findings.push({ kind: 'free-output', index: i, signal: name(i), message: `public output ${name(i)} occurs in no constraint with another signal: nothing ties it to the computation` });
    }
  }

  let determined = 0;
  let affineOutputs = 0;
  for (let i = 1; i < r1cs.nWires; i++) {
    if (isInput(i)) continue;
    if (d.determined[i]) {
      determined++;
      if (isOutput(i) && d.affine[i]) affineOutputs++;
      continue;
    }
    if (occurs[i] === 0 || free.has(i)) continue; // already reported as unused or free
    const where = nonlinear[i] === 0 ? `only in ${occurs[i]} linear constraint(s), each with another undetermined signal` : `in ${occurs[i]} constraint(s) (${nonlinear[i]} nonlinear) that do not fix its value`;
    if (isOutput(i)) {
      findings.push({ kind: 'undetermined-output', index: i, signal: name(i), message: `public output ${name(i)} is not determined by the inputs: it occurs ${where}, so more than one value may be provable for the same input` });
    } else {
      findings.push({ kind: 'undetermined-signal', index: i, signal: name(i), message: `signal ${name(i)} is not determined by the inputs: it occurs ${where}` });
    }
  }

  return {
    constraints: r1cs.constraints.length,
    wires: r1cs.nWires,
    publicSignals: nOut + nPub,
    outputs: nOut,
    publicInputs: nPub,
    privateInputs: inputs.length - nPub,
    determined,
    affineOutputs,
    findings,
    notes: [],
  };
}

/**
 * Witness indices of the circuit's inputs. The r1cs header counts the inputs the source declares, but circom
 * --O2 may eliminate a private input (replace it by a linear combination of other signals), and the witness
 * then has fewer inputs than the header says. The wire-to-signal map tells which wires are inputs.
 */
export async function inputWires(path: string, r1cs: R1cs): Promise<{ inputs: number[]; eliminated: number }> {
  let map: number[];
  try {
    // A field object of our own: without one, r1csfile builds the whole curve (wasm and worker threads).
    const F = { p: FIELD_P, fromRprLE: () => 0n };
    map = (await readR1cs(path, { loadConstraints: false, loadMap: true, loadCustomGates: false, F })).map;
  } catch (err) {
    throw new ZkmlError(`not a readable r1cs file (${(err as Error).message})`, 'E_ARTIFACT', path);
  }
  const first = 1 + r1cs.nOutputs;
  const last = r1cs.nOutputs + r1cs.nPubInputs + r1cs.nPrvInputs;
  const inputs = map.flatMap((label, wire) => (label >= first && label <= last ? [wire] : []));
  return { inputs, eliminated: last - first + 1 - inputs.length };
}

/**
 * When --O2 eliminated private inputs, the signals computed from them have, in this r1cs, no known value to
 * start from: the eliminated input's linear combination is not recorded anywhere. The same circuit source is
 * compiled again with its inputs public (circom never eliminates public signals, and the source is unchanged
 * otherwise) and analysed; if every signal of that r1cs is determined by its inputs, so is every signal of
 * the circuit (the two r1cs are optimisations of the same constraints).
 */
async function recheckWithInputsKept(dir: string, manifest: Manifest): Promise<boolean> {
  const source = join(dir, manifest.circuit.circom);
  if (!existsSync(source)) return false;
  const text = readFileSync(source, 'utf8');
  const main = /^component main(\s*\{[^}]*\})?\s*=/m;
  if (!main.test(text)) return false;
  const work = mkdtempSync(join(tmpdir(), 'zkml-audit-'));
  try {
    const publicList = `component main {public [${manifest.inputs.map((t) => t.signal).join(', ')}]} =`;
    const file = join(work, 'circuit.circom');
    writeFileSync(file, text.replace(main, publicList));
    const result = await compileCircom(file, work);
    const r1cs = await loadR1cs(result.r1cs);
    const { inputs, eliminated } = await inputWires(result.r1cs, r1cs);
    if (eliminated > 0) return false;
    const d = determineSignals(r1cs, inputs);
    return d.determined.every((x) => x === 1);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Audits the build in `dir` (a `zkml compile` folder, or any folder with one .r1cs and its .sym). */
export async function audit(dir: string): Promise<AuditReport> {
  const where = locate(dir);
  if (!existsSync(where.r1cs)) throw new ZkmlError('the build has no r1cs file', 'E_ARTIFACT', where.r1cs);
  // loadR1cs refuses a damaged file, including constraints that name wires the file does not have.
  const r1cs = await loadR1cs(where.r1cs);
  const names = new Map<number, string>();
  if (where.sym) for (const [n, i] of loadSymbols(where.sym)) if (i >= 0 && !names.has(i)) names.set(i, n);
  const { inputs, eliminated } = await inputWires(where.r1cs, r1cs);
  const report: AuditReport = { r1cs: where.r1cs, ...auditR1cs(r1cs, names, inputs) };
  const m = where.manifest;
  const undetermined = report.findings.filter((f) => f.kind === 'undetermined-output' || f.kind === 'undetermined-signal');
  if (eliminated > 0) {
    const folded = `circom --O2 folded ${eliminated} private input(s) into linear combinations of other signals`;
    if (undetermined.length > 0 && m && (await recheckWithInputsKept(dir, m))) {
      report.findings = report.findings.filter((f) => !undetermined.includes(f));
      report.determined += undetermined.length;
      report.notes.push(
        `${folded}, so this r1cs alone cannot show ${undetermined.length} signal(s) determined; the same circuit compiled with its inputs kept ` +
          '(public) has every signal determined by its inputs',
      );
    } else report.notes.push(folded);
  }
  if (m) {
    report.inputsRangeChecked = m.inputRangeChecked;
    const sha = sha256File(where.r1cs);
    if (m.circuit.r1csSha256 && sha !== m.circuit.r1csSha256) {
      report.findings.unshift({ kind: 'r1cs-mismatch', message: `the r1cs (sha256 ${sha}) is not the one the manifest describes (${m.circuit.r1csSha256}): audit and proofs would be about different circuits` });
    }
    if (!m.inputRangeChecked && m.inputs.some((t) => t.visibility === 'private')) {
      report.notes.push(
        'private inputs are not range-checked (--no-check-inputs): each is any field element, and the statement is "some inputs give these outputs"' +
          (report.affineOutputs > 0 ? `; ${report.affineOutputs} output(s) are affine in the inputs, so any value of those outputs can be proven` : ''),
      );
    }
  }
  return report;
}
