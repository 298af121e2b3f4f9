import { describe, expect, it } from 'vitest';
import { matchAlerts, type QualityAlert, type QualityLabel } from '../../../../bench/quality/alert-matching.js';
import { addCounts, countQuality, median, qualityRates } from '../../../../bench/quality/quality-metrics.js';

const BUCKET = 15 * 60_000;
const T = Date.parse('2026-11-05T10:00:00Z');

const label = (over: Partial<QualityLabel>): QualityLabel => ({
  label: 'web-shell-1',
  malicious: true,
  kind: 'web-shell',
  host: 'ip-10-1-0-4',
  user: 'www-data',
  at: T + 5 * 60_000,
  until: T + 9 * 60_000,
  ...over,
});

const alert = (over: Partial<QualityAlert>): QualityAlert => ({
  user: 'www-data',
  hosts: ['ip-10-1-0-4'],
  bucketStart: T,
  publishedAt: T + BUCKET,
  score: 80,
  ...over,
});

describe('matching alerts to ground truth', () => {
  it('counts an alert on the attacker, host and bucket as a true positive and the attack as detected', () => {
    const m = matchAlerts([alert({})], [label({})], BUCKET);
    expect(m.alerts[0]?.verdict).toBe('true-positive');
    expect(m.detections).toEqual([{ label: label({}), alertedAt: T + BUCKET }]);
  });

  it('needs the same user, one of the alert hosts and an overlapping bucket', () => {
    const labels = [label({})];
    expect(matchAlerts([alert({ user: 'uid:33' })], labels, BUCKET).alerts[0]?.verdict).toBe('unlabelled');
    expect(matchAlerts([alert({ hosts: ['ip-10-1-0-5'] })], labels, BUCKET).alerts[0]?.verdict).toBe('unlabelled');
    expect(matchAlerts([alert({ hosts: ['ip-10-1-0-5', 'ip-10-1-0-4'] })], labels, BUCKET).alerts[0]?.verdict).toBe('true-positive');
    // The next bucket starts after the label's last call; the previous one ends before its first.
    expect(matchAlerts([alert({ bucketStart: T + BUCKET })], labels, BUCKET).alerts[0]?.verdict).toBe('unlabelled');
    expect(matchAlerts([alert({ bucketStart: T - BUCKET })], labels, BUCKET).alerts[0]?.verdict).toBe('unlabelled');
  });

  it('matches a label spanning two buckets from either bucket', () => {
    const spanning = label({ at: T + 14 * 60_000, until: T + 16 * 60_000 });
    expect(matchAlerts([alert({ bucketStart: T })], [spanning], BUCKET).alerts[0]?.verdict).toBe('true-positive');
    expect(matchAlerts([alert({ bucketStart: T + BUCKET })], [spanning], BUCKET).alerts[0]?.verdict).toBe('true-positive');
  });

  it('tells false alerts on benign rarities from those on unlabelled activity', () => {
    const benign = label({ label: 'service-rollout-otelcol@h1', malicious: false, kind: 'service-rollout', user: 'otelcol', host: 'h1' });
    const m = matchAlerts([alert({ user: 'otelcol', hosts: ['h1'] }), alert({ user: 'alice' })], [benign], BUCKET);
    expect(m.alerts.map((a) => a.verdict)).toEqual(['benign-rarity', 'unlabelled']);
    expect(m.alerts[0]?.labels).toEqual(['service-rollout-otelcol@h1']);
    expect(m.detections).toEqual([]);
  });

  it('takes the earliest publication of the alerts that hit a label as its time to alert', () => {
    const l = label({ until: T + 20 * 60_000 });
    const m = matchAlerts([alert({ bucketStart: T + BUCKET, publishedAt: T + 3 * BUCKET }), alert({ publishedAt: T + 2 * BUCKET })], [l], BUCKET);
    expect(m.detections[0]?.alertedAt).toBe(T + 2 * BUCKET);
  });
});

describe('quality metrics', () => {
  it('derives precision, recall, per-kind recall, false alerts per 1,000 host-days and time to alert', () => {
    const labels = [
      label({}),
      label({ label: 'ipv6-imds-2', kind: 'ipv6-imds', user: 'postgres', host: 'h2', at: T + 3 * 86_400_000, until: T + 3 * 86_400_000 + 40_000 }),
      label({ label: 'new-app@h3', malicious: false, kind: 'new-app-deploy', user: 'billing', host: 'h3' }),
    ];
    const alerts = [alert({ publishedAt: T + 5 * 60_000 + 10 * 60_000 }), alert({ user: 'billing', hosts: ['h3'] }), alert({ user: 'alice', hosts: ['h9'] })];
    const counts = countQuality(matchAlerts(alerts, labels, BUCKET), 500);
    expect(counts).toMatchObject({ alerts: 3, truePositives: 1, falseOnBenign: 1, falseUnlabelled: 1, maliciousLabels: 2, detectedLabels: 1 });
    expect(counts.perKind).toEqual({ 'web-shell': { labels: 1, detected: 1 }, 'ipv6-imds': { labels: 1, detected: 0 } });
    expect(qualityRates(counts)).toEqual({
      precision: 1 / 3,
      recall: 0.5,
      falseAlerts: 2,
      falsePer1000HostDays: 4,
      timeToAlertMedianMs: 10 * 60_000,
      timeToAlertMaxMs: 10 * 60_000,
    });
  });

  it('pools seeds by adding counts, so ratios weigh every seed by its size', () => {
    const a = countQuality(matchAlerts([alert({})], [label({})], BUCKET), 100);
    const b = countQuality(matchAlerts([alert({ user: 'alice' })], [label({ label: 'x', kind: 'ipv6-imds' })], BUCKET), 300);
    const pooled = addCounts(a, b);
    expect(pooled).toMatchObject({ alerts: 2, truePositives: 1, falseUnlabelled: 1, maliciousLabels: 2, detectedLabels: 1, hostDays: 400 });
    expect(pooled.perKind).toEqual({ 'web-shell': { labels: 1, detected: 1 }, 'ipv6-imds': { labels: 1, detected: 0 } });
    expect(qualityRates(pooled).falsePer1000HostDays).toBe(2.5);
  });

  it('leaves precision, recall and time to alert undefined when there is nothing to divide by', () => {
    expect(qualityRates(countQuality(matchAlerts([], [], BUCKET), 0))).toEqual({ falseAlerts: 0, falsePer1000HostDays: 0 });
  });

  it('takes the median of an odd and an even number of values', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeUndefined();
  });
});
