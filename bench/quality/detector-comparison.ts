// SeedReplay[] --> (imds-watch's alerts; baselines and the model re-run offline) --> counts per detector
//
// imds-watch's numbers are its published alerts, as replayed. The baselines are scored offline on
// the pairs the replay scored, with the same learning period, memory and one-alert-per-user-per-24h
// suppression. The model is also re-run offline through the same harness: when that reproduces the
// replay's alerts exactly, the harness treats every detector alike (a check, reported). Pure.

import { scoreBucket } from '../../src/model/rare-user-model.js';
import { matchAlerts, type MatchedAlert, type QualityAlert, type QualityLabel } from './alert-matching.js';
import { alertOffline, frequencyScore, neverSeenScore, scoreRuns, type OfflineScore, type Scorer, type ScoredRun, type ScoringContext } from './offline-detectors.js';
import { countQuality, type QualityCounts } from './quality-metrics.js';

export const DETECTORS = ['imds-watch', 'never-seen', 'frequency'] as const;
export type DetectorName = (typeof DETECTORS)[number];

/** What the comparison needs of one replayed seed. */
export interface ReplayedSeed {
  seed: number;
  labels: readonly QualityLabel[];
  observedSince: number;
  learningUntil: number;
  hostDays: number;
  alerts: readonly QualityAlert[];
  runs: readonly ScoredRun[];
}

export interface ComparisonSettings {
  /** imds-watch's threshold; the frequency baseline uses the same (both are 0 to 100). */
  threshold: number;
  memoryMs: number;
  bucketMs: number;
  suppressionMs: number;
}

/** The model's own score, through the same offline harness as the baselines. */
export const modelScore: Scorer = (bucketStart, history, { observedSince, memoryMs }) =>
  scoreBucket({ bucketStart, history, observedSince }, { memoryMs }).score;

export interface SeedComparison {
  seed: number;
  counts: Record<DetectorName, QualityCounts>;
  matched: Record<DetectorName, MatchedAlert[]>;
  /** Offline scores of the baselines, kept for the equal-recall sweep. */
  scores: { 'never-seen': OfflineScore[]; frequency: OfflineScore[]; model: OfflineScore[] };
  /** The model re-run offline at the threshold published exactly the replay's alerts. */
  harnessReproducesReplay: boolean;
}

const alertKey = (a: QualityAlert): string => `${a.user}\u0000${a.bucketStart}\u0000${a.publishedAt}`;

export function compareDetectors(seed: ReplayedSeed, settings: ComparisonSettings): SeedComparison {
  const context: ScoringContext = { observedSince: seed.observedSince, memoryMs: settings.memoryMs, bucketMs: settings.bucketMs };
  const rules = { learningUntil: seed.learningUntil, suppressionMs: settings.suppressionMs };
  const scores = {
    'never-seen': scoreRuns(seed.runs, neverSeenScore, context),
    frequency: scoreRuns(seed.runs, frequencyScore, context),
  };
  const alerts: Record<DetectorName, readonly QualityAlert[]> = {
    'imds-watch': seed.alerts,
    'never-seen': alertOffline(scores['never-seen'], { ...rules, threshold: settings.threshold }),
    frequency: alertOffline(scores.frequency, { ...rules, threshold: settings.threshold }),
  };
  const model = scoreRuns(seed.runs, modelScore, context);
  const offlineModel = alertOffline(model, { ...rules, threshold: settings.threshold });
  const replayed = new Set(seed.alerts.map(alertKey));
  const harnessReproducesReplay = offlineModel.length === seed.alerts.length && offlineModel.every((a) => replayed.has(alertKey(a)));

  const matched = {} as Record<DetectorName, MatchedAlert[]>;
  const counts = {} as Record<DetectorName, QualityCounts>;
  for (const name of DETECTORS) {
    const m = matchAlerts(alerts[name], seed.labels, settings.bucketMs);
    matched[name] = m.alerts;
    counts[name] = countQuality(m, seed.hostDays);
  }
  return { seed: seed.seed, counts, matched, scores: { ...scores, model }, harnessReproducesReplay };
}
