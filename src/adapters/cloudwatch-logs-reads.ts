// CloudWatch Logs adapters (FilterLogEvents mode, Logs Insights evidence) --> (paged reads) --> AWS SDK
//
// The reads both modes make, paged the same way and each request retried through the shared
// caller (./cloudwatch-logs-retry.ts): FilterLogEvents queries, and DescribeLogGroups to expand
// a configured prefix into log group names.

import {
  DescribeLogGroupsCommand,
  FilterLogEventsCommand,
  type CloudWatchLogsClient,
  type FilterLogEventsCommandInput,
  type FilteredLogEvent,
} from '@aws-sdk/client-cloudwatch-logs';
import { TelemetrySourceError, type UnreadTelemetry } from '../errors.js';
import type { LogEvent } from '../telemetry/log-event.js';
import { describeError, isResourceNotFound, type RetryingCall } from './cloudwatch-logs-retry.js';

/** Records of one auditd event can carry slightly different CloudWatch timestamps. */
export const AUDIT_RECORD_SLACK_MS = 60_000;

/** FNV-1a, for the id of an event the API returned without one (never seen in practice). */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}

/** The API's event as a LogEvent; undefined when it has no timestamp or no message. */
export function toLogEvent(raw: FilteredLogEvent, logGroup: string): LogEvent | undefined {
  const timestamp = raw.timestamp ?? raw.ingestionTime;
  if (timestamp === undefined || raw.message === undefined) return undefined;
  const logStream = raw.logStreamName ?? '';
  return {
    timestamp,
    ingestionTime: raw.ingestionTime ?? timestamp,
    logGroup,
    logStream,
    eventId: raw.eventId ?? `synthetic-${logStream}-${timestamp}-${fnv1a(raw.message)}`,
    message: raw.message,
  };
}

export interface FilterLogEventsRead {
  input: FilterLogEventsCommandInput;
  /** What is left unread if the time budget runs out during this query. */
  unread: () => UnreadTelemetry;
  /** Events already yielded (`group\0eventId`): not yielded again; updated. */
  seen: Set<string>;
  keep?: (event: LogEvent) => boolean;
  /** Called for each event without a timestamp or a message (not yielded). */
  onMalformed?: () => void;
}

/** One client and one retrying caller (its request counts are the adapter's). */
export class CloudWatchLogsReads {
  public constructor(
    private readonly client: CloudWatchLogsClient,
    private readonly call: RetryingCall,
  ) {}

  /**
   * Every page of one FilterLogEvents query, each request retried until it is read: yields its
   * events not yet in `seen` (and accepted by `keep`). Returns the ResourceNotFoundException when
   * the log group (or stream) does not exist: what that means is the caller's to decide.
   */
  public async *filterLogEvents(read: FilterLogEventsRead): AsyncGenerator<LogEvent, 'done' | { notFound: Error }> {
    const { input, unread, seen, keep, onMalformed } = read;
    const logGroup = input.logGroupName ?? '';
    let nextToken: string | undefined;
    do {
      const request: FilterLogEventsCommandInput = nextToken === undefined ? input : { ...input, nextToken };
      let page;
      try {
        page = await this.call('FilterLogEvents', unread, (abortSignal) => this.client.send(new FilterLogEventsCommand(request), abortSignal ? { abortSignal } : {}));
      } catch (error) {
        if (isResourceNotFound(error)) return { notFound: error instanceof Error ? error : new Error(String(error)) };
        throw error;
      }
      for (const raw of page.events ?? []) {
        const event = toLogEvent(raw, logGroup);
        if (!event) {
          onMalformed?.();
          continue;
        }
        const key = `${logGroup}\u0000${event.eventId}`;
        if (seen.has(key) || (keep && !keep(event))) continue;
        seen.add(key);
        yield event;
      }
      nextToken = page.nextToken;
    } while (nextToken !== undefined && nextToken !== '');
    return 'done';
  }

  /** Names of every log group whose name starts with `prefix` (all pages). */
  public async logGroupsWithPrefix(prefix: string, unread: () => UnreadTelemetry): Promise<string[]> {
    const names: string[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      let page;
      try {
        page = await this.call('DescribeLogGroups', unread, (abortSignal) =>
          this.client.send(
            new DescribeLogGroupsCommand({ ...(prefix === '' ? {} : { logGroupNamePrefix: prefix }), ...(token === undefined ? {} : { nextToken: token }) }),
            abortSignal ? { abortSignal } : {},
          ),
        );
      } catch (error) {
        if (!isResourceNotFound(error)) throw error;
        throw new TelemetrySourceError(`DescribeLogGroups failed for ${prefix}*: ${describeError(error)}`, { cause: error });
      }
      for (const group of page.logGroups ?? []) if (group.logGroupName !== undefined) names.push(group.logGroupName);
      nextToken = page.nextToken;
    } while (nextToken !== undefined && nextToken !== '');
    return names;
  }
}
