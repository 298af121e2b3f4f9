// ReplayReportData --> (renderReplayReport) --> one self-contained HTML page
//
// A timeline per user of the buckets seen, the score the model gave each, the anomalies and the
// published alerts, so that a detection engineer can see why the model decided what it did.
// Hand-written HTML, inline SVG and CSS; the inline script (filters) is optional and allowed by
// hash in the page's Content-Security-Policy, which also forbids every external resource. All
// user-controlled text (user names, hosts, file names) goes through escapeHtml.

import { createHash } from 'node:crypto';

/** One (user, bucket) as the replay scored it. */
export interface ReportBucket {
  bucketStart: number;
  /** The highest score any run gave this bucket. */
  score: number;
  calls: number;
  hosts: string[];
  /** At or above the threshold after the learning period. */
  anomaly: boolean;
  /** Inside the learning period (no alert whatever the score). */
  learning: boolean;
  /** The anomaly's event.id, for buckets at or above the threshold. */
  id?: string;
  /** An alert with that id was published by this replay. */
  published: boolean;
}

export interface ReportUser {
  user: string;
  /** Ascending by bucketStart, one per bucket. */
  buckets: ReportBucket[];
}

export interface ReplayReportData {
  from: number;
  to: number;
  bucketMs: number;
  memoryMs: number;
  learningPeriodMs: number;
  threshold: number;
  /** End of the learning period: no alerts for buckets before it. */
  learningUntil?: number;
  runs: number;
  eventsLoaded: number;
  eventsRead: number;
  observations: number;
  anomalies: number;
  alertsPublished: number;
  /** Alerts published for buckets this replay did not score (pending anomalies carried in --state). */
  otherAlerts: { id: string; user: string; bucketStart: number; score: number }[];
  inputs: string[];
  users: ReportUser[];
}

export interface RenderOptions {
  /** Rows shown at most (the most interesting users); the page says how many were left out. @default 200 */
  maxRows?: number;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Text safe inside HTML (and inline SVG) content and double- or single-quoted attribute values:
 * `& < > " '` become character references; control characters that HTML forbids (C0 but tab,
 * line feed and carriage return; DEL; C1) become U+FFFD.
 */
export function escapeHtml(text: string): string {
  // eslint-disable-next-line no-control-regex -- replacing control characters is the point
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] as string).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, '\uFFFD');
}

/** At most `max` code points (never half a surrogate pair), with an ellipsis when cut. */
const cut = (text: string, max: number): string => {
  const points = Array.from(text);
  return points.length > max ? `${points.slice(0, max - 1).join('')}…` : text;
};

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A span in words: 4d 0h 30m. */
const span = (ms: number): string => {
  const d = Math.floor(ms / DAY);
  const h = Math.floor((ms % DAY) / HOUR);
  const m = Math.round((ms % HOUR) / MINUTE);
  return d > 0 ? `${d}d ${h}h${m > 0 ? ` ${m}m` : ''}` : h > 0 ? `${h}h${m > 0 ? ` ${m}m` : ''}` : `${m}m`;
};
const duration = (ms: number): string => {
  if (ms > 0 && ms % DAY === 0) return `${ms / DAY}d`;
  if (ms > 0 && ms % HOUR === 0) return `${ms / HOUR}h`;
  if (ms > 0 && ms % MINUTE === 0) return `${ms / MINUTE}m`;
  return `${Math.round(ms / 1000)}s`;
};
/** 2026-11-02 13:45 UTC */
const time = (ms: number): string => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
const hhmm = (ms: number): string => new Date(ms).toISOString().slice(11, 16);
const count = (n: number): string => n.toLocaleString('en-US');
const plural = (n: number, one: string, many = `${one}s`): string => `${count(n)} ${n === 1 ? one : many}`;

// ---- geometry of a timeline strip ----------------------------------------------------------

const W = 600;
const H = 50;
const PAD = 6;
const Y0 = 44; // score 0
const Y100 = 10; // score 100
const y = (score: number): number => Y0 - (Math.min(100, Math.max(0, score)) / 100) * (Y0 - Y100);
const f1 = (v: number): string => (Math.round(v * 10) / 10).toString();

/** Score bands, coloured from grey (a regular caller) to red (at or above the threshold). */
const BANDS = [
  { name: 'zero', label: '0: a regular caller', colour: '#8c96a0' },
  { name: 'low', label: 'below 25', colour: '#4e8fd0' },
  { name: 'mid', label: '25 to 50', colour: '#d9a400' },
  { name: 'high', label: '50 to the threshold', colour: '#f07c1f' },
  { name: 'anom', label: 'at or above the threshold', colour: '#d62728' },
] as const;
const band = (score: number, threshold: number): number => (score >= threshold ? 4 : score >= 50 ? 3 : score >= 25 ? 2 : score > 0 ? 1 : 0);
const radius = (score: number): number => 2.2 + (Math.min(100, Math.max(0, score)) / 100) * 2.6;

/** Rows with more buckets than this draw their ordinary buckets merged per pixel column. */
const DETAILED_BUCKETS = 150;

// ---- per-user summary and order ---------------------------------------------------------

interface UserRow {
  user: ReportUser;
  /** Highest score after the learning period; -1 when every bucket fell in it. */
  maxScore: number;
  /** Highest score during the learning period; -1 when none fell in it. */
  learningMax: number;
  alerts: ReportBucket[];
  anomalies: number;
  learningHits: number;
  days: number;
  hosts: string[];
  /** 0: published alerts; 1: anomalies, none published; 2: the rest. */
  tier: number;
}

function summarize(user: ReportUser, threshold: number): UserRow {
  let maxScore = -1;
  let learningMax = -1;
  let anomalies = 0;
  let learningHits = 0;
  const alerts: ReportBucket[] = [];
  const days = new Set<number>();
  const hosts = new Set<string>();
  for (const b of user.buckets) {
    if (b.learning) learningMax = Math.max(learningMax, b.score);
    else maxScore = Math.max(maxScore, b.score);
    if (b.anomaly) anomalies++;
    else if (b.learning && b.score >= threshold) learningHits++;
    if (b.published) alerts.push(b);
    days.add(Math.floor(b.bucketStart / DAY));
    for (const h of b.hosts) hosts.add(h);
  }
  const tier = alerts.length > 0 ? 0 : anomalies > 0 ? 1 : 2;
  return { user, maxScore, learningMax, alerts, anomalies, learningHits, days: days.size, hosts: [...hosts].sort(), tier };
}

/**
 * Alerted users first, then users with unpublished anomalies, then the closest to alerting:
 * highest score after the learning period (everyone is new at the start of a fresh replay, so
 * scores inside it say little), then fewest buckets, then name.
 */
const byInterest = (a: UserRow, b: UserRow): number =>
  a.tier - b.tier ||
  b.maxScore - a.maxScore ||
  b.learningMax - a.learningMax ||
  a.user.buckets.length - b.user.buckets.length ||
  (a.user.user < b.user.user ? -1 : a.user.user > b.user.user ? 1 : 0);

// ---- the page ---------------------------------------------------------------------------

// Optional: filters, and a mark that the page's script ran (the browser test looks for it).
const SCRIPT = `(function () {
  var body = document.body;
  var controls = document.getElementById('controls');
  var q = document.getElementById('q');
  var only = document.getElementById('only-alerts');
  var shown = document.getElementById('shown');
  var rows = Array.prototype.slice.call(document.querySelectorAll('tr.user'));
  function apply() {
    var text = q.value.toLowerCase();
    var n = 0;
    rows.forEach(function (row) {
      var match = (!text || row.getAttribute('data-search').toLowerCase().indexOf(text) >= 0) &&
        (!only.checked || row.getAttribute('data-alerts') !== '0');
      row.hidden = !match;
      if (match) n++;
    });
    shown.textContent = String(n);
  }
  if (controls && q && only && shown) {
    controls.hidden = false;
    q.addEventListener('input', apply);
    only.addEventListener('change', apply);
  }
  body.setAttribute('data-rendered', 'yes');
})();`;
const SCRIPT_HASH = createHash('sha256').update(SCRIPT).digest('base64');
const CSP = `default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-${SCRIPT_HASH}'`;

const STYLE = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif; color: #1d2430; margin: 18px 22px; background: #fff; }
h1 { font-size: 19px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 22px 0 6px; }
p { margin: 6px 0; max-width: 1100px; }
code { font: 12px/1.3 ui-monospace, "DejaVu Sans Mono", "Liberation Mono", monospace; background: #f3f5f8; padding: 0 3px; border-radius: 3px; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 4px 18px; margin: 10px 0; max-width: 1240px; }
.facts div { border-left: 3px solid #d5dbe3; padding: 1px 8px; }
.facts b { display: block; font-size: 15px; }
.facts span { color: #5b6675; font-size: 12px; }
.facts .alerted { border-left-color: #d62728; }
table.users { border-collapse: collapse; margin-top: 8px; }
table.users th { text-align: left; font-weight: 600; color: #5b6675; font-size: 12px; padding: 2px 6px; border-bottom: 1px solid #d5dbe3; position: sticky; top: 0; background: #fff; z-index: 1; }
table.users td { padding: 2px 6px; border-bottom: 1px solid #eef1f5; vertical-align: middle; }
table.users td.num, table.users th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.users td.who { width: 220px; min-width: 220px; max-width: 220px; overflow: hidden; }
.who .name { font-weight: 600; word-break: break-all; }
.who .hosts { color: #5b6675; font-size: 11px; word-break: break-all; }
tr.tier0 td.who { border-left: 3px solid #d62728; }
tr.tier1 td.who { border-left: 3px solid #f07c1f; }
.who .ids code { display: block; }
tr.tier2 td.who { border-left: 3px solid transparent; }
.who .ids { font-size: 11px; }
.who .ids code { font-size: 10px; word-break: break-all; }
svg.strip, svg.axis { display: block; }
.learn { fill: #eceff3; }
.grid { stroke: #dfe4ea; stroke-width: 1; }
.thr { stroke: #d62728; stroke-width: 1; stroke-dasharray: 3 3; opacity: .7; }
.axis text { font-size: 10.5px; fill: #5b6675; }
.axis .tick { stroke: #b7c0cb; }
${BANDS.map((b) => `.s-${b.name} { fill: ${b.colour}; } .m-${b.name} { stroke: ${b.colour}; stroke-width: 2.6; stroke-linecap: round; fill: none; }`).join('\n')}
.anomaly { stroke: #1d2430; stroke-width: 1.3; }
.lhit { fill: #fff; stroke: #d62728; stroke-width: 1.6; }
.flag { fill: #1d2430; }
.omitted { color: #5b6675; margin: 8px 0; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 20px; align-items: center; margin: 6px 0 4px; max-width: 1240px; }
.legend span { display: inline-flex; align-items: center; gap: 5px; }
#controls { margin: 8px 0; }
#controls input[type=search] { width: 260px; padding: 3px 6px; }
.muted { color: #5b6675; }
`;

function legend(threshold: number): string {
  const dot = (cls: string, r: number, extra = ''): string =>
    `<svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true"><circle class="${cls}" cx="8" cy="8" r="${r}"${extra}/></svg>`;
  const items = [
    ...BANDS.map((b) => `<span>${dot(`s-${b.name}`, b.name === 'anom' ? 4.8 : 3.2)}score ${b.name === 'anom' ? `${escapeHtml(String(threshold))} or more` : b.label}</span>`),
    `<span><svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true"><circle class="s-anom anomaly" cx="8" cy="8" r="5.5"/></svg>anomaly (outlined)</span>`,
    `<span><svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true"><path class="flag" d="M4 2h8l-4 6z"/><circle class="s-anom anomaly" cx="8" cy="12" r="3.4"/></svg>published alert (▼; hover for its event.id)</span>`,
    `<span>${dot('lhit', 4.2)}at or above the threshold during the learning period: no alert</span>`,
    `<span><svg width="26" height="14" aria-hidden="true"><rect class="learn" x="0" y="0" width="26" height="14"/></svg>learning period</span>`,
    `<span><svg width="26" height="14" aria-hidden="true"><line class="thr" x1="0" y1="7" x2="26" y2="7"/></svg>threshold (${escapeHtml(String(threshold))})</span>`,
  ];
  return `<div class="legend">${items.join('')}</div>`;
}

/** Tick times for the axis: a step that gives at most about 12 ticks, on UTC boundaries. */
function ticks(from: number, to: number): { at: number; label: string }[] {
  const span = to - from;
  const steps = [HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY, 56 * DAY, 112 * DAY, 364 * DAY];
  const step = steps.find((s) => span / s <= 12) ?? Math.ceil(span / 12 / DAY) * DAY;
  const out: { at: number; label: string }[] = [];
  for (let t = Math.ceil(from / step) * step; t <= to && out.length < 400; t += step) {
    const iso = new Date(t).toISOString();
    const label = step < DAY && t % DAY !== 0 ? iso.slice(11, 16) : iso.slice(5, 10);
    out.push({ at: t, label });
  }
  return out;
}

interface Geometry {
  /** The time the strips cover: the replay's span, widened to the buckets its first runs looked back at. */
  start: number;
  end: number;
  x(t: number): number;
  background: string;
}

function geometry(data: ReplayReportData): Geometry {
  let start = data.from;
  let end = data.to;
  for (const u of data.users) {
    const first = u.buckets[0];
    const last = u.buckets[u.buckets.length - 1];
    if (first) start = Math.min(start, first.bucketStart);
    if (last) end = Math.max(end, last.bucketStart + data.bucketMs);
  }
  const span = Math.max(1, end - start);
  const x = (t: number): number => PAD + ((Math.min(end, Math.max(start, t)) - start) / span) * (W - 2 * PAD);
  const parts: string[] = [];
  if (data.learningUntil !== undefined && data.learningUntil > start) {
    parts.push(`<rect class="learn" x="${PAD}" y="2" width="${f1(x(data.learningUntil) - PAD)}" height="${H - 4}"/>`);
  }
  for (const t of ticks(start, end)) parts.push(`<line class="grid" x1="${f1(x(t.at))}" y1="2" x2="${f1(x(t.at))}" y2="${H - 2}"/>`);
  parts.push(`<line class="thr" x1="${PAD}" y1="${f1(y(data.threshold))}" x2="${W - PAD}" y2="${f1(y(data.threshold))}"/>`);
  return { start, end, x, background: parts.join('') };
}

function axis(g: Geometry): string {
  let freeFrom = 0; // labels never overlap: one that would is left out (its tick stays)
  const parts = ticks(g.start, g.end).map((t) => {
    const at = g.x(t.at);
    const x = f1(at);
    const width = t.label.length * 6.8;
    const left = Math.min(W - width, Math.max(0, at - width / 2));
    const tick = `<line class="tick" x1="${x}" y1="14" x2="${x}" y2="20"/>`;
    if (left < freeFrom) return tick;
    freeFrom = left + width + 6;
    return `${tick}<text x="${f1(left)}" y="11">${t.label}</text>`;
  });
  return `<svg class="axis" width="${W}" height="20" viewBox="0 0 ${W} 20" role="img" aria-label="time axis, UTC">${parts.join('')}</svg>`;
}

function bucketTitle(b: ReportBucket, data: ReplayReportData): string {
  const lines = [`${time(b.bucketStart)}–${hhmm(b.bucketStart + data.bucketMs)}`, `score ${b.score}`];
  if (b.published) lines.push(`ALERT ${b.id ?? ''} (published)`);
  else if (b.anomaly) lines.push(`anomaly ${b.id ?? ''}, not published (excepted, folded into an earlier alert of the user, or expired)`);
  else if (b.learning && b.score >= data.threshold) lines.push('at or above the threshold during the learning period: no alert');
  else if (b.learning) lines.push('learning period');
  lines.push(`${plural(b.calls, 'call')} on ${b.hosts.length > 0 ? b.hosts.slice(0, 5).join(', ') + (b.hosts.length > 5 ? ` +${b.hosts.length - 5}` : '') : '?'}`);
  return escapeHtml(lines.join('\n'));
}

/** One mark for a bucket: a dot by score; anomalies outlined, alerts flagged, learning-period hits hollow. */
function mark(b: ReportBucket, data: ReplayReportData, g: Geometry): string {
  const cx = f1(g.x(b.bucketStart + data.bucketMs / 2));
  const cy = f1(y(b.score));
  const title = `<title>${bucketTitle(b, data)}</title>`;
  const cls = `s-${BANDS[band(b.score, data.threshold)]?.name ?? 'zero'}`;
  if (b.published) {
    const id = escapeHtml(b.id ?? '');
    return `<g class="alert" data-alert-id="${id}">${title}<path class="flag" d="M${cx} 8l-4.5 -7h9z"/><circle class="${cls} anomaly" cx="${cx}" cy="${cy}" r="5.5"/></g>`;
  }
  if (b.anomaly) return `<circle class="${cls} anomaly" cx="${cx}" cy="${cy}" r="5.5" data-anomaly-id="${escapeHtml(b.id ?? '')}">${title}</circle>`;
  if (b.learning && b.score >= data.threshold) return `<circle class="lhit" cx="${cx}" cy="${cy}" r="4.2">${title}</circle>`;
  return `<circle class="${cls}" cx="${cx}" cy="${cy}" r="${f1(radius(b.score))}">${title}</circle>`;
}

/** Ordinary buckets of a dense row: one short stroke per (pixel column, score band), the column's highest score. */
function mergedMarks(buckets: readonly ReportBucket[], data: ReplayReportData, g: Geometry): string {
  const perBand = BANDS.map(() => ({ buckets: 0, columns: new Map<number, number>() }));
  for (const b of buckets) {
    const k = band(b.score, data.threshold);
    const col = Math.round(g.x(b.bucketStart + data.bucketMs / 2));
    const slot = perBand[k] as (typeof perBand)[number];
    slot.buckets++;
    slot.columns.set(col, Math.max(slot.columns.get(col) ?? 0, b.score));
  }
  return perBand
    .map((slot, k) => {
      if (slot.buckets === 0) return '';
      const d = [...slot.columns].map(([col, score]) => `M${col} ${f1(y(score) - 1.6)}v3.2`).join('');
      const name = BANDS[k]?.name ?? 'zero';
      const label = `${plural(slot.buckets, 'bucket')} scoring ${BANDS[k]?.label ?? ''} (merged per pixel: each stroke shows the highest score of its column)`;
      return `<path class="m-${name}" d="${d}"><title>${escapeHtml(label)}</title></path>`;
    })
    .join('');
}

function strip(row: UserRow, data: ReplayReportData, g: Geometry): string {
  const { buckets } = row.user;
  let marks: string;
  if (buckets.length <= DETAILED_BUCKETS) marks = buckets.map((b) => mark(b, data, g)).join('');
  else {
    const special = (b: ReportBucket): boolean => b.published || b.anomaly || (b.learning && b.score >= data.threshold);
    marks = mergedMarks(buckets.filter((b) => !special(b)), data, g) + buckets.filter(special).map((b) => mark(b, data, g)).join('');
  }
  const label = `${row.user.user}: ${buckets.length} buckets, max score ${Math.max(row.maxScore, row.learningMax)}`;
  return `<svg class="strip" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(label)}">${g.background}${marks}</svg>`;
}

function userRow(row: UserRow, data: ReplayReportData, g: Geometry): string {
  const name = row.user.user;
  const hosts = row.hosts.length <= 3 ? row.hosts.join(', ') : `${row.hosts.slice(0, 3).join(', ')} +${row.hosts.length - 3}`;
  const ids =
    row.alerts.length === 0
      ? ''
      : `<div class="ids">${row.alerts.length === 1 ? 'alert' : 'alerts'} ${row.alerts
          .slice(0, 3)
          .map((b) => `<code>${escapeHtml(b.id ?? '')}</code>`)
          .join(' ')}${row.alerts.length > 3 ? ` <span class="muted">+${row.alerts.length - 3}</span>` : ''}</div>`;
  const search = [name, ...row.hosts].join(' ');
  return (
    `<tr class="user tier${row.tier}" data-user="${escapeHtml(name)}" data-search="${escapeHtml(search)}" data-alerts="${row.alerts.length}">` +
    `<td class="who" title="${escapeHtml(name)}"><div class="name">${escapeHtml(cut(name, 60))}</div><div class="hosts">${escapeHtml(cut(hosts, 120))}</div>${ids}</td>` +
    `<td class="tl">${strip(row, data, g)}</td>` +
    `<td class="num">${count(row.user.buckets.length)}</td>` +
    `<td class="num">${count(row.days)}</td>` +
    `<td class="num">${count(row.hosts.length)}</td>` +
    `<td class="num"${row.learningMax >= 0 ? ` title="highest during the learning period: ${row.learningMax}"` : ''}>${row.maxScore >= 0 ? row.maxScore : '<span class="muted">learning</span>'}</td>` +
    `<td class="num">${count(row.anomalies)}${row.learningHits > 0 ? ` <span class="muted" title="at or above the threshold during the learning period">(+${count(row.learningHits)} learning)</span>` : ''}</td>` +
    `<td class="num">${count(row.alerts.length)}</td>` +
    `</tr>`
  );
}

function fact(value: string, label: string, cls = ''): string {
  return `<div${cls ? ` class="${cls}"` : ''}><b>${value}</b><span>${label}</span></div>`;
}

export function renderReplayReport(data: ReplayReportData, options: RenderOptions = {}): string {
  const maxRows = Math.max(0, options.maxRows ?? 200);
  const rows = data.users.map((u) => summarize(u, data.threshold)).sort(byInterest);
  const shown = rows.slice(0, maxRows);
  const omitted = rows.slice(maxRows);
  const g = geometry(data);
  const buckets = rows.reduce((n, r) => n + r.user.buckets.length, 0);
  const learning =
    data.learningUntil === undefined
      ? 'no run'
      : data.learningUntil <= data.from
        ? `over before ${escapeHtml(time(data.from))}`
        : data.learningUntil >= data.to
          ? `until ${escapeHtml(time(data.learningUntil))}, after the replay: no alerts possible`
          : `until ${escapeHtml(time(data.learningUntil))}`;

  const facts = [
    fact(`${escapeHtml(time(data.from))}`, `from (runs at every ${duration(data.bucketMs)} boundary after it)`),
    fact(`${escapeHtml(time(data.to))}`, `to (${span(data.to - data.from)})`),
    fact(count(data.runs), 'runs'),
    fact(count(data.eventsLoaded), `events loaded (${count(data.eventsRead)} read across runs)`),
    fact(count(data.observations), 'metadata calls observed (across runs)'),
    fact(count(rows.length), `users calling the metadata service, ${count(buckets)} (user, bucket) pairs`),
    fact(count(data.anomalies), 'anomalies recorded'),
    fact(count(data.alertsPublished), 'alerts published', data.alertsPublished > 0 ? 'alerted' : ''),
    fact(escapeHtml(String(data.threshold)), 'threshold: alert at this score or more'),
    fact(learning, `learning period (${duration(data.learningPeriodMs)})`),
    fact(duration(data.memoryMs), 'memory of the baselines'),
  ];

  const omittedNote =
    omitted.length === 0
      ? ''
      : `<p class="omitted" id="omitted">${plural(omitted.length, 'more user')} not shown (the ${count(maxRows)} most interesting are): ` +
        `highest score among them after the learning period ${omitted.reduce((m, r) => Math.max(m, r.maxScore), -1)}, ` +
        `${plural(omitted.filter((r) => r.tier === 0).length, 'with an alert', 'with alerts')}, ${count(omitted.reduce((n, r) => n + r.user.buckets.length, 0))} buckets.</p>`;

  const others =
    data.otherAlerts.length === 0
      ? ''
      : `<p>${plural(data.otherAlerts.length, 'alert')} published for buckets scored before this replay (pending anomalies kept in <code>--state</code>): ` +
        data.otherAlerts.map((a) => `<code>${escapeHtml(a.id)}</code> ${escapeHtml(cut(a.user, 60))} ${escapeHtml(time(a.bucketStart))} score ${a.score}`).join('; ') +
        '</p>';

  const body =
    rows.length === 0
      ? '<p id="empty">No user called the metadata service in this replay.</p>'
      : `<div id="controls" hidden><label>filter users and hosts <input type="search" id="q" autocomplete="off"></label> ` +
        `<label><input type="checkbox" id="only-alerts"> only users with alerts</label> <span class="muted"><span id="shown">${shown.length}</span> shown</span></div>` +
        `<table class="users"><thead><tr><th>user (hosts)</th><th>${axis(g)}</th><th class="num">buckets</th><th class="num">days</th><th class="num">hosts</th>` +
        `<th class="num">max<br>score</th><th class="num">anom&shy;alies</th><th class="num">alerts</th></tr></thead>` +
        `<tbody>${shown.map((r) => userRow(r, data, g)).join('\n')}</tbody></table>${omittedNote}`;

  const inputs = data.inputs.length === 0 ? '' : `<p class="muted">Input: ${data.inputs.map((f) => `<code>${escapeHtml(cut(f, 200))}</code>`).join(', ')}</p>`;

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>imds-watch replay report, ${escapeHtml(time(data.from))} to ${escapeHtml(time(data.to))}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>imds-watch replay report</h1>
<p class="muted">Unusual Linux users calling the cloud instance metadata service: what the model saw, how it scored it, what it alerted on.</p>
${inputs}
<div class="facts">${facts.join('')}</div>
${others}
<h2>How to read it</h2>
${legend(data.threshold)}
<p>Each row is a user; each mark is one ${duration(data.bucketMs)} bucket in which the user called the metadata service at least once
(the time runs left to right across the replay; hover a mark for its time, score, calls and hosts). A mark's height and colour are the
score the model gave the bucket against the user's own history <em>strictly before</em> it, within the ${duration(data.memoryMs)} memory
(<code>src/model/MODEL.md</code>): score = 100 × confidence × days × buckets. <em>Confidence</em> grows from 0.75 to 1 as the model has
watched longer, so a user never seen before scores at least 75; <em>days</em> falls to 0 once the user has been seen on half the days
observed, so a regular caller sits on the bottom line at 0; <em>buckets</em> = 4 / (4 + buckets seen before) falls with every earlier
bucket, so a burst gives one high mark and then low ones. A bucket at or above the dashed threshold line after the shaded learning
period is an anomaly (outlined); an anomaly published as an alert has a ▼ above it carrying its <code>event.id</code>. An outlined mark
without ▼ was recorded but not published: excepted, folded into the user's earlier alert as a repeat, or expired while waiting behind
the per-run cap. Hollow marks would have been anomalies but fell in the learning period. A bucket is scored by every run whose
look-back covers it; the highest score is shown. Rows of more than ${DETAILED_BUCKETS} buckets draw their ordinary buckets as short
strokes, one per pixel column and score band (the column's highest score). Users with alerts come first, then users with unpublished anomalies, then by highest score.</p>
<h2>Users</h2>
${body}
<script>${SCRIPT}</script>
</body>
</html>
`;
}
