import { describe, expect, it } from 'vitest';
import { evaluateHealth } from '../../../src/health/health-monitor.js';

const T = Date.parse('2026-11-02T12:00:00Z');
const M = 60_000;
const HOUR = 60 * M;
const seen = (over: Partial<Parameters<typeof evaluateHealth>[1]> = {}) => ({ runTime: T, eventsRead: 10, missingLogGroups: [], deferredRuns: 0, ...over });

describe('health monitor', () => {
  it('opens a no-telemetry condition once after the configured silence, and clears it when data returns', () => {
    // Prepare: data last read at T.
    let state = evaluateHealth({ open: {} }, seen(), HOUR).state;
    // Act: 45 minutes, then an hour, then more silence, then data.
    const quiet = evaluateHealth(state, seen({ runTime: T + 45 * M, eventsRead: 0 }), HOUR);
    const opened = evaluateHealth(quiet.state, seen({ runTime: T + HOUR, eventsRead: 0 }), HOUR);
    const still = evaluateHealth(opened.state, seen({ runTime: T + 2 * HOUR, eventsRead: 0 }), HOUR);
    const cleared = evaluateHealth(still.state, seen({ runTime: T + 3 * HOUR, eventsRead: 5 }), HOUR);
    state = cleared.state;
    // Assess
    expect(quiet.notices).toEqual([]);
    expect(opened.notices.map((n) => [n.condition, n.status])).toEqual([['no-telemetry', 'open']]);
    expect(still.notices).toEqual([]);
    expect(cleared.notices.map((n) => [n.condition, n.status])).toEqual([['no-telemetry', 'cleared']]);
    expect(state.open).toEqual({});
  });

  it('counts the silence of a fresh deployment from its first run', () => {
    const first = evaluateHealth({ open: {} }, seen({ eventsRead: 0 }), HOUR);
    expect(first.notices).toEqual([]);
    expect(evaluateHealth(first.state, seen({ runTime: T + HOUR, eventsRead: 0 }), HOUR).notices).toHaveLength(1);
  });

  it('reports missing log groups, again when the list changes, and their return', () => {
    const a = evaluateHealth({ open: {} }, seen({ missingLogGroups: ['/a'] }), HOUR);
    const same = evaluateHealth(a.state, seen({ runTime: T + 15 * M, missingLogGroups: ['/a'] }), HOUR);
    const more = evaluateHealth(same.state, seen({ runTime: T + 30 * M, missingLogGroups: ['/a', '/b'] }), HOUR);
    const back = evaluateHealth(more.state, seen({ runTime: T + 45 * M }), HOUR);
    expect([a, same, more, back].map((r) => r.notices.map((n) => `${n.condition}:${n.status}`))).toEqual([
      ['missing-log-groups:open'],
      [],
      ['missing-log-groups:open'],
      ['missing-log-groups:cleared'],
    ]);
  });

  it('reports runs past their time budget and gaps that were not read', () => {
    const r = evaluateHealth({ open: {} }, seen({ deferredRuns: 3, uncovered: { start: T - 10 * HOUR, end: T - 2 * HOUR } }), HOUR);
    expect(r.notices[0]).toMatchObject({ condition: 'time-budget', status: 'open' });
    expect(r.notices[0]?.detail).toMatch(/3 run\(s\) left.*was not read/);
  });

  it('gives a notice the same id when a retried run reports the same change', () => {
    const state = evaluateHealth({ open: {} }, seen(), HOUR).state;
    const once = evaluateHealth(state, seen({ runTime: T + HOUR, eventsRead: 0 }), HOUR);
    const again = evaluateHealth(state, seen({ runTime: T + HOUR, eventsRead: 0 }), HOUR);
    expect(again.notices.map((n) => n.id)).toEqual(once.notices.map((n) => n.id));
  });
});
