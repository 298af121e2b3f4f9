import { createHash } from 'node:crypto';

/**
 * The alert's stable `event.id`: the same (rule, user, bucket) gives the same id in every run,
 * retry and replay, so a repeat can be recognised downstream (and SNS FIFO deduplicates it).
 */
export function anomalyEventId(ruleId: string, user: string, bucketStart: number): string {
  return createHash('sha256').update(`${ruleId}\u0000${user}\u0000${bucketStart}`).digest('hex').slice(0, 32);
}

/** One overflow notice per run: stable for a run time, so a retried run repeats the same id. */
export function overflowNoticeId(ruleId: string, runTime: number): string {
  return createHash('sha256').update(`${ruleId}\u0000overflow\u0000${runTime}`).digest('hex').slice(0, 32);
}
