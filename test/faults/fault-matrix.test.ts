// The fault-injection matrix (see fault-matrix.ts). By default the reduced matrix, for CI: one
// cell per (call, fault) on a three-hour fleet, the position and the persistence rotating. With
// FAULTS=full (`npm run test:faults`) every cell on the six-hour fleet, and the results are
// written to RELIABILITY.md (section `fault-matrix`).

import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFaultMatrix, type MatrixReport } from '../../scripts/write-reliability-matrix.js';
import {
  CI_FLEET,
  FAULT_KINDS,
  FAULT_MEANING,
  FULL_FLEET,
  MATRIX_NOTES,
  MINUTE,
  OCCASIONAL_CALLS,
  PERSISTENCES,
  PERSISTENCE_MEANING,
  applicable,
  cellName,
  describeSetup,
  fullMatrix,
  reducedMatrix,
  reference,
  runCell,
  runSchedule,
  scenario,
  type CellResult,
} from './fault-matrix.js';

const FULL = process.env.FAULTS === 'full';
const started = Date.now();
const ref = await reference(scenario(FULL ? FULL_FLEET : CI_FLEET));
const cells = FULL ? fullMatrix(ref) : reducedMatrix(ref);
const results: CellResult[] = [];

describe(`the fault-free schedule on ${ref.scenario.profile.name}`, () => {
  it('publishes several alerts, three of them in one batch and one found by the last run that can see it', () => {
    // Prepare
    const alerts = ref.outcome.journal.publishes.filter((p) => p.kind === 'alert');
    const perRun = new Map<number, number>();
    for (const p of alerts) perRun.set(p.scheduled, (perRun.get(p.scheduled) ?? 0) + 1);
    const lookback = ref.scenario.detector.config.lookbackMs;
    // Act
    const lastChance = alerts.filter((p) => {
      const body = JSON.parse(p.body) as { '@timestamp': string; anomaly: { bucket_start: string } };
      return Date.parse(body['@timestamp']) - Date.parse(body.anomaly.bucket_start) === lookback;
    });
    // Assess
    expect(ref.alerts.size).toBeGreaterThanOrEqual(5);
    expect(alerts).toHaveLength(ref.alerts.size);
    expect(Math.max(...perRun.values())).toBeGreaterThanOrEqual(3);
    expect(lastChance).toHaveLength(1);
    expect(ref.outcome.journal.deliveries.every((d) => d.ok && d.attempt === 0)).toBe(true);
    expect(Object.values(ref.outcome.records).every((status) => status === 'published')).toBe(true);
    expect(Object.keys(ref.outcome.baselines).length).toBeGreaterThanOrEqual(10);
  });

  it('reaches the same alerts, baselines and requests when resumed half-way from a snapshot of its table', async () => {
    // Prepare: cells start from the snapshot before their strike, and this is what makes it sound.
    const { snapshots } = ref.outcome;
    const half = snapshots[Math.floor(snapshots.length / 2)];
    if (!half) throw new Error('no snapshot');
    // Act
    const resumed = await runSchedule(ref.scenario, { from: half });
    // Assess
    expect(resumed.baselines).toEqual(ref.outcome.baselines);
    expect(resumed.records).toEqual(ref.outcome.records);
    expect(resumed.journal.publishes.map((p) => [p.id, p.scheduled])).toEqual(ref.outcome.journal.publishes.map((p) => [p.id, p.scheduled]));
    expect([...resumed.journal.requests]).toEqual([...ref.outcome.journal.requests]);
  });
});

describe(`the fault-injection matrix (${FULL ? 'full' : 'reduced'}, ${cells.length} cells)`, () => {
  it('strikes every call of the run with every fault that applies, at every position and for every persistence', () => {
    // Prepare
    const pairs = [...ref.calls.keys()].flatMap((call) => FAULT_KINDS.filter((fault) => applicable(call, fault)).map((fault) => `${call} / ${fault}`));
    // Act
    const struck = new Set(cells.map((c) => `${c.call} / ${c.fault}`));
    const where = new Set(cells.flatMap((c) => c.where.split('/')));
    // Assess
    expect([...struck].sort()).toEqual([...new Set(pairs)].sort());
    expect([...where].sort()).toEqual(['first', 'last', 'mid']);
    expect([...new Set(cells.map((c) => c.persistence))].sort()).toEqual([...PERSISTENCES].sort());
    expect(ref.calls.get('FilterLogEvents candidates')).toBeGreaterThan(ref.scenario.times.length);
    expect(ref.calls.get('PublishBatch')).toBeGreaterThanOrEqual(2);
  });

  for (const cell of cells) {
    it(`loses and repeats nothing when ${cellName(cell)}`, async () => {
      // Act
      const result = await runCell(cell, ref);
      results.push(result);
      // Assess
      expect(result.problems).toEqual([]);
      expect(result.verdicts).toEqual(['ok']);
    });
  }
});

afterAll(async () => {
  const failed = results.filter((r) => r.verdicts[0] !== 'ok');
  const total = (key: 'publishes' | 'allowedRepeats' | 'late' | 'redeliveries' | 'dropped' | 'injected'): number => results.reduce((n, r) => n + r[key], 0);
  const report: MatrixReport = {
    command: FULL ? 'npm run test:faults' : 'npx vitest run test/faults',
    date: new Date().toISOString(),
    setup: describeSetup(ref),
    reference: {
      alerts: ref.alerts.size,
      deliveries: ref.outcome.journal.deliveries.length,
      requests: [...ref.outcome.journal.requests.values()].reduce((n, t) => n + t.length, 0),
      wallMs: ref.outcome.wallMs,
    },
    calls: [...ref.calls].map(([call, requests]) => ({ call, requests })),
    faults: FAULT_KINDS.map((f) => ({ name: f, meaning: FAULT_MEANING[f] })),
    persistences: PERSISTENCES.map((p) => ({ name: p, meaning: PERSISTENCE_MEANING[p] })),
    notes: [
      ...MATRIX_NOTES,
      ...OCCASIONAL_CALLS.filter((call) => !ref.calls.has(call)).map(
        (call) => `Not struck: \`${call}\` has no request in the fault-free schedule, so no position to strike (it runs here only when another fault leads to it, if at all).`,
      ),
    ],
    rows: results.map((r) => ({
      call: r.cell.call,
      fault: r.cell.fault,
      where: r.cell.where,
      persistence: r.cell.persistence,
      result: r.verdicts.join(', '),
      publishes: r.publishes,
      allowedRepeats: r.allowedRepeats,
      late: r.late,
      redeliveries: r.redeliveries,
      dropped: r.dropped,
      injected: r.injected,
      requests: r.requests,
      wallMs: r.wallMs,
      problems: r.problems,
    })),
    wallMs: Date.now() - started,
  };
  const saved = path.join(os.tmpdir(), `imds-watch-fault-matrix-${FULL ? 'full' : 'reduced'}.json`);
  await writeFile(saved, JSON.stringify(report, null, 1));
  if (FULL && results.length === cells.length) await writeFaultMatrix(report);
  console.log(
    `fault matrix (${FULL ? 'full' : 'reduced'}): ${results.length} cells, ${results.length - failed.length} ok, ${failed.length} failed; ` +
      `${total('publishes')} publishes, ${total('allowedRepeats')} allowed repeats, ${total('late')} late alerts, ${total('redeliveries')} redeliveries, ` +
      `${total('dropped')} dropped events, ${total('injected')} injected faults; ${((Date.now() - started) / MINUTE).toFixed(1)} min. Every cell: ${saved}` +
      (FULL && results.length === cells.length ? '; RELIABILITY.md updated' : ''),
  );
});
