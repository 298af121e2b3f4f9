// ScaleFleetOptions --> scaleFleetSpec --> FleetSpec (hosts x users x days) --> groundTruth --> labels
//
// A fleet of any size for benchmarks and detection quality: host roles (web, app, batch, container
// hosts), the four telemetry formats mixed, per-host people and service accounts drawn from the
// seed, realistic cadences (workload-schedule.ts), a share of non-metadata traffic, injected attacks
// and benign rarities, each with a ground-truth label naming the user and host exactly as
// imds-watch reports them. Pure: the spec and its labels are functions of the options alone.

import { attackSteps } from './attack-timeline.js';
import { attackLabel, type AttackKind, type AttackSpec, type FleetSpec, type HostFormat, type HostSpec } from './fleet-simulator.js';
import { derivePrng, hash32, type Prng } from './prng.js';
import { workloadRuns, type WorkloadKind, type WorkloadSpec } from './workload-schedule.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface ScaleFleetOptions {
  seed: number;
  hosts: number;
  days: number;
  /** ms since the epoch; @default Date.UTC(2026, 10, 2) (a Monday, 00:00 UTC) */
  start?: number;
  /** Share of all events that are not metadata traffic, in [0, 1). @default 0.99 */
  nonMetadataShare?: number;
  /** Attacks: an explicit list, or how many to draw (deterministically from the seed). @default max(1, round(hosts * days / 100)) */
  attacks?: number | AttackSpec[];
  /** Drawn attacks happen after this many days (after the learning period). @default 2 */
  attacksAfterDays?: number;
  /** Benign rarities (a new service account rolled out, an admin's one-off script, a weekly job's first run...). @default true */
  benignRarities?: boolean;
}

/** One line of the ground-truth label file (NDJSON), one per attack or benign rarity. */
export interface GroundTruthLabel {
  /** Unique within the spec. */
  label: string;
  /** true: an attack; false: a benign rarity (an alert on it is a false alert, but an explainable one). */
  malicious: boolean;
  /** Attack kind or benign scenario name. */
  kind: string;
  /** Host name as imds-watch reports it (host.name / node= / log stream fallback). */
  host: string;
  /** User as imds-watch names it: the name where the format carries one (ENRICHED, ECS), `root` for uid 0, else `uid:N`. */
  user: string;
  uid: number;
  /** ms: first metadata call of the scenario. */
  at: number;
  /** ms: last metadata call of the scenario. */
  until: number;
}

export type HostRole = 'web' | 'app' | 'batch' | 'container';

const ROLES: readonly HostRole[] = ['web', 'app', 'batch', 'container'];
const ROLE_SUBNET: Record<HostRole, number> = { web: 1, app: 2, batch: 3, container: 4 };
const FORMATS: readonly HostFormat[] = ['auditd', 'auditd-enriched', 'ecs-defend', 'auditbeat'];
export const SCALE_LOG_GROUPS = { auditd: '/imds-watch/fleet/auditd', ecs: '/imds-watch/fleet/ecs' } as const;

/** People with logins (uids are the same on every host, as with a directory service). */
const PEOPLE: readonly (readonly [string, number])[] = [
  ['alice', 1000],
  ['bob', 1101],
  ['carol', 1102],
  ['dave', 1103],
  ['erin', 1104],
  ['frank', 1105],
  ['grace', 1106],
  ['heidi', 1107],
  ['ivan', 1108],
  ['judy', 1109],
];

/** Recurring benign rarities are labelled over their first day: after that the caller is no longer new. */
const RECURRING_RARITY_MS = DAY;

/**
 * The attack scenarios drawn, with who does them and where. The last two are ones a rare-by-user
 * model may not see: the account called before (dormant), or calls every day (misused).
 */
const ATTACK_SCENARIOS: readonly { scenario: string; kind: AttackKind; user?: string; uid?: number; roles: readonly HostRole[] }[] = [
  { scenario: 'web-shell', kind: 'curl-credentials', user: 'www-data', uid: 33, roles: ['web'] },
  { scenario: 'backdoor-user', kind: 'curl-credentials', user: 'systemd-net', uid: 1337, roles: ROLES },
  { scenario: 'ipv6-imds', kind: 'python-ipv6', user: 'postgres', uid: 113, roles: ['batch'] },
  { scenario: 'ecs-task-credential-theft', kind: 'curl-ecs-credentials', user: 'nobody', uid: 65534, roles: ['container'] },
  { scenario: 'gcp-metadata', kind: 'wget-gcp', user: 'jenkins', uid: 112, roles: ['batch'] },
  { scenario: 'dormant-account', kind: 'curl-credentials', user: 'deploy', uid: 1500, roles: ['app'] },
  { scenario: 'misused-regular-caller', kind: 'curl-credentials', roles: ['web', 'app', 'batch'] },
];

function validateOptions(o: ScaleFleetOptions): void {
  if (!Number.isFinite(o.seed)) throw new RangeError('scaleFleetSpec: seed must be a finite number');
  if (!Number.isInteger(o.hosts) || o.hosts < 1 || o.hosts > 65_536) throw new RangeError('scaleFleetSpec: hosts must be an integer from 1 to 65536');
  if (!Number.isFinite(o.days) || o.days <= 0) throw new RangeError('scaleFleetSpec: days must be a positive number');
  const share = o.nonMetadataShare;
  if (share !== undefined && !(share >= 0 && share < 1)) throw new RangeError('scaleFleetSpec: nonMetadataShare must be in [0, 1)');
  if (typeof o.attacks === 'number' && !(Number.isInteger(o.attacks) && o.attacks >= 0)) throw new RangeError('scaleFleetSpec: attacks must be a non-negative integer');
  if (o.attacksAfterDays !== undefined && !(o.attacksAfterDays >= 0)) throw new RangeError('scaleFleetSpec: attacksAfterDays must be non-negative');
}

/** A fleet of `hosts` hosts, formats mixed, host roles (web, app, batch, container hosts), realistic callers. */
export function scaleFleetSpec(options: ScaleFleetOptions): FleetSpec {
  validateOptions(options);
  const { seed, days } = options;
  const start = options.start ?? Date.UTC(2026, 10, 2);
  const end = start + days * DAY;
  const p = derivePrng(seed, 'scale-fleet');
  // Scenarios happen after the learning period, else in the second half of a short period.
  const after = Math.min(start + (options.attacksAfterDays ?? 2) * DAY, start + (days * DAY) / 2);
  const lastStart = Math.max(after, end - 2 * HOUR);
  const when = (r: Prng): number => Math.round(r.range(after, lastStart));

  const hosts: HostSpec[] = [];
  const roles: HostRole[] = [];
  const people = new Map<string, [string, number][]>();
  let plainAuditd = 0;
  for (let i = 0; i < options.hosts; i++) {
    const role = ROLES[i % ROLES.length]!;
    const format = FORMATS[(i + Math.floor(i / ROLES.length)) % FORMATS.length]!;
    const h = derivePrng(seed, 'scale-host', i);
    const name = `ip-10-${ROLE_SUBNET[role]}-${(i >> 8) & 255}-${i & 255}`;
    const auditd = format === 'auditd' || format === 'auditd-enriched';
    const host: HostSpec = {
      name,
      instanceId: `i-0${i.toString(16).padStart(8, '0')}${hash32(seed, 'instance', i).toString(16).padStart(8, '0')}`,
      format,
      logGroup: auditd ? SCALE_LOG_GROUPS.auditd : SCALE_LOG_GROUPS.ecs,
    };
    // ENRICHED hosts name themselves; every other plain auditd host too, the others only by log stream.
    if (format === 'auditd-enriched' || (format === 'auditd' && plainAuditd++ % 2 === 0)) host.auditdNode = true;

    const w: WorkloadSpec[] = [
      { kind: 'ssm-agent', user: 'root', uid: 0 },
      { kind: 'cloudwatch-agent', user: 'cwagent', uid: 995 },
    ];
    if (h.chance(0.5)) w.push({ kind: 'monitoring-agent', user: 'dd-agent', uid: 997 });
    const hostPeople: [string, number][] = [];
    if (role !== 'container') {
      const n = h.int(role === 'batch' ? 0 : 1, 3);
      const pool = [...PEOPLE];
      for (let k = 0; k < n; k++) hostPeople.push([...pool.splice(h.int(0, pool.length - 1), 1)[0]!]);
      for (const [user, uid] of hostPeople) w.push({ kind: 'human-cli', user, uid });
    }
    people.set(name, hostPeople);
    switch (role) {
      case 'web':
        w.push({ kind: 'sdk-refresh', user: 'app', uid: 1001 });
        break;
      case 'app':
        w.push({ kind: 'sdk-refresh', user: 'app', uid: 1001 });
        if (h.chance(0.5)) w.push({ kind: 'sdk-refresh', user: 'api', uid: 1002 });
        // A deploy ran early on: the account then lies dormant (the dormant-account attack's history).
        w.push({ kind: 'one-off-script', user: 'deploy', uid: 1500, from: start + Math.round(h.range(HOUR, 6 * HOUR)) });
        break;
      case 'batch':
        w.push({ kind: 'sdk-refresh', user: 'worker', uid: 1003 });
        w.push({ kind: 'weekly-job', user: 'backup', uid: 34 });
        break;
      case 'container':
        w.push({ kind: 'ecs-tasks', user: 'appuser', uid: 10001 });
        break;
    }
    host.workloads = w;
    hosts.push(host);
    roles.push(role);
  }

  if (options.benignRarities ?? true) addBenignRarities(hosts, roles, p, when);

  let attacks: AttackSpec[];
  if (Array.isArray(options.attacks)) {
    attacks = options.attacks.map((a) => ({ ...a }));
  } else {
    const count = options.attacks ?? Math.max(1, Math.round((options.hosts * days) / 100));
    attacks = drawAttacks(count, hosts, roles, people, p, when);
  }

  return { seed, start, days, hosts, attacks, noisePerHourPerHost: 0, nonMetadataShare: options.nonMetadataShare ?? 0.99 };
}

function addBenignRarities(hosts: HostSpec[], roles: readonly HostRole[], p: Prng, when: (r: Prng) => number): void {
  const add = (i: number, w: WorkloadSpec): void => {
    hosts[i]!.workloads!.push(w);
  };
  // A new service account rolled out to a third of the fleet at once.
  const rollout = when(p);
  hosts.forEach((h, i) => {
    if (i % 3 === 0) add(i, { kind: 'monitoring-agent', user: 'otelcol', uid: 996, from: rollout + p.int(0, 10 * 60_000), rarity: { label: `service-rollout-otelcol@${h.name}`, kind: 'service-rollout' } });
  });
  // An admin's one-off script, by a person who never calls the metadata service otherwise.
  const team = roles.flatMap((r, i) => (r === 'container' ? [] : [i]));
  if (team.length > 0) {
    const i = team[p.int(0, team.length - 1)]!;
    add(i, { kind: 'one-off-script', user: 'oscar', uid: 1190, from: when(p), rarity: { label: `admin-one-off-oscar@${hosts[i]!.name}`, kind: 'admin-one-off' } });
  }
  // A newly deployed app with its own account and hourly credential refresh.
  const apps = roles.flatMap((r, i) => (r === 'app' ? [i] : []));
  if (apps.length > 0) {
    const i = apps[p.int(0, apps.length - 1)]!;
    add(i, { kind: 'sdk-refresh', user: 'billing', uid: 1004, from: when(p), rarity: { label: `new-app-billing@${hosts[i]!.name}`, kind: 'new-app-deploy' } });
  }
  // The weekly job's first run (when the period holds a Sunday night).
  hosts.forEach((h) => {
    for (const w of h.workloads!) {
      if (w.kind === 'weekly-job') w.rarity = { label: `weekly-job-first-run@${h.name}`, kind: 'weekly-job-first-run' };
    }
  });
}

function drawAttacks(
  count: number,
  hosts: readonly HostSpec[],
  roles: readonly HostRole[],
  people: ReadonlyMap<string, [string, number][]>,
  p: Prng,
  when: (r: Prng) => number,
): AttackSpec[] {
  // Scenarios in a seeded order, cycled, so a few attacks already cover several kinds.
  const order = [...ATTACK_SCENARIOS];
  for (let i = order.length - 1; i > 0; i--) {
    const j = p.int(0, i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const attacks: AttackSpec[] = [];
  for (let n = 0; n < count; n++) {
    let s = order[n % order.length]!;
    let eligible = hosts.flatMap((h, i) => (s.roles.includes(roles[i]!) && (s.user !== undefined || (people.get(h.name)?.length ?? 0) > 0) ? [i] : []));
    if (eligible.length === 0) {
      s = ATTACK_SCENARIOS.find((x) => x.scenario === 'backdoor-user')!;
      eligible = hosts.map((_, i) => i);
    }
    const host = hosts[eligible[p.int(0, eligible.length - 1)]!]!;
    let user = s.user;
    let uid = s.uid;
    if (user === undefined || uid === undefined) {
      const hostPeople = people.get(host.name)!;
      [user, uid] = hostPeople[p.int(0, hostPeople.length - 1)]!;
    }
    attacks.push({ at: when(p), host: host.name, user, uid, kind: s.kind, label: `${s.scenario}-${n + 1}`, scenario: s.scenario });
  }
  return attacks;
}

/** The host as imds-watch reports it: ECS host.name; auditd `node=` when the records carry it, else the log stream. */
export function reportedHost(host: HostSpec): string {
  if (host.format === 'ecs-defend' || host.format === 'auditbeat') return host.name;
  return host.auditdNode ? host.name : host.instanceId;
}

/** The user as imds-watch names it: plain auditd carries only the uid. */
export function reportedUser(format: HostFormat, user: string, uid: number): string {
  if (format !== 'auditd') return user;
  return uid === 0 ? 'root' : `uid:${uid}`;
}

/** The ground truth of a spec (pure: derived from the spec, same as what writeFleetNdjson writes). */
export function groundTruth(spec: FleetSpec): GroundTruthLabel[] {
  const end = spec.start + spec.days * DAY;
  const labels: GroundTruthLabel[] = [];
  for (const host of spec.hosts) {
    host.workloads?.forEach((w, i) => {
      if (!w.rarity) return;
      const span = rarityCalls(spec.seed, host.name, i, w, spec.start, end);
      if (!span) return;
      labels.push({ label: w.rarity.label, malicious: false, kind: w.rarity.kind, host: reportedHost(host), user: reportedUser(host.format, w.user, w.uid), uid: w.uid, ...span });
    });
    // Same order and generators as the simulator: the host's attacks by time, numbered.
    const mine = spec.attacks.filter((a) => a.host === host.name).sort((a, b) => a.at - b.at);
    mine.forEach((attack, i) => {
      const steps = attackSteps(attack.kind, attack.at, derivePrng(spec.seed, 'attack', host.name, i, attack.at)).filter((s) => s.metadata);
      if (steps.length === 0) return;
      labels.push({
        label: attackLabel(attack),
        malicious: true,
        kind: attack.scenario ?? attack.kind,
        host: reportedHost(host),
        user: reportedUser(host.format, attack.user, attack.uid),
        uid: attack.uid,
        at: Math.min(...steps.map((s) => s.at)),
        until: Math.max(...steps.map((s) => s.at)),
      });
    });
  }
  return labels.sort((a, b) => a.at - b.at || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
}

const ONE_RUN: ReadonlySet<WorkloadKind> = new Set(['one-off-script', 'weekly-job']);

/** First and last metadata call of a benign rarity: its first run, or its first day for a recurring caller. */
function rarityCalls(seed: number, host: string, index: number, w: WorkloadSpec, start: number, end: number): { at: number; until: number } | undefined {
  let at: number | undefined;
  let until = 0;
  for (const run of workloadRuns(seed, host, index, w, start, end)) {
    if (at !== undefined && (ONE_RUN.has(w.kind) || run.start >= at + RECURRING_RARITY_MS)) break;
    for (const call of run.calls) {
      if (!call.metadata) continue;
      if (at === undefined) at = call.at;
      if (ONE_RUN.has(w.kind) || call.at < at + RECURRING_RARITY_MS) until = Math.max(until, call.at);
    }
  }
  return at === undefined ? undefined : { at, until };
}

/** Whether the spec comes from scaleFleetSpec (its label file is the ground truth). */
export function isScaleSpec(spec: FleetSpec): boolean {
  return spec.hosts.some((h) => h.workloads !== undefined);
}
