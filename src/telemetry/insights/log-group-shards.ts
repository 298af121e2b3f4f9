// configured log groups --> (shard assignment) --> the log groups one invocation reads
//
// Past what one invocation can read, the scheduled function runs once per shard (the scheduled
// event carries {"shard": i}); every shard reads its own log groups and all share one table.
// The assignment is a pure function of the name, so every invocation and every deploy agree
// without coordination; `explicit` pins groups to shards (e.g. to balance one huge group).

/** FNV-1a 32-bit: stable across processes and Node versions (unlike a seeded hash). */
export function stableHash(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The shard that reads `logGroup`: the explicit assignment, else its stable hash mod `shards`. */
export function shardOfLogGroup(logGroup: string, shards: number, explicit: Readonly<Record<string, number>> = {}): number {
  if (!(Number.isInteger(shards) && shards >= 1)) throw new RangeError(`shards must be an integer >= 1, got ${shards}`);
  const pinned = explicit[logGroup];
  if (pinned !== undefined) return pinned;
  return stableHash(logGroup) % shards;
}

/** The log groups of one shard, in the given order. */
export function logGroupsOfShard(
  logGroups: readonly string[],
  shard: number,
  shards: number,
  explicit: Readonly<Record<string, number>> = {},
): string[] {
  if (!(Number.isInteger(shard) && shard >= 0 && shard < shards)) throw new RangeError(`shard must be an integer in [0, ${shards}), got ${shard}`);
  return logGroups.filter((g) => shardOfLogGroup(g, shards, explicit) === shard);
}
