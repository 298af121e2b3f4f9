// SOCKADDR record --> (sockaddr) --> family, address, port (or unix path)
//
// `saddr=` is the raw `struct sockaddr` the process passed, as hex (FORMAT_NOTES §3):
//   bytes 0-1  family, little-endian (host order on x86_64 and aarch64)
//   bytes 2-3  port, big-endian (network order)
//   AF_INET    bytes 4-7 the IPv4 address
//   AF_INET6   bytes 4-7 flowinfo, 8-23 the address, 24-27 scope id (28 bytes)
//   AF_UNIX    bytes 2.. a NUL-terminated path; an abstract name starts with a NUL byte
// ENRICHED logs add an interpreted copy `SADDR={ saddr_fam=inet laddr=169.254.169.254 lport=80 }`
// and `ausearch -i` prints `saddr={ fam=inet laddr=... lport=... }`: read by
// `decodeInterpretedSockaddr`, used only when no hex is present.

import { formatAddress } from '../../endpoints/ip-address.js';
import { bytesToText, hexToBytes } from './hex.js';

export type SockaddrFamily = 'inet' | 'inet6' | 'unix' | 'unspec' | 'netlink' | 'other';

export interface Sockaddr {
  family: SockaddrFamily;
  /** Canonical text of the address (dotted quad, RFC 5952 IPv6). */
  address?: string;
  port?: number;
  /** AF_UNIX path; abstract names are written `@name`. */
  path?: string;
}

const AF_UNSPEC = 0;
const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const AF_NETLINK = 16;

/** Decodes the `saddr=` hex; undefined when it is not hex or too short to hold a family. */
export function decodeSockaddr(hex: string): Sockaddr | undefined {
  const bytes = hexToBytes(hex);
  if (!bytes || bytes.length < 2) return undefined;
  const family = (bytes[0] ?? 0) | ((bytes[1] ?? 0) << 8);
  const port = bytes.length >= 4 ? ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0) : undefined;
  switch (family) {
    case AF_INET:
      return {
        family: 'inet',
        ...(port === undefined ? {} : { port }),
        ...(bytes.length >= 8 ? { address: formatAddress(bytes.slice(4, 8)) } : {}),
      };
    case AF_INET6:
      return {
        family: 'inet6',
        ...(port === undefined ? {} : { port }),
        ...(bytes.length >= 24 ? { address: formatAddress(bytes.slice(8, 24)) } : {}),
      };
    case AF_UNIX:
      return { family: 'unix', ...unixPath(bytes.slice(2)) };
    case AF_UNSPEC:
      return { family: 'unspec' };
    case AF_NETLINK:
      return { family: 'netlink' };
    default:
      return { family: 'other' };
  }
}

function unixPath(rest: Uint8Array): { path?: string } {
  if (rest[0] === 0) {
    // Abstract name: may hold NUL bytes and its length is the socklen, which the record lacks, so
    // keep everything up to the trailing NUL padding.
    let end = rest.length;
    while (end > 1 && rest[end - 1] === 0) end--;
    const name = bytesToText(rest.slice(1, end));
    return name === '' ? {} : { path: `@${name}` };
  }
  const nul = rest.indexOf(0);
  const name = bytesToText(rest.slice(0, nul < 0 ? rest.length : nul));
  return name === '' ? {} : { path: name };
}

const INTERPRETED_FAMILIES: Record<string, SockaddrFamily> = {
  inet: 'inet',
  inet6: 'inet6',
  local: 'unix',
  unix: 'unix',
  file: 'unix',
  unspec: 'unspec',
  netlink: 'netlink',
};

/**
 * The interpreted form `{ saddr_fam=inet laddr=169.254.169.254 lport=80 }` (ENRICHED `SADDR=`)
 * or `{ fam=inet6 laddr=... lport=... }` (`ausearch -i`). Despite its name, `laddr` is the address
 * in the sockaddr: for connect() the remote one.
 */
export function decodeInterpretedSockaddr(text: string): Sockaddr | undefined {
  let body = text.trim();
  if (body.startsWith('"') && body.endsWith('"') && body.length >= 2) body = body.slice(1, -1).trim();
  if (!body.startsWith('{')) return undefined;
  body = body.slice(1, body.endsWith('}') ? -1 : undefined);
  const values = new Map<string, string>();
  for (const part of body.split(/[ \t]+/)) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).toLowerCase();
    if (!values.has(key)) values.set(key, part.slice(eq + 1));
  }
  const fam = (values.get('saddr_fam') ?? values.get('fam'))?.toLowerCase();
  if (fam === undefined) return undefined;
  const family = Object.hasOwn(INTERPRETED_FAMILIES, fam) ? (INTERPRETED_FAMILIES[fam] ?? 'other') : 'other';
  const address = values.get('laddr');
  const portText = values.get('lport');
  const port = portText !== undefined && /^\d{1,5}$/.test(portText) ? Number(portText) : undefined;
  const path = values.get('path');
  return {
    family,
    ...(address !== undefined && address !== '' && (family === 'inet' || family === 'inet6') ? { address } : {}),
    ...(port !== undefined && port <= 65535 ? { port } : {}),
    ...(path !== undefined && path !== '' && family === 'unix' ? { path } : {}),
  };
}
