// runScheduled's outcome --> (health monitor) --> notices to open or clear, and the next state
//
// A detector that stops seeing data must say so: responders trust its silence. Each condition
// is reported once when it starts and once when it clears, never on every run in between.

import { createHash } from 'node:crypto';
import type { HealthCondition, HealthState, TimeWindow } from '../ports.js';

export type HealthConditionName = 'no-telemetry' | 'missing-log-groups' | 'time-budget';

export interface HealthObservation {
  /** Run time of the invocation (its latest run). */
  runTime: number;
  /** Events read by all the runs of the invocation. */
  eventsRead: number;
  missingLogGroups: readonly string[];
  /** Runs left to a later invocation because time ran short. */
  deferredRuns: number;
  uncovered?: TimeWindow;
}

export interface HealthNotice {
  id: string;
  condition: HealthConditionName;
  status: 'open' | 'cleared';
  since: number;
  detail: string;
}

const noticeId = (condition: string, since: number, status: string): string =>
  createHash('sha256').update(`health\u0000${condition}\u0000${since}\u0000${status}`).digest('hex').slice(0, 32);

const iso = (ms: number): string => new Date(ms).toISOString();

/** Pure: what to publish and the state to keep. A fresh deployment starts its clock at its first run. */
export function evaluateHealth(
  state: HealthState,
  seen: HealthObservation,
  noTelemetryAfterMs: number,
): { state: HealthState; notices: HealthNotice[] } {
  const lastEventsAt = seen.eventsRead > 0 ? seen.runTime : (state.lastEventsAt ?? seen.runTime);
  const wanted = new Map<HealthConditionName, { since: number; detail: string }>();
  if (seen.runTime - lastEventsAt >= noTelemetryAfterMs)
    wanted.set('no-telemetry', { since: lastEventsAt, detail: `no telemetry event read since ${iso(lastEventsAt)}` });
  if (seen.missingLogGroups.length > 0)
    wanted.set('missing-log-groups', { since: seen.runTime, detail: `log groups not found: ${[...seen.missingLogGroups].sort().join(', ')}` });
  if (seen.deferredRuns > 0 || seen.uncovered) {
    const parts = [
      ...(seen.deferredRuns > 0 ? [`${seen.deferredRuns} run(s) left for the next invocation`] : []),
      ...(seen.uncovered ? [`telemetry from ${iso(seen.uncovered.start)} to ${iso(seen.uncovered.end)} was not read`] : []),
    ];
    wanted.set('time-budget', { since: seen.runTime, detail: parts.join('; ') });
  }

  const open: Record<string, HealthCondition> = {};
  const notices: HealthNotice[] = [];
  for (const [condition, now] of wanted) {
    const previous = state.open[condition];
    // Still the same problem: keep it open, quietly. A changed list of missing groups is news.
    if (previous && (condition !== 'missing-log-groups' || previous.detail === now.detail)) {
      open[condition] = previous;
      continue;
    }
    const since = previous?.since ?? now.since;
    const id = noticeId(condition, condition === 'missing-log-groups' ? seen.runTime : since, 'open');
    open[condition] = { since, detail: now.detail, noticeId: id };
    notices.push({ id, condition, status: 'open', since, detail: now.detail });
  }
  for (const [condition, previous] of Object.entries(state.open)) {
    if (wanted.has(condition as HealthConditionName)) continue;
    notices.push({
      id: noticeId(condition, previous.since, 'cleared'),
      condition: condition as HealthConditionName,
      status: 'cleared',
      since: previous.since,
      detail: `cleared at ${iso(seen.runTime)}: ${previous.detail}`,
    });
  }
  return { state: { lastEventsAt, open }, notices };
}
