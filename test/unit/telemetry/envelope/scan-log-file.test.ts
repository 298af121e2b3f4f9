import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEndpointCatalogue } from '../../../../src/endpoints/endpoint-catalogue.js';
import { keepDetectionEvents } from '../../../../src/telemetry/detection-events.js';
import { readLogEvents } from '../../../../src/telemetry/envelope/read-log-events.js';
import { scanLogFile, scanLogFiles } from '../../../../src/telemetry/envelope/scan-log-file.js';
import { MAX_LINE_BYTES, type SkipCounts, type SkipReason } from '../../../../src/telemetry/log-event.js';
import { createNeedleScanner, type NeedleScanner } from '../../../../src/telemetry/needle-scanner.js';
import { createPrefilter } from '../../../../src/telemetry/prefilter.js';

const catalogue = createEndpointCatalogue();
const prefilter = createPrefilter(catalogue);
const scanner = createNeedleScanner(catalogue.needles) as NeedleScanner;
const dir = mkdtempSync(path.join(os.tmpdir(), 'imds-watch-scan-'));
let files = 0;

function fileWith(content: string | Buffer, name = `input-${++files}.ndjson`): string {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
}

/** The reference: every event read whole, then what detection can use. */
function reference(file: string): { events: ReturnType<typeof keepDetectionEvents>; skipped: SkipCounts; format: string } {
  const whole = readLogEvents(readFileSync(file), { file });
  return { events: keepDetectionEvents(whole.events, prefilter), skipped: whole.skipped, format: whole.format };
}

const scan = (file: string, chunkBytes?: number) => scanLogFile(file, { scanner, prefilter, ...(chunkBytes ? { chunkBytes } : {}) });

const SADDR_IMDS = '02000050A9FEA9FE0000000000000000';
const SADDR_OTHER = '020001BB0A0000050000000000000000';
const envelope = (message: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ timestamp: 1_700_000_000_000, ingestionTime: 1_700_000_001_000, logGroupName: '/audit', logStreamName: 'i-1', eventId: `e-${++files}`, message, ...extra });
const syscall = (id: string, uid = 33): string =>
  `type=SYSCALL msg=audit(${id}): arch=c000003e syscall=42 success=no exit=-115 uid=${uid} auid=4294967295 comm="curl" exe="/usr/bin/curl" key="imds"`;
const sockaddr = (id: string, saddr = SADDR_IMDS): string => `type=SOCKADDR msg=audit(${id}): saddr=${saddr}`;

/** An envelope whose message has its digits written as \u00XX and its slashes as \/ (as some producers do). */
function escapedEnvelope(eventId: string, message: string): string {
  const escaped = JSON.stringify(message)
    .replaceAll('/', '\\/')
    .replace(/[0-9]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `{"timestamp":1700000000000,"logStreamName":"i-1","eventId":"${eventId}","message":${escaped}}`;
}

describe('scanLogFile keeps what detection can use, as the whole-file reader would', () => {
  // Lines of every kind, with a small pool of audit ids and streams so that records join.
  const ids = ['1700000000.100:1', '1700000000.100:2', '1700000001.5:77'];
  const streams = ['i-1', 'i-2'];
  const line = fc.oneof(
    fc.tuple(fc.constantFrom(...ids), fc.constantFrom(...streams), fc.integer({ min: 0, max: 2000 })).map(([id, s, uid]) => envelope(syscall(id, uid), { logStreamName: s })),
    fc.tuple(fc.constantFrom(...ids), fc.constantFrom(...streams), fc.constantFrom(SADDR_IMDS, SADDR_OTHER)).map(([id, s, a]) => envelope(sockaddr(id, a), { logStreamName: s })),
    fc.constantFrom(...ids).map((id) => envelope(`type=PROCTITLE msg=audit(${id}): proctitle=6375726C`)),
    fc.constantFrom(...ids).map((id) => sockaddr(id)), // a raw audit.log line among envelopes
    fc.constantFrom('169.254.169.254', '10.0.0.5', 'metadata.google.internal').map((ip) =>
      envelope(JSON.stringify({ '@timestamp': '2023-11-14T22:13:20.000Z', host: { name: 'h' }, user: { name: 'www-data' }, destination: { ip, port: 80 } })),
    ),
    fc.constant(escapedEnvelope('escaped', 'curl http://169.254.169.254/latest/meta-data/')),
    fc.constant(JSON.stringify({ timestamp: 1_700_000_000_000, message: 'curl 169.254.169.254 (no event id: named by its line)' })),
    fc.constantFrom(
      'not json at all',
      'not json at all but 169.254.169.254',
      '{"timestamp":1,"message":"169.254.169.254"',
      '{"timestamp":1,"message":"truncated',
      '{"timestamp":"soon","message":"169.254.169.254"}',
      '{"timestamp":1,"message":"169.254.169.254" oops}',
      '{"message":"169.254.169.254"}',
      '   ',
      '',
      `  ${envelope('padded 169.254.169.254')}\r`,
    ),
    fc.string({ maxLength: 30 }),
  );
  const content = fc.tuple(fc.array(line, { minLength: 1, maxLength: 40 }), fc.boolean(), fc.boolean()).map(([lines, bom, crlf]) => {
    const text = lines.join(crlf ? '\r\n' : '\n');
    return bom ? `\uFEFF${text}` : text;
  });

  it('keeps the same events, in file order, whatever the chunk size', async () => {
    await fc.assert(
      fc.asyncProperty(content, fc.constantFrom(64, 97, 256, 4096), async (text, chunkBytes) => {
        const file = fileWith(text);
        let expected: ReturnType<typeof reference>;
        try {
          expected = reference(file);
        } catch (error) {
          // A file the whole-file reader refuses (e.g. a first line of broken JSON that is not line-oriented either).
          await expect(scan(file, chunkBytes)).rejects.toThrow((error as Error).message);
          return;
        }
        const result = await scan(file, chunkBytes);
        expect(result.format).toBe(expected.format);
        expect(result.events).toEqual(expected.events);
        // Skips are never invented, and only JSON objects that are well framed and not candidates go uncounted.
        for (const [reason, n] of Object.entries(result.skipped) as [SkipReason, number][]) expect(n).toBeLessThanOrEqual(expected.skipped[reason] ?? 0);
      }),
      { numRuns: 1000 },
    );
  });

  it('counts the same skips as readLogEvents for junk, truncated, too long and non-UTF-8 lines and for bad candidates', async () => {
    const long = `{"timestamp":1,"message":"${'169.254.169.254 '.repeat(MAX_LINE_BYTES / 16)}"}`;
    const file = fileWith(
      Buffer.concat([
        Buffer.from(
          [
            envelope('curl 169.254.169.254'),
            'not json at all',
            '{"truncated":',
            '{"timestamp":"soon","message":"169.254.169.254"}',
            '{"timestamp":1,"message":"169.254.169.254" oops}',
            long,
            `${' '.repeat(300_000)}`,
            `${' '.repeat(300_000)}${envelope('padded far 169.254.169.254')}${' '.repeat(200_000)}`,
            'type=SYSCALL msg=audit(garbage',
            'type=SYSCALL without a header',
            '',
          ].join('\n'),
        ),
        Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a]), // {"??"} not UTF-8
        Buffer.from(envelope('last 169.254.169.254')),
      ]),
    );
    const expected = reference(file);
    for (const chunkBytes of [64 * 1024, 1 << 20, undefined]) {
      const result = await scan(file, chunkBytes);
      expect(result.skipped).toEqual(expected.skipped);
      expect(result.events).toEqual(expected.events);
    }
    expect(expected.events.map((e) => e.message)).toEqual(['curl 169.254.169.254', 'padded far 169.254.169.254', 'last 169.254.169.254']);
    expect(expected.skipped).toEqual({ 'unknown-format': 1, 'invalid-json': 2, 'bad-timestamp': 2, 'line-too-long': 1, 'auditd-malformed': 1, 'invalid-utf8': 1 });
  });

  it('does not parse JSON lines that are not candidates, so their inner errors go uncounted (as in the Lambda)', async () => {
    const file = fileWith([envelope('curl 169.254.169.254'), '{"timestamp":1,"message":"hello" oops}', '{"no":"message"}'].join('\n'));
    expect(reference(file).skipped).toEqual({ 'invalid-json': 1, 'unknown-shape': 1 });
    const result = await scan(file);
    expect(result.skipped).toEqual({});
    expect(result.events.map((e) => e.message)).toEqual(['curl 169.254.169.254']);
    expect(result.linesParsed).toBe(1);
  });

  it('joins auditd records across chunks and out of order: SYSCALL long before and long after the match', async () => {
    const filler = Array.from({ length: 500 }, (_, i) => envelope(`type=SYSCALL msg=audit(1700000000.200:${1000 + i}): uid=0 comm="sshd"`));
    const lines = [
      envelope(syscall('1700000000.100:1', 33), { logStreamName: 'i-1' }),
      ...filler,
      envelope(sockaddr('1700000000.100:1'), { logStreamName: 'i-1' }),
      envelope(sockaddr('1700000000.100:9'), { logStreamName: 'i-2' }),
      envelope(syscall('1700000000.100:1', 77), { logStreamName: 'i-2' }), // same id, other stream: not this event
      ...filler,
      envelope(`type=PROCTITLE msg=audit(1700000000.100:9): proctitle=6375726C`, { logStreamName: 'i-2' }),
      envelope(syscall('1700000000.100:9', 48), { logStreamName: 'i-2' }),
    ];
    const file = fileWith(lines.join('\n'));
    const expected = reference(file);
    expect(expected.events).toHaveLength(5);
    for (const chunkBytes of [128, 1000, 64 * 1024]) expect((await scan(file, chunkBytes)).events).toEqual(expected.events);
  });

  it('joins auditd records split between files read together (an export cut at midnight)', async () => {
    const before = fileWith([envelope(syscall('1700000000.100:1', 33)), envelope('other'), envelope(syscall('1700000000.100:5', 0))].join('\n'));
    const after = fileWith([envelope(sockaddr('1700000000.100:1')), envelope(`type=EOE msg=audit(1700000000.100:1): `)].join('\n'));
    const page = fileWith(JSON.stringify({ events: [JSON.parse(envelope(`type=PROCTITLE msg=audit(1700000000.100:1): proctitle=6375726C`))] }), 'page.json');
    const all = [before, after, page].flatMap((f) => readLogEvents(readFileSync(f), { file: f }).events);
    const expected = keepDetectionEvents(all, prefilter);

    const results = await scanLogFiles([before, after, page], { scanner, prefilter, chunkBytes: 128 });

    expect(results.flatMap((r) => r.events)).toEqual(expected);
    expect(results.map((r) => r.events.length)).toEqual([1, 2, 1]);
  });

  it('falls back to parsing lines whose escapes could hide a needle', async () => {
    const hidden = escapedEnvelope('x', 'wget -q -O- http://169.254.169.254/latest/api/token');
    expect(hidden).not.toContain('169.254.169.254');
    const slashes = JSON.stringify({ timestamp: 1, eventId: 'y', message: 'curl http://metadata/computeMetadata/v1/' }).replaceAll('/', '\\/');
    const file = fileWith([envelope('nothing to see'), hidden, slashes].join('\n'));
    const result = await scan(file);
    expect(result.events.map((e) => e.eventId)).toEqual(['x', 'y']);
    expect(result.events).toEqual(reference(file).events);
  });

  it('reads raw audit.log with the same line-number event ids', async () => {
    const lines = ['', syscall('1700000000.100:1'), 'type=EOE msg=audit(1700000000.100:2): ', ...Array.from({ length: 300 }, (_, i) => `type=PATH msg=audit(1700000000.300:${i}): name="/etc/x"`), sockaddr('1700000000.100:1')];
    const file = fileWith(lines.join('\n'), 'audit.log');
    const result = await scan(file, 512);
    expect(result.format).toBe('plain-lines');
    expect(result.events.map((e) => e.eventId)).toEqual(['audit.log:2', `audit.log:${lines.length}`]);
    expect(result.events).toEqual(reference(file).events);
  });

  it('reads JSON documents (aws logs filter-log-events output) whole, then keeps the same events', async () => {
    const doc = JSON.stringify(
      { events: [{ timestamp: 1, message: sockaddr('1.2:3'), logStreamName: 's', eventId: 'a' }, { timestamp: 2, message: syscall('1.2:3'), logStreamName: 's', eventId: 'b' }, { timestamp: 3, message: 'x', eventId: 'c' }] },
      null,
      2,
    );
    const file = fileWith(doc, 'page.json');
    const result = await scan(file);
    expect(result.format).toBe('cloudwatch-json');
    expect(result.events.map((e) => e.eventId)).toEqual(['a', 'b']);
  });

  it('reads an empty file as no events', async () => {
    const result = await scan(fileWith(''));
    expect(result).toMatchObject({ events: [], skipped: {}, format: 'plain-lines' });
  });
});
