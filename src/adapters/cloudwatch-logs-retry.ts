// CloudWatch Logs adapters (FilterLogEvents, Logs Insights) --> (one request, retried with backoff
// within the time budget) --> AWS SDK
//
// Throttling and transient errors are retried with exponential backoff and full jitter; exhausted
// retries throw TelemetrySourceError; the deadline throws TelemetryBudgetExceeded with what was
// not read, and a request in flight at the deadline is aborted. ResourceNotFoundException is
// rethrown as is: each adapter decides what a missing group or stream means.

import { setTimeout as delay } from 'node:timers/promises';
import { TelemetryBudgetExceeded, TelemetrySourceError, type UnreadTelemetry } from '../errors.js';

/** Options of {@link createRetryingCaller}. */
export type RetryOptions = {
  budget: { deadline: () => number; now: () => number };
  /** @default 5 */
  maxRetries?: number;
  /** @default 200 */
  baseDelayMs?: number;
  /** @default 10000 */
  maxDelayMs?: number;
  /** @default node:timers/promises setTimeout */
  sleep?: (ms: number) => Promise<void>;
  /** @default Math.random */
  random?: () => number;
};

const RETRYABLE_ERRORS: ReadonlySet<string> = new Set([
  'ThrottlingException',
  'LimitExceededException',
  'ServiceUnavailableException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'Throttling',
  'InternalFailure',
  'InternalServerError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);
const SOCKET_ERRORS: ReadonlySet<string> = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_SOCKET']);
const MAX_TIMER_MS = 2_147_483_647;

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown; attempts?: unknown };
}
const shapeOf = (error: unknown): ErrorShape => (typeof error === 'object' && error !== null ? (error as ErrorShape) : {});

export function isRetryable(error: unknown): boolean {
  const e = shapeOf(error);
  if (typeof e.name === 'string' && RETRYABLE_ERRORS.has(e.name)) return true;
  if (typeof e.code === 'string' && SOCKET_ERRORS.has(e.code)) return true;
  if (e.$retryable !== undefined && e.$retryable !== null && e.$retryable !== false) return true;
  const status = e.$metadata?.httpStatusCode;
  return typeof status === 'number' && (status >= 500 || status === 429);
}

export const isResourceNotFound = (error: unknown): boolean => shapeOf(error).name === 'ResourceNotFoundException';

function attemptsOf(outcome: unknown): number {
  const attempts = shapeOf(outcome).$metadata?.attempts;
  return typeof attempts === 'number' && Number.isInteger(attempts) && attempts > 0 ? attempts : 1;
}

export function describeError(error: unknown): string {
  const e = shapeOf(error);
  const name = typeof e.name === 'string' ? e.name : 'Error';
  return `${name}: ${error instanceof Error ? error.message : String(error)}`;
}

export function budgetExceeded(operation: string, unread: UnreadTelemetry, cause?: unknown): TelemetryBudgetExceeded {
  const groups = unread.logGroups.length === 1 ? unread.logGroups[0] : `${unread.logGroups.length} log groups`;
  return new TelemetryBudgetExceeded(
    `time budget reached during ${operation} (${unread.read}): ${groups} not read completely between ` +
      `${new Date(unread.start).toISOString()} and ${new Date(unread.end).toISOString()}`,
    unread,
    cause === undefined ? undefined : { cause },
  );
}

export type RetryingCall = <T>(operation: string, unread: () => UnreadTelemetry, send: (abortSignal?: AbortSignal) => Promise<T>) => Promise<T>;

/**
 * A `call(operation, unread, send)` that retries `send` as described above and counts every
 * request (the SDK's own retries included) in `counts`. ResourceNotFoundException is rethrown as is.
 */
export function createRetryingCaller(options: RetryOptions, counts: Record<string, number>): RetryingCall {
  const { budget, maxRetries = 5, baseDelayMs = 200, maxDelayMs = 10_000 } = options;
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const random = options.random ?? Math.random;
  const count = (operation: string, n: number): void => {
    counts[operation] = (counts[operation] ?? 0) + n;
  };
  return async (operation, unread, send) => {
    for (let attempt = 0; ; attempt++) {
      const remaining = budget.deadline() - budget.now();
      if (remaining <= 0) throw budgetExceeded(operation, unread());
      const abortSignal = remaining < MAX_TIMER_MS ? AbortSignal.timeout(remaining) : undefined;
      let error: unknown;
      try {
        const output = await send(abortSignal);
        count(operation, attemptsOf(output));
        return output;
      } catch (caught) {
        error = caught;
        count(operation, attemptsOf(caught));
      }
      if (abortSignal?.aborted) throw budgetExceeded(operation, unread(), error);
      if (isResourceNotFound(error)) throw error;
      if (!isRetryable(error)) throw new TelemetrySourceError(`${operation} failed: ${describeError(error)}`, { cause: error });
      if (attempt >= maxRetries) throw new TelemetrySourceError(`${operation} still failing after ${attempt + 1} attempts: ${describeError(error)}`, { cause: error });
      const backoff = Math.floor(random() * Math.min(maxDelayMs, baseDelayMs * 2 ** attempt));
      if (budget.now() + backoff >= budget.deadline()) throw budgetExceeded(operation, unread(), error);
      await sleep(backoff);
    }
  };
}
