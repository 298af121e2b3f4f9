// every event of a file --> (keep what detection can use) --> candidates and their auditd records
//
// What CloudWatch's filter pattern plus the targeted auditd read would return over all time: the
// events whose message passes the prefilter, and every auditd record that shares an event key
// (group, stream, node, audit id) with a candidate record. readWindow re-reads exactly these per
// window, so keeping only them changes no observation.

import type { AuditEventKey } from '../ports.js';
import { auditEventKeyString } from './auditd/audit-event-key.js';
import { auditIdOf } from './auditd/audit-record.js';
import type { LogEvent } from './log-event.js';
import type { Prefilter } from './prefilter.js';

/** The auditd event key of a record, undefined when the message is not an audit record. */
export function auditKeyOf(event: LogEvent): AuditEventKey | undefined {
  if (!event.message.includes('msg=audit(')) return undefined;
  const id = auditIdOf(event.message);
  return id && { logGroup: event.logGroup, logStream: event.logStream, ...id };
}

/** The events detection can use, in their original order (the reference for the streaming reader). */
export function keepDetectionEvents(events: readonly LogEvent[], prefilter: Prefilter): LogEvent[] {
  const wanted = new Set<string>();
  const candidate = events.map((e) => prefilter(e.message));
  events.forEach((e, i) => {
    if (!candidate[i]) return;
    const key = auditKeyOf(e);
    if (key) wanted.add(auditEventKeyString(key));
  });
  return events.filter((e, i) => {
    if (candidate[i]) return true;
    const key = auditKeyOf(e);
    return key !== undefined && wanted.has(auditEventKeyString(key));
  });
}
