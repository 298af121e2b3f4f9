// Result rows of the activity query to ActivityRows: users named as the normalizers name them.

import { describe, expect, it } from 'vitest';
import { activitiesFromRows, auditdUser, ecsUser, insightsTime, mergeActivityRows, parseActivityRows, type InsightsResultRow } from '../../../../src/telemetry/insights/activity-rows.js';

const B = Date.UTC(2024, 0, 15, 12);
const base = { lg: '123456789012:/fleet/audit', ls: 'i-0abc', bucket: String(B), calls: '2', first: String(B + 1000), last: String(B + 5000) };

describe('user naming', () => {
  it('names auditd users as the normalizer does: ENRICHED name, root, uid:N, uid:unknown', () => {
    expect(auditdUser('33', 'www-data')).toEqual({ name: 'www-data', id: '33' });
    expect(auditdUser('0', undefined)).toEqual({ name: 'root', id: '0' });
    expect(auditdUser('1001', 'unknown(1001)')).toEqual({ name: 'uid:1001', id: '1001' });
    expect(auditdUser(undefined, undefined)).toEqual({ name: 'uid:unknown' });
  });

  it('names ECS users from the name, else the id, else the audit user; unset ids are no user', () => {
    expect(ecsUser('alice', '1000', undefined, undefined)).toEqual({ name: 'alice', id: '1000' });
    expect(ecsUser(undefined, '0', undefined, undefined)).toEqual({ name: 'root', id: '0' });
    expect(ecsUser(undefined, '4294967295', undefined, '1002')).toEqual({ name: 'uid:1002', id: '1002' });
    expect(ecsUser(undefined, 'unset', undefined, undefined)).toBeUndefined();
  });
});

describe('parseActivityRows', () => {
  it('reads auditd and ECS rows, strips the account from the log group and falls back to the stream for the host', () => {
    // Prepare
    const rows: InsightsResultRow[] = [
      { ...base, ecs: '0', uidv: '33', uname: 'www-data' },
      { ...base, ecs: '1', ls: 'h2', hostKey: 'web-1', uname: 'bob', calls: '1' },
    ];
    // Act
    const { rows: parsed, skipped } = parseActivityRows(rows);
    // Assess
    expect(skipped).toBe(0);
    expect(parsed).toEqual([
      { logGroup: '/fleet/audit', logStream: 'h2', bucketStart: B, user: 'bob', host: 'web-1', calls: 1, firstTime: B + 1000, lastTime: B + 5000 },
      { logGroup: '/fleet/audit', logStream: 'i-0abc', bucketStart: B, user: 'www-data', userId: '33', host: 'i-0abc', calls: 2, firstTime: B + 1000, lastTime: B + 5000 },
    ]);
  });

  it('counts rows it cannot use instead of guessing', () => {
    const { rows, skipped } = parseActivityRows([{ ...base, ecs: '1' }, { ...base, ecs: '0', bucket: 'never' }, { ...base, ecs: '0', calls: '0' }]);
    expect(rows).toEqual([]);
    expect(skipped).toBe(3);
  });

  it('sums the parts of an aggregate that a split query returned separately', () => {
    const part = { ...base, ecs: '0', uidv: '0' };
    const { rows } = parseActivityRows([part, { ...part, calls: '3', first: String(B + 200), last: String(B + 9000) }]);
    expect(rows).toEqual([{ logGroup: '/fleet/audit', logStream: 'i-0abc', bucketStart: B, user: 'root', userId: '0', host: 'i-0abc', calls: 5, firstTime: B + 200, lastTime: B + 9000 }]);
  });
});

describe('activitiesFromRows', () => {
  it('groups rows by bucket and user with calls per host', () => {
    const rows = mergeActivityRows([
      { logGroup: '/g', logStream: 's1', bucketStart: B, user: 'u', host: 'h1', calls: 2, firstTime: B + 10, lastTime: B + 20 },
      { logGroup: '/g', logStream: 's2', bucketStart: B, user: 'u', host: 'h2', calls: 1, firstTime: B + 5, lastTime: B + 30 },
    ]);
    const [a] = activitiesFromRows(rows);
    expect(a).toMatchObject({ user: 'u', bucketStart: B, calls: 3, firstTime: B + 5, lastTime: B + 30 });
    expect([...(a?.hosts ?? [])]).toEqual([
      ['h2', 1],
      ['h1', 2],
    ]);
  });
});

describe('insightsTime', () => {
  it('reads epoch milliseconds and Insights timestamps as UTC', () => {
    expect(insightsTime(String(B))).toBe(B);
    expect(insightsTime('2024-01-15 12:00:00.000')).toBe(B);
    expect(insightsTime('')).toBeUndefined();
  });
});
