/**
 * circuit.r1cs in iden3's format (what circom writes and snarkjs reads): a header (field, wire counts, constraint
 * count), the constraints (A, B, C as lists of wire and coefficient, each sorted by wire), and each wire's label
 * (its signal in circuit.sym). Written streaming: the cost is one pass over the constraints' terms.
 */
import type { Expr } from '../ir/expr.ts';
import { FIELD } from '../gadgets/poseidon.ts';
import { BinWriter } from './binfile.ts';
import type { Reduced } from './eliminate.ts';
import type { ConstraintSystem } from './system.ts';

const SECTION_HEADER = 1;
const SECTION_CONSTRAINTS = 2;
const SECTION_WIRE_LABELS = 3;

export function writeR1cs(path: string, cs: ConstraintSystem, reduced: Reduced): void {
  const { wireOf, constraints } = reduced;
  let termCount = 0;
  for (const c of constraints) termCount += c.a.terms.size + c.b.terms.size + c.c.terms.size + (c.a.c ? 1 : 0) + (c.b.c ? 1 : 0) + (c.c.c ? 1 : 0);
  const out = new BinWriter(path, 'r1cs', 1, 3);
  out.section(SECTION_HEADER, 4 + 32 + 4 * 4 + 8 + 4);
  out.u32(32);
  out.uint256(FIELD);
  out.u32(reduced.nWires);
  out.u32(cs.nPubOut);
  out.u32(cs.nPubIn);
  // Private inputs that elimination solved for are no longer wires (as in circom's files).
  let prvIn = 0;
  for (let s = cs.firstEliminable; s < cs.firstInternal; s++) if (wireOf[s] >= 0) prvIn++;
  out.u32(prvIn);
  out.u64(cs.nSignals);
  out.u32(constraints.length);

  out.section(SECTION_CONSTRAINTS, constraints.length * 12 + termCount * 36);
  const lc = (e: Expr) => {
    const terms: [number, bigint][] = [];
    if (e.c) terms.push([0, e.c]);
    for (const [s, k] of e.terms) {
      const w = wireOf[s];
      if (w < 0) throw new Error(`constraint uses eliminated signal ${cs.names[s]}`);
      terms.push([w, k]);
    }
    terms.sort((x, y) => x[0] - y[0]);
    out.u32(terms.length);
    for (const [w, k] of terms) {
      out.u32(w);
      out.field(k);
    }
  };
  for (const c of constraints) {
    lc(c.a);
    lc(c.b);
    lc(c.c);
  }

  out.section(SECTION_WIRE_LABELS, reduced.nWires * 8);
  for (let s = 0; s < wireOf.length; s++) if (wireOf[s] >= 0) out.u64(s);
  out.close();
}
