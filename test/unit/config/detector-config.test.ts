import { describe, expect, it } from 'vitest';
import { parseDetectorConfig } from '../../../src/config/detector-config.js';
import { formatDuration, parseDuration } from '../../../src/config/duration.js';
import { ConfigError } from '../../../src/errors.js';

describe('detector config', () => {
  it('fills the defaults of the reference rule', () => {
    const c = parseDetectorConfig({});
    expect(c).toMatchObject({
      anomalyThreshold: 75,
      lookbackMs: 45 * 60_000,
      bucketMs: 15 * 60_000,
      maxAlertsPerRun: 100,
      learningPeriodMs: 24 * 3_600_000,
      memoryMs: 30 * 86_400_000,
    });
  });

  it.each([
    [{ anomalyThreshold: 101 }, 'anomalyThreshold'],
    [{ lookbak: '45m' }, 'unknown key "lookbak"'],
    [{ bucketSpan: '7m' }, 'bucketSpan must divide a day'],
    [{ lookback: '20m' }, 'lookback must be a whole number of buckets'],
    [{ memory: '12h' }, 'memory must be at least 1d'],
    [{ learningPeriod: 'a day' }, 'learningPeriod must be a duration'],
    [{ exceptions: [{ reason: 'no target' }] }, 'exceptions.0'],
    [{ exceptions: [{ user: 'backup', reason: 'x', expires: 'soon' }] }, 'exceptions.0.expires'],
    [{ maxAlertsPerRun: 0 }, 'maxAlertsPerRun'],
  ])('rejects %j with an error naming the key', (raw, fragment) => {
    expect(() => parseDetectorConfig(raw, 'cfg.json')).toThrow(ConfigError);
    expect(() => parseDetectorConfig(raw, 'cfg.json')).toThrow(fragment);
  });

  it('keeps exceptions and endpoint changes', () => {
    const c = parseDetectorConfig({
      exceptions: [{ user: 'backup', process: '*restic*', reason: 'nightly backup', expires: '2027-01-01T00:00:00Z' }],
      endpoints: { extra: ['10.0.0.9'] },
    });
    expect(c.exceptions[0]?.reason).toBe('nightly backup');
    expect(c.endpoints).toEqual({ extra: ['10.0.0.9'], exclude: [] });
  });
});

describe('durations', () => {
  it.each([
    ['15m', 900_000],
    ['36h', 129_600_000],
    ['2d', 172_800_000],
    ['30s', 30_000],
  ])('parses %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(formatDuration(ms)).toBe(text);
  });

  it.each(['', '15', 'm', '-1m', '0m', '1.5h', '1w'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});
