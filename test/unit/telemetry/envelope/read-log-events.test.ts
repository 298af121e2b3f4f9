import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../../src/errors.js';
import { parseTimestamp, readLogEvents } from '../../../../src/telemetry/envelope/read-log-events.js';
import { MAX_LINE_BYTES } from '../../../../src/telemetry/log-event.js';
import { corpusPath } from '../../../corpus.js';

const bytesOf = (text: string): Buffer => Buffer.from(text, 'utf8');
const linesOf = (...lines: string[]): Buffer => bytesOf(lines.join('\n'));

const envelope = (timestamp: number, message: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ timestamp, message, logStreamName: 'i-0abc', ...extra });

const AUDIT_LINE = 'type=SOCKADDR msg=audit(1481078424.953:688): saddr=02000050A9FEA9FE0000000000000000';
const ECS_LINE = JSON.stringify({
  '@timestamp': '2024-05-01T10:00:00.123Z',
  event: { category: ['network'], action: 'connection_attempted' },
  host: { os: { name: 'Ubuntu' }, name: 'ip-10-0-1-12' },
  destination: { ip: '169.254.169.254', port: 80 },
  user: { name: 'www-data' },
});

describe('readLogEvents with NDJSON of CloudWatch events', () => {
  it('reads one event per line and fills the missing fields from the file', () => {
    // Prepare
    const input = linesOf(
      envelope(1000, 'first', { ingestionTime: 1500, logGroupName: '/audit', eventId: 'e-1' }),
      envelope(2000, 'second'),
    );

    // Act
    const result = readLogEvents(input, { file: '/tmp/export/events.ndjson' });

    // Assess
    expect(result.format).toBe('cloudwatch-ndjson');
    expect(result.skipped).toEqual({});
    expect(result.events).toEqual([
      { timestamp: 1000, ingestionTime: 1500, logGroup: '/audit', logStream: 'i-0abc', eventId: 'e-1', message: 'first' },
      {
        timestamp: 2000,
        ingestionTime: 2000,
        logGroup: 'file:events.ndjson',
        logStream: 'i-0abc',
        eventId: 'events.ndjson:2',
        message: 'second',
      },
    ]);
  });

  it('counts each bad line under its reason while the good lines around them come through', () => {
    // Prepare
    const good = (n: number): string => envelope(n * 1000, `good ${n}`);
    const input = Buffer.concat([
      linesOf(
        good(1),
        'this is junk',
        '{"timestamp": 5, "message": "truncat',
        JSON.stringify({ timestamp: 5, logStreamName: 'i-0abc' }), // no message
        JSON.stringify({ hello: 'world' }),
        JSON.stringify({ timestamp: -5, message: 'negative' }),
        JSON.stringify({ timestamp: 1e17, message: 'beyond year 9999' }),
        JSON.stringify({ timestamp: 'yesterday', message: 'words' }),
        good(2),
      ),
      bytesOf('\n'),
      Buffer.from([0xff, 0xfe, 0x7b, 0x7d, 0x80]),
      bytesOf('\n'),
      bytesOf(envelope(3, 'x'.repeat(300 * 1024))),
      bytesOf('\n\n   \n'),
      bytesOf(good(3)),
    ]);

    // Act
    const result = readLogEvents(input, { file: 'mixed.ndjson' });

    // Assess
    expect(result.format).toBe('cloudwatch-ndjson');
    expect(result.events.map((e) => e.message)).toEqual(['good 1', 'good 2', 'good 3']);
    expect(result.events.map((e) => e.eventId)).toEqual(['mixed.ndjson:1', 'mixed.ndjson:9', 'mixed.ndjson:14']);
    expect(result.skipped).toEqual({
      'unknown-format': 1,
      'invalid-json': 1,
      'unknown-shape': 2,
      'bad-timestamp': 3,
      'invalid-utf8': 1,
      'line-too-long': 1,
    });
  });

  it('handles CRLF line ends and a UTF-8 byte order mark', () => {
    // Prepare
    const input = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytesOf(`${envelope(1, 'a')}\r\n${envelope(2, 'b')}\r\n`)]);

    // Act
    const result = readLogEvents(input, { file: 'windows.ndjson' });

    // Assess
    expect(result.format).toBe('cloudwatch-ndjson');
    expect(result.events.map((e) => e.message)).toEqual(['a', 'b']);
    expect(result.skipped).toEqual({});
  });

  it('reads a file whose first line is truncated as lines, not as one broken document', () => {
    // Prepare
    const input = linesOf('{"timestamp": 1, "message": "cut sh', envelope(2, 'whole'));

    // Act
    const result = readLogEvents(input, { file: 'cut.ndjson' });

    // Assess
    expect(result.format).toBe('cloudwatch-ndjson');
    expect(result.events.map((e) => e.message)).toEqual(['whole']);
    expect(result.skipped).toEqual({ 'invalid-json': 1 });
  });

  it('takes a stray audit line or ECS document in an NDJSON file as a plain line', () => {
    // Prepare
    const input = linesOf(envelope(1, 'a'), AUDIT_LINE, ECS_LINE);

    // Act
    const result = readLogEvents(input, { file: 'mixed.ndjson' });

    // Assess
    expect(result.events.map((e) => [e.timestamp, e.logStream])).toEqual([
      [1, 'i-0abc'],
      [1481078424953, 'mixed.ndjson'],
      [Date.parse('2024-05-01T10:00:00.123Z'), 'ip-10-0-1-12'],
    ]);
  });
});

describe('readLogEvents with the JSON the AWS CLI prints', () => {
  const page = (events: unknown[], extra: Record<string, unknown> = {}): string =>
    JSON.stringify({ events, searchedLogStreams: [{ logStreamName: 'i-0abc', searchedCompletely: true }], ...extra }, null, 4);
  const cliEvent = (n: number): object => ({
    logStreamName: 'i-0abc',
    timestamp: n * 1000,
    message: `message ${n}`,
    ingestionTime: n * 1000 + 7,
    eventId: `3795${n}`,
  });

  it('reads the pretty-printed output of filter-log-events', () => {
    // Prepare
    const input = bytesOf(page([cliEvent(1), cliEvent(2)], { nextToken: 'abc' }));

    // Act
    const result = readLogEvents(input, { file: 'page.json' });

    // Assess
    expect(result.format).toBe('cloudwatch-json');
    expect(result.skipped).toEqual({});
    expect(result.events).toEqual([
      { timestamp: 1000, ingestionTime: 1007, logGroup: 'file:page.json', logStream: 'i-0abc', eventId: '37951', message: 'message 1' },
      { timestamp: 2000, ingestionTime: 2007, logGroup: 'file:page.json', logStream: 'i-0abc', eventId: '37952', message: 'message 2' },
    ]);
  });

  it('reads the output of get-log-events, whose events name no stream and carry no id', () => {
    // Prepare
    const input = bytesOf(
      JSON.stringify({ events: [{ timestamp: 5000, message: 'hello', ingestionTime: 5001 }], nextForwardToken: 'f/1', nextBackwardToken: 'b/1' }, null, 4),
    );

    // Act
    const result = readLogEvents(input, { file: 'stream.json' });

    // Assess
    expect(result.events).toEqual([
      { timestamp: 5000, ingestionTime: 5001, logGroup: 'file:stream.json', logStream: 'stream.json', eventId: 'stream.json:1', message: 'hello' },
    ]);
  });

  it('reads several pages concatenated, as the CLI prints them one after another', () => {
    // Prepare
    const input = bytesOf(`${page([cliEvent(1)])}\n${page([cliEvent(2)])}${JSON.stringify({ events: [cliEvent(3)] })}\n`);

    // Act
    const result = readLogEvents(input, { file: 'pages.json' });

    // Assess
    expect(result.format).toBe('cloudwatch-json');
    expect(result.events.map((e) => e.message)).toEqual(['message 1', 'message 2', 'message 3']);
  });

  it('keeps the pages before a truncated last page and counts the broken one', () => {
    // Prepare
    const second = page([cliEvent(2)]);
    const input = bytesOf(`${page([cliEvent(1)])}\n${second.slice(0, second.length / 2)}`);

    // Act
    const result = readLogEvents(input, { file: 'cut.json' });

    // Assess
    expect(result.events.map((e) => e.message)).toEqual(['message 1']);
    expect(result.skipped).toEqual({ 'invalid-json': 1 });
  });

  it('reads a compact one-line document and a bare array of events', () => {
    // Prepare
    const compact = bytesOf(JSON.stringify({ events: [cliEvent(1)] }));
    const array = bytesOf(JSON.stringify([cliEvent(2)], null, 2));

    // Act
    const fromCompact = readLogEvents(compact, { file: 'c.json' });
    const fromArray = readLogEvents(array, { file: 'a.json' });

    // Assess
    expect(fromCompact.format).toBe('cloudwatch-json');
    expect(fromCompact.events.map((e) => e.message)).toEqual(['message 1']);
    expect(fromArray.format).toBe('cloudwatch-json');
    expect(fromArray.events.map((e) => e.message)).toEqual(['message 2']);
  });

  it('counts the unusable events of a document and keeps the others', () => {
    // Prepare
    const input = bytesOf(
      page([
        cliEvent(1),
        { timestamp: 2, logStreamName: 'i-0abc' },
        { timestamp: -1, message: 'negative' },
        'not an object',
        { timestamp: 3, message: 'x'.repeat(MAX_LINE_BYTES + 1) },
        cliEvent(4),
      ]),
    );

    // Act
    const result = readLogEvents(input, { file: 'page.json' });

    // Assess
    expect(result.events.map((e) => e.message)).toEqual(['message 1', 'message 4']);
    expect(result.skipped).toEqual({ 'unknown-shape': 2, 'bad-timestamp': 1, 'line-too-long': 1 });
  });

  it('skips the events of a document that hold bytes that are not UTF-8', () => {
    // Prepare
    const [before, after] = page([cliEvent(1), cliEvent(2)]).split('message 2') as [string, string];
    const input = Buffer.concat([bytesOf(before), Buffer.from([0x6d, 0xff, 0xfe]), bytesOf(after)]);

    // Act
    const result = readLogEvents(input, { file: 'page.json' });

    // Assess
    expect(result.events.map((e) => e.message)).toEqual(['message 1']);
    expect(result.skipped).toEqual({ 'invalid-utf8': 1 });
  });

  it('rejects a JSON document that is not an object with an events array', () => {
    // Prepare
    const pretty = bytesOf(JSON.stringify({ items: [cliEvent(1)] }, null, 2));
    const truncated = bytesOf(page([cliEvent(1)]).slice(0, 60));

    // Act
    const readPretty = (): unknown => readLogEvents(pretty, { file: 'other.json' });
    const readTruncated = (): unknown => readLogEvents(truncated, { file: 'cut.json' });

    // Assess
    expect(readPretty).toThrow(InputError);
    expect(readPretty).toThrow(/other\.json: not a CloudWatch Logs JSON document/);
    expect(readTruncated).toThrow(InputError);
    expect(readTruncated).toThrow(/cut\.json: not valid JSON \(truncated document/);
  });

  it('reads the decompressed payload of a CloudWatch Logs subscription', () => {
    // Prepare
    const input = bytesOf(
      JSON.stringify({
        messageType: 'DATA_MESSAGE',
        logGroup: '/var/log/audit',
        logStream: 'i-0def',
        logEvents: [{ id: '3797', timestamp: 9000, message: AUDIT_LINE }],
      }),
    );

    // Act
    const result = readLogEvents(input, { file: 'sub.json' });

    // Assess
    expect(result.events).toEqual([
      { timestamp: 9000, ingestionTime: 9000, logGroup: '/var/log/audit', logStream: 'i-0def', eventId: '3797', message: AUDIT_LINE },
    ]);
  });
});

describe('readLogEvents with plain log lines', () => {
  it('reads a real audit.log excerpt, timed by msg=audit and numbered by line', () => {
    // Prepare
    const file = corpusPath('beats-filebeat-auditd', 'audit-rhel7-gce-connect-excerpt.log');
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n').filter((l) => l !== '');
    const timed = lines.filter((l) => l.includes('msg=audit('));

    // Act
    const result = readLogEvents(readFileSync(file), { file });

    // Assess
    expect(result.format).toBe('plain-lines');
    expect(result.events).toHaveLength(timed.length);
    expect(result.skipped).toEqual({ 'auditd-malformed': lines.length - timed.length }); // `type=UNKNOWN[1329] msg=?`
    expect(result.events[0]).toEqual({
      timestamp: 1481078413210,
      ingestionTime: 1481078413210,
      logGroup: 'file:audit-rhel7-gce-connect-excerpt.log',
      logStream: 'audit-rhel7-gce-connect-excerpt.log',
      eventId: 'audit-rhel7-gce-connect-excerpt.log:1',
      message: lines[0],
    });
    const connect = result.events.find((e) => e.message.includes('saddr=02000050A9FEA9FE'));
    expect(connect?.timestamp).toBe(1481078424953);
  });

  it('names the stream after the node= prefix of audit lines', () => {
    // Prepare
    const file = corpusPath('beats-filebeat-auditd', 'audit-cent7-node.log');

    // Act
    const result = readLogEvents(readFileSync(file), { file });

    // Assess
    expect(result.events.length).toBeGreaterThan(0);
    expect(new Set(result.events.map((e) => e.logStream))).toEqual(new Set(['localhost.localdomain']));
    expect(result.events[0]?.timestamp).toBe(1594053514588);
  });

  it('reads ECS documents one per line, timed by @timestamp and streamed by host.name', () => {
    // Prepare
    const golden = JSON.parse(
      readFileSync(corpusPath('go-libaudit', 'aucoalesce_testdata_ubuntu-16.10-linux-4.8.0.json.golden'), 'utf8'),
    ) as { event: { '@timestamp': string } }[];
    const input = linesOf(
      ...golden.map((g) => JSON.stringify(g.event)),
      ECS_LINE,
      JSON.stringify({ '@timestamp': 1714557600000, 'host.name': 'dotted-host', 'event.action': 'exec' }),
    );

    // Act
    const result = readLogEvents(input, { file: 'auditbeat.ndjson' });

    // Assess
    expect(result.format).toBe('plain-lines');
    expect(result.skipped).toEqual({});
    expect(result.events.slice(0, golden.length).map((e) => e.timestamp)).toEqual(golden.map((g) => Date.parse(g.event['@timestamp'])));
    expect(result.events.slice(0, golden.length).every((e) => e.logStream === 'auditbeat.ndjson')).toBe(true);
    expect(result.events.slice(golden.length).map((e) => [e.timestamp, e.logStream])).toEqual([
      [Date.parse('2024-05-01T10:00:00.123Z'), 'ip-10-0-1-12'],
      [1714557600000, 'dotted-host'],
    ]);
    expect(result.events[0]?.message).toBe(JSON.stringify(golden[0]?.event));
    expect(result.events[0]?.eventId).toBe('auditbeat.ndjson:1');
  });

  it('counts bad plain lines under their reasons while the good lines around them come through', () => {
    // Prepare
    const input = Buffer.concat([
      linesOf(
        AUDIT_LINE,
        'Dec  7 02:16:32 host sshd[123]: Accepted publickey for admin',
        ECS_LINE.slice(0, 80),
        JSON.stringify({ '@timestamp': 'not a date', event: { action: 'exec' } }),
        JSON.stringify({ unrelated: true }),
        'type=EXECVE msg=audit(07/27/2017 12:18:27.019:845): argc=1 a0="ls"',
        'type=UNKNOWN[1329] msg=?',
        `type=EXECVE msg=audit(1.1:1): a0="${'a'.repeat(300 * 1024)}"`,
      ),
      bytesOf('\r\n'),
      Buffer.from([0x74, 0x79, 0x70, 0x65, 0x3d, 0xc3, 0x28]),
      bytesOf('\r\n'),
      bytesOf(ECS_LINE),
    ]);

    // Act
    const result = readLogEvents(input, { file: 'audit.log' });

    // Assess
    expect(result.format).toBe('plain-lines');
    expect(result.events.map((e) => e.eventId)).toEqual(['audit.log:1', 'audit.log:10']);
    expect(result.skipped).toEqual({
      'unknown-format': 1,
      'invalid-json': 1,
      'bad-timestamp': 2,
      'unknown-shape': 1,
      'auditd-malformed': 1,
      'line-too-long': 1,
      'invalid-utf8': 1,
    });
  });

  it('reads an empty or blank file as no events', () => {
    // Prepare
    const inputs = [Buffer.alloc(0), bytesOf('\n\r\n  \t\n'), Buffer.from([0xef, 0xbb, 0xbf])];

    // Act
    const results = inputs.map((input) => readLogEvents(input, { file: 'empty.log' }));

    // Assess
    for (const result of results) expect(result).toEqual({ events: [], skipped: {}, format: 'plain-lines' });
  });

  it('reads text lines that start with a bracket as plain lines', () => {
    // Prepare
    const input = linesOf('[1] starting', '[INFO] ready', AUDIT_LINE);

    // Act
    const result = readLogEvents(input, { file: 'app.log' });

    // Assess
    expect(result.format).toBe('plain-lines');
    expect(result.events).toHaveLength(1);
    expect(result.skipped).toEqual({ 'unknown-format': 2 });
  });

  it('refuses a single pretty-printed ECS document, which is not a log of events', () => {
    // Prepare
    const file = corpusPath('beats-auditbeat-ecs', 'auditd_meta_accept.json');

    // Act
    const read = (): unknown => readLogEvents(readFileSync(file), { file });

    // Assess
    expect(read).toThrow(InputError);
  });
});

describe('parseTimestamp', () => {
  it('accepts epoch ms and date strings and refuses what is absurd', () => {
    // Prepare
    const values: unknown[] = [1481078424953, '1481078424953', '2017-04-21T05:38:27.096Z', '2023-01-01T00:00:00.123456789Z'];
    const absurd: unknown[] = [NaN, -1, Infinity, 253_402_300_800_000, 'yesterday', '', null, {}, true];

    // Act
    const parsed = values.map(parseTimestamp);
    const refused = absurd.map(parseTimestamp);

    // Assess
    expect(parsed).toEqual([1481078424953, 1481078424953, 1492753107096, 1672531200123]);
    expect(refused.every((t) => t === undefined)).toBe(true);
  });
});

describe('readLogEvents on arbitrary input', () => {
  const returnsOrThrowsInputError = (input: Buffer): boolean => {
    try {
      const result = readLogEvents(input, { file: 'fuzz.log' });
      for (const event of result.events) {
        if (!Number.isFinite(event.timestamp) || !Number.isFinite(event.ingestionTime)) return false;
      }
      return true;
    } catch (error) {
      return error instanceof InputError;
    }
  };

  it('returns or throws InputError, nothing else, for any bytes', () => {
    // Prepare
    const bytes = fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a));

    // Act and Assess
    fc.assert(fc.property(bytes, returnsOrThrowsInputError), { numRuns: 500 });
  });

  it('returns or throws InputError, nothing else, for mixtures of plausible lines', () => {
    // Prepare
    const line = fc.oneof(
      fc.constantFrom(AUDIT_LINE, ECS_LINE, envelope(1, 'm'), '{', '}', '[', ']', '{"events": [', '{"timestamp": 1,', '\uFEFF', '"'),
      fc.string({ maxLength: 40 }),
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
      fc.record({ timestamp: fc.oneof(fc.integer(), fc.double(), fc.string()), message: fc.oneof(fc.string(), fc.integer()) }).map((v) =>
        JSON.stringify(v),
      ),
    );
    const file = fc
      .tuple(fc.array(line, { maxLength: 12 }), fc.constantFrom('\n', '\r\n'))
      .map(([lines, end]) => Buffer.from(lines.join(end), 'utf8'));

    // Act and Assess
    fc.assert(fc.property(file, returnsOrThrowsInputError), { numRuns: 1000 });
  });

  it('accounts for every non-blank line of a line-oriented file once', () => {
    // Prepare
    const line = fc.oneof(fc.constantFrom(AUDIT_LINE, ECS_LINE, 'junk', '{"a":'), fc.string({ maxLength: 30 }));
    const lines = fc.array(line, { minLength: 1, maxLength: 20 });

    // Act and Assess
    fc.assert(
      fc.property(lines, (all) => {
        const input = Buffer.from([AUDIT_LINE, ...all].join('\n'), 'utf8');
        const result = readLogEvents(input, { file: 'lines.log' });
        const skipped = Object.values(result.skipped).reduce((a, b) => a + b, 0);
        const nonBlank = [AUDIT_LINE, ...all].flatMap((l) => l.split(/\n/)).filter((l) => l.trim() !== '').length;
        return result.events.length + skipped === nonBlank;
      }),
      { numRuns: 500 },
    );
  });
});
