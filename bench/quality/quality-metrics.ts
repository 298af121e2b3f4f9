// MatchResult + host-days --> (counts) --> precision, recall, false alerts per 1,000 host-days, time to alert
//
// Counts are kept raw so that seeds pool by adding them up; the ratios are derived at the end. Pure.

import type { MatchResult } from './alert-matching.js';

export interface QualityCounts {
  alerts: number;
  truePositives: number;
  /** False alerts on a benign-rarity label (explainable) and on unlabelled normal activity. */
  falseOnBenign: number;
  falseUnlabelled: number;
  maliciousLabels: number;
  detectedLabels: number;
  /** Per attack kind: malicious labels and how many of them were detected. */
  perKind: Record<string, { labels: number; detected: number }>;
  /** Host-days after the learning period (the exposure of the false-alert rate). */
  hostDays: number;
  /** Publishing time − label `at`, one per detected label (ms). */
  timeToAlertMs: number[];
}

export interface QualityRates {
  /** True positives / alerts; undefined without alerts. */
  precision?: number;
  /** Detected malicious labels / malicious labels; undefined without labels. */
  recall?: number;
  falseAlerts: number;
  falsePer1000HostDays: number;
  timeToAlertMedianMs?: number;
  timeToAlertMaxMs?: number;
}

export function countQuality(match: MatchResult, hostDays: number): QualityCounts {
  const perKind: QualityCounts['perKind'] = {};
  const timeToAlertMs: number[] = [];
  let detectedLabels = 0;
  for (const d of match.detections) {
    const k = (perKind[d.label.kind] ??= { labels: 0, detected: 0 });
    k.labels++;
    if (d.alertedAt === undefined) continue;
    k.detected++;
    detectedLabels++;
    timeToAlertMs.push(d.alertedAt - d.label.at);
  }
  const verdicts = (v: string): number => match.alerts.filter((a) => a.verdict === v).length;
  return {
    alerts: match.alerts.length,
    truePositives: verdicts('true-positive'),
    falseOnBenign: verdicts('benign-rarity'),
    falseUnlabelled: verdicts('unlabelled'),
    maliciousLabels: match.detections.length,
    detectedLabels,
    perKind,
    hostDays,
    timeToAlertMs,
  };
}

export function emptyCounts(): QualityCounts {
  return {
    alerts: 0,
    truePositives: 0,
    falseOnBenign: 0,
    falseUnlabelled: 0,
    maliciousLabels: 0,
    detectedLabels: 0,
    perKind: {},
    hostDays: 0,
    timeToAlertMs: [],
  };
}

/** Pools counts of several seeds. */
export function addCounts(a: QualityCounts, b: QualityCounts): QualityCounts {
  const perKind: QualityCounts['perKind'] = {};
  for (const source of [a.perKind, b.perKind]) {
    for (const [kind, k] of Object.entries(source)) {
      const into = (perKind[kind] ??= { labels: 0, detected: 0 });
      into.labels += k.labels;
      into.detected += k.detected;
    }
  }
  return {
    alerts: a.alerts + b.alerts,
    truePositives: a.truePositives + b.truePositives,
    falseOnBenign: a.falseOnBenign + b.falseOnBenign,
    falseUnlabelled: a.falseUnlabelled + b.falseUnlabelled,
    maliciousLabels: a.maliciousLabels + b.maliciousLabels,
    detectedLabels: a.detectedLabels + b.detectedLabels,
    perKind,
    hostDays: a.hostDays + b.hostDays,
    timeToAlertMs: [...a.timeToAlertMs, ...b.timeToAlertMs],
  };
}

/** The median of a list (the mean of the middle two when even); undefined when empty. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function qualityRates(c: QualityCounts): QualityRates {
  const falseAlerts = c.falseOnBenign + c.falseUnlabelled;
  const med = median(c.timeToAlertMs);
  return {
    ...(c.alerts > 0 ? { precision: c.truePositives / c.alerts } : {}),
    ...(c.maliciousLabels > 0 ? { recall: c.detectedLabels / c.maliciousLabels } : {}),
    falseAlerts,
    falsePer1000HostDays: c.hostDays > 0 ? (1000 * falseAlerts) / c.hostDays : 0,
    ...(med === undefined ? {} : { timeToAlertMedianMs: med, timeToAlertMaxMs: Math.max(...c.timeToAlertMs) }),
  };
}
