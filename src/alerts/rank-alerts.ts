// anomalies --> (rank, shared fairly across hosts) --> the ones this run publishes

export interface Rankable {
  id: string;
  host: string;
  score: number;
  bucketStart: number;
}

const byRank = (a: Rankable, b: Rankable): number =>
  b.score - a.score || a.bucketStart - b.bucketStart || a.id.localeCompare(b.id);

/**
 * Orders anomalies by score, taking them from hosts in turn: every host's best anomaly comes
 * before any host's second best, so a thousand anomalies on one noisy host cannot crowd out
 * another host's one.
 */
export function rankFairly<T extends Rankable>(items: readonly T[]): T[] {
  const perHost = new Map<string, T[]>();
  for (const item of [...items].sort(byRank)) {
    const queue = perHost.get(item.host) ?? [];
    queue.push(item);
    perHost.set(item.host, queue);
  }
  const ranked: T[] = [];
  for (let round = 0; ranked.length < items.length; round++) {
    const heads = [...perHost.values()].map((q) => q[round]).filter((x): x is T => x !== undefined);
    ranked.push(...heads.sort(byRank));
  }
  return ranked;
}
