// endpoint catalogue needles --> (cloudwatch filter pattern) --> FilterLogEvents filterPattern(s)
//
// CloudWatch Logs filters server-side with a filter pattern, so only candidate lines are
// transferred to the Lambda and parsed there. The unstructured-text syntax is used:
// `?"term1" ?"term2"` matches an event that contains any of the quoted terms. Quoted terms match
// case-sensitively, so each needle is written in the spellings that occur in real telemetry
// (see FILTER_PATTERN.md). A pattern is at most 1024 characters (FilterLogEvents API limit);
// when the terms do not fit, they are split over several patterns, each one FilterLogEvents
// query whose results the source merges by eventId.
//
// Correctness argument, relied on by the property tests: a term that is a substring of a
// needle's spelling selects every line that spelling selects, so any term may be replaced by one
// of its substrings (shorter, broader) and a term containing another term may be dropped. The
// server-side filter may only ever let through more than the prefilter, never less.

/** FilterLogEvents rejects a filterPattern longer than this. */
export const MAX_FILTER_PATTERN_LENGTH = 1024;

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
  const terms = [...new Set(auditIds)].map((id) => {
    if (!/^\d+\.\d+:\d+$/.test(id)) throw new RangeError(`not an audit id (SECONDS.MILLIS:SERIAL): ${JSON.stringify(id)}`);
    return `audit(${id})`;
  });
  for (const term of terms) {
    if (term.length + 2 > maxLength) throw new RangeError(`audit id too long for a ${maxLength}-character pattern: ${term}`);
  }
  return pack(terms, maxLength);
}
