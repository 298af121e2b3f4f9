// LogEvent (JSON message) --> (ecsToObservation) --> Observation
//
// ECS documents from Elastic Defend (network and process events), Auditbeat and Auditd Manager,
// and the go-libaudit "aucoalesce" events Auditbeat is built on. Fields may be nested objects or
// dotted keys (`"destination.ip": ...`), or a mix of both.
//
// A document is a metadata call when:
// - network: `destination.ip` / `destination.address` / `destination.domain` (or an auditd
//   connect's socket address) is a catalogue endpoint on port 80 or an unknown port;
// - DNS: `dns.question.name` is a metadata hostname;
// - HTTP: `url.full` / `url.original` / `url.domain` names a metadata endpoint;
// - command line: `process.args` / `process.command_line` / `process.title` holds a metadata URL
//   (a bare address only counts for a network client such as curl or nc: `iptables -d
//   169.254.169.254/32 -j DROP` hardens a host, it does not call the service).
// Not calls: inbound connections (the metadata address is then the source), connection ends
// (Defend's `disconnect_received` repeats its `connection_attempted`), process `end` events
// (the exec was the evidence), and documents from Windows or macOS hosts: this detector is for
// Linux, and Elastic's rule only reads Linux hosts too.

import type { EndpointCatalogue, EndpointMatch } from '../../endpoints/endpoint-catalogue.js';
import { parseTimestamp } from '../envelope/read-log-events.js';
import type { LogEvent, SkipReason } from '../log-event.js';
import type { Observation } from '../observation.js';

type Doc = Record<string, unknown>;

function isRecord(value: unknown): value is Doc {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The value at an ECS field path, whether the document nests it (`{destination: {ip}}`), dots it
 * (`{"destination.ip": ...}`) or mixes both (`{destination: {"geo.name": ...}}`).
 */
export function ecsField(doc: unknown, path: string): unknown {
  return lookup(doc, path.split('.'), 0);
}

function lookup(value: unknown, parts: readonly string[], from: number): unknown {
  if (from === parts.length) return value;
  if (!isRecord(value)) return undefined;
  // Longest dotted key first: `{"destination.ip": x}` before `{destination: {ip: x}}`.
  for (let to = parts.length; to > from; to--) {
    const key = to === from + 1 ? (parts[from] ?? '') : parts.slice(from, to).join('.');
    if (!Object.hasOwn(value, key)) continue;
    const found = lookup(value[key], parts, to);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Top-level ECS field sets (and go-libaudit's `summary`) that mark a document as ECS-like. */
const ECS_ROOTS = ['event', 'ecs', 'agent', 'host', 'process', 'destination', 'source', 'network', 'user', 'dns', 'url', 'auditd', 'summary'];

/** True for a JSON object that has `@timestamp` or any ECS field set, nested or dotted. */
export function looksLikeEcs(doc: unknown): doc is Doc {
  if (!isRecord(doc)) return false;
  if (Object.hasOwn(doc, '@timestamp')) return true;
  for (const key of Object.keys(doc)) {
    const dot = key.indexOf('.');
    const root = dot < 0 ? key : key.slice(0, dot);
    if (!ECS_ROOTS.includes(root)) continue;
    if (dot >= 0 || isRecord(doc[key])) return true;
  }
  return false;
}

/**
 * One ECS document as an observation of a metadata call.
 *
 * @returns the observation; undefined for a usable document that is not a metadata call (or is
 * from a Windows/macOS host); a SkipReason when the document cannot be used: `unknown-shape` when
 * it is not an ECS object, or a call without any user or usable time; `bad-timestamp` when its
 * `@timestamp` (or `event.created`) does not parse.
 * @example
 * const result = ecsToObservation(JSON.parse(event.message), event, createEndpointCatalogue());
 * if (typeof result === 'string') countSkip(skipped, result);
 * else if (result) observations.push(result);
 */
export function ecsToObservation(doc: unknown, event: LogEvent, catalogue: EndpointCatalogue): Observation | SkipReason | undefined {
  if (!looksLikeEcs(doc)) return 'unknown-shape';
  if (fromOtherOs(doc)) return undefined;
  const action = lowerString(ecsField(doc, 'event.action')) ?? lowerString(ecsField(doc, 'summary.action'));
  if (action !== undefined && IGNORED_ACTIONS.has(action)) return undefined;
  const direction = lowerString(ecsField(doc, 'network.direction'));
  if (direction !== undefined && INBOUND.has(direction)) return undefined;

  const process = processOf(doc);
  const target = networkTarget(doc, catalogue, action) ?? urlTarget(doc, catalogue) ?? commandLineTarget(doc, process, catalogue);
  if (target === undefined) return undefined;

  const time = timeOf(doc, event);
  if (typeof time === 'string') return time;
  const user = userOf(doc);
  if (user === undefined) return 'unknown-shape';

  return {
    time,
    host: hostOf(doc) ?? event.logStream,
    user,
    process,
    destination: target.destination,
    via: target.via,
    format: 'ecs',
    source: { logGroup: event.logGroup, logStream: event.logStream, eventId: event.eventId },
  };
}

// ---------------------------------------------------------------------------------------------
// Which documents are skipped whole

/** Actions that are not a call: inbound connections, connection ends, process ends. */
const IGNORED_ACTIONS = new Set([
  'connection_accepted', // Elastic Defend
  'accepted-connection-from', // Auditbeat / go-libaudit
  'disconnect_received', // Elastic Defend: the end of a connection_attempted already seen
  'end', // Elastic Defend process end: the exec was the evidence
]);

const INBOUND = new Set(['ingress', 'inbound', 'incoming']);

const OTHER_OS = new Set(['windows', 'macos', 'darwin', 'mac os x', 'osx']);

/** `host.os.type` / `family` / `platform` names Windows or macOS. */
function fromOtherOs(doc: Doc): boolean {
  for (const field of ['host.os.type', 'host.os.family', 'host.os.platform']) {
    const value = lowerString(ecsField(doc, field));
    if (value !== undefined && OTHER_OS.has(value)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Evidence

interface Target {
  destination: Observation['destination'];
  via: Observation['via'];
}

/** Connect-like auditd syscalls and actions whose socket address is the remote end. */
const CONNECT_ACTIONS = new Set(['connected-to', 'sent-to']);
const CONNECT_SYSCALLS = new Set(['connect', 'sendto', 'sendmsg', 'sendmmsg']);

function networkTarget(doc: Doc, catalogue: EndpointCatalogue, action: string | undefined): Target | undefined {
  const port = portOf(ecsField(doc, 'destination.port'));
  const ip = nonEmptyString(ecsField(doc, 'destination.ip'));
  if (ip !== undefined) {
    const match = catalogue.matchAddress(ip, port);
    if (match) return network(match, { address: ip, port });
  }
  const address = nonEmptyString(ecsField(doc, 'destination.address'));
  if (address !== undefined) {
    const match = catalogue.matchHost(address, port);
    if (match) return network(match, catalogue.matchAddress(address) ? { address, port } : { domain: address, port });
  }
  const domain = nonEmptyString(ecsField(doc, 'destination.domain'));
  if (domain !== undefined) {
    const match = catalogue.matchHost(domain, port);
    if (match) return network(match, { domain, port });
  }

  const syscall = lowerString(ecsField(doc, 'auditd.data.syscall')) ?? lowerString(ecsField(doc, 'data.syscall'));
  if ((action !== undefined && CONNECT_ACTIONS.has(action)) || (syscall !== undefined && CONNECT_SYSCALLS.has(syscall))) {
    const socketAddress =
      nonEmptyString(ecsField(doc, 'auditd.data.socket.addr')) ??
      nonEmptyString(ecsField(doc, 'auditd.data.socket_addr')) ??
      nonEmptyString(ecsField(doc, 'data.socket_addr'));
    if (socketAddress !== undefined) {
      const socketPort = portOf(
        ecsField(doc, 'auditd.data.socket.port') ?? ecsField(doc, 'auditd.data.socket_port') ?? ecsField(doc, 'data.socket_port'),
      );
      const match = catalogue.matchAddress(socketAddress, socketPort);
      if (match) return network(match, { address: socketAddress, port: socketPort });
    }
  }

  // A DNS question: its destination port is the resolver's (53), not the service's.
  const question = nonEmptyString(ecsField(doc, 'dns.question.name'));
  if (question !== undefined) {
    const match = catalogue.matchHost(question);
    if (match) return network(match, { domain: question });
  }
  return undefined;
}

/** `url.*` of an observed HTTP request (network telemetry, not a command line). */
function urlTarget(doc: Doc, catalogue: EndpointCatalogue): Target | undefined {
  for (const field of ['url.full', 'url.original']) {
    const text = nonEmptyString(ecsField(doc, field));
    const found = text === undefined ? undefined : catalogue.findUrl(text);
    if (found) return network(found, { url: found.url, port: found.port });
  }
  const domain = nonEmptyString(ecsField(doc, 'url.domain'));
  if (domain !== undefined) {
    const port = portOf(ecsField(doc, 'url.port'));
    const match = catalogue.matchHost(domain, port);
    if (match) return network(match, { domain, port });
  }
  return undefined;
}

function network(match: EndpointMatch, found: { address?: string; domain?: string; port?: number | undefined; url?: string }): Target {
  return { destination: destination(match, found), via: 'network' };
}

function destination(
  match: EndpointMatch,
  found: { address?: string; domain?: string; port?: number | undefined; url?: string },
): Observation['destination'] {
  return {
    endpoint: match.endpoint,
    provider: match.provider,
    ...(found.address === undefined ? {} : { address: found.address }),
    ...(found.domain === undefined ? {} : { domain: found.domain }),
    ...(found.port === undefined ? {} : { port: found.port }),
    ...(found.url === undefined ? {} : { url: found.url }),
  };
}

function commandLineTarget(doc: Doc, process: Observation['process'], catalogue: EndpointCatalogue): Target | undefined {
  const texts: string[] = [...(process.args ?? [])];
  const commandLine = nonEmptyString(ecsField(doc, 'process.command_line'));
  if (commandLine !== undefined) texts.push(commandLine);
  const title = nonEmptyString(ecsField(doc, 'process.title'));
  if (title !== undefined) texts.push(title);
  const client = isNetworkClient(process);
  for (const text of texts) {
    const found = catalogue.findUrl(text);
    if (found && (client || isUrl(found.url, found.port))) {
      return { destination: destination(found, { url: found.url, port: found.port }), via: 'command-line' };
    }
  }
  return undefined;
}

/**
 * A URL, not a bare address: a scheme, a port, or a path (`169.254.169.254/latest/...`) that is
 * not a CIDR prefix length (`169.254.169.254/32` in a firewall rule).
 */
function isUrl(token: string, port: number | undefined): boolean {
  if (token.includes('://') || port !== undefined) return true;
  const rest = token.startsWith('//') ? token.slice(2) : token;
  const slash = rest.indexOf('/');
  if (slash < 0) return false;
  const path = rest.slice(slash + 1);
  return !(path.length > 0 && path.length <= 3 && isDigits(path));
}

/** Programs that make a request to a bare host argument (`curl 169.254.169.254`, `nc 169.254.169.254 80`). */
const NETWORK_CLIENTS = new Set([
  'curl', 'wget', 'nc', 'ncat', 'netcat', 'socat', 'telnet', 'http', 'https', 'xh', 'aria2c', 'lynx', 'links',
  'w3m', 'lwp-request', 'get', 'busybox', 'python', 'perl', 'ruby', 'php', 'node', 'aws', 'gcloud', 'az',
  'pwsh', 'powershell', 'openssl',
]); // prettier-ignore

function isNetworkClient(process: Observation['process']): boolean {
  for (const candidate of [process.name, process.executable, process.args?.[0]]) {
    if (candidate === undefined) continue;
    const base = candidate.slice(candidate.lastIndexOf('/') + 1).toLowerCase();
    // `python3.11`, `php8.2`: the version suffix does not change the program.
    let end = base.length;
    while (end > 0 && (isDigitCode(base.charCodeAt(end - 1)) || base.charCodeAt(end - 1) === 0x2e)) end--;
    if (NETWORK_CLIENTS.has(base) || NETWORK_CLIENTS.has(base.slice(0, end))) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Who, where, what, when

/** A uid that means "no user": auditd's unset (u32)-1. */
const UNSET_IDS = new Set(['unset', '4294967295', '-1']);

function userOf(doc: Doc): Observation['user'] | undefined {
  const id = firstId(doc, ['user.id', 'user.uid', 'user.ids.uid']);
  const name = firstName(doc, ['user.name', 'user.name_map.uid']);
  if (name !== undefined) return id === undefined ? { name } : { name, id };
  if (id !== undefined) return { name: uidName(id), id };
  // Last resort: the login (audit) user, which survives sudo and su.
  const auditName = firstName(doc, ['user.audit.name', 'user.name_map.auid']);
  const auditId = firstId(doc, ['user.audit.id', 'user.auid', 'user.ids.auid']);
  if (auditName !== undefined) return auditId === undefined ? { name: auditName } : { name: auditName, id: auditId };
  if (auditId !== undefined) return { name: uidName(auditId), id: auditId };
  return undefined;
}

const uidName = (id: string): string => (id === '0' ? 'root' : `uid:${id}`);

function firstId(doc: Doc, fields: readonly string[]): string | undefined {
  for (const field of fields) {
    const value = ecsField(doc, field);
    const text = typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? String(value) : nonEmptyString(value);
    if (text !== undefined && !UNSET_IDS.has(text)) return text;
  }
  return undefined;
}

function firstName(doc: Doc, fields: readonly string[]): string | undefined {
  for (const field of fields) {
    const text = nonEmptyString(ecsField(doc, field));
    if (text !== undefined && !UNSET_IDS.has(text)) return text;
  }
  return undefined;
}

function hostOf(doc: Doc): string | undefined {
  for (const field of ['host.name', 'host.hostname', 'agent.hostname']) {
    const value = ecsField(doc, field);
    const text = nonEmptyString(Array.isArray(value) ? value.find((v) => typeof v === 'string' && v !== '') : value);
    if (text !== undefined) return text;
  }
  return undefined;
}

function processOf(doc: Doc): Observation['process'] {
  const name = nonEmptyString(ecsField(doc, 'process.name'));
  const executable = nonEmptyString(ecsField(doc, 'process.executable')) ?? nonEmptyString(ecsField(doc, 'process.exe'));
  const pid = pidOf(ecsField(doc, 'process.pid'));
  const rawArgs = ecsField(doc, 'process.args');
  let args = Array.isArray(rawArgs) ? rawArgs.filter((a): a is string => typeof a === 'string') : undefined;
  if (args === undefined || args.length === 0) {
    const line = nonEmptyString(typeof rawArgs === 'string' ? rawArgs : ecsField(doc, 'process.command_line'));
    args = line === undefined ? undefined : splitCommandLine(line);
  }
  return {
    ...(name === undefined ? {} : { name }),
    ...(executable === undefined ? {} : { executable }),
    ...(args === undefined || args.length === 0 ? {} : { args }),
    ...(pid === undefined ? {} : { pid }),
  };
}

/**
 * `@timestamp` (ISO string or epoch ms), else `event.created`, else the CloudWatch event's time.
 * The first time field the document has decides: if it does not parse, the document is skipped.
 */
function timeOf(doc: Doc, event: LogEvent): number | SkipReason {
  for (const field of ['@timestamp', 'event.created']) {
    const value = ecsField(doc, field);
    if (value === undefined || value === null) continue;
    return parseTimestamp(value) ?? 'bad-timestamp';
  }
  return parseTimestamp(event.timestamp) ?? 'unknown-shape';
}

// ---------------------------------------------------------------------------------------------
// Small value helpers

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function lowerString(value: unknown): string | undefined {
  const text = nonEmptyString(value);
  return text === undefined ? undefined : text.trim().toLowerCase();
}

const isDigitCode = (c: number): boolean => c >= 48 && c <= 57;

function isDigits(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) if (!isDigitCode(text.charCodeAt(i))) return false;
  return true;
}

/** A port as a number or a numeric string (go-libaudit writes `"80"`); undefined when unknown or invalid. */
function portOf(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.length <= 5 && isDigits(value) ? Number(value) : NaN;
  return Number.isInteger(n) && n >= 0 && n <= 65_535 ? n : undefined;
}

function pidOf(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.length <= 10 && isDigits(value) ? Number(value) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** Shell-like split: whitespace separates, single and double quotes group, backslash escapes. */
export function splitCommandLine(line: string): string[] {
  const args: string[] = [];
  let current = '';
  let inArg = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] ?? '';
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else current += c;
    } else if (c === '\\' && i + 1 < line.length && (quote === undefined || '"\\$`'.includes(line[i + 1] ?? ''))) {
      current += line[++i] ?? '';
      inArg = true;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else current += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inArg = true;
    } else if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inArg) args.push(current);
      current = '';
      inArg = false;
    } else {
      current += c;
      inArg = true;
    }
  }
  if (inArg) args.push(current);
  return args;
}
