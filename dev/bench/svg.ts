/**
 * Dependency-free SVG figures for the benchmark report: a horizontal bar chart (constraints per layer, zkml
 * vs the circomlib-ml baseline) and an x/y plot (prove time against constraints). Plain strings, fixed
 * layout, system fonts: the files open in any browser or viewer and diff cleanly when a number changes.
 */

export const PALETTE = ['#4e79a7', '#e15759', '#59a14f', '#f28e2b', '#76b7b2', '#b07aa1', '#edc948', '#9c755f'];

const FONT = 'font-family="Helvetica, Arial, sans-serif"';

/** Text for XML: the five special characters escaped. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** 73416 → "73,416"; 0.0123 → "0.0123": the exact figure, readable. */
export function formatNumber(v: number): string {
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : Number(v.toPrecision(3)).toString();
}

/** Compact tick label: 1000 → "1k", 2500000 → "2.5M". */
export function formatTick(v: number): string {
  const abs = Math.abs(v);
  const fmt = (x: number, unit: string) => `${Number(x.toPrecision(3))}${unit}`;
  if (abs >= 1e6) return fmt(v / 1e6, 'M');
  if (abs >= 1e3) return fmt(v / 1e3, 'k');
  return Number(v.toPrecision(3)).toString();
}

/** Rough width of a label in pixels (Helvetica averages ~0.58 em per character). */
const textWidth = (s: string, size: number) => s.length * size * 0.58;

/** An axis: maps values to pixels and says where its ticks go. */
interface Scale {
  map(v: number): number;
  ticks: number[];
  lo: number;
  hi: number;
}

/** 1, 2, 5 × 10^k steps giving about `count` ticks over [lo, hi]. */
function linearScale(lo: number, hi: number, p0: number, p1: number, count = 5): Scale {
  if (hi <= lo) hi = lo + 1;
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const start = Math.floor(lo / step) * step;
  const end = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  for (let t = start; t <= end + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
  return { lo: start, hi: end, ticks, map: (v) => p0 + ((v - start) / (end - start)) * (p1 - p0) };
}

/** Decades from below `lo` to above `hi` (both > 0); 2× and 5× ticks too when the span is short. */
function logScale(lo: number, hi: number, p0: number, p1: number): Scale {
  const a = Math.floor(Math.log10(lo));
  let b = Math.ceil(Math.log10(hi));
  if (b === a) b++;
  const ticks: number[] = [];
  for (let e = a; e <= b; e++) {
    ticks.push(10 ** e);
    if (b - a <= 2 && e < b) ticks.push(2 * 10 ** e, 5 * 10 ** e);
  }
  const l0 = a;
  const l1 = b;
  return { lo: 10 ** a, hi: 10 ** b, ticks, map: (v) => p0 + ((Math.log10(v) - l0) / (l1 - l0)) * (p1 - p0) };
}

/** Vertical grid lines from y0 to y1 at the scale's ticks, each labelled below at `labelY`. */
function xGrid(scale: { ticks: number[]; map(v: number): number }, y0: number, y1: number, labelY: number): string[] {
  return scale.ticks.flatMap((t) => {
    const x = scale.map(t);
    return [
      `<line x1="${x}" y1="${y0}" x2="${x}" y2="${y1}" stroke="#e3e3e3" stroke-width="1"/>`,
      `<text x="${x}" y="${labelY}" text-anchor="middle" font-size="11" ${FONT} fill="#555">${escapeXml(formatTick(t))}</text>`,
    ];
  });
}

function legend(entries: { name: string; color: string; marker: 'rect' | 'circle' }[], x: number, y: number): string[] {
  const out: string[] = [];
  let cx = x;
  for (const e of entries) {
    out.push(
      e.marker === 'rect'
        ? `<rect x="${cx}" y="${y - 9}" width="12" height="12" fill="${e.color}"/>`
        : `<circle cx="${cx + 6}" cy="${y - 3}" r="5" fill="${e.color}"/>`,
      `<text x="${cx + 17}" y="${y + 1}" font-size="12" ${FONT} fill="#333">${escapeXml(e.name)}</text>`,
    );
    cx += 17 + textWidth(e.name, 12) + 20;
  }
  return out;
}

/** An axis title, marked as logarithmic unless it says so already. */
const axisTitle = (label: string, log?: boolean) => (log && !/log scale/i.test(label) ? `${label} (log scale)` : label);

function frame(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold" ${FONT} fill="#222">${escapeXml(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

export interface BarSeries {
  name: string;
  /** One value per category; 0 is drawn as no bar with the label "0". */
  values: number[];
  color?: string;
}

export interface BarChartOptions {
  title: string;
  /** One row per category (e.g. layers), top to bottom. */
  categories: string[];
  series: BarSeries[];
  /** Label of the value axis. */
  valueLabel: string;
  /** Logarithmic value axis: for values spanning orders of magnitude. */
  log?: boolean;
  width?: number;
}

/** Horizontal grouped bars: one group per category, one bar per series, each labelled with its value. */
export function barChart(o: BarChartOptions): string {
  const width = o.width ?? 760;
  const barH = 16;
  const gap = 14;
  const groupH = o.series.length * barH + gap;
  const labelW = Math.max(60, ...o.categories.map((c) => textWidth(c, 12))) + 16;
  const left = labelW;
  const top = 60;
  const valuesAll = o.series.flatMap((s) => s.values);
  const maxLabel = Math.max(...valuesAll.map((v) => textWidth(formatNumber(v), 11)));
  const right = width - 20 - maxLabel - 8;
  const plotH = o.categories.length * groupH;
  const height = top + plotH + 60;
  const positive = valuesAll.filter((v) => v > 0);
  const scale = o.log
    ? logScale(Math.min(1, ...positive), Math.max(10, ...positive), left, right)
    : linearScale(0, Math.max(1, ...valuesAll), left, right);
  const base = o.log ? scale.map(scale.lo) : scale.map(0);

  const body: string[] = [];
  body.push(...legend(o.series.map((s, i) => ({ name: s.name, color: s.color ?? PALETTE[i % PALETTE.length], marker: 'rect' as const })), left, 46));
  body.push(...xGrid(scale, top - 4, top + plotH, top + plotH + 16));
  o.categories.forEach((cat, c) => {
    const y0 = top + c * groupH + gap / 2;
    body.push(`<text x="${left - 8}" y="${y0 + (o.series.length * barH) / 2 + 4}" text-anchor="end" font-size="12" ${FONT} fill="#222">${escapeXml(cat)}</text>`);
    o.series.forEach((s, i) => {
      const v = s.values[c] ?? 0;
      const y = y0 + i * barH;
      const drawable = o.log ? v > 0 : v !== 0;
      const x1 = drawable ? scale.map(Math.max(v, o.log ? scale.lo : v)) : base;
      if (drawable) body.push(`<rect x="${Math.min(base, x1)}" y="${y + 1}" width="${Math.max(1, Math.abs(x1 - base))}" height="${barH - 2}" fill="${s.color ?? PALETTE[i % PALETTE.length]}"><title>${escapeXml(`${s.name}, ${cat}: ${formatNumber(v)}`)}</title></rect>`);
      body.push(`<text x="${Math.max(base, x1) + 4}" y="${y + barH - 4}" font-size="11" ${FONT} fill="#333">${escapeXml(formatNumber(v))}</text>`);
    });
  });
  body.push(
    `<line x1="${left}" y1="${top - 4}" x2="${left}" y2="${top + plotH}" stroke="#333" stroke-width="1"/>`,
    `<line x1="${left}" y1="${top + plotH}" x2="${right}" y2="${top + plotH}" stroke="#333" stroke-width="1"/>`,
    `<text x="${(left + right) / 2}" y="${top + plotH + 40}" text-anchor="middle" font-size="12" ${FONT} fill="#222">${escapeXml(axisTitle(o.valueLabel, o.log))}</text>`,
  );
  return frame(width, height, o.title, body);
}

export interface XYPoint {
  x: number;
  y: number;
  /** Written beside the point. */
  label?: string;
}

export interface XYSeries {
  name: string;
  points: XYPoint[];
  color?: string;
  /** Join the points (sorted by x) with a line. */
  line?: boolean;
}

export interface XYPlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: XYSeries[];
  logX?: boolean;
  logY?: boolean;
  width?: number;
  height?: number;
}

/** A scatter plot, optionally with lines: e.g. prove time (y) against constraints (x), one series per system. */
export function xyPlot(o: XYPlotOptions): string {
  const width = o.width ?? 720;
  const height = o.height ?? 460;
  const left = 78;
  const right = width - 30;
  const top = 60;
  const bottom = height - 58;
  const pts = o.series.flatMap((s) => s.points);
  const xs = pts.map((p) => p.x);
  const ys = pts.map((p) => p.y);
  const xScale = o.logX ? logScale(Math.min(...xs.filter((v) => v > 0), 1e9), Math.max(...xs, 1), left, right) : linearScale(Math.min(0, ...xs), Math.max(1, ...xs), left, right);
  const yScale = o.logY ? logScale(Math.min(...ys.filter((v) => v > 0), 1e9), Math.max(...ys, 1), bottom, top) : linearScale(Math.min(0, ...ys), Math.max(1e-9, ...ys), bottom, top);
  const body: string[] = [];
  body.push(...legend(o.series.map((s, i) => ({ name: s.name, color: s.color ?? PALETTE[i % PALETTE.length], marker: 'circle' as const })), left, 46));
  body.push(...xGrid(xScale, top, bottom, bottom + 16));
  for (const t of yScale.ticks) {
    const y = yScale.map(t);
    body.push(
      `<line x1="${left}" y1="${y}" x2="${right}" y2="${y}" stroke="#e3e3e3" stroke-width="1"/>`,
      `<text x="${left - 6}" y="${y + 4}" text-anchor="end" font-size="11" ${FONT} fill="#555">${escapeXml(formatTick(t))}</text>`,
    );
  }
  body.push(
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#333" stroke-width="1"/>`,
    `<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#333" stroke-width="1"/>`,
    `<text x="${(left + right) / 2}" y="${bottom + 40}" text-anchor="middle" font-size="12" ${FONT} fill="#222">${escapeXml(axisTitle(o.xLabel, o.logX))}</text>`,
    `<text transform="translate(20 ${(top + bottom) / 2}) rotate(-90)" text-anchor="middle" font-size="12" ${FONT} fill="#222">${escapeXml(axisTitle(o.yLabel, o.logY))}</text>`,
  );
  o.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const drawn = s.points.filter((p) => (!o.logX || p.x > 0) && (!o.logY || p.y > 0)).sort((a, b) => a.x - b.x);
    if (s.line && drawn.length > 1) {
      body.push(`<polyline points="${drawn.map((p) => `${xScale.map(p.x).toFixed(1)},${yScale.map(p.y).toFixed(1)}`).join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>`);
    }
    for (const p of drawn) {
      const x = xScale.map(p.x);
      const y = yScale.map(p.y);
      body.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="4.5" fill="${color}"><title>${escapeXml(`${s.name}: ${formatNumber(p.x)}, ${formatNumber(p.y)}`)}</title></circle>`);
      if (p.label) {
        // Labels go left of points near the right edge so they stay inside the figure.
        const anchorEnd = x + 8 + textWidth(p.label, 11) > width - 4;
        body.push(`<text x="${(anchorEnd ? x - 8 : x + 8).toFixed(1)}" y="${(y - 6).toFixed(1)}"${anchorEnd ? ' text-anchor="end"' : ''} font-size="11" ${FONT} fill="#333">${escapeXml(p.label)}</text>`);
      }
    }
  });
  return frame(width, height, o.title, body);
}
