// raw NDJSON / log bytes --> (needle scanner) --> positions worth a closer look
//
// The exact prefilter (prefilter.ts) is one case-insensitive regular expression per message, about
// 0.3 GB/s: slower than parsing the line. This scanner finds the same needles in raw bytes without
// decoding or splitting lines: Wu-Manber, a shift table over 3-byte grams (case folded) that skips
// up to 6 bytes per step; where the shift is 0, a second gram is looked up before exact verification.
// Each gram is read as one unaligned 32-bit word (its first byte masked off) and hashed by one
// multiplication: a quarter faster than three byte reads and a shift-xor hash.
//
// Needles are printable ASCII, so they appear byte for byte in UTF-8 text (no multi-byte sequence
// holds an ASCII byte) and, inside a JSON string, verbatim unless the producer escaped one of their
// characters: `\/`, or `\u00XX` for printable ASCII. The scanner reports those escapes too, so that
// the caller can parse such lines and run the exact prefilter on the decoded message. It also
// reports auditd record headers (`msg=audit(`), so that one pass finds the records to join.

/** What was found at a position. */
export const HIT_NEEDLE = 0;
export const HIT_ESCAPE = 1;
export const HIT_AUDIT_HEADER = 2;
export type HitKind = typeof HIT_NEEDLE | typeof HIT_ESCAPE | typeof HIT_AUDIT_HEADER;

/**
 * Called for every hit: `at` is the first byte of what was found. Hits come in increasing order
 * within a line, not across lines (the range is scanned in four parts at once).
 * Returns where scanning resumes: `at + 1`, or the start of a later line. Escapes are found from
 * two bytes after `from` or the resume position (inside a JSON string, never earlier in a line).
 */
export type OnHit = (kind: HitKind, at: number) => number;

export interface NeedleScanner {
  /** Scans bytes[from, to): every occurrence that lies wholly inside the range is reported. */
  scan(bytes: Uint8Array, from: number, to: number, onHit: OnHit): void;
  /** The characters of the needles, both cases: an escape decoding to one of them could hide a needle. */
  readonly alphabet: ReadonlySet<string>;
}

export const AUDIT_HEADER = 'msg=audit(';

/** Longest window: grams are hashed into 16 bits, and longer windows would force wildcard padding on the escapes. */
const MAX_WINDOW = 8;
const GRAM = 3;
const TABLE_BITS = 16;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;

/** Lossy ASCII case fold for the shift table: `A`→`a`, and a few symbols merge, which only shortens shifts. */
const fold = (b: number): number => b | 0x20;
/** The hash of the gram that ends at the last byte of a little-endian word (its first byte is not part of it), case folded. */
const wordHash = (w: number): number => Math.imul((w | 0x20202020) & 0xffffff00, 0x9e3779b1) >>> (32 - TABLE_BITS);
/** Exact ASCII lower case, for verification. */
const lower = (b: number): number => (b >= 0x41 && b <= 0x5a ? b | 0x20 : b);

const isHexDigit = (b: number): boolean => (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46);
const hexValue = (b: number): number => (b <= 0x39 ? b - 0x30 : (b | 0x20) - 0x61 + 10);

interface Pattern {
  kind: HitKind;
  /** Allowed bytes at each position (any byte of the set, before folding); undefined: any byte. */
  positions: (readonly number[] | undefined)[];
  /** Bytes of the pattern before the part it reports (wildcard padding). */
  offset: number;
  /** Exact check of the window that starts at `start`; the caller ensures `start + positions.length <= to`. */
  verify(bytes: Uint8Array, start: number, to: number): boolean;
}

/** True when every needle can be found in raw bytes: printable ASCII without quote or backslash, no shorter than a gram. */
export function needlesAreScannable(needles: readonly string[]): boolean {
  return (
    needles.length > 0 &&
    needles.every((n) => n.length >= GRAM && [...n].every((c) => c >= ' ' && c <= '~' && c !== '"' && c !== '\\'))
  );
}

/**
 * A scanner for the needles (matched ASCII-case-insensitively), escapes that could hide one, and
 * auditd headers; undefined when the needles cannot be scanned in raw bytes (see
 * needlesAreScannable): the caller then parses every line.
 */
export interface ScannerOptions {
  /** Report escapes that could hide a needle (JSON lines); plain lines need not. @default true */
  escapes?: boolean;
  /** Report auditd record headers. @default true */
  auditHeaders?: boolean;
}

export function createNeedleScanner(needles: readonly string[], options: ScannerOptions = {}): NeedleScanner | undefined {
  if (!needlesAreScannable(needles)) return undefined;
  const alphabet = new Set<string>();
  for (const n of needles) for (const c of n) alphabet.add(c.toLowerCase()).add(c.toUpperCase());

  const patterns: Pattern[] = [];
  for (const needle of new Set(needlesWithEscapedSlashes(needles.map((n) => n.toLowerCase())))) patterns.push(literal(needle, HIT_NEEDLE, true));
  if (options.auditHeaders !== false) patterns.push(literal(AUDIT_HEADER, HIT_AUDIT_HEADER, false));
  const window = Math.min(MAX_WINDOW, ...patterns.map((p) => p.positions.length));
  if (options.escapes !== false) patterns.push(escapePattern(alphabet, window));

  const shift = new Uint8Array(1 << TABLE_BITS).fill(window - GRAM + 1);
  const buckets: Pattern[][] = Array.from({ length: 1 << TABLE_BITS }, () => []);
  for (const pattern of patterns) {
    for (let end = GRAM - 1; end < window; end++) {
      const distance = window - 1 - end;
      forEachGram(pattern.positions, end, (h) => {
        if ((shift[h] as number) > distance) shift[h] = distance;
        if (distance === 0 && !(buckets[h] as Pattern[]).includes(pattern)) (buckets[h] as Pattern[]).push(pattern);
      });
    }
  }
  const candidates = buckets.map((b) => (b.length === 0 ? undefined : b));
  // A second gram, three bytes before the window's end, where a pattern may end at all: most
  // windows whose last gram has shift 0 (digits against numeric needles) fail this cheap test.
  // (Its word starts 6 bytes before the window's end: only windows of 7 bytes and more have one.)
  const second = new Uint8Array(1 << TABLE_BITS);
  if (window > 2 * GRAM) for (const pattern of patterns) forEachGram(pattern.positions, window - 1 - GRAM, (h) => (second[h] = 1));
  else second.fill(1);

  /** Verifies the window that ends at `pos` against `among`; returns the next window end. */
  const verifyWith = (among: readonly Pattern[], bytes: Uint8Array, pos: number, to: number, onHit: OnHit): number => {
    const start = pos - window + 1;
    for (const pattern of among) {
      if (start + pattern.positions.length > to || !pattern.verify(bytes, start, to)) continue;
      const next = onHit(pattern.kind, start + pattern.offset);
      // The next window starts at or after `next`.
      return Math.max(pos + 1, next + window - 1);
    }
    return pos + 1;
  };

  /** Verifies the window that ends at `pos` (its shift is 0); returns the next window end. */
  const verifyAt = (bytes: Uint8Array, view: DataView, pos: number, to: number, onHit: OnHit): number =>
    verifyWith(candidates[wordHash(view.getUint32(pos - 3, true))] ?? NONE, bytes, pos, to, onHit);

  /** The next window end after `pos`, whose shift is 0: verified if its second gram allows a pattern. */
  const atZero = (bytes: Uint8Array, view: DataView, pos: number, to: number, onHit: OnHit): number =>
    window > 2 * GRAM && second[wordHash(view.getUint32(pos - 3 - GRAM, true))] === 0 ? pos + 1 : verifyAt(bytes, view, pos, to, onHit);

  const scanFrom = (bytes: Uint8Array, view: DataView, pos: number, to: number, onHit: OnHit): void => {
    while (pos < to) {
      const s = shift[wordHash(view.getUint32(pos - 3, true))] as number;
      pos = s !== 0 ? pos + s : atZero(bytes, view, pos, to, onHit);
    }
  };

  // Each step depends on the shift loaded by the previous one: four quarters of the range (split
  // at line starts, so that no occurrence spans two) are scanned in one loop, and the processor
  // overlaps their steps (1.5 times the speed of one at a time). The quarters that remain when
  // the first one ends are finished one by one.
  const scan = (bytes: Uint8Array, from: number, to: number, onHit: OnHit): void => {
    const lineStartAfter = (at: number): number => {
      // A part never starts past `to`: the range may end mid-line, before the buffer does.
      const newline = bytes.indexOf(NEWLINE, at);
      return newline < 0 || newline + 1 > to ? to : newline + 1;
    };
    const quarter = (to - from) >> 2;
    const q1 = quarter < 1024 ? to : lineStartAfter(from + quarter);
    const q2 = q1 >= to ? to : lineStartAfter(Math.max(q1, from + 2 * quarter));
    const q3 = q2 >= to ? to : lineStartAfter(Math.max(q2, from + 3 * quarter));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let a = from + window - 1;
    // A 3-byte window at the very start has no word that ends with it: checked against every pattern.
    while (a < GRAM && a < q1) a = verifyWith(patterns, bytes, a, q1, onHit);
    let b = q1 + window - 1;
    let c = q2 + window - 1;
    let d = q3 + window - 1;
    while (a < q1 && b < q2 && c < q3 && d < to) {
      const sa = shift[wordHash(view.getUint32(a - 3, true))] as number;
      const sb = shift[wordHash(view.getUint32(b - 3, true))] as number;
      const sc = shift[wordHash(view.getUint32(c - 3, true))] as number;
      const sd = shift[wordHash(view.getUint32(d - 3, true))] as number;
      a = sa !== 0 ? a + sa : atZero(bytes, view, a, q1, onHit);
      b = sb !== 0 ? b + sb : atZero(bytes, view, b, q2, onHit);
      c = sc !== 0 ? c + sc : atZero(bytes, view, c, q3, onHit);
      d = sd !== 0 ? d + sd : atZero(bytes, view, d, to, onHit);
    }
    scanFrom(bytes, view, a, q1, onHit);
    scanFrom(bytes, view, b, q2, onHit);
    scanFrom(bytes, view, c, q3, onHit);
    scanFrom(bytes, view, d, to, onHit);
  };
  return { scan, alphabet };
}

/** Each needle, plus its forms with some or all `/` written `\/` (a JSON producer may escape them). */
function needlesWithEscapedSlashes(needles: readonly string[]): string[] {
  const out: string[] = [];
  for (const needle of needles) {
    let forms = [''];
    for (const c of needle) forms = c === '/' ? forms.flatMap((f) => [`${f}/`, `${f}\\/`]) : forms.map((f) => f + c);
    // Needles with many slashes would multiply: past 3 slashes keep only "none" and "all escaped".
    out.push(...(forms.length <= 8 ? forms : [needle, needle.replaceAll('/', '\\/')]));
  }
  return out;
}

function literal(text: string, kind: HitKind, caseInsensitive: boolean): Pattern {
  const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
  const positions = [...bytes].map((b) => (caseInsensitive && b >= 0x61 && b <= 0x7a ? [b, b - 0x20] : [b]));
  const verify = caseInsensitive
    ? (t: Uint8Array, start: number): boolean => {
        for (let i = 0; i < bytes.length; i++) if (lower(t[start + i] as number) !== bytes[i]) return false;
        return true;
      }
    : (t: Uint8Array, start: number): boolean => {
        for (let i = 0; i < bytes.length; i++) if (t[start + i] !== bytes[i]) return false;
        return true;
      };
  return { kind, positions, offset: 0, verify };
}

/**
 * `\u00XX` where XX is a character of the alphabet, padded in front with wildcards to the window
 * (an escape is inside a JSON string, so at least `{"` precedes it on its line).
 */
function escapePattern(alphabet: ReadonlySet<string>, window: number): Pattern {
  const codes = [...alphabet].map((c) => c.charCodeAt(0));
  const hexChars = (digit: (code: number) => number): number[] => [
    ...new Set(codes.map(digit).flatMap((d) => [...d.toString(16)].flatMap((h) => [h.charCodeAt(0), h.toUpperCase().charCodeAt(0)]))),
  ];
  const pad = Math.max(0, window - 6);
  const escape = [[BACKSLASH], [0x75], [0x30], [0x30], hexChars((c) => c >> 4), hexChars((c) => c & 15)];
  const positions: (readonly number[] | undefined)[] = [...Array.from({ length: pad }, () => undefined), ...escape];
  const verify = (t: Uint8Array, start: number): boolean => {
    const at = start + pad;
    if (t[at] !== BACKSLASH || t[at + 1] !== 0x75 || t[at + 2] !== 0x30 || t[at + 3] !== 0x30) return false;
    const hi = t[at + 4] as number;
    const lo = t[at + 5] as number;
    if (!isHexDigit(hi) || !isHexDigit(lo)) return false;
    return alphabet.has(String.fromCharCode(hexValue(hi) * 16 + hexValue(lo)));
  };
  return { kind: HIT_ESCAPE, positions, offset: pad, verify };
}

const NONE: readonly Pattern[] = [];
const ANY_BYTE = Array.from({ length: 256 }, (_, b) => b);

/** Calls `use` with the hash of every gram the pattern allows that ends at position `end`. */
function forEachGram(positions: readonly (readonly number[] | undefined)[], end: number, use: (hash: number) => void): void {
  const at = (i: number): number[] => [...new Set((positions[i] ?? ANY_BYTE).map(fold))];
  const seen = new Set<number>();
  for (const a of at(end - 2))
    for (const b of at(end - 1))
      for (const c of at(end)) {
        const h = wordHash((a << 8) | (b << 16) | (c << 24));
        if (seen.has(h)) continue;
        seen.add(h);
        use(h);
      }
}
