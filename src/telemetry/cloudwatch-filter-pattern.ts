// endpoint catalogue needles --> (cloudwatch filter pattern) --> FilterLogEvents filterPattern(s)
//
// CloudWatch Logs filters server-side with a filter pattern, so only candidate lines are
// transferred to the Lambda and parsed there. The unstructured-text syntax is used:
// `?"term1" ?"term2"` matches an event that contains any of the quoted terms. Quoted terms match
// case-sensitively, so each needle is written in the spellings that occur in real telemetry
// (see FILTER_PATTERN.md). A pattern is at most 1024 characters (FilterLogEvents API limit);
// when the terms do not fit, they are split over several patterns, each one FilterLogEvents
// query whose results the source merges by eventId. The second read (auditd records of the
// matching events, by audit id) is planned here too: auditRecordQueries shares one query among
// up to 100 log streams.
//
// Correctness argument, relied on by the property tests: a term that is a substring of a
// needle's spelling selects every line that spelling selects, so any term may be replaced by one
// of its substrings (shorter, broader) and a term containing another term may be dropped. The
// server-side filter may only ever let through more than the prefilter, never less.

/**
 * FilterLogEvents rejects a filterPattern longer than this ("Length Constraints: Maximum length of
 * 1024", https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html;
 * `FilterPattern` max 1024 in the service model, boto/botocore botocore/data/logs/2014-03-28/service-2.json).
 */
export const MAX_FILTER_PATTERN_LENGTH = 1024;

/**
 * FilterLogEvents takes at most this many names in `logStreamNames`: the service model's
 * `InputLogStreamNames` list has `"min": 1, "max": 100` (boto/botocore
 * botocore/data/logs/2014-03-28/service-2.json, the shape FilterLogEventsRequest.logStreamNames uses).
 */
export const MAX_LOG_STREAM_NAMES = 100;

/** Characters a quoted term may hold: printable ASCII but `"` and `\` (their escaping is not documented). */
const SAFE_TERM_CHAR = /[\x20-\x21\x23-\x5b\x5d-\x7e]/;

/**
 * Lower-case fragments whose real spelling is mixed case: a case-sensitive filter needs that
 * spelling. The GCE metadata API path is `/computeMetadata/v1/`.
 */
const KNOWN_SPELLINGS: readonly (readonly [string, string])[] = [['computemetadata', 'computeMetadata']];

/**
 * The spellings of a needle that a case-sensitive filter must look for: as given (lower case in
 * the catalogue: URLs, ECS fields, ENRICHED `laddr=`), upper case (auditd writes SOCKADDR, EXECVE
 * and PROCTITLE hex in upper case), upper-case hex digits after a lower-case `0x` (`0xA9.0xFE...`,
 * the usual way people type hex), and the known mixed-case spellings (`computeMetadata`).
 *
 * @example
 * caseVariants('0xa9.0xfe.0xa9.0xfe'); // ['0xa9.0xfe.0xa9.0xfe', '0XA9.0XFE.0XA9.0XFE', '0xA9.0xFE.0xA9.0xFE']
 */
export function caseVariants(needle: string): string[] {
  const variants = new Set<string>([needle, needle.toUpperCase(), needle.toUpperCase().replace(/0X/g, '0x')]);
  for (const [lower, spelling] of KNOWN_SPELLINGS) {
    const at = needle.toLowerCase().indexOf(lower);
    if (at >= 0) variants.add(needle.slice(0, at) + spelling + needle.slice(at + lower.length));
  }
  return [...variants];
}

/**
 * The term that stands for one spelling in a pattern: the spelling itself when it can be quoted
 * safely and fits, else its longest safe run of characters, cut to what fits in a pattern (a
 * substring selects a superset; see the header). '' when nothing can be quoted: the spelling
 * cannot be filtered server-side at all.
 * @internal
 */
export function termFor(spelling: string, maxLength = MAX_FILTER_PATTERN_LENGTH): string {
  const maxTerm = maxLength - 2; // `"term"` alone
  let best = '';
  let start = 0;
  for (let i = 0; i <= spelling.length; i++) {
    const c = spelling[i];
    if (c !== undefined && SAFE_TERM_CHAR.test(c)) continue;
    if (i - start > best.length) best = spelling.slice(start, i);
    start = i + 1;
  }
  const term = best.slice(0, maxTerm);
  return term.trim() === '' ? '' : term;
}

/** `?"a" ?"b"`; a single term is written without `?`. */
const render = (terms: readonly string[]): string =>
  terms.length === 1 ? `"${terms[0] ?? ''}"` : terms.map((t) => `?"${t}"`).join(' ');

/** Length of `render(terms)` without building it. */
const renderedLength = (termLengths: number, count: number): number =>
  count === 1 ? termLengths + 2 : termLengths + 3 * count + (count - 1);

/**
 * Packs OR-ed terms into as few patterns of at most `maxLength` characters as it can
 * (first fit, longest terms first); terms keep their given order inside each pattern.
 */
function pack(terms: readonly string[], maxLength: number): string[] {
  const order = terms.map((term, index) => ({ term, index })).sort((a, b) => b.term.length - a.term.length || a.index - b.index);
  const bins: { items: { term: string; index: number }[]; chars: number }[] = [];
  for (const item of order) {
    const bin = bins.find((b) => renderedLength(b.chars + item.term.length, b.items.length + 1) <= maxLength);
    if (bin) {
      bin.items.push(item);
      bin.chars += item.term.length;
    } else {
      bins.push({ items: [item], chars: item.term.length });
    }
  }
  return bins.map((b) => render(b.items.sort((x, y) => x.index - y.index).map((i) => i.term)));
}

/** Drops duplicates and every term that contains a shorter kept term (OR makes it redundant). */
function minimalTerms(terms: readonly string[]): string[] {
  const unique = [...new Set(terms)];
  const byLength = [...unique].sort((a, b) => a.length - b.length);
  const kept = new Set<string>();
  for (const term of byLength) {
    let redundant = false;
    for (const k of kept) {
      if (term.includes(k)) {
        redundant = true;
        break;
      }
    }
    if (!redundant) kept.add(term);
  }
  return unique.filter((t) => kept.has(t));
}

/**
 * CloudWatch Logs filter patterns that together select every event containing any needle in
 * any of its {@link caseVariants}: run each as its own FilterLogEvents query and merge the
 * results by eventId. Each pattern is at most `maxLength` characters.
 *
 * Returns `['']` (the empty pattern: every event) when some needle has no character that can be
 * quoted, and `[]` when there are no needles (nothing to look for).
 *
 * @example
 * buildFilterPatterns(['169.254.169.254', 'a9fea9fe']);
 * // ['?"169.254.169.254" ?"a9fea9fe" ?"A9FEA9FE"']
 */
export function buildFilterPatterns(needles: readonly string[], maxLength = MAX_FILTER_PATTERN_LENGTH): string[] {
  if (maxLength < 3) throw new RangeError(`maxLength must be at least 3, got ${maxLength}`);
  const terms: string[] = [];
  for (const needle of needles) {
    for (const spelling of caseVariants(needle)) {
      const term = termFor(spelling, maxLength);
      if (term === '') return [''];
      terms.push(term);
    }
  }
  return pack(minimalTerms(terms), maxLength);
}

const AUDIT_ID = /^\d+\.\d+:\d+$/;

/** The quoted term of one audit id; the closing parenthesis keeps serial 456 from matching 4567. */
function auditIdTerm(id: string, maxLength: number): string {
  if (!AUDIT_ID.test(id)) throw new RangeError(`not an audit id (SECONDS.MILLIS:SERIAL): ${JSON.stringify(id)}`);
  const term = `audit(${id})`;
  if (term.length + 2 > maxLength) throw new RangeError(`audit id too long for a ${maxLength}-character pattern: ${term}`);
  return term;
}

/**
 * Filter patterns selecting the auditd records of the given events, by their
 * `msg=audit(SECONDS.MILLIS:SERIAL)` id: `?"audit(1700000000.123:4567)" ?"audit(...)"`. The
 * closing parenthesis keeps serial 456 from matching 4567. Split to fit `maxLength`.
 *
 * @example
 * auditIdFilterPatterns(['1700000000.123:4567', '1700000000.123:4568']);
 * // ['?"audit(1700000000.123:4567)" ?"audit(1700000000.123:4568)"']
 */
export function auditIdFilterPatterns(auditIds: readonly string[], maxLength = MAX_FILTER_PATTERN_LENGTH): string[] {
  return pack(
    [...new Set(auditIds)].map((id) => auditIdTerm(id, maxLength)),
    maxLength,
  );
}

/**
 * The term that finds the records of one audit id in a shared query: its `.MILLIS:SERIAL)`, 7 to
 * 16 characters (10 to 12 for serials of 4 to 6 digits) where the whole
 * `audit(SECONDS.MILLIS:SERIAL)` takes 22 to 31, so a pattern holds about twice as many ids. It is a substring of every record of the event, so it selects them all
 * (and it starts at a `.`, a token boundary, should CloudWatch match terms by token). What it
 * selects besides, the caller drops by its (stream, node, id) check: the same millisecond and
 * serial at another second of the window, which a host's ever-growing serial rules out but for a
 * reboot, and the same pair in another host's stream of the query (one in a thousand of the
 * events of matching serial). The closing parenthesis keeps serial 50 from matching 501.
 */
function auditRecordTerm(id: string, maxLength: number): string {
  const whole = auditIdTerm(id, maxLength);
  return whole.slice(whole.indexOf('.'));
}

/** A (stream, audit id) of {@link auditRecordQueries}, with its term and its place in the input. */
type PlannedPair = { stream: string; id: string; term: string; order: number };
/** A query being filled by {@link auditRecordQueries}: its pairs, distinct terms, their length, streams. */
type PlannedQuery = { pairs: PlannedPair[]; terms: Set<string>; chars: number; streams: Set<string> };

const longestTermFirst = (a: PlannedPair, b: PlannedPair): number => b.term.length - a.term.length || a.order - b.order;
const inputOrder = (a: PlannedPair, b: PlannedPair): number => a.order - b.order;
const takesStream = (q: PlannedQuery, stream: string, maxStreams: number): boolean => q.streams.has(stream) || q.streams.size < maxStreams;
const hasRoom = (q: PlannedQuery, term: string, maxLength: number): boolean =>
  renderedLength(q.chars + term.length, q.terms.size + 1) <= maxLength;

/** One FilterLogEvents query of the second read, within one log group. */
export interface AuditRecordQuery {
  /** At most {@link MAX_LOG_STREAM_NAMES}, each once. */
  logStreamNames: string[];
  /** OR of the `.MILLIS:SERIAL)` terms of every id below, at most {@link MAX_FILTER_PATTERN_LENGTH} characters. */
  filterPattern: string;
  /** The ids each stream asks of this query, in the given order; each (stream, id) is in exactly one query of a plan. */
  idsByStream: Map<string, string[]>;
}

/**
 * The FilterLogEvents queries that fetch the auditd records of the given events of one log group,
 * as few as both limits allow: a query names up to `maxStreams` streams and its pattern ORs the
 * audit ids of all of them, so the streams of many hosts share one request instead of one each.
 *
 * Each id is written as its `.MILLIS:SERIAL)` (see auditRecordTerm): a pattern holds some 65 ids,
 * against 33 of whole `audit(ID)` terms. First fit decreasing over the (stream, id) pairs, longest
 * term first: a pair goes to a query that holds its term already (an id wanted by two streams is
 * written once), else to the first whose pattern has room for the term, as long as the query names
 * its stream or has room for one more. A stream whose ids do not all fit one query spreads over
 * several, which costs no request. So a query is only opened when every other one is full to
 * within one term or names `maxStreams` streams: at most (terms' characters) / (`maxLength` less
 * the longest term) + (pairs) / `maxStreams` + 1 queries. In practice the length decides: a
 * pattern never holds 100 distinct terms, so 100 streams share a query only when they share ids.
 *
 * A pattern of several streams also selects the records of one stream's id in another stream of
 * the query (ids repeat across hosts): the caller must keep only the (stream, node, id) it wants.
 *
 * @example
 * auditRecordQueries(new Map([['i-1', ['1705319000.100:501']], ['i-2', ['1705319001.300:77']]]));
 * // [{ logStreamNames: ['i-1', 'i-2'],
 * //    filterPattern: '?".100:501)" ?".300:77)"',
 * //    idsByStream: Map { 'i-1' => ['1705319000.100:501'], 'i-2' => ['1705319001.300:77'] } }]
 */
export function auditRecordQueries(
  idsByStream: ReadonlyMap<string, Iterable<string>>,
  maxLength = MAX_FILTER_PATTERN_LENGTH,
  maxStreams = MAX_LOG_STREAM_NAMES,
): AuditRecordQuery[] {
  if (!(Number.isInteger(maxStreams) && maxStreams >= 1)) throw new RangeError(`maxStreams must be a positive integer, got ${maxStreams}`);
  const pairs: PlannedPair[] = [];
  for (const [stream, ids] of idsByStream) {
    for (const id of new Set(ids)) pairs.push({ stream, id, term: auditRecordTerm(id, maxLength), order: pairs.length });
  }
  const bins: PlannedQuery[] = [];
  const binsWithTerm = new Map<string, PlannedQuery[]>();
  // Bins before `from` have no room left for a term of the current length: terms come longest
  // first, so the scan for room starts there and restarts only when the length drops.
  let from = 0;
  let termLength = -1;
  for (const pair of [...pairs].sort(longestTermFirst)) {
    if (pair.term.length !== termLength) {
      termLength = pair.term.length;
      from = 0;
    }
    // A query that already holds the term takes the pair for nothing.
    let bin = binsWithTerm.get(pair.term)?.find((b) => takesStream(b, pair.stream, maxStreams));
    if (!bin) {
      while (from < bins.length && !hasRoom(bins[from] as PlannedQuery, pair.term, maxLength)) from++;
      for (let i = from; i < bins.length && !bin; i++) {
        const b = bins[i] as PlannedQuery;
        if (hasRoom(b, pair.term, maxLength) && takesStream(b, pair.stream, maxStreams)) bin = b;
      }
    }
    if (!bin) bins.push((bin = { pairs: [], terms: new Set(), chars: 0, streams: new Set() }));
    if (!bin.terms.has(pair.term)) {
      bin.terms.add(pair.term);
      bin.chars += pair.term.length;
      const holding = binsWithTerm.get(pair.term);
      if (holding) holding.push(bin);
      else binsWithTerm.set(pair.term, [bin]);
    }
    bin.streams.add(pair.stream);
    bin.pairs.push(pair);
  }
  // Streams, ids and terms of each query in the order the caller gave them.
  return bins.map((bin) => {
    const idsOf = new Map<string, string[]>();
    for (const pair of bin.pairs.sort(inputOrder)) {
      const ids = idsOf.get(pair.stream);
      if (ids) ids.push(pair.id);
      else idsOf.set(pair.stream, [pair.id]);
    }
    return { logStreamNames: [...idsOf.keys()], filterPattern: render([...new Set(bin.pairs.map((p) => p.term))]), idsByStream: idsOf };
  });
}
