// replay --> (onScore for every scored (bucket, user), the published alerts) --> ReplayReportData
//
// Memory is proportional to the (user, bucket) pairs seen, which is fine for replay sizes. A bucket
// is scored by every run whose look-back covers it (three with the defaults); the report keeps one
// entry per (user, bucket): the highest score, the most calls, every host.

import { anomalyEventId } from '../alerts/event-id.js';
import type { ScoredBucket } from '../run/run-detection.js';
import type { ReplayReportData, ReportBucket, ReportUser } from './replay-report.js';

interface Entry {
  score: number;
  calls: number;
  hosts: Set<string>;
  anomaly: boolean;
  learning: boolean;
}

export interface ReportCollector {
  /** Pass as `onScore` to the replay. */
  onScore(scored: ScoredBucket): void;
  /** (user, bucket) pairs held so far. */
  readonly size: number;
  build(meta: ReportMeta): ReplayReportData;
}

/** What the replay knows at its end, beside the scored buckets. */
export interface ReportMeta {
  from: number;
  to: number;
  runs: number;
  /** Undefined when no run happened. */
  learningUntil?: number;
  eventsLoaded: number;
  eventsRead: number;
  observations: number;
  /** Anomalies recorded (new), all runs. */
  anomalies: number;
  /** The alerts published, as the replay's totals list them. */
  alerts: readonly { id: string; user: string; bucketStart: string; score: number }[];
  inputs: readonly string[];
}

export interface CollectorOptions {
  /** The rule whose event ids the alerts carry (the ids are derived from rule, user and bucket). */
  ruleId: string;
  threshold: number;
  bucketMs: number;
  memoryMs: number;
  learningPeriodMs: number;
}

export function createReportCollector(options: CollectorOptions): ReportCollector {
  const users = new Map<string, Map<number, Entry>>();
  let size = 0;
  return {
    onScore(s) {
      let buckets = users.get(s.user);
      if (!buckets) {
        buckets = new Map();
        users.set(s.user, buckets);
      }
      const entry = buckets.get(s.bucketStart);
      if (!entry) {
        buckets.set(s.bucketStart, { score: s.score, calls: s.calls, hosts: new Set(s.hosts), anomaly: s.anomaly, learning: s.learning });
        size++;
        return;
      }
      entry.score = Math.max(entry.score, s.score);
      entry.calls = Math.max(entry.calls, s.calls);
      for (const h of s.hosts) entry.hosts.add(h);
      entry.anomaly ||= s.anomaly;
      entry.learning = s.learning;
    },
    get size() {
      return size;
    },
    build(meta) {
      const published = new Set(meta.alerts.map((a) => a.id));
      const matched = new Set<string>();
      const reportUsers: ReportUser[] = [];
      for (const [user, buckets] of users) {
        const list: ReportBucket[] = [];
        for (const [bucketStart, e] of [...buckets].sort(([a], [b]) => a - b)) {
          const b: ReportBucket = { bucketStart, score: e.score, calls: e.calls, hosts: [...e.hosts].sort(), anomaly: e.anomaly, learning: e.learning, published: false };
          if (e.score >= options.threshold) {
            // Anomalies, and buckets that would have been one but for the learning period.
            const id = anomalyEventId(options.ruleId, user, bucketStart);
            b.id = id;
            if (published.has(id)) {
              b.published = true;
              matched.add(id);
            }
          }
          list.push(b);
        }
        reportUsers.push({ user, buckets: list });
      }
      return {
        from: meta.from,
        to: meta.to,
        bucketMs: options.bucketMs,
        memoryMs: options.memoryMs,
        learningPeriodMs: options.learningPeriodMs,
        threshold: options.threshold,
        ...(meta.learningUntil === undefined ? {} : { learningUntil: meta.learningUntil }),
        runs: meta.runs,
        eventsLoaded: meta.eventsLoaded,
        eventsRead: meta.eventsRead,
        observations: meta.observations,
        anomalies: meta.anomalies,
        alertsPublished: meta.alerts.length,
        // Published for buckets scored before this replay (a pending anomaly carried in --state).
        otherAlerts: meta.alerts
          .filter((a) => !matched.has(a.id))
          .map((a) => ({ id: a.id, user: a.user, bucketStart: Date.parse(a.bucketStart), score: a.score })),
        inputs: [...meta.inputs],
        users: reportUsers,
      };
    },
  };
}
