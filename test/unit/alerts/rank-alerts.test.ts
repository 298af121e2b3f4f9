import { describe, expect, it } from 'vitest';
import { rankFairly } from '../../../src/alerts/rank-alerts.js';

describe('rankFairly', () => {
  it('lets a quiet host through the cap however many anomalies a noisy host has', () => {
    // Prepare: 1,000 new users on one host, one real anomaly (lower score) on another.
    const flood = Array.from({ length: 1000 }, (_, i) => ({ id: `f${i}`, host: 'noisy', score: 100, bucketStart: 0 }));
    const real = { id: 'real', host: 'quiet', score: 76, bucketStart: 0 };
    // Act
    const top = rankFairly([...flood, real]).slice(0, 100);
    // Assess
    expect(top.map((x) => x.id)).toContain('real');
    expect(top).toHaveLength(100);
  });

  it('orders by score within a round and keeps every item once', () => {
    const items = [
      { id: 'a1', host: 'a', score: 80, bucketStart: 0 },
      { id: 'a2', host: 'a', score: 90, bucketStart: 0 },
      { id: 'b1', host: 'b', score: 85, bucketStart: 0 },
    ];
    expect(rankFairly(items).map((x) => x.id)).toEqual(['a2', 'b1', 'a1']);
  });

  it('breaks ties by the older bucket, then id', () => {
    const items = [
      { id: 'z', host: 'a', score: 80, bucketStart: 2 },
      { id: 'y', host: 'b', score: 80, bucketStart: 1 },
      { id: 'x', host: 'c', score: 80, bucketStart: 1 },
    ];
    expect(rankFairly(items).map((x) => x.id)).toEqual(['x', 'y', 'z']);
  });
});
