// scheduled invocation --> (catch up from the checkpoint) --> runDetection for each missed run
//
// Runs remember the last one they completed. After missed or failed invocations the next one
// runs the gap, oldest first, bounded in count and by the time left; a gap too long to run is
// reported, never skipped silently.

import type { TimeWindow } from '../ports.js';
import { runDetection, runTimeOf, type Detector, type RunPorts } from './run-detection.js';
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
}

export interface ScheduledOptions {
  runId: string;
  maxCatchUpRuns: number;
  /** Whether there is time for one more run; asked before every run but the first. */
  hasTimeForAnotherRun?: () => boolean;
  claimTimeoutMs?: number;
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
    });
    await ports.store.advanceCheckpoint(t);
    summaries.push(summary);
  }
  return { runTime, summaries, deferred, ...(plan.uncovered ? { uncovered: plan.uncovered } : {}) };
}
