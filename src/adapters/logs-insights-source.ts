// runDetection --> AggregatedTelemetrySource --> (Logs Insights adapter) --> StartQuery / GetQueryResults / StopQuery
//
// One run = one aggregation query (../telemetry/insights/activity-query.ts) over the shard's log
// groups, in batches of at most 50 groups, at most `maxConcurrentQueries` at a time. Limits are
// handled, never silently truncated (INSIGHTS.md, "Limits"):
// - a query that returns `rowLimit` rows may have been cut: it is split (log groups in halves,
//   then the window by bucket, then by halves down to a minute) and re-run; the parts are summed;
// - StartQuery throttling (LimitExceededException: too many concurrent queries) and transient
//   errors are retried with backoff; GetQueryResults is polled with backoff until the query ends;
// - Failed / Cancelled / Timeout fail the run (Lambda retries it; the checkpoint does not move);
// - the time budget stops the queries still running (StopQuery) and fails the run with what was
//   not read (TelemetryBudgetExceeded);
// - a log group that does not exist is reported in `missingLogGroups`, not fatal (as FilterLogEvents mode).

import {
  GetQueryResultsCommand,
  StartQueryCommand,
  StopQueryCommand,
  type CloudWatchLogsClient,
  type GetQueryResultsCommandOutput,
} from '@aws-sdk/client-cloudwatch-logs';
import type { EndpointCatalogue } from '../endpoints/endpoint-catalogue.js';
import { ConfigError, TelemetrySourceError, type UnreadTelemetry } from '../errors.js';
import type { ActivityReading, AggregatedTelemetrySource, EvidenceTarget, TelemetrySource, TimeWindow } from '../ports.js';
import { buildFilterPatterns } from '../telemetry/cloudwatch-filter-pattern.js';
import { buildActivityQuery } from '../telemetry/insights/activity-query.js';
import { parseActivityRows, type InsightsResultRow } from '../telemetry/insights/activity-rows.js';
import { logGroupsOfShard } from '../telemetry/insights/log-group-shards.js';
import { CloudWatchLogsReads } from './cloudwatch-logs-reads.js';
import { StreamEvidenceSource } from './logs-insights-evidence.js';
import { budgetExceeded, createRetryingCaller, isResourceNotFound, type RetryOptions, type RetryingCall } from './cloudwatch-logs-retry.js';

/** StartQuery accepts at most this many log group names (logGroupNames). */
export const MAX_LOG_GROUPS_PER_QUERY = 50;
/** The most rows one query returns (StartQuery `limit`, GetQueryResults). */
export const MAX_QUERY_ROWS = 10_000;
/** Default of maxConcurrentQueries: well below the account's concurrent-query quota (30 by default). */
export const DEFAULT_CONCURRENT_QUERIES = 4;
const MINUTE_MS = 60_000;

/** Options of {@link LogsInsightsSource}. */
export type LogsInsightsSourceOptions = RetryOptions & {
  client: CloudWatchLogsClient;
  /** Log group names, or prefixes ending in `*`, resolved with DescribeLogGroups once per instance. */
  logGroups: readonly string[];
  catalogue: EndpointCatalogue;
  bucketMs: number;
  /** This invocation's shard and the number of shards. @default 0 of 1 */
  shard?: number;
  shards?: number;
  /** Log groups pinned to a shard (resolved names). @default {} */
  logGroupShards?: Readonly<Record<string, number>>;
  /** Queries running at once (each counts against the account quota). @default 4 */
  maxConcurrentQueries?: number;
  /** Log groups per query, at most 50. @default 50 */
  logGroupsPerQuery?: number;
  /** Rows per query; a query that returns this many is split. @default 10000 */
  rowLimit?: number;
  /** First and largest wait between GetQueryResults polls (ms). @default 500 / 5000 */
  pollDelayMs?: number;
  maxPollDelayMs?: number;
};

interface Part {
  logGroups: string[];
  start: number;
  end: number;
}

type QueryStatus = NonNullable<GetQueryResultsCommandOutput['status']>;

/**
 * {@link AggregatedTelemetrySource} over CloudWatch Logs Insights.
 *
 * @example
 * const source = new LogsInsightsSource({
 *   client: new CloudWatchLogsClient({ maxAttempts: 2 }), logGroups: ['/fleet/audit*'],
 *   catalogue, bucketMs: 900_000, shard: 0, shards: 4,
 *   budget: { deadline: () => deadline, now: Date.now },
 * });
 * const { rows } = await source.activity({ start: t - 2_700_000, end: t });
 */
export class LogsInsightsSource implements AggregatedTelemetrySource {
  public readonly missingLogGroups: string[] = [];
  /** The query text (without its time filter), for the logs and the docs. */
  public readonly query: string;
  private readonly options: LogsInsightsSourceOptions;
  private readonly counts: Record<string, number> = {};
  private readonly call: RetryingCall;
  private readonly reads: CloudWatchLogsReads;
  private readonly filterPatterns: readonly string[];
  private readonly shard: number;
  private readonly shards: number;
  private resolved: string[] | undefined;
  private bytesScanned = 0;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  public constructor(options: LogsInsightsSourceOptions) {
    for (const group of options.logGroups) {
      if (group === '' || group.slice(0, -1).includes('*')) throw new ConfigError(`logGroups: ${JSON.stringify(group)} is neither a log group name nor a prefix ending in '*'`);
    }
    const perQuery = options.logGroupsPerQuery ?? MAX_LOG_GROUPS_PER_QUERY;
    if (!(Number.isInteger(perQuery) && perQuery >= 1 && perQuery <= MAX_LOG_GROUPS_PER_QUERY)) throw new RangeError(`logGroupsPerQuery must be 1..${MAX_LOG_GROUPS_PER_QUERY}, got ${perQuery}`);
    const rowLimit = options.rowLimit ?? MAX_QUERY_ROWS;
    if (!(Number.isInteger(rowLimit) && rowLimit >= 1 && rowLimit <= MAX_QUERY_ROWS)) throw new RangeError(`rowLimit must be 1..${MAX_QUERY_ROWS}, got ${rowLimit}`);
    const concurrent = options.maxConcurrentQueries ?? DEFAULT_CONCURRENT_QUERIES;
    if (!(Number.isInteger(concurrent) && concurrent >= 1)) throw new RangeError(`maxConcurrentQueries must be a positive integer, got ${concurrent}`);
    this.options = options;
    this.shard = options.shard ?? 0;
    this.shards = options.shards ?? 1;
    logGroupsOfShard([], this.shard, this.shards); // validates shard and shards
    this.query = buildActivityQuery({ catalogue: options.catalogue, bucketMs: options.bucketMs });
    this.filterPatterns = buildFilterPatterns(options.catalogue.needles);
    this.call = createRetryingCaller(options, this.counts);
    this.reads = new CloudWatchLogsReads(options.client, this.call);
  }

  /** Requests made so far by API operation, retries included; `BytesScanned` is the billed volume. */
  public requestCounts(): Record<string, number> {
    return { ...this.counts, ...(this.bytesScanned > 0 ? { BytesScanned: this.bytesScanned } : {}) };
  }

  public evidence(targets: readonly EvidenceTarget[]): TelemetrySource {
    return new StreamEvidenceSource(this.reads, targets, this.filterPatterns);
  }

  public async activity(window: TimeWindow): Promise<ActivityReading> {
    const reading: ActivityReading = { rows: [], recordsScanned: 0, recordsMatched: 0, bytesScanned: 0, rowsSkipped: 0 };
    if (window.end <= window.start) return reading;
    const groups = await this.resolveLogGroups(window);
    if (groups.length === 0) return reading;
    const perQuery = this.options.logGroupsPerQuery ?? MAX_LOG_GROUPS_PER_QUERY;
    const parts: Part[] = [];
    for (let i = 0; i < groups.length; i += perQuery) parts.push({ logGroups: groups.slice(i, i + perQuery), start: window.start, end: window.end });
    const raw: InsightsResultRow[] = [];
    const failure = { error: undefined as unknown };
    await Promise.all(parts.map((p) => this.runPart(p, raw, reading, failure)));
    if (failure.error !== undefined) throw failure.error;
    const parsed = parseActivityRows(raw);
    reading.rows = parsed.rows;
    reading.rowsSkipped = parsed.skipped;
    return reading;
  }

  /** Runs one part; splits it and runs the halves when it may have been truncated. */
  private async runPart(part: Part, raw: InsightsResultRow[], reading: ActivityReading, failure: { error: unknown }): Promise<void> {
    if (failure.error !== undefined) return;
    let rows: InsightsResultRow[];
    try {
      rows = await this.runQuery(part, reading, failure);
    } catch (error) {
      if (isResourceNotFound(error)) {
        // One of the groups is gone: find which by halving; the others are still read.
        if (part.logGroups.length === 1) {
          this.noteMissing(part.logGroups[0] as string);
          return;
        }
        await Promise.all(halves(part.logGroups).map((g) => this.runPart({ ...part, logGroups: g }, raw, reading, failure)));
        return;
      }
      failure.error ??= error;
      return;
    }
    const limit = this.options.rowLimit ?? MAX_QUERY_ROWS;
    if (rows.length < limit) {
      raw.push(...rows);
      return;
    }
    const split = this.split(part);
    if (!split) {
      failure.error ??= new TelemetrySourceError(
        `Logs Insights returned ${rows.length} rows (the limit) for ${part.logGroups[0] ?? ''} between ` +
          `${new Date(part.start).toISOString()} and ${new Date(part.end).toISOString()}, which cannot be split further: results would be truncated`,
      );
      return;
    }
    this.counts['RowLimitSplits'] = (this.counts['RowLimitSplits'] ?? 0) + 1;
    await Promise.all(split.map((p) => this.runPart(p, raw, reading, failure)));
  }

  /** Log groups in halves; then a multi-bucket window by bucket; then halves down to a minute. */
  private split(part: Part): Part[] | undefined {
    if (part.logGroups.length > 1) return halves(part.logGroups).map((g) => ({ ...part, logGroups: g }));
    const { bucketMs } = this.options;
    const span = part.end - part.start;
    if (span > bucketMs) {
      const out: Part[] = [];
      for (let s = part.start; s < part.end; s = Math.min(part.end, (Math.floor(s / bucketMs) + 1) * bucketMs)) {
        out.push({ ...part, start: s, end: Math.min(part.end, (Math.floor(s / bucketMs) + 1) * bucketMs) });
      }
      if (out.length > 1) return out;
    }
    if (span < 2 * MINUTE_MS) return undefined;
    const mid = part.start + Math.floor(span / 2 / MINUTE_MS) * MINUTE_MS;
    return [
      { ...part, end: mid },
      { ...part, start: mid },
    ];
  }

  private async runQuery(part: Part, reading: ActivityReading, failure: { error: unknown }): Promise<InsightsResultRow[]> {
    const unread = (): UnreadTelemetry => ({ read: 'candidates', logGroups: part.logGroups, start: part.start, end: part.end });
    await this.acquire();
    let queryId: string | undefined;
    try {
      const started = await this.call('StartQuery', unread, (abortSignal) =>
        this.options.client.send(
          new StartQueryCommand({
            logGroupNames: part.logGroups,
            // Whole seconds, both inclusive: the query's own filter keeps exactly [start, end).
            startTime: Math.floor(part.start / 1000),
            endTime: Math.ceil(part.end / 1000),
            queryString: windowedQuery(this.query, part),
            limit: this.options.rowLimit ?? MAX_QUERY_ROWS,
          }),
          abortSignal ? { abortSignal } : {},
        ),
      );
      queryId = started.queryId;
      if (queryId === undefined) throw new TelemetrySourceError('StartQuery returned no queryId');
      let wait = this.options.pollDelayMs ?? 500;
      const maxWait = this.options.maxPollDelayMs ?? 5_000;
      for (;;) {
        if (failure.error !== undefined) throw new TelemetrySourceError('stopped: another query of the run failed');
        const id = queryId;
        const out = await this.call('GetQueryResults', unread, (abortSignal) =>
          this.options.client.send(new GetQueryResultsCommand({ queryId: id }), abortSignal ? { abortSignal } : {}),
        );
        const status: QueryStatus = out.status ?? 'Unknown';
        if (status === 'Complete') {
          queryId = undefined;
          const stats = out.statistics;
          reading.recordsScanned += stats?.recordsScanned ?? 0;
          reading.recordsMatched += stats?.recordsMatched ?? 0;
          reading.bytesScanned += stats?.bytesScanned ?? 0;
          this.bytesScanned += stats?.bytesScanned ?? 0;
          return (out.results ?? []).map(toRow);
        }
        if (status === 'Failed' || status === 'Cancelled' || status === 'Timeout' || status === 'Unknown') {
          queryId = undefined;
          throw new TelemetrySourceError(
            `Logs Insights query ${id} ended ${status} for ${part.logGroups.length} log group(s) between ` +
              `${new Date(part.start).toISOString()} and ${new Date(part.end).toISOString()}`,
          );
        }
        // Scheduled or Running: wait, within the budget.
        const { budget } = this.options;
        if (budget.now() + wait >= budget.deadline()) throw budgetExceeded('GetQueryResults', unread());
        await (this.options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))))(wait);
        wait = Math.min(maxWait, Math.ceil(wait * 1.5));
      }
    } finally {
      // A query left running keeps scanning (and billing) and holds a concurrency slot.
      if (queryId !== undefined) await this.stop(queryId);
      this.release();
    }
  }

  private async stop(queryId: string): Promise<void> {
    this.counts['StopQuery'] = (this.counts['StopQuery'] ?? 0) + 1;
    try {
      await this.options.client.send(new StopQueryCommand({ queryId }), { abortSignal: AbortSignal.timeout(3_000) });
    } catch {
      // Best effort: the query ends by itself at its timeout; the run is failing anyway.
    }
  }

  private async acquire(): Promise<void> {
    const max = this.options.maxConcurrentQueries ?? DEFAULT_CONCURRENT_QUERIES;
    if (this.running < max) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }

  /** The shard's log group names, prefixes expanded (once per instance). */
  private async resolveLogGroups(window: TimeWindow): Promise<string[]> {
    if (this.resolved) return this.resolved;
    const names: string[] = [];
    for (const entry of new Set(this.options.logGroups)) {
      if (!entry.endsWith('*')) {
        names.push(entry);
        continue;
      }
      const prefix = entry.slice(0, -1);
      const unread = (): UnreadTelemetry => ({ read: 'candidates', logGroups: [entry], start: window.start, end: window.end });
      const matched = await this.reads.logGroupsWithPrefix(prefix, unread);
      names.push(...matched);
      if (matched.length === 0) this.noteMissing(entry);
    }
    this.resolved = logGroupsOfShard([...new Set(names)], this.shard, this.shards, this.options.logGroupShards ?? {});
    return this.resolved;
  }

  private noteMissing(entry: string): void {
    if (!this.missingLogGroups.includes(entry)) this.missingLogGroups.push(entry);
  }
}

/** The query restricted to [start, end) in ms: StartQuery's own range is in inclusive seconds. */
export function windowedQuery(query: string, window: TimeWindow): string {
  const lines = query.split('\n');
  const comment = lines[0]?.startsWith('#') ? [lines.shift() as string] : [];
  return [...comment, `filter toMillis(@timestamp) >= ${window.start} and toMillis(@timestamp) < ${window.end}`, ...lines.map((l) => (l.startsWith('|') ? l : `| ${l}`))].join('\n');
}

function halves<T>(items: readonly T[]): T[][] {
  const mid = Math.ceil(items.length / 2);
  return [items.slice(0, mid), items.slice(mid)];
}

function toRow(fields: readonly { field?: string; value?: string }[]): InsightsResultRow {
  const row: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const f of fields) if (f.field !== undefined && f.value !== undefined && f.field !== '@ptr') row[f.field] = f.value;
  return row;
}
