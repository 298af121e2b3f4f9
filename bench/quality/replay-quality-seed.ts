// QualityFleet --> (simulator file, cached) --> replay() (the real pipeline) --> alerts + every scored pair
//
// imds-watch's alerts come from the replay's NDJSON output, exactly as a subscriber would receive
// them. The (bucket, user) pairs every run scored come from its onScore hook, stamped with their run
// time, so that the baselines can be run on exactly the same observations.

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { DetectorConfig } from '../../src/config/detector-config.js';
import { loadReplayInput, replay } from '../../src/replay/replay.js';
import { specVersion, writeFleetNdjson } from '../../src/simulator/sample.js';
import type { QualityAlert, QualityLabel } from './alert-matching.js';
import type { ScoredPair, ScoredRun } from './offline-detectors.js';
import type { QualityFleet } from './quality-fleets.js';

const DAY = 86_400_000;

export interface SeedReplay {
  seed: number;
  hosts: number;
  days: number;
  events: number;
  labels: QualityLabel[];
  /** Start of the first window read and end of the learning period (ms). */
  observedSince: number;
  learningUntil: number;
  /** Host-days after the learning period. */
  hostDays: number;
  alerts: QualityAlert[];
  runs: ScoredRun[];
  seconds: { generate: number; load: number; replay: number };
}

interface CachedFleet {
  version: string;
  events: number;
  from: string;
  to: string;
}

/** The directory where generated quality fleets are kept between bench runs. */
export const qualityCacheDir = (): string => path.join(os.tmpdir(), 'imds-watch-quality-fleets');

/** Writes the fleet's NDJSON once per spec version; later calls reuse it. */
async function fleetFile(fleet: QualityFleet, dir: string): Promise<{ file: string; cached: CachedFleet; generated: boolean }> {
  const version = specVersion(fleet.spec);
  const file = path.join(dir, `${version}.ndjson`);
  const manifest = path.join(dir, `${version}.json`);
  try {
    const cached = JSON.parse(await readFile(manifest, 'utf8')) as CachedFleet;
    if (cached.version === version) return { file, cached, generated: false };
  } catch {
    // not generated yet
  }
  await mkdir(dir, { recursive: true });
  const summary = await writeFleetNdjson(fleet.spec, file, path.join(dir, `${version}.labels.ndjson`));
  const cached: CachedFleet = { version, events: summary.events, from: summary.from, to: summary.to };
  await writeFile(`${manifest}.${process.pid}.tmp`, JSON.stringify(cached));
  await rename(`${manifest}.${process.pid}.tmp`, manifest);
  return { file, cached, generated: true };
}

/** The alerts among the replay's NDJSON lines (notices are not alerts). */
export function alertsFromNdjson(lines: readonly string[]): QualityAlert[] {
  const alerts: QualityAlert[] = [];
  for (const line of lines) {
    if (line.trim() === '') continue;
    const m = JSON.parse(line) as {
      '@timestamp': string;
      event: { kind: string };
      user?: { name: string };
      host?: { name: string };
      related?: { hosts?: string[] };
      anomaly?: { score: number; bucket_start: string };
    };
    if (m.event.kind !== 'alert' || !m.user || !m.host || !m.anomaly) continue;
    alerts.push({
      user: m.user.name,
      hosts: [...new Set([m.host.name, ...(m.related?.hosts ?? [])])],
      bucketStart: Date.parse(m.anomaly.bucket_start),
      publishedAt: Date.parse(m['@timestamp']),
      score: m.anomaly.score,
    });
  }
  return alerts;
}

export async function replayQualitySeed(fleet: QualityFleet, config: DetectorConfig, dir = qualityCacheDir()): Promise<SeedReplay> {
  let t = performance.now();
  const { file, cached, generated } = await fleetFile(fleet, dir);
  const generate = generated ? (performance.now() - t) / 1000 : 0;

  t = performance.now();
  const input = await loadReplayInput([file], { config });
  const load = (performance.now() - t) / 1000;

  let text = '';
  const out = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      text += chunk.toString('utf8');
      done();
    },
  });
  const runs: ScoredRun[] = [];
  let pending: ScoredPair[] = [];
  t = performance.now();
  const result = await replay({
    input,
    from: Date.parse(cached.from),
    to: Date.parse(cached.to),
    config,
    out,
    onScore: (s) => pending.push({ user: s.user, bucketStart: s.bucketStart, hosts: s.hosts }),
    onRun: (summary) => {
      runs.push({ runTime: Date.parse(summary.runTime), pairs: pending });
      pending = [];
    },
  });
  const replaySeconds = (performance.now() - t) / 1000;
  if (result.learningUntil === undefined) throw new Error(`seed ${fleet.seed}: the replay made no runs`);
  const end = fleet.spec.start + fleet.spec.days * DAY;
  return {
    seed: fleet.seed,
    hosts: fleet.spec.hosts.length,
    days: fleet.spec.days,
    events: cached.events,
    labels: fleet.labels,
    observedSince: result.learningUntil - config.learningPeriodMs,
    learningUntil: result.learningUntil,
    hostDays: (fleet.spec.hosts.length * Math.max(0, end - result.learningUntil)) / DAY,
    alerts: alertsFromNdjson(text.split('\n')),
    runs,
    seconds: { generate, load, replay: replaySeconds },
  };
}
