// SNS requests per run: the real SnsAlertSink against an SNS client mocked with
// aws-sdk-client-mock (every PublishBatch entry Successful), first alone for a given number of
// alert messages, then inside the scheduled run path (runScheduled on dynalite) for the same
// number of new users, where the cap of 100 alerts and the overflow notice apply.

import { PublishBatchCommand, SNSClient, type PublishBatchCommandInput } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDbBaselineStore } from '../src/adapters/dynamodb-baseline-store.js';
import { startEmbeddedDynamo } from '../src/adapters/embedded-dynalite.js';
import { ReplayTelemetrySource } from '../src/adapters/replay-telemetry-source.js';
import { SnsAlertSink, SNS_MAX_BATCH_ENTRIES, snsEntryBytes } from '../src/adapters/sns-alert-sink.js';
import { buildAlertDocument } from '../src/alerts/alert-document.js';
import { alertMessage } from '../src/alerts/outgoing-message.js';
import { defaultDetectorConfig } from '../src/config/detector-config.js';
import { groupByBucketAndUser } from '../src/model/bucket-activity.js';
import { scoreBucket } from '../src/model/rare-user-model.js';
import type { OutgoingMessage } from '../src/ports.js';
import { createDetector, type Detector } from '../src/run/run-detection.js';
import { runScheduled } from '../src/run/run-scheduled.js';
import { readWindow } from '../src/telemetry/read-window.js';
import { syntheticUserEvents, syntheticUserName } from './synthetic-users.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const BUCKET = 15 * MINUTE;
const RUN_TIME = Date.UTC(2026, 10, 2, 12, 0, 0);
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:imds-watch-alerts';
const TABLE = 'imds-watch-bench-sns';
const COUNTS = [0, 1, 9, 10, 11, 100, 150];

export interface SinkRow {
  messages: number;
  publishBatch: number;
  expected: number;
  /** Entries of the largest call, and bytes (as SNS counts them) of the largest call. */
  largestCall: { entries: number; bytes: number };
  /** Bytes of one entry as SNS counts them (body, subject, attributes), smallest and largest. */
  entryBytes: { min: number; max: number };
}

export interface RunRow {
  newUsers: number;
  alerts: number;
  overflowNotices: number;
  otherNotices: number;
  pending: number;
  publishBatch: number;
  expected: number;
}

export interface SnsRequestsResult {
  sink: SinkRow[];
  run: RunRow[];
  /** Size of one alert message as sent (bytes, SNS's way of counting), smallest and largest. */
  alertBytes: { min: number; max: number };
  maxAlertsPerRun: number;
}

/** An SNS client whose PublishBatch accepts every entry, and what each call carried. */
function acceptingSns(): { client: SNSClient; calls: PublishBatchCommandInput[]; restore(): void } {
  const client = new SNSClient({ region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  const mock = mockClient(client);
  const calls: PublishBatchCommandInput[] = [];
  mock.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => {
    calls.push(input);
    const entries = input.PublishBatchRequestEntries ?? [];
    if (entries.length > SNS_MAX_BATCH_ENTRIES) throw new Error(`PublishBatch with ${entries.length} entries`);
    return { Successful: entries.map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}` })), Failed: [] };
  });
  return { client, calls, restore: () => mock.restore() };
}

const callBytes = (input: PublishBatchCommandInput): number =>
  (input.PublishBatchRequestEntries ?? []).reduce((a, e) => a + snsEntryBytes(e), 0);

/** Real alert messages of `count` new users, built as runDetection builds them. */
async function alertMessages(detector: Detector, count: number): Promise<OutgoingMessage[]> {
  const { config } = detector;
  const events = syntheticUserEvents({ users: count, callsPerUserPerBucket: 1, from: RUN_TIME - BUCKET, to: RUN_TIME, usersPerHost: 1 });
  const window = { start: RUN_TIME - config.lookbackMs, end: RUN_TIME };
  const reading = await readWindow(new ReplayTelemetrySource(events), window, detector.catalogue, detector.prefilter);
  return groupByBucketAndUser(reading.observations, config.bucketMs).map((activity) => {
    const score = scoreBucket({ bucketStart: activity.bucketStart, history: [], observedSince: RUN_TIME - 2 * DAY }, { memoryMs: config.memoryMs });
    const doc = buildAlertDocument(activity, score, undefined, {
      rule: detector.rule,
      region: config.region,
      bucketMs: config.bucketMs,
      threshold: config.anomalyThreshold,
      detectedAt: RUN_TIME,
    });
    return alertMessage(doc, RUN_TIME);
  });
}

async function sinkRow(messages: readonly OutgoingMessage[]): Promise<SinkRow> {
  const sns = acceptingSns();
  try {
    const sink = new SnsAlertSink({ client: sns.client, topicArn: TOPIC });
    const accepted = await sink.publish(messages);
    if (accepted.size !== messages.length) throw new Error(`${accepted.size} of ${messages.length} accepted`);
    const publishBatch = sink.requestCounts()['PublishBatch'] ?? 0;
    if (publishBatch !== sns.calls.length) throw new Error('the sink miscounted its calls');
    const entryBytes = sns.calls.flatMap((c) => (c.PublishBatchRequestEntries ?? []).map(snsEntryBytes));
    return {
      messages: messages.length,
      publishBatch,
      entryBytes: entryBytes.length > 0 ? { min: Math.min(...entryBytes), max: Math.max(...entryBytes) } : { min: 0, max: 0 },
      expected: Math.ceil(messages.length / SNS_MAX_BATCH_ENTRIES),
      largestCall: {
        entries: Math.max(0, ...sns.calls.map((c) => c.PublishBatchRequestEntries?.length ?? 0)),
        bytes: Math.max(0, ...sns.calls.map(callBytes)),
      },
    };
  } finally {
    sns.restore();
  }
}

/**
 * One scheduled invocation after the learning period: a regular user (a day of history) keeps
 * telemetry flowing, and `newUsers` never-seen users call once each, each from its own host.
 */
async function runRow(detector: Detector, newUsers: number): Promise<RunRow> {
  const { config } = detector;
  const dynamo = await startEmbeddedDynamo({ tableName: TABLE });
  const sns = acceptingSns();
  try {
    const storeOptions = { client: dynamo.client, tableName: TABLE, memoryMs: config.memoryMs, bucketMs: config.bucketMs };
    const seed = new DynamoDbBaselineStore(storeOptions);
    const windowStart = RUN_TIME - config.lookbackMs;
    const history: number[] = [];
    for (let t = windowStart - DAY; t < windowStart; t += HOUR) history.push(Math.floor(t / BUCKET) * BUCKET);
    await seed.noteObserved(windowStart - 2 * DAY);
    await seed.learn([{ user: syntheticUserName(0), add: history, forgetBefore: RUN_TIME - config.memoryMs }]);
    await seed.advanceCheckpoint(RUN_TIME - BUCKET);

    const events = [
      ...syntheticUserEvents({ users: 1, callsPerUserPerBucket: 1, from: windowStart, to: RUN_TIME }),
      ...syntheticUserEvents({ users: newUsers, callsPerUserPerBucket: 1, from: RUN_TIME - BUCKET, to: RUN_TIME, usersPerHost: 1, firstUser: 1 }),
    ];
    const sink = new SnsAlertSink({ client: sns.client, topicArn: TOPIC });
    const result = await runScheduled(
      detector,
      { telemetry: new ReplayTelemetrySource(events), store: new DynamoDbBaselineStore(storeOptions), alerts: sink, now: () => RUN_TIME },
      RUN_TIME,
      { runId: `bench-sns-${newUsers}`, maxCatchUpRuns: 1 },
    );
    const summary = result.summaries[0];
    if (!summary) throw new Error('the scheduled invocation made no run');
    const alerts = summary.alerts.published.length;
    const kinds = sns.calls.flatMap((c) => (c.PublishBatchRequestEntries ?? []).map((e) => e.MessageAttributes?.['kind']?.StringValue ?? ''));
    const overflowNotices = summary.alerts.notices;
    return {
      newUsers,
      alerts,
      overflowNotices,
      otherNotices: kinds.filter((k) => k !== 'alert').length - overflowNotices,
      pending: summary.anomalies.pending,
      publishBatch: sink.requestCounts()['PublishBatch'] ?? 0,
      expected: Math.ceil(Math.min(newUsers, config.maxAlertsPerRun) / SNS_MAX_BATCH_ENTRIES) + (newUsers > config.maxAlertsPerRun ? 1 : 0),
    };
  } finally {
    sns.restore();
    await dynamo.close();
  }
}

// quick and full do the same: the whole benchmark takes a few seconds.
export async function snsRequestsBench(options: { quick: boolean }): Promise<SnsRequestsResult> {
  void options;
  const detector = createDetector(defaultDetectorConfig());
  const messages = await alertMessages(detector, Math.max(...COUNTS));
  const sink: SinkRow[] = [];
  for (const count of COUNTS) sink.push(await sinkRow(messages.slice(0, count)));
  const run: RunRow[] = [];
  for (const count of COUNTS) run.push(await runRow(detector, count));
  const all = sink[sink.length - 1];
  return { sink, run, alertBytes: all ? all.entryBytes : { min: 0, max: 0 }, maxAlertsPerRun: detector.config.maxAlertsPerRun };
}

const n = (v: number): string => v.toLocaleString('en-US');
const check = (actual: number, expected: number): string => (actual === expected ? `${actual} ✓` : `**${actual} (expected ${expected})**`);

export function snsRequestsMarkdown(result: SnsRequestsResult): string {
  return `## SNS requests per run

The real \`SnsAlertSink\` with an SNS client mocked by \`aws-sdk-client-mock\` (every PublishBatch entry accepted). Alert
messages are built as a run builds them (\`buildAlertDocument\` + \`alertMessage\`: body, email rendering, attributes), one
per new user with one evidence event: ${n(result.alertBytes.min)}–${n(result.alertBytes.max)} bytes each as SNS counts them, so ten fit in one
256 KiB call and batches are limited by the 10-entry limit. Expected: ⌈messages ÷ 10⌉ PublishBatch calls.

| messages given to the sink | PublishBatch calls | entries / bytes of the largest call |
|---:|---:|---:|
${result.sink.map((r) => `| ${r.messages} | ${check(r.publishBatch, r.expected)} | ${r.largestCall.entries} / ${n(r.largestCall.bytes)} |`).join('\n')}

The run path: one scheduled invocation (\`runScheduled\`, dynalite store) after the learning period, in which N users never
seen before call the metadata service once each (each from its own host) beside one regular user. At most
${result.maxAlertsPerRun} alerts per run are published; the rest stay pending for the next run, and one overflow notice says so.
Expected: ⌈min(N, ${result.maxAlertsPerRun}) ÷ 10⌉ + (1 if N > ${result.maxAlertsPerRun}).

| new users | alerts published | overflow notices | other notices | left pending | PublishBatch calls |
|---:|---:|---:|---:|---:|---:|
${result.run.map((r) => `| ${r.newUsers} | ${r.alerts} | ${r.overflowNotices} | ${r.otherNotices} | ${r.pending} | ${check(r.publishBatch, r.expected)} |`).join('\n')}

The overflow notice is published in a call of its own, after the alerts (it reports how many of them were accepted).
`;
}
