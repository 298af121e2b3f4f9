import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { ReplayTelemetrySource } from '../../../src/adapters/replay-telemetry-source.js';
import { createEndpointCatalogue } from '../../../src/endpoints/endpoint-catalogue.js';
import { auditEventToObservation, type AuditRecordEvent } from '../../../src/telemetry/auditd/audit-event.js';
import { parseAuditRecord } from '../../../src/telemetry/auditd/audit-record.js';
import { ecsToObservation } from '../../../src/telemetry/ecs/ecs-document.js';
import type { LogEvent } from '../../../src/telemetry/log-event.js';
import { createPrefilter } from '../../../src/telemetry/prefilter.js';
import { readWindow } from '../../../src/telemetry/read-window.js';
import { defaultSampleSpec, simulateFleet, type FleetSpec } from '../../../src/simulator/fleet-simulator.js';
import { toCloudWatchJson, writeFleetNdjson } from '../../../src/simulator/sample.js';
import { groundTruth, scaleFleetSpec, type GroundTruthLabel } from '../../../src/simulator/scale-fleet.js';
import { workloadRuns } from '../../../src/simulator/workload-schedule.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

function events(spec: FleetSpec): LogEvent[] {
  return Array.from(simulateFleet(spec), (s) => s.event);
}

function ndjsonHash(spec: FleetSpec): { lines: number; sha256: string } {
  const h = createHash('sha256');
  let lines = 0;
  for (const { event } of simulateFleet(spec)) {
    h.update(toCloudWatchJson(event) + '\n');
    lines++;
  }
  return { lines, sha256: h.digest('hex') };
}

/** Share of CloudWatch events the detector's own parsers do not turn into a metadata call. */
function measuredNonMetadataShare(all: readonly LogEvent[]): number {
  const catalogue = createEndpointCatalogue();
  const auditd = new Map<string, AuditRecordEvent[]>();
  let metadata = 0;
  for (const event of all) {
    if (event.message.startsWith('{')) {
      const o = ecsToObservation(JSON.parse(event.message), event, catalogue);
      if (o !== undefined && typeof o !== 'string') metadata++;
      continue;
    }
    const record = parseAuditRecord(event.message);
    if (!record) throw new Error(`unparsable auditd line ${event.message}`);
    const key = `${event.logStream}|${record.node}|${record.auditId}`;
    const group = auditd.get(key) ?? [];
    group.push({ record, event });
    auditd.set(key, group);
  }
  for (const group of auditd.values()) {
    const o = auditEventToObservation(group, catalogue);
    if (o !== undefined && typeof o !== 'string') metadata += group.length;
  }
  return 1 - metadata / all.length;
}

describe('the README sample', () => {
  it('is byte-identical to the sample before the scale fleet existed', () => {
    // Recorded before scale fleets were added: the sample must never change for the same spec.
    // The hash covers every line and the attack label of each labelled event.
    const h = createHash('sha256');
    let lines = 0;
    for (const { event, label } of simulateFleet(defaultSampleSpec())) {
      h.update(toCloudWatchJson(event) + (label ? `#${label.attack}` : '') + '\n');
      lines++;
    }
    expect({ lines, sha256: h.digest('hex') }).toEqual({ lines: 69158, sha256: 'd23aeb88a5d143545ec034832ad18dc9b5cbf4e97200e9a7a93691b2780f4925' });
  });
});

describe('scaleFleetSpec', () => {
  it('gives the same bytes for the same seed and different bytes for another seed', () => {
    const options = { hosts: 6, days: 0.25, nonMetadataShare: 0.9, attacks: 0 };
    const a = ndjsonHash(scaleFleetSpec({ seed: 1, ...options }));
    expect(ndjsonHash(scaleFleetSpec({ seed: 1, ...options }))).toEqual(a);
    expect(ndjsonHash(scaleFleetSpec({ seed: 2, ...options })).sha256).not.toBe(a.sha256);
    expect(groundTruth(scaleFleetSpec({ seed: 1, hosts: 20, days: 5 }))).toEqual(groundTruth(scaleFleetSpec({ seed: 1, hosts: 20, days: 5 })));
  });

  it('mixes the four formats, host roles and named hosts, with plain auditd hosts known only by instance id', () => {
    const spec = scaleFleetSpec({ seed: 3, hosts: 16, days: 1 });
    expect(new Set(spec.hosts.map((h) => h.format))).toEqual(new Set(['auditd', 'auditd-enriched', 'ecs-defend', 'auditbeat']));
    for (const h of spec.hosts) expect(h.name).toMatch(/^ip-10-\d+-\d+-\d+$/);
    const kinds = new Set(spec.hosts.flatMap((h) => h.workloads!.map((w) => w.kind)));
    expect(kinds).toEqual(new Set(['ssm-agent', 'cloudwatch-agent', 'monitoring-agent', 'sdk-refresh', 'human-cli', 'weekly-job', 'ecs-tasks', 'one-off-script']));
    const plain = spec.hosts.filter((h) => h.format === 'auditd');
    expect(plain.some((h) => h.auditdNode)).toBe(true);
    expect(plain.some((h) => !h.auditdNode)).toBe(true);
  });

  it.each([0.99, 0.5, 0])('generates a non-metadata share within 1 point of %s', (share) => {
    const spec = scaleFleetSpec({ seed: 11, hosts: 4, days: share > 0.9 ? 0.25 : 1, nonMetadataShare: share, attacks: 0, benignRarities: false });
    const measured = measuredNonMetadataShare(events(spec));
    expect(Math.abs(measured - share)).toBeLessThanOrEqual(0.01);
  });

  it('runs the people\'s CLI on working days only and the weekly job on Sunday night', () => {
    const w = { kind: 'human-cli' as const, user: 'bob', uid: 1101 };
    const start = Date.UTC(2026, 10, 2);
    const days = new Set([...workloadRuns(5, 'h', 0, w, start, start + 14 * DAY)].map((r) => new Date(r.start).getUTCDay()));
    expect(days).toEqual(new Set([1, 2, 3, 4, 5]));
    const weekly = [...workloadRuns(5, 'h', 1, { kind: 'weekly-job', user: 'backup', uid: 34 }, start, start + 14 * DAY)];
    expect(weekly.map((r) => [new Date(r.start).getUTCDay(), new Date(r.start).getUTCHours()])).toEqual([
      [0, 23],
      [0, 23],
    ]);
  });
});

describe('the ground truth', () => {
  // Friday to Monday: the weekly job's first run falls inside, and the scenarios after day 2.
  const spec = scaleFleetSpec({ seed: 21, hosts: 8, days: 3, start: Date.UTC(2026, 10, 6), nonMetadataShare: 0.5, attacks: 7 });
  const labels = groundTruth(spec);

  it('labels every attack scenario and benign rarity once, with unique labels', () => {
    expect(new Set(labels.map((l) => l.label)).size).toBe(labels.length);
    const malicious = new Set(labels.filter((l) => l.malicious).map((l) => l.kind));
    expect(malicious).toEqual(
      new Set(['web-shell', 'backdoor-user', 'ipv6-imds', 'ecs-task-credential-theft', 'gcp-metadata', 'dormant-account', 'misused-regular-caller']),
    );
    const benign = new Set(labels.filter((l) => !l.malicious).map((l) => l.kind));
    expect(benign).toEqual(new Set(['service-rollout', 'admin-one-off', 'new-app-deploy', 'weekly-job-first-run']));
    for (const l of labels.filter((x) => x.malicious)) expect(l.at).toBeGreaterThanOrEqual(spec.start + 1.5 * DAY);
  });

  it('names each scenario\'s user and host exactly as the detector reports them, within [at, until]', async () => {
    const all = events(spec);
    const catalogue = createEndpointCatalogue();
    const reading = await readWindow(
      new ReplayTelemetrySource(all),
      { start: spec.start, end: spec.start + spec.days * DAY + HOUR },
      catalogue,
      createPrefilter(catalogue),
    );
    const seen = (l: GroundTruthLabel): number =>
      reading.observations.filter((o) => o.user.name === l.user && o.host === l.host && o.time >= l.at && o.time <= l.until).length;
    for (const l of labels) expect({ label: l.label, seen: seen(l) > 0 }).toEqual({ label: l.label, seen: true });
    // Plain auditd carries only uids: those labels say `uid:N` (or root) and the instance id when no node= is written.
    const plain = new Set(spec.hosts.filter((h) => h.format === 'auditd').flatMap((h) => [h.name, h.instanceId]));
    for (const l of labels.filter((x) => plain.has(x.host))) expect(l.user).toMatch(/^(root|uid:\d+)$/);
  });

  it('is written as the label file of a scale fleet', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imds-watch-scale-'));
    try {
      const small = scaleFleetSpec({ seed: 4, hosts: 4, days: 0.5, nonMetadataShare: 0, attacks: [{ at: Date.UTC(2026, 10, 2, 6), host: 'ip-10-1-0-0', user: 'www-data', uid: 33, kind: 'curl-credentials', label: 'x' }] });
      const summary = await writeFleetNdjson(small, path.join(dir, 'f.ndjson'), path.join(dir, 'f.labels.ndjson'));
      const text = await readFile(path.join(dir, 'f.labels.ndjson'), 'utf8');
      expect(text.trimEnd().split('\n').map((l) => JSON.parse(l) as GroundTruthLabel)).toEqual(groundTruth(small));
      expect(summary.labelledEvents).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
