// CLI `imds-watch backfill`, one-shot invocation --> (backfill) --> learn-only runDetection over history
//
// Builds the baselines from history at once, so that a new deployment starts with weeks of memory
// instead of a learning period. Learn-only runs (`mode: 'learn'`: nothing is scored into
// anomalies, recorded or published) oldest first, with the same run code as the schedule.
//
// Which windows. Learning is an idempotent set-add ("user seen in bucket"), so the schedule's three
// overlapping reads of every bucket are not needed: windows that cover the history once would do,
// at a third of the reading. Two things still need overlap between consecutive windows:
//   - the records of one auditd event (SYSCALL, SOCKADDR, EXECVE, PROCTITLE) can straddle a window
//     edge and must be read by one window together to be joined;
//   - a window only sees what was ingested by its end (exactly so in replay; in CloudWatch, history
//     is ingested already), and the schedule tolerates an ingestion lag up to the overlap of its
//     windows (lookback - bucket, 30 minutes by default).
// So a backfill run every `lookback` (45 min), each over `lookback + max(lookback - bucket, bucket)`
// (75 min): consecutive windows overlap by 30 min, as the schedule's do. Every event that some
// scheduled run in (from, to] would read is read by the last backfill window that contains its
// time, whose end is at or after that scheduled run's (both on the 15-minute grid), so the
// baselines are those that the schedule would have built, at 5/9 of its reading and a third of its
// runs and requests. (What an event ingested later still than the schedule tolerates, which the
// schedule missed, a backfill may learn: that is history too.)
//
// Idempotent with scheduled runs at the same time, and with another backfill: learning is a set-ADD
// of (user, bucket), so any order, overlap or repetition of runs gives the same baselines. A
// backfill never moves the scheduled runs' checkpoint (it does not call advanceCheckpoint), and
// publishes nothing.
//
// Resumable: the progress is one item in the table (BackfillProgress). After each run, doneUntil
// moves to that run's time; a backfill interrupted (time budget, Ctrl-C, a failure) is continued by
// the next one over the same history (see planBackfill), never doing a completed run again.

import { TelemetryBudgetExceeded } from '../errors.js';
import type { AlertSink, BackfillProgress, BaselineStore, TelemetrySource } from '../ports.js';
import { mergeSkips, type SkipCounts } from '../telemetry/log-event.js';
import { runDetection, type Detector } from './run-detection.js';
import type { RunSummary } from './run-summary.js';

export interface BackfillPorts {
  telemetry: TelemetrySource;
  store: BaselineStore;
  /** Wall clock, for the progress item's startedAt and updatedAt. */
  now(): number;
}

export interface BackfillOptions {
  /** History from `from` to `to` (ms, on bucket boundaries): windows that end in (from, to]. */
  from: number;
  to: number;
  /** Who runs it (a Lambda request id, the CLI process): names the progress item and the runs. */
  runId: string;
  /** Start over from `from`, ignoring the stored progress. */
  restart?: boolean;
  /** Asked before every run: false stops cleanly, leaving the rest for a later backfill. */
  hasTime?: () => boolean;
  /** After every completed run. */
  onProgress?: (progress: BackfillRunReport) => void;
}

/** What one completed run adds, and where the whole backfill stands. */
export interface BackfillRunReport {
  /** Run time (end of its window), ms. */
  runTime: number;
  /** 1-based index of this run, and the runs this call plans. */
  run: number;
  runs: number;
  /** The stored backfill's range and progress (a resumed backfill counts what was done before). */
  from: number;
  to: number;
  doneUntil: number;
  /** 0 to 100. */
  percent: number;
  /** Totals of this call so far. */
  eventsRead: number;
  observations: number;
  /** Distinct users seen calling the metadata service (learned) so far. */
  users: number;
  summary: RunSummary;
}

export interface BackfillResult {
  /** The stored backfill's range (a resumed one keeps its `from`; a wider `to` extends it). */
  from: number;
  to: number;
  doneUntil: number;
  /** Whether the requested history is learned entirely (doneUntil >= the requested `to`). */
  complete: boolean;
  /** Set when this call continued an earlier backfill: its doneUntil when this call began. */
  resumedFrom?: number;
  /** Why it stopped before the end: no time left, or another backfill replaced this one. */
  stopped?: 'time' | 'superseded';
  runs: number;
  eventsRead: number;
  candidates: number;
  observations: number;
  skipped: SkipCounts;
  users: number;
  storeRequests: number;
}

/** The backfill's windows for a detector configuration: a run every `strideMs`, each over `windowMs`. */
export function backfillWindows(config: { lookbackMs: number; bucketMs: number }): { strideMs: number; windowMs: number; overlapMs: number } {
  const overlapMs = Math.max(config.lookbackMs - config.bucketMs, config.bucketMs);
  return { strideMs: config.lookbackMs, windowMs: config.lookbackMs + overlapMs, overlapMs };
}

/** Run times after `start`, every `strideMs`, the last one exactly `to`; oldest first. */
export function backfillRunTimes(start: number, to: number, strideMs: number): number[] {
  const times: number[] = [];
  for (let t = start + strideMs; t < to; t += strideMs) times.push(t);
  if (to > start) times.push(to);
  return times;
}

/**
 * Where a backfill of (from, to] starts, given the stored progress: it continues the stored one
 * when that one started no later than `from` and has learned up to `from` at least (the same
 * command run again, also minutes later with a later `to`); otherwise (no progress, `restart`,
 * longer or disjoint history) it starts a new one at `from`.
 */
export function planBackfill(
  existing: BackfillProgress | undefined,
  request: { from: number; to: number; restart?: boolean; runId: string; now: number },
): { progress: BackfillProgress; start: number; resumed: boolean } {
  const { from, to, now } = request;
  if (!request.restart && existing && existing.from <= from && from <= existing.doneUntil) {
    return {
      progress: { ...existing, to: Math.max(existing.to, to), updatedAt: now },
      start: existing.doneUntil,
      resumed: true,
    };
  }
  return { progress: { from, to, doneUntil: from, startedAt: now, updatedAt: now, startedBy: request.runId }, start: from, resumed: false };
}

/** Learn-only runs publish nothing; this sink makes sure of it. */
const noAlerts: AlertSink = {
  publish: () => Promise.reject(new Error('a learn-only run published a message')),
  requestCounts: () => ({}),
};

const sum = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

export async function backfill(detector: Detector, ports: BackfillPorts, options: BackfillOptions): Promise<BackfillResult> {
  const { config } = detector;
  const { from, to } = options;
  for (const [name, value] of [['from', from], ['to', to]] as const) {
    if (!Number.isInteger(value) || value % config.bucketMs !== 0) throw new RangeError(`backfill ${name} ${value} is not on a bucket boundary`);
  }
  if (to <= from) throw new RangeError('backfill needs from < to');
  const { store } = ports;
  const { strideMs, windowMs, overlapMs } = backfillWindows(config);
  // Same run code, wider windows (see the header); in learn mode lookback only sets the window.
  const learner: Detector = { ...detector, config: { ...config, lookbackMs: windowMs } };

  const existing = await store.getBackfill();
  const plan = planBackfill(existing, { from, to, runId: options.runId, now: ports.now(), ...(options.restart ? { restart: true } : {}) });
  const { progress } = plan;
  if (!plan.resumed || progress.to !== existing?.to) await store.putBackfill(progress);
  // The learning period counts from the start of the history read (the first window's start), so
  // a backfill at least as long as the learning period leaves none. Noted before the first run,
  // as each run would note it anyway.
  await store.noteObserved(progress.from - overlapMs);

  const result: BackfillResult = {
    from: progress.from,
    to: progress.to,
    doneUntil: progress.doneUntil,
    complete: progress.doneUntil >= to,
    ...(plan.resumed ? { resumedFrom: progress.doneUntil } : {}),
    runs: 0,
    eventsRead: 0,
    candidates: 0,
    observations: 0,
    skipped: {},
    users: 0,
    storeRequests: 0,
  };
  const users = new Set<string>();
  const times = backfillRunTimes(plan.start, to, strideMs);
  for (const [index, runTime] of times.entries()) {
    if (options.hasTime && !options.hasTime()) {
      result.stopped = 'time';
      break;
    }
    let summary: RunSummary;
    try {
      summary = await runDetection(learner, { telemetry: ports.telemetry, store, alerts: noAlerts, now: ports.now }, runTime, {
        runId: `${options.runId}@${new Date(runTime).toISOString()}`,
        mode: 'learn',
        onScore: (scored) => users.add(scored.user),
      });
    } catch (error) {
      // The source ran out of the time budget mid-window: nothing of this run was learned or
      // recorded, the next backfill does it again.
      if (error instanceof TelemetryBudgetExceeded) {
        result.stopped = 'time';
        break;
      }
      throw error;
    }
    if (!(await store.advanceBackfill(progress.startedBy, runTime, ports.now()))) {
      result.stopped = 'superseded';
      break;
    }
    result.doneUntil = Math.max(result.doneUntil, runTime);
    result.runs++;
    result.eventsRead += summary.events.read;
    result.candidates += summary.events.candidates;
    result.observations += summary.observations;
    mergeSkips(result.skipped, summary.events.skipped);
    result.storeRequests += sum(summary.requests.store);
    result.users = users.size;
    options.onProgress?.({
      runTime,
      run: index + 1,
      runs: times.length,
      from: progress.from,
      to: progress.to,
      doneUntil: result.doneUntil,
      percent: progress.to > progress.from ? Math.min(100, ((result.doneUntil - progress.from) / (progress.to - progress.from)) * 100) : 100,
      eventsRead: result.eventsRead,
      observations: result.observations,
      users: users.size,
      summary,
    });
  }
  result.complete = result.doneUntil >= to;
  return result;
}
