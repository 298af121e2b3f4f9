// runDetection --> (summary) --> a log line, metrics, the CLI's table

import type { TimeWindow } from '../ports.js';
import type { SkipCounts } from '../telemetry/log-event.js';

export interface RunSummary {
  runTime: string;
  window: { start: string; end: string };
  /** True while the model is inside its learning period: observations learned, no alerts. */
  learning: boolean;
  events: { read: number; candidates: number; skipped: SkipCounts };
  observations: number;
  users: number;
  /** (bucket, user) pairs. */
  buckets: number;
  anomalies: {
    /** Scored at or above the threshold after the learning period. */
    found: number;
    /** Of those, recorded for the first time by this run. */
    new: number;
    excepted: number;
    /** Repeats of a user's recent alert, folded into it instead of alerting again. */
    suppressed: number;
    /** Left pending for a later run: held back by the cap, or not accepted by the sink. */
    pending: number;
    publishFailed: number;
    /** Selected, but another run had claimed them. */
    claimedElsewhere: number;
    expired: number;
    /** Would have scored as anomalies but fell inside the learning period. */
    duringLearning: number;
  };
  alerts: { published: string[]; notices: number };
  lag: { maxMs: number; meanMs: number };
  requests: { store: Record<string, number>; sink: Record<string, number> };
}

export function emptyRunSummary(runTime: number, window: TimeWindow): RunSummary {
  return {
    runTime: new Date(runTime).toISOString(),
    window: { start: new Date(window.start).toISOString(), end: new Date(window.end).toISOString() },
    learning: false,
    events: { read: 0, candidates: 0, skipped: {} },
    observations: 0,
    users: 0,
    buckets: 0,
    anomalies: { found: 0, new: 0, excepted: 0, suppressed: 0, pending: 0, publishFailed: 0, claimedElsewhere: 0, expired: 0, duringLearning: 0 },
    alerts: { published: [], notices: 0 },
    lag: { maxMs: 0, meanMs: 0 },
    requests: { store: {}, sink: {} },
  };
}
