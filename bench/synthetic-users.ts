// bench --> (synthetic metadata callers) --> CloudWatch Logs events of ECS documents
//
// N distinct users each calling the metadata service k times in every 15-minute bucket of a
// window: the input that separates "grows with users" from "grows with events". One CloudWatch
// event per call, an Elastic Defend `connection_attempted` document that ecs-document.ts parses.

import type { LogEvent } from '../src/telemetry/log-event.js';

const BUCKET_MS = 15 * 60_000;
const LOG_GROUP = '/bench/ecs';

export interface SyntheticUsersOptions {
  /** Distinct users. */
  users: number;
  /** Calls each user makes in each bucket of the window (spread over the bucket). */
  callsPerUserPerBucket: number;
  /** Events from here (ms, a bucket boundary) ... */
  from: number;
  /** ... up to here (exclusive). */
  to: number;
  /** Users sharing one host (a host is also a log stream). @default 10 */
  usersPerHost?: number;
  /** Ingestion lag of every event (ms). @default 5000 */
  lagMs?: number;
  /** Number of the first user (and of its host), so that two calls can make disjoint users. @default 0 */
  firstUser?: number;
}

/** `svc-0000042`: sorts like its number, so runs see users in a stable order. */
export const syntheticUserName = (i: number): string => `svc-${String(i).padStart(7, '0')}`;

export const syntheticHostName = (i: number): string => `ip-10-${(i >> 16) & 255}-${(i >> 8) & 255}-${i & 255}`;

/** Every user's calls, in time order within each bucket. Deterministic. */
export function syntheticUserEvents(options: SyntheticUsersOptions): LogEvent[] {
  const { users, callsPerUserPerBucket: k, from, to } = options;
  if (!Number.isInteger(users) || users < 0) throw new RangeError(`users must be a whole number, got ${users}`);
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`callsPerUserPerBucket must be a positive whole number, got ${k}`);
  if (from % BUCKET_MS !== 0 || to <= from) throw new RangeError('from must be a bucket boundary before to');
  const usersPerHost = options.usersPerHost ?? 10;
  const lag = options.lagMs ?? 5_000;
  const first = options.firstUser ?? 0;
  const events: LogEvent[] = [];
  let serial = 0;
  for (let bucket = from; bucket < to; bucket += BUCKET_MS) {
    for (let call = 0; call < k; call++) {
      // Calls spread over the bucket, users interleaved, so no bucket edge is crossed.
      const offset = Math.floor(((call + 0.5) * BUCKET_MS) / k);
      for (let u = first; u < first + users; u++) {
        const time = Math.min(bucket + offset + (u % 1000), bucket + BUCKET_MS - 1);
        const host = syntheticHostName(Math.floor(u / usersPerHost));
        const user = syntheticUserName(u);
        const doc = {
          '@timestamp': new Date(time).toISOString(),
          event: { kind: 'event', category: ['network'], type: ['start'], action: 'connection_attempted', module: 'endpoint' },
          host: { name: host, os: { type: 'linux' } },
          user: { name: user, id: String(10_000 + u) },
          process: { pid: 1000 + (u % 30_000), name: 'python3', executable: '/usr/bin/python3' },
          destination: { ip: '169.254.169.254', port: 80 },
          network: { direction: 'egress', transport: 'tcp' },
        };
        events.push({
          timestamp: time,
          ingestionTime: time + lag,
          logGroup: LOG_GROUP,
          logStream: host,
          // Unique across calls with disjoint users too.
          eventId: `${String(first).padStart(8, '0')}${String(++serial).padStart(48, '0')}`,
          message: JSON.stringify(doc),
        });
      }
    }
  }
  return events;
}
