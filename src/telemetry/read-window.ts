// TelemetrySource --> (prefilter, parse, join) --> Observation[] for one window
//
// Two reads, as the CloudWatch adapter does them: the candidate events, then the auditd records
// (SYSCALL above all) of the candidate auditd events, which carry the user but not the address.

import { createHash } from 'node:crypto';
import type { EndpointCatalogue } from '../endpoints/endpoint-catalogue.js';
import type { AuditEventKey, TelemetrySource, TimeWindow } from '../ports.js';
import { auditEventToObservation } from './auditd/audit-event.js';
import { auditEventKeyString } from './auditd/audit-event-key.js';
import { auditIdOf, parseAuditRecord, type AuditRecord } from './auditd/audit-record.js';
import { ecsToObservation } from './ecs/ecs-document.js';
import { countSkip, MAX_LINE_BYTES, type LogEvent, type SkipCounts } from './log-event.js';
import type { Observation } from './observation.js';
import type { Prefilter } from './prefilter.js';

export interface WindowReading {
  observations: Observation[];
  /** Events the source returned (both reads). */
  eventsRead: number;
  /** Events that passed the prefilter. */
  candidates: number;
  skipped: SkipCounts;
  /** Largest and mean ingestion lag (ingestionTime - timestamp) of the events read, ms. */
  lag: { maxMs: number; meanMs: number };
}

interface AuditGroup {
  key: AuditEventKey;
  records: { record: AuditRecord; event: LogEvent }[];
  eventIds: Set<string>;
}

/**
 * User names, user ids and host names longer than this (code points) are cut, with a hash of the
 * whole name so that distinct names stay distinct. They become DynamoDB keys (`USER#<user>`, at
 * most 2,048 bytes): one forged event with a longer name would otherwise fail every run that read it.
 */
export const MAX_IDENTITY_CHARS = 256;

function boundIdentity(text: string): string {
  const chars = [...text];
  if (chars.length <= MAX_IDENTITY_CHARS) return text;
  return `${chars.slice(0, MAX_IDENTITY_CHARS - 18).join('')}…#${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}

function bounded(o: Observation): Observation {
  const { name, id } = o.user;
  if (name.length <= MAX_IDENTITY_CHARS && o.host.length <= MAX_IDENTITY_CHARS && (id === undefined || id.length <= MAX_IDENTITY_CHARS)) return o;
  return { ...o, host: boundIdentity(o.host), user: { name: boundIdentity(name), ...(id === undefined ? {} : { id: boundIdentity(id) }) } };
}


export async function readWindow(
  source: TelemetrySource,
  window: TimeWindow,
  catalogue: EndpointCatalogue,
  prefilter: Prefilter,
): Promise<WindowReading> {
  const observations: Observation[] = [];
  const skipped: SkipCounts = {};
  const audit = new Map<string, AuditGroup>();
  let eventsRead = 0;
  let candidates = 0;
  let lagSum = 0;
  let lagMax = 0;
  let lagCount = 0;

  const addRecord = (event: LogEvent, record: AuditRecord): void => {
    const key: AuditEventKey = { logGroup: event.logGroup, logStream: event.logStream, node: record.node, auditId: record.auditId };
    const k = auditEventKeyString(key);
    let group = audit.get(k);
    if (!group) audit.set(k, (group = { key, records: [], eventIds: new Set() }));
    if (group.eventIds.has(event.eventId)) return;
    group.eventIds.add(event.eventId);
    group.records.push({ record, event });
  };

  const noteLag = (event: LogEvent): void => {
    const lag = Math.max(0, event.ingestionTime - event.timestamp);
    lagSum += lag;
    lagCount++;
    if (lag > lagMax) lagMax = lag;
  };

  for await (const event of source.candidates(window)) {
    eventsRead++;
    noteLag(event);
    if (!prefilter(event.message)) continue;
    candidates++;
    if (event.message.length > MAX_LINE_BYTES) {
      countSkip(skipped, 'line-too-long');
      continue;
    }
    const first = event.message.trimStart()[0];
    if (first === '{') {
      let doc: unknown;
      try {
        doc = JSON.parse(event.message);
      } catch {
        countSkip(skipped, 'invalid-json');
        continue;
      }
      const result = ecsToObservation(doc, event, catalogue);
      if (typeof result === 'string') countSkip(skipped, result);
      else if (result) observations.push(bounded(result));
    } else if (event.message.includes('msg=audit(')) {
      const record = parseAuditRecord(event.message);
      if (record) addRecord(event, record);
      else countSkip(skipped, 'auditd-malformed');
    } else {
      countSkip(skipped, 'unknown-format');
    }
  }

  if (audit.size > 0) {
    const keys = [...audit.values()].map((g) => g.key);
    for await (const event of source.auditRecords(window, keys)) {
      eventsRead++;
      const id = auditIdOf(event.message);
      if (!id) continue;
      const group = audit.get(auditEventKeyString({ logGroup: event.logGroup, logStream: event.logStream, ...id }));
      if (!group || group.eventIds.has(event.eventId)) continue;
      const record = parseAuditRecord(event.message);
      if (record) addRecord(event, record);
    }
    for (const group of audit.values()) {
      const result = auditEventToObservation(group.records, catalogue);
      if (result === 'auditd-incomplete') countSkip(skipped, result);
      else if (result) observations.push(bounded(result));
    }
  }

  return {
    observations,
    eventsRead,
    candidates,
    skipped,
    lag: { maxMs: lagMax, meanMs: lagCount === 0 ? 0 : Math.round(lagSum / lagCount) },
  };
}
