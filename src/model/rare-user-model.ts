// BucketActivity + the user's history --> (rare-by-user model) --> score and explanation
//
// The formula and why are in MODEL.md next to this file. Pure: no clock, no I/O.

export const DAY_MS = 86_400_000;

export interface ModelParameters {
  /** Rolling memory, ms. */
  memoryMs: number;
}

/** What the model knows when it scores one (bucket, user). */
export interface ScoreInput {
  bucketStart: number;
  /** Buckets (starts, ms) in which the user was seen; anything at or after `bucketStart` is ignored. */
  history: readonly number[];
  /** Start of the earliest window the model has read (ms). */
  observedSince: number;
}

export interface Presence {
  /** Days (24 h periods back from the bucket) with at least one bucket seen. */
  daysSeen: number;
  bucketsSeen: number;
  /** Days of memory the model has actually observed before this bucket, 1 to memory days. */
  daysObserved: number;
  /** Earliest bucket seen within memory, if any. */
  firstSeen?: number;
  /** Latest bucket seen before this one, if any. */
  lastSeen?: number;
}

export interface Score {
  /** 0 to 100, one decimal. */
  score: number;
  presence: Presence;
  factors: { confidence: number; days: number; buckets: number };
}

/** The user's presence within memory, strictly before the bucket: the bucket is never its own history. */
export function presenceBefore(input: ScoreInput, params: ModelParameters): Presence {
  const memoryDays = Math.max(1, Math.round(params.memoryMs / DAY_MS));
  const from = input.bucketStart - memoryDays * DAY_MS;
  const days = new Set<number>();
  let bucketsSeen = 0;
  let firstSeen: number | undefined;
  let lastSeen: number | undefined;
  for (const b of input.history) {
    if (b >= input.bucketStart || b < from) continue;
    bucketsSeen++;
    days.add(Math.floor((input.bucketStart - 1 - b) / DAY_MS));
    if (firstSeen === undefined || b < firstSeen) firstSeen = b;
    if (lastSeen === undefined || b > lastSeen) lastSeen = b;
  }
  const observedMs = input.bucketStart - Math.max(input.observedSince, from);
  const daysObserved = Math.min(memoryDays, Math.max(1, Math.ceil(observedMs / DAY_MS)));
  return {
    daysSeen: days.size,
    bucketsSeen,
    daysObserved,
    ...(firstSeen === undefined ? {} : { firstSeen }),
    ...(lastSeen === undefined ? {} : { lastSeen }),
  };
}

/**
 * score = 100 × confidence × days × buckets, where
 * - confidence = 0.75 + 0.25 × daysObserved / memoryDays (a new user after one day scores ≥ 75,
 *   after a full memory 100: the longer the model has watched, the more a newcomer means);
 * - days = (1 − min(1, 2 × daysSeen / daysObserved))² (0 once seen on half the days or more);
 * - buckets = 4 / (4 + bucketsSeen) (repeated recent calls make a user less rare).
 * Every factor only falls as presence grows, so more history never raises the score.
 */
export function scoreBucket(input: ScoreInput, params: ModelParameters): Score {
  const presence = presenceBefore(input, params);
  const memoryDays = Math.max(1, Math.round(params.memoryMs / DAY_MS));
  const confidence = 0.75 + (0.25 * presence.daysObserved) / memoryDays;
  const days = (1 - Math.min(1, (2 * presence.daysSeen) / presence.daysObserved)) ** 2;
  const buckets = 4 / (4 + presence.bucketsSeen);
  // Rounded up to one decimal, so a new user after the learning day stays at or above 75.
  const score = Math.ceil(1000 * confidence * days * buckets) / 10;
  return { score, presence, factors: { confidence, days, buckets } };
}
