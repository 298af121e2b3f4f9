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
import {
  auditIdFilterPatterns,
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
  const key = (logStream: string, auditId: string, node = ''): AuditEventKey => ({ logGroup: '/aws/ec2/audit', logStream, node, auditId });
  const syscall = (auditId: string, node = '') =>
    `${node ? `node=${node} ` : ''}type=SYSCALL msg=audit(${auditId}): arch=c000003e syscall=42 success=no exit=-115 uid=33 comm="curl" exe="/usr/bin/curl"`;

  it('sends one query per log stream for the audit ids of that stream, over the window widened by a minute', async () => {
    // Prepare
    cwl.on(FilterLogEventsCommand).callsFake((input: FilterLogEventsCommandInput) =>
      input.logStreamNames?.[0] === 'i-1'
        ? page([
            event('s1', syscall('1705319000.100:501'), 1, 'i-1'),
            event('s2', syscall('1705319000.200:502'), 2, 'i-1'),
            event('other', syscall('1705319000.200:5020'), 3, 'i-1'),
          ])
        : page([event('s3', syscall('1705319001.300:77', 'web-1'), 4, 'i-2'), event('s4', syscall('1705319001.300:77', 'web-2'), 5, 'i-2')]),
    );
    const { source } = newSource();

    // Act
    const events = await collect(
      source.auditRecords(WINDOW, [key('i-1', '1705319000.100:501'), key('i-1', '1705319000.200:502'), key('i-2', '1705319001.300:77', 'web-1')]),
    );

    // Assess
    expect(events.map((e) => e.eventId)).toEqual(['s1', 's2', 's3']);
    expect(filterInputs()).toEqual([
      {
        logGroupName: '/aws/ec2/audit',
        logStreamNames: ['i-1'],
        startTime: WINDOW.start - MINUTE,
        endTime: WINDOW.end + MINUTE - 1,
        filterPattern: '?"audit(1705319000.100:501)" ?"audit(1705319000.200:502)"',
      },
      {
        logGroupName: '/aws/ec2/audit',
        logStreamNames: ['i-2'],
        startTime: WINDOW.start - MINUTE,
        endTime: WINDOW.end + MINUTE - 1,
        filterPattern: '"audit(1705319001.300:77)"',
      },
    ]);
  });

  it('goes on with the next stream when a stream has gone, without reporting its group missing', async () => {
    // Prepare
    cwl.on(FilterLogEventsCommand, { logStreamNames: ['i-gone'] }).rejects(
      new ResourceNotFoundException({ message: 'The specified log stream does not exist.', $metadata: { httpStatusCode: 400 } }),
    );
    cwl.on(FilterLogEventsCommand, { logStreamNames: ['i-2'] }).resolves(page([event('s2', syscall('1705319001.300:77'), 4, 'i-2')]));
    const { source } = newSource();

    // Act
    const events = await collect(source.auditRecords(WINDOW, [key('i-gone', '1705319000.100:501'), key('i-2', '1705319001.300:77')]));

    // Assess
    expect(events.map((e) => e.eventId)).toEqual(['s2']);
    expect(source.missingLogGroups).toEqual([]);
  });

  it('splits the ids of a busy stream over several patterns under the length limit', async () => {
    // Prepare
    const ids = Array.from({ length: 100 }, (_, i) => `1705319000.${String(i).padStart(3, '0')}:${1000 + i}`);
    cwl.on(FilterLogEventsCommand).callsFake((input: FilterLogEventsCommandInput) =>
      page(ids.filter((id) => input.filterPattern?.includes(`audit(${id})`)).map((id) => event(`ev-${id}`, syscall(id), 1, 'i-1'))),
    );
    const { source } = newSource();

    // Act
    const events = await collect(source.auditRecords(WINDOW, ids.map((id) => key('i-1', id))));

    // Assess
    const patterns = filterInputs().map((i) => i.filterPattern ?? '');
    expect(patterns.length).toBeGreaterThan(1);
    for (const p of patterns) expect(p.length).toBeLessThanOrEqual(MAX_FILTER_PATTERN_LENGTH);
    expect(events.map((e) => e.eventId).sort()).toEqual(ids.map((id) => `ev-${id}`).sort());
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
