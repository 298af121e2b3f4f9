// Hostile input for the streaming input path: the needle scanner over raw bytes, and scanLogFile
// (chunked reader, candidate lines only, auditd records read back) against its reference.
//
// Both read bytes a local user on a monitored host can shape. Beyond "throws nothing but
// InputError, answers in time", each target checks a property on every input:
// - needle scanner: the hits are exactly the occurrences a naive search finds (needles in any
//   ASCII case, `\/` for `/`, `\u00XX` escapes of needle characters, auditd headers), in range,
//   in order; and when the caller skips to the next line after a hit, each line with an
//   occurrence gets exactly one hit, its first.
// - scanLogFile: the same events, format and InputError as the reference,
//   keepDetectionEvents(readLogEvents(bytes).events), and no skip the reference does not count.
//   Files are built from real corpus and simulator lines, edited and mixed with junk, lines
//   around the 256 KB limit, invalid UTF-8, JSON escapes (`\u00XX`, `\/`), CRLF, BOM, missing
//   final newline, empty files; chunk sizes are small, and often aimed so that a chunk boundary
//   falls inside a needle or an auditd header.
//
// This module is imported by fuzz-targets.ts and imports from it: it touches those imports only
// inside functions (never while the modules load).

import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { createEndpointCatalogue } from '../../src/endpoints/endpoint-catalogue.js';
import { InputError } from '../../src/errors.js';
import { auditIdOf } from '../../src/telemetry/auditd/audit-record.js';
import { keepDetectionEvents } from '../../src/telemetry/detection-events.js';
import { readLogEvents } from '../../src/telemetry/envelope/read-log-events.js';
import { scanLogFile, type ScannedLogFile } from '../../src/telemetry/envelope/scan-log-file.js';
import { MAX_LINE_BYTES, type LogEvent, type SkipReason } from '../../src/telemetry/log-event.js';
import { AUDIT_HEADER, createNeedleScanner, HIT_AUDIT_HEADER, HIT_ESCAPE, HIT_NEEDLE, type HitKind, type NeedleScanner } from '../../src/telemetry/needle-scanner.js';
import { createPrefilter } from '../../src/telemetry/prefilter.js';
import { applyEdits, editedFile, edits, erase, hostileStrings, MB, PropertyViolation, seeds, showValue, type AnyFuzzTarget, type Outcome } from './fuzz-targets.js';

const catalogue = createEndpointCatalogue();
const prefilter = createPrefilter(catalogue);
const scannerOrNothing = createNeedleScanner(catalogue.needles);
if (!scannerOrNothing) throw new Error('the default catalogue has needles the scanner cannot scan');
const scanner: NeedleScanner = scannerOrNothing;

const fill = (t: string, size = MB): string => t.repeat(Math.max(1, Math.floor(size / t.length)));

// ---------------------------------------------------------------------------------------------
// Shared pieces of hostile bytes

/** Byte sequences that are not UTF-8: stray continuation, lone lead, overlong, surrogate, past U+10FFFF, cut 3-byte. */
const INVALID_UTF8: readonly Buffer[] = [[0xff], [0x80], [0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]].map((b) => Buffer.from(b));

/** Needles in a random ASCII case, sometimes with `/` written `\/`. */
const needleArbitrary = fc
  .tuple(fc.constantFrom(...catalogue.needles, AUDIT_HEADER), fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }), fc.boolean())
  .map(([needle, upper, slashes]) => {
    const cased = [...needle].map((c, i) => (needle === AUDIT_HEADER || !upper[i] ? c : c.toUpperCase())).join('');
    return slashes ? cased.replaceAll('/', '\\/') : cased;
  });

/** `\u00XX` for a printable ASCII character (mostly needle characters), in either hex case. */
const escapeArbitrary = fc
  .tuple(fc.oneof(fc.constantFrom(...scanner.alphabet), fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c))), fc.boolean())
  .map(([c, upper]) => {
    const hex = c.charCodeAt(0).toString(16).padStart(2, '0');
    return `\\u00${upper ? hex.toUpperCase() : hex}`;
  });

/**
 * JSON text with some characters of its strings escaped: `/` as `\/` and any printable ASCII as
 * `\u00XX` (what some producers write); `rate` out of 16 chances per character.
 */
export function escapeJsonStrings(text: string, rate: number, salt: number): string {
  let out = '';
  let inString = false;
  let escaped = false;
  let n = salt >>> 0;
  for (const c of text) {
    n = (Math.imul(n, 1_103_515_245) + 12_345) >>> 0;
    const pick = (n >>> 16) % 16 < rate;
    if (!inString) {
      if (c === '"') inString = true;
      out += c;
    } else if (escaped) {
      escaped = false;
      out += c;
    } else if (c === '\\') {
      escaped = true;
      out += c;
    } else if (c === '"') {
      inString = false;
      out += c;
    } else if (pick && c === '/') out += '\\/';
    else if (pick && c >= ' ' && c <= '~') out += `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
    else out += c;
  }
  return out;
}

/** One line of a file, as bytes (some are not UTF-8). */
const lineArbitrary = (): fc.Arbitrary<Buffer> => {
  const envelopes = (): readonly string[] => seeds().envelopeLines;
  const realLines = (): readonly string[] => [...seeds().envelopeLines, ...seeds().auditLines, ...seeds().ecsTexts];
  const pick = <T>(all: readonly T[], i: number, fallback: T): T => (all.length === 0 ? fallback : (all[i % all.length] as T));
  const real = fc.nat().map((i) => pick(realLines(), i, ''));
  const edited = fc.tuple(fc.nat(), edits).map(([i, list]) => applyEdits(pick(realLines(), i, ''), list));
  const escapedEnvelope = fc.tuple(fc.nat(), fc.integer({ min: 1, max: 16 }), fc.nat()).map(([i, rate, salt]) => escapeJsonStrings(pick(envelopes(), i, '{}'), rate, salt));
  // A needle, escape or header put into a real line.
  const planted = fc
    .tuple(fc.nat(), fc.nat(), fc.array(fc.oneof(needleArbitrary, escapeArbitrary), { minLength: 1, maxLength: 4 }))
    .map(([i, at, pieces]) => {
      const base = pick(realLines(), i, '');
      const cut = base.length === 0 ? 0 : at % (base.length + 1);
      return base.slice(0, cut) + pieces.join('') + base.slice(cut);
    });
  const junk = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.array(fc.oneof(needleArbitrary, escapeArbitrary, fc.constantFrom('{', '}', '"', '\\', ' ', '\t', '\r', 'type=SYSCALL ', '): ', ':1)')), { maxLength: 40 }).map((p) => p.join('')),
  );
  // Lines around the 256 KB limit (a real line padded in a value; blanks around it are not counted).
  const nearLimit = fc
    .tuple(fc.nat(), fc.integer({ min: -3, max: 3 }), fc.constantFrom('x', ' ', '169.254.169.254 ', '\\u0061'), fc.constantFrom('', '   ', '\t\r'))
    .map(([i, delta, pad, blanks]) => {
      const base = pick(envelopes(), i, '{"timestamp":1,"message":"x"}');
      const at = Math.max(0, base.indexOf('"message":"') + 11);
      const padding = fill(pad, Math.max(1, MAX_LINE_BYTES + delta - base.length)).slice(0, Math.max(0, MAX_LINE_BYTES + delta - base.length));
      return `${blanks}${base.slice(0, at)}${padding}${base.slice(at)}${blanks}`;
    });
  const text = fc.oneof(
    { arbitrary: real, weight: 6 },
    { arbitrary: edited, weight: 5 },
    { arbitrary: escapedEnvelope, weight: 4 },
    { arbitrary: planted, weight: 5 },
    { arbitrary: junk, weight: 3 },
    { arbitrary: fc.constantFrom('', ' ', '\t', '\r', '{', '}', '{}', '[', ']', '\uFEFF'), weight: 2 },
    { arbitrary: nearLimit, weight: 1 },
  );
  // Invalid UTF-8 put into some lines.
  return fc.tuple(text, fc.option(fc.tuple(fc.constantFrom(...INVALID_UTF8), fc.nat()), { freq: 15 })).map(([t, bad]) => {
    const bytes = Buffer.from(t);
    if (!bad) return bytes;
    const at = bytes.length === 0 ? 0 : bad[1] % (bytes.length + 1);
    return Buffer.concat([bytes.subarray(0, at), bad[0], bytes.subarray(at)]);
  });
};

// ---------------------------------------------------------------------------------------------
// The needle scanner

interface ScanInput {
  bytes: Buffer;
  from: number;
  to: number;
  /** `every`: resume one byte after each hit; `line`: resume at the next line (as scanLogFile does). */
  resume: 'every' | 'line';
}

interface Hit {
  kind: HitKind;
  at: number;
}

/** The bytes as a string of their ASCII-lower-cased latin1 characters (one character per byte). */
const lowered = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1').toLowerCase();

const NEEDLE_FORMS: readonly string[] = [...new Set(catalogue.needles.flatMap((n) => [n.toLowerCase(), n.toLowerCase().replaceAll('/', '\\/')]))];

/** Whether a needle starts at `at` and ends by `to`, with any of its `/` written `\/` (the loosest form a hit may take). */
function needleAt(text: string, at: number, to: number): boolean {
  return catalogue.needles.some((needle) => {
    let p = at;
    for (const c of needle.toLowerCase()) {
      if (c === '/' && text[p] === '\\' && text[p + 1] === '/') p += 2;
      else if (text[p] === c) p += 1;
      else return false;
      if (p > to) return false;
    }
    return true;
  });
}

function escapeAt(bytes: Uint8Array, at: number, to: number): boolean {
  if (at + 6 > to) return false;
  const text = Buffer.from(bytes.subarray(at, at + 6)).toString('latin1');
  if (!/^\\u00[0-9a-fA-F]{2}$/.test(text)) return false;
  return scanner.alphabet.has(String.fromCharCode(parseInt(text.slice(4), 16)));
}

/** Where the line holding a byte starts: one pass over the buffer, then a binary search per byte (hits can be 100,000 on one 1 MB line). */
function lineStarts(bytes: Buffer): (at: number) => number {
  const starts = [0];
  for (let at = bytes.indexOf(0x0a); at >= 0; at = bytes.indexOf(0x0a, at + 1)) starts.push(at + 1);
  return (at) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= at) lo = mid;
      else hi = mid - 1;
    }
    return starts[lo] as number;
  };
}

/**
 * The occurrences that must be found (needles as written or with every `/` as `\/`, any ASCII
 * case; auditd headers; escapes from two bytes into their line and the range, where a JSON string
 * can hold one), and a test for what may be found (also needles with only some `/` escaped, and
 * escapes earlier in a line).
 */
function referenceHits(input: ScanInput): { must: Hit[]; may: (hit: Hit) => boolean } {
  const { bytes, from, to } = input;
  const lineStart = lineStarts(bytes);
  const text = lowered(bytes);
  const must: Hit[] = [];
  const mustNeedles = new Set<number>();
  for (const form of NEEDLE_FORMS)
    for (let at = text.indexOf(form, from); at >= 0 && at + form.length <= to; at = text.indexOf(form, at + 1)) mustNeedles.add(at);
  for (const at of mustNeedles) must.push({ kind: HIT_NEEDLE, at });
  const raw = bytes.toString('latin1');
  for (let at = raw.indexOf(AUDIT_HEADER, from); at >= 0 && at + AUDIT_HEADER.length <= to; at = raw.indexOf(AUDIT_HEADER, at + 1)) must.push({ kind: HIT_AUDIT_HEADER, at });
  for (let at = raw.indexOf('\\u00', from); at >= 0; at = raw.indexOf('\\u00', at + 1)) {
    if (escapeAt(bytes, at, to) && at >= Math.max(from, lineStart(at)) + 2) must.push({ kind: HIT_ESCAPE, at });
  }
  must.sort((a, b) => a.at - b.at || a.kind - b.kind);
  const may = (hit: Hit): boolean =>
    hit.at >= from &&
    (hit.kind === HIT_NEEDLE
      ? needleAt(text, hit.at, to)
      : hit.kind === HIT_AUDIT_HEADER
        ? hit.at + AUDIT_HEADER.length <= to && raw.startsWith(AUDIT_HEADER, hit.at)
        : escapeAt(bytes, hit.at, to));
  return { must, may };
}

function runScanner(input: ScanInput): Hit[] {
  const hits: Hit[] = [];
  scanner.scan(input.bytes, input.from, input.to, (kind, at) => {
    hits.push({ kind, at });
    if (hits.length > 4 * input.bytes.length + 16) throw new Error('more hits than bytes: the scanner does not advance');
    if (input.resume === 'every') return at + 1;
    const newline = input.bytes.indexOf(0x0a, at);
    return newline < 0 || newline >= input.to ? input.to : newline + 1;
  });
  return hits;
}

const KIND_NAMES = ['needle', 'escape', 'audit header'];
const showHit = (h: Hit, bytes: Buffer): string => `${KIND_NAMES[h.kind] ?? h.kind} at ${h.at} (${JSON.stringify(bytes.toString('latin1', Math.max(0, h.at - 4), h.at + 16))})`;

function checkScan(input: ScanInput, outcome: Outcome): void {
  const fail = (message: string): never => {
    throw new PropertyViolation('needleScanner.scan', `${message}; scan(${showValue(input.bytes.toString('latin1'), 200)}, ${input.from}, ${input.to}, resume ${input.resume})`);
  };
  if (outcome.threw) return fail('threw');
  const hits = outcome.value as Hit[];
  const { must, may } = referenceHits(input);
  const lineStart = lineStarts(input.bytes);
  for (const hit of hits) if (!may(hit)) fail(`reported ${showHit(hit, input.bytes)}, which is not there (or not wholly in range)`);
  // Increasing within a line (the four quarters of the range are scanned at once).
  const byLine = new Map<number, Hit[]>();
  for (const hit of hits) {
    const start = lineStart(hit.at);
    const line = byLine.get(start) ?? [];
    const previous = line[line.length - 1];
    if (previous && previous.at >= hit.at) fail(`${showHit(hit, input.bytes)} came after ${showHit(previous, input.bytes)} on one line`);
    line.push(hit);
    byLine.set(start, line);
  }
  if (input.resume === 'every') {
    const found = new Set(hits.map((h) => `${h.kind}:${h.at}`));
    const missed = must.find((h) => !found.has(`${h.kind}:${h.at}`));
    if (missed) fail(`missed the ${showHit(missed, input.bytes)}`);
    return;
  }
  // Resuming at the next line: one hit per line that has an occurrence, and it is the first occurrence.
  const firstMust = new Map<number, Hit>();
  for (const hit of must) {
    const start = lineStart(hit.at);
    if (!firstMust.has(start)) firstMust.set(start, hit);
  }
  for (const [start, line] of byLine) if (line.length > 1) fail(`${line.length} hits on the line at ${start} though the caller resumed at the next line`);
  for (const [start, first] of firstMust) {
    const hit = byLine.get(start)?.[0];
    if (!hit) fail(`missed the line at ${start}: its first occurrence is the ${showHit(first, input.bytes)}`);
    else if (hit.at > first.at) fail(`the line at ${start} was reported at its ${showHit(hit, input.bytes)}, after its first occurrence, the ${showHit(first, input.bytes)}`);
  }
}

/** Fuzzed ranges may end before the buffer does, mid-line (scan-range.test.ts pins the bug this found). */
const RANGES_END_MID_BUFFER = true;

const scanInputArbitrary = (): fc.Arbitrary<ScanInput> => {
  const lines = fc.array(lineArbitrary(), { maxLength: 40 });
  const tokens = fc.array(fc.oneof(needleArbitrary, escapeArbitrary, fc.constantFrom('\n', ' ', '"', '\\', '/', '{"m":"', '169.254', 'a9fe', '\\u00', 'msg=audit', 'metadata')), { maxLength: 300 }).map((t) => Buffer.from(t.join('')));
  const random = fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b));
  const bytes = fc.oneof(
    { arbitrary: fc.tuple(lines, fc.constantFrom('\n', '\r\n')).map(([ls, nl]) => Buffer.concat(ls.flatMap((l) => [l, Buffer.from(nl)]))), weight: 5 },
    { arbitrary: tokens, weight: 4 },
    { arbitrary: random, weight: 1 },
  );
  // Offsets into a larger buffer, so that bytes.byteOffset is not 0 and bytes before `from` exist.
  return fc.tuple(bytes, fc.nat({ max: 9 }), fc.nat(), fc.nat(), fc.boolean(), fc.constantFrom<'every' | 'line'>('every', 'line')).map(([b, lead, x, y, whole, resume]) => {
    const padded = Buffer.concat([Buffer.alloc(lead, 0x61), b]).subarray(lead);
    const from = whole || padded.length === 0 ? 0 : x % (padded.length + 1);
    const to = whole ? padded.length : from + (padded.length === from ? 0 : y % (padded.length - from + 1));
    return { bytes: RANGES_END_MID_BUFFER ? padded : padded.subarray(0, to), from, to, resume };
  });
};

function hostileScans(): { name: string; input: ScanInput }[] {
  const whole = (name: string, text: string | Buffer): { name: string; input: ScanInput } => {
    const bytes = typeof text === 'string' ? Buffer.from(text) : text;
    return { name, input: { bytes, from: 0, to: bytes.length, resume: 'every' } };
  };
  return [
    ...hostileStrings().map(({ name, input }) => whole(name, input)),
    whole('1 MB of `\\u0061` escapes', fill('\\u0061')),
    whole('1 MB of `\\u00` without digits', fill('\\u00')),
    whole('1 MB of `\\/\\/metadata\\/`', fill('\\/\\/metadata\\/')),
    whole('1 MB of needles with one byte changed (near misses)', fill(catalogue.needles.map((n) => n.slice(0, -1) + '#').join(''))),
    whole('1 MB of `a9fe` (shift 0 everywhere)', fill('a9fe')),
    whole('1 MB of digits and dots', fill('169.254.')),
    whole('1 MB of needles one per line', fill(catalogue.needles.join('\n') + '\n')),
    whole('1 MB of invalid UTF-8 with needles', Buffer.concat(Array.from({ length: MB / 32 }, () => Buffer.from([0xff, 0xfe, ...Buffer.from('169.254.169.254'), 0xc3, ...Buffer.from('msg=audit(1.2:3)'), 0x80])))),
    whole('1 MB of NUL bytes', Buffer.alloc(MB)),
  ];
}

// ---------------------------------------------------------------------------------------------
// scanLogFile

interface FileInput {
  bytes: Buffer;
  /** scanLogFile's chunkBytes (undefined: its default of 4 MiB); the reader raises values under 64 to 64. */
  chunkBytes: number | undefined;
}

let scratch: string | undefined;

/** One file per worker thread, rewritten for each case (its name is in the line-numbered event ids). */
function scratchFile(): string {
  scratch ??= path.join(mkdtempSync(path.join(os.tmpdir(), 'imds-watch-fuzz-')), 'fuzz.log');
  return scratch;
}

interface FileOutcome {
  file: string;
  result: ScannedLogFile;
}

async function scanBytes(input: FileInput): Promise<FileOutcome> {
  const file = scratchFile();
  writeFileSync(file, input.bytes);
  const result = await scanLogFile(file, { scanner, prefilter, ...(input.chunkBytes === undefined ? {} : { chunkBytes: input.chunkBytes }) });
  return { file, result };
}

const showEvent = (e: LogEvent | undefined): string => (e === undefined ? 'nothing' : showValue({ ...e, message: e.message.length > 160 ? `${e.message.slice(0, 160)}…` : e.message }, 400));

function checkFile(input: FileInput, outcome: Outcome): void {
  const file = scratchFile();
  const fail = (message: string): never => {
    throw new PropertyViolation('scanLogFile', `${message}; chunkBytes ${input.chunkBytes ?? 'default'}, file ${showValue(input.bytes.toString('latin1'), 300)}`);
  };
  let expected: { events: LogEvent[]; skipped: Partial<Record<SkipReason, number>>; format: string };
  try {
    const whole = readLogEvents(input.bytes, { file });
    expected = { events: keepDetectionEvents(whole.events, prefilter), skipped: whole.skipped, format: whole.format };
  } catch (error) {
    if (!(error instanceof InputError)) return fail(`the reference threw ${String(error)}`);
    if (!outcome.threw) return fail(`the reference refuses the file (${error.message}) but scanLogFile read it`);
    const thrown = outcome.thrown;
    if (!(thrown instanceof InputError) || thrown.message !== error.message) fail(`the reference threw "${error.message}", scanLogFile "${String(thrown)}"`);
    return;
  }
  if (outcome.threw) return fail(`scanLogFile threw ${String(outcome.thrown)} on a file the reference reads`);
  const { result } = outcome.value as FileOutcome;
  if (result.format !== expected.format) fail(`format ${result.format}, the reference says ${expected.format}`);
  if (!isDeepStrictEqual(result.events, expected.events)) {
    const i = result.events.findIndex((e, j) => !isDeepStrictEqual(e, expected.events[j]));
    const at = i < 0 ? Math.min(result.events.length, expected.events.length) : i;
    fail(`kept ${result.events.length} events, the reference ${expected.events.length}; event ${at}: ${showEvent(result.events[at])}, the reference: ${showEvent(expected.events[at])}`);
  }
  for (const [reason, n] of Object.entries(result.skipped) as [SkipReason, number][]) {
    if (n > (expected.skipped[reason] ?? 0)) fail(`counted ${n} ${reason} skips, the reference ${expected.skipped[reason] ?? 0}`);
  }
}

/** Where chunk boundaries fall for the reading pass (it reads from the first byte after a BOM). */
const dataStartOf = (bytes: Buffer): number => (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0);

/** A chunk size whose first boundary falls inside an occurrence of a needle, escape or header (the `pick`-th), if any lies far enough in. */
function aimedChunk(bytes: Buffer, pick: number, into: number): number | undefined {
  const text = lowered(bytes);
  const start = dataStartOf(bytes);
  const spots: { at: number; length: number }[] = [];
  for (const form of [...NEEDLE_FORMS, AUDIT_HEADER, '\\u00', '\\/']) {
    for (let at = text.indexOf(form, start + 63); at >= 0 && spots.length < 4000; at = text.indexOf(form, at + 1)) spots.push({ at, length: form === '\\u00' ? 6 : form.length });
  }
  if (spots.length === 0) return undefined;
  const spot = spots[pick % spots.length] as { at: number; length: number };
  return spot.at + 1 + (into % Math.max(1, spot.length - 1)) - start;
}

interface Groups {
  /** NDJSON envelope lines of one auditd event (stream and id), at least one a candidate. */
  envelope: string[][];
  /** Raw audit.log lines of one event, at least one a candidate. */
  raw: string[][];
  /** Single envelope lines that are candidates (ECS documents, auditd records). */
  candidates: string[];
}

let groupCache: Groups | undefined;

/** Lines that detection keeps, from the seeds: what makes the parity property say something. */
function groups(): Groups {
  if (groupCache) return groupCache;
  const byKey = new Map<string, string[]>();
  const candidates: string[] = [];
  for (const line of seeds().envelopeLines) {
    const parsed = JSON.parse(line) as { message?: unknown; logStreamName?: unknown };
    const message = typeof parsed.message === 'string' ? parsed.message : '';
    if (prefilter(message)) candidates.push(line);
    const id = auditIdOf(message);
    if (!id) continue;
    const key = `${String(parsed.logStreamName)}\u0000${id.node}\u0000${id.auditId}`;
    byKey.set(key, [...(byKey.get(key) ?? []), line]);
  }
  const hasCandidate = (lines: readonly string[], message: (l: string) => string): boolean => lines.some((l) => prefilter(message(l)));
  const envelopeMessage = (l: string): string => String((JSON.parse(l) as { message?: unknown }).message ?? '');
  groupCache = {
    envelope: [...byKey.values()].filter((g) => g.length > 1 && hasCandidate(g, envelopeMessage)),
    raw: seeds().auditGroups.filter((g) => hasCandidate(g, (l) => l)),
    candidates,
  };
  return groupCache;
}

/** A candidate auditd event's lines (envelope or raw), in a random order, or one candidate line. */
const candidateBlock = (): fc.Arbitrary<Buffer[]> =>
  fc.tuple(fc.nat(), fc.constantFrom('envelope', 'raw', 'single'), fc.array(fc.nat(), { maxLength: 8 })).map(([i, kind, order]) => {
    const g = groups();
    const all = kind === 'envelope' ? g.envelope : kind === 'raw' ? g.raw : g.candidates.map((c) => [c]);
    const lines = [...(all.length === 0 ? [] : (all[i % all.length] as string[]))];
    order.forEach((j, k) => {
      if (lines.length < 2) return;
      const a = k % lines.length;
      const b = j % lines.length;
      [lines[a], lines[b]] = [lines[b] as string, lines[a] as string];
    });
    return lines.map((l) => Buffer.from(l));
  });

const fileArbitrary = (): fc.Arbitrary<FileInput> => {
  const corpusFile = editedFile(() => seeds().files, 6);
  const linesFile = fc
    .tuple(
      fc.array(fc.oneof({ arbitrary: lineArbitrary().map((l) => [l]), weight: 4 }, { arbitrary: candidateBlock(), weight: 1 }), { maxLength: 40 }),
      fc.option(fc.nat(), { freq: 3 }), // a clean first line, so that the file reads as lines more often than not
      fc.constantFrom('\n', '\r\n', 'mixed'),
      fc.boolean(), // final newline
      fc.boolean(), // BOM
      fc.nat(),
    )
    .map(([blocks, head, nl, final, bom, salt]) => {
      const heads = seeds().envelopeLines;
      const lines = [...(head === null || heads.length === 0 ? [] : [Buffer.from(heads[head % heads.length] as string)]), ...blocks.flat()];
      const parts: Buffer[] = bom ? [Buffer.from([0xef, 0xbb, 0xbf])] : [];
      lines.forEach((line, i) => {
        parts.push(line);
        if (i < lines.length - 1 || final) parts.push(Buffer.from(nl === 'mixed' ? ((salt >> i % 30) & 1 ? '\r\n' : '\n') : nl));
      });
      return Buffer.concat(parts);
    });
  const bytes = fc.oneof({ arbitrary: linesFile, weight: 8 }, { arbitrary: corpusFile, weight: 2 }, { arbitrary: fc.constantFrom(Buffer.alloc(0), Buffer.from('\n'), Buffer.from('\r\n'), Buffer.from([0xef, 0xbb, 0xbf])), weight: 1 });
  const chunk = fc.oneof(
    { arbitrary: fc.constant<'aimed'>('aimed'), weight: 5 },
    { arbitrary: fc.constantFrom(64, 65, 97, 128, 255, 1000, 4096, 65_536), weight: 4 },
    { arbitrary: fc.constant(undefined), weight: 1 },
  );
  return fc.tuple(bytes, chunk, fc.nat(), fc.nat()).map(([b, c, pick, into]) => ({ bytes: b, chunkBytes: c === 'aimed' ? (aimedChunk(b, pick, into) ?? 64) : c }));
};

function hostileFileInputs(): { name: string; input: FileInput }[] {
  const envelope = (message: string, eventId: string): string => JSON.stringify({ timestamp: 1_700_000_000_000, logGroupName: '/audit', logStreamName: 'i-1', eventId, message });
  const candidate = envelope('type=SOCKADDR msg=audit(1700000000.100:1): saddr=02000050A9FEA9FE0000000000000000', 'c');
  const record = (i: number): string => envelope('type=PATH msg=audit(1700000000.100:1): item=0 name="/etc/x"', `r${i}`);
  const at = (name: string, text: string | Buffer, chunkBytes?: number): { name: string; input: FileInput } => ({ name, input: { bytes: typeof text === 'string' ? Buffer.from(text) : text, chunkBytes } });
  return [
    ...hostileStrings()
      .slice(0, 18)
      .map(({ name, input }) => at(name, input, 64)),
    at('a line of exactly 256 KB in 64-byte chunks', `{"timestamp":1,"message":"${fill('169.254.169.254 ', MAX_LINE_BYTES).slice(0, MAX_LINE_BYTES - 30)}"}\n`, 64),
    at('a line of 256 KB + 1 in 64-byte chunks', `{"timestamp":1,"message":"${fill('169.254.169.254 ', MAX_LINE_BYTES).slice(0, MAX_LINE_BYTES - 29)}"}\n`, 64),
    at('1 MB of newlines in 64-byte chunks', fill('\n'), 64),
    at('1 MB of CRLF in 64-byte chunks', fill('\r\n'), 64),
    at('1 MB of `msg=audit(` in 64-byte chunks', fill('msg=audit('), 64),
    at('1 MB of escaped needles, one line', `{"timestamp":1,"message":"${fill(escapeJsonStrings('"169.254.169.254 http://metadata/"', 16, 1).slice(1, -1))}"}`, 97),
    at('1 MB of candidate NDJSON lines', fill(`${candidate}\n`)),
    at('a candidate and 8,000 records of its event (read back)', [candidate, ...Array.from({ length: 8000 }, (_, i) => record(i))].join('\n')),
    at('8,000 records then their candidate, 128-byte chunks', [...Array.from({ length: 8000 }, (_, i) => record(i)), candidate].join('\n'), 128),
    at('1 MB of invalid UTF-8 lines with needles', Buffer.concat(Array.from({ length: MB / 64 }, () => Buffer.from([...Buffer.from('{"message":"169.254.169.254'), 0xff, ...Buffer.from('msg=audit(1.2:3)"}\n')])))),
    at('1 MB of one-byte lines `{`', fill('{\n'), 64),
    at('a BOM and 1 MB of blanks', `\uFEFF${fill(' ')}`, 64),
  ];
}

// ---------------------------------------------------------------------------------------------
// The targets

export function streamingTargets(): AnyFuzzTarget[] {
  return [
    erase<ScanInput>({
      name: 'needleScanner.scan',
      mayThrow: 'nothing',
      allowed: () => false,
      arbitrary: scanInputArbitrary,
      hostile: hostileScans,
      call: runScanner,
      size: (input) => input.to - input.from,
      show: (input) => `${showValue(input.bytes.toString('latin1'))} from ${input.from} to ${input.to}, resume ${input.resume}`,
      property: 'hits are exactly what a naive search finds, in range and in order within a line; one hit per line, its first, when the caller skips to the next line',
      check: checkScan,
    }),
    erase<FileInput>({
      name: 'scanLogFile',
      mayThrow: 'InputError',
      allowed: (error) => error instanceof InputError,
      arbitrary: fileArbitrary,
      hostile: hostileFileInputs,
      call: scanBytes,
      size: (input) => input.bytes.length,
      show: (input) => `${showValue(input.bytes.toString('latin1'))} chunkBytes=${input.chunkBytes ?? 'default'}`,
      property: 'keeps exactly the events (and format, and InputError) of keepDetectionEvents(readLogEvents(bytes)); never counts a skip the reference does not',
      check: checkFile,
    }),
  ];
}
