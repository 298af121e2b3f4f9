// A run against the real DynamoDB API (dynalite in this process), recorded telemetry and a recording sink.

import { parseDetectorConfig, type DetectorConfigInput } from '../../src/config/detector-config.js';
import { DynamoDbBaselineStore } from '../../src/adapters/dynamodb-baseline-store.js';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../src/adapters/embedded-dynalite.js';
import { ReplayTelemetrySource } from '../../src/adapters/replay-telemetry-source.js';
import { createDetector, runDetection } from '../../src/run/run-detection.js';
import { runScheduled, type ScheduledResult } from '../../src/run/run-scheduled.js';
import type { RunSummary } from '../../src/run/run-summary.js';
import type { LogEvent } from '../../src/telemetry/log-event.js';
import { RecordingAlertSink } from './recording-alert-sink.js';

export const MINUTE = 60_000;
export const BUCKET = 15 * MINUTE;
export const DAY = 86_400_000;

export interface Harness {
  sink: RecordingAlertSink;
  store: DynamoDbBaselineStore;
  dynamo: EmbeddedDynamo;
  setEvents(events: LogEvent[]): void;
  runAt(t: number, runId?: string): Promise<RunSummary>;
  /** The scheduled path (checkpoint, catch-up, health), as the Lambda takes it. */
  scheduledAt(t: number): Promise<ScheduledResult>;
  close(): Promise<void>;
}

export async function startHarness(config: DetectorConfigInput = {}, events: LogEvent[] = []): Promise<Harness> {
  const parsed = parseDetectorConfig(config);
  const detector = createDetector(parsed);
  const dynamo = await startEmbeddedDynamo({ tableName: 'imds-watch-test' });
  const store = new DynamoDbBaselineStore({ client: dynamo.client, tableName: 'imds-watch-test', memoryMs: parsed.memoryMs, bucketMs: parsed.bucketMs });
  const sink = new RecordingAlertSink();
  let telemetry = new ReplayTelemetrySource(events);
  let n = 0;
  return {
    sink,
    store,
    dynamo,
    setEvents(next) {
      telemetry = new ReplayTelemetrySource(next);
    },
    runAt(t, runId) {
      return runDetection(detector, { telemetry, store, alerts: sink, now: () => t }, t, { runId: runId ?? `run-${t}-${n++}` });
    },
    scheduledAt(t) {
      return runScheduled(detector, { telemetry, store, alerts: sink, now: () => t }, t, { runId: `sched-${t}-${n++}`, maxCatchUpRuns: 12 });
    },
    close: () => dynamo.close(),
  };
}

let counter = 0;

export interface EcsCall {
  time: number;
  user: string;
  host: string;
  ip?: string;
  domain?: string;
  port?: number;
  process?: string;
  /** Delay between the event and its ingestion, ms. */
  lag?: number;
}

/** An Elastic Defend network event as CloudWatch Logs would return it. */
export function ecsCall(c: EcsCall): LogEvent {
  const exe = c.process ?? '/usr/bin/curl';
  const doc = {
    '@timestamp': new Date(c.time).toISOString(),
    event: { kind: 'event', category: ['network'], type: ['start'], action: 'connection_attempted', module: 'endpoint' },
    host: { name: c.host, os: { type: 'linux' } },
    user: { name: c.user },
    process: { pid: 4242, name: exe.split('/').pop(), executable: exe },
    destination: { ...(c.ip ? { ip: c.ip } : {}), ...(c.domain ? { domain: c.domain } : {}), port: c.port ?? 80 },
    network: { direction: 'egress', transport: 'tcp' },
  };
  const id = String(++counter).padStart(56, '0');
  return {
    timestamp: c.time,
    ingestionTime: c.time + (c.lag ?? 5_000),
    logGroup: '/test/ecs',
    logStream: c.host,
    eventId: id,
    message: JSON.stringify(doc),
  };
}

/** Regular callers: `user` on `host` every `everyMs` from `from` to `to`. */
export function regular(user: string, host: string, from: number, to: number, everyMs: number, process?: string): LogEvent[] {
  const out: LogEvent[] = [];
  for (let t = from; t < to; t += everyMs) out.push(ecsCall({ time: t, user, host, ip: '169.254.169.254', ...(process ? { process } : {}) }));
  return out;
}
