// replay CLI --> (replay telemetry source) --> runDetection
//
// Recorded events stand in for CloudWatch Logs. A run at time t sees only what CloudWatch would
// have returned then: events of its window whose ingestionTime is at or before t.

import type { AuditEventKey, TelemetrySource, TimeWindow } from '../ports.js';
import { auditEventKeyString } from '../telemetry/auditd/audit-event-key.js';
import { auditKeyOf } from '../telemetry/detection-events.js';
import type { LogEvent } from '../telemetry/log-event.js';

export class ReplayTelemetrySource implements TelemetrySource {
  private readonly events: LogEvent[];
  /** Positions in `events` of the auditd records of each event key, built on the first targeted read. */
  private auditIndex: Map<string, number[]> | undefined;

  /** Events in any order; they are sorted by timestamp once. */
  public constructor(events: LogEvent[]) {
    this.events = [...events].sort((a, b) => a.timestamp - b.timestamp);
  }

  public get size(): number {
    return this.events.length;
  }

  public get span(): { first: number; last: number } | undefined {
    const first = this.events[0];
    if (!first) return undefined;
    const last = this.events.reduce((m, e) => Math.max(m, e.ingestionTime, e.timestamp), first.timestamp);
    return { first: first.timestamp, last };
  }

  public async *candidates(window: TimeWindow): AsyncIterable<LogEvent> {
    yield* this.visible(window);
  }

  /** The visible records of the given auditd events, in time order (as a scan of the window would yield them). */
  public async *auditRecords(window: TimeWindow, keys: readonly AuditEventKey[]): AsyncIterable<LogEvent> {
    const index = (this.auditIndex ??= this.indexAuditRecords());
    const positions = [...new Set(keys.flatMap((k) => index.get(auditEventKeyString(k)) ?? []))].sort((a, b) => a - b);
    for (const i of positions) {
      const event = this.events[i] as LogEvent;
      if (event.timestamp >= window.start && event.timestamp < window.end && event.ingestionTime <= window.end) yield event;
    }
  }

  private indexAuditRecords(): Map<string, number[]> {
    const index = new Map<string, number[]>();
    this.events.forEach((event, i) => {
      const key = auditKeyOf(event);
      if (!key) return;
      const k = auditEventKeyString(key);
      const positions = index.get(k);
      if (positions) positions.push(i);
      else index.set(k, [i]);
    });
    return index;
  }

  private *visible(window: TimeWindow): Generator<LogEvent> {
    for (let i = this.firstAtOrAfter(window.start); i < this.events.length; i++) {
      const event = this.events[i] as LogEvent;
      if (event.timestamp >= window.end) break;
      if (event.ingestionTime <= window.end) yield event;
    }
  }

  private firstAtOrAfter(time: number): number {
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.events[mid] as LogEvent).timestamp < time) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
