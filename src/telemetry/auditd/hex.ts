// audit-record (raw values) --> (hex) --> decoded text for exe, comm, EXECVE args, PROCTITLE, key
//
// auditd writes an untrusted string in one of these forms:
//   "text"        printable ASCII without space or double quote: literal between the quotes
//   2F7573722F..  bare hex (upper or lower case, even length): the raw bytes, when the value held a
//                 space, a double quote, a control byte or a byte above 0x7e
//   (null) (none) absent
//   top           a bare non-hex word: legacy / `ausearch -i` interpreted output, literal
// All functions here are total: they never throw and run in linear time.

const HEX_VALUE: Record<string, number> = Object.create(null) as Record<string, number>;
for (let i = 0; i < 16; i++) {
  HEX_VALUE[i.toString(16)] = i;
  HEX_VALUE[i.toString(16).toUpperCase()] = i;
}

const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** True for a non-empty, even-length string of hex digits (either case). */
export function isHex(text: string): boolean {
  if (text.length === 0 || text.length % 2 !== 0) return false;
  for (let i = 0; i < text.length; i++) {
    if (HEX_VALUE[text[i] as string] === undefined) return false;
  }
  return true;
}

/** The bytes of an even-length hex string; undefined when it is not one. */
export function hexToBytes(hex: string): Uint8Array | undefined {
  if (!isHex(hex)) return undefined;
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = ((HEX_VALUE[hex[2 * i] as string] ?? 0) << 4) | (HEX_VALUE[hex[2 * i + 1] as string] ?? 0);
  }
  return bytes;
}

/** UTF-8 text of raw bytes; invalid sequences become U+FFFD. */
export function bytesToText(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** Whether auditd would hex-encode a value holding this byte (`"`, space, control, > 0x7e). */
function needsEncoding(byte: number): boolean {
  return byte === 0x22 || byte < 0x21 || byte > 0x7e;
}

export interface DecodeOptions {
  /**
   * Decode even-length hex whatever bytes it holds. By default, bare hex whose bytes auditd would
   * have printed in quotes (all printable, no space, no quote: `a0=616263`) is taken as a literal
   * word of the legacy unquoted form, because auditd never hex-encodes such a value. Pieces of a
   * split EXECVE argument (`a1[0]=...`) are hex whatever they hold: use `forceHex` for them.
   */
  forceHex?: boolean;
}

/**
 * The bytes of one auditd value as written (see the forms above); undefined when absent.
 * Quoted text is returned as its UTF-8 bytes.
 */
export function decodeAuditBytes(raw: string | undefined, options: DecodeOptions = {}): Uint8Array | undefined {
  if (raw === undefined || raw === '' || raw === '(null)' || raw === '(none)') return undefined;
  const first = raw[0];
  if (first === '"' || first === "'") {
    const body = raw.length >= 2 && raw[raw.length - 1] === first ? raw.slice(1, -1) : raw.slice(1);
    return new TextEncoder().encode(body);
  }
  const bytes = hexToBytes(raw);
  if (bytes && (options.forceHex === true || bytes.some(needsEncoding))) return bytes;
  return new TextEncoder().encode(raw);
}

/** The text of one auditd value as written (see the forms above); undefined when absent. */
export function decodeAuditValue(raw: string | undefined, options: DecodeOptions = {}): string | undefined {
  if (raw === undefined || raw === '' || raw === '(null)' || raw === '(none)') return undefined;
  const first = raw[0];
  if (first === '"' || first === "'") {
    return raw.length >= 2 && raw[raw.length - 1] === first ? raw.slice(1, -1) : raw.slice(1);
  }
  const bytes = hexToBytes(raw);
  if (bytes && (options.forceHex === true || bytes.some(needsEncoding))) return bytesToText(bytes);
  return raw;
}

/** Whether a raw value is written as hex (as opposed to quoted or a literal word). */
export function isHexEncoded(raw: string | undefined, options: DecodeOptions = {}): boolean {
  if (raw === undefined) return false;
  const bytes = hexToBytes(raw);
  return bytes !== undefined && (options.forceHex === true || bytes.some(needsEncoding));
}

/** Rule keys: several keys on one rule are written as hex joined by 0x01 (`exec\x0164bit`). */
export function decodeAuditKeys(raw: string | undefined): string[] {
  const text = decodeAuditValue(raw);
  if (text === undefined) return [];
  return text.split('\x01').filter((k) => k !== '');
}

/** Remove one pair of surrounding double quotes, as ENRICHED values are written (`UID="root"`). */
export function unquote(raw: string): string {
  return raw.length >= 2 && raw[0] === '"' && raw[raw.length - 1] === '"' ? raw.slice(1, -1) : raw;
}
