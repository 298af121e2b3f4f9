// CLI --> (replay) --> runDetection at every 15-minute boundary, against an embedded DynamoDB
//
// The same run code and the same DynamoDB adapter as the Lambda; only the clock, the telemetry
// (recorded files) and the sink (NDJSON lines) differ.

import { closeSync, openSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { DetectorConfig } from '../config/detector-config.js';
import { DynamoDbBaselineStore } from '../adapters/dynamodb-baseline-store.js';
import { startEmbeddedDynamo } from '../adapters/embedded-dynalite.js';
import { NdjsonAlertSink } from '../adapters/ndjson-alert-sink.js';
import { ReplayTelemetrySource } from '../adapters/replay-telemetry-source.js';
import { InputError } from '../errors.js';
import { createEndpointCatalogue } from '../endpoints/endpoint-catalogue.js';
import { createDetector, type RunOptions } from '../run/run-detection.js';
import { runScheduled } from '../run/run-scheduled.js';
import type { RunSummary } from '../run/run-summary.js';
import { mergeSkips, type LogEvent, type SkipCounts } from '../telemetry/log-event.js';
import { readLogEvents } from '../telemetry/envelope/read-log-events.js';
import { scanLogFiles } from '../telemetry/envelope/scan-log-file.js';
import { keepDetectionEvents } from '../telemetry/detection-events.js';
import { createNeedleScanner } from '../telemetry/needle-scanner.js';
import { createPrefilter } from '../telemetry/prefilter.js';

export const REPLAY_TABLE = 'imds-watch';

export interface ReplayInput {
  events: LogEvent[];
  skipped: SkipCounts;
  /** Per file: its format and the events loaded from it. */
  files: { file: string; format: string; events: number }[];
  /**
   * The catalogue needles the events were filtered for (see LoadReplayOptions.config); absent when
   * every event was loaded. replay() refuses a config whose catalogue needs other needles.
   */
  filteredFor?: readonly string[];
}

export interface LoadReplayOptions {
  /**
   * The replay's config: load only the events detection with its endpoint catalogue can use
   * (candidates and the auditd records of candidate events, as the Lambda's filter pattern reads
   * them), streaming each file instead of holding it. Observations and alerts are the same; event
   * counts are those of the Lambda. Without it every event of every file is loaded.
   */
  config?: Pick<DetectorConfig, 'endpoints'>;
}

const unreadable = (file: string, error: unknown): InputError => {
  const code = (error as NodeJS.ErrnoException).code;
  return new InputError(`cannot read input ${file}: ${code === 'ENOENT' ? 'no such file' : code ?? String(error)}`, { cause: error });
};

/** Reads every input file; a missing or unreadable file is an InputError naming it. */
export async function loadReplayInput(files: readonly string[], options: LoadReplayOptions = {}): Promise<ReplayInput> {
  if (options.config) return loadForDetection(files, options.config);
  const events: LogEvent[] = [];
  const skipped: SkipCounts = {};
  const described: ReplayInput['files'] = [];
  for (const file of files) {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      throw unreadable(file, error);
    }
    const result = readLogEvents(bytes, { file });
    for (const e of result.events) events.push(e);
    mergeSkips(skipped, result.skipped);
    described.push({ file, format: result.format, events: result.events.length });
  }
  return { events, skipped, files: described };
}

async function loadForDetection(files: readonly string[], config: Pick<DetectorConfig, 'endpoints'>): Promise<ReplayInput> {
  const catalogue = createEndpointCatalogue(config.endpoints);
  const prefilter = createPrefilter(catalogue);
  const scanner = createNeedleScanner(catalogue.needles);
  for (const file of files) assertReadable(file);
  let results: { events: LogEvent[]; skipped: SkipCounts; format: string }[];
  if (scanner) {
    // All files at once: one auditd event's records may be split between them.
    results = await scanLogFiles(files, { scanner, prefilter });
  } else {
    // Needles that raw bytes cannot show (e.g. with quotes): parse everything, then filter.
    const whole = await Promise.all(files.map(async (file) => readLogEvents(await readFile(file), { file })));
    const kept = new Set(keepDetectionEvents(whole.flatMap((w) => w.events), prefilter));
    results = whole.map((w) => ({ ...w, events: w.events.filter((e) => kept.has(e)) }));
  }
  const events: LogEvent[] = [];
  const skipped: SkipCounts = {};
  const described: ReplayInput['files'] = [];
  results.forEach((result, i) => {
    for (const e of result.events) events.push(e);
    mergeSkips(skipped, result.skipped);
    described.push({ file: files[i] as string, format: result.format, events: result.events.length });
  });
  return { events, skipped, files: described, filteredFor: catalogue.needles };
}

/** A missing file, a directory or an unreadable file is an InputError naming it before any is read. */
function assertReadable(file: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    readSync(fd, Buffer.alloc(1), 0, 1, 0);
  } catch (error) {
    throw unreadable(file, error);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export interface ReplayOptions {
  input: ReplayInput;
  /** Runs happen at every bucket boundary in (from, to]. */
  from: number;
  to: number;
  config: DetectorConfig;
  /** Keep the embedded store on disk here, so that a later replay continues the same baselines. */
  stateDir?: string;
  out: Writable;
  onRun?: (summary: RunSummary, index: number, total: number) => void;
  /** Called for every (bucket, user) scored (the replay report's timelines). */
  onScore?: RunOptions['onScore'];
}

export interface ReplayResult {
  runs: number;
  totals: ReplayTotals;
  /** End of the model's learning period (ms), as the store had it at the end; undefined without runs. */
  learningUntil?: number;
}

export interface ReplayTotals {
  eventsLoaded: number;
  eventsRead: number;
  candidates: number;
  skipped: SkipCounts;
  observations: number;
  /** The most users calling the metadata service in one run's window. */
  maxUsersPerRun: number;
  anomalies: number;
  excepted: number;
  expired: number;
  duringLearning: number;
  pendingAtEnd: number;
  alerts: { id: string; user: string; host: string; score: number; bucketStart: string }[];
  notices: number;
  storeRequests: number;
}

/** The run times of a replay: every bucket boundary t with from < t <= to. */
export function replayRunTimes(from: number, to: number, bucketMs: number): number[] {
  const times: number[] = [];
  for (let t = Math.floor(from / bucketMs) * bucketMs + bucketMs; t <= to; t += bucketMs) times.push(t);
  return times;
}

export async function replay(options: ReplayOptions): Promise<ReplayResult> {
  const { config } = options;
  const detector = createDetector(config);
  const { filteredFor } = options.input;
  if (filteredFor && detector.catalogue.needles.some((n) => !filteredFor.includes(n))) {
    throw new Error('replay input was loaded for another endpoint catalogue: load it with this replay\'s config');
  }
  const telemetry = new ReplayTelemetrySource(options.input.events);
  const dynamo = await startEmbeddedDynamo({ tableName: REPLAY_TABLE, ...(options.stateDir ? { path: options.stateDir } : {}) });
  const store = new DynamoDbBaselineStore({
    client: dynamo.client,
    tableName: REPLAY_TABLE,
    memoryMs: config.memoryMs,
    bucketMs: config.bucketMs,
  });
  const sink = new NdjsonAlertSink(options.out, true);
  const times = replayRunTimes(options.from, options.to, config.bucketMs);
  const totals: ReplayTotals = {
    eventsLoaded: options.input.events.length,
    eventsRead: 0,
    candidates: 0,
    skipped: { ...options.input.skipped },
    observations: 0,
    maxUsersPerRun: 0,
    anomalies: 0,
    excepted: 0,
    expired: 0,
    duringLearning: 0,
    pendingAtEnd: 0,
    alerts: [],
    notices: 0,
    storeRequests: 0,
  };
  let learningUntil: number | undefined;
  try {
    for (const [index, t] of times.entries()) {
      let clock = t;
      // The same scheduled path as the Lambda: the checkpoint is the previous boundary, so one run.
      const result = await runScheduled(detector, { telemetry, store, alerts: sink, now: () => clock++ }, t, {
        runId: 'replay',
        maxCatchUpRuns: 1,
        ...(options.onScore ? { onScore: options.onScore } : {}),
      });
      const summary = result.summaries[0];
      if (!summary) continue;
      totals.eventsRead += summary.events.read;
      totals.candidates += summary.events.candidates;
      mergeSkips(totals.skipped, summary.events.skipped);
      totals.observations += summary.observations;
      totals.maxUsersPerRun = Math.max(totals.maxUsersPerRun, summary.users);
      totals.anomalies += summary.anomalies.new;
      totals.excepted += summary.anomalies.excepted;
      totals.expired += summary.anomalies.expired;
      totals.duringLearning += summary.anomalies.duringLearning;
      totals.pendingAtEnd = summary.anomalies.pending;
      totals.notices += summary.alerts.notices;
      totals.storeRequests += Object.values(summary.requests.store).reduce((a, b) => a + b, 0);
      options.onRun?.(summary, index, times.length);
    }
    for (const m of sink.published) {
      if (m.attributes.kind !== 'alert') continue;
      const body = JSON.parse(m.body) as { anomaly: { score: number; bucket_start: string } };
      totals.alerts.push({ id: m.id, user: m.attributes.user ?? '', host: m.attributes.host ?? '', score: body.anomaly.score, bucketStart: body.anomaly.bucket_start });
    }
    const { observedSince } = await store.getModelState();
    if (observedSince !== undefined) learningUntil = observedSince + config.learningPeriodMs;
  } finally {
    await dynamo.close();
  }
  return { runs: times.length, totals, ...(learningUntil === undefined ? {} : { learningUntil }) };
}
