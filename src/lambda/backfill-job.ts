// functions/detect.ts (middy) --> (dispatch on the event) --> detect job | backfill job --> backfill
//
// The deployed function also takes a one-shot backfill: `aws lambda invoke --payload
// '{"backfill":{"days":30}}'` builds the baselines from CloudWatch Logs within the invocation's
// time budget and returns how far it got; invoking it again continues (the progress is in the
// table). Scheduled events (and anything else) go to the detect job as before.

import { ConfigError } from '../errors.js';
import type { BaselineStore } from '../ports.js';
import { backfill } from '../run/backfill.js';
import type { Detector } from '../run/run-detection.js';
import type { DetectContext, DetectEvent, DetectResult, InvocationTelemetry, JobLogger, JobMetrics } from './detect-job.js';

const DAY_MS = 86_400_000;

/** The one-shot invocation's payload: `{"backfill":{"days":30}}`, optionally with `"to":"<ISO>"`. */
export interface BackfillEvent {
  backfill: { days: number; to?: string };
}

export interface BackfillJobDeps {
  detector: Detector;
  store: BaselineStore;
  telemetryFor(deadline: number): InvocationTelemetry;
  logger: JobLogger;
  metrics: JobMetrics;
  now(): number;
  /** Time kept in hand before the function's timeout. @default 30 s */
  safetyMarginMs?: number;
}

export interface BackfillJobResult {
  backfill: {
    from: string;
    to: string;
    doneUntil: string;
    /** False: time ran short (or another backfill replaced this one); invoke again to continue. */
    complete: boolean;
    runs: number;
    eventsRead: number;
    users: number;
    resumedFrom?: string;
    stopped?: 'time' | 'superseded';
  };
}

export const isBackfillEvent = (event: unknown): event is { backfill: unknown } =>
  typeof event === 'object' && event !== null && 'backfill' in event;

/** The requested history, checked: a bad payload is a ConfigError naming the field. */
export function parseBackfillRequest(
  event: { backfill: unknown },
  config: { memoryMs: number; bucketMs: number },
  now: number,
): { from: number; to: number } {
  const request = event.backfill;
  if (typeof request !== 'object' || request === null) throw new ConfigError('backfill event: "backfill" must be an object like {"days":30}');
  const { days, to } = request as { days?: unknown; to?: unknown };
  const memoryDays = Math.floor(config.memoryMs / DAY_MS);
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > memoryDays)
    throw new ConfigError(`backfill event: "days" must be a whole number from 1 to ${memoryDays} (the model's memory), got ${JSON.stringify(days)}`);
  let end = now;
  if (to !== undefined) {
    end = typeof to === 'string' && /^\d{4}-\d{2}-\d{2}/.test(to) ? Date.parse(to) : Number.NaN;
    if (Number.isNaN(end)) throw new ConfigError(`backfill event: "to" must be an ISO 8601 time, got ${JSON.stringify(to)}`);
  }
  const floored = Math.floor(end / config.bucketMs) * config.bucketMs;
  return { from: floored - days * DAY_MS, to: floored };
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function createBackfillJob(deps: BackfillJobDeps): (event: { backfill: unknown }, context: DetectContext) => Promise<BackfillJobResult> {
  const { detector, logger, metrics } = deps;
  return async (event, context) => {
    const started = deps.now();
    const { from, to } = parseBackfillRequest(event, detector.config, started);
    const deadline = started + context.getRemainingTimeInMillis() - (deps.safetyMarginMs ?? 30_000);
    let longestRun = 0;
    let runStarted = started;
    const result = await backfill(
      detector,
      { telemetry: deps.telemetryFor(deadline), store: deps.store, now: deps.now },
      {
        from,
        to,
        runId: context.awsRequestId,
        // Another run only if it fits, at the pace of the slowest so far.
        hasTime: () => {
          const now = deps.now();
          longestRun = Math.max(longestRun, now - runStarted);
          runStarted = now;
          return deadline - now > 1.5 * longestRun;
        },
        onProgress: (p) =>
          logger.info('backfill run', {
            runTime: iso(p.runTime),
            run: p.run,
            runs: p.runs,
            percent: Math.round(p.percent * 10) / 10,
            eventsRead: p.summary.events.read,
            users: p.summary.users,
          }),
      },
    );
    metrics.addMetric('BackfillRuns', 'Count', result.runs);
    metrics.addMetric('BackfillEventsRead', 'Count', result.eventsRead);
    const response: BackfillJobResult = {
      backfill: {
        from: iso(result.from),
        to: iso(result.to),
        doneUntil: iso(result.doneUntil),
        complete: result.complete,
        runs: result.runs,
        eventsRead: result.eventsRead,
        users: result.users,
        ...(result.resumedFrom === undefined ? {} : { resumedFrom: iso(result.resumedFrom) }),
        ...(result.stopped === undefined ? {} : { stopped: result.stopped }),
      },
    };
    if (result.complete) logger.info('backfill complete', { ...response.backfill, skipped: result.skipped });
    else logger.warn('backfill not complete: invoke again with the same payload to continue', { ...response.backfill });
    return response;
  };
}

/** The function's handler: a backfill payload goes to the backfill job, everything else to the detect job. */
export function createInvocationHandler(jobs: {
  detect: (event: DetectEvent | undefined, context: DetectContext) => Promise<DetectResult>;
  backfill: (event: { backfill: unknown }, context: DetectContext) => Promise<BackfillJobResult>;
}): (event: DetectEvent | BackfillEvent | undefined, context: DetectContext) => Promise<DetectResult | BackfillJobResult> {
  return (event, context) => (isBackfillEvent(event) ? jobs.backfill(event, context) : jobs.detect(event, context));
}
