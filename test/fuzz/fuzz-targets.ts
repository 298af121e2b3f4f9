// Hostile input for every parser, the envelope readers, the config loader and the CLI arguments.
// The streaming input path (needle scanner, scanLogFile) has its own targets in
// streaming-targets.ts, which also check a property of each result (PropertyViolation).
//
// Each target names the function under test, the errors it may throw on purpose (ConfigError,
// UsageError, InputError; nothing else may escape), a fast-check arbitrary and a list of fixed
// worst-case inputs. The arbitraries mix plain random strings and bytes, real lines from
// ../shared/corpus and from the fleet simulator with random edits, and hostile shapes: deeply
// nested JSON (depth 10,000, as text), 1 MB lines, long runs of one character or token, and
// strings built from the catalogue's needles and auditd syntax (`a0=` repeated, unbalanced quotes
// and braces, `msg=audit(` repeated, 0x1D separators, `%` zones, huge hex).
//
// Used by test/fuzz/fuzz.test.ts (a short pass in CI) and scripts/fuzz.ts (100,000 cases or more,
// written to RELIABILITY.md).

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { parseReplayArgs } from '../../src/cli/replay-args.js';
import { parseDetectorConfig } from '../../src/config/detector-config.js';
import { ENVIRONMENT_VARIABLES, loadEnvironment } from '../../src/config/environment.js';
import { createEndpointCatalogue } from '../../src/endpoints/endpoint-catalogue.js';
import { canonicalAddress } from '../../src/endpoints/ip-address.js';
import { ConfigError, InputError, UsageError } from '../../src/errors.js';
import { defaultSampleSpec, simulateFleet } from '../../src/simulator/fleet-simulator.js';
import { toCloudWatchJson } from '../../src/simulator/sample.js';
import { auditEventToObservation, type AuditRecordEvent } from '../../src/telemetry/auditd/audit-event.js';
import { auditIdOf, parseAuditRecord } from '../../src/telemetry/auditd/audit-record.js';
import { decodeAuditValue } from '../../src/telemetry/auditd/hex.js';
import { decodeInterpretedSockaddr, decodeSockaddr } from '../../src/telemetry/auditd/sockaddr.js';
import { ecsToObservation } from '../../src/telemetry/ecs/ecs-document.js';
import { readLogEvents } from '../../src/telemetry/envelope/read-log-events.js';
import type { LogEvent } from '../../src/telemetry/log-event.js';
import { createPrefilter } from '../../src/telemetry/prefilter.js';
import { corpusPath } from '../corpus.js';
import { streamingTargets } from './streaming-targets.js';

// ---------------------------------------------------------------------------------------------
// Targets

export interface FuzzTarget<T> {
  name: string;
  /** The errors it may throw on purpose; any other throw is a failure. */
  mayThrow: string;
  allowed(error: unknown): boolean;
  arbitrary(): fc.Arbitrary<T>;
  /** Fixed worst cases, run before the random ones (built on demand: some are 1 MB). */
  hostile(): { name: string; input: T }[];
  /** The call under test; a promise is awaited (and timed to its end). */
  call(input: T): unknown;
  /** Input size in characters (bytes for byte buffers), for the report. */
  size(input: T): number;
  /** A short rendering of an input, for counterexamples. */
  show(input: T): string;
  /** What `check` asserts, for the report; absent when a target has no property beyond not throwing. */
  property?: string;
  /** Asserts a property of the outcome, untimed, after the throw check: throws PropertyViolation. */
  check?(input: T, outcome: Outcome): void;
}

/** What a call returned (or the allowed error it threw). */
export type Outcome = { threw: false; value: unknown } | { threw: true; thrown: unknown };

/** A target with its input type erased, so that targets of different types share one list. */
export interface AnyFuzzTarget {
  name: string;
  mayThrow: string;
  allowed(error: unknown): boolean;
  arbitrary(): fc.Arbitrary<unknown>;
  hostile(): { name: string; input: unknown }[];
  call(input: unknown): unknown;
  size(input: unknown): number;
  show(input: unknown): string;
  property?: string;
  check?(input: unknown, outcome: Outcome): void;
}

export const erase = <T>(t: FuzzTarget<T>): AnyFuzzTarget => t as unknown as AnyFuzzTarget;

export const MB = 1 << 20;
/** Depth of the deeply nested JSON inputs. */
export const DEEP = 10_000;

const nothing = (): boolean => false;

/** Inputs as (shortened) JSON; a string as itself. */
export function showValue(value: unknown, max = 240): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value.length > max ? value.slice(0, max) : value) : (JSON.stringify(value, replacer) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'string' && value.length > 200) return `${value.slice(0, 200)}…(${value.length} chars)`;
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  if (typeof value === 'bigint') return `${value}n`;
  return value;
}

const stringSize = (s: string): number => s.length;

/** Size of a JSON-like value: its text length (estimated without recursion limits). */
function valueSize(value: unknown): number {
  let total = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && total < 64 * MB) {
    const v = stack.pop();
    if (typeof v === 'string') total += v.length + 2;
    else if (Array.isArray(v)) {
      total += 2;
      for (const x of v) stack.push(x);
    } else if (v !== null && typeof v === 'object') {
      total += 2;
      for (const [k, x] of Object.entries(v)) {
        total += k.length + 3;
        stack.push(x);
      }
    } else total += String(v).length;
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// Seeds: real lines

export interface Seeds {
  auditLines: string[];
  /** Audit lines grouped by event key (node, `SECONDS.MILLIS:SERIAL`), groups of 2 records or more. */
  auditGroups: string[][];
  ecsTexts: string[];
  envelopeLines: string[];
  files: Buffer[];
}

let seedCache: Seeds | undefined;

/** Lines of ../shared/corpus and of a short simulated fleet (all four formats, one attack). */
export function seeds(): Seeds {
  if (seedCache) return seedCache;
  const auditLines: string[] = [];
  const ecsTexts: string[] = [];
  const files: Buffer[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.log')) {
        const bytes = readFileSync(path);
        files.push(bytes);
        auditLines.push(...bytes.toString('utf8').split('\n').filter((l) => l.trim() !== ''));
      } else if (entry.name.endsWith('.json') || entry.name.endsWith('.json.golden')) {
        const bytes = readFileSync(path);
        files.push(bytes);
        const doc = JSON.parse(bytes.toString('utf8')) as unknown;
        const docs = Array.isArray(doc) ? doc.map((d: unknown) => (isObject(d) && isObject(d['event']) ? d['event'] : d)) : [doc];
        for (const d of docs) ecsTexts.push(JSON.stringify(d));
      }
    }
  };
  walk(corpusPath());

  // A short simulated fleet: raw and ENRICHED auditd, Defend and Auditbeat ECS, the sample attack.
  const sample = defaultSampleSpec();
  const attack = sample.attacks[0];
  const start = (attack?.at ?? sample.start) - 10 * 60_000;
  const envelopeLines: string[] = [];
  for (const { event, label } of simulateFleet({ ...sample, start, days: 1 / 48, noisePerHourPerHost: 60 })) {
    const keep = label !== undefined || envelopeLines.length < 600;
    if (!keep) continue;
    envelopeLines.push(toCloudWatchJson(event));
    if (event.message.startsWith('{')) ecsTexts.push(event.message);
    else auditLines.push(event.message);
  }
  files.push(Buffer.from(envelopeLines.join('\n') + '\n'));
  files.push(Buffer.from(JSON.stringify({ events: envelopeLines.slice(0, 50).map((l) => JSON.parse(l) as unknown) }, null, 2)));

  const groups = new Map<string, string[]>();
  for (const line of auditLines) {
    const id = auditIdOf(line);
    if (!id) continue;
    const key = `${id.node}\u0000${id.auditId}`;
    const group = groups.get(key) ?? [];
    group.push(line);
    groups.set(key, group);
  }
  const auditGroups = [...groups.values()].filter((g) => g.length >= 2);
  seedCache = { auditLines, auditGroups, ecsTexts, envelopeLines, files };
  return seedCache;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Building blocks

const catalogue = createEndpointCatalogue();
const prefilter = createPrefilter(catalogue);

/** auditd syntax, JSON syntax and the catalogue's needles: the pieces of regex-hostile strings. */
export const HOSTILE_TOKENS: readonly string[] = [
  ...catalogue.needles,
  'a0=', 'a1=', 'a1_len=', 'a1[0]=', 'a1[1]=', 'argc=', 'msg=audit(', 'msg=audit(1700000000.123:1): ', 'type=SYSCALL ',
  'type=SOCKADDR ', 'type=EXECVE ', 'node=', 'saddr=', 'SADDR={ ', 'saddr_fam=inet ', 'laddr=', 'lport=80 ', 'proctitle=',
  'UID=', 'exe=', 'comm=', 'uid=0 ', '"', "'", '`', '{', '}', '[', ']', '(', ')', '\x1d', '\x01', '\0', '%', '%25', '%eth0',
  '0x', '0X', '::', '::ffff:', '64:ff9b::', '//', 'http://', 'https://', 'user@', '@', '\\', '\\"', '\\\\', ':', '=', '.', ',',
  ';', '|', '^', '?', '#', '/', ' ', '\t', '\n', '\r\n', '\uFFFD', '\uD800', '\uDC00', '\u0130', 'é', '😀',
  '"@timestamp"', '"@timestamp":', '"host":{', '"host.name":"', '"message":"', '{"timestamp":1,', '"events":[', '"logEvents":[',
  '0A000050', '02000050', 'A9FEA9FE', 'FD000EC2', '0200', '0A00', '0100', 'ffffffff', '4294967295', '-1', 'NaN', '1e999',
  '--input', '--from', '--to', '--config', '--state', '--out', '--help', '-h', '--', '=',
]; // prettier-ignore

const token = fc.constantFrom(...HOSTILE_TOKENS);

const anyString = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 100 }),
  fc.string({ unit: 'binary-ascii', maxLength: 300 }),
  fc.array(token, { maxLength: 60 }).map((t) => t.join('')),
);

/** A run of one character or token, up to 1 MB. */
const longRun = (maxChars = MB): fc.Arbitrary<string> =>
  fc
    .tuple(fc.oneof(token, fc.string({ minLength: 1, maxLength: 3 })), fc.integer({ min: 1, max: maxChars }))
    .map(([t, n]) => t.repeat(Math.max(1, Math.floor(n / Math.max(1, t.length)))));

/** Deeply nested JSON text (up to DEEP levels), balanced or not. */
const deepJsonText = fc
  .tuple(fc.integer({ min: 1, max: DEEP }), fc.constantFrom('array', 'object', 'mixed', 'unclosed', 'unopened'))
  .map(([depth, shape]) => deepJson(depth, shape));

export function deepJson(depth: number, shape: string): string {
  switch (shape) {
    case 'array':
      return '['.repeat(depth) + ']'.repeat(depth);
    case 'object':
      return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    case 'mixed':
      return '{"a":['.repeat(depth) + '"169.254.169.254"' + ']}'.repeat(depth);
    case 'unclosed':
      return '{"message":"x","timestamp":1,"a":'.repeat(depth);
    default:
      return '}]'.repeat(depth);
  }
}

/** Random edits of a base string: cuts, insertions (possibly repeated), deletions, duplications. */
export const edits = fc.array(
  fc.record({
    kind: fc.constantFrom('cut', 'insert', 'delete', 'duplicate', 'repeat'),
    at: fc.nat(),
    length: fc.nat({ max: 64 }),
    text: fc.oneof({ arbitrary: token, weight: 3 }, { arbitrary: anyString, weight: 1 }),
    times: fc.integer({ min: 2, max: 5000 }),
  }),
  { maxLength: 6 },
);

export type Edit = { kind: string; at: number; length: number; text: string; times: number };

/** One of `files()`, with up to `maxEdits` bytes overwritten or the file cut short at one of them. */
export function editedFile(files: () => readonly Buffer[], maxEdits: number): fc.Arbitrary<Buffer> {
  return fc.tuple(fc.nat(), fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), cut: fc.boolean() }), { maxLength: maxEdits })).map(([i, flips]) => {
    const all = files();
    let out = Buffer.from(all.length === 0 ? Buffer.alloc(0) : (all[i % all.length] as Buffer));
    for (const f of flips) {
      if (out.length === 0) break;
      const at = f.at % out.length;
      if (f.cut) out = out.subarray(0, at);
      else out[at] = f.byte;
    }
    return Buffer.from(out);
  });
}

export function applyEdits(base: string, list: readonly Edit[]): string {
  let text = base;
  for (const edit of list) {
    const at = text.length === 0 ? 0 : edit.at % (text.length + 1);
    if (edit.kind === 'cut') text = text.slice(0, at);
    else if (edit.kind === 'insert') text = text.slice(0, at) + edit.text + text.slice(at);
    else if (edit.kind === 'delete') text = text.slice(0, at) + text.slice(at + edit.length);
    else if (edit.kind === 'duplicate') text = text.slice(0, at + edit.length) + text.slice(at, at + edit.length) + text.slice(at + edit.length);
    else if (text.length + edit.text.length * edit.times <= MB) text = text.slice(0, at) + edit.text.repeat(edit.times) + text.slice(at);
  }
  return text;
}

const mutated = (bases: () => readonly string[]): fc.Arbitrary<string> =>
  fc.tuple(fc.nat(), edits).map(([i, list]) => {
    const all = bases();
    return applyEdits(all.length === 0 ? '' : (all[i % all.length] as string), list);
  });

/** A real line padded to 1 MB inside a value, or its body repeated: a line as large as anything. */
const hugeLine = (bases: () => readonly string[]): fc.Arbitrary<string> =>
  fc.tuple(fc.nat(), fc.nat(), token, fc.integer({ min: 1024, max: MB })).map(([i, at, t, size]) => {
    const all = bases();
    const base = all.length === 0 ? '' : (all[i % all.length] as string);
    const cut = base.length === 0 ? 0 : at % base.length;
    const fill = t.repeat(Math.max(1, Math.floor((size - base.length) / Math.max(1, t.length))));
    return base.slice(0, cut) + fill + base.slice(cut);
  });

/** Random, mutated real and hostile strings, weighted so that 1 MB inputs are a few percent. */
const hostileText = (bases: () => readonly string[]): fc.Arbitrary<string> =>
  fc.oneof(
    { arbitrary: anyString, weight: 30 },
    { arbitrary: mutated(bases), weight: 50 },
    { arbitrary: longRun(), weight: 3 },
    { arbitrary: hugeLine(bases), weight: 3 },
    { arbitrary: deepJsonText, weight: 2 },
    { arbitrary: fc.array(token, { maxLength: 400 }).map((t) => t.join('')), weight: 12 },
  );

/** Fixed worst cases shared by the string targets (each up to 1 MB). */
export function hostileStrings(): { name: string; input: string }[] {
  const fill = (t: string, size = MB): string => t.repeat(Math.max(1, Math.floor(size / t.length)));
  const header = 'type=EXECVE msg=audit(1700000000.123:500): ';
  const needles = catalogue.needles.join('');
  return [
    { name: '1 MB of one letter', input: fill('a') },
    { name: '1 MB of spaces', input: fill(' ') },
    { name: '1 MB of double quotes', input: fill('"') },
    { name: '1 MB of unbalanced braces', input: fill('{') },
    { name: '1 MB of 0x1D separators', input: fill('\x1d') },
    { name: '1 MB of % (zone markers)', input: fill('%') },
    { name: '1 MB of lone surrogates', input: fill('\uD800') },
    { name: '1 MB of `169.254.169.254` with no break', input: fill('169.254.169.254') },
    { name: '1 MB of every catalogue needle, no break', input: fill(needles) },
    { name: '1 MB of `http://169.254.169.254/` with no break', input: fill('http://169.254.169.254/') },
    { name: '1 MB of `[::ffff:a9fe:a9fe]:80` with no break', input: fill('[::ffff:a9fe:a9fe]:80') },
    { name: '1 MB of `//metadata/`', input: fill('//metadata/') },
    { name: '1 MB of `a0=` (one record)', input: header + fill('a0=', MB - header.length) },
    { name: '1 MB of `a0="` (unclosed quotes)', input: header + fill('a0="', MB - header.length) },
    { name: '1 MB of `a1[0]=` chunks', input: header + fill('a1[0]=41 ', MB - header.length) },
    { name: '1 MB of `msg=audit(`', input: fill('msg=audit(') },
    { name: '1 MB of record headers', input: fill(header) },
    { name: 'record with a 1 MB quoted value', input: `${header}argc=1 a0="${fill('x', MB - 60)}"` },
    { name: 'record with a 1 MB hex value', input: `${header}argc=1 a0=${fill('41', MB - 60)}` },
    { name: 'SOCKADDR with 1 MB of hex', input: `type=SOCKADDR msg=audit(1700000000.123:500): saddr=0200${fill('0050A9FEA9FE', MB - 64)}` },
    { name: 'ENRICHED record, 1 MB after the separator', input: `type=SYSCALL msg=audit(1700000000.123:500): uid=0\x1d${fill('UID="')}` },
    { name: 'deep JSON array (10,000)', input: deepJson(DEEP, 'array') },
    { name: 'deep JSON object (10,000)', input: deepJson(DEEP, 'object') },
    { name: 'deep JSON, metadata address at the bottom (10,000)', input: deepJson(DEEP, 'mixed') },
    { name: 'deep JSON, never closed (10,000)', input: deepJson(DEEP, 'unclosed') },
    { name: '1 MB of backslashes and quotes', input: fill('\\\\\\"') },
    { name: '1 MB of `"host":{`', input: fill('"host":{') },
    { name: '1 MB of one-character JSON documents `{}`', input: fill('{}') },
  ];
}

// ---------------------------------------------------------------------------------------------
// Log events

let eventCounter = 0;

function logEvent(message: string, overrides: Partial<LogEvent> = {}): LogEvent {
  eventCounter++;
  return {
    timestamp: 1_700_000_000_000,
    ingestionTime: 1_700_000_000_500,
    logGroup: '/fuzz',
    logStream: 'i-0fuzz',
    eventId: `e${eventCounter}`,
    message,
    ...overrides,
  };
}

// ---------------------------------------------------------------------------------------------
// The targets

const auditLines = (): readonly string[] => seeds().auditLines;
const ecsTexts = (): readonly string[] => seeds().ecsTexts;

const stringTarget = (name: string, bases: () => readonly string[], call: (s: string) => unknown): AnyFuzzTarget =>
  erase<string>({
    name,
    mayThrow: 'nothing',
    allowed: nothing,
    arbitrary: () => hostileText(bases),
    hostile: hostileStrings,
    call,
    size: stringSize,
    show: (s) => showValue(s),
  });

/** An auditd event: the records of one key, as parsed lines with their CloudWatch events. */
interface GroupInput {
  lines: string[];
  /** Event ids repeat when true (the same event read twice). */
  repeatIds: boolean;
}

function groupRecords(input: GroupInput): AuditRecordEvent[] {
  const records: AuditRecordEvent[] = [];
  input.lines.forEach((line, i) => {
    const record = parseAuditRecord(line);
    if (record) records.push({ record, event: logEvent(line, { eventId: input.repeatIds ? `e${i % 2}` : `g${i}`, timestamp: 1_700_000_000_000 + (i % 3) }) });
  });
  return records;
}

const SHARED_HEADER = 'msg=audit(1700000000.123:500): ';

const groupArbitrary = (): fc.Arbitrary<GroupInput> => {
  const groups = (): readonly string[][] => seeds().auditGroups;
  // A real group, each line edited.
  const realGroup = fc.tuple(fc.nat(), fc.array(edits, { maxLength: 8 }), fc.boolean()).map(([i, lineEdits, repeatIds]) => {
    const all = groups();
    const group = all.length === 0 ? [] : (all[i % all.length] as string[]);
    return { lines: group.map((line, j) => applyEdits(line, lineEdits[j] ?? [])), repeatIds };
  });
  // Bodies of any real record under one shared header, and random bodies.
  const body = fc.oneof(
    mutated(auditLines).map((l) => l.slice(l.indexOf('): ') + 3)),
    anyString,
    fc.array(token, { maxLength: 200 }).map((t) => t.join('')),
  );
  const type = fc.constantFrom('SYSCALL', 'SOCKADDR', 'EXECVE', 'PROCTITLE', 'PATH', 'CWD', 'UNKNOWN[1334]', 'syscall', '');
  const synthetic = fc
    .tuple(fc.array(fc.tuple(fc.option(fc.constantFrom('node=ip-10-0-1-12 ', 'node= ', 'node="a b" ')), type, body), { minLength: 1, maxLength: 12 }), fc.boolean())
    .map(([records, repeatIds]) => ({ lines: records.map(([node, t, b]) => `${node ?? ''}type=${t} ${SHARED_HEADER}${b}`), repeatIds }));
  // Many records of one key: long EXECVE argument lists split into chunks.
  const many = fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.boolean()).map(([n, chunks]) => ({
    lines: [
      `type=SYSCALL ${SHARED_HEADER}arch=c000003e syscall=59 success=yes exit=0 uid=33 comm="curl" exe="/usr/bin/curl"`,
      ...Array.from({ length: n }, (_, i) =>
        chunks ? `type=EXECVE ${SHARED_HEADER}a1[${i}]=687474703A2F2F3136392E3235342E3136392E3235342F` : `type=EXECVE ${SHARED_HEADER}a${i}="http://169.254.169.254/"`,
      ),
    ],
    repeatIds: false,
  }));
  return fc.oneof({ arbitrary: realGroup, weight: 5 }, { arbitrary: synthetic, weight: 5 }, { arbitrary: many, weight: 1 });
};

function hostileGroups(): { name: string; input: GroupInput }[] {
  const syscall = `type=SYSCALL ${SHARED_HEADER}arch=c000003e syscall=42 success=no exit=-115 uid=33 comm="curl" exe="/usr/bin/curl"`;
  const fill = (t: string, size = MB): string => t.repeat(Math.max(1, Math.floor(size / t.length)));
  return [
    ...hostileStrings().map(({ name, input }) => ({ name: `SYSCALL + a record of ${name}`, input: { lines: [syscall, input], repeatIds: false } })),
    {
      name: '10,000 EXECVE chunks of one argument',
      input: { lines: [syscall, ...Array.from({ length: 10_000 }, (_, i) => `type=EXECVE ${SHARED_HEADER}a1[${i}]=2F2F3136392E3235342E3136392E3235342F`)], repeatIds: false },
    },
    {
      name: '10,000 EXECVE records, one argument each',
      input: { lines: [syscall, ...Array.from({ length: 10_000 }, (_, i) => `type=EXECVE ${SHARED_HEADER}a${i}="169.254.169.254"`)], repeatIds: false },
    },
    { name: '8,000 copies of the SYSCALL', input: { lines: Array.from({ length: 8_000 }, () => syscall), repeatIds: false } },
    {
      name: 'EXECVE: 1 MB argument of needles, hex',
      input: { lines: [syscall, `type=EXECVE ${SHARED_HEADER}argc=2 a0="curl" a1=${Buffer.from(fill('169.254.169.254', MB / 2 - 64)).toString('hex').toUpperCase()}`], repeatIds: false },
    },
    {
      name: 'PROCTITLE: 1 MB of hex needles',
      input: { lines: [syscall, `type=PROCTITLE ${SHARED_HEADER}proctitle=${fill('3136392E3235342E3136392E32353400', MB - 64)}`], repeatIds: false },
    },
  ];
}

/** An ECS document (parsed from text when it parses, else random JSON). */
interface EcsInput {
  text: string;
  doc: unknown;
}

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

const ecsArbitrary = (): fc.Arbitrary<EcsInput> => {
  const fromText = hostileText(ecsTexts).map((text) => ({ text, doc: parseOr(text) }));
  const json = fc.jsonValue({ maxDepth: 6 }).map((doc) => ({ text: '', doc }));
  // Real documents with random values put at ECS paths, nested or dotted.
  const paths = fc.constantFrom(
    'destination.ip', 'destination.address', 'destination.domain', 'destination.port', 'url.full', 'url.original', 'url.domain',
    'dns.question.name', 'process.args', 'process.command_line', 'process.title', 'process.name', 'process.executable',
    'user.name', 'user.id', 'host.name', 'host.os.type', 'event.action', 'network.direction', '@timestamp', 'event.created',
    'auditd.data.syscall', 'auditd.data.socket.addr', 'auditd.data.socket.port', '__proto__', 'constructor', 'process.pid',
  ); // prettier-ignore
  const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }), anyString, fc.constantFrom('169.254.169.254', 'fd00:ec2::254', 'http://169.254.169.254/latest/meta-data/', 'metadata.google.internal', 80, '80', 53));
  const planted = fc
    .tuple(fc.nat(), fc.array(fc.tuple(paths, value, fc.boolean()), { minLength: 1, maxLength: 6 }))
    .map(([i, plants]) => {
      const all = ecsTexts();
      const doc = parseOr(all.length === 0 ? '{}' : (all[i % all.length] as string));
      const root: Record<string, unknown> = isObject(doc) ? doc : {};
      for (const [path, v, dotted] of plants) {
        if (dotted) root[path] = v;
        else setPath(root, path.split('.'), v);
      }
      return { text: '', doc: root };
    });
  return fc.oneof({ arbitrary: fromText, weight: 5 }, { arbitrary: planted, weight: 4 }, { arbitrary: json, weight: 2 });
};

function setPath(root: Record<string, unknown>, parts: readonly string[], value: unknown): void {
  let at: Record<string, unknown> = root;
  parts.forEach((part, i) => {
    if (i === parts.length - 1) {
      Object.defineProperty(at, part, { value, enumerable: true, configurable: true, writable: true });
      return;
    }
    const next = Object.hasOwn(at, part) ? at[part] : undefined;
    const child: Record<string, unknown> = isObject(next) ? next : {};
    Object.defineProperty(at, part, { value: child, enumerable: true, configurable: true, writable: true });
    at = child;
  });
}

function hostileEcs(): { name: string; input: EcsInput }[] {
  const fill = (t: string, size = MB): string => t.repeat(Math.max(1, Math.floor(size / t.length)));
  const base = { '@timestamp': '2026-11-04T13:37:21.418Z', user: { name: 'www-data' }, host: { name: 'h' } };
  const nested = (depth: number, leaf: unknown, key: string): unknown => {
    let v = leaf;
    for (let i = 0; i < depth; i++) v = { [key]: v };
    return v;
  };
  const docs: { name: string; doc: unknown }[] = [
    { name: 'command line of 1 MB of needles, no break', doc: { ...base, process: { name: 'curl', command_line: fill(catalogue.needles.join('')) } } },
    { name: 'command line of 1 MB of `169.254.169.254`', doc: { ...base, process: { name: 'curl', command_line: fill('169.254.169.254') } } },
    { name: 'command line of 1 MB of quotes and backslashes', doc: { ...base, process: { command_line: fill('"\\\'') } } },
    { name: '50,000 arguments', doc: { ...base, process: { name: 'curl', args: Array.from({ length: 50_000 }, () => '169.254.169.254x') } } },
    { name: 'destination.ip of 1 MB', doc: { ...base, destination: { ip: fill('1.'), port: 80 } } },
    { name: 'destination.domain of 1 MB of dots', doc: { ...base, destination: { domain: fill('.'), port: 80 } } },
    { name: 'url.full of 1 MB', doc: { ...base, url: { full: `http://${fill('169.254.169.254@')}/` } } },
    { name: 'destination nested 10,000 deep', doc: { ...base, destination: nested(DEEP, '169.254.169.254', 'ip') } },
    { name: 'process.args nested 10,000 deep', doc: { ...base, process: { args: JSON.parse(deepJson(DEEP, 'mixed')) as unknown } } },
    { name: '50,000 dotted keys', doc: Object.fromEntries([...Array.from({ length: 50_000 }, (_, i) => [`destination.x${i}`, i]), ['@timestamp', 1]]) },
    { name: 'deep JSON array (10,000)', doc: JSON.parse(deepJson(DEEP, 'array')) as unknown },
    { name: 'deep JSON object (10,000)', doc: JSON.parse(deepJson(DEEP, 'object')) as unknown },
  ];
  return [
    ...docs.map(({ name, doc }) => ({ name, input: { text: '', doc } })),
    ...hostileStrings().map(({ name, input }) => ({ name: `text: ${name}`, input: { text: input, doc: parseOr(input) } })),
  ];
}

/** Bytes of an input file: random bytes, real files and lines edited, hostile text. */
const bytesArbitrary = (): fc.Arbitrary<Buffer> => {
  const files = (): readonly Buffer[] => seeds().files;
  const lines = (): readonly string[] => [...seeds().envelopeLines, ...seeds().auditLines.slice(0, 400), ...seeds().ecsTexts.slice(0, 100)];
  const random = fc.uint8Array({ maxLength: 4000 }).map((b) => Buffer.from(b));
  const linesFile = fc
    .tuple(fc.array(fc.oneof(mutated(lines), { arbitrary: hostileText(lines), weight: 1 }), { minLength: 1, maxLength: 30 }), fc.constantFrom('\n', '\r\n', '\n\n'), fc.constantFrom('', '\uFEFF', '[', '{"events":['))
    .map(([ls, nl, prefix]) => Buffer.from(prefix + ls.join(nl)));
  const fileEdit = editedFile(files, 8);
  const text = hostileText(lines).map((s) => Buffer.from(s));
  return fc.oneof({ arbitrary: random, weight: 2 }, { arbitrary: linesFile, weight: 4 }, { arbitrary: fileEdit, weight: 3 }, { arbitrary: text, weight: 3 });
};

function hostileFiles(): { name: string; input: Buffer }[] {
  const fill = (t: string, size = MB): string => t.repeat(Math.max(1, Math.floor(size / t.length)));
  const envelope = seeds().envelopeLines[0] ?? '{"timestamp":1,"message":"x"}';
  return [
    ...hostileStrings().map(({ name, input }) => ({ name, input: Buffer.from(input) })),
    { name: '1 MB of newlines', input: Buffer.from(fill('\n')) },
    { name: '1 MB of invalid UTF-8', input: Buffer.alloc(MB, 0xff) },
    { name: '1 MB of NUL bytes', input: Buffer.alloc(MB, 0) },
    { name: '1 MB of `[`', input: Buffer.from(fill('[')) },
    { name: 'one NDJSON envelope line of 1 MB', input: Buffer.from(`{"timestamp":1,"message":"${fill('a', MB - 40)}"}`) },
    { name: '1 MB of NDJSON envelopes', input: Buffer.from(fill(`${envelope}\n`)) },
    { name: '1 MB of short NDJSON lines `{}`', input: Buffer.from(fill('{}\n')) },
    { name: '{"events": [...]} with 15,000 events', input: Buffer.from(JSON.stringify({ events: Array.from({ length: 15_000 }, (_, i) => ({ timestamp: i, message: 'type=SYSCALL msg=audit(1.1:1): a0=1' })) })) },
    { name: '1 MB of concatenated `{"events":[]}`', input: Buffer.from(fill('{"events":[]}')) },
    { name: 'whole-file JSON nested 10,000 deep under events', input: Buffer.from(`{"events":[${deepJson(DEEP, 'object')}]}`) },
  ];
}

/** Configuration documents: random JSON, valid configurations with random values, hostile values. */
const configArbitrary = (): fc.Arbitrary<unknown> => {
  const keys = fc.constantFrom(
    'anomalyThreshold', 'lookback', 'bucketSpan', 'maxAlertsPerRun', 'learningPeriod', 'memory', 'suppressionWindow',
    'noTelemetryAfter', 'logGroups', 'exceptions', 'endpoints', 'region', '__proto__', 'constructor', 'toString', '',
  ); // prettier-ignore
  const duration = fc.oneof(
    fc.tuple(fc.integer({ min: -5, max: 10_000_000 }), fc.constantFrom('s', 'm', 'h', 'd', 'ms', 'w', '')).map(([n, u]) => `${n}${u}`),
    fc.constantFrom('15m', '45m', '24h', '30d', '1d', '7m', '0m', ' 15m ', '15M', '1e3m', '0x10m', '999999d'),
    anyString,
  );
  const exception = fc.record(
    {
      user: fc.oneof(anyString, fc.constantFrom('*', '**', '[a-', '{a,b', '!(x)', '@(a|b)', 'www-*')),
      process: anyString,
      host: anyString,
      reason: anyString,
      expires: fc.oneof(anyString, fc.date({ noInvalidDate: true }).map((d) => d.toISOString())),
      extra: anyString,
    },
    { requiredKeys: [] },
  );
  const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }), duration, fc.double(), fc.integer(), fc.array(anyString, { maxLength: 5 }), fc.array(exception, { maxLength: 4 }), fc.record({ extra: fc.array(anyString), exclude: fc.array(anyString) }, { requiredKeys: [] }));
  const planted = fc.array(fc.tuple(keys, value), { maxLength: 8 }).map((entries) => {
    const doc: Record<string, unknown> = {};
    for (const [k, v] of entries) Object.defineProperty(doc, k, { value: v, enumerable: true, configurable: true, writable: true });
    return doc;
  });
  const fromText = hostileText(() => ['{"anomalyThreshold":75,"lookback":"45m","memory":"30d","exceptions":[{"user":"backup","reason":"r"}]}']).map(parseOr);
  return fc.oneof({ arbitrary: planted, weight: 6 }, { arbitrary: fc.anything({ maxDepth: 3 }), weight: 2 }, { arbitrary: fromText, weight: 3 });
};

function hostileConfigs(): { name: string; input: unknown }[] {
  const fill = (t: string, size = MB): string => t.repeat(Math.max(1, Math.floor(size / t.length)));
  return [
    { name: 'a 1 MB duration', input: { lookback: fill('9') + 'm' } },
    { name: 'a 1 MB duration of spaces', input: { memory: fill(' ') + '1d' } },
    { name: '30,000 exceptions', input: { exceptions: Array.from({ length: 30_000 }, (_, i) => ({ user: `u${i}`, reason: 'r' })) } },
    { name: 'an exception glob of 1 MB', input: { exceptions: [{ user: fill('*('), reason: 'r' }] } },
    { name: 'expires of 1 MB', input: { exceptions: [{ user: 'u', reason: 'r', expires: fill('2026-') }] } },
    { name: '100,000 log groups', input: { logGroups: Array.from({ length: 100_000 }, (_, i) => `/g/${i}`) } },
    { name: '70,000 unknown keys', input: Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`k${i}`, i])) },
    { name: 'exceptions nested 10,000 deep', input: { exceptions: JSON.parse(deepJson(DEEP, 'array')) as unknown } },
    { name: 'config nested 10,000 deep', input: JSON.parse(deepJson(DEEP, 'object')) as unknown },
    { name: '__proto__ key', input: JSON.parse('{"__proto__":{"anomalyThreshold":1},"constructor":{"prototype":{}}}') as unknown },
  ];
}

/** Lambda environments: the known variables with random, edited and hostile values. */
const envArbitrary = (): fc.Arbitrary<Record<string, string>> => {
  const names = [...new Set(Object.values(ENVIRONMENT_VARIABLES).flatMap((n) => n.split(' / ')))];
  const name = fc.oneof(
    { arbitrary: fc.constantFrom(...names, 'TABLE_NAME', 'TOPIC_ARN', 'MAX_CATCH_UP_RUNS', 'EXTRA_ENDPOINTS', 'EXCLUDE_ENDPOINTS'), weight: 5 },
    { arbitrary: anyString, weight: 1 },
  );
  const value = fc.oneof(
    anyString,
    fc.constantFrom('75', '-1', '1e3', '0.5', '15m', '24h', '30d', 'abc', '', ' ', ',', ',,,', '/g1,/g2*', '[]', '[{"user":"a","reason":"b"}]', '{"__proto__":1}', 'null', '12', '97', '0'),
    hostileText(() => ['[{"user":"backup","process":"*restic*","reason":"nightly backup","expires":"2027-01-01T00:00:00Z"}]', '/imds-watch/audit,/imds-watch/ecs']),
  );
  const base = { LOG_GROUPS: '/imds-watch/audit', TABLE_NAME: 't', TOPIC_ARN: 'arn:aws:sns:us-east-1:1:t' };
  return fc.tuple(fc.boolean(), fc.array(fc.tuple(name, value), { maxLength: 10 })).map(([withBase, entries]) => {
    const env: Record<string, string> = withBase ? { ...base } : {};
    for (const [k, v] of entries) Object.defineProperty(env, k, { value: v, enumerable: true, configurable: true, writable: true });
    return env;
  });
};

function hostileEnvironments(): { name: string; input: Record<string, string> }[] {
  const base = { LOG_GROUPS: '/imds-watch/audit', TABLE_NAME: 't', TOPIC_ARN: 'arn:aws:sns:us-east-1:1:t' };
  return [
    ...hostileStrings().map(({ name, input }) => ({ name: `EXCEPTIONS: ${name}`, input: { ...base, EXCEPTIONS: input } })),
    ...hostileStrings().slice(0, 8).map(({ name, input }) => ({ name: `LOG_GROUPS: ${name}`, input: { ...base, LOG_GROUPS: input } })),
    { name: 'MEMORY: 1 MB of digits', input: { ...base, MEMORY: '9'.repeat(MB) + 'd' } },
    { name: 'ANOMALY_THRESHOLD: 1 MB of digits', input: { ...base, ANOMALY_THRESHOLD: '9'.repeat(MB) } },
    { name: 'LOG_GROUPS: 1 MB of commas', input: { ...base, LOG_GROUPS: ','.repeat(MB) } },
    { name: 'EXTRA_ENDPOINTS: 120,000 entries', input: { ...base, EXTRA_ENDPOINTS: Array.from({ length: 120_000 }, (_, i) => `h${i}`).join(',') } },
  ];
}

/** argv of `imds-watch replay`: flags, values, ISO times, and hostile strings. */
const argvArbitrary = (): fc.Arbitrary<string[]> => {
  const flag = fc.constantFrom('--input', '--from', '--to', '--config', '--state', '--out', '--help', '-h', '--', '-', '--inputs', '--from=', '--to=2026-11-02T00:00:00Z', '--input=a.ndjson');
  const iso = fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
  const arg = fc.oneof({ arbitrary: flag, weight: 4 }, { arbitrary: iso, weight: 2 }, { arbitrary: anyString, weight: 2 }, { arbitrary: fc.constantFrom('2026-11-02', '2026-13-45T99:99:99Z', '20261102', '2026-11-02T00:00:00+25:00', 'a.ndjson'), weight: 1 });
  return fc.oneof({ arbitrary: fc.array(arg, { maxLength: 16 }), weight: 10 }, { arbitrary: fc.tuple(flag, longRun()).map(([f, v]) => [f, v]), weight: 1 });
};

function hostileArgv(): { name: string; input: string[] }[] {
  return [
    { name: '--input with 70,000 files', input: ['--input', ...Array.from({ length: 70_000 }, (_, i) => `f${i}.ndjson`)] },
    { name: '150,000 --help flags', input: Array.from({ length: 150_000 }, () => '--help') },
    { name: '--from of 1 MB', input: ['--from', `2026-11-02${'9'.repeat(MB)}`] },
    { name: '--to of 1 MB after a valid --from', input: ['--from', '2026-11-02T00:00:00Z', '--to', `2026-11-03T${'0'.repeat(MB)}`] },
    { name: '--config=<1 MB>', input: [`--config=${'='.repeat(MB)}`] },
    ...hostileStrings().slice(0, 10).map(({ name, input }) => ({ name: `a flag of ${name}`, input: [`--${input}`] })),
  ];
}

/** Hosts and addresses: IP forms, URLs, needles, and hostile strings. */
const addressArbitrary = (): fc.Arbitrary<string> =>
  fc.oneof(
    { arbitrary: fc.ipV4(), weight: 2 },
    { arbitrary: fc.ipV4Extended(), weight: 2 },
    { arbitrary: fc.ipV6(), weight: 2 },
    { arbitrary: fc.tuple(fc.ipV6(), anyString).map(([ip, zone]) => `${ip}%${zone}`), weight: 1 },
    { arbitrary: fc.tuple(fc.ipV6()).map(([ip]) => `[${ip}]`), weight: 1 },
    { arbitrary: fc.constantFrom(...catalogue.entries.map((e) => e.endpoint), '2852039166', '0xa9fea9fe', '0251.0376.0251.0376', '169.254.43518', '[::ffff:a9fe:a9fe]', '64:ff9b::a9fe:a9fe', 'METADATA.GOOGLE.INTERNAL.', '::ffff:169.254.169.254'), weight: 2 },
    { arbitrary: fc.array(fc.oneof(token, fc.constantFrom('0', '1', '9', 'a', 'f', 'x')), { maxLength: 60 }).map((t) => t.join('')), weight: 4 },
    { arbitrary: hostileText(() => catalogue.needles), weight: 4 },
  );

const urlArbitrary = (): fc.Arbitrary<string> =>
  fc.oneof(
    { arbitrary: fc.webUrl({ withQueryParameters: true, withFragments: true }), weight: 2 },
    { arbitrary: fc.tuple(fc.constantFrom('http://', 'https://', '//', '', 'gopher://'), addressArbitrary(), fc.option(fc.integer({ min: -1, max: 99_999 })), anyString).map(([s, h, p, rest]) => `curl ${s}${h}${p === null ? '' : `:${p}`}/${rest}`), weight: 4 },
    { arbitrary: hostileText(() => ['curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/', 'wget -q -O- http://metadata.google.internal/computeMetadata/v1/ -H Metadata-Flavor:Google', 'python3 -c "import urllib.request; urllib.request.urlopen(\'http://[fd00:ec2::254]/latest/api/token\')"']), weight: 6 },
  );

export function fuzzTargets(): AnyFuzzTarget[] {
  return [
    stringTarget('parseAuditRecord', auditLines, parseAuditRecord),
    stringTarget('auditIdOf', auditLines, auditIdOf),
    erase<GroupInput>({
      name: 'auditEventToObservation',
      mayThrow: 'nothing',
      allowed: nothing,
      arbitrary: groupArbitrary,
      hostile: hostileGroups,
      call: (input) => auditEventToObservation(groupRecords(input), catalogue),
      size: (input) => input.lines.reduce((n, l) => n + l.length, 0),
      show: (input) => showValue(input.lines.map((l) => (l.length > 120 ? `${l.slice(0, 120)}…(${l.length})` : l))),
    }),
    erase<string>({
      name: 'decodeSockaddr',
      mayThrow: 'nothing',
      allowed: nothing,
      arbitrary: () =>
        fc.oneof(
          { arbitrary: fc.tuple(fc.constantFrom('0200', '0A00', '0100', '1000', '0000', 'FFFF', ''), fc.uint8Array({ maxLength: 40 }), fc.boolean()).map(([f, b, lower]) => { const hex = f + Buffer.from(b).toString('hex'); return lower ? hex.toLowerCase() : hex.toUpperCase(); }), weight: 6 },
          { arbitrary: hostileText(() => ['0200005011223344', '0A00005000000000FD000EC200000000000000000000025400000000', '01002F7661722F72756E2F6E7363642F736F636B6574']), weight: 4 },
        ),
      hostile: () => [
        ...hostileStrings(),
        { name: '1 MB of hex, inet6 family', input: '0A00' + '00'.repeat(MB / 2 - 2) },
        { name: '1 MB of hex, unix path', input: '0100' + '41'.repeat(MB / 2 - 2) },
        { name: '1 MB of hex, abstract unix name of NULs', input: '0100' + '00'.repeat(MB / 2 - 2) },
        { name: '1 MB of odd-length hex', input: 'F'.repeat(MB - 1) },
      ],
      call: decodeSockaddr,
      size: stringSize,
      show: (s) => showValue(s),
    }),
    stringTarget('decodeInterpretedSockaddr', () => ['{ saddr_fam=inet laddr=169.254.169.254 lport=80 }', '"{ fam=inet6 laddr=fd00:ec2::254 lport=80 }"', '{ saddr_fam=local path=/run/x }'], decodeInterpretedSockaddr),
    erase<{ raw: string; forceHex: boolean }>({
      name: 'decodeAuditValue',
      mayThrow: 'nothing',
      allowed: nothing,
      arbitrary: () =>
        fc.record({
          raw: fc.oneof(
            hostileText(() => ['"/usr/bin/curl"', '2F7573722F62696E2F6375726C', '(null)', '(none)', "'x'", '6375726C00687474703A2F2F3136392E3235342E3136392E3235342F', 'E282AC']),
            fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b).toString('hex').toUpperCase()),
          ),
          forceHex: fc.boolean(),
        }),
      hostile: () => [
        ...hostileStrings().map(({ name, input }) => ({ name, input: { raw: input, forceHex: false } })),
        { name: '1 MB of hex bytes that need encoding', input: { raw: '00'.repeat(MB / 2), forceHex: false } },
        { name: '1 MB of hex of a 3-byte character, cut', input: { raw: 'E282AC'.repeat(MB / 6) + 'E2', forceHex: true } },
        { name: '1 MB quoted', input: { raw: `"${'x'.repeat(MB)}"`, forceHex: false } },
      ],
      call: (input) => decodeAuditValue(input.raw, { forceHex: input.forceHex }),
      size: (input) => input.raw.length,
      show: (input) => `${showValue(input.raw)} forceHex=${input.forceHex}`,
    }),
    erase<EcsInput>({
      name: 'ecsToObservation',
      mayThrow: 'nothing',
      allowed: nothing,
      arbitrary: ecsArbitrary,
      hostile: hostileEcs,
      call: (input) => ecsToObservation(input.doc, logEvent(input.text), catalogue),
      size: (input) => (input.text !== '' ? input.text.length : valueSize(input.doc)),
      show: (input) => showValue(input.text !== '' ? input.text : input.doc),
    }),
    erase<Buffer>({
      name: 'readLogEvents',
      mayThrow: 'InputError',
      allowed: (error) => error instanceof InputError,
      arbitrary: bytesArbitrary,
      hostile: hostileFiles,
      call: (bytes) => readLogEvents(bytes, { file: 'fuzz.ndjson' }),
      size: (bytes) => bytes.length,
      show: (bytes) => showValue(bytes.toString('utf8')),
    }),
    stringTarget('createPrefilter()(message)', () => [...seeds().auditLines.slice(0, 300), ...seeds().ecsTexts.slice(0, 100)], prefilter),
    erase<string>({
      name: 'catalogue.findUrl',
      mayThrow: 'nothing',
      allowed: nothing,
      arbitrary: urlArbitrary,
      hostile: hostileStrings,
      call: (text) => catalogue.findUrl(text),
      size: stringSize,
      show: (s) => showValue(s),
    }),
    erase<{ host: string; port: number | undefined }>({
      name: 'catalogue.matchHost',
      mayThrow: 'nothing',
      allowed: nothing,
      arbitrary: () => fc.record({ host: addressArbitrary(), port: fc.option(fc.oneof(fc.integer({ min: -10, max: 70_000 }), fc.double()), { nil: undefined }) }),
      hostile: () => hostileStrings().map(({ name, input }) => ({ name, input: { host: input, port: 80 } })),
      call: (input) => catalogue.matchHost(input.host, input.port),
      size: (input) => input.host.length,
      show: (input) => `${showValue(input.host)} port=${String(input.port)}`,
    }),
    erase<string>({
      name: 'canonicalAddress',
      mayThrow: 'nothing',
      allowed: nothing,
      arbitrary: addressArbitrary,
      hostile: () => [
        ...hostileStrings(),
        { name: '1 MB of `1.`', input: '1.'.repeat(MB / 2) },
        { name: '1 MB of `:`', input: ':'.repeat(MB) },
        { name: '1 MB of `0x`', input: '0x'.repeat(MB / 2) },
        { name: '1 MB of digits', input: '9'.repeat(MB) },
        { name: 'IPv6 with a 1 MB zone', input: `fe80::1%${'%'.repeat(MB)}` },
        { name: '1 MB of `a:`', input: 'a:'.repeat(MB / 2) },
      ],
      call: canonicalAddress,
      size: stringSize,
      show: (s) => showValue(s),
    }),
    erase<unknown>({
      name: 'parseDetectorConfig',
      mayThrow: 'ConfigError',
      allowed: (error) => error instanceof ConfigError,
      arbitrary: configArbitrary,
      hostile: () => [...hostileConfigs(), ...hostileStrings().map(({ name, input }) => ({ name: `the string ${name}`, input: parseOr(input) }))],
      call: (raw) => parseDetectorConfig(raw, 'fuzz'),
      size: valueSize,
      show: (raw) => showValue(raw),
    }),
    erase<Record<string, string>>({
      name: 'loadEnvironment',
      mayThrow: 'ConfigError',
      allowed: (error) => error instanceof ConfigError,
      arbitrary: envArbitrary,
      hostile: hostileEnvironments,
      call: loadEnvironment,
      size: (env) => Object.entries(env).reduce((n, [k, v]) => n + k.length + v.length, 0),
      show: (env) => showValue(env),
    }),
    erase<string[]>({
      name: 'parseReplayArgs',
      mayThrow: 'UsageError',
      allowed: (error) => error instanceof UsageError,
      arbitrary: argvArbitrary,
      hostile: hostileArgv,
      call: parseReplayArgs,
      size: (argv) => argv.reduce((n, a) => n + a.length + 1, 0),
      show: (argv) => showValue(argv.length > 20 ? [...argv.slice(0, 20), `…(${argv.length} arguments)`] : argv),
    }),
    ...streamingTargets(),
  ];
}

// ---------------------------------------------------------------------------------------------
// Running

export interface TargetStats {
  calls: number;
  totalMs: number;
  worstMs: number;
  worstSize: number;
  worstInput: string;
  largestSize: number;
  /** Throws that were not allowed (before shrinking: the first is kept with its input). */
  escaped: number;
  /** Inputs whose property check failed (before shrinking). */
  violations: number;
}

export const emptyStats = (): TargetStats => ({ calls: 0, totalMs: 0, worstMs: 0, worstSize: 0, worstInput: '', largestSize: 0, escaped: 0, violations: 0 });

export class EscapedThrow extends Error {
  public constructor(target: string, cause: unknown) {
    super(`${target}: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)} escaped`, { cause });
    this.name = 'EscapedThrow';
  }
}

export class TooSlow extends Error {
  public constructor(target: string, ms: number, limitMs: number, size: number) {
    super(`${target}: a call took ${ms.toFixed(1)} ms, the fastest of ${TIMING_ATTEMPTS} (limit ${limitMs} ms), on an input of ${size} characters`);
    this.name = 'TooSlow';
  }
}

/** A target's property does not hold for an input (its `check`). */
export class PropertyViolation extends Error {
  public constructor(target: string, message: string) {
    super(`${target}: ${message}`);
    this.name = 'PropertyViolation';
  }
}

/** A call over the limit is timed again, up to this many calls in all; the fastest counts. */
export const TIMING_ATTEMPTS = 3;

interface TimedCall {
  ms: number;
  outcome: Outcome;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

async function timeCall(target: AnyFuzzTarget, input: unknown): Promise<TimedCall> {
  const started = performance.now();
  try {
    const returned = target.call(input);
    // Only asynchronous targets pay for an await.
    const value = isPromiseLike(returned) ? await returned : returned;
    return { ms: performance.now() - started, outcome: { threw: false, value } };
  } catch (error) {
    return { ms: performance.now() - started, outcome: { threw: true, thrown: error } };
  }
}

/**
 * Calls the target, timed. Throws EscapedThrow for a throw it may not let out, TooSlow for a call
 * over `limitMs`, and PropertyViolation when the target's `check` fails. A call over the limit is
 * repeated (the targets are pure) and the fastest of TIMING_ATTEMPTS counts, so that a pause of a
 * shared machine (another process, a GC of earlier garbage) is not taken for slow code:
 * super-linear code is slow every time.
 */
export async function runCase(target: AnyFuzzTarget, input: unknown, stats: TargetStats, limitMs: number): Promise<number> {
  const size = target.size(input);
  const first = await timeCall(target, input);
  let ms = first.ms;
  for (let attempt = 1; attempt < TIMING_ATTEMPTS && ms > limitMs && !first.outcome.threw; attempt++) ms = Math.min(ms, (await timeCall(target, input)).ms);
  stats.calls++;
  stats.totalMs += ms;
  stats.largestSize = Math.max(stats.largestSize, size);
  if (ms > stats.worstMs) {
    stats.worstMs = ms;
    stats.worstSize = size;
    stats.worstInput = target.show(input);
  }
  if (first.outcome.threw && !target.allowed(first.outcome.thrown)) {
    stats.escaped++;
    throw new EscapedThrow(target.name, first.outcome.thrown);
  }
  if (ms > limitMs) throw new TooSlow(target.name, ms, limitMs, size);
  if (target.check) {
    try {
      target.check(input, first.outcome);
    } catch (error) {
      stats.violations++;
      throw error instanceof PropertyViolation ? error : new PropertyViolation(target.name, error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    }
  }
  return ms;
}
