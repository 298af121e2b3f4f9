// FleetSpec --> simulateFleet --> SimulatedEvent (CloudWatch Logs events, time-ordered, streamed)
//
// A deterministic simulator of a small EC2 fleet's host telemetry as the CloudWatch agent ships
// it: raw auditd (plain and ENRICHED, one CloudWatch event per audit record), Elastic Defend ECS
// documents and Auditbeat ECS documents. Ordinary metadata callers (SSM agent, CloudWatch agent,
// an application's AWS SDK, a person's AWS CLI) and ordinary non-metadata traffic (DNS and NTP to
// Amazon's link-local look-alikes, database, loopback, AWS API endpoints, admin commands, cron)
// run on every host with jitter; attacks are injected at given times and labelled.
//
// Pure: the output is a function of the spec alone (seeded PRNG, no clock, no I/O). Streaming: the
// fleet is generated per 5-minute slice and only a slice's worth of events is held in memory.
// Formats follow the real records in ../shared/corpus (see FORMAT_NOTES.md there).

import type { LogEvent } from '../telemetry/log-event.js';
import { attackSteps, type AttackKind, type AttackStep } from './attack-timeline.js';
import { derivePrng, hash32, mix32, type Prng } from './prng.js';
import { linesPerCall, workloadRuns, type ScheduleDestination, type ScheduledRun, type WorkloadKind, type WorkloadSpec } from './workload-schedule.js';

export type { AttackKind } from './attack-timeline.js';
export type { WorkloadKind, WorkloadSpec } from './workload-schedule.js';

// ---------------------------------------------------------------------------------------------
// Public types

export type HostFormat = 'auditd' | 'auditd-enriched' | 'ecs-defend' | 'auditbeat';

export interface HostSpec {
  /** Host name, e.g. `ip-10-0-1-12` (the private IP is taken from it when it has that shape). */
  name: string;
  /** EC2 instance id; it is the CloudWatch log stream name, e.g. `i-0a1b2c3d4e5f60001`. */
  instanceId: string;
  format: HostFormat;
  logGroup: string;
  /**
   * auditd formats only: prefix every record with `node=<name> ` (auditd.conf `name_format = hostname`),
   * so the record names its host; without it the host is known only by its log stream.
   */
  auditdNode?: boolean;
  /**
   * Scale fleets: the host's metadata callers. Absent: the sample's fixed callers on every host
   * (SSM agent, CloudWatch agent, the app's SDK, alice's daily AWS CLI).
   */
  workloads?: WorkloadSpec[];
}

export interface AttackSpec {
  /** When the attack starts, ms since the epoch (audit time of its first record). */
  at: number;
  /** Host name (HostSpec.name). */
  host: string;
  user: string;
  uid: number;
  kind: AttackKind;
  /** Label carried by every event of the attack; defaults to `attackLabel(spec)`. */
  label?: string;
  /** The scenario it stands for in the ground truth (`GroundTruthLabel.kind`); defaults to `kind`. */
  scenario?: string;
}

export interface FleetSpec {
  seed: number;
  /** Start of the simulated period, ms since the epoch. */
  start: number;
  days: number;
  hosts: HostSpec[];
  attacks: AttackSpec[];
  /**
   * Ordinary non-metadata activities per hour on each host (Poisson): connects to DNS/NTP look-alikes,
   * databases, loopback and AWS endpoints, admin commands, cron jobs. Each is one syscall event
   * (two for an admin command run through sudo; see NOISE_EVENTS_PER_ACTIVITY).
   */
  noisePerHourPerHost: number;
  /**
   * Hosts with `workloads` only: the share of all CloudWatch events that are not metadata traffic, in
   * [0, 1). Their noise rate is derived from it (and `noisePerHourPerHost` ignored); at 0 they also
   * leave out the callers' own non-metadata syscalls (the CLI's exec, its S3 connect).
   */
  nonMetadataShare?: number;
}

export interface SimulatedEvent {
  event: LogEvent;
  label?: { attack: string };
}

// ---------------------------------------------------------------------------------------------
// Public constants

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Bump when the generated output changes for the same spec (invalidates cached samples). */
export const SIMULATOR_VERSION = 1;

/** Events are generated and sorted per slice of this length. */
export const SLICE_MS = 5 * MINUTE;

/** The ordinary metadata callers' rhythm on every host (tests derive expected volumes from it). */
export const ORDINARY_SCHEDULE = {
  /** root: ssm-agent-worker connects to IMDS every ~5 minutes... */
  ssmIntervalMs: 5 * MINUTE,
  /** ...and amazon-ssm-agent itself joins in on this share of the ticks... */
  ssmCoreAgentShare: 0.25,
  /** ...and this share of ticks is missed altogether. */
  ssmMissedShare: 0.01,
  /** cwagent: the CloudWatch agent, one connect every ~10 minutes. */
  cwagentIntervalMs: 10 * MINUTE,
  /** app: the AWS SDK refreshes credentials hourly (IMDSv2 token PUT + credentials GET = 2 connects). */
  sdkIntervalMs: HOUR,
  sdkConnectsPerRefresh: 2,
  /** alice: `aws s3 ls` once a day between these UTC hours; 1 exec + 2 IMDS connects + 1 S3 connect. */
  cliRunsPerDay: 1,
  cliFirstHourUtc: 8,
  cliLastHourUtc: 18,
  cliImdsConnectsPerRun: 2,
  cliSyscallEventsPerRun: 4,
} as const;

/** What the ordinary non-metadata traffic is made of (weights; one activity per noise tick). */
export const NOISE_MIX = [
  [0.2, 'dns'], // systemd-resolved -> 169.254.169.253:53 (Amazon DNS, a look-alike)
  [0.06, 'ntp'], // chronyd -> 169.254.169.123:123 (Amazon Time Sync, a look-alike)
  [0.13, 'app-db'], // app -> 10.0.3.x:5432
  [0.07, 'app-redis'], // app -> 127.0.0.1:6379
  [0.1, 'nginx-upstream'], // www-data (nginx) -> 127.0.0.1:3000
  [0.05, 'php-mysql'], // www-data (php-fpm) -> 10.0.3.x:3306
  [0.07, 'ssm-endpoint'], // root (ssm-agent-worker) -> 52.94.x.x:443
  [0.07, 'cw-endpoint'], // cwagent -> 52.46.x.x:443
  [0.15, 'admin-exec'], // alice runs ls, grep, systemctl status... (some through sudo)
  [0.1, 'cron'], // root cron job: /bin/sh -c ...
] as const satisfies readonly (readonly [number, string])[];

/** Share of admin commands run through sudo (two exec events: sudo, then the command). */
const SUDO_SHARE = 0.3;

/** Syscall events (auditd events, ECS documents) per noise activity, on average. */
export const NOISE_EVENTS_PER_ACTIVITY = 1 + 0.15 * SUDO_SHARE;

/** CloudWatch events per noise activity, on average (raw auditd writes several records per syscall). */
export function noiseLinesPerActivity(auditd: boolean): number {
  let lines = 0;
  for (const [weight, kind] of NOISE_MIX) {
    if (kind === 'admin-exec') lines += weight * (1 + SUDO_SHARE) * linesPerCall('exec', auditd);
    else if (kind === 'cron') lines += weight * linesPerCall('exec', auditd);
    else lines += weight * linesPerCall('connect', auditd);
  }
  let total = 0;
  for (const [weight] of NOISE_MIX) total += weight;
  return lines / total;
}

/** Read delay of the CloudWatch agent: `timestamp` = audit time + 0..5 s. */
export const READ_DELAY_MAX_MS = 5 * SECOND;
/** Ingestion delay: `ingestionTime` = `timestamp` + 1..30 s, or 20..25 min for a small share. */
export const INGEST_DELAY_MS = { min: SECOND, max: 30 * SECOND, lateShare: 0.01, lateMin: 20 * MINUTE, lateMax: 25 * MINUTE } as const;
/** Share of auditd events whose records are written out of order. */
export const OUT_OF_ORDER_SHARE = 0.02;

export const IMDS_IPV4 = '169.254.169.254';
export const IMDS_IPV6 = 'fd00:ec2::254';
export const AMAZON_DNS = '169.254.169.253';
export const AMAZON_TIME_SYNC = '169.254.169.123';
/** The ECS task-credentials endpoint (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` is relative to it). */
export const ECS_CREDENTIALS = '169.254.170.2';

/** The sample attack's label. */
export const SAMPLE_ATTACK_LABEL = 'www-data-curl-imds';

const KIND_SLUG: Record<AttackKind, string> = {
  'curl-credentials': 'curl-imds',
  'python-ipv6': 'python-imds-ipv6',
  'wget-gcp': 'wget-gcp-metadata',
  'curl-ecs-credentials': 'curl-ecs-credentials',
};

/** The label an attack's events carry: its own `label`, else `<user>-<what it does>`. */
export function attackLabel(attack: AttackSpec): string {
  return attack.label ?? `${attack.user}-${KIND_SLUG[attack.kind]}`;
}

/** The README sample: 4 hosts (raw auditd, ENRICHED auditd, Elastic Defend, Auditbeat), 4 days, one attack. */
export function defaultSampleSpec(): FleetSpec {
  return {
    seed: 1552005,
    start: Date.UTC(2026, 10, 2, 0, 0, 0),
    days: 4,
    hosts: [
      { name: 'ip-10-0-1-11', instanceId: 'i-0a1b2c3d4e5f60001', format: 'auditd', logGroup: '/imds-watch/sample/auditd' },
      { name: 'ip-10-0-1-12', instanceId: 'i-0a1b2c3d4e5f60002', format: 'auditd-enriched', logGroup: '/imds-watch/sample/auditd', auditdNode: true },
      { name: 'ip-10-0-2-21', instanceId: 'i-0a1b2c3d4e5f60003', format: 'ecs-defend', logGroup: '/imds-watch/sample/ecs' },
      { name: 'ip-10-0-2-22', instanceId: 'i-0a1b2c3d4e5f60004', format: 'auditbeat', logGroup: '/imds-watch/sample/ecs' },
    ],
    attacks: [
      {
        at: Date.UTC(2026, 10, 4, 13, 37, 21, 418),
        host: 'ip-10-0-1-12',
        user: 'www-data',
        uid: 33,
        kind: 'curl-credentials',
        label: SAMPLE_ATTACK_LABEL,
      },
    ],
    noisePerHourPerHost: 40,
  };
}

// ---------------------------------------------------------------------------------------------
// Accounts and processes

interface Account {
  name: string;
  uid: number;
  gid: number;
  group: string;
  home: string;
}

/** /etc/passwd of every simulated host (Ubuntu 22.04 on EC2). */
export const ACCOUNTS: readonly Readonly<Account>[] = [
  { name: 'root', uid: 0, gid: 0, group: 'root', home: '/root' },
  { name: 'www-data', uid: 33, gid: 33, group: 'www-data', home: '/var/www' },
  { name: 'systemd-resolve', uid: 101, gid: 103, group: 'systemd-resolve', home: '/run/systemd' },
  { name: '_chrony', uid: 114, gid: 121, group: '_chrony', home: '/var/lib/chrony' },
  { name: 'cwagent', uid: 995, gid: 994, group: 'cwagent', home: '/home/cwagent' },
  { name: 'alice', uid: 1000, gid: 1000, group: 'alice', home: '/home/alice' },
  { name: 'app', uid: 1001, gid: 1001, group: 'app', home: '/srv/app' },
];

const AUID_UNSET = 4294967295;

function account(name: string): Account {
  const a = ACCOUNTS.find((x) => x.name === name);
  if (!a) throw new Error(`unknown account ${name}`);
  return a;
}

interface Proc {
  pid: number;
  ppid: number;
  account: Account;
  auid: number;
  ses: number;
  tty: string;
  /** Resolved executable (`exe=`). */
  exe: string;
  /** Path given to execve (PATH item 0); defaults to `exe`. */
  execPath?: string;
  /** Task name: basename of the executed path, cut to 15 bytes. */
  comm: string;
  argv: string[];
  cwd: string;
  subj: string;
  entityId: string;
  parent?: { pid: number; name: string; executable: string; entityId: string };
}

interface Destination {
  family: 'inet' | 'inet6';
  ip: string;
  port: number;
  transport: 'tcp' | 'udp';
}

/** One audited syscall (one audit serial, one ECS document). */
interface SysEvent {
  time: number;
  order: number;
  kind: 'connect' | 'exec';
  proc: Proc;
  dest?: Destination;
  /** connect() return: -115 (EINPROGRESS, non-blocking) or 0. */
  exit: number;
  label?: string;
}

// ---------------------------------------------------------------------------------------------
// Encoding helpers (auditd)

const GS = '\x1d';

function hexUpper(text: string): string {
  return Buffer.from(text, 'utf8').toString('hex').toUpperCase();
}

/** auditd's untrusted-string rule: quoted when plain printable ASCII without `"` or space, else hex. */
export function auditdEncode(value: string): string {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x22 || c < 0x21 || c > 0x7e) return hexUpper(value);
  }
  return `"${value}"`;
}

/** PROCTITLE: NUL-separated argv, cut to 128 bytes, hex unless it is one plain argument. */
export function encodeProctitle(argv: readonly string[]): string {
  let bytes = Buffer.from(argv.join('\0'), 'utf8');
  if (bytes.length > 128) bytes = bytes.subarray(0, 128);
  for (const b of bytes) {
    if (b === 0x22 || b < 0x21 || b > 0x7e) return bytes.toString('hex').toUpperCase();
  }
  return `"${bytes.toString('latin1')}"`;
}

/** Title as auditbeat shows it: the PROCTITLE bytes with NULs as spaces. */
function proctitleText(argv: readonly string[]): string {
  let bytes = Buffer.from(argv.join('\0'), 'utf8');
  if (bytes.length > 128) bytes = bytes.subarray(0, 128);
  return bytes.toString('utf8').replace(/\0/g, ' ');
}

function ipv6Bytes(ip: string): number[] {
  const [head = '', tail] = ip.split('::') as [string, string | undefined];
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const h = parse(head);
  const t = tail === undefined ? [] : parse(tail);
  const groups = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) {
    throw new RangeError(`bad IPv6 address ${ip}`);
  }
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

/** SOCKADDR `saddr=` hex: family little-endian, port big-endian, address (IPv4 16 bytes, IPv6 28). */
export function encodeSockaddr(dest: { family: 'inet' | 'inet6'; ip: string; port: number }): string {
  const port = dest.port.toString(16).padStart(4, '0');
  const hex = (bytes: number[]): string => bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
  if (dest.family === 'inet') {
    const addr = dest.ip.split('.').map((o) => Number(o));
    return `0200${port}${hex(addr)}0000000000000000`.toUpperCase();
  }
  return `0A00${port}00000000${hex(ipv6Bytes(dest.ip))}00000000`.toUpperCase();
}

function auditStamp(time: number, serial: number): string {
  return `${Math.floor(time / 1000)}.${String(time % 1000).padStart(3, '0')}:${serial}`;
}

function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}

function commOf(execPath: string): string {
  return Buffer.from(basename(execPath), 'utf8').subarray(0, 15).toString('utf8');
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function pseudoBase64(h: number, length: number): string {
  let s = '';
  let x = h;
  while (s.length < length) {
    x = mix32(x + 0x9e3779b9);
    s += BASE64[x & 63]! + BASE64[(x >>> 6) & 63]! + BASE64[(x >>> 12) & 63]! + BASE64[(x >>> 18) & 63]!;
  }
  return s.slice(0, length);
}

/** A 56-digit decimal CloudWatch-like event id, unique per (host index, record counter). */
function cloudWatchEventId(seed: number, hostIndex: number, counter: number, timestamp: number): string {
  const head = '3' + String(timestamp).padStart(13, '0');
  const mid = String(hostIndex % 10000).padStart(4, '0') + String(counter).padStart(12, '0');
  let tail = '';
  let h = hash32(seed, hostIndex, counter);
  while (tail.length < 26) {
    h = mix32(h + 0x6d2b79f5);
    tail += String(h % 1_000_000_000).padStart(9, '0');
  }
  return head + mid + tail.slice(0, 26);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

// ---------------------------------------------------------------------------------------------
// One host

interface Source {
  nextAt: number;
  fire(): void;
}

interface OutRecord {
  ts: number;
  seq: number;
  sim: SimulatedEvent;
}

const IMDS4: Destination = { family: 'inet', ip: IMDS_IPV4, port: 80, transport: 'tcp' };
const IMDS6: Destination = { family: 'inet6', ip: IMDS_IPV6, port: 80, transport: 'tcp' };
const DNS: Destination = { family: 'inet', ip: AMAZON_DNS, port: 53, transport: 'udp' };
const NTP: Destination = { family: 'inet', ip: AMAZON_TIME_SYNC, port: 123, transport: 'udp' };
const ECS4: Destination = { family: 'inet', ip: ECS_CREDENTIALS, port: 80, transport: 'tcp' };

const CW_AGENT_EXE = '/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent';
const LD_SO = '/lib64/ld-linux-x86-64.so.2';
/** Go programs: their sockaddr pointers live on the Go heap (`c000...`), not the C stack. */
const GO_EXES = new Set(['/usr/bin/amazon-ssm-agent', '/usr/bin/ssm-agent-worker', CW_AGENT_EXE]);

const ADMIN_COMMANDS: readonly (readonly string[])[] = [
  ['ls', '-la', '/var/log'],
  ['grep', '-r', 'ERROR', '/var/log/app'],
  ['systemctl', 'status', 'nginx'],
  ['ps', 'aux'],
  ['tail', '-n', '100', '/var/log/syslog'],
  ['df', '-h'],
  ['journalctl', '-u', 'app', '--since', '1 hour ago'],
  ['cat', '/etc/os-release'],
];

/** What people run with the AWS CLI (none names a metadata URL; the SDK inside calls IMDS). */
const CLI_COMMANDS: readonly (readonly string[])[] = [
  ['aws', 's3', 'ls'],
  ['aws', 'sts', 'get-caller-identity'],
  ['aws', 'ec2', 'describe-instances', '--output', 'table'],
  ['aws', 'logs', 'tail', '/aws/lambda/orders', '--since', '1h'],
  ['aws', 'ssm', 'get-parameter', '--name', '/app/config'],
];

const CRON_JOBS: readonly string[] = [
  'cd / && run-parts --report /etc/cron.hourly',
  'command -v debian-sa1 > /dev/null && debian-sa1 1 1',
  '[ -x /usr/lib/php/sessionclean ] && if [ ! -d /run/systemd/system ]; then /usr/lib/php/sessionclean; fi',
];

const BIN_DIR: Record<string, string> = {
  ls: '/usr/bin/ls',
  grep: '/usr/bin/grep',
  systemctl: '/usr/bin/systemctl',
  ps: '/usr/bin/ps',
  tail: '/usr/bin/tail',
  df: '/usr/bin/df',
  journalctl: '/usr/bin/journalctl',
  cat: '/usr/bin/cat',
};

class HostSim {
  readonly ip: string;
  private readonly prng: Prng;
  private readonly enriched: boolean;
  private readonly names = new Map<number, Account>();
  private serial: number;
  private pidCounter: number;
  private sesCounter: number;
  private recordCounter = 0;
  private ecsSequence: number;
  private lastRead = 0;
  private order = 0;
  private pending: SysEvent[] = [];
  private readonly sources: Source[] = [];
  private readonly agentId: string;
  private readonly machineId: string;
  private readonly bootTime: number;
  /** Each person's login shell of the day (one ssh session per UTC day). */
  private readonly shells = new Map<string, { day: number; shell: Proc }>();
  /** The people with a login on this host: alice on the sample's hosts. */
  private readonly people = new Map<string, Account>([['alice', account('alice')]]);
  /** Who runs the admin commands of the ordinary traffic. */
  private admin: Account = account('alice');
  /** nonMetadataShare 0 on a scale host: leave out every syscall that is not metadata traffic. */
  private readonly metadataOnly: boolean;
  private containerShimProc: Proc | undefined;

  // long-running processes
  private readonly resolved: Proc;
  private readonly chronyd: Proc;
  private readonly ssmAgent: Proc;
  private readonly ssmWorker: Proc;
  private readonly cwAgent: Proc;
  private readonly nginxWorker: Proc;
  private readonly phpFpm: Proc;
  private readonly app: Proc;
  private readonly dbAddresses: string[];

  constructor(
    readonly spec: HostSpec,
    readonly index: number,
    private readonly fleet: FleetSpec,
    attacks: readonly AttackSpec[],
  ) {
    const seed = fleet.seed;
    this.prng = derivePrng(seed, 'render', spec.name, index);
    this.enriched = spec.format === 'auditd-enriched';
    for (const a of ACCOUNTS) this.names.set(a.uid, a);
    const m = /^ip-(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})(?:$|\.)/.exec(spec.name);
    this.ip = m ? `${m[1]}.${m[2]}.${m[3]}.${m[4]}` : `10.0.${Math.floor(index / 200) + 100}.${(index % 200) + 10}`;

    const boot = derivePrng(seed, 'boot', spec.name, index);
    this.serial = boot.int(20_000, 900_000);
    this.pidCounter = boot.int(2_000, 9_000);
    this.sesCounter = boot.int(2, 40);
    this.ecsSequence = boot.int(10_000, 500_000);
    this.bootTime = fleet.start - boot.int(2 * DAY, 40 * DAY);
    this.agentId = uuidFrom(hash32(seed, 'agent', spec.name));
    this.machineId = boot.hex(32);
    this.dbAddresses = [`10.0.3.${boot.int(10, 60)}`, `10.0.3.${boot.int(61, 120)}`];

    const daemon = (acct: string, exe: string, argv: string[], pid: number, ppid = 1, subj = 'unconfined', execPath?: string): Proc => {
      const p: Proc = {
        pid,
        ppid,
        account: account(acct),
        auid: AUID_UNSET,
        ses: AUID_UNSET,
        tty: '(none)',
        exe,
        comm: commOf(execPath ?? exe),
        argv,
        cwd: '/',
        subj,
        entityId: this.entityId(pid, this.bootTime),
      };
      if (execPath !== undefined) p.execPath = execPath;
      return p;
    };
    this.resolved = daemon('systemd-resolve', '/usr/lib/systemd/systemd-resolved', ['/lib/systemd/systemd-resolved'], boot.int(380, 460), 1, 'unconfined', '/lib/systemd/systemd-resolved');
    this.chronyd = daemon('_chrony', '/usr/sbin/chronyd', ['/usr/sbin/chronyd', '-F', '1'], boot.int(520, 600), 1, '/usr/sbin/chronyd');
    this.ssmAgent = daemon('root', '/usr/bin/amazon-ssm-agent', ['/usr/bin/amazon-ssm-agent'], boot.int(610, 700));
    this.ssmWorker = daemon('root', '/usr/bin/ssm-agent-worker', ['/usr/bin/ssm-agent-worker'], boot.int(900, 1100), this.ssmAgent.pid);
    this.cwAgent = daemon(
      'cwagent',
      CW_AGENT_EXE,
      [
        CW_AGENT_EXE,
        '-config',
        '/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.toml',
        '-envconfig',
        '/opt/aws/amazon-cloudwatch-agent/etc/env-config.json',
        '-otelconfig',
        '/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.yaml',
        '-pidfile',
        '/opt/aws/amazon-cloudwatch-agent/var/amazon-cloudwatch-agent.pid',
      ],
      boot.int(1100, 1300),
    );
    const nginxMaster = boot.int(1300, 1350);
    this.nginxWorker = daemon('www-data', '/usr/sbin/nginx', ['nginx: worker process'], nginxMaster + boot.int(1, 4), nginxMaster);
    const fpmMaster = boot.int(1400, 1450);
    this.phpFpm = daemon('www-data', '/usr/sbin/php-fpm8.1', ['php-fpm: pool www'], fpmMaster + boot.int(1, 6), fpmMaster);
    const java = index % 2 === 1;
    this.app = java
      ? daemon('app', '/usr/lib/jvm/java-17-openjdk-amd64/bin/java', ['/usr/bin/java', '-Xmx512m', '-jar', '/srv/app/app.jar'], boot.int(1500, 1700), 1, 'unconfined', '/usr/bin/java')
      : daemon('app', '/usr/bin/node', ['/usr/bin/node', '/srv/app/server.js'], boot.int(1500, 1700));
    this.app.cwd = '/srv/app';

    this.metadataOnly = spec.workloads !== undefined && fleet.nonMetadataShare === 0;
    if (spec.workloads) this.setUpScaleSources(spec.workloads, attacks);
    else this.setUpSources(attacks);
  }

  private entityId(pid: number, start: number): string {
    return pseudoBase64(hash32(this.fleet.seed, this.spec.name, pid, start), 62) + '==';
  }

  private newPid(): number {
    this.pidCounter += this.prng.int(1, 40);
    if (this.pidCounter > 4_194_304) this.pidCounter = 300 + (this.pidCounter % 1000);
    return this.pidCounter;
  }

  private newSession(): number {
    this.sesCounter += 1;
    return this.sesCounter;
  }

  private push(time: number, kind: SysEvent['kind'], proc: Proc, dest?: Destination, exit = 0, label?: string): void {
    const ev: SysEvent = { time: Math.round(time), order: this.order++, kind, proc, exit };
    if (dest) ev.dest = dest;
    if (label !== undefined) ev.label = label;
    this.pending.push(ev);
  }

  private spawn(
    parent: Proc,
    acct: Account,
    argv: string[],
    exe: string,
    at: number,
    opts: { execPath?: string; auid?: number; ses?: number; tty?: string; cwd?: string } = {},
  ): Proc {
    const pid = this.newPid();
    const p: Proc = {
      pid,
      ppid: parent.pid,
      account: acct,
      auid: opts.auid ?? parent.auid,
      ses: opts.ses ?? parent.ses,
      tty: opts.tty ?? parent.tty,
      exe,
      comm: commOf(opts.execPath ?? exe),
      argv,
      cwd: opts.cwd ?? parent.cwd,
      subj: 'unconfined',
      entityId: this.entityId(pid, at),
      parent: { pid: parent.pid, name: basename(parent.exe), executable: parent.exe, entityId: parent.entityId },
    };
    if (opts.execPath !== undefined) p.execPath = opts.execPath;
    return p;
  }

  /** A person's login shell of the day (one ssh session per UTC day). */
  private humanShell(who: Account, t: number): Proc {
    const day = Math.floor(t / DAY);
    const cached = this.shells.get(who.name);
    if (cached && cached.day === day) return cached.shell;
    const ses = this.newSession();
    const sshd = this.newPid();
    const pid = this.newPid();
    const shell: Proc = {
      pid,
      ppid: sshd,
      account: who,
      auid: who.uid,
      ses,
      tty: 'pts0',
      exe: '/usr/bin/bash',
      comm: 'bash',
      argv: ['-bash'],
      cwd: who.home,
      subj: 'unconfined',
      entityId: this.entityId(pid, t),
      parent: { pid: sshd, name: 'sshd', executable: '/usr/sbin/sshd', entityId: this.entityId(sshd, t) },
    };
    this.shells.set(who.name, { day, shell });
    return shell;
  }

  /** The per-connection sshd process of a new login. */
  private sshd(t: number): Proc {
    const pid = this.newPid();
    return {
      pid,
      ppid: this.ssmAgent.pid - this.prng.int(50, 200),
      account: account('root'),
      auid: AUID_UNSET,
      ses: AUID_UNSET,
      tty: '(none)',
      exe: '/usr/sbin/sshd',
      comm: 'sshd',
      argv: ['sshd: session'],
      cwd: '/',
      subj: 'unconfined',
      entityId: this.entityId(pid, t),
    };
  }

  private setUpSources(attacks: readonly AttackSpec[]): void {
    const { seed, start } = this.fleet;
    const name = this.spec.name;
    const S = ORDINARY_SCHEDULE;

    // root: SSM agent
    const ssm = derivePrng(seed, 'ssm', name);
    const ssmSource: Source = {
      nextAt: start + ssm.range(0, S.ssmIntervalMs),
      fire: () => {
        const t = ssmSource.nextAt;
        if (!ssm.chance(S.ssmMissedShare)) {
          this.push(t, 'connect', this.ssmWorker, IMDS4, -115);
          if (ssm.chance(S.ssmCoreAgentShare)) this.push(t + (ssm.chance(0.5) ? 0 : ssm.int(1, 800)), 'connect', this.ssmAgent, IMDS4, -115);
        }
        ssmSource.nextAt = t + Math.max(SECOND, S.ssmIntervalMs + ssm.normal(3 * SECOND));
      },
    };

    // cwagent: CloudWatch agent
    const cw = derivePrng(seed, 'cwagent', name);
    const cwSource: Source = {
      nextAt: start + cw.range(0, S.cwagentIntervalMs),
      fire: () => {
        const t = cwSource.nextAt;
        this.push(t, 'connect', this.cwAgent, IMDS4, -115);
        cwSource.nextAt = t + Math.max(SECOND, S.cwagentIntervalMs + cw.normal(2 * SECOND));
      },
    };

    // app: AWS SDK credential refresh (token PUT + credentials GET)
    const sdk = derivePrng(seed, 'sdk', name);
    const sdkSource: Source = {
      nextAt: start + sdk.range(0, S.sdkIntervalMs),
      fire: () => {
        const t = sdkSource.nextAt;
        let at = t;
        for (let i = 0; i < S.sdkConnectsPerRefresh; i++) {
          this.push(at, 'connect', this.app, IMDS4, -115);
          at += sdk.int(3, 40);
        }
        sdkSource.nextAt = t + Math.max(MINUTE, S.sdkIntervalMs + sdk.normal(45 * SECOND));
      },
    };

    // alice: aws s3 ls once a day
    const cli = derivePrng(seed, 'cli', name);
    const cliAt = (day: number): number =>
      day * DAY + S.cliFirstHourUtc * HOUR + Math.floor(cli.next() * (S.cliLastHourUtc - S.cliFirstHourUtc) * HOUR);
    let cliDay = Math.floor(start / DAY);
    let firstCli = cliAt(cliDay);
    while (firstCli < start) firstCli = cliAt(++cliDay);
    const cliSource: Source = {
      nextAt: firstCli,
      fire: () => {
        const t = cliSource.nextAt;
        const shell = this.humanShell(account('alice'), t);
        const aws = this.spawn(shell, account('alice'), ['aws', 's3', 'ls'], '/usr/local/bin/aws', t);
        this.push(t, 'exec', aws);
        let at = t + cli.int(180, 450);
        for (let i = 0; i < S.cliImdsConnectsPerRun; i++) {
          this.push(at, 'connect', aws, IMDS4, -115);
          at += cli.int(4, 30);
        }
        this.push(at + cli.int(60, 250), 'connect', aws, { family: 'inet', ip: `52.217.${cli.int(0, 255)}.${cli.int(1, 254)}`, port: 443, transport: 'tcp' }, -115);
        cliSource.nextAt = cliAt(++cliDay);
      },
    };

    // ordinary non-metadata traffic
    const noise = derivePrng(seed, 'noise', name);
    const rate = this.fleet.noisePerHourPerHost;
    const meanGap = rate > 0 ? HOUR / rate : Infinity;
    const noiseSource: Source = {
      nextAt: rate > 0 ? start + noise.exponential(meanGap) : Infinity,
      fire: () => {
        const t = noiseSource.nextAt;
        this.noise(t, noise);
        noiseSource.nextAt = t + noise.exponential(meanGap);
      },
    };

    this.sources.push(ssmSource, cwSource, sdkSource, cliSource, noiseSource);
    this.setUpAttacks(attacks);
  }

  private setUpAttacks(attacks: readonly AttackSpec[]): void {
    const { seed } = this.fleet;
    const name = this.spec.name;
    // attacks, in time order
    const mine = attacks.filter((a) => a.host === name).sort((a, b) => a.at - b.at);
    mine.forEach((attack, i) => {
      const p = derivePrng(seed, 'attack', name, i, attack.at);
      const src: Source = {
        nextAt: attack.at,
        fire: () => {
          this.attack(attack, p);
          src.nextAt = Infinity;
        },
      };
      this.sources.push(src);
    });
  }

  // ----- scale fleets: callers from the host's workloads -----

  private setUpScaleSources(workloads: readonly WorkloadSpec[], attacks: readonly AttackSpec[]): void {
    const { seed, start } = this.fleet;
    const end = start + this.fleet.days * DAY;
    const name = this.spec.name;
    const accounts = workloads.map((w) => this.scaleAccount(w.user, w.uid));
    workloads.forEach((w, i) => {
      if (w.kind === 'human-cli' || w.kind === 'one-off-script') this.people.set(w.user, accounts[i]!);
    });
    const firstPerson = workloads.findIndex((w) => w.kind === 'human-cli');
    if (firstPerson >= 0) this.admin = accounts[firstPerson]!;

    workloads.forEach((w, i) => {
      const acct = accounts[i]!;
      const daemon = this.workloadDaemon(w, acct, i);
      const runs = workloadRuns(seed, name, i, w, start, end);
      let next = runs.next();
      const src: Source = {
        nextAt: next.done ? Infinity : next.value.start,
        fire: () => {
          if (!next.done) this.runWorkload(w, acct, daemon, next.value);
          next = runs.next();
          src.nextAt = next.done ? Infinity : next.value.start;
        },
      };
      this.sources.push(src);
    });

    // Ordinary non-metadata traffic, evenly spread (jittered gaps) so the share holds on small fleets too.
    const noise = derivePrng(seed, 'noise', name);
    const rate = this.scaleNoisePerHour(workloads, start, end);
    const meanGap = rate > 0 ? HOUR / rate : Infinity;
    const noiseSource: Source = {
      nextAt: rate > 0 ? start + noise.range(0, meanGap) : Infinity,
      fire: () => {
        const t = noiseSource.nextAt;
        this.noise(t, noise);
        noiseSource.nextAt = t + meanGap * noise.range(0.5, 1.5);
      },
    };
    this.sources.push(noiseSource);
    this.setUpAttacks(attacks);
  }

  /** Noise activities per hour that make `nonMetadataShare` of this host's events non-metadata traffic. */
  private scaleNoisePerHour(workloads: readonly WorkloadSpec[], start: number, end: number): number {
    const share = this.fleet.nonMetadataShare;
    if (share === undefined) return this.fleet.noisePerHourPerHost;
    if (share === 0) return 0;
    const auditd = this.spec.format === 'auditd' || this.spec.format === 'auditd-enriched';
    let metadata = 0;
    let other = 0;
    workloads.forEach((w, i) => {
      for (const run of workloadRuns(this.fleet.seed, this.spec.name, i, w, start, end)) {
        for (const call of run.calls) {
          if (call.metadata) metadata += linesPerCall(call.action, auditd);
          else other += linesPerCall(call.action, auditd);
        }
      }
    });
    const wanted = (metadata * share) / (1 - share) - other;
    return Math.max(0, wanted) / noiseLinesPerActivity(auditd) / ((end - start) / HOUR);
  }

  private scaleAccount(user: string, uid: number): Account {
    const known = ACCOUNTS.find((a) => a.name === user && a.uid === uid);
    const person = uid >= 1000 && uid < 60000;
    const acct = known ?? { name: user, uid, gid: uid, group: user, home: person ? `/home/${user}` : `/var/lib/${user}` };
    if (!this.names.has(uid)) this.names.set(uid, acct);
    return acct;
  }

  /** The long-running process a workload connects from (none for workloads that start their own). */
  private workloadDaemon(w: WorkloadSpec, acct: Account, index: number): { main: Proc; alt?: Proc } {
    switch (w.kind) {
      case 'ssm-agent':
        return { main: this.ssmWorker, alt: this.ssmAgent };
      case 'cloudwatch-agent':
        return { main: this.cwAgent };
      default:
        break;
    }
    if (w.kind === 'sdk-refresh' && acct.name === 'app' && acct.uid === this.app.account.uid) return { main: this.app };
    const boot = derivePrng(this.fleet.seed, 'workload-daemon', this.spec.name, index);
    const pid = boot.int(1700, 2000) + index * 7;
    const main: Proc = {
      pid,
      ppid: 1,
      account: acct,
      auid: AUID_UNSET,
      ses: AUID_UNSET,
      tty: '(none)',
      exe: '/usr/bin/node',
      comm: 'node',
      argv: ['/usr/bin/node', `/srv/${acct.name}/server.js`],
      cwd: `/srv/${acct.name}`,
      subj: 'unconfined',
      entityId: this.entityId(pid, this.bootTime),
    };
    if (w.kind === 'monitoring-agent') {
      main.exe = '/opt/datadog-agent/bin/agent/agent';
      main.comm = 'agent';
      main.argv = [main.exe, 'run', '-p', '/opt/datadog-agent/run/agent.pid'];
      main.cwd = '/';
    }
    return { main };
  }

  /** Renders one run of a workload: the processes it starts and the connects they make. */
  private runWorkload(w: WorkloadSpec, acct: Account, daemon: { main: Proc; alt?: Proc }, run: ScheduledRun): void {
    let current: Proc | undefined;
    let execs = 0;
    for (const call of run.calls) {
      if (call.action === 'exec') {
        current = this.workloadProcess(w, acct, current, execs++, call.at);
        if (!this.metadataOnly || call.metadata) this.push(call.at, 'exec', current);
      } else if (!this.metadataOnly || call.metadata) {
        const proc = call.alt && daemon.alt ? daemon.alt : (current ?? daemon.main);
        const dest = this.destination(call.dest ?? 'imds4');
        this.push(call.at, 'connect', proc, dest, dest.transport === 'udp' ? 0 : -115);
      }
    }
  }

  /** The `n`th process a workload's run starts at `t` (child of `previous` when there is one). */
  private workloadProcess(w: WorkloadSpec, acct: Account, previous: Proc | undefined, n: number, t: number): Proc {
    switch (w.kind) {
      case 'human-cli':
        return this.spawn(this.humanShell(acct, t), acct, [...this.prng.pick(CLI_COMMANDS)], '/usr/local/bin/aws', t);
      case 'one-off-script':
        return this.spawn(this.humanShell(acct, t), acct, ['curl', '-s', `http://${IMDS_IPV4}/latest/meta-data/instance-id`], '/usr/bin/curl', t);
      case 'weekly-job': {
        if (n > 0 && previous) {
          return this.spawn(previous, acct, ['aws', 's3', 'sync', '/var/backups', `s3://backups-${this.spec.name}/weekly/`], '/usr/local/bin/aws', t);
        }
        const cronPid = this.newPid();
        const cron: Proc = {
          pid: cronPid,
          ppid: 1,
          account: account('root'),
          auid: acct.uid,
          ses: this.newSession(),
          tty: '(none)',
          exe: '/usr/sbin/cron',
          comm: 'cron',
          argv: ['/usr/sbin/CRON', '-f', '-P'],
          cwd: acct.home,
          subj: 'unconfined',
          entityId: this.entityId(cronPid, t),
        };
        return this.spawn(cron, acct, ['/bin/sh', '-c', '/usr/local/bin/weekly-backup.sh'], '/usr/bin/dash', t, { execPath: '/bin/sh' });
      }
      case 'ecs-tasks':
        // A short-lived task: a new process (and entity) each time, the same container user.
        return this.spawn(this.containerShim(), acct, ['node', '/app/worker.js'], '/usr/local/bin/node', t, { cwd: '/app' });
      default:
        return this.spawn(previous ?? this.ssmWorker, acct, ['sh', '-c', 'true'], '/usr/bin/dash', t, { execPath: '/bin/sh' });
    }
  }

  private noise(t: number, p: Prng): void {
    const kind = p.weighted(NOISE_MIX);
    switch (kind) {
      case 'dns':
        this.push(t, 'connect', this.resolved, DNS, 0);
        break;
      case 'ntp':
        this.push(t, 'connect', this.chronyd, NTP, 0);
        break;
      case 'app-db':
        this.push(t, 'connect', this.app, { family: 'inet', ip: p.pick(this.dbAddresses), port: 5432, transport: 'tcp' }, -115);
        break;
      case 'app-redis':
        this.push(t, 'connect', this.app, { family: 'inet', ip: '127.0.0.1', port: 6379, transport: 'tcp' }, 0);
        break;
      case 'nginx-upstream':
        this.push(t, 'connect', this.nginxWorker, { family: 'inet', ip: '127.0.0.1', port: 3000, transport: 'tcp' }, 0);
        break;
      case 'php-mysql':
        this.push(t, 'connect', this.phpFpm, { family: 'inet', ip: this.dbAddresses[0]!, port: 3306, transport: 'tcp' }, -115);
        break;
      case 'ssm-endpoint':
        this.push(t, 'connect', this.ssmWorker, { family: 'inet', ip: `52.94.${p.int(224, 239)}.${p.int(1, 254)}`, port: 443, transport: 'tcp' }, -115);
        break;
      case 'cw-endpoint':
        this.push(t, 'connect', this.cwAgent, { family: 'inet', ip: `52.46.${p.int(128, 191)}.${p.int(1, 254)}`, port: 443, transport: 'tcp' }, -115);
        break;
      case 'admin-exec': {
        const argv = [...p.pick(ADMIN_COMMANDS)];
        const shell = this.humanShell(this.admin, t);
        const bin = BIN_DIR[argv[0]!] ?? `/usr/bin/${argv[0]}`;
        if (p.chance(SUDO_SHARE)) {
          // sudo: auid stays alice, uid becomes root
          const sudo = this.spawn(shell, account('root'), ['sudo', ...argv], '/usr/bin/sudo', t);
          this.push(t, 'exec', sudo);
          const child = this.spawn(sudo, account('root'), argv, bin, t);
          this.push(t + p.int(8, 60), 'exec', child);
        } else {
          this.push(t, 'exec', this.spawn(shell, this.admin, argv, bin, t));
        }
        break;
      }
      case 'cron': {
        const cronPid = this.newPid();
        const ses = this.newSession();
        const cron: Proc = {
          pid: cronPid,
          ppid: 1,
          account: account('root'),
          auid: 0,
          ses,
          tty: '(none)',
          exe: '/usr/sbin/cron',
          comm: 'cron',
          argv: ['/usr/sbin/CRON', '-f', '-P'],
          cwd: '/root',
          subj: 'unconfined',
          entityId: this.entityId(cronPid, t),
        };
        const sh = this.spawn(cron, account('root'), ['/bin/sh', '-c', p.pick(CRON_JOBS)], '/usr/bin/dash', t, { execPath: '/bin/sh' });
        this.push(t, 'exec', sh);
        break;
      }
      default:
        throw new Error(`unknown noise kind ${kind}`);
    }
  }

  private attackAccount(attack: AttackSpec): Account {
    const known = ACCOUNTS.find((a) => a.name === attack.user && a.uid === attack.uid);
    const acct = known ?? { name: attack.user, uid: attack.uid, gid: attack.uid, group: attack.user, home: `/home/${attack.user}` };
    if (!this.names.has(acct.uid)) this.names.set(acct.uid, acct);
    return acct;
  }

  private attack(attack: AttackSpec, p: Prng): void {
    const label = attackLabel(attack);
    const acct = this.attackAccount(attack);
    const t0 = attack.at;
    // The attacker's shell: a person's own login shell, a web shell under php-fpm for www-data,
    // a shell inside a task on a container host, a login otherwise.
    let shell: Proc;
    if (this.people.get(acct.name)?.uid === acct.uid) {
      shell = this.humanShell(acct, t0);
    } else {
      const interactive = acct.uid >= 1000 && acct.uid < 60000;
      // www-data: a web shell under php-fpm; a person: an ssh login; another service account: its daemon's child.
      const parent =
        acct.name === 'www-data'
          ? this.phpFpm
          : interactive
            ? this.sshd(t0)
            : acct.name === 'app'
              ? this.app
              : attack.kind === 'curl-ecs-credentials'
                ? this.containerShim()
                : this.ssmWorker;
      shell = this.spawn(parent, acct, ['sh', '-c', '-i'], '/usr/bin/dash', t0, {
        execPath: '/bin/sh',
        auid: interactive ? acct.uid : AUID_UNSET,
        ses: interactive ? this.newSession() : AUID_UNSET,
        tty: interactive ? 'pts1' : '(none)',
        cwd: acct.name === 'www-data' ? '/var/www/html' : acct.home,
      });
    }
    const procs: Proc[] = [];
    for (const step of attackSteps(attack.kind, t0, p)) {
      if (step.action === 'exec') {
        const proc = this.attackProcess(attack.kind, step, shell, acct, t0);
        procs[step.proc] = proc;
        if (!this.metadataOnly || step.metadata) this.push(step.at, 'exec', proc, undefined, 0, label);
      } else if (!this.metadataOnly || step.metadata) {
        const proc = procs[step.proc] ?? shell;
        const nonBlocking = attack.kind === 'curl-credentials' || attack.kind === 'curl-ecs-credentials';
        this.push(step.at, 'connect', proc, this.destination(step.dest ?? 'imds4'), nonBlocking ? -115 : 0, label);
      }
    }
  }

  /** The process an attack step starts (curl, python3, wget) as a child of the attacker's shell. */
  private attackProcess(kind: AttackKind, step: AttackStep, shell: Proc, acct: Account, t0: number): Proc {
    const opts = { cwd: shell.cwd };
    switch (kind) {
      case 'curl-credentials': {
        if (step.proc === 0) {
          return this.spawn(shell, acct, ['curl', '-s', '-X', 'PUT', `http://${IMDS_IPV4}/latest/api/token`, '-H', 'X-aws-ec2-metadata-token-ttl-seconds: 21600'], '/usr/bin/curl', step.at, opts);
        }
        const token = `AQAEA${pseudoBase64(hash32(this.fleet.seed, 'token', t0), 49)}==`;
        return this.spawn(
          shell,
          acct,
          ['curl', '-s', '-H', `X-aws-ec2-metadata-token: ${token}`, `http://${IMDS_IPV4}/latest/meta-data/iam/security-credentials/app-role`],
          '/usr/bin/curl',
          step.at,
          opts,
        );
      }
      case 'python-ipv6': {
        const code = `import urllib.request as u;print(u.urlopen('http://[${IMDS_IPV6}]/latest/meta-data/iam/security-credentials/').read().decode())`;
        return this.spawn(shell, acct, ['python3', '-c', code], '/usr/bin/python3.10', step.at, { ...opts, execPath: '/usr/bin/python3' });
      }
      case 'wget-gcp': {
        const url = 'http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token';
        return this.spawn(shell, acct, ['wget', '-q', '-O', '-', '--header', 'Metadata-Flavor: Google', url], '/usr/bin/wget', step.at, opts);
      }
      case 'curl-ecs-credentials': {
        const uri = `/v2/credentials/${uuidFrom(hash32(this.fleet.seed, 'task-credentials', t0))}`;
        return this.spawn(shell, acct, ['curl', '-s', `http://${ECS_CREDENTIALS}${uri}`], '/usr/bin/curl', step.at, opts);
      }
      default: {
        const never: never = kind;
        throw new Error(`unknown attack kind ${String(never)}`);
      }
    }
  }

  private destination(dest: ScheduleDestination): Destination {
    switch (dest) {
      case 'imds4':
      case 'gcp': // metadata.google.internal resolves to the link-local address
        return IMDS4;
      case 'imds6':
        return IMDS6;
      case 'ecs':
        return ECS4;
      case 'dns':
        return DNS;
      case 's3':
        return { family: 'inet', ip: `52.217.${this.prng.int(0, 255)}.${this.prng.int(1, 254)}`, port: 443, transport: 'tcp' };
      default: {
        const never: never = dest;
        throw new Error(`unknown destination ${String(never)}`);
      }
    }
  }

  /** The containerd shim the tasks of a container host run under (started on first use). */
  private containerShim(): Proc {
    if (!this.containerShimProc) {
      const pid = this.newPid();
      const exe = '/usr/bin/containerd-shim-runc-v2';
      this.containerShimProc = {
        pid,
        ppid: 1,
        account: account('root'),
        auid: AUID_UNSET,
        ses: AUID_UNSET,
        tty: '(none)',
        exe,
        comm: commOf(exe),
        argv: [exe, '-namespace', 'moby', '-address', '/run/containerd/containerd.sock'],
        cwd: '/',
        subj: 'unconfined',
        entityId: this.entityId(pid, this.bootTime),
      };
    }
    return this.containerShimProc;
  }

  /** Runs every source due before `until`, in time order. */
  collect(until: number): void {
    for (;;) {
      let next: Source | undefined;
      for (const s of this.sources) if (s.nextAt < until && (!next || s.nextAt < next.nextAt)) next = s;
      if (!next) return;
      next.fire();
    }
  }

  /** Renders every pending syscall before `until` (all when `final`) into CloudWatch events. */
  render(until: number, final: boolean, out: OutRecord[], seq: { n: number }): void {
    if (this.pending.length === 0) return;
    this.pending.sort((a, b) => a.time - b.time || a.order - b.order);
    let due = this.pending.length;
    if (!final) {
      due = 0;
      while (due < this.pending.length && this.pending[due]!.time < until) due++;
    }
    const now = this.pending.slice(0, due);
    this.pending = this.pending.slice(due);
    for (const ev of now) this.renderEvent(ev, out, seq);
  }

  private renderEvent(ev: SysEvent, out: OutRecord[], seq: { n: number }): void {
    const p = this.prng;
    const ts = Math.max(this.lastRead, ev.time + p.int(0, READ_DELAY_MAX_MS));
    this.lastRead = ts;
    const ingest = p.chance(INGEST_DELAY_MS.lateShare)
      ? p.int(INGEST_DELAY_MS.lateMin, INGEST_DELAY_MS.lateMax)
      : p.int(INGEST_DELAY_MS.min, INGEST_DELAY_MS.max);

    let messages: { text: string; delay: number }[];
    if (this.spec.format === 'auditd' || this.spec.format === 'auditd-enriched') {
      this.serial += 1 + (p.chance(0.3) ? p.int(1, 3) : 0);
      messages = this.auditdRecords(ev, this.serial).map((text) => ({ text, delay: 0 }));
      if (p.chance(OUT_OF_ORDER_SHARE)) {
        // Records of this event written out of order; sometimes one is read in a later pass.
        const shuffled = [...messages];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = p.int(0, i);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        if (shuffled.every((m, i) => m === messages[i])) [shuffled[0], shuffled[1]] = [shuffled[1]!, shuffled[0]!];
        if (p.chance(0.5)) shuffled[p.int(0, shuffled.length - 1)]!.delay = p.int(SECOND, 4 * SECOND);
        messages = shuffled;
      }
    } else {
      this.ecsSequence += 1 + p.int(0, 6);
      messages = [{ text: this.spec.format === 'ecs-defend' ? this.defendDocument(ev) : this.auditbeatDocument(ev, this.ecsSequence), delay: 0 }];
    }

    for (const m of messages) {
      const timestamp = ts + m.delay;
      const event: LogEvent = {
        timestamp,
        ingestionTime: timestamp + ingest,
        logGroup: this.spec.logGroup,
        logStream: this.spec.instanceId,
        eventId: cloudWatchEventId(this.fleet.seed, this.index, this.recordCounter++, timestamp),
        message: m.text,
      };
      const sim: SimulatedEvent = ev.label === undefined ? { event } : { event, label: { attack: ev.label } };
      out.push({ ts: timestamp, seq: seq.n++, sim });
    }
  }

  // ----- auditd -----

  private nameOf(uid: number, fallback: Account): string {
    if (uid === AUID_UNSET) return 'unset';
    if (uid === fallback.uid) return fallback.name;
    return this.names.get(uid)?.name ?? String(uid);
  }

  private groupOf(gid: number, fallback: Account): string {
    if (gid === fallback.gid) return fallback.group;
    for (const a of this.names.values()) if (a.gid === gid) return a.group;
    return String(gid);
  }

  /** A user-space stack address, as in `a1=7ffeb9b2b770`. */
  private pointer(): string {
    return `7ff${this.prng.pick(['c', 'd', 'e', 'f'])}${this.prng.hex(8)}`;
  }

  /** A heap address, as in `a0=55d85d6719d0`. */
  private heap(): string {
    return `${this.prng.pick(['55', '56'])}${this.prng.hex(10)}`;
  }

  private auditdRecords(ev: SysEvent, serial: number): string[] {
    const id = auditStamp(ev.time, serial);
    const p = ev.proc;
    const a = p.account;
    const exec = ev.kind === 'exec';
    const r = this.prng;
    const args = exec
      ? `a0=${this.heap()} a1=${this.heap()} a2=${this.heap()} a3=${r.int(1, 0xfff).toString(16)}`
      : `a0=${r.int(3, 60).toString(16)} a1=${GO_EXES.has(p.exe) ? `c000${r.hex(6)}` : this.pointer()} a2=${ev.dest?.family === 'inet6' ? '1c' : '10'} a3=${r.int(0, 0xff).toString(16)}`;
    const success = exec || ev.exit === 0 ? 'yes' : 'no';
    const idFields =
      `auid=${p.auid} uid=${a.uid} gid=${a.gid} euid=${a.uid} suid=${a.uid} fsuid=${a.uid} ` +
      `egid=${a.gid} sgid=${a.gid} fsgid=${a.gid}`;
    let syscall =
      `type=SYSCALL msg=audit(${id}): arch=c000003e syscall=${exec ? 59 : 42} success=${success} exit=${exec ? 0 : ev.exit} ` +
      `${args} items=${exec ? 2 : 0} ppid=${p.ppid} pid=${p.pid} ${idFields} tty=${p.tty} ses=${p.ses} ` +
      `comm=${auditdEncode(p.comm)} exe=${auditdEncode(p.exe)} subj=${p.subj} key="${exec ? 'exec' : 'imds'}"`;
    if (this.enriched) {
      const u = this.nameOf(a.uid, a);
      const g = this.groupOf(a.gid, a);
      syscall +=
        `${GS}ARCH=x86_64 SYSCALL=${exec ? 'execve' : 'connect'} AUID="${this.nameOf(p.auid, a)}" UID="${u}" GID="${g}" ` +
        `EUID="${u}" SUID="${u}" FSUID="${u}" EGID="${g}" SGID="${g}" FSGID="${g}"`;
    }
    const records = [syscall];
    if (exec) {
      records.push(`type=EXECVE msg=audit(${id}): argc=${p.argv.length} ${p.argv.map((arg, i) => `a${i}=${auditdEncode(arg)}`).join(' ')}`);
      records.push(`type=CWD msg=audit(${id}):  cwd=${auditdEncode(p.cwd)}`);
      const owner = this.enriched ? `${GS}OUID="root" OGID="root"` : '';
      const path = p.execPath ?? p.exe;
      records.push(
        `type=PATH msg=audit(${id}): item=0 name=${auditdEncode(path)} inode=${inodeOf(this.fleet.seed, path)} dev=103:01 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0${owner}`,
      );
      records.push(
        `type=PATH msg=audit(${id}): item=1 name=${auditdEncode(LD_SO)} inode=${inodeOf(this.fleet.seed, LD_SO)} dev=103:01 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0${owner}`,
      );
    } else {
      const d = ev.dest!;
      let sock = `type=SOCKADDR msg=audit(${id}): saddr=${encodeSockaddr(d)}`;
      if (this.enriched) sock += `${GS}SADDR={ saddr_fam=${d.family} laddr=${d.ip} lport=${d.port} }`;
      records.push(sock);
    }
    records.push(`type=PROCTITLE msg=audit(${id}): proctitle=${encodeProctitle(p.argv)}`);
    records.push(`type=EOE msg=audit(${id}): `);
    return this.spec.auditdNode ? records.map((r) => `node=${this.spec.name} ${r}`) : records;
  }

  // ----- ECS -----

  private hostEcs(): Record<string, unknown> {
    return {
      architecture: 'x86_64',
      hostname: this.spec.name,
      id: this.machineId,
      ip: [this.ip],
      name: this.spec.name,
      os: { family: 'ubuntu', full: 'Ubuntu 22.04.5', kernel: '6.8.0-1021-aws', name: 'Linux', platform: 'ubuntu', type: 'linux', version: '22.04.5' },
    };
  }

  private defendDocument(ev: SysEvent): string {
    const p = ev.proc;
    const a = p.account;
    const exec = ev.kind === 'exec';
    const r = this.prng;
    const dataset = exec ? 'endpoint.events.process' : 'endpoint.events.network';
    const proc: Record<string, unknown> = {
      pid: p.pid,
      name: basename(p.exe),
      executable: p.exe,
      args: p.argv,
      entity_id: p.entityId,
    };
    if (exec) {
      proc.args_count = p.argv.length;
      proc.command_line = p.argv.join(' ');
      proc.working_directory = p.cwd;
    }
    proc.parent = p.parent
      ? { pid: p.parent.pid, name: p.parent.name, executable: p.parent.executable, entity_id: p.parent.entityId }
      : { pid: p.ppid };
    const doc: Record<string, unknown> = {
      '@timestamp': iso(ev.time),
      agent: { id: this.agentId, type: 'endpoint', version: '8.11.0' },
      data_stream: { dataset, namespace: 'default', type: 'logs' },
      ecs: { version: '8.11.0' },
      event: exec
        ? { kind: 'event', category: ['process'], type: ['start'], action: 'exec', dataset, module: 'endpoint', sequence: this.ecsSequence, created: iso(ev.time) }
        : { kind: 'event', category: ['network'], type: ['start'], action: 'connection_attempted', dataset, module: 'endpoint', sequence: this.ecsSequence, created: iso(ev.time) },
      host: this.hostEcs(),
      user: { id: String(a.uid), name: a.name },
      group: { id: String(a.gid), name: a.group },
      process: proc,
    };
    if (!exec) {
      const d = ev.dest!;
      const local = d.ip === '127.0.0.1' ? '127.0.0.1' : d.family === 'inet6' ? `2600:1f18:4a2:${(this.index + 1).toString(16)}00::${(this.index + 10).toString(16)}` : this.ip;
      const sport = r.int(32768, 60999);
      doc.source = { address: local, ip: local, port: sport };
      doc.destination = { address: d.ip, ip: d.ip, port: d.port };
      doc.network = { direction: 'egress', transport: d.transport, type: d.family === 'inet6' ? 'ipv6' : 'ipv4' };
      doc.message = 'Endpoint network event';
    } else {
      doc.message = 'Endpoint process event';
    }
    return JSON.stringify(doc);
  }

  private auditbeatDocument(ev: SysEvent, sequence: number): string {
    const p = ev.proc;
    const a = p.account;
    const exec = ev.kind === 'exec';
    const r = this.prng;
    const ok = exec || ev.exit === 0;
    const auidName = p.auid === AUID_UNSET ? 'unset' : this.nameOf(p.auid, a);
    const data: Record<string, unknown> = exec
      ? { a0: this.heap(), a1: this.heap(), a2: this.heap(), a3: r.int(1, 0xfff).toString(16), arch: 'x86_64', argc: String(p.argv.length), exit: '0', syscall: 'execve', tty: p.tty }
      : {
          a0: r.int(3, 60).toString(16),
          a1: this.pointer(),
          a2: ev.dest!.family === 'inet6' ? '1c' : '10',
          a3: r.int(0, 0xff).toString(16),
          arch: 'x86_64',
          exit: ev.exit === 0 ? '0' : 'EINPROGRESS',
          socket: { addr: ev.dest!.ip, family: ev.dest!.family === 'inet6' ? 'ipv6' : 'ipv4', port: String(ev.dest!.port) },
          syscall: 'connect',
          tty: p.tty,
        };
    const user: Record<string, unknown> = {
      id: String(a.uid),
      name: a.name,
      group: { id: String(a.gid), name: a.group },
    };
    if (p.auid !== AUID_UNSET) user.audit = { id: String(p.auid), name: auidName };
    const process: Record<string, unknown> = {
      pid: p.pid,
      parent: { pid: p.ppid },
      name: p.comm,
      executable: p.exe,
      title: proctitleText(p.argv),
    };
    if (exec) {
      process.args = p.argv;
      process.working_directory = p.cwd;
    }
    const doc: Record<string, unknown> = {
      '@timestamp': iso(ev.time),
      agent: { hostname: this.spec.name, name: this.spec.name, id: this.agentId, type: 'auditbeat', version: '8.11.0' },
      ecs: { version: '8.0.0' },
      event: exec
        ? { module: 'auditd', category: ['process'], type: ['start'], action: 'executed', kind: 'event', outcome: 'success' }
        : { module: 'auditd', category: ['network'], type: ['connection', 'start'], action: 'connected-to', kind: 'event', outcome: ok ? 'success' : 'failure' },
      auditd: {
        message_type: 'syscall',
        sequence,
        result: ok ? 'success' : 'fail',
        session: p.ses === AUID_UNSET ? 'unset' : String(p.ses),
        data,
        summary: {
          actor: { primary: auidName, secondary: a.name },
          how: p.exe,
          object: exec ? { type: 'file', primary: p.exe } : { type: 'socket', primary: ev.dest!.ip, secondary: String(ev.dest!.port) },
        },
      },
      host: this.hostEcs(),
      user,
      process,
      service: { type: 'auditd' },
      tags: [exec ? 'exec' : 'imds'],
    };
    if (exec) {
      doc.file = { path: p.execPath ?? p.exe, device: '00:00', inode: String(inodeOf(this.fleet.seed, p.execPath ?? p.exe)), mode: '0755', uid: '0', gid: '0', owner: 'root', group: 'root' };
    } else {
      doc.destination = { ip: ev.dest!.ip, port: ev.dest!.port };
      doc.network = { direction: 'egress' };
    }
    return JSON.stringify(doc);
  }
}

function inodeOf(seed: number, path: string): number {
  return 1000 + (hash32(seed, 'inode', path) % 4_000_000);
}

function uuidFrom(h: number): string {
  const x = [mix32(h), mix32(h + 1), mix32(h + 2), mix32(h + 3)].map((v) => v.toString(16).padStart(8, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-4${x.slice(13, 16)}-a${x.slice(17, 20)}-${x.slice(20, 32)}`;
}

// ---------------------------------------------------------------------------------------------
// The fleet

const WORKLOAD_KINDS: ReadonlySet<string> = new Set<WorkloadKind>([
  'ssm-agent',
  'cloudwatch-agent',
  'monitoring-agent',
  'sdk-refresh',
  'human-cli',
  'weekly-job',
  'ecs-tasks',
  'one-off-script',
]);

function validate(spec: FleetSpec): void {
  if (!Number.isFinite(spec.start)) throw new RangeError('FleetSpec.start must be a finite time in ms');
  if (!Number.isFinite(spec.days) || spec.days <= 0) throw new RangeError('FleetSpec.days must be a positive number');
  if (!Number.isFinite(spec.noisePerHourPerHost) || spec.noisePerHourPerHost < 0) {
    throw new RangeError('FleetSpec.noisePerHourPerHost must be a non-negative number');
  }
  if (!Number.isFinite(spec.seed)) throw new RangeError('FleetSpec.seed must be a finite number');
  const share = spec.nonMetadataShare;
  if (share !== undefined && !(share >= 0 && share < 1)) throw new RangeError('FleetSpec.nonMetadataShare must be in [0, 1)');
  const names = new Set<string>();
  const streams = new Set<string>();
  for (const h of spec.hosts) {
    if (!['auditd', 'auditd-enriched', 'ecs-defend', 'auditbeat'].includes(h.format)) {
      throw new RangeError(`host ${h.name}: unknown format ${String(h.format)}`);
    }
    if (names.has(h.name)) throw new RangeError(`duplicate host name ${h.name}`);
    const stream = `${h.logGroup}\n${h.instanceId}`;
    if (streams.has(stream)) throw new RangeError(`duplicate log stream ${h.instanceId} in ${h.logGroup}`);
    names.add(h.name);
    streams.add(stream);
    for (const w of h.workloads ?? []) {
      if (!WORKLOAD_KINDS.has(w.kind)) throw new RangeError(`host ${h.name}: unknown workload kind ${String(w.kind)}`);
      if (!Number.isInteger(w.uid) || w.uid < 0) throw new RangeError(`host ${h.name}: workload ${w.kind} uid must be a non-negative integer`);
      if (w.from !== undefined && !Number.isFinite(w.from)) throw new RangeError(`host ${h.name}: workload ${w.kind} from must be a finite time in ms`);
    }
  }
  const end = spec.start + spec.days * DAY;
  for (const a of spec.attacks) {
    if (!names.has(a.host)) throw new RangeError(`attack on unknown host ${a.host}`);
    if (!(a.at >= spec.start && a.at < end)) throw new RangeError(`attack on ${a.host} at ${a.at} is outside the simulated period`);
    if (!Number.isInteger(a.uid) || a.uid < 0) throw new RangeError(`attack on ${a.host}: uid must be a non-negative integer`);
    if (!(a.kind in KIND_SLUG)) throw new RangeError(`attack on ${a.host}: unknown kind ${String(a.kind)}`);
  }
}

/**
 * Streams the fleet's CloudWatch Logs events in non-decreasing `timestamp` order.
 * Deterministic: the same spec always yields the same events.
 */
export function* simulateFleet(spec: FleetSpec): Generator<SimulatedEvent> {
  validate(spec);
  const end = spec.start + spec.days * DAY;
  const hosts = spec.hosts.map((h, i) => new HostSim(h, i, spec, spec.attacks));
  let buffer: OutRecord[] = [];
  const seq = { n: 0 };
  for (let sliceStart = spec.start; sliceStart < end; sliceStart += SLICE_MS) {
    const sliceEnd = Math.min(sliceStart + SLICE_MS, end);
    const final = sliceEnd >= end;
    for (const host of hosts) {
      host.collect(sliceEnd);
      host.render(sliceEnd, final, buffer, seq);
    }
    buffer.sort((a, b) => a.ts - b.ts || a.seq - b.seq);
    let ready = buffer.length;
    if (!final) {
      ready = 0;
      while (ready < buffer.length && buffer[ready]!.ts < sliceEnd) ready++;
    }
    for (let i = 0; i < ready; i++) yield buffer[i]!.sim;
    buffer = buffer.slice(ready);
  }
}
