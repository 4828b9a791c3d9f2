import type { OpDef, ShapeCtx } from './op.ts';
import { qInput, sameShapes } from './common.ts';
import { attrFloat } from '../onnx/graph.ts';
import { secantTable, type TableFunction } from './secant-table.ts';

/**
 * Elementwise smooth functions as piecewise-quadratic tables over the input's interval (ops/secant-table.ts,
 * which states the integer semantics, the error bound and the cost per element):
 *
 *   Exp, Log, Sin, Cos, Tan, Sinh, Cosh, Asin, Acos, Atan, Asinh, Acosh, Atanh, Erf, Softplus, Softsign,
 *   Elu, Selu, Celu, Mish.
 *
 * Error against the float op on the (quantized) input: at most 2^-(s+2)·max(1, |f(x)|) from the table (s the
 * activation scale), plus roundings below 2^-E (E the output exponent); input error propagates through the
 * slope (|f'|·δ). The kinks of Elu, Selu and Softsign sit at 0, a node of every grid, where the interpolation is
 * exact. Cost per element: one split (K + b constraints), one constraint per cell the element's interval reaches
 * (a table spans the input's interval at step 2^-t: e.g. Exp over [-4, 4) at s = 16 is t = 4, 128 cells), two
 * products and one requantization (208 constraints for that Exp), one comparison where the table saturates
 * above. Functions with a bounded domain (Log, Asin, Acos,
 * Atanh, Acosh, Tan's poles) are refused when the input interval leaves it, or when the cells near a
 * singularity would make the table too large; the message names the interval.
 */

const softplus = (x: number) => (x > 30 ? x : Math.log1p(Math.exp(x)));

/** erf to double precision (JavaScript has none): Maclaurin series near 0, erfc's continued fraction beyond. */
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // Maclaurin series: erf(x) = 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1)), converges fast for |x| < 2.5.
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc by its continued fraction x + (1/2)/(x + 1/(x + (3/2)/(x + ...))), evaluated backwards; converges
  // fast for |x| >= 2.5.
  let k = ax;
  for (let n = 80; n >= 1; n--) k = ax + n / 2 / k;
  const erfc = Math.exp(-ax * ax) / (Math.sqrt(Math.PI) * k);
  return Math.sign(x) * (1 - erfc);
}

type Attrs = (ctx: Pick<ShapeCtx, 'node'>) => TableFunction;

const fixed = (name: string, f: (x: number) => number, extra: Partial<TableFunction> = {}): Attrs => () => ({ name, f, ...extra });

const FUNCTIONS: Record<string, Attrs> = {
  Exp: fixed('Exp', Math.exp, { lowLimit: 0 }),
  Log: fixed('Log', Math.log, { domain: [0, Infinity] }),
  Sin: fixed('Sin', Math.sin),
  Cos: fixed('Cos', Math.cos),
  Tan: fixed('Tan', Math.tan, { domain: [-Math.PI / 2, Math.PI / 2] }),
  Sinh: fixed('Sinh', Math.sinh),
  Cosh: fixed('Cosh', Math.cosh),
  Asin: fixed('Asin', Math.asin, { domain: [-1, 1] }),
  Acos: fixed('Acos', Math.acos, { domain: [-1, 1] }),
  Atan: fixed('Atan', Math.atan),
  Asinh: fixed('Asinh', Math.asinh),
  Acosh: fixed('Acosh', Math.acosh, { domain: [1, Infinity] }),
  Atanh: fixed('Atanh', Math.atanh, { domain: [-1, 1] }),
  Erf: fixed('Erf', erf, { lowLimit: -1, highLimit: 1 }),
  Softplus: fixed('Softplus', softplus, { lowLimit: 0 }),
  Softsign: fixed('Softsign', (x) => x / (1 + Math.abs(x))),
  Mish: fixed('Mish', (x) => x * Math.tanh(softplus(x)), { lowLimit: 0 }),
  Elu: ({ node }) => {
    const a = attrFloat(node, 'alpha', 1);
    return { name: 'Elu', f: (x) => (x >= 0 ? x : a * Math.expm1(x)), lowLimit: -a };
  },
  Selu: ({ node }) => {
    const a = attrFloat(node, 'alpha', 1.67326319217681884765625);
    const g = attrFloat(node, 'gamma', 1.05070102214813232421875);
    return { name: 'Selu', f: (x) => g * (x >= 0 ? x : a * Math.expm1(x)), lowLimit: -g * a };
  },
  Celu: ({ node }) => {
    const a = attrFloat(node, 'alpha', 1);
    return { name: 'Celu', f: (x) => (x >= 0 ? x : a * Math.expm1(x / a)), lowLimit: -a };
  },
};

/** The real function an op of this file computes (for the float fold and for tests). */
export function tableFunction(ctx: Pick<ShapeCtx, 'node'>): TableFunction {
  return FUNCTIONS[ctx.node.opType](ctx);
}

const transcendental: OpDef = {
  ops: Object.keys(FUNCTIONS),
  shapes: sameShapes,
  fold(ctx, [x]) {
    const { f } = tableFunction(ctx);
    return [{ ...x, data: x.data.map(f) }];
  },
  lower: (ctx) => [secantTable(ctx.program, qInput(ctx, 0), tableFunction(ctx), ctx.opts.scale, ctx.node.name, ctx.where)],
};

export const transcendentalOps: OpDef[] = [transcendental];
