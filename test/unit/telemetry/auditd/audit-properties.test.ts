import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEndpointCatalogue } from '../../../../src/endpoints/endpoint-catalogue.js';
import { auditEventToObservation, type AuditRecordEvent } from '../../../../src/telemetry/auditd/audit-event.js';
import { auditIdOf, parseAuditRecord } from '../../../../src/telemetry/auditd/audit-record.js';
import { decodeAuditValue } from '../../../../src/telemetry/auditd/hex.js';
import { decodeInterpretedSockaddr, decodeSockaddr } from '../../../../src/telemetry/auditd/sockaddr.js';
import type { LogEvent } from '../../../../src/telemetry/log-event.js';
import { corpusPath } from '../../../corpus.js';

const catalogue = createEndpointCatalogue();

/** Every non-empty line of the corpus .log files, plus synthetic ENRICHED and IMDS records. */
function realLines(): string[] {
  const lines: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.log')) lines.push(...readFileSync(path, 'utf8').split('\n').filter((l) => l !== ''));
    }
  };
  walk(corpusPath());
  const id = 'msg=audit(1700000000.123:500):';
  lines.push(
    `type=SYSCALL ${id} arch=c000003e syscall=42 success=no exit=-115 pid=7 uid=33 comm="curl" exe="/usr/bin/curl" key=(null)\x1dARCH=x86_64 SYSCALL=connect AUID="unset" UID="www-data"`,
    `type=SOCKADDR ${id} saddr=0A00005000000000FD000EC200000000000000000000025400000000\x1dSADDR={ saddr_fam=inet6 laddr=fd00:ec2::254 lport=80 }`,
    `type=EXECVE ${id} argc=3 a0="curl" a1_len=40 a1[0]=687474703A2F2F3136392E3235342E a1[1]=3136392E3235342F`,
    `node=ip-10-0-1-12 type=PROCTITLE ${id} proctitle=6375726C00687474703A2F2F3136392E3235342E3136392E3235342F`,
  );
  return lines;
}

const LINES = realLines();
const realLine = fc.constantFrom(...LINES);
const anyText = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary-ascii', maxLength: 400 }));
const noise = fc.oneof(anyText, fc.constantFrom('"', "'", '{', '}', '=', ' ', '\x1d', ')', '):', '\0', '\uFFFD', 'msg=audit(', 'a1[0]=', 'saddr='));

/** A real line with random cuts, insertions and deletions. */
const mutatedLine = fc
  .tuple(
    realLine,
    fc.array(
      fc.record({ kind: fc.constantFrom('cut', 'insert', 'delete'), at: fc.nat(), length: fc.nat({ max: 40 }), text: noise }),
      { maxLength: 5 },
    ),
  )
  .map(([line, edits]) => {
    let text = line;
    for (const edit of edits) {
      const at = text.length === 0 ? 0 : edit.at % (text.length + 1);
      if (edit.kind === 'cut') text = text.slice(0, at);
      else if (edit.kind === 'insert') text = text.slice(0, at) + edit.text + text.slice(at);
      else text = text.slice(0, at) + text.slice(at + edit.length);
    }
    return text;
  });

const anyLine = fc.oneof(anyText, realLine, mutatedLine, mutatedLine);

function eventOf(message: string, i: number, stream: string): LogEvent {
  return { timestamp: 1_700_000_000_000 + i, ingestionTime: 1_700_000_000_000 + i, logGroup: 'g', logStream: stream, eventId: `e${i}`, message };
}

describe('properties of parseAuditRecord', () => {
  it('never throws on arbitrary strings and mutated real lines, and agrees with auditIdOf', () => {
    fc.assert(
      fc.property(anyLine, (line) => {
        // Prepare: the generated line

        // Act
        const record = parseAuditRecord(line);
        const id = auditIdOf(line);

        // Assess
        if (record === undefined) {
          expect(id).toBeUndefined();
        } else {
          expect(id).toEqual({ node: record.node, auditId: record.auditId });
          expect(line).toContain(`(${record.auditId})`);
          expect(Number.isSafeInteger(record.time)).toBe(true);
          for (const value of Object.values(record.fields)) expect(typeof value).toBe('string');
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('parses every real line that is only cut after its header', () => {
    fc.assert(
      fc.property(realLine, fc.nat(), (line, cut) => {
        // Prepare
        const header = parseAuditRecord(line);
        fc.pre(header !== undefined);
        const end = line.indexOf(')', line.indexOf('msg=audit(')) + 2; // after `):` (or `) ` in old DAEMON_* records)
        const truncated = line.slice(0, end + (cut % (line.length - end + 1)));

        // Act
        const record = parseAuditRecord(truncated);

        // Assess
        expect(record).toMatchObject({ node: header?.node, type: header?.type, auditId: header?.auditId, time: header?.time });
      }),
      { numRuns: 1000 },
    );
  });
});

describe('properties of auditEventToObservation', () => {
  it('never throws on groups of arbitrary and mutated records', () => {
    fc.assert(
      fc.property(fc.array(anyLine, { maxLength: 8 }), fc.string({ maxLength: 12 }), (lines, stream) => {
        // Prepare
        const records: AuditRecordEvent[] = [];
        lines.forEach((message, i) => {
          const record = parseAuditRecord(message);
          if (record) records.push({ record, event: eventOf(message, i, stream) });
        });

        // Act
        const result = auditEventToObservation(records, catalogue);

        // Assess
        expect(result === undefined || result === 'auditd-incomplete' || typeof result === 'object').toBe(true);
        if (typeof result === 'object') {
          expect(typeof result.user.name).toBe('string');
          expect(result.user.name).not.toBe('');
          expect(Number.isFinite(result.time)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the same result for any order and repetition of one real event\'s records', () => {
    // Prepare: the real agent connect, an execve with a URL and the synthetic ENRICHED pair
    const id = 'msg=audit(1700000000.123:500):';
    const group = [
      `type=SYSCALL ${id} arch=c000003e syscall=42 success=no exit=-115 pid=7 uid=33 comm="curl" exe="/usr/bin/curl" key=(null)\x1dUID="www-data"`,
      `type=SOCKADDR ${id} saddr=02000050A9FEA9FE0000000000000000`,
      `type=PROCTITLE ${id} proctitle=6375726C00687474703A2F2F3136392E3235342E3136392E3235342F`,
      `type=EXECVE ${id} argc=2 a0="curl" a1="http://169.254.169.254/"`,
      `type=CWD ${id} cwd="/"`,
    ];
    const events = group.map((message, i) => ({ record: parseAuditRecord(message), event: eventOf(message, i, 's') }));
    const records = events.filter((r): r is AuditRecordEvent => r.record !== undefined);
    const expected = auditEventToObservation(records, catalogue);

    fc.assert(
      fc.property(fc.shuffledSubarray(records, { minLength: records.length }), fc.array(fc.constantFrom(...records), { maxLength: 4 }), (order, repeats) => {
        // Act
        const result = auditEventToObservation([...order, ...repeats], catalogue);

        // Assess
        expect(result).toEqual(expected);
      }),
      { numRuns: 300 },
    );
    expect(expected).toMatchObject({ via: 'network', user: { name: 'www-data' }, format: 'auditd-enriched' });
  });
});

describe('properties of the decoders', () => {
  it('decodeSockaddr never throws on arbitrary hex, in either case, or on arbitrary text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('hex')),
          fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('hex').toUpperCase()),
          fc.tuple(fc.constantFrom('0200', '0A00', '0100', '1000', '0000'), fc.uint8Array({ maxLength: 40 })).map(([f, b]) => f + Buffer.from(b).toString('hex')),
          anyText,
        ),
        (hex) => {
          // Act
          const sockaddr = decodeSockaddr(hex);
          const interpreted = decodeInterpretedSockaddr(hex);

          // Assess
          if (sockaddr !== undefined) expect(['inet', 'inet6', 'unix', 'unspec', 'netlink', 'other']).toContain(sockaddr.family);
          if (sockaddr?.port !== undefined) expect(sockaddr.port).toBeLessThanOrEqual(65535);
          expect(interpreted === undefined || typeof interpreted.family === 'string').toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('decodeSockaddr round-trips any IPv4 address and port', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 65535 }), (address, port) => {
        // Prepare
        const bytes = Buffer.alloc(16);
        bytes.writeUInt16LE(2, 0);
        bytes.writeUInt16BE(port, 2);
        address.split('.').forEach((part, i) => bytes.writeUInt8(Number(part), 4 + i));

        // Act
        const sockaddr = decodeSockaddr(bytes.toString('hex'));

        // Assess
        expect(sockaddr).toEqual({ family: 'inet', address, port });
      }),
    );
  });

  it('decodeAuditValue returns the text of any hex-encoded byte string that auditd would encode', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1 }), (text) => {
        // Prepare: auditd hex-encodes a value holding a space, a quote, a control or a non-ASCII byte
        const value = `${text} `;
        const hex = Buffer.from(value, 'utf8').toString('hex').toUpperCase();

        // Act
        const decoded = decodeAuditValue(hex);

        // Assess
        expect(decoded).toBe(value);
      }),
    );
  });
});
