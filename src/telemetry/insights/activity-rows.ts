// Logs Insights result rows --> (activity rows) --> ActivityRow[] --> BucketActivity[] --> model
//
// The query (./activity-query.ts) aggregates server-side and returns raw fields: the uid and the
// ENRICHED UID name of auditd, the user fields of ECS documents. Users are named here, client-side,
// with the normalizers' rules (uid 0 is root, else uid:N; ENRICHED and ECS names as given), so that
// a user has the same baseline whichever mode read it. `rowsFromObservations` is the same
// aggregation computed from normalized observations: the reference the query is meant to match,
// used to test that both modes learn and score alike.

import { createHash } from 'node:crypto';
import { bucketStartOf, type BucketActivity } from '../../model/bucket-activity.js';
import type { ActivityRow } from '../../ports.js';
import type { Observation } from '../observation.js';
import { MAX_IDENTITY_CHARS } from '../read-window.js';

/** One row of GetQueryResults, as field name -> value (the API returns strings). */
export type InsightsResultRow = Readonly<Record<string, string | undefined>>;

/** Field names the activity query's final `stats` returns (./activity-query.ts). */
export const ROW_FIELDS = {
  logGroup: 'lg',
  logStream: 'ls',
  ecs: 'ecs',
  host: 'hostKey',
  bucket: 'bucket',
  userName: 'uname',
  userId: 'uidv',
  auditName: 'auname',
  auditId: 'auid',
  calls: 'calls',
  first: 'first',
  last: 'last',
} as const;

/** auditd's and ECS's spellings of "no user" ((u32)-1). */
const UNSET_IDS: ReadonlySet<string> = new Set(['unset', '4294967295', '-1']);

const present = (v: string | undefined): string | undefined => (v === undefined || v.trim() === '' ? undefined : v);

/** Same cut as readWindow's: long names are shortened with a hash so that distinct names stay distinct. */
function boundIdentity(text: string): string {
  const chars = [...text];
  if (chars.length <= MAX_IDENTITY_CHARS) return text;
  return `${chars.slice(0, MAX_IDENTITY_CHARS - 18).join('')}…#${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}

/** auditd's placeholders for an id it could not resolve are not names (as audit-event.ts). */
function isAuditUserName(name: string): boolean {
  return name !== '' && name !== 'unset' && name !== '?' && !/^\d+$/.test(name) && !/^unknown\(.*\)$/.test(name);
}

/** The user of an auditd SYSCALL, as audit-event.ts `userOf` names it. */
export function auditdUser(uid: string | undefined, enrichedName: string | undefined): { name: string; id?: string } {
  const numeric = uid !== undefined && /^\d{1,10}$/.test(uid) ? uid : undefined;
  const id = numeric === undefined ? {} : { id: numeric };
  if (enrichedName !== undefined && isAuditUserName(enrichedName)) return { name: enrichedName, ...id };
  if (numeric === '0') return { name: 'root', ...id };
  if (numeric !== undefined) return { name: `uid:${numeric}`, ...id };
  return { name: 'uid:unknown' };
}

const uidName = (id: string): string => (id === '0' ? 'root' : `uid:${id}`);
const usable = (v: string | undefined): string | undefined => {
  const p = present(v);
  return p === undefined || UNSET_IDS.has(p) ? undefined : p;
};

/** The user of an ECS document, as ecs-document.ts names it; undefined when it has none. */
export function ecsUser(
  name: string | undefined,
  id: string | undefined,
  auditName: string | undefined,
  auditId: string | undefined,
): { name: string; id?: string } | undefined {
  const [n, i, an, ai] = [usable(name), usable(id), usable(auditName), usable(auditId)];
  if (n !== undefined) return i === undefined ? { name: n } : { name: n, id: i };
  if (i !== undefined) return { name: uidName(i), id: i };
  if (an !== undefined) return ai === undefined ? { name: an } : { name: an, id: ai };
  if (ai !== undefined) return { name: uidName(ai), id: ai };
  return undefined;
}

/** `123456789012:/aws/ec2/audit` (Insights' `@log`) -> `/aws/ec2/audit`. */
export function logGroupNameOf(logField: string): string {
  const m = /^\d{12}:(.+)$/.exec(logField);
  return m ? (m[1] as string) : logField;
}

/** ms since the epoch from a number (ms) or Insights' `yyyy-MM-dd HH:mm:ss.SSS` (UTC). */
export function insightsTime(value: string | undefined): number | undefined {
  const v = present(value);
  if (v === undefined) return undefined;
  if (/^-?\d+(\.\d+)?(e\d+)?$/i.test(v)) {
    const n = Number(v);
    return Number.isFinite(n) ? Math.round(n) : undefined;
  }
  const t = Date.parse(/^\d{4}-\d\d-\d\d \d/.test(v) ? `${v.replace(' ', 'T')}Z` : v);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * Result rows to ActivityRows. A row without log group, stream, bucket or a usable user (an ECS
 * document without any user field, as the filter mode skips it) is counted in `skipped`.
 */
export function parseActivityRows(rows: readonly InsightsResultRow[]): { rows: ActivityRow[]; skipped: number } {
  const out: ActivityRow[] = [];
  let skipped = 0;
  for (const row of rows) {
    const f = (k: keyof typeof ROW_FIELDS): string | undefined => present(row[ROW_FIELDS[k]]);
    const group = f('logGroup');
    const stream = f('logStream');
    const bucket = insightsTime(f('bucket'));
    const calls = Number(f('calls') ?? '0');
    const isEcs = Number(f('ecs') ?? '0') > 0;
    const user = isEcs
      ? ecsUser(f('userName'), f('userId'), f('auditName'), f('auditId'))
      : auditdUser(f('userId'), f('userName'));
    if (group === undefined || stream === undefined || bucket === undefined || !(calls > 0) || user === undefined) {
      skipped++;
      continue;
    }
    const first = insightsTime(f('first')) ?? bucket;
    const last = insightsTime(f('last')) ?? first;
    out.push({
      logGroup: logGroupNameOf(group),
      logStream: stream,
      bucketStart: bucket,
      user: boundIdentity(user.name),
      ...(user.id === undefined ? {} : { userId: boundIdentity(user.id) }),
      host: boundIdentity(f('host') ?? stream),
      calls,
      firstTime: first,
      lastTime: last,
    });
  }
  return { rows: mergeActivityRows(out), skipped };
}

const rowKey = (r: ActivityRow): string => [r.logGroup, r.logStream, r.bucketStart, r.user, r.host].join('\u0000');

/**
 * Sums rows of the same (group, stream, bucket, user, host): a query split by time or by log
 * group returns disjoint parts of one aggregate. Sorted, so the outcome never depends on order.
 */
export function mergeActivityRows(rows: readonly ActivityRow[]): ActivityRow[] {
  const merged = new Map<string, ActivityRow>();
  for (const r of rows) {
    const k = rowKey(r);
    const m = merged.get(k);
    if (!m) merged.set(k, { ...r });
    else {
      m.calls += r.calls;
      m.firstTime = Math.min(m.firstTime, r.firstTime);
      m.lastTime = Math.max(m.lastTime, r.lastTime);
      if (m.userId === undefined && r.userId !== undefined) m.userId = r.userId;
    }
  }
  return [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
}

/**
 * What the activity query computes, from normalized observations: calls per (group, stream,
 * bucket, user, host), one per source event. The reference for the query and the test double of
 * an Insights source.
 */
export function rowsFromObservations(observations: readonly Observation[], bucketMs: number): ActivityRow[] {
  const seen = new Set<string>();
  const rows: ActivityRow[] = [];
  for (const o of observations) {
    const eventKey = `${o.source.logGroup}\u0000${o.source.logStream}\u0000${o.source.eventId}\u0000${o.user.name}`;
    if (seen.has(eventKey)) continue;
    seen.add(eventKey);
    rows.push({
      logGroup: o.source.logGroup,
      logStream: o.source.logStream,
      bucketStart: bucketStartOf(o.time, bucketMs),
      user: o.user.name,
      ...(o.user.id === undefined ? {} : { userId: o.user.id }),
      host: o.host,
      calls: 1,
      firstTime: o.time,
      lastTime: o.time,
    });
  }
  return mergeActivityRows(rows);
}

/**
 * (bucket, user) activities from rows, as groupByBucketAndUser builds them from observations,
 * without processes or evidence (those come from the evidence read of what alerts).
 */
export function activitiesFromRows(rows: readonly ActivityRow[]): BucketActivity[] {
  const groups = new Map<string, BucketActivity>();
  for (const r of [...rows].sort((a, b) => a.firstTime - b.firstTime)) {
    const key = `${r.bucketStart}\u0000${r.user}`;
    let g = groups.get(key);
    if (!g) {
      g = { user: r.user, bucketStart: r.bucketStart, hosts: new Map(), processes: new Map(), calls: 0, firstTime: r.firstTime, lastTime: r.lastTime, evidence: [] };
      groups.set(key, g);
    }
    if (r.userId !== undefined) g.userId ??= r.userId;
    g.calls += r.calls;
    g.hosts.set(r.host, (g.hosts.get(r.host) ?? 0) + r.calls);
    g.firstTime = Math.min(g.firstTime, r.firstTime);
    g.lastTime = Math.max(g.lastTime, r.lastTime);
  }
  return [...groups.values()].sort((a, b) => a.bucketStart - b.bucketStart || a.user.localeCompare(b.user));
}

/** The streams whose events explain one (bucket, user). */
export function streamsOf(rows: readonly ActivityRow[], user: string, bucketStart: number): { logGroup: string; logStream: string }[] {
  const streams = new Map<string, { logGroup: string; logStream: string }>();
  for (const r of rows) {
    if (r.user === user && r.bucketStart === bucketStart) streams.set(`${r.logGroup}\u0000${r.logStream}`, { logGroup: r.logGroup, logStream: r.logStream });
  }
  return [...streams.values()];
}
