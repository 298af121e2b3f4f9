// serverless.yml custom.imdsWatch.shards (the shards parameter)
//   --> (this file, at package time) --> the function's schedules and its reserved concurrency
//
// One shard: the one schedule it always had (no input: the handler reads shard 0). N shards: N
// schedules at the same rate, each with the constant input {"shard": i}, so that every 15 minutes
// N invocations each read their own log groups (src/telemetry/insights/log-group-shards.ts) and
// share the table; reserved concurrency N lets them run side by side.
'use strict';

const RATE = 'rate(15 minutes)';
const MAX_SHARDS = 64;

/** @param {unknown} text @returns {number} */
function parseShards(text) {
  const n = Number(String(text).trim());
  if (!Number.isInteger(n) || n < 1 || n > MAX_SHARDS) throw new Error(`shards must be a whole number from 1 to ${MAX_SHARDS}, got ${JSON.stringify(text)}`);
  return n;
}

/** @param {number} shards */
function schedules(shards) {
  if (shards === 1) return [{ schedule: { rate: RATE, description: 'imds-watch detection run over the last 45 minutes' } }];
  return Array.from({ length: shards }, (_, shard) => ({
    schedule: { rate: RATE, description: `imds-watch detection run over the last 45 minutes, shard ${shard} of ${shards}`, input: { shard } },
  }));
}

const configured = async (resolveVariable) => parseShards(await resolveVariable('self:custom.imdsWatch.shards'));

module.exports = {
  /** `${file(./infra/shard-schedules.cjs):events}` */
  events: async ({ resolveVariable }) => schedules(await configured(resolveVariable)),
  /** `${file(./infra/shard-schedules.cjs):concurrency}`: one run per shard at a time. */
  concurrency: async ({ resolveVariable }) => configured(resolveVariable),
  parseShards,
  schedules,
};
