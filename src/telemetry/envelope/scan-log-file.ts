// input file (replay, backfill) --> (scanLogFile: stream, scan bytes, parse candidates) --> LogEvent[]
//
// readLogEvents holds a whole file and every event of it: a 45-minute window of a fleet is a
// million events and 640 MB, a multi-day replay ten times that. Detection only uses candidates
// (messages that pass the prefilter) and the auditd records of candidate events, as the Lambda's
// CloudWatch filter pattern does. This reader streams the file in chunks and keeps only those:
// 1. the needle scanner finds needles, escapes that could hide one, and auditd headers in raw bytes;
//    only lines with a needle or such an escape are decoded and parsed, and kept when their message
//    passes the exact prefilter (a needle in the envelope, e.g. an event id, is a false alarm);
// 2. every auditd header's id is remembered (a hash and a file offset), because the SYSCALL record
//    that carries the user can come before or after the record that matched, chunks apart; at the
//    end the records whose id a kept candidate has are read back by offset and joined by exact key;
// 3. line numbers, which name events of formats without ids, are counted only if such an event is kept.
// The scanner's loop is most of the cost; BENCHMARKS.md has the numbers.
//
// Skips: every line is checked on its bytes and counted as readLogEvents counts it when the bytes
// tell (too long, invalid UTF-8, a `{` line without its closing `}`); lines that are not JSON
// (auditd records, junk) are read without a JSON parse and counted likewise. Only a well-framed JSON
// line that holds no needle is not parsed, so its inner errors (invalid JSON, unknown shape, bad
// timestamp) go uncounted: the Lambda, whose filter pattern returns only candidates, never sees them.
// JSON documents (`aws logs filter-log-events` output) and files whose first line is not complete
// JSON are read whole by readLogEvents, then filtered the same way.

import { isUtf8 } from 'node:buffer';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { auditEventKeyString } from '../auditd/audit-event-key.js';
import { auditKeyOf } from '../detection-events.js';
import { countSkip, MAX_LINE_BYTES, type LogEvent, type SkipCounts } from '../log-event.js';
import { AUDIT_HEADER, HIT_AUDIT_HEADER, type HitKind, type NeedleScanner } from '../needle-scanner.js';
import type { Prefilter } from '../prefilter.js';
import { createLineReader, lineFormatOf, readLogEvents, type InputFormat, type LineReader } from './read-log-events.js';

export interface ScanLogFileOptions {
  scanner: NeedleScanner;
  /** The exact prefilter the scanner stands for: decides which parsed lines are kept. */
  prefilter: Prefilter;
  /** Bytes read at a time. @default 4 MiB */
  chunkBytes?: number;
}

export interface ScannedLogFile {
  /** Candidates and the auditd records of candidate events, in file order. */
  events: LogEvent[];
  skipped: SkipCounts;
  format: InputFormat;
  bytes: number;
  /** Lines decoded and parsed (candidates, lines with escapes, auditd records read back). */
  linesParsed: number;
}

const NEWLINE = 0x0a;
const BRACE_OPEN = 0x7b;
const BRACE_CLOSE = 0x7d;
const DEFAULT_CHUNK = 4 << 20;
/** An audit id is `SECONDS.MILLIS:SERIAL`: at most 12 + 1 + 10 + 1 + 21 bytes (see parseHeader). */
const MAX_AUDIT_ID = 48;
/** Bits of the bitmap that rules out most auditd headers before an exact lookup of their id's hash. */
const WANTED_BITS = 20;

interface KeptLine {
  offset: number;
  event: LogEvent;
  /** Its id is `file:line`, still to be numbered. */
  numbered: boolean;
}

/**
 * Reads the events of one file that detection can use; the same as
 * `keepDetectionEvents(readLogEvents(file).events, prefilter)`, without holding the file or its
 * other events.
 * @throws InputError as readLogEvents does; the file system's errors as they are.
 */
export async function scanLogFile(file: string, options: ScanLogFileOptions): Promise<ScannedLogFile> {
  return (await scanLogFiles([file], options))[0] as ScannedLogFile;
}

/**
 * scanLogFile for several files read as one input: the records of one auditd event may be split
 * between files (exports cut at midnight), so candidates of every file are found before the
 * auditd records of any file are read back. The same as keepDetectionEvents over all their events.
 */
export async function scanLogFiles(files: readonly string[], options: ScanLogFileOptions): Promise<ScannedLogFile[]> {
  const chunkBytes = Math.max(options.chunkBytes ?? DEFAULT_CHUNK, 64);
  const wantedKeys = new Set<string>();
  const readers: FileReader[] = [];
  try {
    for (const file of files) {
      const fd = openSync(file, 'r');
      let size: number;
      let lineFormat: ReturnType<typeof lineFormatOf>;
      try {
        size = fstatSync(fd).size;
        const head = Buffer.allocUnsafe(Math.min(chunkBytes, size));
        const bytesRead = readSync(fd, head, 0, head.length, 0);
        lineFormat = lineFormatOf(head.subarray(0, bytesRead), bytesRead >= size);
      } catch (error) {
        closeSync(fd);
        throw error;
      }
      if (lineFormat) {
        const reader = new StreamingReader(file, fd, size, lineFormat.start, lineFormat.format, options, wantedKeys);
        readers.push(reader);
        reader.scanAll(chunkBytes);
      } else {
        closeSync(fd);
        readers.push(new WholeFileReader(file, readLogEvents(readFileSync(file), { file }), size, options.prefilter, wantedKeys));
      }
    }
    for (const reader of readers) reader.readBackAuditRecords();
    for (const reader of readers) reader.numberLines(chunkBytes);
    return readers.map((r) => r.result());
  } finally {
    for (const reader of readers) reader.close();
  }
}

interface FileReader {
  /** Keeps the auditd records of the file whose event key a kept candidate of any file has. */
  readBackAuditRecords(): void;
  numberLines(chunkBytes: number): void;
  result(): ScannedLogFile;
  close(): void;
}

/** A file readLogEvents reads whole (a JSON document): its events are in memory anyway. */
class WholeFileReader implements FileReader {
  private readonly candidate: boolean[];

  public constructor(
    private readonly file: string,
    private readonly whole: ReturnType<typeof readLogEvents>,
    private readonly bytes: number,
    prefilter: Prefilter,
    private readonly wantedKeys: Set<string>,
  ) {
    this.candidate = whole.events.map((e) => prefilter(e.message));
    whole.events.forEach((e, i) => {
      const key = this.candidate[i] ? auditKeyOf(e) : undefined;
      if (key) wantedKeys.add(auditEventKeyString(key));
    });
  }

  public readBackAuditRecords(): void {}

  public numberLines(): void {}

  public result(): ScannedLogFile {
    const events = this.whole.events.filter((e, i) => {
      if (this.candidate[i]) return true;
      const key = auditKeyOf(e);
      return key !== undefined && this.wantedKeys.has(auditEventKeyString(key));
    });
    return { events, skipped: this.whole.skipped, format: this.whole.format, bytes: this.bytes, linesParsed: this.whole.events.length };
  }

  public close(): void {}
}

class StreamingReader implements FileReader {
  public readonly skipped: SkipCounts = {};
  public linesParsed = 0;
  private readonly kept: KeptLine[] = [];
  private readonly keptOffsets = new Set<number>();
  /** Auditd records parsed but not kept (yet): kept at the end if a candidate shares their key. */
  private readonly parsedAudit: { line: KeptLine; key: string }[] = [];
  /** Every auditd header seen: the hash of its id and its absolute offset. */
  private auditHashes = new Int32Array(1024);
  private auditOffsets = new Float64Array(1024);
  private auditCount = 0;
  private readonly readLine: LineReader;

  public constructor(
    private readonly file: string,
    private readonly fd: number,
    private readonly size: number,
    /** Offset of the first byte after the BOM, if any. */
    private readonly dataStart: number,
    private readonly format: 'cloudwatch-ndjson' | 'plain-lines',
    private readonly options: ScanLogFileOptions,
    /** The event keys of kept candidate auditd records, of every file read together. */
    private readonly wantedKeys: Set<string>,
  ) {
    this.readLine = createLineReader({ file }, format);
  }

  public result(): ScannedLogFile {
    const events = [...this.kept].sort((a, b) => a.offset - b.offset).map((k) => k.event);
    return { events, skipped: this.skipped, format: this.format, bytes: this.size, linesParsed: this.linesParsed };
  }

  public close(): void {
    closeSync(this.fd);
  }

  /**
   * Pass 1: the file in chunks. A line that runs over a chunk's end is copied out and scanned on
   * its own once its end arrives. (Synchronous reads: a thread-pool hop per chunk only adds
   * latency on a busy or single-core machine, and nothing else runs meanwhile.)
   */
  public scanAll(chunkBytes: number): void {
    const buffer = Buffer.allocUnsafe(chunkBytes);
    for (let position = this.dataStart; ; ) {
      const bytesRead = readSync(this.fd, buffer, 0, chunkBytes, position);
      const chunk = buffer.subarray(0, bytesRead);
      const chunkOffset = position;
      position += bytesRead;
      if (bytesRead === 0) break;
      const first = chunk.indexOf(NEWLINE);
      if (first < 0) {
        this.tail.add(chunk, chunkOffset);
        continue;
      }
      let from = 0;
      if (!this.tail.empty) {
        this.endTail(chunk.subarray(0, first + 1));
        from = first + 1;
      }
      const last = chunk.lastIndexOf(NEWLINE);
      if (last + 1 > from) this.scanRegion(chunk.subarray(from, last + 1), chunkOffset + from);
      if (last + 1 < chunk.length) this.tail.add(chunk.subarray(last + 1), chunkOffset + last + 1);
    }
    if (!this.tail.empty) this.endTail(Buffer.alloc(0));
  }

  private readonly tail = new LineTail();

  /** The line held in `tail` ends with `end`: scan it, or count it when it grew too long to keep. */
  private endTail(end: Buffer): void {
    const line = this.tail.finish(end);
    if (line === 'too-long') countSkip(this.skipped, 'line-too-long');
    else this.scanRegion(line.bytes, line.offset);
  }

  /** Scans complete lines; `fileOffset` is where `region` starts in the file. */
  private scanRegion(region: Buffer, fileOffset: number): void {
    const end = region.length;
    const validUtf8 = isUtf8(region);
    this.checkLines(region, validUtf8);
    this.options.scanner.scan(region, 0, end, (kind: HitKind, at: number): number => {
      if (kind === HIT_AUDIT_HEADER) {
        this.noteAuditHeader(region, at, fileOffset);
        return at + 1;
      }
      const lineStart = region.lastIndexOf(NEWLINE, at) + 1;
      const newline = region.indexOf(NEWLINE, at);
      const lineEnd = newline < 0 ? end : newline;
      this.readCandidate(region, lineStart, lineEnd, fileOffset, validUtf8);
      return lineEnd + 1;
    });
  }

  /**
   * Every line on its bytes, counted as readLogEvents counts it when the bytes tell: too long, not
   * UTF-8, a `{` line without its closing `}` (truncated JSON). A line that is not JSON (an auditd
   * record, junk) is read without any JSON parse and counted if it is not an event. JSON objects
   * are left to the scanner: parsed only when they are candidates.
   */
  private checkLines(region: Buffer, validUtf8: boolean): void {
    for (let from = 0; from < region.length; ) {
      const newline = region.indexOf(NEWLINE, from);
      const end = newline < 0 ? region.length : newline;
      const [s, e] = trimmed(region, from, end);
      from = end + 1;
      if (s === e) continue;
      if (e - s > MAX_LINE_BYTES) countSkip(this.skipped, 'line-too-long');
      else if (!validUtf8 && !isUtf8(region.subarray(s, e))) countSkip(this.skipped, 'invalid-utf8');
      else if (region[s] === BRACE_OPEN) {
        if (region[e - 1] !== BRACE_CLOSE) countSkip(this.skipped, 'invalid-json');
      } else {
        const result = this.readLine(region.toString('utf8', s, e), () => '');
        if (typeof result === 'string') countSkip(this.skipped, result);
      }
    }
  }

  private readCandidate(region: Buffer, lineStart: number, lineEnd: number, fileOffset: number, validUtf8: boolean): void {
    const [s, e] = trimmed(region, lineStart, lineEnd);
    // Blank, too long, not UTF-8 or truncated: not an event (checkLines counted it).
    if (s === e || e - s > MAX_LINE_BYTES || (!validUtf8 && !isUtf8(region.subarray(s, e)))) return;
    const jsonObject = region[s] === BRACE_OPEN;
    if (jsonObject && region[e - 1] !== BRACE_CLOSE) return;
    // checkLines read the other lines already, and counted their skips.
    const line = this.parse(region.toString('utf8', s, e), fileOffset + lineStart, jsonObject);
    if (!line) return;
    const key = auditKeyOf(line.event);
    if (this.options.prefilter(line.event.message)) {
      this.keep(line);
      if (key) this.wantedKeys.add(auditEventKeyString(key));
    } else if (key) {
      this.parsedAudit.push({ line, key: auditEventKeyString(key) });
    }
  }

  private parse(text: string, offset: number, countSkips: boolean): KeptLine | undefined {
    this.linesParsed++;
    let numbered = false;
    const result = this.readLine(text, () => {
      numbered = true;
      return '';
    });
    if (typeof result === 'string') {
      if (countSkips) countSkip(this.skipped, result);
      return undefined;
    }
    return { offset, event: result, numbered };
  }

  private keep(line: KeptLine): void {
    if (this.keptOffsets.has(line.offset)) return;
    this.keptOffsets.add(line.offset);
    this.kept.push(line);
  }

  private noteAuditHeader(region: Buffer, at: number, fileOffset: number): void {
    if (this.auditCount === this.auditHashes.length) {
      const hashes = new Int32Array(this.auditHashes.length * 2);
      hashes.set(this.auditHashes);
      this.auditHashes = hashes;
      const offsets = new Float64Array(this.auditOffsets.length * 2);
      offsets.set(this.auditOffsets);
      this.auditOffsets = offsets;
    }
    this.auditHashes[this.auditCount] = auditIdHash(region, at + AUDIT_HEADER.length, region.length);
    this.auditOffsets[this.auditCount] = fileOffset + at;
    this.auditCount++;
  }

  /** Pass 2: the auditd records that share an id with a kept candidate record, read back by offset. */
  public readBackAuditRecords(): void {
    if (this.wantedKeys.size === 0) return;
    for (const { line, key } of this.parsedAudit) if (this.wantedKeys.has(key)) this.keep(line);
    const wantedHashes = new Set<number>();
    // A bitmap of the wanted hashes' top bits first: a Set lookup per header (most hashes are not
    // small integers, so each is boxed) costs more than reading the records back.
    const maybeWanted = new Uint8Array(1 << WANTED_BITS);
    for (const key of this.wantedKeys) {
      const auditId = key.slice(key.lastIndexOf('\u0000') + 1);
      const hash = auditIdHash(Buffer.from(`${auditId})`, 'latin1'), 0, auditId.length + 1);
      wantedHashes.add(hash);
      maybeWanted[hash >>> (32 - WANTED_BITS)] = 1;
    }
    const offsets: number[] = [];
    const hashes = this.auditHashes;
    for (let i = 0; i < this.auditCount; i++) {
      const hash = hashes[i] as number;
      if (maybeWanted[hash >>> (32 - WANTED_BITS)] === 1 && wantedHashes.has(hash)) offsets.push(this.auditOffsets[i] as number);
    }
    offsets.sort((a, b) => a - b);
    let lastLineEnd = -1;
    for (const at of offsets) {
      if (at < lastLineEnd) continue; // same line as the previous one
      const line = this.lineAround(at);
      lastLineEnd = line.end;
      if (this.keptOffsets.has(line.start)) continue;
      const [s, e] = trimmed(line.bytes, 0, line.bytes.length);
      if (s === e || e - s > MAX_LINE_BYTES || !isUtf8(line.bytes.subarray(s, e))) continue;
      const parsed = this.parse(line.bytes.toString('utf8', s, e), line.start, false);
      const key = parsed && auditKeyOf(parsed.event);
      if (parsed && key && this.wantedKeys.has(auditEventKeyString(key))) this.keep(parsed);
    }
  }

  /** Reused by lineAround: its lines are decoded before the next read. */
  private lineBuffer = Buffer.alloc(0);
  /** The bytes of the file the last read of lineAround holds: the records of one event are adjacent, so one read serves several. */
  private held: { from: number; bytes: Buffer; toEnd: boolean } | undefined;

  /** The whole line that holds byte `at` of the file (at most MAX_LINE_BYTES + 2 are read, else it is empty). */
  private lineAround(at: number): { start: number; end: number; bytes: Buffer } {
    const held = this.held && this.lineIn(this.held.bytes, this.held.from, at, this.held.toEnd);
    if (held) return held;
    for (let reach = 8192; ; reach *= 4) {
      const from = Math.max(0, at - reach);
      if (this.lineBuffer.length < 2 * reach) this.lineBuffer = Buffer.allocUnsafe(2 * reach);
      const buffer = this.lineBuffer.subarray(0, 2 * reach);
      const bytesRead = readSync(this.fd, buffer, 0, buffer.length, from);
      this.held = { from, bytes: buffer.subarray(0, bytesRead), toEnd: bytesRead < buffer.length };
      const line = this.lineIn(this.held.bytes, from, at, this.held.toEnd);
      if (line) return line;
      if (reach > MAX_LINE_BYTES) return { start: at, end: at + 1, bytes: Buffer.alloc(0) };
    }
  }

  /** The line around file byte `at` in `bytes` (file bytes from `from` on), if they hold all of it. */
  private lineIn(bytes: Buffer, from: number, at: number, toEnd: boolean): { start: number; end: number; bytes: Buffer } | undefined {
    if (at < from || at >= from + bytes.length) return undefined;
    // (lastIndexOf from -1 would search from the end)
    const before = at === from ? -1 : bytes.lastIndexOf(NEWLINE, at - from - 1);
    const after = bytes.indexOf(NEWLINE, at - from);
    if ((before < 0 && from !== 0) || (after < 0 && !toEnd)) return undefined;
    const start = Math.max(before + 1, this.dataStart - from);
    const end = after < 0 ? bytes.length : after;
    return { start: from + start, end: from + end, bytes: bytes.subarray(start, end) };
  }

  /** Pass 3, only when a kept event is named by its line: counts newlines up to each such line. */
  public numberLines(chunkBytes: number): void {
    const pending = this.kept.filter((k) => k.numbered).sort((a, b) => a.offset - b.offset);
    if (pending.length === 0) return;
    const base = basename(this.file) || this.file || 'input'; // as readLogEvents names them
    const buffer = Buffer.allocUnsafe(chunkBytes);
    let newlines = 0; // before `offset`
    let next = 0;
    for (let offset = this.dataStart; next < pending.length; ) {
      const bytesRead = readSync(this.fd, buffer, 0, buffer.length, offset);
      if (bytesRead === 0) break;
      let at = 0;
      for (let target = pending[next]; target && target.offset < offset + bytesRead; target = pending[++next]) {
        newlines += countNewlines(buffer, at, target.offset - offset);
        at = target.offset - offset;
        target.event.eventId = `${base}:${newlines + 1}`;
      }
      newlines += countNewlines(buffer, at, bytesRead);
      offset += bytesRead;
    }
  }
}

function countNewlines(bytes: Buffer, from: number, to: number): number {
  const view = bytes.subarray(from, to);
  let n = 0;
  for (let at = view.indexOf(NEWLINE); at >= 0; at = view.indexOf(NEWLINE, at + 1)) n++;
  return n;
}

/**
 * The start of a line that runs over chunk ends, copied (the chunk's buffer is read into again).
 * Leading blanks are dropped as they come (trimming drops them anyway); once the content (first to
 * last non-blank byte) is longer than any line kept, only that fact is remembered.
 */
class LineTail {
  private pieces: Buffer[] = [];
  /** Bytes held, from the first non-blank byte on. */
  private bytes = 0;
  /** Bytes held up to and including the last non-blank byte. */
  private content = 0;
  private offset = 0;
  private started = false;
  private tooLong = false;

  public get empty(): boolean {
    return !this.started;
  }

  public add(piece: Buffer, offset: number): void {
    if (!this.started) {
      this.started = true;
      this.offset = offset;
    }
    if (this.tooLong) return;
    let from = 0;
    if (this.bytes === 0) while (from < piece.length && isSpaceByte(piece[from])) from++;
    let last = piece.length;
    while (last > from && isSpaceByte(piece[last - 1])) last--;
    if (last > from) this.content = this.bytes + (last - from);
    this.bytes += piece.length - from;
    if (this.content > MAX_LINE_BYTES) {
      this.tooLong = true;
      this.pieces = [];
    } else if (piece.length > from) this.pieces.push(Buffer.from(piece.subarray(from)));
  }

  /** The whole line (with `end`; leading blanks dropped) and its offset, or 'too-long'; the tail is empty again. */
  public finish(end: Buffer): { bytes: Buffer; offset: number } | 'too-long' {
    const result = this.tooLong ? 'too-long' : { bytes: Buffer.concat([...this.pieces, end]), offset: this.offset };
    this.pieces = [];
    this.bytes = 0;
    this.content = 0;
    this.started = false;
    this.tooLong = false;
    return result;
  }
}

/** A hash of the audit id bytes from `from` up to `)` (or the end, or MAX_AUDIT_ID bytes). */
function auditIdHash(bytes: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  const end = Math.min(to, from + MAX_AUDIT_ID);
  for (let i = from; i < end; i++) {
    const c = bytes[i] as number;
    if (c === 0x29 /* ) */) break;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h | 0;
}

const isSpaceByte = (b: number | undefined): boolean => b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a;

function trimmed(bytes: Uint8Array, start: number, end: number): [number, number] {
  let s = start;
  let e = end;
  while (e > s && isSpaceByte(bytes[e - 1])) e--;
  while (s < e && isSpaceByte(bytes[s])) s++;
  return [s, e];
}


