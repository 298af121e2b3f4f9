import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DAY_MS, scoreBucket } from '../../../src/model/rare-user-model.js';

const BUCKET = 15 * 60_000;
const MEMORY = 30 * DAY_MS;
const params = { memoryMs: MEMORY };
const T = Date.parse('2026-11-27T12:00:00Z');

/** A bucket start before T, within `days` days. */
const pastBucket = (days: number) => fc.integer({ min: 1, max: (days * DAY_MS) / BUCKET }).map((k) => T - k * BUCKET);

describe('rare-by-user model', () => {
  it('scores a user never seen before at 75 or more once the learning period is over', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), (daysWatched) => {
        const s = scoreBucket({ bucketStart: T, history: [], observedSince: T - daysWatched * DAY_MS }, params);
        expect(s.score).toBeGreaterThanOrEqual(75);
      }),
    );
  });

  it('scores a user seen on at least half the days in memory below 25, whatever its time of day', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 0, max: 95 }),
        fc.array(fc.integer({ min: 0, max: 95 }), { minLength: 30, maxLength: 30 }),
        (daysWatched, nowSlot, slots) => {
          // Seen on ceil(D/2) distinct days, each day at its own time of day.
          const bucketStart = T + (nowSlot - 48) * BUCKET;
          const needed = Math.ceil(daysWatched / 2);
          const history = Array.from({ length: needed }, (_, i) => bucketStart - (i + 1) * DAY_MS + ((slots[i] ?? 0) % 90) * BUCKET);
          const s = scoreBucket({ bucketStart, history, observedSince: bucketStart - daysWatched * DAY_MS }, params);
          expect(s.score).toBeLessThan(25);
        },
      ),
    );
  });

  it('never raises the score when history gains presence', () => {
    fc.assert(
      fc.property(
        fc.array(pastBucket(40), { maxLength: 60 }),
        pastBucket(40),
        fc.integer({ min: 1, max: 45 }),
        (history, extra, daysWatched) => {
          const observedSince = T - daysWatched * DAY_MS;
          const before = scoreBucket({ bucketStart: T, history, observedSince }, params);
          const after = scoreBucket({ bucketStart: T, history: [...history, extra], observedSince }, params);
          expect(after.score).toBeLessThanOrEqual(before.score);
        },
      ),
    );
  });

  it('never counts the current bucket or later ones as history', () => {
    fc.assert(
      fc.property(fc.array(pastBucket(30)), fc.array(fc.integer({ min: 0, max: 500 })), (history, later) => {
        const base = scoreBucket({ bucketStart: T, history, observedSince: T - 10 * DAY_MS }, params);
        const withFuture = scoreBucket(
          { bucketStart: T, history: [...history, T, ...later.map((k) => T + k * BUCKET)], observedSince: T - 10 * DAY_MS },
          params,
        );
        expect(withFuture).toEqual(base);
      }),
    );
  });

  it('forgets buckets older than the memory', () => {
    // Prepare: seen every day, but 31 to 40 days ago.
    const history = Array.from({ length: 10 }, (_, i) => T - (31 + i) * DAY_MS);
    // Act
    const s = scoreBucket({ bucketStart: T, history, observedSince: T - 60 * DAY_MS }, params);
    // Assess
    expect(s.presence.bucketsSeen).toBe(0);
    expect(s.score).toBe(100);
  });

  it('scores in [0, 100] for any input', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 * T })), fc.integer({ min: 0, max: 2 * T }), (history, observedSince) => {
        const s = scoreBucket({ bucketStart: T, history, observedSince }, params);
        expect(s.score).toBeGreaterThanOrEqual(0);
        expect(s.score).toBeLessThanOrEqual(100);
      }),
    );
  });

  it('matches the worked examples in MODEL.md', () => {
    const full = T - 30 * DAY_MS;
    expect(scoreBucket({ bucketStart: T, history: [], observedSince: T - DAY_MS }, params).score).toBe(75.9);
    expect(scoreBucket({ bucketStart: T, history: [], observedSince: full }, params).score).toBe(100);
    expect(scoreBucket({ bucketStart: T, history: [T - 20 * DAY_MS], observedSince: full }, params).score).toBe(69.7);
    const fourOnTwo = [T - 2 * DAY_MS, T - 2 * DAY_MS + BUCKET, T - 5 * DAY_MS, T - 5 * DAY_MS + BUCKET];
    expect(scoreBucket({ bucketStart: T, history: fourOnTwo, observedSince: full }, params).score).toBe(37.6);
  });
});
