// bench --> (line charts as data) --> SVG text
//
// A small SVG writer without dependencies, in the manner of bench/soak.ts's chart: panels side by
// side, each with its axes (linear or log), grid, tick labels, units and a legend. Pure.

export interface Series {
  name: string;
  color: string;
  points: readonly (readonly [number, number])[];
  dashed?: boolean;
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  xScale: 'linear' | 'log';
  yScale: 'linear' | 'log';
  series: readonly Series[];
  /** Axis ranges; derived from the points when absent (log axes: whole powers of ten). */
  xDomain?: readonly [number, number];
  yDomain?: readonly [number, number];
}

export interface Chart {
  title: string;
  subtitle?: string;
  panels: readonly Panel[];
  panelWidth?: number;
  panelHeight?: number;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const f = (v: number): string => v.toFixed(1);

/** Tick label: 1,000 / 10k / 1M style, short enough for an axis. */
export function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${trim(v / 1e6)}M`;
  if (a >= 1e4) return `${trim(v / 1e3)}k`;
  if (a >= 1000) return v.toLocaleString('en-US', { maximumFractionDigits: 0 });
  if (a >= 1 || a === 0) return trim(v);
  return String(Number(v.toPrecision(2)));
}

const trim = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(v >= 10 ? 0 : 1).replace(/\.0$/, ''));

function niceCeil(v: number): number {
  if (v <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * magnitude >= v) return m * magnitude;
  return 10 * magnitude;
}

/** The axis range: given, else powers of ten around the values (log) or 0..nice maximum (linear). */
export function domainOf(values: readonly number[], scale: 'linear' | 'log', given?: readonly [number, number]): [number, number] {
  if (given) return [given[0], given[1]];
  const finite = values.filter((v) => Number.isFinite(v) && (scale === 'linear' || v > 0));
  if (finite.length === 0) return scale === 'log' ? [1, 10] : [0, 1];
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  if (scale === 'log') {
    const a = 10 ** Math.floor(Math.log10(lo));
    const b = 10 ** Math.ceil(Math.log10(hi));
    return [a, b > a ? b : a * 10];
  }
  return [0, niceCeil(hi)];
}

/** Tick values: each power of ten on a log axis, quarters on a linear one. */
export function ticksOf([lo, hi]: readonly [number, number], scale: 'linear' | 'log'): number[] {
  if (scale === 'linear') return [0, 1, 2, 3, 4].map((i) => lo + ((hi - lo) * i) / 4);
  const ticks: number[] = [];
  for (let e = Math.ceil(Math.log10(lo) - 1e-9); e <= Math.floor(Math.log10(hi) + 1e-9); e++) ticks.push(10 ** e);
  return ticks;
}

/** Maps a value to [0, 1] along an axis. */
export function position(v: number, [lo, hi]: readonly [number, number], scale: 'linear' | 'log'): number {
  if (scale === 'log') return (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo));
  return (v - lo) / (hi - lo);
}

export function chartSvg(chart: Chart): string {
  const panelW = chart.panelWidth ?? 420;
  const panelH = chart.panelHeight ?? 300;
  const margin = { left: 62, right: 14, top: 30, bottom: 44 };
  const legendRow = 16;
  const legendRows = Math.max(0, ...chart.panels.map((p) => p.series.length));
  const headerH = chart.subtitle ? 46 : 32;
  const width = chart.panels.length * panelW;
  const height = headerH + panelH + legendRows * legendRow + 8;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(chart.title)}</text>`,
  ];
  if (chart.subtitle) parts.push(`<text x="${width / 2}" y="36" text-anchor="middle" fill="#555">${esc(chart.subtitle)}</text>`);
  chart.panels.forEach((panel, i) => {
    const left = i * panelW + margin.left;
    const top = headerH + margin.top;
    const plotW = panelW - margin.left - margin.right;
    const plotH = panelH - margin.top - margin.bottom;
    const xs = panel.series.flatMap((s) => s.points.map((p) => p[0]));
    const ys = panel.series.flatMap((s) => s.points.map((p) => p[1]));
    const xd = domainOf(xs, panel.xScale, panel.xDomain);
    const yd = domainOf(ys, panel.yScale, panel.yDomain);
    const x = (v: number): number => left + position(v, xd, panel.xScale) * plotW;
    const y = (v: number): number => top + plotH - position(v, yd, panel.yScale) * plotH;
    parts.push(`<text x="${left}" y="${top - 10}" font-weight="bold">${esc(panel.title)}</text>`);
    for (const t of ticksOf(yd, panel.yScale)) {
      parts.push(
        `<line x1="${f(left)}" x2="${f(left + plotW)}" y1="${f(y(t))}" y2="${f(y(t))}" stroke="#ddd"/>`,
        `<text x="${f(left - 6)}" y="${f(y(t) + 4)}" text-anchor="end">${esc(formatTick(t))}</text>`,
      );
    }
    for (const t of ticksOf(xd, panel.xScale)) {
      parts.push(
        `<line x1="${f(x(t))}" x2="${f(x(t))}" y1="${f(top)}" y2="${f(top + plotH)}" stroke="#eee"/>`,
        `<text x="${f(x(t))}" y="${f(top + plotH + 14)}" text-anchor="middle">${esc(formatTick(t))}</text>`,
      );
    }
    const midY = top + plotH / 2;
    parts.push(
      `<text x="${f(left + plotW / 2)}" y="${f(top + plotH + 32)}" text-anchor="middle" fill="#555">${esc(panel.xLabel)}</text>`,
      `<text x="${f(left - 48)}" y="${f(midY)}" transform="rotate(-90 ${f(left - 48)} ${f(midY)})" text-anchor="middle" fill="#555">${esc(panel.yLabel)}</text>`,
      `<rect x="${f(left)}" y="${f(top)}" width="${f(plotW)}" height="${f(plotH)}" fill="none" stroke="#999"/>`,
    );
    panel.series.forEach((series, j) => {
      const dash = series.dashed ? ' stroke-dasharray="6 4"' : '';
      const pts = series.points.filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py) && (panel.yScale === 'linear' || py > 0));
      parts.push(`<polyline fill="none" stroke="${series.color}" stroke-width="2"${dash} points="${pts.map(([px, py]) => `${f(x(px))},${f(y(py))}`).join(' ')}"/>`);
      for (const [px, py] of pts) parts.push(`<circle cx="${f(x(px))}" cy="${f(y(py))}" r="3" fill="${series.color}"/>`);
      const ly = headerH + panelH + j * legendRow + 4;
      const lx = i * panelW + margin.left;
      parts.push(
        `<line x1="${lx}" x2="${lx + 20}" y1="${ly - 4}" y2="${ly - 4}" stroke="${series.color}" stroke-width="3"${dash}/>`,
        `<text x="${lx + 26}" y="${ly}">${esc(series.name)}</text>`,
      );
    });
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
