import type { FilterLogEventsCommandInput } from '@aws-sdk/client-cloudwatch-logs';
import type { LogEvent } from '../../src/telemetry/log-event.js';

/**
 * A FilterLogEvents answer from recorded events, as CloudWatch gives it: log group, time range
 * (both ends inclusive), stream names, a crude match of the pattern's quoted terms, pages of 50.
 * For aws-sdk-client-mock's `callsFake`.
 */
export function filterLogEventsFrom(events: () => readonly LogEvent[]) {
  return (input: FilterLogEventsCommandInput) => {
    const terms = [...(input.filterPattern ?? '').matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] ?? '').replace(/\\(.)/g, '$1'));
    const matching = events().filter(
      (e) =>
        e.logGroup === input.logGroupName &&
        e.timestamp >= (input.startTime ?? 0) &&
        e.timestamp <= (input.endTime ?? Number.MAX_SAFE_INTEGER) &&
        (!input.logStreamNames || input.logStreamNames.includes(e.logStream)) &&
        (terms.length === 0 || terms.some((t) => e.message.includes(t))),
    );
    const offset = Number(input.nextToken ?? 0);
    const page = matching.slice(offset, offset + 50);
    return {
      events: page.map((e) => ({ timestamp: e.timestamp, ingestionTime: e.ingestionTime, logStreamName: e.logStream, eventId: e.eventId, message: e.message })),
      ...(offset + 50 < matching.length ? { nextToken: String(offset + 50) } : {}),
    };
  };
}
