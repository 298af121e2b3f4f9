// LogEvent.message (one audit.log line) --> (audit-record) --> AuditRecord --> (audit-event) --> Observation
//
// A record line is `[node=NAME ]type=TYPE msg=audit(SECONDS.MILLIS:SERIAL): key=value ...`, in
// ENRICHED format followed by a 0x1D byte and interpreted `KEY="value"` pairs. The scanner below is
// a single left-to-right pass (indexOf from a moving position, no backtracking regular
// expression), so it is linear in the line length, and it never throws.

/** One parsed audit record. */
export interface AuditRecord {
  /** The `node=` prefix, '' when absent. */
  node: string;
  /** `SYSCALL`, `SOCKADDR`, `EXECVE`, `PROCTITLE`, `UNKNOWN[1329]`, ... as written. */
  type: string;
  /** `SECONDS.MILLIS:SERIAL` exactly as written inside `msg=audit(...)`. */
  auditId: string;
  /** The record time, ms since the epoch. */
  time: number;
  /**
   * The fields before the 0x1D separator, values exactly as written: quotes are KEPT so that a
   * quoted literal (`exe="/usr/bin/curl"`) can be told from hex (`exe=2F7573...`); decode them with
   * `decodeAuditValue` (hex.ts). Single-quoted (`msg='...'`) and braced (`saddr={ ... }`) values
   * are one value each. The first occurrence of a key wins. Null-prototype object.
   */
  fields: Record<string, string>;
  /**
   * ENRICHED format only: the interpreted fields after the 0x1D byte, surrounding double quotes
   * removed (`UID: 'www-data'`, `SADDR: '{ saddr_fam=inet laddr=169.254.169.254 lport=80 }'`).
   */
  enriched?: Record<string, string>;
}

/** The 0x1D (ASCII group separator) byte that starts the ENRICHED part of a record. */
export const ENRICHED_SEPARATOR = '\x1d';

interface Header {
  node: string;
  type: string;
  auditId: string;
  time: number;
  /** Index just after `):`. */
  bodyStart: number;
}

const isSpace = (c: string | undefined): boolean =>
  c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** Index of the first whitespace at or after `from`, or the length. Linear. */
function endOfWord(text: string, from: number): number {
  let i = from;
  while (i < text.length && !isSpace(text[i]) && text[i] !== ENRICHED_SEPARATOR) i++;
  return i;
}

function skipSpaces(text: string, from: number): number {
  let i = from;
  while (i < text.length && isSpace(text[i])) i++;
  return i;
}

/**
 * `node=` and `type=` prefixes and the `msg=audit(SECONDS.MILLIS:SERIAL):` header. The human date
 * of `ausearch -i` (`msg=audit(07/27/2017 12:18:27.019:845)`) is rejected: its time zone is unknown.
 */
function parseHeader(message: string): Header | undefined {
  let i = skipSpaces(message, message.startsWith('\uFEFF') ? 1 : 0);
  let node = '';
  if (message.startsWith('node=', i)) {
    const end = endOfWord(message, i + 5);
    node = message.slice(i + 5, end);
    if (node.length >= 2 && node.startsWith('"') && node.endsWith('"')) node = node.slice(1, -1);
    i = skipSpaces(message, end);
  }
  if (!message.startsWith('type=', i)) return undefined;
  const typeEnd = endOfWord(message, i + 5);
  const type = message.slice(i + 5, typeEnd);
  if (type === '') return undefined;
  i = skipSpaces(message, typeEnd);
  if (!message.startsWith('msg=audit(', i)) return undefined;
  i += 'msg=audit('.length;
  // SECONDS.MILLIS:SERIAL): with bounded digit runs.
  const idStart = i;
  const secondsStart = i;
  while (i < message.length && i - secondsStart <= 12 && isDigit(message[i])) i++;
  const seconds = message.slice(secondsStart, i);
  if (seconds === '' || message[i] !== '.') return undefined;
  i++;
  const fractionStart = i;
  while (i < message.length && i - fractionStart <= 9 && isDigit(message[i])) i++;
  const fraction = message.slice(fractionStart, i);
  if (fraction === '' || message[i] !== ':') return undefined;
  i++;
  const serialStart = i;
  while (i < message.length && i - serialStart <= 20 && isDigit(message[i])) i++;
  if (i === serialStart || message[i] !== ')') return undefined;
  // `):` ends the header; old auditd DAEMON_* records write `) config changed, ...` instead.
  const after = message[i + 1];
  if (after !== ':' && !isSpace(after)) return undefined;
  const auditId = message.slice(idStart, i);
  const time = Number(seconds) * 1000 + Number(fraction.padEnd(3, '0').slice(0, 3));
  if (!Number.isSafeInteger(time)) return undefined;
  return { node, type, auditId, time, bodyStart: i + 2 };
}

/**
 * Cheap extraction of the event key of a record line: only the header is read. Undefined when
 * the line is not an audit record (the same lines `parseAuditRecord` rejects for their header).
 */
export function auditIdOf(message: string): { node: string; auditId: string } | undefined {
  try {
    const header = parseHeader(message);
    return header && { node: header.node, auditId: header.auditId };
  } catch {
    return undefined;
  }
}

/** The type of a record line, from its header only; undefined when it is not an audit record. */
export function auditTypeOf(message: string): string | undefined {
  try {
    return parseHeader(message)?.type;
  } catch {
    return undefined;
  }
}

/**
 * Parses one audit.log line. Undefined when the line is not an audit record at all or its header
 * is malformed (truncated before the `):`, bad timestamp). A truncated body is kept as far as it
 * goes: an unclosed quote runs to the end of the raw part.
 */
export function parseAuditRecord(message: string): AuditRecord | undefined {
  try {
    const header = parseHeader(message);
    if (!header) return undefined;
    const fields = Object.create(null) as Record<string, string>;
    const enriched = Object.create(null) as Record<string, string>;
    let inEnriched = false;
    let sawSeparator = false;
    let i = header.bodyStart;
    const n = message.length;
    while (i < n) {
      const c = message[i];
      if (c === ENRICHED_SEPARATOR) {
        inEnriched = true;
        sawSeparator = true;
        i++;
        continue;
      }
      if (isSpace(c)) {
        i++;
        continue;
      }
      // A key runs to `=`; a word without `=` (`user pid=...`, `tty pid=...`) is skipped.
      let k = i;
      while (k < n && message[k] !== '=' && !isSpace(message[k]) && message[k] !== ENRICHED_SEPARATOR) k++;
      if (k >= n || message[k] !== '=') {
        i = k;
        continue;
      }
      const key = message.slice(i, k);
      const valueStart = k + 1;
      const open = message[valueStart];
      let valueEnd: number;
      const close = open === '"' ? '"' : open === "'" ? "'" : open === '{' ? '}' : undefined;
      if (close !== undefined) {
        const found = message.indexOf(close, valueStart + 1);
        if (found >= 0) {
          valueEnd = found + 1;
        } else {
          // Unclosed (truncated line): the value runs to the ENRICHED separator or the end.
          const separator = inEnriched ? -1 : message.indexOf(ENRICHED_SEPARATOR, valueStart + 1);
          valueEnd = separator >= 0 ? separator : n;
        }
      } else {
        valueEnd = endOfWord(message, valueStart);
      }
      const value = message.slice(valueStart, valueEnd);
      if (key !== '') {
        if (inEnriched) {
          if (!(key in enriched)) enriched[key] = unquoteEnriched(value);
        } else if (!(key in fields)) {
          fields[key] = value;
        }
      }
      i = valueEnd;
    }
    return {
      node: header.node,
      type: header.type,
      auditId: header.auditId,
      time: header.time,
      fields,
      ...(sawSeparator ? { enriched } : {}),
    };
  } catch {
    return undefined;
  }
}

function unquoteEnriched(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}
