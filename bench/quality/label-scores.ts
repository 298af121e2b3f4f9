// offline scores + a label --> (the label's buckets) --> the highest score a detector gave them
//
// Why a detector missed an attack: how close its score came, in the buckets where the label's user
// called from the label's host. Pure.

import { alertHitsLabel, type QualityLabel } from './alert-matching.js';
import type { OfflineScore } from './offline-detectors.js';

/** The highest score of the label's (bucket, user) pairs on its host; undefined when none was scored. */
export function highestScoreOfLabel(scores: readonly OfflineScore[], label: QualityLabel, bucketMs: number): number | undefined {
  let best: number | undefined;
  for (const s of scores) {
    if (!alertHitsLabel({ user: s.user, hosts: s.hosts, bucketStart: s.bucketStart, publishedAt: s.runTime, score: s.score }, label, bucketMs)) continue;
    if (best === undefined || s.score > best) best = s.score;
  }
  return best;
}
