// replay totals --> (a short table for a person at a terminal)

import type { ReplayTotals } from '../replay/replay.js';

const n = (v: number): string => v.toLocaleString('en-US');

export function summaryTable(runs: number, t: ReplayTotals): string {
  const skipped = Object.entries(t.skipped).sort(([a], [b]) => a.localeCompare(b));
  const skippedTotal = skipped.reduce((s, [, v]) => s + (v ?? 0), 0);
  const rows: [string, string][] = [
    ['runs', n(runs)],
    ['events loaded', n(t.eventsLoaded)],
    ['events read (all runs)', n(t.eventsRead)],
    ['candidates (prefilter)', n(t.candidates)],
    ['skipped', n(skippedTotal)],
    ...skipped.map(([reason, v]): [string, string] => [`  ${reason}`, n(v ?? 0)]),
    ['observations', n(t.observations)],
    ['users (most in one run)', n(t.maxUsersPerRun)],
    ['anomalies recorded', n(t.anomalies)],
    ['  excepted', n(t.excepted)],
    ['  expired unpublished', n(t.expired)],
    ['  pending at end', n(t.pendingAtEnd)],
    ['  during learning (no alert)', n(t.duringLearning)],
    ['alerts published', n(t.alerts.length)],
    ['overflow notices', n(t.notices)],
    ['store requests', n(t.storeRequests)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v.padStart(10)}`);
  if (t.alerts.length > 0) {
    lines.push('', 'alerts:');
    for (const a of t.alerts.slice(0, 20)) lines.push(`  ${a.bucketStart}  score ${String(a.score).padStart(5)}  ${a.user} on ${a.host}  (${a.id})`);
    if (t.alerts.length > 20) lines.push(`  … ${t.alerts.length - 20} more`);
  }
  return lines.join('\n');
}
