import { describe, expect, it } from 'vitest';
import { groupByBucketAndUser, mainHost, MAX_EVIDENCE } from '../../../src/model/bucket-activity.js';
import type { Observation } from '../../../src/telemetry/observation.js';

const T = Date.parse('2026-11-27T12:00:00Z');
const BUCKET = 15 * 60_000;

const obs = (over: Partial<Observation> & { eventId?: string }): Observation => ({
  time: T,
  host: 'h1',
  user: { name: 'root', id: '0' },
  process: { name: 'curl', executable: '/usr/bin/curl' },
  destination: { endpoint: '169.254.169.254', provider: 'cloud-imds', address: '169.254.169.254', port: 80 },
  via: 'network',
  format: 'ecs',
  source: { logGroup: 'g', logStream: 's', eventId: over.eventId ?? `${over.time ?? T}` },
  ...over,
});

describe('groupByBucketAndUser', () => {
  it('puts calls of one user in one bucket together, whatever their number', () => {
    // Prepare
    const calls = Array.from({ length: 50 }, (_, i) => obs({ time: T + i * 1000, eventId: `e${i}` }));
    // Act
    const groups = groupByBucketAndUser(calls, BUCKET);
    // Assess
    expect(groups).toHaveLength(1);
    expect(groups[0]?.calls).toBe(50);
    expect(groups[0]?.evidence).toHaveLength(MAX_EVIDENCE);
    expect(groups[0]?.evidence[0]?.time).toBe(T);
  });

  it('separates users and buckets', () => {
    const groups = groupByBucketAndUser(
      [obs({ eventId: 'a' }), obs({ eventId: 'b', user: { name: 'www-data' } }), obs({ eventId: 'c', time: T + BUCKET })],
      BUCKET,
    );
    expect(groups.map((g) => [g.user, g.bucketStart - T])).toEqual([
      ['root', 0],
      ['www-data', 0],
      ['root', BUCKET],
    ]);
  });

  it('counts the same source event read twice once', () => {
    const groups = groupByBucketAndUser([obs({ eventId: 'same' }), obs({ eventId: 'same' })], BUCKET);
    expect(groups[0]?.calls).toBe(1);
  });

  it('names the host with the most calls as the main host', () => {
    const groups = groupByBucketAndUser(
      [obs({ eventId: '1', host: 'b' }), obs({ eventId: '2', host: 'a' }), obs({ eventId: '3', host: 'a' })],
      BUCKET,
    );
    expect(mainHost(groups[0] as { hosts: Map<string, number> })).toBe('a');
  });
});
