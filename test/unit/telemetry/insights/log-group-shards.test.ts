import { describe, expect, it } from 'vitest';
import { logGroupsOfShard, shardOfLogGroup, stableHash } from '../../../../src/telemetry/insights/log-group-shards.js';

describe('log group shards', () => {
  const groups = Array.from({ length: 200 }, (_, i) => `/fleet/host-${i}`);

  it('gives every log group to exactly one shard', () => {
    const parts = [0, 1, 2, 3].map((s) => logGroupsOfShard(groups, s, 4));
    expect(parts.flat().sort()).toEqual([...groups].sort());
    for (const part of parts) expect(part.length).toBeGreaterThan(20);
  });

  it('is stable: the FNV-1a hash of the name, whatever the order of the list', () => {
    expect(stableHash('')).toBe(0x811c9dc5);
    expect(stableHash('a')).toBe(0xe40c292c);
    expect(logGroupsOfShard([...groups].reverse(), 1, 4).sort()).toEqual(logGroupsOfShard(groups, 1, 4).sort());
  });

  it('honours explicit assignments and rejects shards out of range', () => {
    expect(shardOfLogGroup('/huge', 4, { '/huge': 3 })).toBe(3);
    expect(() => logGroupsOfShard(groups, 4, 4)).toThrow(RangeError);
    expect(() => shardOfLogGroup('/g', 0)).toThrow(RangeError);
  });
});
