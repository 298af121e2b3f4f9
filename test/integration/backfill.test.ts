// Backfill: learn-only runs over history, into a replay's state (--state) or the deployed table
// (--table, CloudWatch Logs through aws-sdk-client-mock, DynamoDB on dynalite), and the one-shot
// invocation of the function. Resumable, idempotent with the scheduled runs.

import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  FilterLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbBaselineStore } from '../../src/adapters/dynamodb-baseline-store.js';
import { createTableInput } from '../../src/adapters/dynamodb-table.js';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../src/adapters/embedded-dynalite.js';
import { ReplayTelemetrySource } from '../../src/adapters/replay-telemetry-source.js';
import { main } from '../../src/cli/main.js';
import { parseDetectorConfig } from '../../src/config/detector-config.js';
import { ConfigError } from '../../src/errors.js';
import { createBackfillJob, createInvocationHandler } from '../../src/lambda/backfill-job.js';
import type { DetectResult, InvocationTelemetry } from '../../src/lambda/detect-job.js';
import type { BaselineStore, UserBaseline } from '../../src/ports.js';
import { REPLAY_TABLE } from '../../src/replay/replay.js';
import { backfill, backfillRunTimes, backfillWindows } from '../../src/run/backfill.js';
import { createDetector } from '../../src/run/run-detection.js';
import type { LogEvent } from '../../src/telemetry/log-event.js';
import { capturedIo } from '../support/captured-io.js';
import { BUCKET, DAY, ecsCall, MINUTE, regular, startHarness } from '../support/run-harness.js';
import { filterLogEventsFrom } from '../support/recorded-log-events.js';

const T0 = Date.parse('2026-11-02T00:00:00Z');
const H = 3_600_000;
const STRIDE = 45 * MINUTE;
const USERS = ['root', 'app', 'deploy', 'www-data', 'lagging', 'uid:1500'];
const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Three days of an ordinary fleet: the SSM agent (root) every 5 minutes, the application's hourly
 * SDK refresh, a daily AWS CLI user at 09:00; on day 3 at 13:37 www-data runs curl.
 */
function fleet(days = 3): LogEvent[] {
  const end = T0 + days * DAY;
  const daily: LogEvent[] = [];
  for (let d = 0; d < days; d++) daily.push(ecsCall({ time: T0 + d * DAY + 9 * H + 2 * MINUTE, user: 'deploy', host: 'h1', ip: '169.254.169.254', process: '/usr/local/bin/aws' }));
  const attack = days >= 3 ? [ecsCall({ time: T0 + 2 * DAY + 13 * H + 37 * MINUTE, user: 'www-data', host: 'h1', ip: '169.254.169.254' })] : [];
  return [
    ...regular('root', 'h1', T0, end, 5 * MINUTE, '/usr/bin/amazon-ssm-agent'),
    ...regular('app', 'h2', T0 + 7 * MINUTE, end, H, '/usr/bin/python3'),
    ...daily,
    ...attack,
  ];
}

/**
 * What makes windows differ at their edges: an event ingested 20 minutes late, 16 minutes before
 * a backfill window ends (the schedule reads it in the third run that covers it), and an auditd
 * connect whose SYSCALL and SOCKADDR records fall on either side of a window edge.
 */
function edgeCases(): LogEvent[] {
  const late = ecsCall({ time: T0 + STRIDE - 16 * MINUTE, user: 'lagging', host: 'h3', ip: '169.254.169.254', lag: 20 * MINUTE });
  const edge = T0 + 2 * STRIDE;
  const id = `${Math.floor((edge - 200) / 1000)}.${String((edge - 200) % 1000).padStart(3, '0')}:777`;
  const record = (at: number, eventId: string, message: string): LogEvent => ({
    timestamp: at,
    ingestionTime: at + 5_000,
    logGroup: '/test/audit',
    logStream: 'i-0a1b2c3d4e5f60003',
    eventId,
    message,
  });
  return [
    late,
    record(
      edge - 200,
      'audit-syscall-777',
      `type=SYSCALL msg=audit(${id}): arch=c000003e syscall=42 success=no exit=-115 a0=3 a1=7ffd2a1b4c30 a2=10 a3=0 items=0 ppid=881 pid=4243 ` +
        'auid=1500 uid=1500 gid=1500 euid=1500 suid=1500 fsuid=1500 egid=1500 sgid=1500 fsgid=1500 tty=(none) ses=7 comm="python3" exe="/usr/bin/python3.11" subj=unconfined key="imds"',
    ),
    record(edge + 200, 'audit-sockaddr-777', `type=SOCKADDR msg=audit(${id}): saddr=02000050A9FEA9FE0000000000000000`),
  ];
}

const ndjson = (events: readonly LogEvent[]): string =>
  events
    .map((e) => JSON.stringify({ timestamp: e.timestamp, ingestionTime: e.ingestionTime, logGroupName: e.logGroup, logStreamName: e.logStream, eventId: e.eventId, message: e.message }))
    .join('\n');

async function baselinesOf(store: BaselineStore): Promise<Record<string, UserBaseline | undefined>> {
  const found = await store.getBaselines(USERS);
  return Object.fromEntries(USERS.map((u) => [u, found.get(u)]));
}

/** The baselines kept in a replay's state directory. */
async function stateBaselines(dir: string): Promise<Record<string, UserBaseline | undefined>> {
  const dynamo = await startEmbeddedDynamo({ tableName: REPLAY_TABLE, path: dir });
  try {
    const config = parseDetectorConfig({});
    return await baselinesOf(new DynamoDbBaselineStore({ client: dynamo.client, tableName: REPLAY_TABLE, memoryMs: config.memoryMs, bucketMs: config.bucketMs }));
  } finally {
    await dynamo.close();
  }
}

let dir: string;
let input: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'imds-watch-backfill-'));
  input = path.join(dir, 'fleet.ndjson');
  await writeFile(input, ndjson(fleet()));
});

describe('backfill from recorded telemetry into a replay state', () => {
  it('lets a replay of the next day alert on the attack and on none of the ordinary callers, with no learning period', async () => {
    // Prepare
    const backfilled = path.join(dir, 'backfilled');
    const fresh = path.join(dir, 'fresh');
    const io = capturedIo(true);

    // Act: two days of history, then day 3 on the same state; and, to compare, day 3 on a fresh state
    const code = await main(['backfill', '--days', '2', '--to', '2026-11-04T00:00:00Z', '--input', input, '--state', backfilled], io);
    const alertsAfterBackfill = path.join(dir, 'after-backfill.ndjson');
    const day3 = ['--input', input, '--from', '2026-11-04T00:00:00Z', '--to', '2026-11-05T00:00:00Z'];
    expect(await main(['replay', ...day3, '--state', backfilled, '--out', alertsAfterBackfill], capturedIo())).toBe(0);
    const alertsWithout = path.join(dir, 'without-backfill.ndjson');
    expect(await main(['replay', ...day3, '--state', fresh, '--out', alertsWithout], capturedIo())).toBe(0);

    // Assess: the backfill's own report
    expect(code).toBe(0);
    const summary = JSON.parse(io.out());
    expect(summary).toMatchObject({ type: 'backfill-summary', from: '2026-11-02T00:00:00Z', to: '2026-11-04T00:00:00Z', doneUntil: '2026-11-04T00:00:00Z', complete: true, runs: 64, users: 3 });
    expect(io.err()).toContain('\r\u001b[2Kbackfill 100%  2026-11-04T00:00:00Z  run 64/64');
    expect(io.err()).toMatch(/users 3/);
    // Assess: with the backfill, day 3 needs no learning period (without it, day 3 is all learning)
    const alerts = (await readFile(alertsAfterBackfill, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { user: { name: string }; anomaly: { bucket_start: string } });
    expect(alerts.map((a) => [a.user.name, a.anomaly.bucket_start])).toEqual([['www-data', '2026-11-04T13:30:00.000Z']]);
    expect((await readFile(alertsWithout, 'utf8')).trim()).toBe('');
  });

  it('builds exactly the baselines of a full replay over the same days', async () => {
    // Prepare
    const backfilled = path.join(dir, 'compare-backfill');
    const replayed = path.join(dir, 'compare-replay');
    const edges = path.join(dir, 'edges.ndjson');
    await writeFile(edges, ndjson(edgeCases()));

    // Act
    expect(await main(['backfill', '--days', '2', '--to', '2026-11-04T00:00:00Z', '--input', input, edges, '--state', backfilled], capturedIo())).toBe(0);
    expect(await main(['replay', '--input', input, edges, '--from', '2026-11-02T00:00:00Z', '--to', '2026-11-04T00:00:00Z', '--state', replayed, '--out', path.join(dir, 'compare.ndjson')], capturedIo())).toBe(0);

    // Assess
    const expected = await stateBaselines(replayed);
    expect(expected['deploy']?.buckets).toEqual([T0 + 9 * H, T0 + DAY + 9 * H]);
    expect(expected['root']?.buckets).toHaveLength(2 * 96);
    expect(expected['lagging']?.buckets).toEqual([T0 + 15 * MINUTE]);
    expect(expected['uid:1500']?.buckets).toEqual([T0 + 75 * MINUTE]);
    expect(await stateBaselines(backfilled)).toEqual(expected);
  });

  it('does nothing the second time over the same history, and everything again with --restart', async () => {
    // Prepare
    const state = path.join(dir, 'twice');
    const argv = ['backfill', '--days', '1', '--to', '2026-11-03T00:00:00Z', '--input', input, '--state', state];
    expect(await main(argv, capturedIo())).toBe(0);
    const again = capturedIo();
    const restarted = capturedIo();

    // Act
    const againCode = await main(argv, again);
    const restartCode = await main([...argv, '--restart'], restarted);

    // Assess
    expect([againCode, restartCode]).toEqual([0, 0]);
    expect(JSON.parse(again.out())).toMatchObject({ complete: true, runs: 0, resumedFrom: '2026-11-03T00:00:00Z' });
    expect(JSON.parse(restarted.out())).toMatchObject({ complete: true, runs: 32 });
    expect(JSON.parse(restarted.out())).not.toHaveProperty('resumedFrom');
    const progress = again.err().trim();
    expect(progress).toBe('');
  });

  it('prints one JSON line per run when stderr is not a terminal', async () => {
    // Prepare
    const io = capturedIo();
    // Act
    const code = await main(['backfill', '--days', '1', '--to', '2026-11-03T00:00:00Z', '--input', input, '--state', path.join(dir, 'json')], io);
    // Assess
    expect(code).toBe(0);
    const lines = io.err().trim().split('\n').map((l) => JSON.parse(l) as { type: string; run: number; percent: number; runTime: string });
    expect(lines).toHaveLength(32);
    expect(lines[0]).toMatchObject({ type: 'backfill-progress', run: 1, runs: 32, runTime: '2026-11-02T00:45:00Z', doneUntil: '2026-11-02T00:45:00Z', users: 2 });
    expect(lines.at(-1)).toMatchObject({ run: 32, percent: 100, runTime: '2026-11-03T00:00:00Z' });
  });

  it.each([
    [['backfill', '--input', 'x', '--state', 'd'], /--days N is required/],
    [['backfill', '--days', 'two', '--input', 'x', '--state', 'd'], /--days needs a whole number of days/],
    [['backfill', '--days', '31', '--input', 'x', '--state', 'd'], /--days 31 goes past the model's memory \(30d\)/],
    [['backfill', '--days', '2', '--state', 'd'], /give either --input FILE\.\.\. \(recorded telemetry\) or --log-groups/],
    [['backfill', '--days', '2', '--input', 'x', '--log-groups', '/a', '--state', 'd'], /give either --input/],
    [['backfill', '--days', '2', '--input', 'x'], /give either --state DIR/],
    [['backfill', '--days', '2', '--input', 'x', '--state', 'd', '--to', 'now'], /--to needs an ISO 8601 time/],
    [['backfill', '--days', '2', '--input', '/no/such/file', '--state', 'd'], /cannot read input \/no\/such\/file: no such file/],
    [['backfill', '--days', '2', '--bogus'], /unknown option --bogus/],
  ])('exits 2 with one line for %j', async (argv, message) => {
    // Prepare
    const io = capturedIo();
    // Act
    const code = await main(argv, io);
    // Assess
    expect(code).toBe(2);
    expect(io.err()).toMatch(message);
    expect(io.err().trim().split('\n')).toHaveLength(1);
  });
});

describe('backfill runs', () => {
  const config = parseDetectorConfig({});
  const detector = createDetector(config);

  async function storeFor(): Promise<{ store: DynamoDbBaselineStore; close(): Promise<void> }> {
    const dynamo = await startEmbeddedDynamo({ tableName: 'imds-watch-runs' });
    return {
      store: new DynamoDbBaselineStore({ client: dynamo.client, tableName: 'imds-watch-runs', memoryMs: config.memoryMs, bucketMs: config.bucketMs }),
      close: () => dynamo.close(),
    };
  }

  it('reads windows of 75 minutes every 45 minutes, the last one ending at the end', () => {
    // Prepare
    const { strideMs, windowMs } = backfillWindows(config);
    // Act
    const times = backfillRunTimes(T0, T0 + 2 * H, strideMs);
    // Assess
    expect([strideMs, windowMs]).toEqual([45 * MINUTE, 75 * MINUTE]);
    expect(times.map(iso)).toEqual(['2026-11-02T00:45:00.000Z', '2026-11-02T01:30:00.000Z', '2026-11-02T02:00:00.000Z']);
  });

  it('resumes an interrupted backfill from doneUntil, doing no run twice, and ends with the baselines of an uninterrupted one', async () => {
    // Prepare
    const events = fleet(2);
    const interrupted = await storeFor();
    const straight = await storeFor();
    const telemetry = new ReplayTelemetrySource(events);
    const runTimes: number[] = [];
    let runs = 0;

    try {
      // Act: stop after 5 runs, then run the same backfill again
      const first = await backfill(detector, { telemetry, store: interrupted.store, now: () => T0 + 3 * DAY }, {
        from: T0,
        to: T0 + DAY,
        runId: 'first',
        hasTime: () => runs < 5,
        onProgress: (p) => {
          runs++;
          runTimes.push(p.runTime);
        },
      });
      const stored = await interrupted.store.getBackfill();
      const second = await backfill(detector, { telemetry, store: interrupted.store, now: () => T0 + 3 * DAY + H }, {
        from: T0,
        to: T0 + DAY,
        runId: 'second',
        onProgress: (p) => runTimes.push(p.runTime),
      });
      await backfill(detector, { telemetry, store: straight.store, now: () => T0 + 3 * DAY }, { from: T0, to: T0 + DAY, runId: 'straight' });

      // Assess
      expect(first).toMatchObject({ complete: false, stopped: 'time', runs: 5, doneUntil: T0 + 5 * STRIDE });
      expect(stored).toEqual({ from: T0, to: T0 + DAY, doneUntil: T0 + 5 * STRIDE, startedAt: T0 + 3 * DAY, updatedAt: T0 + 3 * DAY, startedBy: 'first' });
      expect(second).toMatchObject({ complete: true, resumedFrom: T0 + 5 * STRIDE, runs: 27, doneUntil: T0 + DAY });
      expect(runTimes).toEqual(backfillRunTimes(T0, T0 + DAY, STRIDE));
      expect(await interrupted.store.getBackfill()).toMatchObject({ doneUntil: T0 + DAY, startedBy: 'first', updatedAt: T0 + 3 * DAY + H });
      expect(await baselinesOf(interrupted.store)).toEqual(await baselinesOf(straight.store));
    } finally {
      await interrupted.close();
      await straight.close();
    }
  });

  it('continues the same backfill asked again later with a later end, and learns only the new part', async () => {
    // Prepare: the CLI's default end is now, so the same command a while later asks for a later end
    const events = fleet(2);
    const { store, close } = await storeFor();
    const telemetry = new ReplayTelemetrySource(events);
    let runs = 0;
    try {
      await backfill(detector, { telemetry, store, now: () => T0 + DAY }, { from: T0, to: T0 + DAY, runId: 'a', hasTime: () => runs++ < 10 });
      const runTimes: number[] = [];

      // Act
      const later = await backfill(detector, { telemetry, store, now: () => T0 + DAY + 2 * H }, {
        from: T0 + 2 * H,
        to: T0 + DAY + 2 * H,
        runId: 'b',
        onProgress: (p) => runTimes.push(p.runTime),
      });

      // Assess
      expect(later).toMatchObject({ from: T0, to: T0 + DAY + 2 * H, complete: true, resumedFrom: T0 + 10 * STRIDE });
      expect(runTimes[0]).toBe(T0 + 11 * STRIDE);
      expect(runTimes.at(-1)).toBe(T0 + DAY + 2 * H);
      expect((await store.getBaselines(['root'])).get('root')?.buckets).toHaveLength(96 + 8);
    } finally {
      await close();
    }
  });

  it('gives the same baselines run concurrently with scheduled detection runs as one after the other, and leaves the checkpoint to them', async () => {
    // Prepare
    const events = fleet(2);
    const concurrent = await startHarness({}, events);
    const sequential = await startHarness({}, events);
    const scheduleDay2 = async (h: Awaited<ReturnType<typeof startHarness>>) => {
      for (let t = T0 + DAY + BUCKET; t <= T0 + 2 * DAY; t += BUCKET) await h.scheduledAt(t);
    };
    const backfillInto = (store: BaselineStore, runId: string) =>
      backfill(detector, { telemetry: new ReplayTelemetrySource(events), store, now: () => T0 + 2 * DAY }, { from: T0, to: T0 + 2 * DAY, runId });

    try {
      // Act
      await Promise.all([backfillInto(concurrent.store, 'concurrent'), scheduleDay2(concurrent)]);
      await backfillInto(sequential.store, 'sequential');
      const checkpointAfterBackfill = (await sequential.store.getModelState()).checkpoint;
      await scheduleDay2(sequential);

      // Assess
      expect(await baselinesOf(concurrent.store)).toEqual(await baselinesOf(sequential.store));
      expect((await baselinesOf(sequential.store))['root']?.buckets).toHaveLength(2 * 96);
      expect(checkpointAfterBackfill).toBeUndefined();
      expect(await concurrent.store.getModelState()).toEqual({ observedSince: T0 - 30 * MINUTE, checkpoint: T0 + 2 * DAY });
    } finally {
      await concurrent.close();
      await sequential.close();
    }
  });

  it('stops the one-shot invocation when time runs short and completes it on the next invocation', async () => {
    // Prepare: each run takes 10 s of (simulated) time; the first invocation has 60 s, 30 of them kept in hand
    const events = fleet(2);
    const { store, close } = await storeFor();
    const clock = { now: T0 + 3 * DAY };
    const source = new ReplayTelemetrySource(events);
    const slow: InvocationTelemetry = {
      candidates: (window) => {
        clock.now += 10_000;
        return source.candidates(window);
      },
      auditRecords: (window, keys) => source.auditRecords(window, keys),
    };
    const logged: string[] = [];
    const metrics = new Map<string, number>();
    let detectCalls = 0;
    const handler = createInvocationHandler({
      detect: async () => {
        detectCalls++;
        return {} as DetectResult;
      },
      backfill: createBackfillJob({
        detector,
        store,
        telemetryFor: () => slow,
        logger: { info: (m) => logged.push(m), warn: (m) => logged.push(m) },
        metrics: { addMetric: (name, _unit, value) => metrics.set(name, (metrics.get(name) ?? 0) + value) },
        now: () => clock.now,
      }),
    });
    const payload = { backfill: { days: 1, to: '2026-11-03T00:07:00Z' } };

    try {
      // Act
      const first = await handler(payload, { awsRequestId: 'invoke-1', getRemainingTimeInMillis: () => 60_000 });
      const second = await handler(payload, { awsRequestId: 'invoke-2', getRemainingTimeInMillis: () => 600_000 });
      await handler({ time: '2026-11-05T00:00:00Z' }, { awsRequestId: 'scheduled', getRemainingTimeInMillis: () => 600_000 });

      // Assess
      expect(first).toEqual({
        backfill: { from: '2026-11-02T00:00:00.000Z', to: '2026-11-03T00:00:00.000Z', doneUntil: '2026-11-02T01:30:00.000Z', complete: false, runs: 2, eventsRead: expect.any(Number), users: 2, stopped: 'time' },
      });
      expect(second).toMatchObject({ backfill: { doneUntil: '2026-11-03T00:00:00.000Z', complete: true, runs: 30, resumedFrom: '2026-11-02T01:30:00.000Z' } });
      expect(detectCalls).toBe(1);
      expect(metrics.get('BackfillRuns')).toBe(32);
      expect(logged).toContain('backfill not complete: invoke again with the same payload to continue');
      expect((await store.getBaselines(['root'])).get('root')?.buckets).toHaveLength(96);
      await expect(handler({ backfill: { days: 0 } }, { awsRequestId: 'bad', getRemainingTimeInMillis: () => 600_000 })).rejects.toThrow(ConfigError);
      await expect(handler({ backfill: { days: 0 } }, { awsRequestId: 'bad', getRemainingTimeInMillis: () => 600_000 })).rejects.toThrow(
        /"days" must be a whole number from 1 to 30/,
      );
    } finally {
      await close();
    }
  });
});

describe('backfill against AWS: CloudWatch Logs and the deployed table', () => {
  const logs = mockClient(CloudWatchLogsClient);
  let dynamo: EmbeddedDynamo;
  const events = fleet(2).map((e) => ({ ...e, logGroup: '/fleet/ecs' }));
  const config = parseDetectorConfig({});
  const tableStore = (table: string) => new DynamoDbBaselineStore({ client: dynamo.client, tableName: table, memoryMs: config.memoryMs, bucketMs: config.bucketMs });

  const filterLogEvents = filterLogEventsFrom(() => events);

  beforeAll(async () => {
    dynamo = await startEmbeddedDynamo({ tableName: 'imds-watch-cli' });
    await dynamo.client.send(new CreateTableCommand(createTableInput('imds-watch-fn')));
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      TABLE_NAME: 'imds-watch-fn',
      TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:imds-watch-alerts',
      LOG_GROUPS: '/fleet/ecs',
      POWERTOOLS_METRICS_NAMESPACE: 'ImdsWatch',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    });
    logs.on(FilterLogEventsCommand).callsFake(filterLogEvents);
    logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [{ logGroupName: '/fleet/ecs' }] });
  });

  afterAll(async () => {
    logs.restore();
    await dynamo.close();
  });

  it('reads CloudWatch Logs window by window into the table named by --table', async () => {
    // Prepare
    const io = capturedIo();
    logs.resetHistory();

    // Act
    const code = await main(['backfill', '--days', '1', '--to', '2026-11-03T00:00:00Z', '--log-groups', '/fleet/ec*', '--table', 'imds-watch-cli', '--region', 'us-east-1'], io);

    // Assess
    expect(code).toBe(0);
    expect(JSON.parse(io.out())).toMatchObject({ complete: true, runs: 32, users: 3, store: 'table imds-watch-cli', source: 'log groups /fleet/ec*' });
    const store = tableStore('imds-watch-cli');
    const baselines = await baselinesOf(store);
    expect(baselines['root']?.buckets).toHaveLength(96);
    expect(baselines['app']?.buckets).toHaveLength(24);
    expect(baselines['deploy']?.buckets).toEqual([T0 + 9 * H]);
    expect(await store.getBackfill()).toMatchObject({ from: T0, to: T0 + DAY, doneUntil: T0 + DAY });
    expect((await store.getModelState()).checkpoint).toBeUndefined();
    const windows = new Set(logs.commandCalls(FilterLogEventsCommand).map((c) => `${c.args[0].input.startTime}-${c.args[0].input.endTime}`));
    expect([...windows]).toEqual(backfillRunTimes(T0, T0 + DAY, STRIDE).map((t) => `${t - 75 * MINUTE}-${t - 1}`));
    expect(logs.commandCalls(DescribeLogGroupsCommand)[0]?.args[0].input.logGroupNamePrefix).toBe('/fleet/ec');
  });

  it('exits 1 with one line when the table does not exist', async () => {
    // Prepare
    const io = capturedIo();
    // Act
    const code = await main(['backfill', '--days', '1', '--to', '2026-11-03T00:00:00Z', '--log-groups', '/fleet/ecs', '--table', 'no-such-table'], io);
    // Assess
    expect(code).toBe(1);
    expect(io.err()).toMatch(/^imds-watch: backfill stopped: DynamoDB GetItem on no-such-table failed: .*run the same command again to continue\)\n$/);
  });

  it('takes a one-shot backfill event in the deployed function and continues it on the next invocation', async () => {
    // Prepare
    const { handler } = await import('../../functions/detect.js');
    const context = (id: string, remainingMs: number) => ({
      awsRequestId: id,
      functionName: 'imds-watch-detect',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:imds-watch-detect',
      memoryLimitInMB: '512',
      logGroupName: '/aws/lambda/imds-watch-detect',
      logStreamName: 's',
      callbackWaitsForEmptyEventLoop: false,
      getRemainingTimeInMillis: () => remainingMs,
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    });
    const payload = { backfill: { days: 1, to: '2026-11-03T00:00:00Z' } };

    // Act: the first invocation has no time beyond the 30 s kept in hand
    const first = await handler(payload, context('one-shot-1', 30_000));
    const second = await handler(payload, context('one-shot-2', 600_000));

    // Assess
    expect(first).toMatchObject({ backfill: { doneUntil: '2026-11-02T00:00:00.000Z', to: '2026-11-03T00:00:00.000Z', complete: false, runs: 0 } });
    expect(second).toMatchObject({ backfill: { doneUntil: '2026-11-03T00:00:00.000Z', complete: true, runs: 32 } });
    const store = tableStore('imds-watch-fn');
    expect((await baselinesOf(store))['root']?.buckets).toHaveLength(96);
    expect(await store.getModelState()).toEqual({ observedSince: T0 - 30 * MINUTE });
  });
});
