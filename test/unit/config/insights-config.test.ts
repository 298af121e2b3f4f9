import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { parseDetectorConfig } from '../../../src/config/detector-config.js';
import { loadEnvironment } from '../../../src/config/environment.js';
import { shardOf } from '../../../src/lambda/detect-job.js';

const env = { TABLE_NAME: 't', TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:t', LOG_GROUPS: '/a,/b' };

describe('Logs Insights mode configuration', () => {
  it('defaults to the FilterLogEvents mode with one shard', () => {
    expect(parseDetectorConfig({})).toMatchObject({ telemetrySource: 'filter', shards: 1, logGroupShards: {}, maxConcurrentQueries: 4 });
  });

  it('reads the mode, the shards and pinned log groups from the environment', () => {
    const { config } = loadEnvironment({ ...env, TELEMETRY_SOURCE: 'insights', SHARDS: '3', LOG_GROUP_SHARDS: '{"/a":2}', INSIGHTS_MAX_CONCURRENT_QUERIES: '6' });
    expect(config).toMatchObject({ telemetrySource: 'insights', shards: 3, logGroupShards: { '/a': 2 }, maxConcurrentQueries: 6 });
  });

  it('names the variable of a bad value', () => {
    expect(() => loadEnvironment({ ...env, TELEMETRY_SOURCE: 'athena' })).toThrow(/TELEMETRY_SOURCE/);
    expect(() => loadEnvironment({ ...env, SHARDS: '2', LOG_GROUP_SHARDS: '{"/a":2}' })).toThrow(/LOG_GROUP_SHARDS/);
    expect(() => loadEnvironment({ ...env, LOG_GROUP_SHARDS: '{' })).toThrow(ConfigError);
  });

  it('takes the shard from the scheduled event, 0 when absent, and rejects one out of range', () => {
    expect(shardOf({ time: 'x' }, 1)).toBe(0);
    expect(shardOf({ shard: 2 }, 3)).toBe(2);
    expect(() => shardOf({ shard: 3 }, 3)).toThrow(ConfigError);
    expect(() => shardOf({ shard: '1' }, 3)).toThrow(ConfigError);
  });
});
