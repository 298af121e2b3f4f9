// normalizers --> (endpoint catalogue) --> is this destination the metadata service?
//
// One catalogue serves three readers: the network parsers (an address and a port), the
// command-line parsers (a URL inside arguments) and the prefilter (cheap substrings that every
// metadata reference contains in some form, before any parse).

import { canonicalAddress, parseIPv4, parseIPv6 } from './ip-address.js';

/** A catalogue entry: an address or a hostname that serves instance metadata or credentials. */
export interface EndpointEntry {
  /** IP address or hostname, canonical form. */
  endpoint: string;
  provider: string;
}

/** What a destination matched. */
export interface EndpointMatch {
  endpoint: string;
  provider: string;
}

/** The metadata service speaks HTTP on port 80. The same address also answers DNS (53) and NTP (123) on GCE: not calls. */
export const METADATA_PORTS: readonly number[] = [80];

/** The default catalogue (DESIGN.md): every cloud's instance metadata and credential endpoints. */
export const DEFAULT_ENDPOINTS: readonly EndpointEntry[] = [
  { endpoint: '169.254.169.254', provider: 'cloud-imds' }, // AWS, Azure, GCP, OCI, OpenStack, DigitalOcean
  { endpoint: 'fd00:ec2::254', provider: 'aws-imds-ipv6' },
  { endpoint: 'metadata.google.internal', provider: 'gcp' },
  { endpoint: 'metadata.goog', provider: 'gcp' },
  { endpoint: 'metadata', provider: 'gcp' }, // short name resolved by GCE's DNS
  { endpoint: 'instance-data', provider: 'aws' },
  { endpoint: 'instance-data.ec2.internal', provider: 'aws' },
  { endpoint: '100.100.100.200', provider: 'alibaba' },
  { endpoint: '169.254.170.2', provider: 'aws-ecs-credentials' },
  { endpoint: '169.254.170.23', provider: 'aws-eks-pod-identity' },
  { endpoint: 'fd00:ec2::23', provider: 'aws-eks-pod-identity' },
];

/** Link-local look-alikes that are not metadata: Amazon Time Sync and Amazon DNS. Never matched. */
export const NOT_METADATA: readonly string[] = ['169.254.169.123', '169.254.169.253'];

export interface EndpointCatalogue {
  readonly entries: readonly EndpointEntry[];
  /** Any textual address form and a port (undefined: not known, e.g. a URL without one). */
  matchAddress(address: string, port?: number): EndpointMatch | undefined;
  /** A hostname or an address as written in a URL or a DNS question. */
  matchHost(host: string, port?: number): EndpointMatch | undefined;
  /** The first metadata URL (or bare host reference) in a command line or argument. */
  findUrl(text: string): (EndpointMatch & { url: string; port?: number }) | undefined;
  /** Lower-case substrings of which every metadata reference contains at least one. */
  readonly needles: readonly string[];
}

export interface CatalogueOptions {
  /** Addresses or hostnames to add (provider `custom`). */
  extra?: readonly string[];
  /** Entries to remove. */
  exclude?: readonly string[];
}

export function createEndpointCatalogue(options: CatalogueOptions = {}): EndpointCatalogue {
  const canonical = (text: string): string => canonicalAddress(text) ?? text.toLowerCase().replace(/\.$/, '');
  const excluded = new Set((options.exclude ?? []).map(canonical));
  const entries = [
    ...DEFAULT_ENDPOINTS,
    ...(options.extra ?? []).map((e) => ({ endpoint: canonical(e), provider: 'custom' })),
  ].filter((e) => !excluded.has(e.endpoint) && !NOT_METADATA.includes(e.endpoint));
  const byEndpoint = new Map(entries.map((e) => [e.endpoint, e]));
  const portOk = (port: number | undefined): boolean => port === undefined || METADATA_PORTS.includes(port);

  const matchAddress = (address: string, port?: number): EndpointMatch | undefined => {
    if (!portOk(port)) return undefined;
    const key = canonicalAddress(address);
    return key === undefined ? undefined : byEndpoint.get(key);
  };

  const matchHost = (host: string, port?: number): EndpointMatch | undefined => {
    if (!portOk(port)) return undefined;
    const bare = host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
    return matchAddress(bare) ?? byEndpoint.get(bare);
  };

  const needles = buildNeedles(entries);
  const findUrl = (text: string) => {
    const lower = text.toLowerCase();
    // Every occurrence inside one token gives that token again. The end of each token examined is
    // kept at each of its positions, so that a token is examined once, whatever the number of
    // occurrences of needles in it (a long run such as `169.254.169.254169.254...` is linear).
    let examined: Int32Array | undefined;
    for (const needle of needles) {
      for (let at = lower.indexOf(needle), end = 0; at >= 0; at = lower.indexOf(needle, Math.max(at + 1, end))) {
        end = examined?.[at] ?? 0;
        if (end > 0) continue;
        const around = tokenAround(text, at);
        end = around.end;
        (examined ??= new Int32Array(text.length + 1)).fill(around.end, around.start, around.end);
        const token = around.token;
        const target = parseUrlish(token);
        if (!target) continue;
        const match = matchHost(target.host, target.port);
        if (match) return { ...match, url: token, ...(target.port === undefined ? {} : { port: target.port }) };
      }
    }
    return undefined;
  };

  return { entries, matchAddress, matchHost, findUrl, needles };
}

const TOKEN_BREAK = /[\s'"`<>(){}\\,;|^]/;
/** TOKEN_BREAK for ASCII as a table: tokens can be a whole 256 KB line, scanned once per needle. */
const ASCII_BREAK = Uint8Array.from({ length: 128 }, (_, c) => (TOKEN_BREAK.test(String.fromCharCode(c)) ? 1 : 0));

function isTokenBreak(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c < 128 ? ASCII_BREAK[c] === 1 : TOKEN_BREAK.test(text[i] ?? ' ');
}

function tokenAround(text: string, at: number): { token: string; start: number; end: number } {
  let start = at;
  while (start > 0 && !isTokenBreak(text, start - 1)) start--;
  let end = at;
  while (end < text.length && !isTokenBreak(text, end)) end++;
  return { token: text.slice(start, end), start, end };
}

/** Host and port of `scheme://user@host:port/path`, `host/path`, `[v6]:port`, or a bare host. */
function parseUrlish(token: string): { host: string; port?: number } | undefined {
  let rest = token.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/^\/\//, '');
  const at = rest.search(/[/?#]/);
  if (at >= 0) rest = rest.slice(0, at);
  rest = rest.slice(rest.lastIndexOf('@') + 1);
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) return undefined;
    const port = rest.slice(close + 1).match(/^:(\d{1,5})$/)?.[1];
    return { host: rest.slice(1, close), ...(port ? { port: Number(port) } : {}) };
  }
  // A bare IPv6 address has several colons and no port.
  if ((rest.match(/:/g) ?? []).length > 1) return { host: rest };
  const [host, port] = rest.split(':');
  if (!host) return undefined;
  if (port !== undefined && !/^\d{1,5}$/.test(port)) return { host };
  return { host, ...(port ? { port: Number(port) } : {}) };
}

const asciiHex = (s: string): string => Buffer.from(s, 'latin1').toString('hex');

/**
 * Every form in which an entry can appear in a raw message: as text (URL, ECS field, ENRICHED
 * `laddr=`), as auditd SOCKADDR bytes, as the hex auditd uses for EXECVE arguments and PROCTITLE
 * that hold spaces, and the encoded IPv4 forms an attacker may type.
 */
function buildNeedles(entries: readonly EndpointEntry[]): string[] {
  const needles = new Set<string>();
  for (const { endpoint } of entries) {
    const v4 = parseIPv4(endpoint);
    const v6 = v4 ? undefined : parseIPv6(endpoint);
    if (v4) {
      const [a, b, c, d] = Array.from(v4) as [number, number, number, number];
      const hex = Buffer.from(v4).toString('hex');
      needles.add(endpoint); // text
      needles.add(hex); // SOCKADDR bytes, `0xa9fea9fe`, and `::ffff:a9fe:a9fe` once colons are ignored below
      needles.add(`${hex.slice(0, 4)}:${hex.slice(4)}`); // IPv4-mapped IPv6 text
      needles.add(String(((a << 24) >>> 0) + (b << 16) + (c << 8) + d)); // `http://2852039166/`
      needles.add([a, b, c, d].map((n) => `0${n.toString(8)}`).join('.')); // octal
      needles.add([a, b, c, d].map((n) => `0x${n.toString(16)}`).join('.')); // dotted hex
      needles.add(`${a}.${b}.${(c << 8) + d}`); // inet_aton short form
      needles.add(asciiHex(endpoint)); // hex-encoded argument or PROCTITLE
    } else if (v6) {
      needles.add(endpoint);
      needles.add(Buffer.from(v6).toString('hex')); // SOCKADDR bytes
      needles.add(Buffer.from(v6.slice(0, 4)).toString('hex').replace(/^(.{4})/, '$1:')); // `fd00:0ec2:…` spelled out
      needles.add(asciiHex(endpoint));
    } else if (endpoint === 'metadata') {
      // Too common a word on its own: only as a URL host or in GCE's API path.
      for (const form of ['//metadata/', '//metadata:', 'metadata/computemetadata']) needles.add(form);
      needles.add(asciiHex('//metadata/'));
      needles.add(asciiHex('computeMetadata').toLowerCase());
    } else {
      needles.add(endpoint);
      needles.add(asciiHex(endpoint));
    }
  }
  return [...needles].map((n) => n.toLowerCase());
}
