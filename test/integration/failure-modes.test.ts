import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamoDbBaselineStore } from '../../src/adapters/dynamodb-baseline-store.js';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../src/adapters/embedded-dynalite.js';
import { ReplayTelemetrySource } from '../../src/adapters/replay-telemetry-source.js';
import { parseDetectorConfig } from '../../src/config/detector-config.js';
import type { AlertSink, OutgoingMessage } from '../../src/ports.js';
import { createDetector, runDetection } from '../../src/run/run-detection.js';
import { runScheduled } from '../../src/run/run-scheduled.js';
import type { LogEvent } from '../../src/telemetry/log-event.js';
import { FlakyHttpHandler, type Faults } from '../support/flaky-http-handler.js';
import { RecordingAlertSink } from '../support/recording-alert-sink.js';
import { BUCKET, ecsCall, MINUTE, regular } from '../support/run-harness.js';

const T0 = Date.parse('2026-11-02T00:00:00Z');
const H = 3_600_000;
const TABLE = 'imds-watch-faults';
const config = parseDetectorConfig({ learningPeriod: '1h', maxAlertsPerRun: 3 });
const detector = createDetector(config);

const fleet = (): LogEvent[] => [
  ...regular('root', 'h1', T0, T0 + 4 * H, 5 * MINUTE),
  ...regular('app', 'h2', T0, T0 + 4 * H, H),
  ...['u1', 'u2', 'u3', 'u4', 'u5'].map((u, i) => ecsCall({ time: T0 + 2 * H + i * MINUTE, user: u, host: `h${i % 2}`, ip: '169.254.169.254' })),
  ecsCall({ time: T0 + 3 * H + 2 * MINUTE, user: 'late', host: 'h1', ip: '169.254.169.254', lag: 25 * MINUTE }),
];

let dynamo: EmbeddedDynamo | undefined;
afterEach(async () => {
  await dynamo?.close();
  dynamo = undefined;
});

async function storeWith(faults?: Faults): Promise<{ store: DynamoDbBaselineStore; handler?: FlakyHttpHandler }> {
  dynamo = await startEmbeddedDynamo({ tableName: TABLE });
  if (!faults) return { store: new DynamoDbBaselineStore({ client: dynamo.client, tableName: TABLE, memoryMs: config.memoryMs, bucketMs: config.bucketMs }) };
  const handler = new FlakyHttpHandler(faults);
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    requestHandler: handler,
    // The SDK's own standard retry, with millisecond backoff so the test does not sleep for seconds.
    retryStrategy: new ConfiguredRetryStrategy(6, (attempt) => attempt),
  });
  return { store: new DynamoDbBaselineStore({ client, tableName: TABLE, memoryMs: config.memoryMs, bucketMs: config.bucketMs }), handler };
}

/** The schedule from T0 to T0+4h, each invocation retried (as Lambda does, twice) when it throws. */
async function schedule(store: DynamoDbBaselineStore, sink: AlertSink): Promise<void> {
  const telemetry = new ReplayTelemetrySource(fleet());
  for (let t = T0 + BUCKET; t <= T0 + 4 * H; t += BUCKET) {
    for (let attempt = 0; ; attempt++) {
      try {
        await runScheduled(detector, { telemetry, store, alerts: sink, now: () => t + attempt * 60_000 }, t, { runId: `r${t}-${attempt}`, maxCatchUpRuns: 12, claimTimeoutMs: 30_000 });
        break;
      } catch (error) {
        if (attempt >= 2) throw error;
      }
    }
  }
}

async function baselines(store: DynamoDbBaselineStore) {
  const users = ['root', 'app', 'u1', 'u2', 'u3', 'u4', 'u5', 'late'];
  return Object.fromEntries([...(await store.getBaselines(users))].map(([u, b]) => [u, b.buckets]));
}

async function faultFree() {
  const { store } = await storeWith();
  const sink = new RecordingAlertSink();
  await schedule(store, sink);
  const result = { ids: sink.alerts().map((a) => a.id).sort(), baselines: await baselines(store) };
  await dynamo?.close();
  dynamo = undefined;
  return result;
}

describe('failure modes', () => {
  it('loses and repeats nothing when DynamoDB throttles or fails every third request', async () => {
    // Prepare
    const expected = await faultFree();
    const { store, handler } = await storeWith({ fail: (i) => (i % 3 === 1 ? (i % 2 ? 'throttle' : 'server-error') : undefined) });
    const sink = new RecordingAlertSink();
    // Act
    await schedule(store, sink);
    // Assess
    expect(handler?.injected).toBeGreaterThan(50);
    expect(sink.alerts().map((a) => a.id).sort()).toEqual(expected.ids);
    expect(await baselines(store)).toEqual(expected.baselines);
    expect(expected.ids).toHaveLength(6);
  });

  it('publishes each alert once when two runs of the same window start at once', async () => {
    // Prepare
    const { store } = await storeWith();
    const sink = new RecordingAlertSink();
    const telemetry = new ReplayTelemetrySource(fleet());
    for (let t = T0 + BUCKET; t <= T0 + 2 * H; t += BUCKET) await runDetection(detector, { telemetry, store, alerts: sink, now: () => t }, t, { runId: `warm-${t}` });
    const t = T0 + 2 * H + BUCKET;
    // Act: a manual invocation overlapping the scheduled one, then the next runs.
    await Promise.all([
      runDetection(detector, { telemetry, store, alerts: sink, now: () => t }, t, { runId: 'scheduled' }),
      runDetection(detector, { telemetry, store, alerts: sink, now: () => t }, t, { runId: 'manual' }),
    ]);
    for (const next of [t + BUCKET, t + 2 * BUCKET]) await runDetection(detector, { telemetry, store, alerts: sink, now: () => next }, next, { runId: `next-${next}` });
    // Assess
    const ids = sink.alerts().map((a) => a.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(5);
  });

  it('builds the sequential baselines and alerts once when runs of overlapping windows start at once', async () => {
    // Prepare: the sequential result. No cap here: with one, which run publishes a held-back alert
    // before it leaves the look-back depends on the order of the runs, by design.
    const users = ['root', 'app', 'u1', 'u2', 'u3', 'u4', 'u5', 'late'];
    const uncapped = createDetector(parseDetectorConfig({ learningPeriod: '1h' }));
    const run = async (store: DynamoDbBaselineStore, sink: RecordingAlertSink, t: number, runId: string) =>
      runDetection(uncapped, { telemetry: new ReplayTelemetrySource(fleet()), store, alerts: sink, now: () => t }, t, { runId });
    const sequential = await storeWith();
    const sequentialSink = new RecordingAlertSink();
    for (let t = T0 + BUCKET; t <= T0 + 4 * H; t += BUCKET) await run(sequential.store, sequentialSink, t, `s${t}`);
    const expectedBaselines = Object.fromEntries([...(await sequential.store.getBaselines(users))].map(([u, b]) => [u, b.buckets]));
    const expectedIds = sequentialSink.alerts().map((a) => a.id).sort();
    await dynamo?.close();
    dynamo = undefined;
    // Act: each scheduled run starts together with a manual run of the next window.
    const { store } = await storeWith();
    const sink = new RecordingAlertSink();
    for (let t = T0 + BUCKET; t <= T0 + 4 * H; t += 2 * BUCKET)
      await Promise.all([run(store, sink, t, `a${t}`), run(store, sink, t + BUCKET, `b${t}`), run(store, sink, t, `manual${t}`)]);
    // Assess
    const baselinesNow = Object.fromEntries([...(await store.getBaselines(users))].map(([u, b]) => [u, b.buckets]));
    expect(baselinesNow).toEqual(expectedBaselines);
    const ids = sink.alerts().map((a) => a.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(expectedIds);
  });

  it('publishes, once, alerts of a run whose sink failed outright, on the retry', async () => {
    // Prepare
    const { store } = await storeWith();
    const sink = new RecordingAlertSink();
    let down = true;
    const flaky: AlertSink = {
      publish: async (messages: readonly OutgoingMessage[]) => {
        if (down) throw new Error('socket hang up');
        return sink.publish(messages);
      },
      requestCounts: () => sink.requestCounts(),
    };
    const telemetry = new ReplayTelemetrySource(fleet());
    for (let t = T0 + BUCKET; t <= T0 + 2 * H; t += BUCKET) await runDetection(detector, { telemetry, store, alerts: flaky, now: () => t }, t, { runId: `w${t}` });
    const t = T0 + 2 * H + BUCKET;
    // Act
    await expect(runDetection(detector, { telemetry, store, alerts: flaky, now: () => t }, t, { runId: 'first' })).rejects.toThrow('socket hang up');
    down = false;
    await runDetection(detector, { telemetry, store, alerts: flaky, now: () => t + 60_000 }, t, { runId: 'retry' });
    // Assess: the cap is 3: three now, and the claims of the failed attempt did not block them.
    expect(sink.alerts()).toHaveLength(3);
  });
});
