import { describe, expect, it } from 'vitest';
import { loadEnvironment } from '../../../src/config/environment.js';
import { ConfigError } from '../../../src/errors.js';

const base = { TABLE_NAME: 'imds-watch', TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:alerts', LOG_GROUPS: '/imds-watch/audit, /fleet/ecs*' };

describe('Lambda environment', () => {
  it('reads the resources, the log groups and the defaults', () => {
    const env = loadEnvironment(base);
    expect(env.tableName).toBe('imds-watch');
    expect(env.config.logGroups).toEqual(['/imds-watch/audit', '/fleet/ecs*']);
    expect(env.config.anomalyThreshold).toBe(75);
    expect(env.maxCatchUpRuns).toBe(12);
  });

  it('maps every variable onto its config key', () => {
    const env = loadEnvironment({
      ...base,
      ANOMALY_THRESHOLD: '80',
      MAX_ALERTS_PER_RUN: '50',
      LEARNING_PERIOD: '2d',
      MEMORY: '14d',
      EXCEPTIONS: '[{"user":"backup","reason":"nightly backup"}]',
      EXTRA_ENDPOINTS: '10.0.0.9',
      AWS_REGION: 'eu-west-1',
      MAX_CATCH_UP_RUNS: '4',
    });
    expect(env.config).toMatchObject({ anomalyThreshold: 80, maxAlertsPerRun: 50, learningPeriodMs: 2 * 86_400_000, memoryMs: 14 * 86_400_000, region: 'eu-west-1' });
    expect(env.config.exceptions[0]?.reason).toBe('nightly backup');
    expect(env.config.endpoints.extra).toEqual(['10.0.0.9']);
    expect(env.maxCatchUpRuns).toBe(4);
  });

  it.each([
    [{ TABLE_NAME: undefined }, 'TABLE_NAME is not set'],
    [{ TOPIC_ARN: '' }, 'TOPIC_ARN is not set'],
    [{ LOG_GROUPS: ' , ' }, 'LOG_GROUPS names no log group'],
    [{ ANOMALY_THRESHOLD: 'high' }, 'invalid ANOMALY_THRESHOLD'],
    [{ LEARNING_PERIOD: '1 day' }, 'invalid LEARNING_PERIOD'],
    [{ EXCEPTIONS: '[{user:' }, 'EXCEPTIONS is not valid JSON'],
    [{ EXCEPTIONS: '[{"user":"x"}]' }, 'invalid EXCEPTIONS.0.reason'],
    [{ MAX_CATCH_UP_RUNS: '0' }, 'invalid MAX_CATCH_UP_RUNS'],
  ])('fails at cold start naming the variable: %j', (override, message) => {
    expect(() => loadEnvironment({ ...base, ...override })).toThrow(ConfigError);
    expect(() => loadEnvironment({ ...base, ...override })).toThrow(message);
  });
});
