// functions/detect.ts (middy) --> (detect job) --> runScheduled --> ports
//
// Everything the scheduled Lambda does, with its dependencies passed in, so that it is tested
// without module mocks: time budget, catch-up, structured logs and metrics per run.

import { ConfigError } from '../errors.js';
import type { AggregatedTelemetrySource, AlertSink, BaselineStore, TelemetrySource } from '../ports.js';
import type { Detector } from '../run/run-detection.js';
import { runScheduled, type ScheduledResult } from '../run/run-scheduled.js';
import type { RunSummary } from '../run/run-summary.js';

/** The scheduled event's fields this job reads (EventBridge `Scheduled Event`). */
export interface DetectEvent {
  time?: string;
  /** The shard this schedule runs (the rule's constant input `{"shard": i}`); absent: 0. */
  shard?: unknown;
}

export interface DetectContext {
  awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

export interface JobLogger {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
}

export interface JobMetrics {
  addMetric(name: string, unit: 'Count' | 'Milliseconds' | 'Bytes', value: number): void;
}

/** A source built per invocation, with that invocation's deadline. */
export type InvocationTelemetry = TelemetrySource & {
  readonly missingLogGroups?: readonly string[];
  requestCounts?(): Record<string, number>;
};

export interface DetectJobDeps {
  detector: Detector;
  store: BaselineStore;
  alerts: AlertSink;
  telemetryFor(deadline: number): InvocationTelemetry;
  /**
   * Logs Insights mode: the aggregating source of one shard's log groups, with the invocation's
   * deadline. Absent: the FilterLogEvents mode.
   */
  aggregatedFor?(deadline: number, shard: number): AggregatedTelemetrySource & { requestCounts?(): Record<string, number> };
  /** The store keeping this shard's checkpoint and health (shared baselines). @default `store` for every shard */
  storeFor?(shard: number): BaselineStore;
  logger: JobLogger;
  metrics: JobMetrics;
  now(): number;
  maxCatchUpRuns: number;
  /** Time kept in hand before the function's timeout. @default 30 s */
  safetyMarginMs?: number;
}

export interface DetectResult {
  runTime: string;
  runs: number;
  published: number;
  pending: number;
  deferredRuns: number;
  uncoveredGapMs: number;
  missingLogGroups: string[];
}

const sum = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

function recordRun(metrics: JobMetrics, summary: RunSummary): void {
  metrics.addMetric('EventsRead', 'Count', summary.events.read);
  metrics.addMetric('Observations', 'Count', summary.observations);
  metrics.addMetric('Anomalies', 'Count', summary.anomalies.new);
  metrics.addMetric('AlertsPublished', 'Count', summary.alerts.published.length);
  metrics.addMetric('AlertsPending', 'Count', summary.anomalies.pending);
  metrics.addMetric('SkippedEvents', 'Count', sum(summary.events.skipped as Record<string, number>));
  metrics.addMetric('IngestionLagMaxMs', 'Milliseconds', summary.lag.maxMs);
  metrics.addMetric('StoreRequests', 'Count', sum(summary.requests.store));
  metrics.addMetric('SnsRequests', 'Count', sum(summary.requests.sink));
}

/** The event's shard: an integer in [0, shards); a scheduled event without one is shard 0. */
export function shardOf(event: DetectEvent | undefined, shards: number): number {
  const shard = event?.shard ?? 0;
  if (typeof shard !== 'number' || !Number.isInteger(shard) || shard < 0 || shard >= shards)
    throw new ConfigError(`event: shard must be an integer from 0 to ${shards - 1} (SHARDS=${shards}), got ${JSON.stringify(shard)}`);
  return shard;
}

export function createDetectJob(deps: DetectJobDeps): (event: DetectEvent | undefined, context: DetectContext) => Promise<DetectResult> {
  const { detector, logger, metrics } = deps;
  const overlapMs = detector.config.lookbackMs - detector.config.bucketMs;
  return async (event, context) => {
    const started = deps.now();
    const scheduled = event?.time ? Date.parse(event.time) : Number.NaN;
    if (Number.isNaN(scheduled)) logger.warn('invocation without a scheduled time: using the current time', { event: { time: event?.time ?? null } });
    const deadline = started + context.getRemainingTimeInMillis() - (deps.safetyMarginMs ?? 30_000);
    const shard = shardOf(event, detector.config.shards);
    const telemetry = deps.telemetryFor(deadline);
    const aggregated = deps.aggregatedFor?.(deadline, shard);
    const store = deps.storeFor ? deps.storeFor(shard) : deps.store;
    let longestRun = 0;
    let runStarted = started;
    const ports = {
      telemetry,
      ...(aggregated ? { aggregated } : {}),
      store,
      alerts: deps.alerts,
      now: deps.now,
    };
    const result: ScheduledResult = await runScheduled(detector, ports, Number.isNaN(scheduled) ? started : scheduled, {
      runId: context.awsRequestId,
      maxCatchUpRuns: deps.maxCatchUpRuns,
      hasTimeForAnotherRun: () => {
        const now = deps.now();
        longestRun = Math.max(longestRun, now - runStarted);
        runStarted = now;
        return deadline - now > 1.5 * longestRun;
      },
    });

    for (const summary of result.summaries) {
      logger.info('run summary', { summary });
      recordRun(metrics, summary);
      if (summary.lag.maxMs > 0.8 * overlapMs)
        logger.warn('ingestion lag approaches the overlap of consecutive windows: later events fall outside every window', {
          lagMaxMs: summary.lag.maxMs,
          overlapMs,
          runTime: summary.runTime,
        });
    }
    metrics.addMetric('RunDurationMs', 'Milliseconds', deps.now() - started);
    const uncoveredGapMs = result.uncovered ? result.uncovered.end - result.uncovered.start : 0;
    metrics.addMetric('UncoveredGapMs', 'Milliseconds', uncoveredGapMs);
    if (result.uncovered)
      logger.warn('telemetry gap too long to catch up: these times were not read', {
        uncovered: { start: new Date(result.uncovered.start).toISOString(), end: new Date(result.uncovered.end).toISOString() },
      });
    if (result.deferred.length > 0)
      logger.warn('time ran short: runs left for the next invocation', { deferred: result.deferred.map((t) => new Date(t).toISOString()) });
    if (aggregated?.requestCounts) {
      const insights = aggregated.requestCounts();
      // The billed volume of the Insights mode, for the cost table and the dashboard.
      metrics.addMetric('InsightsBytesScanned', 'Bytes', insights['BytesScanned'] ?? 0);
      logger.info('logs insights requests', { shard, requests: insights });
    }
    const missing = [...((aggregated ? aggregated.missingLogGroups : telemetry.missingLogGroups) ?? [])];
    metrics.addMetric('MissingLogGroups', 'Count', missing.length);
    if (missing.length > 0) logger.warn('log groups not found', { missingLogGroups: missing });
    // The health alarm's metric: conditions open after this invocation, including those kept open
    // quietly (result.health lists only the notices published now). One more GetItem; if it fails,
    // the runs are done all the same and the alarm goes on from its last data point.
    metrics.addMetric('HealthNotices', 'Count', result.health.length);
    try {
      metrics.addMetric('HealthConditionsOpen', 'Count', Object.keys((await store.getHealth()).open).length);
    } catch (error) {
      logger.warn('health state not read: HealthConditionsOpen not emitted', { error: error instanceof Error ? error.message : String(error) });
    }

    return {
      runTime: new Date(result.runTime).toISOString(),
      runs: result.summaries.length,
      published: result.summaries.reduce((n, s) => n + s.alerts.published.length, 0),
      pending: result.summaries.at(-1)?.anomalies.pending ?? 0,
      deferredRuns: result.deferred.length,
      uncoveredGapMs,
      missingLogGroups: missing,
    };
  };
}
