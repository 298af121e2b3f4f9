// offline scores of every seed + a target recall --> (threshold sweep) --> the operating point that reaches it
//
// An equal-recall comparison: lower a baseline's threshold from 100 until its pooled recall reaches
// imds-watch's, and report its false alerts there. The highest such threshold is the baseline's
// best case at that recall. Pure.

import { matchAlerts, type QualityLabel } from './alert-matching.js';
import { alertOffline, type AlertingRules, type OfflineScore } from './offline-detectors.js';
import { addCounts, countQuality, emptyCounts, type QualityCounts } from './quality-metrics.js';

export interface SeedScores {
  scores: readonly OfflineScore[];
  rules: Omit<AlertingRules, 'threshold'>;
  labels: readonly QualityLabel[];
  hostDays: number;
}

export interface OperatingPoint {
  threshold: number;
  counts: QualityCounts;
}

/** Pooled counts of every seed at one threshold. */
export function countsAtThreshold(seeds: readonly SeedScores[], threshold: number, bucketMs: number): QualityCounts {
  let pooled = emptyCounts();
  for (const s of seeds) {
    const alerts = alertOffline(s.scores, { ...s.rules, threshold });
    pooled = addCounts(pooled, countQuality(matchAlerts(alerts, s.labels, bucketMs), s.hostDays));
  }
  return pooled;
}

/**
 * The highest threshold (of 100, 99.5, ... down to one step above 0) at which the pooled recall
 * reaches `targetRecall`; undefined when none does. Threshold 0 is left out: it alerts on every
 * user once a window, which is no detector.
 */
export function thresholdForRecall(
  seeds: readonly SeedScores[],
  targetRecall: number,
  bucketMs: number,
  step = 0.5,
): OperatingPoint | undefined {
  for (let i = 0; i * step < 100; i++) {
    const threshold = 100 - i * step;
    const counts = countsAtThreshold(seeds, threshold, bucketMs);
    // A small tolerance: recall is a ratio of integers, and target comes from the same division.
    if (counts.maliciousLabels > 0 && counts.detectedLabels / counts.maliciousLabels >= targetRecall - 1e-9) return { threshold, counts };
  }
  return undefined;
}
