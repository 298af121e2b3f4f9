// The Logs Insights query text (checked as text: no machine here reaches AWS) and the helpers it is built from.

import { describe, expect, it } from 'vitest';
import { createEndpointCatalogue } from '../../../../src/endpoints/endpoint-catalogue.js';
import { buildActivityQuery, regexLiteral, sockaddrPatterns } from '../../../../src/telemetry/insights/activity-query.js';
import { ROW_FIELDS } from '../../../../src/telemetry/insights/activity-rows.js';

const query = buildActivityQuery({ catalogue: createEndpointCatalogue(), bucketMs: 900_000 });

describe('buildActivityQuery', () => {
  it('joins auditd records per audit id in a first stats, then counts by user, host and bucket in a second', () => {
    const stats = query.split('\n').filter((l) => /^\| stats /.test(l));
    expect(stats).toHaveLength(2);
    expect(stats[0]).toMatch(/ by @log as lg, @logStream as ls, aNode, aSec, aMs, k, bucket$/);
    expect(stats[1]).toMatch(/^\| stats count\(\*\) as calls, min\(t0\) as first, max\(t1\) as last by lg, ls, ecs, hostKey, bucket, uname, uidv, eAuser1 as auname, eAuid1 as auid$/);
  });

  it('returns every field the row parser reads', () => {
    const last = query.split('\n').at(-1) ?? '';
    for (const field of Object.values(ROW_FIELDS)) expect(last).toMatch(new RegExp(`\\b${field}\\b`));
  });

  it('buckets auditd by the record time and everything else by the event time, on the configured span', () => {
    expect(query).toContain('coalesce(aSec * 1000 + aMs, toMillis(@timestamp)) as t');
    expect(query).toContain('floor(t / 900000) * 900000 as bucket');
    expect(buildActivityQuery({ catalogue: createEndpointCatalogue(), bucketMs: 300_000 })).toContain('floor(t / 300000) * 300000');
  });

  it('matches the binary sockaddr of every catalogue address on port 80, in IPv4 and IPv6 forms', () => {
    expect(query).toContain('02000050A9FEA9FE'); // 169.254.169.254:80
    expect(query).toContain('0A000050[0-9A-F]{8}FD000EC2000000000000000000000254'); // [fd00:ec2::254]:80
    expect(query).toContain('0A000050[0-9A-F]{8}00000000000000000000FFFFA9FEA9FE'); // IPv4-mapped
    expect(query).not.toContain('A9FEA97B'); // 169.254.169.123, Amazon Time Sync, is not metadata
  });

  it('matches metadata URLs on command lines, plain and hex-encoded', () => {
    expect(query).toContain(regexLiteral('://169.254.169.254'));
    expect(query).toContain('3A2F2F3136392E3235342E3136392E323534'); // "://169.254.169.254" in hex
  });

  it('lists ECS destinations from the catalogue and leaves out inbound traffic and connection ends', () => {
    expect(query).toMatch(/destination\.ip in \['169\.254\.169\.254', 'fd00:ec2::254'/);
    expect(query).toMatch(/destination\.domain in \['metadata\.google\.internal'/);
    expect(query).toContain("not network.direction in ['ingress', 'inbound', 'incoming']");
  });

  it('follows the catalogue: an extra endpoint is queried, an excluded one is not', () => {
    const custom = buildActivityQuery({ catalogue: createEndpointCatalogue({ extra: ['10.0.0.5'], exclude: ['100.100.100.200'] }), bucketMs: 900_000 });
    expect(custom).toContain('020000500A000005');
    expect(custom).not.toContain('02000050646464C8'); // 100.100.100.200:80
  });

  it('rejects a bucket that is not whole seconds of at least a minute', () => {
    expect(() => buildActivityQuery({ catalogue: createEndpointCatalogue(), bucketMs: 1500 })).toThrow(RangeError);
  });
});

describe('sockaddrPatterns', () => {
  it('writes an IPv4-mapped IPv6 catalogue entry in both families', () => {
    expect(sockaddrPatterns('::ffff:169.254.169.254')).toEqual(['02000050A9FEA9FE', '0A000050[0-9A-F]{8}00000000000000000000FFFFA9FEA9FE']);
  });

  it('returns nothing for a host name', () => {
    expect(sockaddrPatterns('metadata.google.internal')).toEqual([]);
  });
});
