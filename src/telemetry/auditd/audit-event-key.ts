// The identity of one auditd event (stream, node, ts:serial), shared by the core's join and by
// every source that answers the second, targeted read.

import type { AuditEventKey } from '../../ports.js';
import type { LogEvent } from '../log-event.js';
import { auditIdOf } from './audit-record.js';

export const auditEventKeyString = (k: AuditEventKey): string => `${k.logGroup}\u0000${k.logStream}\u0000${k.node}\u0000${k.auditId}`;

/** The events among `events` that are records of one of the wanted auditd events. */
export function* recordsOfAuditEvents(events: Iterable<LogEvent>, keys: readonly AuditEventKey[]): Generator<LogEvent> {
  const wanted = new Set(keys.map(auditEventKeyString));
  for (const event of events) {
    const id = auditIdOf(event.message);
    if (id && wanted.has(auditEventKeyString({ logGroup: event.logGroup, logStream: event.logStream, ...id }))) yield event;
  }
}
