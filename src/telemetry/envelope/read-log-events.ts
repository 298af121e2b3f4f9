// input file (replay, backfill) --> (readLogEvents) --> LogEvent[] --> prefilter and normalizers
//
// One file's bytes become CloudWatch Logs events, whatever the file holds: NDJSON of CloudWatch
// events, the JSON that `aws logs filter-log-events` / `get-log-events` print (one document or
// several concatenated), or plain log lines (raw audit.log, ECS JSON one document per line).
// Bad lines are skipped and counted by reason; only a file that cannot be read at all throws.
//
// A replay may read a million lines: lines are split on newline bytes in the Buffer, each line is
// decoded once, ECS lines are not JSON-parsed here (the normalizer parses the few that pass the
// prefilter) and no per-line regular expression runs.

import { isUtf8 } from 'node:buffer';
import { basename } from 'node:path';
import { InputError } from '../../errors.js';
import { countSkip, MAX_LINE_BYTES, type LogEvent, type SkipCounts, type SkipReason } from '../log-event.js';

/** How the file was read. */
export type InputFormat = 'cloudwatch-ndjson' | 'cloudwatch-json' | 'plain-lines';

/** Where the bytes came from: names the events of formats that carry no log group, stream or id. */
export interface LogEventOrigin {
  file: string;
}

export interface ReadLogEventsResult {
  events: LogEvent[];
  /** Lines (or events of a JSON document) skipped, by reason. Blank lines are not counted. */
  skipped: SkipCounts;
  format: InputFormat;
}

/** 9999-12-31T23:59:59.999Z: later timestamps are absurd. */
export const MAX_TIMESTAMP_MS = 253_402_300_799_999;

/**
 * A time value as ms since the epoch: a number of ms, a string of digits (ms), or a date string
 * (`2017-04-21T05:38:27.096Z`). Undefined when it does not parse, is negative or is beyond year 9999.
 */
export function parseTimestamp(value: unknown): number | undefined {
  let ms: number;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') {
    const text = value.trim();
    if (text === '') return undefined;
    ms = isDigits(text) ? Number(text) : (isoUtc(text) ?? Date.parse(text));
  } else return undefined;
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_TIMESTAMP_MS) return undefined;
  return Math.floor(ms);
}

/** Fast path for `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, the form ECS and Beats write; else undefined. */
function isoUtc(text: string): number | undefined {
  const n = text.length;
  if (n < 20 || text.charCodeAt(n - 1) !== 0x5a /* Z */) return undefined;
  if (text[4] !== '-' || text[7] !== '-' || text[10] !== 'T' || text[13] !== ':' || text[16] !== ':') return undefined;
  const year = digitAt(text, 0) * 1000 + digitAt(text, 1) * 100 + digitAt(text, 2) * 10 + digitAt(text, 3);
  const month = digitAt(text, 5) * 10 + digitAt(text, 6);
  const day = digitAt(text, 8) * 10 + digitAt(text, 9);
  const hour = digitAt(text, 11) * 10 + digitAt(text, 12);
  const minute = digitAt(text, 14) * 10 + digitAt(text, 15);
  const second = digitAt(text, 17) * 10 + digitAt(text, 18);
  let ms = 0;
  if (n > 20) {
    if (text[19] !== '.' || n === 21) return undefined;
    for (let i = 20, scale = 100; i < n - 1; i++, scale /= 10) {
      const c = digitAt(text, i);
      if (Number.isNaN(c)) return undefined;
      ms += c * scale;
    }
  }
  // Years before 1000 (Date.UTC maps 0-99 to 1900-1999) and impossible dates go the slow way.
  if (!(year >= 1000 && month >= 1 && month <= 12 && day >= 1 && hour <= 23 && minute <= 59 && second <= 59)) return undefined;
  if (day > daysInMonth(year, month)) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second, 0) + Math.floor(ms);
}

/** The digit at `i`, or NaN. */
function digitAt(text: string, i: number): number {
  const c = text.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : NaN;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Reads one input file as CloudWatch Logs events.
 *
 * Format detection looks at the first non-blank content: a complete JSON object with a `message`
 * and a `timestamp` means NDJSON envelopes; a JSON object with `events` (or `logEvents`),
 * a JSON array, or a `{` whose line is not complete JSON means whole-file JSON; anything else
 * (auditd lines, ECS documents with `@timestamp`) means plain lines. Lines are classified one by
 * one in the line formats, so a stray audit line in an NDJSON file still comes through.
 *
 * @throws InputError when the file as a whole is unreadable: a JSON document that is not an
 * object with an `events` array, or broken JSON that is not line-oriented either.
 * @example
 * const { events, skipped, format } = readLogEvents(await readFile(path), { file: path });
 */
export function readLogEvents(bytes: Buffer, origin: LogEventOrigin): ReadLogEventsResult {
  const ctx = createContext(bytes, origin);
  const first = skipWhitespace(bytes, ctx.start, bytes.length);
  if (first >= bytes.length) return { events: [], skipped: {}, format: 'plain-lines' };

  const firstByte = bytes[first];
  if (firstByte === BRACKET_OPEN) {
    // `aws logs filter-log-events --query events` prints a bare array of events.
    const docs = parseDocuments(decodeAll(ctx));
    if (docs.values.some(isDocumentOfEvents)) return readDocuments(docs, ctx);
    // Not JSON at all (`[INFO] ...` text lines) reads as lines; well-formed JSON of another shape is an error.
    if (docs.values.length === 0 || docs.broken !== undefined) return readLines(ctx, 'plain-lines');
    throw new InputError(`${origin.file}: not CloudWatch Logs JSON (expected an array of events)`);
  }
  if (firstByte !== BRACE_OPEN) return readLines(ctx, 'plain-lines');

  const firstLine = lineAt(bytes, first);
  const line = firstLine.end - firstLine.start <= MAX_LINE_BYTES ? decodeLine(ctx, firstLine.start, firstLine.end) : undefined;
  const parsed = line === undefined ? undefined : tryParse(line);
  if (parsed !== undefined && isRecord(parsed.value)) {
    if (isEventsDocument(parsed.value)) return readDocuments(parseDocuments(decodeAll(ctx)), ctx);
    return readLines(ctx, isEnvelopeLike(parsed.value) ? 'cloudwatch-ndjson' : 'plain-lines');
  }

  // A `{` whose line is not complete JSON: a pretty-printed document, or several concatenated.
  const docs = parseDocuments(decodeAll(ctx));
  if (docs.values.some(isDocumentOfEvents)) return readDocuments(docs, ctx);
  // A line-oriented file whose first line is broken (truncated, not UTF-8) reads as lines.
  const second = nextLineJson(ctx, firstLine.next);
  if (second !== undefined) return readLines(ctx, isEnvelopeLike(second) ? 'cloudwatch-ndjson' : 'plain-lines');
  if (docs.values.length > 0) {
    throw new InputError(`${origin.file}: not a CloudWatch Logs JSON document (expected an object with an "events" array)`);
  }
  throw new InputError(`${origin.file}: not valid JSON (${docs.broken ?? 'unreadable document'})`);
}

/** A line-oriented format, as readLogEvents would read the file, decided from its first line. */
export interface LineFormat {
  format: 'cloudwatch-ndjson' | 'plain-lines';
  /** Offset of the first byte after the BOM, if any. */
  start: number;
}

/**
 * The line format of a file from its first bytes, when readLogEvents would read it line by line
 * and its first line says so; undefined when it needs the whole file (a JSON document, or a first
 * line that is not complete JSON): read those with readLogEvents.
 * @param head the file's first bytes; `complete` when they are the whole file.
 */
export function lineFormatOf(head: Buffer, complete: boolean): LineFormat | undefined {
  const ctx = createContext(head, { file: 'head' });
  const first = skipWhitespace(head, ctx.start, head.length);
  if (first >= head.length) return complete ? { format: 'plain-lines', start: ctx.start } : undefined;
  const firstByte = head[first];
  if (firstByte === BRACKET_OPEN) return undefined;
  if (firstByte !== BRACE_OPEN) return { format: 'plain-lines', start: ctx.start };
  const line = lineAt(head, first);
  if (line.next === head.length && !complete && head[head.length - 1] !== NEWLINE) return undefined;
  const text = line.end - line.start <= MAX_LINE_BYTES ? decodeLine(ctx, line.start, line.end) : undefined;
  const parsed = text === undefined ? undefined : tryParse(text);
  if (parsed === undefined || !isRecord(parsed.value) || isEventsDocument(parsed.value)) return undefined;
  return { format: isEnvelopeLike(parsed.value) ? 'cloudwatch-ndjson' : 'plain-lines', start: ctx.start };
}

/**
 * Reads one line of a line-oriented file as readLogEvents does: the text is decoded, trimmed,
 * non-blank, valid UTF-8 and at most MAX_LINE_BYTES long. `lineId` names the event when its line
 * carries no id (its `file:lineNumber`); it is only called then.
 */
export type LineReader = (text: string, lineId: () => string) => LogEvent | SkipReason;

export function createLineReader(origin: LogEventOrigin, format: LineFormat['format']): LineReader {
  const ctx = createContext(Buffer.alloc(0), origin);
  return (text, lineId) => (text.charCodeAt(0) === BRACE_OPEN ? jsonLine(ctx, text, lineId, format) : auditdLine(ctx, text, lineId));
}

// ---------------------------------------------------------------------------------------------
// Context

interface ReadContext {
  bytes: Buffer;
  /** After the BOM, if any. */
  start: number;
  /** The whole file is valid UTF-8: no per-line check needed. */
  validUtf8: boolean;
  base: string;
  logGroup: string;
  events: LogEvent[];
  skipped: SkipCounts;
}

function createContext(bytes: Buffer, origin: LogEventOrigin): ReadContext {
  const base = basename(origin.file) || origin.file || 'input';
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  return {
    bytes,
    start: bom ? 3 : 0,
    validUtf8: isUtf8(bytes),
    base,
    logGroup: `file:${base}`,
    events: [],
    skipped: {},
  };
}

const NEWLINE = 0x0a;
const BRACE_OPEN = 0x7b;
const BRACKET_OPEN = 0x5b;

const isSpaceByte = (b: number | undefined): boolean => b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a;

function skipWhitespace(bytes: Buffer, from: number, to: number): number {
  let at = from;
  while (at < to && isSpaceByte(bytes[at])) at++;
  return at;
}

/** The line that holds `at`: its content (without the newline) and where the next one starts. */
function lineAt(bytes: Buffer, at: number): { start: number; end: number; next: number } {
  const newline = bytes.indexOf(NEWLINE, at);
  const end = newline < 0 ? bytes.length : newline;
  return { start: at, end, next: newline < 0 ? bytes.length : newline + 1 };
}

function decodeLine(ctx: ReadContext, start: number, end: number): string | undefined {
  if (!ctx.validUtf8 && !isUtf8(ctx.bytes.subarray(start, end))) return undefined;
  return ctx.bytes.toString('utf8', start, end);
}

/** The whole file as text; invalid bytes become U+FFFD (events holding one are skipped later). */
function decodeAll(ctx: ReadContext): string {
  return ctx.bytes.toString('utf8', ctx.start);
}

function tryParse(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isDigits(text: string): boolean {
  if (text.length === 0 || text.length > 16) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function isEventsDocument(value: Record<string, unknown>): boolean {
  return Array.isArray(value['events']) || Array.isArray(value['logEvents']);
}

/**
 * A whole-file JSON value that holds events: `{events: [...]}`, `{logEvents: [...]}`, or a bare
 * array of events (`--query events`); an array of anything else is not CloudWatch output.
 */
function isDocumentOfEvents(value: unknown): boolean {
  if (Array.isArray(value)) return value.length === 0 || value.some((item) => isRecord(item) && 'message' in item);
  return isRecord(value) && isEventsDocument(value);
}

/** A CloudWatch event as NDJSON carries it: a `message` string and a `timestamp` (numeric, normally). */
function isEnvelopeLike(value: unknown): boolean {
  return isRecord(value) && typeof value['message'] === 'string' && 'timestamp' in value;
}

/** The next non-blank line after `from`, parsed, when it is a complete JSON object. */
function nextLineJson(ctx: ReadContext, from: number): Record<string, unknown> | undefined {
  const at = skipWhitespace(ctx.bytes, from, ctx.bytes.length);
  if (at >= ctx.bytes.length) return undefined;
  const line = lineAt(ctx.bytes, at);
  if (line.end - line.start > MAX_LINE_BYTES) return undefined;
  const text = decodeLine(ctx, line.start, line.end);
  const parsed = text === undefined ? undefined : tryParse(text);
  return parsed !== undefined && isRecord(parsed.value) ? parsed.value : undefined;
}

// ---------------------------------------------------------------------------------------------
// Line formats: NDJSON envelopes and plain lines

function readLines(ctx: ReadContext, format: 'cloudwatch-ndjson' | 'plain-lines'): ReadLogEventsResult {
  const { bytes } = ctx;
  const length = bytes.length;
  let lineNumber = 0;
  for (let pos = ctx.start; pos < length; ) {
    const newline = bytes.indexOf(NEWLINE, pos);
    let end = newline < 0 ? length : newline;
    const next = newline < 0 ? length : newline + 1;
    lineNumber++;
    let start = pos;
    pos = next;
    // Trim CR (CRLF files), spaces and tabs at both ends, on bytes.
    while (end > start && isSpaceByte(bytes[end - 1])) end--;
    while (start < end && isSpaceByte(bytes[start])) start++;
    if (start === end) continue; // blank: ignored, not counted
    if (end - start > MAX_LINE_BYTES) {
      countSkip(ctx.skipped, 'line-too-long');
      continue;
    }
    const text = decodeLine(ctx, start, end);
    if (text === undefined) {
      countSkip(ctx.skipped, 'invalid-utf8');
      continue;
    }
    const n = lineNumber;
    const lineId = (): string => `${ctx.base}:${n}`;
    const result = bytes[start] === BRACE_OPEN ? jsonLine(ctx, text, lineId, format) : auditdLine(ctx, text, lineId);
    if (typeof result === 'string') countSkip(ctx.skipped, result);
    else ctx.events.push(result);
  }
  return { events: ctx.events, skipped: ctx.skipped, format };
}

/** A raw audit.log record: `[node=NAME ]type=TYPE msg=audit(SECONDS.MILLIS:SERIAL): ...`. */
function auditdLine(ctx: ReadContext, text: string, lineId: () => string): LogEvent | SkipReason {
  const at = text.indexOf('msg=audit(');
  if (at < 0) return text.startsWith('type=') || text.startsWith('node=') ? 'auditd-malformed' : 'unknown-format';
  const timestamp = auditTimestamp(text, at + 'msg=audit('.length);
  if (timestamp === undefined) return 'bad-timestamp';
  let logStream = ctx.base;
  if (text.startsWith('node=')) {
    const space = text.indexOf(' ');
    const node = text.slice(5, space < 0 ? text.length : space);
    if (node !== '') logStream = node;
  }
  return plainEvent(ctx, text, timestamp, logStream, lineId());
}

/** `SECONDS.FRACTION:` (or `SECONDS:`) as ms; undefined for anything else (e.g. ausearch's local dates). */
function auditTimestamp(text: string, from: number): number | undefined {
  let at = from;
  let seconds = 0;
  while (at < text.length && at - from < 12) {
    const c = text.charCodeAt(at);
    if (c < 48 || c > 57) break;
    seconds = seconds * 10 + (c - 48);
    at++;
  }
  if (at === from) return undefined;
  let ms = seconds * 1000;
  if (text.charCodeAt(at) === 0x2e /* . */) {
    at++;
    let scale = 100;
    const fractionStart = at;
    while (at < text.length && at - fractionStart < 9) {
      const c = text.charCodeAt(at);
      if (c < 48 || c > 57) break;
      ms += (c - 48) * scale;
      scale /= 10;
      at++;
    }
    if (at === fractionStart) return undefined;
  }
  const close = text.charCodeAt(at);
  if (close !== 0x3a /* : */ && close !== 0x29 /* ) */) return undefined;
  return parseTimestamp(Math.floor(ms));
}

/**
 * A line that starts with `{`. In plain-lines files ECS documents are recognised by a cheap scan for
 * `"@timestamp"` (no parse; the normalizer parses the few that pass the prefilter); anything else,
 * and every line of an NDJSON file, is parsed.
 */
function jsonLine(ctx: ReadContext, text: string, lineId: () => string, format: InputFormat): LogEvent | SkipReason {
  if (text.charCodeAt(text.length - 1) !== 0x7d /* } */) return 'invalid-json'; // truncated
  if (format === 'plain-lines') {
    const raw = scanStringOrNumber(text, '"@timestamp"');
    if (raw !== undefined) {
      const timestamp = parseTimestamp(raw);
      if (timestamp === undefined) return 'bad-timestamp';
      return plainEvent(ctx, text, timestamp, scanHostName(text) ?? ctx.base, lineId());
    }
  }
  const parsed = tryParse(text);
  if (parsed === undefined) return 'invalid-json';
  const value = parsed.value;
  if (!isRecord(value)) return 'unknown-shape';
  if ('timestamp' in value) return envelopeEvent(ctx, value, lineId, {});
  if ('@timestamp' in value) {
    const timestamp = parseTimestamp(value['@timestamp']);
    if (timestamp === undefined) return 'bad-timestamp';
    return plainEvent(ctx, text, timestamp, parsedHostName(value) ?? ctx.base, lineId());
  }
  return 'unknown-shape';
}

function plainEvent(ctx: ReadContext, message: string, timestamp: number, logStream: string, eventId: string): LogEvent {
  return {
    timestamp,
    ingestionTime: timestamp,
    logGroup: ctx.logGroup,
    logStream,
    eventId,
    message,
  };
}

// ---------------------------------------------------------------------------------------------
// Cheap scans of one-line JSON (no parse). They may be fooled by odd documents; the only cost is
// a wrong fallback stream name or a document the normalizer later counts as invalid.

/** The raw value after `key:` when it is a string without escapes or a number. */
function scanStringOrNumber(text: string, key: string, from = 0): string | number | undefined {
  const at = text.indexOf(key, from);
  if (at < 0) return undefined;
  let p = skipSpaces(text, at + key.length);
  if (text.charCodeAt(p) !== 0x3a /* : */) return undefined;
  p = skipSpaces(text, p + 1);
  const c = text.charCodeAt(p);
  if (c === 0x22 /* " */) {
    const close = text.indexOf('"', p + 1);
    if (close < 0) return undefined;
    const value = text.slice(p + 1, close);
    return value.includes('\\') ? undefined : value;
  }
  let end = p;
  while (end < text.length) {
    const d = text.charCodeAt(end);
    if ((d >= 48 && d <= 57) || d === 0x2e || d === 0x2d || d === 0x2b || d === 0x65 || d === 0x45) end++;
    else break;
  }
  return end > p ? Number(text.slice(p, end)) : undefined;
}

function skipSpaces(text: string, from: number): number {
  let p = from;
  while (p < text.length) {
    const c = text.charCodeAt(p);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
    p++;
  }
  return p;
}

/** `host.name` (dotted key, or `name` inside the `host` object), else `host.hostname`. */
function scanHostName(text: string): string | undefined {
  const at = text.indexOf('"host');
  if (at < 0) return undefined;
  const dotted = scanStringOrNumber(text, '"host.name"', at);
  if (typeof dotted === 'string' && dotted !== '') return dotted;
  const key = text.indexOf('"host"', at);
  if (key < 0) return undefined;
  let p = skipSpaces(text, key + 6);
  if (text.charCodeAt(p) !== 0x3a) return undefined;
  p = skipSpaces(text, p + 1);
  if (text.charCodeAt(p) !== 0x7b) return undefined;
  return objectStringMember(text, p, 'name') || objectStringMember(text, p, 'hostname') || undefined;
}

/**
 * The string member `key` (without escapes) of the JSON object whose `{` is at `open`, at its own
 * depth only. Linear in the object's length; gives up at the first thing it does not understand.
 */
function objectStringMember(text: string, open: number, key: string): string | undefined {
  let p = open + 1;
  for (;;) {
    p = skipSpaces(text, p);
    if (text.charCodeAt(p) !== 0x22) return undefined;
    const keyEnd = stringEnd(text, p);
    if (keyEnd < 0) return undefined;
    const matches = keyEnd - p - 1 === key.length && text.startsWith(key, p + 1);
    p = skipSpaces(text, keyEnd + 1);
    if (text.charCodeAt(p) !== 0x3a) return undefined;
    p = skipSpaces(text, p + 1);
    if (text.charCodeAt(p) === 0x22) {
      const end = stringEnd(text, p);
      if (end < 0) return undefined;
      if (matches) {
        const value = text.slice(p + 1, end);
        return value.includes('\\') ? undefined : value;
      }
      p = end + 1;
    } else {
      if (matches) return undefined;
      p = valueEnd(text, p);
      if (p < 0) return undefined;
    }
    p = skipSpaces(text, p);
    if (text.charCodeAt(p) !== 0x2c /* , */) return undefined;
    p++;
  }
}

/** Index of the closing quote of the string that opens at `open`, or -1. */
function stringEnd(text: string, open: number): number {
  for (let p = text.indexOf('"', open + 1); p >= 0; p = text.indexOf('"', p + 1)) {
    // Escaped when preceded by an odd number of backslashes.
    let backslashes = 0;
    while (p - backslashes - 1 > open && text.charCodeAt(p - backslashes - 1) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return p;
  }
  return -1;
}

/** Index just past the non-string JSON value that starts at `at` (object, array or literal), or -1. */
function valueEnd(text: string, at: number): number {
  let depth = 0;
  for (let p = at; p < text.length; p++) {
    const c = text.charCodeAt(p);
    if (c === 0x22) {
      p = stringEnd(text, p);
      if (p < 0) return -1;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      if (depth === 0) return p; // end of the enclosing object: a literal ended here
      depth--;
      if (depth === 0) return p + 1;
    } else if (c === 0x2c && depth === 0) return p;
  }
  return -1;
}

function parsedHostName(doc: Record<string, unknown>): string | undefined {
  const host = doc['host'];
  const candidates = [doc['host.name'], isRecord(host) ? host['name'] : undefined, isRecord(host) ? host['hostname'] : undefined];
  for (const c of candidates) if (typeof c === 'string' && c !== '') return c;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Whole-file JSON: one document or several concatenated (CLI pages piped one after another)

interface Documents {
  values: unknown[];
  /** Why reading stopped early, when it did. */
  broken?: string;
}

/** One JSON value, or a run of concatenated values; stops at the first broken one. */
function parseDocuments(text: string): Documents {
  const whole = tryParse(text);
  if (whole !== undefined) return { values: [whole.value] };
  const values: unknown[] = [];
  let at = skipSpaces(text, 0);
  while (at < text.length) {
    const c = text.charCodeAt(at);
    if (c !== 0x7b && c !== 0x5b) return { values, broken: `unexpected content at offset ${at}` };
    const end = valueEnd(text, at);
    if (end < 0) return { values, broken: `truncated document at offset ${at}` };
    const doc = tryParse(text.slice(at, end));
    if (doc === undefined) return { values, broken: `invalid document at offset ${at}` };
    values.push(doc.value);
    at = skipSpaces(text, end);
  }
  return { values };
}

function readDocuments(docs: Documents, ctx: ReadContext): ReadLogEventsResult {
  let ordinal = 0;
  const readList = (list: unknown[], defaults: EnvelopeDefaults): void => {
    for (const item of list) {
      ordinal++;
      const n = ordinal;
      const result = isRecord(item) ? envelopeEvent(ctx, item, () => `${ctx.base}:${n}`, defaults) : 'unknown-shape';
      if (typeof result === 'string') countSkip(ctx.skipped, result);
      else ctx.events.push(result);
    }
  };
  for (const doc of docs.values) {
    if (Array.isArray(doc) && isDocumentOfEvents(doc)) {
      readList(doc, {});
    } else if (isRecord(doc) && Array.isArray(doc['events'])) {
      readList(doc['events'], {});
    } else if (isRecord(doc) && Array.isArray(doc['logEvents'])) {
      // A CloudWatch Logs subscription payload (decompressed): group and stream are on the document.
      readList(doc['logEvents'], {
        logGroup: typeof doc['logGroup'] === 'string' ? doc['logGroup'] : undefined,
        logStream: typeof doc['logStream'] === 'string' ? doc['logStream'] : undefined,
      });
    } else {
      countSkip(ctx.skipped, 'unknown-shape');
    }
  }
  if (docs.broken !== undefined) countSkip(ctx.skipped, 'invalid-json');
  return { events: ctx.events, skipped: ctx.skipped, format: 'cloudwatch-json' };
}

// ---------------------------------------------------------------------------------------------
// One CloudWatch event object

interface EnvelopeDefaults {
  logGroup?: string | undefined;
  logStream?: string | undefined;
}

const stringField = (o: Record<string, unknown>, key: string): string | undefined => {
  const v = o[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
};

/**
 * `{timestamp, ingestionTime?, logStreamName?, logGroupName?, eventId?, message}` as a LogEvent.
 * Missing ingestionTime (or an unusable one) is the timestamp; missing group, stream and id come
 * from the document or the file.
 */
function envelopeEvent(
  ctx: ReadContext,
  value: Record<string, unknown>,
  fallbackId: () => string,
  defaults: EnvelopeDefaults,
): LogEvent | SkipReason {
  const message = value['message'];
  if (typeof message !== 'string' || !('timestamp' in value)) return 'unknown-shape';
  const timestamp = parseTimestamp(value['timestamp']);
  if (timestamp === undefined) return 'bad-timestamp';
  if (message.length * 3 > MAX_LINE_BYTES && Buffer.byteLength(message) > MAX_LINE_BYTES) return 'line-too-long';
  if (!ctx.validUtf8 && message.includes('\uFFFD')) return 'invalid-utf8';
  return {
    timestamp,
    ingestionTime: parseTimestamp(value['ingestionTime']) ?? timestamp,
    logGroup: stringField(value, 'logGroupName') ?? stringField(value, 'logGroupIdentifier') ?? defaults.logGroup ?? ctx.logGroup,
    logStream: stringField(value, 'logStreamName') ?? defaults.logStream ?? ctx.base,
    eventId: stringField(value, 'eventId') ?? stringField(value, 'id') ?? fallbackId(),
    message,
  };
}
