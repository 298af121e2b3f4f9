// scheduled invocation --> (catch up from the checkpoint) --> runDetection for each missed run
//
// Runs remember the last one they completed. After missed or failed invocations the next one
// runs the gap, oldest first, bounded in count and by the time left; a gap too long to run is
// reported, never skipped silently.

import { healthNoticeMessage } from '../alerts/outgoing-message.js';
import { evaluateHealth, type HealthNotice } from '../health/health-monitor.js';
import type { TimeWindow } from '../ports.js';
import { runDetection, runTimeOf, type Detector, type RunOptions, type RunPorts } from './run-detection.js';
import type { RunSummary } from './run-summary.js';

export interface RunPlan {
  /** Run times to execute, oldest first. */
  runTimes: number[];
  /** Telemetry time that no planned run will read, if the gap is longer than the runs allowed. */
  uncovered?: TimeWindow;
}

/**
 * Which runs a scheduled invocation at `runTime` makes. A first run, or one at or before the
 * checkpoint (a retry, a manual re-run), runs just itself: runs are idempotent.
 */
export function planRuns(checkpoint: number | undefined, runTime: number, bucketMs: number, lookbackMs: number, maxRuns: number): RunPlan {
  if (checkpoint === undefined || checkpoint >= runTime - bucketMs) return { runTimes: [runTime] };
  const missed: number[] = [];
  for (let t = checkpoint + bucketMs; t <= runTime; t += bucketMs) missed.push(t);
  const runTimes = missed.slice(-maxRuns);
  const first = runTimes[0] as number;
  // The checkpoint's run read up to `checkpoint`; the first planned run reads from first - lookback.
  return first - lookbackMs > checkpoint ? { runTimes, uncovered: { start: checkpoint, end: first - lookbackMs } } : { runTimes };
}

export interface ScheduledResult {
  runTime: number;
  summaries: RunSummary[];
  uncovered?: TimeWindow;
  /** Planned runs left for the next invocation because time ran short. */
  deferred: number[];
  /** Health notices this invocation published (opened or cleared conditions). */
  health: HealthNotice[];
}

export interface ScheduledOptions {
  runId: string;
  maxCatchUpRuns: number;
  /** Whether there is time for one more run; asked before every run but the first. */
  hasTimeForAnotherRun?: () => boolean;
  claimTimeoutMs?: number;
  onScore?: RunOptions['onScore'];
}

export async function runScheduled(
  detector: Detector,
  ports: RunPorts,
  scheduledTime: number,
  options: ScheduledOptions,
): Promise<ScheduledResult> {
  const { bucketMs, lookbackMs } = detector.config;
  const runTime = runTimeOf(scheduledTime, bucketMs);
  const { checkpoint } = await ports.store.getModelState();
  const plan = planRuns(checkpoint, runTime, bucketMs, lookbackMs, options.maxCatchUpRuns);
  const summaries: RunSummary[] = [];
  const deferred: number[] = [];
  for (const t of plan.runTimes) {
    if (summaries.length > 0 && options.hasTimeForAnotherRun && !options.hasTimeForAnotherRun()) {
      deferred.push(t);
      continue;
    }
    const summary = await runDetection(detector, ports, t, {
      runId: `${options.runId}@${new Date(t).toISOString()}`,
      ...(options.claimTimeoutMs === undefined ? {} : { claimTimeoutMs: options.claimTimeoutMs }),
      ...(options.onScore ? { onScore: options.onScore } : {}),
    });
    await ports.store.advanceCheckpoint(t);
    summaries.push(summary);
  }
  const health = await reportHealth(detector, ports, runTime, {
    runTime,
    eventsRead: summaries.reduce((n, s) => n + s.events.read, 0),
    // Insights mode reads through the aggregated source: its missing groups are the ones that count.
    missingLogGroups: (ports.aggregated ? ports.aggregated.missingLogGroups : ports.telemetry.missingLogGroups) ?? [],
    deferredRuns: deferred.length,
    ...(plan.uncovered ? { uncovered: plan.uncovered } : {}),
  });
  return { runTime, summaries, deferred, health, ...(plan.uncovered ? { uncovered: plan.uncovered } : {}) };
}

/**
 * Opens or clears health conditions, publishing a notice for each change. The new state is kept
 * only for notices the sink accepted, so a refused notice is tried again by the next run.
 */
async function reportHealth(
  detector: Detector,
  ports: RunPorts,
  runTime: number,
  seen: Parameters<typeof evaluateHealth>[1],
): Promise<HealthNotice[]> {
  const previous = await ports.store.getHealth();
  const { state, notices } = evaluateHealth(previous, seen, detector.config.noTelemetryAfterMs);
  const accepted =
    notices.length === 0 ? new Set<string>() : await ports.alerts.publish(notices.map((n) => healthNoticeMessage(detector.rule, runTime, n)));
  for (const n of notices) {
    if (accepted.has(n.id)) continue;
    // Not published: keep the condition as it was, so that the change is reported next time.
    if (n.status === 'open') {
      const before = previous.open[n.condition];
      if (before) state.open[n.condition] = before;
      else delete state.open[n.condition];
    } else {
      const before = previous.open[n.condition];
      if (before) state.open[n.condition] = before;
    }
  }
  if (notices.length > 0 || state.lastEventsAt !== previous.lastEventsAt) await ports.store.putHealth(state);
  return notices.filter((n) => accepted.has(n.id));
}
