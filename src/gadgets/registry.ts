/**
 * Every gadget by its `kind`: a build's program file (src/circuit/program-file.ts) names gadgets by kind, and the
 * prover finds their circuits here. A new gadget is added to this list and nowhere else.
 */
import type { GadgetDef } from './gadget.ts';
import { abs } from './abs.ts';
import { hash } from './hash.ts';
import { equal } from './equal.ts';
import { ge } from './ge.ts';
import { max } from './max.ts';
import { onehot } from './onehot.ts';
import { product } from './product.ts';
import { range } from './range.ts';
import { requant } from './requant.ts';
import { round } from './round.ts';
import { requantInt8 } from './requant-int8.ts';
import { requantSplit } from './requant-split.ts';
import { quotient } from './quotient.ts';
import { root } from './root.ts';
import { square } from './square.ts';
import { divmod } from './divmod.ts';
import { floordiv } from './floordiv.ts';

const ALL: GadgetDef<any>[] = [abs, equal, ge, hash, max, onehot, product, range, requant, requantInt8, requantSplit, round, quotient, root, square, divmod, floordiv];
const BY_KIND = new Map(ALL.map((d) => [d.kind, d]));

export function gadgetByKind(kind: string): GadgetDef<any> | undefined {
  return BY_KIND.get(kind);
}

export const GADGETS: readonly GadgetDef<any>[] = ALL;
