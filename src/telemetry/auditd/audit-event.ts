// AuditRecord[] of one event key --> (audit-event) --> Observation | 'auditd-incomplete' | undefined
//
// The records of one syscall event (same log stream, node and `SECONDS.MILLIS:SERIAL`) are joined:
// SYSCALL carries the user and the process, SOCKADDR the destination, EXECVE / PROCTITLE the
// command line. They may arrive out of order, twice, or in different runs: without the SYSCALL a
// relevant event is 'auditd-incomplete' and a later run, re-reading the window, joins it.

import type { EndpointCatalogue, EndpointMatch } from '../../endpoints/endpoint-catalogue.js';
import { canonicalAddress } from '../../endpoints/ip-address.js';
import type { LogEvent } from '../log-event.js';
import type { Observation } from '../observation.js';
import type { AuditRecord } from './audit-record.js';
import { bytesToText, decodeAuditBytes, decodeAuditValue, isHexEncoded } from './hex.js';
import { decodeInterpretedSockaddr, decodeSockaddr, type Sockaddr } from './sockaddr.js';

/** A parsed record and the CloudWatch event it came from. */
export interface AuditRecordEvent {
  record: AuditRecord;
  event: LogEvent;
}

/** `uid`/`auid` value meaning "not set" ((u32)-1): daemons never started from a login. */
export const UNSET_ID = '4294967295';

const ARCH_X86_64 = 'x86_64';
const ARCH_AARCH64 = 'aarch64';

/** Syscalls that pass a destination sockaddr: connect, sendto, sendmsg (TCP Fast Open, UDP). */
const NETWORK_SYSCALLS: Record<string, ReadonlySet<number>> = {
  [ARCH_X86_64]: new Set([42, 44, 46]),
  [ARCH_AARCH64]: new Set([203, 206, 211]),
};
const NETWORK_SYSCALL_NAMES: ReadonlySet<string> = new Set(['connect', 'sendto', 'sendmsg']);

function archOf(raw: string | undefined): string | undefined {
  switch (raw?.toLowerCase()) {
    case 'c000003e':
    case 'x86_64':
      return ARCH_X86_64;
    case 'c00000b7':
    case 'aarch64':
      return ARCH_AARCH64;
    default:
      return undefined;
  }
}

/**
 * Whether the SYSCALL is one that sends to the sockaddr. Numbers are read for the known arches;
 * interpreted names (`syscall=connect`, ENRICHED `SYSCALL=connect`) by name; with an unknown arch
 * or no syscall field at all the syscall is accepted (the SOCKADDR match decides).
 */
export function isNetworkSyscall(record: AuditRecord): boolean {
  const raw = record.fields['syscall'];
  const arch = archOf(record.fields['arch']);
  if (raw !== undefined && /^\d{1,6}$/.test(raw)) {
    const table = arch === undefined ? undefined : NETWORK_SYSCALLS[arch];
    return table === undefined ? true : table.has(Number(raw));
  }
  const name = raw ?? record.enriched?.['SYSCALL'];
  if (name !== undefined && name !== '') return NETWORK_SYSCALL_NAMES.has(name.toLowerCase());
  return true;
}

/** The sockaddr of a SOCKADDR record: the binary hex first, the interpreted forms only without it. */
export function sockaddrOf(record: AuditRecord): Sockaddr | undefined {
  const raw = record.fields['saddr'];
  if (raw !== undefined) {
    const binary = decodeSockaddr(raw);
    if (binary) return binary;
  }
  const enriched = record.enriched?.['SADDR'];
  if (enriched !== undefined) {
    const interpreted = decodeInterpretedSockaddr(enriched);
    if (interpreted) return interpreted;
  }
  return raw === undefined ? undefined : decodeInterpretedSockaddr(raw);
}

/** A metadata destination in a SOCKADDR: inet/inet6, catalogue address, metadata port (80). */
function networkMatch(
  record: AuditRecord,
  catalogue: EndpointCatalogue,
): { match: EndpointMatch; address: string; port: number } | undefined {
  const sockaddr = sockaddrOf(record);
  if (!sockaddr || (sockaddr.family !== 'inet' && sockaddr.family !== 'inet6')) return undefined;
  const { address, port } = sockaddr;
  // A sockaddr always carries a port: never let a missing one pass as "any port".
  if (address === undefined || port === undefined) return undefined;
  const match = catalogue.matchAddress(address, port);
  return match && { match, address, port };
}

interface ArgParts {
  whole?: string;
  chunks: Map<number, string>;
}

/** `a0`, `a1_len`, `a1[0]` -> index and chunk; undefined for anything else (`argc`). */
function argKey(key: string): { index: number; chunk?: number; isLen?: true } | undefined {
  const m = /^a(\d{1,7})(?:\[(\d{1,7})\]|(_len))?$/.exec(key);
  if (!m) return undefined;
  const index = Number(m[1]);
  if (m[2] !== undefined) return { index, chunk: Number(m[2]) };
  if (m[3] !== undefined) return { index, isLen: true };
  return { index };
}

/**
 * Arguments of the EXECVE records of one event. Long arguments are split over several records as
 * `a1_len=N a1[0]=.. a1[1]=..`: the pieces are joined as bytes (a UTF-8 character may straddle
 * two) and decoded once. Missing arguments (a lost record) are left out.
 */
export function execveArgs(records: readonly AuditRecord[]): string[] | undefined {
  if (records.length === 0) return undefined;
  const parts = new Map<number, ArgParts>();
  for (const record of records) {
    for (const [key, raw] of Object.entries(record.fields)) {
      const parsed = argKey(key);
      if (!parsed || parsed.isLen) continue;
      let entry = parts.get(parsed.index);
      if (!entry) {
        entry = { chunks: new Map() };
        parts.set(parsed.index, entry);
      }
      if (parsed.chunk === undefined) entry.whole ??= raw;
      else if (!entry.chunks.has(parsed.chunk)) entry.chunks.set(parsed.chunk, raw);
    }
  }
  if (parts.size === 0) return undefined;
  const args: string[] = [];
  for (const index of [...parts.keys()].sort((a, b) => a - b)) {
    const entry = parts.get(index);
    if (!entry) continue;
    if (entry.whole !== undefined) {
      args.push(decodeAuditValue(entry.whole) ?? '');
      continue;
    }
    const pieces: Uint8Array[] = [];
    for (const chunk of [...entry.chunks.keys()].sort((a, b) => a - b)) {
      const bytes = decodeAuditBytes(entry.chunks.get(chunk), { forceHex: true });
      if (bytes) pieces.push(bytes);
    }
    args.push(bytesToText(Buffer.concat(pieces)));
  }
  return args;
}

/** argv from a PROCTITLE record: hex with NUL-separated arguments, or one quoted argument. */
export function proctitleArgs(record: AuditRecord | undefined): string[] | undefined {
  const raw = record?.fields['proctitle'];
  if (raw === undefined) return undefined;
  const text = decodeAuditValue(raw);
  if (text === undefined) return undefined;
  if (!isHexEncoded(raw)) return [text];
  const args = text.split('\0');
  while (args.length > 0 && args[args.length - 1] === '') args.pop();
  return args.length > 0 ? args : undefined;
}

/** Process name from the executable: its basename, without ` (deleted)` or a `;5f3a9c1d` upgrade suffix. */
export function processNameOf(executable: string): string | undefined {
  let name = executable.slice(executable.lastIndexOf('/') + 1);
  if (name.endsWith(' (deleted)')) name = name.slice(0, -' (deleted)'.length);
  name = name.replace(/;[0-9a-f]{8}$/i, '');
  return name === '' ? undefined : name;
}

/** The user of a SYSCALL record: ENRICHED `UID` name; else uid 0 -> `root`; else `uid:N`. */
export function userOf(record: AuditRecord): Observation['user'] {
  const raw = record.fields['uid'];
  const numeric = raw !== undefined && /^\d{1,10}$/.test(raw) ? raw : undefined;
  const enrichedName = record.enriched?.['UID'];
  const id = numeric === undefined ? {} : { id: numeric };
  if (enrichedName !== undefined && isUserName(enrichedName)) return { name: enrichedName, ...id };
  if (numeric === '0') return { name: 'root', ...id };
  if (numeric !== undefined) return { name: `uid:${numeric}`, ...id };
  // `ausearch -i`-style interpreted records print the name itself: `uid=vagrant`.
  const interpreted = raw === undefined ? undefined : decodeAuditValue(raw);
  if (interpreted !== undefined && isUserName(interpreted)) return { name: interpreted };
  return { name: 'uid:unknown' };
}

/** A real name, not auditd's placeholders for an id it could not resolve. */
function isUserName(name: string): boolean {
  return name !== '' && name !== 'unset' && name !== '?' && !/^\d+$/.test(name) && !/^unknown\(.*\)$/.test(name);
}

/** Earliest CloudWatch event first, then by event id: the outcome never depends on arrival order. */
function byArrival(a: AuditRecordEvent, b: AuditRecordEvent): number {
  if (a.event.timestamp !== b.event.timestamp) return a.event.timestamp - b.event.timestamp;
  return a.event.eventId < b.event.eventId ? -1 : a.event.eventId > b.event.eventId ? 1 : 0;
}

/**
 * Drops repeated records: the same CloudWatch event read twice, or the same record text shipped
 * twice under another event id (the earliest copy is kept).
 */
function dedupe(records: readonly AuditRecordEvent[]): AuditRecordEvent[] {
  const ids = new Set<string>();
  const contents = new Set<string>();
  const kept: AuditRecordEvent[] = [];
  for (const item of [...records].sort(byArrival)) {
    if (ids.has(item.event.eventId)) continue;
    ids.add(item.event.eventId);
    const content = `${item.record.type}\n${item.event.message.trimEnd()}`;
    if (contents.has(content)) continue;
    contents.add(content);
    kept.push(item);
  }
  return kept;
}

/**
 * Joins the records of one event key into an observation of a metadata call:
 * - network: a connect/sendto/sendmsg SYSCALL and a SOCKADDR (inet or inet6) whose address and
 *   port (80) match the catalogue; success is never required (non-blocking connects fail with
 *   EINPROGRESS);
 * - command line: a metadata URL in the EXECVE arguments or, without EXECVE, the PROCTITLE.
 * Returns 'auditd-incomplete' when a relevant record has no SYSCALL yet, undefined when the event
 * is not a metadata call. Never throws.
 */
export function auditEventToObservation(
  records: readonly AuditRecordEvent[],
  catalogue: EndpointCatalogue,
): Observation | 'auditd-incomplete' | undefined {
  try {
    return join(dedupe(records), catalogue);
  } catch {
    return undefined;
  }
}

function join(records: readonly AuditRecordEvent[], catalogue: EndpointCatalogue): Observation | 'auditd-incomplete' | undefined {
  const ofType = (type: string): AuditRecordEvent[] => records.filter((r) => r.record.type === type);
  // Records are in arrival order (dedupe sorted them): the first of a type is the earliest.
  const syscall = ofType('SYSCALL')[0];
  const execves = ofType('EXECVE');
  const proctitle = ofType('PROCTITLE')[0];

  let network: ReturnType<typeof networkMatch>;
  for (const { record } of ofType('SOCKADDR')) {
    network = networkMatch(record, catalogue);
    if (network) break;
  }
  // EXECVE holds the whole argv; PROCTITLE (128 bytes at most) only stands in without it.
  const args = execveArgs(execves.map((r) => r.record)) ?? proctitleArgs(proctitle?.record);
  let url: ReturnType<EndpointCatalogue['findUrl']>;
  for (const arg of args ?? []) {
    url = catalogue.findUrl(arg);
    if (url) break;
  }

  if (!network && !url) return undefined;
  if (!syscall) return 'auditd-incomplete';

  const { record, event } = syscall;
  const viaNetwork = network !== undefined && isNetworkSyscall(record);
  if (!viaNetwork && !url) return undefined;

  const executable = decodeAuditValue(record.fields['exe']);
  const name = (executable === undefined ? undefined : processNameOf(executable)) ?? decodeAuditValue(record.fields['comm']);
  const pidText = record.fields['pid'];
  const pid = pidText !== undefined && /^\d{1,10}$/.test(pidText) ? Number(pidText) : undefined;

  let destination: Observation['destination'];
  if (viaNetwork && network) {
    destination = {
      endpoint: network.match.endpoint,
      provider: network.match.provider,
      address: network.address,
      port: network.port,
      ...(url && url.endpoint === network.match.endpoint ? { url: url.url } : {}),
    };
  } else if (url) {
    const isAddress = canonicalAddress(url.endpoint) !== undefined;
    destination = {
      endpoint: url.endpoint,
      provider: url.provider,
      ...(isAddress ? { address: url.endpoint } : { domain: url.endpoint }),
      ...(url.port === undefined ? {} : { port: url.port }),
      url: url.url,
    };
  } else {
    return undefined;
  }

  return {
    time: record.time,
    host: record.node !== '' ? record.node : event.logStream,
    user: userOf(record),
    process: {
      ...(name === undefined ? {} : { name }),
      ...(executable === undefined ? {} : { executable }),
      ...(args === undefined ? {} : { args }),
      ...(pid === undefined ? {} : { pid }),
    },
    destination,
    via: viaNetwork ? 'network' : 'command-line',
    format: records.some((r) => r.record.enriched !== undefined) ? 'auditd-enriched' : 'auditd',
    source: { logGroup: event.logGroup, logStream: event.logStream, eventId: event.eventId },
  };
}
