// runDetection (Insights mode, an anomaly that will alert) --> (stream evidence source) --> FilterLogEvents
//
// The aggregate says which log streams hold a user's calls in a bucket; only those streams are
// read, with the same metadata filter patterns as the FilterLogEvents mode, so that the alert's
// evidence, processes and command lines come from the source events through the same
// normalizers. Reads are retried and bounded by the run's time budget like every other read.

import type { FilterLogEventsCommandInput } from '@aws-sdk/client-cloudwatch-logs';
import type { UnreadTelemetry } from '../errors.js';
import type { AuditEventKey, EvidenceTarget, TelemetrySource, TimeWindow } from '../ports.js';
import { auditIdOf } from '../telemetry/auditd/audit-record.js';
import { auditIdFilterPatterns, MAX_LOG_STREAM_NAMES } from '../telemetry/cloudwatch-filter-pattern.js';
import type { LogEvent } from '../telemetry/log-event.js';
import { AUDIT_RECORD_SLACK_MS, type CloudWatchLogsReads } from './cloudwatch-logs-reads.js';

export class StreamEvidenceSource implements TelemetrySource {
  private readonly byGroup = new Map<string, string[]>();

  public constructor(
    private readonly reads: CloudWatchLogsReads,
    targets: readonly EvidenceTarget[],
    private readonly filterPatterns: readonly string[],
  ) {
    for (const t of targets) {
      const streams = this.byGroup.get(t.logGroup) ?? [];
      if (!streams.includes(t.logStream)) streams.push(t.logStream);
      this.byGroup.set(t.logGroup, streams);
    }
  }

  public async *candidates(window: TimeWindow): AsyncIterable<LogEvent> {
    const seen = new Set<string>();
    for (const [logGroup, streams] of this.byGroup) {
      for (let i = 0; i < streams.length; i += MAX_LOG_STREAM_NAMES) {
        const logStreamNames = streams.slice(i, i + MAX_LOG_STREAM_NAMES);
        for (const filterPattern of this.filterPatterns) {
          yield* this.readAll({ logGroupName: logGroup, logStreamNames, startTime: window.start, endTime: window.end - 1, filterPattern }, seen, window);
        }
      }
    }
  }

  public async *auditRecords(window: TimeWindow, keys: readonly AuditEventKey[]): AsyncIterable<LogEvent> {
    const byStream = new Map<string, { logGroup: string; logStream: string; ids: Set<string> }>();
    for (const k of keys) {
      const key = `${k.logGroup}\u0000${k.logStream}`;
      const entry = byStream.get(key) ?? { logGroup: k.logGroup, logStream: k.logStream, ids: new Set<string>() };
      entry.ids.add(`${k.node}\u0000${k.auditId}`);
      byStream.set(key, entry);
    }
    const seen = new Set<string>();
    const start = window.start - AUDIT_RECORD_SLACK_MS;
    const end = window.end + AUDIT_RECORD_SLACK_MS;
    for (const { logGroup, logStream, ids } of byStream.values()) {
      const auditIds = [...new Set([...ids].map((w) => w.slice(w.indexOf('\u0000') + 1)))];
      for (const filterPattern of auditIdFilterPatterns(auditIds)) {
        yield* this.readAll({ logGroupName: logGroup, logStreamNames: [logStream], startTime: start, endTime: end - 1, filterPattern }, seen, { start, end }, (event) => {
          const id = auditIdOf(event.message);
          return id !== undefined && ids.has(`${id.node}\u0000${id.auditId}`);
        });
      }
    }
  }

  private async *readAll(input: FilterLogEventsCommandInput, seen: Set<string>, window: TimeWindow, keep?: (event: LogEvent) => boolean): AsyncGenerator<LogEvent> {
    const logGroup = input.logGroupName ?? '';
    const unread = (): UnreadTelemetry => ({ read: keep ? 'auditRecords' : 'candidates', logGroups: [logGroup], start: window.start, end: window.end });
    // A stream or group deleted since the query ran (the read returns it as not found): its
    // evidence is gone, not an error of the run.
    yield* this.reads.filterLogEvents({ input, unread, seen, ...(keep ? { keep } : {}) });
  }
}
