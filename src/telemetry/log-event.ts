// source adapter --> LogEvent --> (normalize) --> Observation

/**
 * One CloudWatch Logs event, as `FilterLogEvents` returns it (plus the log group it came from).
 * Every input format is first turned into these; the core never sees files or SDK types.
 */
export interface LogEvent {
  /** Event time in ms since the epoch (CloudWatch `timestamp`). */
  timestamp: number;
  /** When CloudWatch stored it, ms since the epoch; equals `timestamp` when unknown. */
  ingestionTime: number;
  logGroup: string;
  logStream: string;
  eventId: string;
  message: string;
}

/** Why an input line or event was skipped. Every skip is counted by reason in the run summary. */
export type SkipReason =
  | 'invalid-utf8'
  | 'line-too-long'
  | 'invalid-json'
  | 'unknown-shape'
  | 'bad-timestamp'
  | 'unknown-format'
  | 'auditd-malformed'
  | 'auditd-incomplete';

export type SkipCounts = Partial<Record<SkipReason, number>>;

/** Lines longer than this are skipped unread (CloudWatch's own event limit is 256 KB). */
export const MAX_LINE_BYTES = 256 * 1024;

export function countSkip(counts: SkipCounts, reason: SkipReason, n = 1): void {
  counts[reason] = (counts[reason] ?? 0) + n;
}

export function mergeSkips(into: SkipCounts, from: SkipCounts): void {
  for (const [reason, n] of Object.entries(from) as [SkipReason, number][]) countSkip(into, reason, n);
}
