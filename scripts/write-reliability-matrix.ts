// fault-injection matrix (test/faults, FAULTS=full) --> (this script) --> RELIABILITY.md, section `fault-matrix`
//
// Renders the matrix's results as Markdown and replaces only its own section of RELIABILITY.md:
// other scripts own the other sections (soak, fuzz). The full matrix calls it when it ends
// (`npm run test:faults`) and leaves its report as JSON; to render a saved report again:
//
//   npx tsx scripts/write-reliability-matrix.ts /tmp/imds-watch-fault-matrix.json

import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { replaceSection } from './markdown-section.js';

/** One cell: a fault struck into one call, and what the schedule did with it. */
export interface MatrixRow {
  call: string;
  fault: string;
  where: string;
  persistence: string;
  /** `ok`, or what went wrong: `lost`, `duplicated`, `extra`, `did not cope`, `not struck`. */
  result: string;
  publishes: number;
  allowedRepeats: number;
  late: number;
  redeliveries: number;
  dropped: number;
  injected: number;
  requests: number;
  wallMs: number;
  problems: string[];
}

export interface MatrixReport {
  /** The exact command that produced it. */
  command: string;
  /** ISO time it finished. */
  date: string;
  /** One paragraph: what runs, on what fleet and schedule. */
  setup: string;
  /** The fault-free schedule the cells are compared with. */
  reference: { alerts: number; deliveries: number; requests: number; wallMs: number };
  /** Calls of the fault-free schedule, with their requests in the data span (where strikes land). */
  calls: { call: string; requests: number }[];
  faults: { name: string; meaning: string }[];
  persistences: { name: string; meaning: string }[];
  /** What the matrix found and what it does not cover, one Markdown paragraph each. */
  notes: string[];
  rows: MatrixRow[];
  wallMs: number;
}

const SECTION = 'fault-matrix';
const TITLE = '# Reliability';
const RELIABILITY_MD = new URL('../RELIABILITY.md', import.meta.url);

const sum = (rows: readonly MatrixRow[], key: 'publishes' | 'allowedRepeats' | 'late' | 'redeliveries' | 'dropped' | 'injected' | 'requests' | 'wallMs'): number =>
  rows.reduce((n, r) => n + r[key], 0);

const minutes = (ms: number): string => (ms >= 90_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`);

const cellText = (r: MatrixRow): string => `${r.call}, ${r.fault}, ${r.where}, ${r.persistence}`;

export function renderFaultMatrix(report: MatrixReport): string {
  const { rows } = report;
  const results = ['ok', 'lost', 'duplicated', 'extra', 'did not cope', 'not struck'];
  const count = (result: string): number => rows.filter((r) => r.result.split(', ').includes(result)).length;
  const failed = rows.filter((r) => r.result !== 'ok');
  const shown = results.filter((r) => r === 'ok' || r === 'lost' || r === 'duplicated' || count(r) > 0);
  const lines: string[] = [];

  lines.push('## Fault-injection matrix', '');
  lines.push(
    `\`${report.command}\`, ${report.date.slice(0, 10)}: **${rows.length} cells, ${shown.map((r) => `${count(r)} ${r}`).join(', ')}** (${minutes(report.wallMs)}).`,
    '',
  );
  lines.push(report.setup, '');
  lines.push(
    `Each cell strikes one fault into one call of the run, at the first, middle or last request of that call within the telemetry's span of the fault-free schedule (positions that name the same request are one cell), and keeps it up for a while:`,
    '',
  );
  for (const f of report.faults) lines.push(`- **${f.name}**: ${f.meaning}`);
  lines.push('');
  for (const p of report.persistences) lines.push(`- **${p.name}**: ${p.meaning}`);
  lines.push('');
  lines.push(
    `The fault-free schedule publishes ${report.reference.alerts} alerts in ${report.reference.deliveries} invocations and ${report.reference.requests} requests. ` +
      'A cell is **ok** when it publishes the same set of alert `event.id`s and leaves every user with the same baseline, and every repeated publication is ' +
      'explained: the id was published again while its record was not yet marked published (the window between publish and record), after a fault struck ' +
      'in that window or the answer to its previous publication was lost, with the same `event.id` and body. **lost**: an alert never published, or a baseline bucket missing; **duplicated**: a repeat outside ' +
      'that window; **extra**: an alert the fault-free schedule does not publish; **did not cope**: a concurrent writer made the run fail. ' +
      '*Late* counts alerts first published by a later run than without the fault (not a failure).',
    '',
  );

  lines.push('### Totals', '');
  lines.push('| cells | ' + shown.join(' | ') + ' | publishes | allowed repeats | late alerts | redeliveries | dropped events | injected faults | requests | time |');
  lines.push('|' + ' ---: |'.repeat(shown.length + 9));
  lines.push(
    `| ${rows.length} | ${shown.map(count).join(' | ')} | ${sum(rows, 'publishes')} | ${sum(rows, 'allowedRepeats')} | ${sum(rows, 'late')} | ${sum(rows, 'redeliveries')} | ` +
      `${sum(rows, 'dropped')} | ${sum(rows, 'injected')} | ${sum(rows, 'requests')} | ${minutes(sum(rows, 'wallMs'))} |`,
    '',
  );

  const faults = report.faults.map((f) => f.name);
  lines.push('### By call and fault', '', 'Cells ok of cells run; `-` where the fault cannot strike the call.', '');
  lines.push(`| call | requests | ${faults.join(' | ')} |`);
  lines.push(`| --- | ---: |${' :---: |'.repeat(faults.length)}`);
  for (const { call, requests } of report.calls) {
    const cells = faults.map((fault) => {
      const of = rows.filter((r) => r.call === call && r.fault === fault);
      if (of.length === 0) return '-';
      const ok = of.filter((r) => r.result === 'ok').length;
      return ok === of.length ? `${ok}/${of.length}` : `**${ok}/${of.length}**`;
    });
    lines.push(`| ${call} | ${requests} | ${cells.join(' | ')} |`);
  }
  lines.push('');

  if (report.notes.length > 0) {
    lines.push('### Findings and limits', '');
    for (const note of report.notes) lines.push(`- ${note}`);
    lines.push('');
  }

  if (failed.length > 0) {
    lines.push('### Cells that failed', '');
    for (const r of failed) {
      lines.push(`- ${cellText(r)}: **${r.result}**`);
      for (const p of r.problems) lines.push(`  - ${p}`);
    }
    lines.push('');
  }

  lines.push('### Every cell', '');
  lines.push('| call | fault | where | lasting | result | publishes | allowed repeats | late | redeliveries | dropped | injected | requests | ms |');
  lines.push('| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const result = r.result === 'ok' ? 'ok' : `**${r.result}**`;
    lines.push(
      `| ${r.call} | ${r.fault} | ${r.where} | ${r.persistence} | ${result} | ${r.publishes} | ${r.allowedRepeats} | ${r.late} | ${r.redeliveries} | ${r.dropped} | ${r.injected} | ${r.requests} | ${r.wallMs} |`,
    );
  }
  return lines.join('\n');
}

/** Replaces the `fault-matrix` section of RELIABILITY.md (creating the file if needed). */
export async function writeFaultMatrix(report: MatrixReport, file: string | URL = RELIABILITY_MD): Promise<void> {
  await replaceSection(file, SECTION, renderFaultMatrix(report), TITLE);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const input = process.argv[2];
  if (input === undefined) {
    console.error('usage: tsx scripts/write-reliability-matrix.ts REPORT.json');
    process.exit(2);
  }
  const report = JSON.parse(await readFile(input, 'utf8')) as MatrixReport;
  await writeFaultMatrix(report);
  console.log(`RELIABILITY.md: fault-matrix section written from ${input} (${report.rows.length} cells)`);
}
