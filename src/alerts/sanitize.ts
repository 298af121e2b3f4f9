// User-controlled text (user names, process names, arguments) never reaches a place that
// interprets it raw: the SNS subject, message attributes, an email body, a log line.

/** Control characters (C0, DEL, C1), line and paragraph separators, bidi overrides and zero-width marks. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** Printable single-line text: controls become spaces, runs of spaces collapse, cut to `max`. */
export function singleLine(text: string, max = 256): string {
  const clean = text.replace(CONTROL, ' ').replace(/\s+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/**
 * JSON text with the characters above escaped (`\u2028`, `\u202e`): it parses to exactly the same
 * value, but a line splitter, a terminal or a chat client that renders the raw text sees no line
 * separator, bidi override or control character. (JSON.stringify escapes only C0 controls.)
 */
export function jsonText(value: object): string {
  return JSON.stringify(value).replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * For the SNS subject (ASCII, no line breaks, at most 100 characters): keeps letters, digits and
 * `._-@:`, replaces anything else by `_`.
 */
export function subjectToken(text: string, max = 40): string {
  const clean = text.replace(/[^A-Za-z0-9._@:-]/g, '_');
  return clean.length > max ? `${clean.slice(0, max - 1)}~` : clean || '_';
}

/** SNS subjects: ASCII printable, no line breaks, fewer than 100 characters. */
export function subjectLine(text: string): string {
  const ascii = text.replace(/[^\x20-\x7e]/g, '_');
  return ascii.length > 99 ? `${ascii.slice(0, 98)}~` : ascii;
}
