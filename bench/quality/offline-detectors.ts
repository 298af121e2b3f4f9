// the replay's scored (bucket, user) pairs, run by run --> (a scorer + the same alerting rules) --> alerts
//
// The baselines see exactly what imds-watch's model saw: the (bucket, user) pairs each replay run
// scored (its onScore hook), with their hosts. They keep their own history the way the store does
// (score against the buckets learned by earlier runs, then learn this run's), and alert the way
// imds-watch does: at or above a threshold, after the learning period, once per (bucket, user), and
// a user's repeats within the suppression window fold into its first alert. So a comparison is
// about the scores alone. Pure.

import type { QualityAlert } from './alert-matching.js';

/** One (bucket, user) a run scored, as the replay's onScore hook reports it. */
export interface ScoredPair {
  user: string;
  bucketStart: number;
  hosts: readonly string[];
}

export interface ScoredRun {
  runTime: number;
  pairs: readonly ScoredPair[];
}

export interface ScoringContext {
  /** Start of the earliest window the detector read (ms). */
  observedSince: number;
  memoryMs: number;
  bucketMs: number;
}

/**
 * Scores one (bucket, user) from the user's history: the buckets learned before this run,
 * ascending, without duplicates (possibly including buckets at or after this one, which a scorer
 * must ignore: a bucket is never its own history).
 */
export type Scorer = (bucketStart: number, history: readonly number[], context: ScoringContext) => number;

/** Index of the first element >= value in an ascending list. */
function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Buckets of the history within memory and strictly before the bucket. */
export function bucketsInMemoryBefore(bucketStart: number, history: readonly number[], memoryMs: number): number {
  return lowerBound(history, bucketStart) - lowerBound(history, bucketStart - memoryMs);
}

/** Baseline 1, "never seen": 100 for a user with no bucket in memory before this one, else 0. */
export const neverSeenScore: Scorer = (bucketStart, history, { memoryMs }) =>
  bucketsInMemoryBefore(bucketStart, history, memoryMs) === 0 ? 100 : 0;

/**
 * Baseline 2, plain per-bucket frequency: 100 × (1 − seen buckets / observed buckets) over the
 * memory, where observed buckets are those the detector has read before this one (at least 1).
 */
export const frequencyScore: Scorer = (bucketStart, history, { observedSince, memoryMs, bucketMs }) => {
  const seen = bucketsInMemoryBefore(bucketStart, history, memoryMs);
  const observed = Math.max(1, Math.ceil((bucketStart - Math.max(observedSince, bucketStart - memoryMs)) / bucketMs));
  return 100 * (1 - Math.min(1, seen / observed));
};

/** A scored pair with the run that scored it (a pair is scored by every run whose window holds it). */
export interface OfflineScore {
  runTime: number;
  user: string;
  bucketStart: number;
  hosts: readonly string[];
  score: number;
}

/**
 * Scores every pair of every run against the history learned by the runs before it. The history
 * does not depend on the threshold, so a threshold sweep scores once and alerts many times.
 */
export function scoreRuns(runs: readonly ScoredRun[], scorer: Scorer, context: ScoringContext): OfflineScore[] {
  const history = new Map<string, number[]>();
  const scores: OfflineScore[] = [];
  for (const run of [...runs].sort((a, b) => a.runTime - b.runTime)) {
    for (const p of run.pairs) {
      scores.push({ runTime: run.runTime, user: p.user, bucketStart: p.bucketStart, hosts: p.hosts, score: scorer(p.bucketStart, history.get(p.user) ?? [], context) });
    }
    for (const p of run.pairs) {
      const h = history.get(p.user) ?? [];
      const at = lowerBound(h, p.bucketStart);
      if (h[at] !== p.bucketStart) h.splice(at, 0, p.bucketStart);
      history.set(p.user, h);
    }
  }
  return scores;
}

export interface AlertingRules {
  threshold: number;
  /** No alerts on buckets before this (ms). */
  learningUntil: number;
  /** One alert per user within this window of its last alert's bucket (ms). */
  suppressionMs: number;
}

/**
 * imds-watch's alerting rules over offline scores (in run order): the first run that scores a
 * (bucket, user) at or above the threshold records it once; a repeat of the user's last alert
 * within the suppression window is folded into it; anything else is published at that run.
 */
export function alertOffline(scores: readonly OfflineScore[], rules: AlertingRules): QualityAlert[] {
  const recorded = new Set<string>();
  const lastAlertBucket = new Map<string, number>();
  const alerts: QualityAlert[] = [];
  for (const s of scores) {
    if (s.score < rules.threshold || s.bucketStart < rules.learningUntil) continue;
    const key = `${s.bucketStart}\u0000${s.user}`;
    if (recorded.has(key)) continue;
    recorded.add(key);
    const last = lastAlertBucket.get(s.user);
    if (last !== undefined && s.bucketStart >= last && s.bucketStart - last < rules.suppressionMs) continue;
    lastAlertBucket.set(s.user, s.bucketStart);
    alerts.push({ user: s.user, hosts: s.hosts, bucketStart: s.bucketStart, publishedAt: s.runTime, score: s.score });
  }
  return alerts;
}
