// LogsInsightsSource against a mocked CloudWatch Logs client (aws-sdk-client-mock): queries,
// polling, limits, failures and the evidence read.

import {
  CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  FilterLogEventsCommand,
  GetQueryResultsCommand,
  LimitExceededException,
  ResourceNotFoundException,
  StartQueryCommand,
  StopQueryCommand,
  type GetQueryResultsCommandOutput,
  type StartQueryCommandInput,
} from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { LogsInsightsSource, windowedQuery, type LogsInsightsSourceOptions } from '../../../src/adapters/logs-insights-source.js';
import { createEndpointCatalogue } from '../../../src/endpoints/endpoint-catalogue.js';
import { TelemetryBudgetExceeded, TelemetrySourceError } from '../../../src/errors.js';
import type { TimeWindow } from '../../../src/ports.js';
import { buildFilterPatterns } from '../../../src/telemetry/cloudwatch-filter-pattern.js';
import { shardOfLogGroup } from '../../../src/telemetry/insights/log-group-shards.js';
import type { LogEvent } from '../../../src/telemetry/log-event.js';

const MINUTE = 60_000;
const BUCKET = 15 * MINUTE;
const T0 = Date.UTC(2024, 0, 15, 12);
const WINDOW: TimeWindow = { start: T0 - 45 * MINUTE, end: T0 };
const catalogue = createEndpointCatalogue();

const client = new CloudWatchLogsClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } });
const cwl = mockClient(client);
beforeEach(() => cwl.reset());
afterAll(() => {
  cwl.restore();
  client.destroy();
});

type Answer = (input: StartQueryCommandInput) => Partial<GetQueryResultsCommandOutput>[];

/** Each StartQuery gets a query id; its GetQueryResults answers come from `answer(input)`, in order (the last repeats). */
function serveQueries(answer: Answer): StartQueryCommandInput[] {
  const started: StartQueryCommandInput[] = [];
  const answers = new Map<string, Partial<GetQueryResultsCommandOutput>[]>();
  cwl.on(StartQueryCommand).callsFake((input: StartQueryCommandInput) => {
    started.push(input);
    const queryId = `q${started.length}`;
    answers.set(queryId, answer(input));
    return { queryId };
  });
  cwl.on(GetQueryResultsCommand).callsFake(({ queryId }: { queryId: string }) => {
    const list = answers.get(queryId) ?? [];
    return list.length > 1 ? list.shift() : list[0];
  });
  cwl.on(StopQueryCommand).resolves({ success: true });
  return started;
}

const row = (group: string, stream: string, uid: string, bucket: number, calls = 1) =>
  Object.entries({ lg: `123456789012:${group}`, ls: stream, ecs: '0', bucket: String(bucket), uidv: uid, calls: String(calls), first: String(bucket + MINUTE), last: String(bucket + 2 * MINUTE) }).map(
    ([field, value]) => ({ field, value }),
  );
const complete = (results: ReturnType<typeof row>[], bytes = 1000): Partial<GetQueryResultsCommandOutput> => ({
  status: 'Complete',
  results,
  statistics: { recordsScanned: 100, recordsMatched: results.length, bytesScanned: bytes },
});

function newSource(overrides: Partial<LogsInsightsSourceOptions> = {}, clock = { now: T0 }): { source: LogsInsightsSource; sleeps: number[] } {
  const sleeps: number[] = [];
  const source = new LogsInsightsSource({
    client,
    logGroups: ['/g1'],
    catalogue,
    bucketMs: BUCKET,
    budget: { deadline: () => T0 + 10 * MINUTE, now: () => clock.now },
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.now += ms;
    },
    random: () => 0.5,
    ...overrides,
  });
  return { source, sleeps };
}

describe('LogsInsightsSource queries', () => {
  it('starts one query over the window, polls until it completes and names the users', async () => {
    // Prepare
    const started = serveQueries(() => [{ status: 'Scheduled' }, { status: 'Running' }, complete([row('/g1', 'i-1', '0', T0 - BUCKET, 3), row('/g1', 'i-2', '1001', T0 - BUCKET)])]);
    const { source, sleeps } = newSource();
    // Act
    const reading = await source.activity(WINDOW);
    // Assess
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({ logGroupNames: ['/g1'], startTime: WINDOW.start / 1000, endTime: WINDOW.end / 1000, limit: 10_000 });
    expect(started[0]?.queryString).toBe(windowedQuery(source.query, WINDOW));
    expect(sleeps).toEqual([500, 750]);
    expect(reading.rows.map((r) => [r.user, r.host, r.calls, r.logGroup])).toEqual([
      ['root', 'i-1', 3, '/g1'],
      ['uid:1001', 'i-2', 1, '/g1'],
    ]);
    expect(reading).toMatchObject({ recordsScanned: 100, recordsMatched: 2, bytesScanned: 1000 });
    expect(source.requestCounts()).toMatchObject({ StartQuery: 1, GetQueryResults: 3, BytesScanned: 1000 });
  });

  it('batches log groups 50 to a query', async () => {
    // Prepare
    const groups = Array.from({ length: 120 }, (_, i) => `/fleet/g${i}`);
    const started = serveQueries(() => [complete([])]);
    const { source } = newSource({ logGroups: groups });
    // Act
    await source.activity(WINDOW);
    // Assess
    expect(started.map((s) => s.logGroupNames?.length)).toEqual([50, 50, 20]);
    expect(started.flatMap((s) => s.logGroupNames)).toEqual(groups);
  });

  it('resolves prefixes and queries only the log groups of its shard', async () => {
    // Prepare
    const names = Array.from({ length: 12 }, (_, i) => `/fleet/audit-${i}`);
    cwl.on(DescribeLogGroupsCommand).resolves({ logGroups: names.map((logGroupName) => ({ logGroupName })) });
    const started = serveQueries(() => [complete([])]);
    const { source } = newSource({ logGroups: ['/fleet/audit*'], shard: 1, shards: 3 });
    // Act
    await source.activity(WINDOW);
    // Assess
    const expected = names.filter((n) => shardOfLogGroup(n, 3) === 1);
    expect(expected.length).toBeGreaterThan(0);
    expect(started.flatMap((s) => s.logGroupNames)).toEqual(expected);
  });

  it('limits the queries running at once', async () => {
    // Prepare: every query runs for two polls; count how many are open at a time.
    let open = 0;
    let most = 0;
    const polls = new Map<string, number>();
    cwl.on(StartQueryCommand).callsFake(() => {
      open++;
      most = Math.max(most, open);
      return { queryId: `q${open}-${Math.random()}` };
    });
    cwl.on(GetQueryResultsCommand).callsFake(({ queryId }: { queryId: string }) => {
      const n = (polls.get(queryId) ?? 0) + 1;
      polls.set(queryId, n);
      if (n < 3) return { status: 'Running' };
      open--;
      return complete([]);
    });
    const { source } = newSource({ logGroups: Array.from({ length: 10 }, (_, i) => `/g${i}`), logGroupsPerQuery: 1, maxConcurrentQueries: 3 });
    // Act
    await source.activity(WINDOW);
    // Assess
    expect(cwl.commandCalls(StartQueryCommand)).toHaveLength(10);
    expect(most).toBe(3);
  });
});

describe('LogsInsightsSource limits and failures', () => {
  it('splits a query that returned the row limit, by log groups then by bucket, and sums the parts', async () => {
    // Prepare: rowLimit 2. Both groups together, and /g1 alone, fill it; /g1 per bucket does not.
    const started = serveQueries((input) => {
      const groups = input.logGroupNames ?? [];
      const span = ((input.endTime ?? 0) - (input.startTime ?? 0)) * 1000;
      if (groups.length === 2) return [complete([row('/g1', 'i-1', '0', T0 - BUCKET), row('/g2', 'i-2', '0', T0 - BUCKET)])];
      if (groups[0] === '/g2') return [complete([row('/g2', 'i-2', '0', T0 - BUCKET)])];
      if (span > BUCKET) return [complete([row('/g1', 'i-1', '0', T0 - BUCKET), row('/g1', 'i-1', '0', T0 - 2 * BUCKET)])];
      const bucket = Math.floor(((input.startTime ?? 0) * 1000) / BUCKET) * BUCKET;
      return [complete([row('/g1', 'i-1', '33', bucket, 2)])];
    });
    const { source } = newSource({ logGroups: ['/g1', '/g2'], rowLimit: 2 });
    // Act
    const reading = await source.activity(WINDOW);
    // Assess
    expect(started.map((s) => `${s.logGroupNames?.join('+')}@${((s.endTime ?? 0) - (s.startTime ?? 0)) / 60}m`)).toEqual([
      '/g1+/g2@45m',
      '/g1@45m',
      '/g2@45m',
      '/g1@15m',
      '/g1@15m',
      '/g1@15m',
    ]);
    expect(reading.rows.filter((r) => r.logGroup === '/g1').map((r) => [r.user, r.bucketStart, r.calls])).toEqual([
      ['uid:33', T0 - 3 * BUCKET, 2],
      ['uid:33', T0 - 2 * BUCKET, 2],
      ['uid:33', T0 - BUCKET, 2],
    ]);
    expect(source.requestCounts()['RowLimitSplits']).toBe(2);
  });

  it('fails the run rather than truncate when one minute of one log group still fills the limit', async () => {
    // Prepare
    serveQueries(() => [complete([row('/g1', 'i-1', '0', T0 - BUCKET), row('/g1', 'i-2', '0', T0 - BUCKET)])]);
    const { source } = newSource({ rowLimit: 2 });
    // Act
    const outcome = source.activity({ start: T0 - MINUTE, end: T0 });
    // Assess
    await expect(outcome).rejects.toThrow(/cannot be split further/);
  });

  it('retries a throttled StartQuery with backoff', async () => {
    // Prepare
    const throttled = new LimitExceededException({ message: 'too many concurrent queries', $metadata: {} });
    cwl.on(StartQueryCommand).rejectsOnce(throttled).rejectsOnce(throttled).resolves({ queryId: 'q1' });
    cwl.on(GetQueryResultsCommand).resolves(complete([row('/g1', 'i-1', '0', T0 - BUCKET)]));
    const { source, sleeps } = newSource();
    // Act
    const reading = await source.activity(WINDOW);
    // Assess
    expect(reading.rows).toHaveLength(1);
    expect(sleeps).toEqual([100, 200]);
    expect(source.requestCounts()['StartQuery']).toBe(3);
  });

  it('fails the run when a query ends Failed', async () => {
    // Prepare
    serveQueries(() => [{ status: 'Running' }, { status: 'Failed' }]);
    const { source } = newSource();
    // Act
    const outcome = source.activity(WINDOW);
    // Assess
    await expect(outcome).rejects.toThrow(TelemetrySourceError);
    await expect(source.activity(WINDOW)).rejects.toThrow(/ended Failed/);
  });

  it('stops the query and reports what was not read when the time budget runs out', async () => {
    // Prepare: the query never finishes; the deadline is 3 s away.
    serveQueries(() => [{ status: 'Running' }]);
    const clock = { now: T0 };
    const { source } = newSource({ budget: { deadline: () => T0 + 3_000, now: () => clock.now } }, clock);
    // Act
    const outcome = source.activity(WINDOW);
    // Assess
    await expect(outcome).rejects.toBeInstanceOf(TelemetryBudgetExceeded);
    await expect(outcome).rejects.toMatchObject({ unread: { logGroups: ['/g1'], start: WINDOW.start, end: WINDOW.end } });
    expect(cwl.commandCalls(StopQueryCommand).map((c) => c.args[0].input)).toEqual([{ queryId: 'q1' }]);
  });

  it('reports a missing log group and still reads the others of its batch', async () => {
    // Prepare
    const gone = new ResourceNotFoundException({ message: 'The specified log group does not exist.', $metadata: {} });
    const started: string[][] = [];
    cwl.on(StartQueryCommand).callsFake((input: StartQueryCommandInput) => {
      started.push(input.logGroupNames ?? []);
      if (input.logGroupNames?.includes('/gone')) throw gone;
      return { queryId: 'q' };
    });
    cwl.on(GetQueryResultsCommand).resolves(complete([row('/g1', 'i-1', '0', T0 - BUCKET)]));
    const { source } = newSource({ logGroups: ['/g1', '/gone', '/g3'] });
    // Act
    await source.activity(WINDOW);
    // Assess
    expect(source.missingLogGroups).toEqual(['/gone']);
    expect(started.filter((g) => !g.includes('/gone')).flat().sort()).toEqual(['/g1', '/g3']);
  });
});

describe('LogsInsightsSource evidence', () => {
  it('reads only the given streams, with the metadata filter patterns, and their auditd records', async () => {
    // Prepare
    const socket = 'type=SOCKADDR msg=audit(1705318200.123:77): saddr=02000050A9FEA9FE0000000000000000';
    const syscall = 'type=SYSCALL msg=audit(1705318200.123:77): arch=c000003e syscall=42 uid=33 exe="/usr/bin/curl"';
    cwl.on(FilterLogEventsCommand).callsFake((input: { filterPattern?: string }) =>
      input.filterPattern?.includes('audit(1705318200.123:77)')
        ? { events: [{ eventId: 'e2', timestamp: T0 - 30 * MINUTE, logStreamName: 'i-9', message: syscall }] }
        : { events: [{ eventId: 'e1', timestamp: T0 - 30 * MINUTE, logStreamName: 'i-9', message: socket }] },
    );
    const { source } = newSource();
    const evidence = source.evidence([
      { logGroup: '/g1', logStream: 'i-9' },
      { logGroup: '/g1', logStream: 'i-9' },
    ]);
    // Act
    const candidates: LogEvent[] = [];
    for await (const e of evidence.candidates(WINDOW)) candidates.push(e);
    const records: LogEvent[] = [];
    for await (const e of evidence.auditRecords(WINDOW, [{ logGroup: '/g1', logStream: 'i-9', node: '', auditId: '1705318200.123:77' }])) records.push(e);
    // Assess
    const inputs = cwl.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input);
    expect(inputs.every((i) => i.logGroupName === '/g1' && JSON.stringify(i.logStreamNames) === '["i-9"]')).toBe(true);
    expect(inputs[0]).toMatchObject({ startTime: WINDOW.start, endTime: WINDOW.end - 1 });
    const candidatePatterns = inputs.filter((i) => !i.filterPattern?.includes('audit(')).map((i) => i.filterPattern);
    expect(candidatePatterns).toEqual(buildFilterPatterns(catalogue.needles));
    expect(candidates.map((e) => e.eventId)).toEqual(['e1']);
    expect(records.map((e) => e.eventId)).toEqual(['e2']);
  });
});
