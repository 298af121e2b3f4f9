import { describe, expect, it } from 'vitest';
import type { QualityLabel } from '../../../../bench/quality/alert-matching.js';
import { compareDetectors, modelScore } from '../../../../bench/quality/detector-comparison.js';
import { countsAtThreshold, thresholdForRecall } from '../../../../bench/quality/equal-recall.js';
import { highestScoreOfLabel } from '../../../../bench/quality/label-scores.js';
import {
  alertOffline,
  bucketsInMemoryBefore,
  frequencyScore,
  neverSeenScore,
  scoreRuns,
  type ScoredRun,
} from '../../../../bench/quality/offline-detectors.js';
import { alertsFromNdjson } from '../../../../bench/quality/replay-quality-seed.js';

const BUCKET = 15 * 60_000;
const DAY = 86_400_000;
const MEMORY = 30 * DAY;
const T0 = Date.parse('2026-11-02T00:00:00Z');
const context = { observedSince: T0, memoryMs: MEMORY, bucketMs: BUCKET };
const rules = { learningUntil: T0 + DAY, suppressionMs: DAY };

/** Runs every 15 minutes over [t - 45m, t), each scoring the pairs of its window, as the replay does. */
function runsOf(pairs: { user: string; bucketStart: number; host?: string }[], until: number): ScoredRun[] {
  const runs: ScoredRun[] = [];
  for (let t = T0 + BUCKET; t <= until; t += BUCKET) {
    runs.push({
      runTime: t,
      pairs: pairs.filter((p) => p.bucketStart >= t - 3 * BUCKET && p.bucketStart < t).map((p) => ({ user: p.user, bucketStart: p.bucketStart, hosts: [p.host ?? 'h1'] })),
    });
  }
  return runs;
}

/** root in every bucket; `extra` pairs on top. */
function fleet(days: number, extra: { user: string; bucketStart: number; host?: string }[]): ScoredRun[] {
  const pairs: { user: string; bucketStart: number; host?: string }[] = [];
  for (let b = T0; b < T0 + days * DAY; b += BUCKET) pairs.push({ user: 'root', bucketStart: b });
  return runsOf([...pairs, ...extra].sort((a, b) => a.bucketStart - b.bucketStart), T0 + days * DAY);
}

describe('baseline scores', () => {
  it('counts only history within memory and strictly before the bucket', () => {
    const b = T0 + 40 * DAY;
    expect(bucketsInMemoryBefore(b, [b - 31 * DAY, b - 30 * DAY, b - DAY, b, b + BUCKET], MEMORY)).toBe(2);
  });

  it('never-seen: 100 for a user without a bucket in memory before this one, else 0', () => {
    const b = T0 + 2 * DAY;
    expect(neverSeenScore(b, [], context)).toBe(100);
    expect(neverSeenScore(b, [b, b + BUCKET], context)).toBe(100); // the bucket is never its own history
    expect(neverSeenScore(b, [b - DAY], context)).toBe(0);
  });

  it('frequency: 100 × (1 − seen buckets / observed buckets)', () => {
    const b = T0 + DAY; // 96 buckets observed
    expect(frequencyScore(b, [], context)).toBe(100);
    expect(frequencyScore(b, Array.from({ length: 24 }, (_, i) => T0 + i * BUCKET), context)).toBe(75);
    expect(frequencyScore(b, Array.from({ length: 96 }, (_, i) => T0 + i * BUCKET), context)).toBe(0);
    // Observed buckets are capped by the memory.
    const late = T0 + 60 * DAY;
    expect(frequencyScore(late, Array.from({ length: 30 * 48 }, (_, i) => late - MEMORY + 2 * i * BUCKET), context)).toBe(50);
  });
});

describe('offline alerting, as imds-watch alerts', () => {
  it('scores each run against what earlier runs learned, so a pair rescored by later runs keeps its first score', () => {
    const b = T0 + 2 * DAY;
    const scores = scoreRuns(fleet(3, [{ user: 'www-data', bucketStart: b }]), neverSeenScore, context).filter((s) => s.user === 'www-data');
    // Three runs see the bucket; the first scores it as new, the later ones have learned it but ignore it.
    expect(scores.map((s) => [s.runTime - b, s.score])).toEqual([
      [BUCKET, 100],
      [2 * BUCKET, 100],
      [3 * BUCKET, 100],
    ]);
  });

  it('alerts once per (bucket, user), at the first run that scores it, only after the learning period', () => {
    const during = T0 + 12 * 3_600_000;
    const after = T0 + 2 * DAY;
    const alerts = alertOffline(scoreRuns(fleet(3, [{ user: 'early', bucketStart: during }, { user: 'www-data', bucketStart: after }]), neverSeenScore, context), { ...rules, threshold: 75 });
    expect(alerts).toEqual([{ user: 'www-data', hosts: ['h1'], bucketStart: after, publishedAt: after + BUCKET, score: 100 }]);
  });

  it('folds a user\'s new alerts within the suppression window into its first', () => {
    const first = T0 + 2 * DAY;
    const extra = [0, 2, 40, 95, 96].map((k) => ({ user: 'deploy', bucketStart: first + k * BUCKET }));
    // frequency keeps scoring a rare user high, so every bucket is an anomaly; only 0 and 96 (24 h later) alert.
    const alerts = alertOffline(scoreRuns(fleet(4, extra), frequencyScore, context), { ...rules, threshold: 75 });
    expect(alerts.map((a) => (a.bucketStart - first) / BUCKET)).toEqual([0, 96]);
  });

  it('reproduces the model through the same harness: a new user alerts, a regular one does not', () => {
    const b = T0 + 2 * DAY + 40 * BUCKET;
    const alerts = alertOffline(scoreRuns(fleet(3, [{ user: 'www-data', bucketStart: b }]), modelScore, context), { ...rules, threshold: 75 });
    expect(alerts.map((a) => a.user)).toEqual(['www-data']);
  });
});

describe('detector comparison', () => {
  const attackAt = T0 + 2 * DAY + 10 * BUCKET;
  const labels: QualityLabel[] = [
    { label: 'web-shell-1', malicious: true, kind: 'web-shell', host: 'h1', user: 'www-data', at: attackAt + 60_000, until: attackAt + 120_000 },
    // Seen once during learning, then again: never-seen and the model stay quiet, frequency does not.
    { label: 'dormant-account-2', malicious: true, kind: 'dormant-account', host: 'h1', user: 'deploy', at: T0 + 2 * DAY + 50 * BUCKET, until: T0 + 2 * DAY + 50 * BUCKET + 60_000 },
  ];
  const runs = fleet(3, [
    { user: 'deploy', bucketStart: T0 + 4 * BUCKET },
    { user: 'www-data', bucketStart: attackAt },
    { user: 'deploy', bucketStart: T0 + 2 * DAY + 50 * BUCKET },
    { user: 'oscar', bucketStart: T0 + 2 * DAY + 70 * BUCKET },
  ]);
  const seed = {
    seed: 7,
    labels,
    observedSince: T0,
    learningUntil: T0 + DAY,
    hostDays: 2,
    // What the replay published (the model at 75): the web shell and oscar.
    alerts: [
      { user: 'www-data', hosts: ['h1'], bucketStart: attackAt, publishedAt: attackAt + BUCKET, score: 75.9 },
      { user: 'oscar', hosts: ['h1'], bucketStart: T0 + 2 * DAY + 70 * BUCKET, publishedAt: T0 + 2 * DAY + 71 * BUCKET, score: 75.9 },
    ],
    runs,
  };
  const settings = { threshold: 75, memoryMs: MEMORY, bucketMs: BUCKET, suppressionMs: DAY };

  it('counts every detector on the same pairs and checks the harness against the replay', () => {
    const c = compareDetectors(seed, settings);
    expect(c.harnessReproducesReplay).toBe(true);
    expect(c.counts['imds-watch']).toMatchObject({ truePositives: 1, falseUnlabelled: 1, detectedLabels: 1 });
    expect(c.counts['never-seen']).toMatchObject({ truePositives: 1, falseUnlabelled: 1, detectedLabels: 1 });
    expect(c.counts.frequency).toMatchObject({ truePositives: 2, detectedLabels: 2 });
    expect(c.counts.frequency.falseUnlabelled).toBeGreaterThanOrEqual(1);
    expect(highestScoreOfLabel(c.scores.model, labels[1] as QualityLabel, BUCKET)).toBeLessThan(75);
  });

  it('notices when the replay published something the harness would not', () => {
    const c = compareDetectors({ ...seed, alerts: seed.alerts.slice(0, 1) }, settings);
    expect(c.harnessReproducesReplay).toBe(false);
  });

  it('finds the highest threshold that reaches a recall, or none', () => {
    const c = compareDetectors(seed, settings);
    const seeds = [{ scores: c.scores.frequency, rules, labels, hostDays: 2 }];
    const point = thresholdForRecall(seeds, 1, BUCKET);
    expect(point?.counts.detectedLabels).toBe(2);
    // Just above it, the recall falls short.
    expect(countsAtThreshold(seeds, (point?.threshold ?? 0) + 0.5, BUCKET).detectedLabels).toBeLessThan(2);
    expect(thresholdForRecall([{ scores: c.scores['never-seen'], rules, labels, hostDays: 2 }], 1, BUCKET)).toBeUndefined();
  });
});

describe('reading the replay output', () => {
  it('takes alerts (not notices) with their hosts, bucket, score and publishing time', () => {
    const lines = [
      JSON.stringify({
        '@timestamp': '2026-11-05T10:30:00.000Z',
        event: { kind: 'alert' },
        user: { name: 'www-data' },
        host: { name: 'h1' },
        related: { hosts: ['h1', 'h2'] },
        anomaly: { score: 80.1, bucket_start: '2026-11-05T10:00:00.000Z' },
      }),
      JSON.stringify({ '@timestamp': '2026-11-05T10:30:00.000Z', event: { kind: 'notice' } }),
      '',
    ];
    expect(alertsFromNdjson(lines)).toEqual([
      { user: 'www-data', hosts: ['h1', 'h2'], bucketStart: Date.parse('2026-11-05T10:00:00Z'), publishedAt: Date.parse('2026-11-05T10:30:00Z'), score: 80.1 },
    ]);
  });
});
