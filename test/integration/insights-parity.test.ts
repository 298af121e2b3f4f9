// The Logs Insights mode learns, scores and alerts exactly as the FilterLogEvents mode on the same
// events: both run against the real DynamoDB API (dynalite), the Insights path through a source
// whose rows are computed from the events by the normalizers.

import { afterEach, describe, expect, it } from 'vitest';
import { ReplayTelemetrySource } from '../../src/adapters/replay-telemetry-source.js';
import { DynamoDbBaselineStore } from '../../src/adapters/dynamodb-baseline-store.js';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../src/adapters/embedded-dynalite.js';
import { parseDetectorConfig } from '../../src/config/detector-config.js';
import { createDetector, runDetection } from '../../src/run/run-detection.js';
import type { LogEvent } from '../../src/telemetry/log-event.js';
import { FakeInsightsSource } from '../support/fake-insights-source.js';
import { RecordingAlertSink } from '../support/recording-alert-sink.js';
import { BUCKET, ecsCall, MINUTE, regular } from '../support/run-harness.js';

const T0 = Date.parse('2026-11-02T00:00:00Z');
const H = 3_600_000;

let counter = 0;
/** A connect to 169.254.169.254:80 as two raw auditd records (SYSCALL + SOCKADDR), ENRICHED when a name is given. */
function auditdCall(time: number, uid: number, host: string, name?: string, exe = '/usr/bin/curl'): LogEvent[] {
  const serial = ++counter;
  const id = `${Math.floor(time / 1000)}.${String(time % 1000).padStart(3, '0')}:${serial}`;
  const enriched = name ? `\x1dARCH=x86_64 SYSCALL=connect AUID="unset" UID="${name}"` : '';
  const lines = [
    `type=SYSCALL msg=audit(${id}): arch=c000003e syscall=42 success=no exit=-115 a0=3 a1=7ffd a2=10 a3=0 items=0 ppid=1 pid=${900 + serial} auid=4294967295 uid=${uid} gid=${uid} euid=${uid} comm="curl" exe="${exe}" key="imds"${enriched}`,
    `type=SOCKADDR msg=audit(${id}): saddr=02000050A9FEA9FE0000000000000000`,
  ];
  return lines.map((message, i) => ({ timestamp: time, ingestionTime: time + 3_000, logGroup: '/test/audit', logStream: host, eventId: `a${serial}-${i}`, message }));
}

interface Side {
  store: DynamoDbBaselineStore;
  sink: RecordingAlertSink;
  dynamo: EmbeddedDynamo;
}

const open: EmbeddedDynamo[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()));
});

async function side(memoryMs: number, bucketMs: number): Promise<Side> {
  const dynamo = await startEmbeddedDynamo({ tableName: 'parity' });
  open.push(dynamo);
  return { dynamo, sink: new RecordingAlertSink(), store: new DynamoDbBaselineStore({ client: dynamo.client, tableName: 'parity', memoryMs, bucketMs }) };
}

describe('Logs Insights mode against FilterLogEvents mode', () => {
  it('learns the same buckets and publishes the same alerts, evidence included, on the same events', async () => {
    // Prepare: regular callers in both formats, then three unusual users (ECS, plain and ENRICHED auditd).
    const config = parseDetectorConfig({ learningPeriod: '1h' });
    const detector = createDetector(config);
    const events: LogEvent[] = [
      ...regular('root', 'h1', T0, T0 + 4 * H, 5 * MINUTE, '/usr/bin/amazon-ssm-agent'),
      ...Array.from({ length: 16 }, (_, i) => auditdCall(T0 + i * BUCKET + 7 * MINUTE, 0, 'i-audit1')).flat(),
      ecsCall({ time: T0 + 2 * H + 5 * MINUTE, user: 'www-data', host: 'h2', ip: '169.254.169.254' }),
      ...auditdCall(T0 + 2 * H + 40 * MINUTE, 1001, 'i-audit2'),
      ...auditdCall(T0 + 3 * H + 2 * MINUTE, 33, 'i-audit3', 'nginx'),
      ...auditdCall(T0 + 3 * H + 3 * MINUTE, 33, 'i-audit3', 'nginx', '/usr/bin/wget'),
    ];
    const filter = await side(config.memoryMs, config.bucketMs);
    const insights = await side(config.memoryMs, config.bucketMs);
    const aggregated = new FakeInsightsSource(events, detector);
    const telemetry = new ReplayTelemetrySource(events);
    const unused = new ReplayTelemetrySource([]);

    // Act
    for (let t = T0 + BUCKET; t <= T0 + 4 * H; t += BUCKET) {
      await runDetection(detector, { telemetry, store: filter.store, alerts: filter.sink, now: () => t }, t, { runId: `f-${t}` });
      await runDetection(detector, { telemetry: unused, aggregated, store: insights.store, alerts: insights.sink, now: () => t }, t, { runId: `i-${t}` });
    }

    // Assess
    const users = ['root', 'uid:0', 'www-data', 'uid:1001', 'nginx'];
    expect(filter.sink.alerts().map((a) => a.user).sort()).toEqual(['nginx', 'uid:1001', 'www-data']);
    expect(insights.sink.messages).toEqual(filter.sink.messages);
    const learnedByFilter = await filter.store.getBaselines(users);
    const learnedByInsights = await insights.store.getBaselines(users);
    expect([...learnedByInsights.keys()].sort()).toEqual([...learnedByFilter.keys()].sort());
    for (const user of users) expect(learnedByInsights.get(user)?.buckets).toEqual(learnedByFilter.get(user)?.buckets);
    // Evidence was read only from the streams of the users that alerted.
    const streams = new Set(aggregated.evidenceReads.flat().map((t) => t.logStream));
    expect([...streams].sort()).toEqual(['h2', 'i-audit2', 'i-audit3']);
  });

  it('counts a bucket once when two shards report the same user in it', async () => {
    // Prepare: the same user in the same bucket in two log groups read by two shards.
    const config = parseDetectorConfig({ learningPeriod: '1h' });
    const detector = createDetector(config);
    const background = regular('root', 'h1', T0, T0 + 3 * H, 5 * MINUTE);
    const a = { ...ecsCall({ time: T0 + 2 * H + 5 * MINUTE, user: 'mallory', host: 'h2', ip: '169.254.169.254' }), logGroup: '/shard/a' };
    const b = { ...ecsCall({ time: T0 + 2 * H + 6 * MINUTE, user: 'mallory', host: 'h3', ip: '169.254.169.254' }), logGroup: '/shard/b' };
    const shared = await side(config.memoryMs, config.bucketMs);
    const shardA = new FakeInsightsSource([...background, a], detector);
    const shardB = new FakeInsightsSource([b], detector);
    const shard0 = new DynamoDbBaselineStore({ client: shared.dynamo.client, tableName: 'parity', memoryMs: config.memoryMs, bucketMs: config.bucketMs, shard: 0 });
    const shard1 = new DynamoDbBaselineStore({ client: shared.dynamo.client, tableName: 'parity', memoryMs: config.memoryMs, bucketMs: config.bucketMs, shard: 1 });
    const unused = new ReplayTelemetrySource([]);

    // Act: both shards run every schedule, concurrently.
    for (let t = T0 + BUCKET; t <= T0 + 3 * H; t += BUCKET) {
      await Promise.all([
        runDetection(detector, { telemetry: unused, aggregated: shardA, store: shard0, alerts: shared.sink, now: () => t }, t, { runId: `a-${t}` }),
        runDetection(detector, { telemetry: unused, aggregated: shardB, store: shard1, alerts: shared.sink, now: () => t }, t, { runId: `b-${t}` }),
      ]);
    }

    // Assess: one bucket learned, one alert (the stable id dedupes the second shard's anomaly).
    expect((await shard0.getBaselines(['mallory'])).get('mallory')?.buckets).toEqual([T0 + 2 * H]);
    expect(shared.sink.alerts().map((x) => x.user)).toEqual(['mallory']);
  });
});
