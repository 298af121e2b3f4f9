// endpoint catalogue + bucket --> (activity query) --> the Logs Insights query text of a run
//
// One query reads both formats in one scan (Insights bills per GB scanned, per query):
// - raw auditd: records of one event share `msg=audit(SECONDS.MILLIS:SERIAL)` in one stream. A first
//   `stats` joins them per (group, stream, node, audit id): the SOCKADDR carries the address (its
//   binary `saddr` hex: family, port 80, catalogue address), the SYSCALL the uid (and, ENRICHED,
//   the UID name after the 0x1D byte) and the syscall, EXECVE/PROCTITLE a metadata URL;
// - ECS JSON: Insights discovers the document's fields (destination.ip, user.name, host.name...);
//   each document is its own "event" (keyed by @ptr).
// A second `stats` counts the matching events by (group, stream, host, bucket, raw user fields).
// Users are named client-side from those raw fields (./activity-rows.ts), never in the query.
//
// Checked against the documentation only (no machine here reaches AWS): see INSIGHTS.md for
// what is unverified and where the query is coarser than the normalizers.

import type { EndpointCatalogue } from '../../endpoints/endpoint-catalogue.js';
import { embeddedIPv4, parseIPv4, parseIPv6 } from '../../endpoints/ip-address.js';

const hex = (bytes: Uint8Array): string => [...bytes].map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join('');
const textHex = (text: string): string => hex(new TextEncoder().encode(text));

/** Escapes a literal for an Insights regular expression between slashes. */
export function regexLiteral(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, (c) => `\\${c}`);
}

/**
 * Hex prefixes of a binary `saddr` that connects to `address` on port 80, as auditd writes a
 * sockaddr_in (family 0200, port 0050, address) or a sockaddr_in6 (family 0A00, port 0050,
 * 8 hex digits of flow info, address); an IPv4 address also as its IPv4-mapped IPv6 form.
 * Each is a regular-expression fragment (the flow info is any 8 hex digits).
 */
export function sockaddrPatterns(address: string): string[] {
  const v4 = parseIPv4(address);
  if (v4) return [`02000050${hex(v4)}`, `0A000050[0-9A-F]{8}00000000000000000000FFFF${hex(v4)}`];
  const v6 = parseIPv6(address);
  if (!v6) return [];
  const mapped = embeddedIPv4(v6);
  return mapped ? [`02000050${hex(mapped)}`, `0A000050[0-9A-F]{8}${hex(v6)}`] : [`0A000050[0-9A-F]{8}${hex(v6)}`];
}

export interface ActivityQueryOptions {
  catalogue: EndpointCatalogue;
  bucketMs: number;
}

/** Fields of the ECS part: the first present one wins (as ecs-document.ts reads them). */
const ECS = {
  user: ['user.name', 'user.name_map.uid'],
  uid: ['user.id', 'user.uid', 'user.ids.uid'],
  auditUser: ['user.audit.name', 'user.name_map.auid'],
  auditUid: ['user.audit.id', 'user.auid', 'user.ids.auid'],
  host: ['host.name', 'host.hostname', 'agent.hostname'],
} as const;

const coalesce = (fields: readonly string[]): string => (fields.length === 1 ? (fields[0] as string) : `coalesce(${fields.join(', ')})`);
const quoted = (values: readonly string[]): string => values.map((v) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`).join(', ');

/**
 * The Logs Insights query of a run: one row per (log group, stream, host, bucket, raw user) with
 * `calls`, `first` and `last` (ms). Field names are ROW_FIELDS of ./activity-rows.ts.
 *
 * @example
 * const query = buildActivityQuery({ catalogue: createEndpointCatalogue(), bucketMs: 900_000 });
 */
export function buildActivityQuery(options: ActivityQueryOptions): string {
  const { catalogue, bucketMs } = options;
  if (!(Number.isInteger(bucketMs) && bucketMs >= 60_000 && bucketMs % 1000 === 0)) throw new RangeError(`bucketMs must be whole seconds >= 1 min, got ${bucketMs}`);
  const addresses = catalogue.entries.map((e) => e.endpoint).filter((e) => parseIPv4(e) || parseIPv6(e));
  const hostnames = catalogue.entries.map((e) => e.endpoint).filter((e) => !parseIPv4(e) && !parseIPv6(e));
  const saddr = [...new Set(addresses.flatMap(sockaddrPatterns))];
  // A metadata URL on a command line: plain (`http://169.254.169.254/...`, `http://[fd00:ec2::254]/`)
  // or hex-encoded, as auditd writes EXECVE arguments and PROCTITLE with spaces or quotes.
  const urlHosts = catalogue.entries.map((e) => (parseIPv6(e.endpoint) ? `[${e.endpoint}]` : e.endpoint));
  const plainUrl = urlHosts.map((h) => regexLiteral(`://${h}`));
  const hexUrl = urlHosts.map((h) => textHex(`://${h}`));
  const urlAlternation = [...plainUrl, ...hexUrl].join('|');
  const bucketSeconds = bucketMs / 1000;

  return [
    `# imds-watch: metadata calls by log group, stream, host, ${bucketSeconds / 60}-minute bucket and user`,
    // The record's own time (audit id seconds and millis), else the event time: as the normalizers.
    `parse @message /msg=audit\\((?<aSec>\\d+)\\.(?<aMs>\\d+):(?<aSerial>\\d+)\\)/`,
    `| parse @message /^node=(?<aNode>\\S+) type=/`,
    `| parse @message /type=SYSCALL .*? syscall=(?<aSys>connect|sendto|sendmsg|42|44|46|203|206|211)\\b/`,
    `| parse @message /type=SYSCALL .*? uid=(?<aUid>\\d+)/`,
    `| parse @message /type=SYSCALL .*\\x1d.*?\\bUID="?(?<aUidName>[^"\\s]+)/`,
    `| parse @message /type=SOCKADDR .*?saddr=(?<aNet>(?i)(${saddr.join('|')}))/`,
    `| parse @message /type=(EXECVE|PROCTITLE) .*?(?<aCmd>(?i)(${urlAlternation}))/`,
    `| parse @message /^\\s*(?<eDoc>\\{)/`,
    // ECS documents: a connection to a catalogue address (port 80 or none), a catalogue host
    // name, or a metadata URL in the command line; not inbound, not a connection end, not Windows/macOS.
    `| filter ispresent(aSec) or (ispresent(eDoc)` +
      ` and ((destination.ip in [${quoted(addresses)}] and (not ispresent(destination.port) or destination.port = 80))` +
      ` or destination.domain in [${quoted(hostnames)}]` +
      ` or process.command_line like /(?i)(${plainUrl.join('|')})/` +
      ` or url.full like /(?i)(${plainUrl.join('|')})/)` +
      ` and not event.action in ['connection_accepted', 'accepted-connection-from', 'disconnect_received', 'end']` +
      ` and not network.direction in ['ingress', 'inbound', 'incoming']` +
      ` and not host.os.type in ['windows', 'macos'])`,
    `| fields coalesce(aSec * 1000 + aMs, toMillis(@timestamp)) as t, coalesce(aSerial, @ptr) as k`,
    `| fields floor(t / ${bucketMs}) * ${bucketMs} as bucket`,
    `| fields ${coalesce(ECS.user)} as eUser, ${coalesce(ECS.uid)} as eUid, ${coalesce(ECS.auditUser)} as eAuser, ${coalesce(ECS.auditUid)} as eAuid, ${coalesce(ECS.host)} as eHost`,
    // Stage 1: one row per event (auditd: the records of one audit id; ECS: one document).
    `| stats count(aNet) as net, count(aSys) as sys, count(aCmd) as cmd, count(eDoc) as ecs, max(aUid) as uid,` +
      ` latest(aUidName) as uidName, latest(eUser) as eUser1, latest(eUid) as eUid1, latest(eAuser) as eAuser1,` +
      ` latest(eAuid) as eAuid1, latest(eHost) as eHost1, min(t) as t0, max(t) as t1` +
      ` by @log as lg, @logStream as ls, aNode, aSec, aMs, k, bucket`,
    // An auditd event counts when its SYSCALL is there (the user) and it connected to a
    // metadata address or ran a metadata URL; records without their SYSCALL are left out, as
    // the normalizer counts them 'auditd-incomplete'.
    `| filter ecs > 0 or (ispresent(uid) and ((net > 0 and sys > 0) or cmd > 0))`,
    `| fields coalesce(eHost1, aNode) as hostKey, coalesce(eUser1, uidName) as uname, coalesce(eUid1, uid) as uidv`,
    // Stage 2: by user, host and bucket (and the stream, for the evidence read).
    `| stats count(*) as calls, min(t0) as first, max(t1) as last by lg, ls, ecs, hostKey, bucket, uname, uidv, eAuser1 as auname, eAuid1 as auid`,
  ].join('\n');
}
