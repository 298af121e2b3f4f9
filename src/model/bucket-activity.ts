// Observation[] --> (group by bucket and user) --> BucketActivity[] --> model
//
// Buckets, not calls: a chatty agent and an hourly SDK refresh are both "seen in the bucket".

import type { Observation } from '../telemetry/observation.js';

/** At most this many source events are kept per (bucket, user) as alert evidence. */
export const MAX_EVIDENCE = 10;

/** Everything one user did against the metadata service in one bucket. */
export interface BucketActivity {
  user: string;
  userId?: string;
  bucketStart: number;
  /** Calls (observations) per host. */
  hosts: Map<string, number>;
  /** Distinct processes, by executable (or name). */
  processes: Map<string, { name?: string; executable?: string; args?: string[] }>;
  calls: number;
  firstTime: number;
  lastTime: number;
  /** The earliest observations, one per source event, at most MAX_EVIDENCE. */
  evidence: Observation[];
}

export const bucketStartOf = (time: number, bucketMs: number): number => Math.floor(time / bucketMs) * bucketMs;

/** Groups observations by (bucket, user). Deterministic: output sorted by bucket, then user. */
export function groupByBucketAndUser(observations: readonly Observation[], bucketMs: number): BucketActivity[] {
  const groups = new Map<string, BucketActivity>();
  const seenEvents = new Map<string, Set<string>>();
  const sorted = [...observations].sort((a, b) => a.time - b.time || a.source.eventId.localeCompare(b.source.eventId));
  for (const o of sorted) {
    const bucketStart = bucketStartOf(o.time, bucketMs);
    const key = `${bucketStart}\u0000${o.user.name}`;
    let g = groups.get(key);
    if (!g) {
      g = {
        user: o.user.name,
        bucketStart,
        hosts: new Map(),
        processes: new Map(),
        calls: 0,
        firstTime: o.time,
        lastTime: o.time,
        evidence: [],
      };
      groups.set(key, g);
      seenEvents.set(key, new Set());
    }
    if (o.user.id !== undefined) g.userId ??= o.user.id;
    const events = seenEvents.get(key) as Set<string>;
    const eventKey = `${o.source.logGroup}\u0000${o.source.logStream}\u0000${o.source.eventId}`;
    if (events.has(eventKey)) continue; // the same source event read twice (overlapping inputs)
    events.add(eventKey);
    g.calls++;
    g.hosts.set(o.host, (g.hosts.get(o.host) ?? 0) + 1);
    const processKey = o.process.executable ?? o.process.name ?? '?';
    if (!g.processes.has(processKey))
      g.processes.set(processKey, { name: o.process.name, executable: o.process.executable, args: o.process.args });
    g.lastTime = o.time;
    if (g.evidence.length < MAX_EVIDENCE) g.evidence.push(o);
  }
  return [...groups.values()].sort((a, b) => a.bucketStart - b.bucketStart || a.user.localeCompare(b.user));
}

/** The host with the most calls (ties: alphabetical), for `host.name`. */
export function mainHost(activity: Pick<BucketActivity, 'hosts'>): string {
  let best = '';
  let bestCalls = -1;
  for (const [host, calls] of activity.hosts) {
    if (calls > bestCalls || (calls === bestCalls && host < best)) [best, bestCalls] = [host, calls];
  }
  return best;
}
