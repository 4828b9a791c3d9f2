import type { OpDef, ShapeCtx } from './op.ts';
import { qInput, sameShapes } from './common.ts';
import { attrFloat } from '../onnx/graph.ts';
import { secantTable, type TableFunction, type TableOrder } from './secant-table.ts';

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
 * (a table spans the input's interval at step 2^-t: e.g. Exp over [-4, 4) at s = 16 is t = 4, 128 parabola
 * cells), d products and one requantization, one comparison where the table saturates above. Exp, Log and Erf
 * have exact derivative bounds (derivativeMax) and are built at the cheapest of orders 2, 3 and 4
 * (secant-table.ts's cheapestOrder): measured by scripts/bench-transcendental.ts at s = 16, Exp over [-8, 2]
 * 240 → 131 constraints per element, Log over [0.125, 16] 2,116 → 624, Erf over [-4, 4] 301 → 147 (s = 8:
 * 85 → 64, 558 → 193, 73 → 70); the others keep the parabola (order 2), whose finite-difference estimates
 * are reliable. Functions with a bounded domain (Log, Asin, Acos,
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

const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));

/** The physicists' Hermite polynomial H_n at x (H_0 = 1, H_1 = 2x, H_{k+1} = 2x·H_k - 2k·H_{k-1}). */
function hermite(n: number, x: number): number {
  let [a, b] = [1, 2 * x];
  if (n === 0) return a;
  for (let k = 1; k < n; k++) [a, b] = [b, 2 * x * b - 2 * k * a];
  return b;
}

/**
 * max |erf^(n)| over [a, b]: erf^(n)(x) = (2/√π)·(-1)^(n-1)·H_{n-1}(x)·e^{-x²}, sampled at 512 points, plus the
 * largest slope between samples, |H_n(x)·e^{-x²}| <= 1.0865·√(2^n·n!) (Cramér's inequality), times half a step.
 */
function erfDerivativeMax(n: number, a: number, b: number): number {
  const steps = 512;
  let m = 0;
  for (let j = 0; j <= steps; j++) {
    const x = a + ((b - a) * j) / steps;
    m = Math.max(m, Math.abs(hermite(n - 1, x)) * Math.exp(-x * x));
  }
  const slope = 1.0865 * Math.sqrt(2 ** n * factorial(n));
  return (2 / Math.sqrt(Math.PI)) * (m + (slope * (b - a)) / steps / 2);
}

/** Orders a function may be built at: 2, or 2 to 4 (the cheapest) when its derivative bounds are exact. */
export const ordersOf = (fn: TableFunction): readonly TableOrder[] => (fn.derivativeMax ? [2, 3, 4] : [2]);

type Attrs = (ctx: Pick<ShapeCtx, 'node'>) => TableFunction;

const fixed = (name: string, f: (x: number) => number, extra: Partial<TableFunction> = {}): Attrs => () => ({ name, f, ...extra });

const FUNCTIONS: Record<string, Attrs> = {
  // Exact derivative bounds (every derivative of exp is exp, increasing; |log^(n)| = (n-1)!/x^n, decreasing on
  // x > 0) let these two take the higher orders too.
  Exp: fixed('Exp', Math.exp, { lowLimit: 0, monotone: true, derivativeMax: (_n, _a, b) => Math.exp(b) }),
  Log: fixed('Log', Math.log, { domain: [0, Infinity], derivativeMax: (n, a) => factorial(n - 1) / a ** n }),
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
  Erf: fixed('Erf', erf, { lowLimit: -1, highLimit: 1, monotone: true, derivativeMax: erfDerivativeMax }),
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
  lower(ctx) {
    const fn = tableFunction(ctx);
    return [secantTable(ctx.program, qInput(ctx, 0), fn, ctx.opts.scale, ctx.node.name, ctx.where, ordersOf(fn))];
  },
};

export const transcendentalOps: OpDef[] = [transcendental];
