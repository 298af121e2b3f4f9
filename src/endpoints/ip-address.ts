// Parses every textual form of an IP address that a socket API or URL parser would accept, so that
// an attacker cannot dodge the catalogue with `http://2852039166/` or `[::ffff:a9fe:a9fe]`.

/** An address as bytes: 4 for IPv4, 16 for IPv6. */
export type AddressBytes = Uint8Array;

/**
 * inet_aton semantics: 1 to 4 parts, each decimal, octal (leading 0) or hex (0x); the last part
 * fills the remaining bytes. `169.254.169.254`, `2852039166`, `0xa9fea9fe`, `0251.0376.0251.0376`,
 * `169.254.43518` all give the same address.
 */
export function parseIPv4(text: string): AddressBytes | undefined {
  const parts = text.split('.');
  if (parts.length < 1 || parts.length > 4) return undefined;
  const values: number[] = [];
  for (const part of parts) {
    const value = parseIPv4Part(part);
    if (value === undefined) return undefined;
    values.push(value);
  }
  const last = values.pop() as number;
  const lastBytes = 4 - values.length;
  if (values.some((v) => v > 255) || last >= 2 ** (8 * lastBytes)) return undefined;
  const bytes = new Uint8Array(4);
  values.forEach((v, i) => (bytes[i] = v));
  for (let i = 3, rest = last; i >= values.length; i--, rest = Math.floor(rest / 256)) bytes[i] = rest % 256;
  return bytes;
}

function parseIPv4Part(part: string): number | undefined {
  if (/^0x[0-9a-f]*$/i.test(part)) return part.length === 2 ? 0 : Number.parseInt(part.slice(2), 16);
  if (/^0[0-7]*$/.test(part)) return Number.parseInt(part, 8);
  if (/^[1-9][0-9]*$/.test(part)) return part.length > 10 ? undefined : Number(part);
  return undefined;
}

/** RFC 4291 text forms, with `::`, an embedded dotted IPv4 tail and an optional `%zone`. */
export function parseIPv6(text: string): AddressBytes | undefined {
  let value = text;
  const zone = value.indexOf('%');
  if (zone >= 0) value = value.slice(0, zone);
  if (!value.includes(':') || !/^[0-9a-f:.]+$/i.test(value)) return undefined;
  // A dotted IPv4 tail (`::ffff:169.254.169.254`) is rewritten as its two hex groups.
  const lastColon = value.lastIndexOf(':');
  const dotted = value.slice(lastColon + 1);
  if (dotted.includes('.')) {
    const v4 = dotted.split('.');
    if (v4.length !== 4 || v4.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
    const [a, b, c, d] = v4.map(Number) as [number, number, number, number];
    value = `${value.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = value.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const groups = s.split(':');
    if (groups.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return undefined;
    return groups.map((g) => Number.parseInt(g, 16));
  };
  const head = parseGroups(halves[0] ?? '');
  const rest = halves.length === 2 ? parseGroups(halves[1] ?? '') : [];
  if (head === undefined || rest === undefined) return undefined;
  const written = head.length + rest.length;
  if (halves.length === 2 ? written > 7 : written !== 8) return undefined;
  const groups = halves.length === 2 ? [...head, ...new Array<number>(8 - written).fill(0), ...rest] : head;
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/**
 * The IPv4 address hidden in an IPv6 one: IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible
 * (`::a.b.c.d`) or NAT64 (`64:ff9b::a.b.c.d`). All reach the IPv4 service.
 */
export function embeddedIPv4(bytes: AddressBytes): AddressBytes | undefined {
  if (bytes.length !== 16) return undefined;
  const zeros = (from: number, to: number): boolean => bytes.slice(from, to).every((b) => b === 0);
  const mapped = zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff;
  const compatible = zeros(0, 12) && !zeros(12, 15);
  const nat64 = bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12);
  return mapped || compatible || nat64 ? bytes.slice(12, 16) : undefined;
}

/** Canonical text: dotted quad, or RFC 5952 compressed lower-case IPv6. */
export function formatAddress(bytes: AddressBytes): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** Any textual address to its canonical form; IPv6 forms that embed IPv4 become the IPv4. */
export function canonicalAddress(text: string): string | undefined {
  const trimmed = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const v4 = parseIPv4(trimmed);
  if (v4) return formatAddress(v4);
  const v6 = parseIPv6(trimmed);
  if (!v6) return undefined;
  return formatAddress(embeddedIPv4(v6) ?? v6);
}
