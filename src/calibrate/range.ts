/**
 * The input range for calibration, measured from sample data. The range is a promise the circuit relies on
 * (values outside are refused when proving, and every interval downstream is derived from it), so it is
 * widened by a margin for inputs the samples did not show, except where the data shows a hard limit.
 */
export interface RangeReport {
  /** Smallest and largest value over all samples and all model inputs. */
  measured: [number, number];
  /** The range used: measured, widened by the margin where appropriate. */
  range: [number, number];
  /** Fraction of the measured span added on each widened side. */
  margin: number;
  /**
   * Sides left as measured because the extreme value is reached by at least two samples: data clipped or
   * saturated at a bound (pixels at 0 and 255, probabilities at 0 and 1) does not go beyond it.
   */
  saturated: { lo: boolean; hi: boolean };
  /** `given`: --input-range was passed and is used as is. */
  source: 'measured' | 'given';
}

/** Rounds outward to 4 significant digits, so the range reads well in the settings file and never shrinks. */
function roundOut(x: number, dir: -1 | 1): number {
  if (x === 0) return 0;
  const step = 10 ** (Math.floor(Math.log10(Math.abs(x))) - 3);
  const r = (dir < 0 ? Math.floor(x / step) : Math.ceil(x / step)) * step;
  return Number(r.toPrecision(4));
}

/** `samples[s]` is the flat list of float values of sample s (all model inputs together). */
export function measureRange(samples: number[][], margin: number): RangeReport {
  let lo = Infinity;
  let hi = -Infinity;
  for (const values of samples) for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const reach = (target: number) => samples.filter((values) => values.includes(target)).length;
  const saturated = { lo: reach(lo) >= 2, hi: reach(hi) >= 2 };
  const span = hi - lo > 0 ? hi - lo : Math.max(Math.abs(hi), 1);
  let rlo = saturated.lo ? lo : roundOut(lo - margin * span, -1);
  const rhi = saturated.hi ? hi : roundOut(hi + margin * span, 1);
  // Non-negative data keeps a non-negative range: a negative bound would make every interval downstream
  // signed (a sign bit in every range check) for values that never occur.
  if (lo >= 0 && rlo < 0) rlo = 0;
  return { measured: [lo, hi], range: [rlo, rhi], margin, saturated, source: 'measured' };
}
