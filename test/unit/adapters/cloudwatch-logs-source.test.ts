// CloudWatchLogsSource against a mocked CloudWatch Logs client (aws-sdk-client-mock), and the
// filter patterns it sends.

import {
  CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  FilterLogEventsCommand,
  ResourceNotFoundException,
  ThrottlingException,
  type DescribeLogGroupsCommandInput,
  type FilterLogEventsCommandInput,
  type FilterLogEventsCommandOutput,
  type FilteredLogEvent,
} from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { CloudWatchLogsSource, type CloudWatchLogsSourceOptions } from '../../../src/adapters/cloudwatch-logs-source.js';
import { createEndpointCatalogue } from '../../../src/endpoints/endpoint-catalogue.js';
import { TelemetryBudgetExceeded, TelemetrySourceError } from '../../../src/errors.js';
import type { AuditEventKey, TimeWindow } from '../../../src/ports.js';
import { auditIdOf } from '../../../src/telemetry/auditd/audit-record.js';
import {
  auditIdFilterPatterns,
  auditRecordQueries,
  buildFilterPatterns,
  caseVariants,
  MAX_FILTER_PATTERN_LENGTH,
} from '../../../src/telemetry/cloudwatch-filter-pattern.js';
import type { LogEvent } from '../../../src/telemetry/log-event.js';

const MINUTE = 60_000;
/** 12:00 UTC, 15 January 2024. */
const T0 = Date.UTC(2024, 0, 15, 12);
const WINDOW: TimeWindow = { start: T0 - 45 * MINUTE, end: T0 };
const catalogue = createEndpointCatalogue();

const client = new CloudWatchLogsClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } });
const cwl = mockClient(client);

beforeEach(() => {
  cwl.reset();
});

afterAll(() => {
  cwl.restore();
  client.destroy();
});

function newSource(overrides: Partial<CloudWatchLogsSourceOptions> = {}): { source: CloudWatchLogsSource; sleeps: number[] } {
  const sleeps: number[] = [];
  const source = new CloudWatchLogsSource({
    client,
    logGroups: ['/aws/ec2/audit'],
    needles: ['169.254.169.254'],
    budget: { deadline: () => T0 + 10 * MINUTE, now: () => T0 },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...overrides,
  });
  return { source, sleeps };
}

function event(eventId: string, message: string, offsetMs = 0, logStreamName = 'i-0abc'): FilteredLogEvent {
  return { eventId, message, timestamp: WINDOW.start + offsetMs, ingestionTime: WINDOW.start + offsetMs + 2_000, logStreamName };
}

const page = (events: FilteredLogEvent[], nextToken?: string): FilterLogEventsCommandOutput => ({
  events,
  ...(nextToken ? { nextToken } : {}),
  $metadata: {},
});

async function collect(iterable: AsyncIterable<LogEvent>): Promise<LogEvent[]> {
  const out: LogEvent[] = [];
  for await (const e of iterable) out.push(e);
  return out;
}

const filterInputs = (): FilterLogEventsCommandInput[] => cwl.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input);

describe('CloudWatchLogsSource candidates', () => {
  it('reads all three pages of a query, each once, over the half-open window', async () => {
    // Prepare
    const pages: Record<string, FilterLogEventsCommandOutput> = {
      first: page([event('e1', 'curl http://169.254.169.254/', 1), event('e2', 'curl 169.254.169.254', 2)], 't1'),
      t1: page([event('e3', 'wget 169.254.169.254', 3)], 't2'),
      t2: page([event('e4', 'python 169.254.169.254', 4), event('e5', 'aws 169.254.169.254', 5)]),
    };
    cwl.on(FilterLogEventsCommand).callsFake((input: FilterLogEventsCommandInput) => pages[input.nextToken ?? 'first']);
    const { source } = newSource({ pageLimit: 2 });

    // Act
    const events = await collect(source.candidates(WINDOW));

    // Assess
    expect(events.map((e) => e.eventId)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
    expect(events[0]).toEqual({
      timestamp: WINDOW.start + 1,
      ingestionTime: WINDOW.start + 2_001,
      logGroup: '/aws/ec2/audit',
      logStream: 'i-0abc',
      eventId: 'e1',
      message: 'curl http://169.254.169.254/',
    });
    const inputs = filterInputs();
    expect(inputs.map((i) => i.nextToken)).toEqual([undefined, 't1', 't2']);
    for (const input of inputs) {
      expect(input).toMatchObject({
        logGroupName: '/aws/ec2/audit',
        startTime: WINDOW.start,
        endTime: WINDOW.end - 1,
        filterPattern: source.filterPatterns[0],
        limit: 2,
      });
    }
    expect(source.requestCounts()).toEqual({ FilterLogEvents: 3 });
  });

  it('yields events of the window that were ingested after the window ended', async () => {
    // Prepare
    const late = { ...event('late', '169.254.169.254', 44 * MINUTE), ingestionTime: WINDOW.end + 5 * MINUTE };
    cwl.on(FilterLogEventsCommand).resolves(page([late]));
    const { source } = newSource();

    // Act
    const events = await collect(source.candidates(WINDOW));

    // Assess
    expect(events.map((e) => [e.eventId, e.ingestionTime])).toEqual([['late', WINDOW.end + 5 * MINUTE]]);
  });

  it('yields an event matched by two filter patterns once', async () => {
    // Prepare
    const { source } = newSource({ needles: catalogue.needles });
    expect(source.filterPatterns.length).toBeGreaterThan(1);
    const [firstPattern] = source.filterPatterns;
    cwl.on(FilterLogEventsCommand).callsFake((input: FilterLogEventsCommandInput) =>
      input.filterPattern === firstPattern
        ? page([event('shared', 'curl http://0xA9.0xFE.0xA9.0xFE/ 169.254.169.254', 1), event('only-first', 'x 0xa9.0xfe.0xa9.0xfe', 2)])
        : page([event('shared', 'curl http://0xA9.0xFE.0xA9.0xFE/ 169.254.169.254', 1), event('only-second', 'x 169.254.169.254', 3)]),
    );

    // Act
    const events = await collect(source.candidates(WINDOW));

    // Assess
    expect(events.map((e) => e.eventId).sort()).toEqual(['only-first', 'only-second', 'shared']);
    expect(filterInputs().map((i) => i.filterPattern)).toEqual(source.filterPatterns);
  });

  it('resolves a log group prefix over every DescribeLogGroups page, once per source', async () => {
    // Prepare
    cwl.on(DescribeLogGroupsCommand).callsFake((input: DescribeLogGroupsCommandInput) =>
      input.nextToken === undefined
        ? { logGroups: [{ logGroupName: '/aws/ec2/audit-a' }, { logGroupName: '/aws/ec2/audit-b' }], nextToken: 'd1', $metadata: {} }
        : { logGroups: [{ logGroupName: '/aws/ec2/audit-c' }, { logGroupName: '/ecs/defend' }], $metadata: {} },
    );
    cwl.on(FilterLogEventsCommand).callsFake((input: FilterLogEventsCommandInput) =>
      page([event(`${input.logGroupName ?? ''}-1`, '169.254.169.254', 1)]),
    );
    const { source } = newSource({ logGroups: ['/aws/ec2/audit*', '/ecs/defend'] });

    // Act
    const first = await collect(source.candidates(WINDOW));
    const second = await collect(source.candidates({ start: WINDOW.start + 15 * MINUTE, end: WINDOW.end + 15 * MINUTE }));

    // Assess
    const describeCalls = cwl.commandCalls(DescribeLogGroupsCommand).map((c) => c.args[0].input);
    expect(describeCalls).toEqual([{ logGroupNamePrefix: '/aws/ec2/audit' }, { logGroupNamePrefix: '/aws/ec2/audit', nextToken: 'd1' }]);
    const groups = ['/aws/ec2/audit-a', '/aws/ec2/audit-b', '/aws/ec2/audit-c', '/ecs/defend'];
    expect(first.map((e) => e.logGroup)).toEqual(groups);
    expect(second.map((e) => e.logGroup)).toEqual(groups);
    expect(source.requestCounts()).toEqual({ DescribeLogGroups: 2, FilterLogEvents: 8 });
    expect(source.missingLogGroups).toEqual([]);
  });

  it('reports a log group that does not exist and still reads the others', async () => {
    // Prepare
    cwl.on(FilterLogEventsCommand, { logGroupName: '/gone' }).rejects(
      new ResourceNotFoundException({ message: 'The specified log group does not exist.', $metadata: { httpStatusCode: 400 } }),
    );
    cwl.on(FilterLogEventsCommand, { logGroupName: '/aws/ec2/audit' }).resolves(page([event('e1', '169.254.169.254', 1)]));
    cwl.on(DescribeLogGroupsCommand).resolves({ logGroups: [], $metadata: {} });
    const { source } = newSource({ logGroups: ['/gone', '/aws/ec2/audit', '/nothing-here*'] });

    // Act
    const events = await collect(source.candidates(WINDOW));

    // Assess
    expect(events.map((e) => e.eventId)).toEqual(['e1']);
    expect(source.missingLogGroups).toEqual(['/nothing-here*', '/gone']);
  });

  it('retries a throttled page with growing, jittered backoff instead of skipping it', async () => {
    // Prepare
    const throttled = () => new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
    cwl
      .on(FilterLogEventsCommand)
      .resolvesOnce(page([event('e1', '169.254.169.254', 1)], 't1'))
      .rejectsOnce(throttled())
      .rejectsOnce(throttled())
      .resolvesOnce(page([event('e2', '169.254.169.254', 2)]));
    const { source, sleeps } = newSource({ baseDelayMs: 100 });

    // Act
    const events = await collect(source.candidates(WINDOW));

    // Assess
    expect(events.map((e) => e.eventId)).toEqual(['e1', 'e2']);
    expect(filterInputs().map((i) => i.nextToken)).toEqual([undefined, 't1', 't1', 't1']);
    expect(sleeps).toEqual([50, 100]); // random 0.5 of 100, then of 200
    expect(source.requestCounts()).toEqual({ FilterLogEvents: 4 });
  });

  it('fails at once with a TelemetrySourceError on an error that retrying cannot fix', async () => {
    // Prepare
    const denied = Object.assign(new Error('not authorized to perform logs:FilterLogEvents'), {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
    });
    cwl.on(FilterLogEventsCommand).rejects(denied);
    const { source, sleeps } = newSource();

    // Act
    const reading = collect(source.candidates(WINDOW));

    // Assess
    await expect(reading).rejects.toThrow(TelemetrySourceError);
    await expect(reading).rejects.toThrow(/AccessDeniedException/);
    expect(sleeps).toEqual([]);
    expect(source.requestCounts()).toEqual({ FilterLogEvents: 1 });
  });

  it('stops with TelemetryBudgetExceeded naming the unread log groups when the deadline passes between pages', async () => {
    // Prepare
    let now = T0;
    cwl.on(FilterLogEventsCommand).callsFake((input: FilterLogEventsCommandInput) => {
      now += 6 * MINUTE; // each page takes six minutes of the budget
      return page([event(`${input.logGroupName ?? ''}-${input.nextToken ?? 'first'}`, '169.254.169.254', 1)], 'more');
    });
    const { source } = newSource({
      logGroups: ['/a', '/b', '/c'],
      budget: { deadline: () => T0 + 10 * MINUTE, now: () => now },
    });
    const seen: string[] = [];

    // Act
    const reading = (async () => {
      for await (const e of source.candidates(WINDOW)) seen.push(e.eventId);
    })();

    // Assess
    const error: unknown = await reading.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TelemetryBudgetExceeded);
    expect((error as TelemetryBudgetExceeded).unread).toEqual({ read: 'candidates', logGroups: ['/a', '/b', '/c'], start: WINDOW.start, end: WINDOW.end });
    expect(seen).toEqual(['/a-first', '/a-more']);
  });

  it('treats a prefix without * elsewhere than at its end as a configuration error', () => {
    // Prepare
    const options = { logGroups: ['/aws/*/audit'] };

    // Act
    const build = () => newSource(options);

    // Assess
    expect(build).toThrow(/logGroups/);
  });
});

describe('CloudWatchLogsSource auditRecords', () => {
  const key = (logStream: string, auditId: string, node = '', logGroup = '/aws/ec2/audit'): AuditEventKey => ({ logGroup, logStream, node, auditId });
  const syscall = (auditId: string, node = '') =>
    `${node ? `node=${node} ` : ''}type=SYSCALL msg=audit(${auditId}): arch=c000003e syscall=42 success=no exit=-115 uid=33 comm="curl" exe="/usr/bin/curl"`;
  /** A SYSCALL record of `stream` with event id `${stream}/${auditId}${node}`. */
  const record = (stream: string, auditId: string, node = ''): FilteredLogEvent => event(`${stream}/${auditId}${node}`, syscall(auditId, node), 1, stream);
  const notFound = (what: 'stream' | 'group') =>
    new ResourceNotFoundException({ message: `The specified log ${what} does not exist.`, $metadata: { httpStatusCode: 400 } });

  /**
   * FilterLogEvents as the service answers it over `stored`: only the named streams, only events
   * holding one of the pattern's quoted terms, `pageSize` events a page. A request naming a stream
   * of `gone` fails with ResourceNotFoundException (what the API does with one missing stream
   * among several is not documented; this is the case that can lose records).
   */
  function serve(stored: readonly FilteredLogEvent[], options: { pageSize?: number; gone?: readonly string[] } = {}) {
    return async (input: FilterLogEventsCommandInput): Promise<FilterLogEventsCommandOutput> => {
      if (input.logStreamNames?.some((s) => options.gone?.includes(s))) throw notFound('stream');
      const terms = [...(input.filterPattern ?? '').matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? '');
      const matching = stored.filter(
        (e) => (input.logStreamNames === undefined || input.logStreamNames.includes(e.logStreamName ?? '')) && terms.some((t) => (e.message ?? '').includes(t)),
      );
      const offset = Number(input.nextToken ?? '0');
      const size = options.pageSize ?? 10_000;
      return page(matching.slice(offset, offset + size), offset + size < matching.length ? String(offset + size) : undefined);
    };
  }

  it('sends one query for the streams of a log group with the ids of all of them, over the window widened by a minute', async () => {
    // Prepare
    cwl.on(FilterLogEventsCommand).callsFake(
      serve([
        record('i-1', '1705319000.100:501'),
        record('i-1', '1705319000.200:502'),
        record('i-1', '1705319000.200:5020'),
        record('i-2', '1705319001.300:77', 'web-1'),
        record('i-2', '1705319001.300:77', 'web-2'),
      ]),
    );
    const { source } = newSource();

    // Act
    const events = await collect(
      source.auditRecords(WINDOW, [key('i-1', '1705319000.100:501'), key('i-1', '1705319000.200:502'), key('i-2', '1705319001.300:77', 'web-1')]),
    );

    // Assess
    expect(events.map((e) => e.eventId)).toEqual(['i-1/1705319000.100:501', 'i-1/1705319000.200:502', 'i-2/1705319001.300:77web-1']);
    expect(filterInputs()).toEqual([
      {
        logGroupName: '/aws/ec2/audit',
        logStreamNames: ['i-1', 'i-2'],
        startTime: WINDOW.start - MINUTE,
        endTime: WINDOW.end + MINUTE - 1,
        filterPattern: '?".100:501)" ?".200:502)" ?".300:77)"',
      },
    ]);
    expect(source.requestCounts()).toEqual({ FilterLogEvents: 1 });
  });

  it('keeps a record only for the stream that asked for its id when the same id occurs in another stream of the query', async () => {
    // Prepare: i-1 asks for A, i-2 for B, i-3 for A too; each stream also holds the other id.
    const A = '1705319000.100:501';
    const B = '1705319002.400:9';
    cwl.on(FilterLogEventsCommand).callsFake(serve(['i-1', 'i-2', 'i-3'].flatMap((s) => [record(s, A), record(s, B)])));
    const { source } = newSource();

    // Act
    const events = await collect(source.auditRecords(WINDOW, [key('i-1', A), key('i-2', B), key('i-3', A)]));

    // Assess
    expect(events.map((e) => e.eventId).sort()).toEqual([`i-1/${A}`, `i-2/${B}`, `i-3/${A}`]);
    const inputs = filterInputs();
    expect(inputs).toHaveLength(1);
    expect(inputs[0]?.filterPattern).toBe('?".100:501)" ?".400:9)"'); // A written once for two streams
  });

  it('names at most 100 streams in a query', async () => {
    // Prepare: 250 hosts whose events share one id, so the pattern never fills up.
    const id = '1705319000.100:501';
    const streams = Array.from({ length: 250 }, (_, i) => `i-${String(i).padStart(3, '0')}`);
    cwl.on(FilterLogEventsCommand).callsFake(serve(streams.map((s) => record(s, id))));
    const { source } = newSource();

    // Act
    const events = await collect(source.auditRecords(WINDOW, streams.map((s) => key(s, id))));

    // Assess
    expect(filterInputs().map((i) => i.logStreamNames?.length)).toEqual([100, 100, 50]);
    expect(filterInputs().flatMap((i) => i.logStreamNames)).toEqual(streams);
    expect(events).toHaveLength(250);
  });

  it('splits the ids of many streams over as few patterns as the length limit allows', async () => {
    // Prepare: one busy stream (100 ids) and 60 quiet ones (one id each), every id distinct.
    const busy = Array.from({ length: 100 }, (_, i) => `1705319000.${String(i).padStart(3, '0')}:${1000 + i}`);
    const quiet = Array.from({ length: 60 }, (_, i) => [`i-q${i}`, `1705319100.${String(i).padStart(3, '0')}:${2000 + i}`] as const);
    const keys = [...busy.map((id) => key('i-busy', id)), ...quiet.map(([s, id]) => key(s, id))];
    cwl.on(FilterLogEventsCommand).callsFake(serve([...busy.map((id) => record('i-busy', id)), ...quiet.map(([s, id]) => record(s, id))]));
    const { source } = newSource();

    // Act
    const events = await collect(source.auditRecords(WINDOW, keys));

    // Assess
    expect(events).toHaveLength(160);
    const patterns = filterInputs().map((i) => i.filterPattern ?? '');
    for (const p of patterns) expect(p.length).toBeLessThanOrEqual(MAX_FILTER_PATTERN_LENGTH);
    // Every term is `.MMM:SSSS)`, 10 characters, 14 with `?"`, `"` and a space: 73 to a pattern,
    // so 160 ids need 3 queries (63 before: 3 patterns of whole `audit(ID)` terms for the busy
    // stream, one query for each quiet one).
    expect(patterns).toHaveLength(Math.ceil(160 / Math.floor((MAX_FILTER_PATTERN_LENGTH + 1) / 14)));
  });

  it('reads each stream of a query alone when one of them has gone, and still yields the records of the others once', async () => {
    // Prepare: the first page of the shared query is read, then i-gone disappears.
    const stored = [record('i-1', '1705319000.100:501'), record('i-2', '1705319001.300:77'), record('i-3', '1705319002.400:9')];
    const live = serve(stored, { pageSize: 1 });
    let gone = false;
    cwl.on(FilterLogEventsCommand).callsFake(async (input: FilterLogEventsCommandInput) => {
      if (input.nextToken !== undefined) gone = true;
      if (gone && input.logStreamNames?.includes('i-gone')) throw notFound('stream');
      return live(input);
    });
    const { source } = newSource();

    // Act
    const events = await collect(
      source.auditRecords(WINDOW, [key('i-1', '1705319000.100:501'), key('i-gone', '1705319000.500:3'), key('i-2', '1705319001.300:77'), key('i-3', '1705319002.400:9')]),
    );

    // Assess
    expect(events.map((e) => e.eventId)).toEqual(['i-1/1705319000.100:501', 'i-2/1705319001.300:77', 'i-3/1705319002.400:9']);
    expect(filterInputs().map((i) => [i.logStreamNames, i.nextToken])).toEqual([
      [['i-1', 'i-gone', 'i-2', 'i-3'], undefined],
      [['i-1', 'i-gone', 'i-2', 'i-3'], '1'],
      [['i-1'], undefined],
      [['i-gone'], undefined],
      [['i-2'], undefined],
      [['i-3'], undefined],
    ]);
    expect(filterInputs()[4]?.filterPattern).toBe('".300:77)"');
    expect(source.missingLogGroups).toEqual([]);
  });

  it('goes on after a query of one stream that has gone, without reporting its group missing', async () => {
    // Prepare
    cwl.on(FilterLogEventsCommand).callsFake(serve([record('i-2', '1705319001.300:77')], { gone: ['i-gone'] }));
    const { source } = newSource({ logGroups: ['/a', '/b'] });

    // Act
    const events = await collect(source.auditRecords(WINDOW, [key('i-gone', '1705319000.100:501', '', '/a'), key('i-2', '1705319001.300:77', '', '/b')]));

    // Assess
    expect(events.map((e) => e.eventId)).toEqual(['i-2/1705319001.300:77']);
    expect(filterInputs().map((i) => [i.logGroupName, i.logStreamNames])).toEqual([
      ['/a', ['i-gone']],
      ['/b', ['i-2']],
    ]);
    expect(source.missingLogGroups).toEqual([]);
  });

  it('reports a log group that has gone, queries it no further, and reads the other groups', async () => {
    // Prepare: 40 ids in /gone need two queries; /kept holds one record.
    const ids = Array.from({ length: 40 }, (_, i) => `1705319000.${String(i).padStart(3, '0')}:${100 + i}`);
    cwl.on(FilterLogEventsCommand, { logGroupName: '/gone' }).rejects(notFound('group'));
    cwl.on(FilterLogEventsCommand, { logGroupName: '/kept' }).callsFake(serve([record('i-9', '1705319009.900:9')]));
    const { source } = newSource({ logGroups: ['/gone', '/kept'] });

    // Act
    const events = await collect(source.auditRecords(WINDOW, [...ids.map((id) => key('i-1', id, '', '/gone')), key('i-9', '1705319009.900:9', '', '/kept')]));

    // Assess
    expect(events.map((e) => e.eventId)).toEqual(['i-9/1705319009.900:9']);
    expect(filterInputs().map((i) => i.logGroupName)).toEqual(['/gone', '/kept']);
    expect(source.missingLogGroups).toEqual(['/gone']);
  });

  it('retries a throttled page in the middle of a shared query and reads every record of every stream', async () => {
    // Prepare
    const stored = ['i-1', 'i-2', 'i-3', 'i-4', 'i-5'].map((s, i) => record(s, `1705319000.10${i}:50${i}`));
    const live = serve(stored, { pageSize: 2 });
    const throttled = () => new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
    cwl
      .on(FilterLogEventsCommand)
      .callsFakeOnce(live)
      .rejectsOnce(throttled())
      .rejectsOnce(throttled())
      .callsFake(live);
    const { source, sleeps } = newSource({ baseDelayMs: 100 });

    // Act
    const events = await collect(source.auditRecords(WINDOW, stored.map((e) => key(e.logStreamName ?? '', auditIdOf(e.message ?? '')?.auditId ?? ''))));

    // Assess
    expect(events.map((e) => e.eventId)).toEqual(stored.map((e) => e.eventId));
    expect(filterInputs().map((i) => i.nextToken)).toEqual([undefined, '2', '2', '2', '4']);
    expect(sleeps).toEqual([50, 100]);
    expect(source.requestCounts()).toEqual({ FilterLogEvents: 5 });
  });
});

describe('auditRecordQueries', () => {
  const auditId = fc
    .tuple(fc.integer({ min: 1_000_000_000, max: 9_999_999_999 }), fc.integer({ min: 0, max: 999 }), fc.nat())
    .map(([s, ms, serial]) => `${s}.${String(ms).padStart(3, '0')}:${serial}`);

  const termOf = (id: string): string => `"${id.slice(id.indexOf('.'))})"`;

  it('puts every (stream, id) in one query that names the stream and holds the id, within both limits and near the fewest queries', () => {
    // Prepare: ids drawn from a small pool too, so that streams share ids.
    const plan = fc.record({
      pool: fc.uniqueArray(auditId, { minLength: 1, maxLength: 8 }),
      streams: fc.array(fc.tuple(fc.array(auditId, { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 5 })), { minLength: 1, maxLength: 80 }),
      maxLength: fc.integer({ min: 64, max: MAX_FILTER_PATTERN_LENGTH }),
      maxStreams: fc.integer({ min: 2, max: 100 }),
    });

    fc.assert(
      fc.property(plan, ({ pool, streams, maxLength, maxStreams }) => {
        const idsByStream = new Map(streams.map(([own, picks], i) => [`s-${i}`, [...own, ...picks.map((p) => pool[p % pool.length] ?? '')]]));

        // Act
        const queries = auditRecordQueries(idsByStream, maxLength, maxStreams);

        // Assess
        const placed = new Map<string, number>();
        for (const q of queries) {
          expect(q.filterPattern.length).toBeLessThanOrEqual(maxLength);
          expect(q.logStreamNames.length).toBeLessThanOrEqual(maxStreams);
          expect(new Set(q.logStreamNames).size).toBe(q.logStreamNames.length);
          expect([...q.idsByStream.keys()]).toEqual(q.logStreamNames);
          for (const [stream, ids] of q.idsByStream) {
            for (const id of ids) {
              expect(q.filterPattern).toContain(termOf(id));
              placed.set(`${stream} ${id}`, (placed.get(`${stream} ${id}`) ?? 0) + 1);
            }
          }
        }
        const pairs = [...idsByStream].flatMap(([s, ids]) => [...new Set(ids)].map((id) => `${s} ${id}`));
        expect([...placed.keys()].sort()).toEqual(pairs.sort());
        expect([...placed.values()].every((n) => n === 1)).toBe(true);
        // Near the fewest: a query is opened only when every other is full to within one term or
        // names maxStreams streams (each with at least one pair of its own).
        const termCost = (id: string): number => `?${termOf(id)} `.length;
        const cost = pairs.reduce((n, p) => n + termCost(p.split(' ')[1] ?? ''), 0);
        const widest = Math.max(...pairs.map((p) => termCost(p.split(' ')[1] ?? '')));
        const bound = Math.floor(cost / (maxLength + 1 - widest)) + Math.floor(pairs.length / maxStreams) + 1;
        expect(queries.length).toBeLessThanOrEqual(bound);
        // And never more than one query per (stream, pattern of whole `audit(ID)` terms), as before.
        const perStream = [...idsByStream.values()].reduce((n, ids) => n + (ids.length === 0 ? 0 : auditIdFilterPatterns(ids, maxLength).length), 0);
        expect(queries.length).toBeLessThanOrEqual(perStream);
      }),
      { numRuns: 200 },
    );
  });

  it('plans nothing for streams without ids and rejects what is not an audit id', () => {
    // Prepare
    const empty = new Map([['i-1', [] as string[]]]);
    const bad = new Map([['i-1', ['1705319000.100:501)"']]]);

    // Act
    const none = auditRecordQueries(empty);
    const build = () => auditRecordQueries(bad);

    // Assess
    expect(none).toEqual([]);
    expect(build).toThrow(RangeError);
  });
});

describe('buildFilterPatterns', () => {
  it('writes the default catalogue in patterns of at most 1024 characters that spell auditd hex in upper case', () => {
    // Prepare
    const needles = catalogue.needles;

    // Act
    const patterns = buildFilterPatterns(needles);

    // Assess
    const all = patterns.join(' ');
    for (const p of patterns) expect(p.length).toBeLessThanOrEqual(MAX_FILTER_PATTERN_LENGTH);
    for (const term of ['"169.254.169.254"', '"A9FEA9FE"', '"3136392E3235342E3136392E323534"', '"FD000EC2000000000000000000000254"', '"metadata/computeMetadata"', '"0xA9.0xFE.0xA9.0xFE"']) {
      expect(all).toContain(term);
    }
  });

  it('covers every spelling of every needle in patterns never over the limit', () => {
    // Prepare
    const needle = fc.oneof(
      fc.string({ minLength: 1, maxLength: 40 }),
      fc.stringMatching(/^[0-9a-f.:]{4,40}$/),
      fc.string({ minLength: 900, maxLength: 1500 }),
    );
    const terms = (pattern: string): string[] => [...pattern.matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? '');

    fc.assert(
      fc.property(fc.array(needle, { maxLength: 60 }), fc.integer({ min: 16, max: MAX_FILTER_PATTERN_LENGTH }), (needles, maxLength) => {
        // Act
        const patterns = buildFilterPatterns(needles, maxLength);

        // Assess
        for (const p of patterns) expect(p.length).toBeLessThanOrEqual(maxLength);
        if (patterns.length === 1 && patterns[0] === '') return; // matches every event: covers all
        const all = patterns.flatMap(terms);
        for (const n of needles) {
          for (const spelling of caseVariants(n)) {
            expect(all.some((t) => t !== '' && spelling.includes(t))).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps whole audit ids, closing parenthesis included, in every pattern', () => {
    // Prepare
    const ids = fc.uniqueArray(
      fc.tuple(fc.integer({ min: 1_000_000_000, max: 9_999_999_999 }), fc.integer({ min: 0, max: 999 }), fc.nat()).map(([s, ms, serial]) => `${s}.${String(ms).padStart(3, '0')}:${serial}`),
      { minLength: 1, maxLength: 200 },
    );

    fc.assert(
      fc.property(ids, (list) => {
        // Act
        const patterns = auditIdFilterPatterns(list);

        // Assess
        for (const p of patterns) expect(p.length).toBeLessThanOrEqual(MAX_FILTER_PATTERN_LENGTH);
        for (const id of list) expect(patterns.filter((p) => p.includes(`"audit(${id})"`))).toHaveLength(1);
      }),
    );
  });
});
