// runDetection --> TelemetrySource --> (CloudWatch Logs adapter) --> FilterLogEvents / DescribeLogGroups
//
// Two reads per run, as readWindow asks for them:
//   1. candidates: per log group, one FilterLogEvents query per filter pattern (see
//      ../telemetry/FILTER_PATTERN.md), paginated to the end, merged by eventId. Only lines that
//      may reference the metadata service travel.
//   2. auditRecords: the SOCKADDR/EXECVE/PROCTITLE records that matched carry the address, not the
//      user; queries for the `audit(ID)` of those events fetch their SYSCALL (and every other record
//      of the same serial). One query names up to 100 streams of a log group and ORs the ids of all
//      of them (auditRecordQueries), so a large fleet costs a request per some 65 ids, not per host.
//
// A run that cannot read its whole window must fail loudly: Lambda retries it and the checkpoint
// does not move. So a page is never skipped: throttling and transient failures are retried with
// backoff; exhausted retries throw TelemetrySourceError, and reaching the time budget throws
// TelemetryBudgetExceeded with what was not read. Only a log group that does not exist is not
// fatal: it is reported in `missingLogGroups`.

import type { CloudWatchLogsClient, FilterLogEventsCommandInput } from '@aws-sdk/client-cloudwatch-logs';
import { ConfigError, type UnreadTelemetry } from '../errors.js';
import { AUDIT_RECORD_SLACK_MS, CloudWatchLogsReads } from './cloudwatch-logs-reads.js';
import { createRetryingCaller } from './cloudwatch-logs-retry.js';
import type { AuditEventKey, TelemetrySource, TimeWindow } from '../ports.js';
import { auditIdOf } from '../telemetry/auditd/audit-record.js';
import { auditRecordQueries, buildFilterPatterns } from '../telemetry/cloudwatch-filter-pattern.js';
import type { LogEvent } from '../telemetry/log-event.js';

/** Options of {@link CloudWatchLogsSource}. */
export type CloudWatchLogsSourceOptions = {
  /** Configure the SDK's own retry small (`maxAttempts: 2`): this source adds backoff around every page. */
  client: CloudWatchLogsClient;
  /** Log group names, or prefixes ending in `*` (`/aws/ec2/audit*`) resolved with DescribeLogGroups once per instance. */
  logGroups: readonly string[];
  /** The endpoint catalogue's needles; turned into the filter patterns once. */
  needles: readonly string[];
  budget: {
    /** Time (ms since the epoch) by which reading must stop. Read before every request. */
    deadline: () => number;
    now: () => number;
  };
  /** FilterLogEvents `limit`, 1 to 10,000. @default the API's default (10,000 events or 1 MB) */
  pageLimit?: number;
  /** Retries of one request after a throttling or transient error, before a TelemetrySourceError. @default 5 */
  maxRetries?: number;
  /** Backoff before the first retry (ms); doubled each time, full jitter. @default 200 */
  baseDelayMs?: number;
  /** Upper bound of one backoff (ms). @default 10000 */
  maxDelayMs?: number;
  /** Injectable for tests. @default node:timers/promises setTimeout */
  sleep?: (ms: number) => Promise<void>;
  /** Uniform in [0, 1), for the jitter. @default Math.random */
  random?: () => number;
};

/** A ResourceNotFoundException about a log stream ("The specified log stream does not exist."), not its group. */
const isStreamNotFound = (error: Error): boolean => /log stream/i.test(error.message);

/** Identifies one wanted auditd event of the second read. */
const wantedKey = (logGroup: string, logStream: string, node: string, auditId: string): string =>
  `${logGroup}\u0000${logStream}\u0000${node}\u0000${auditId}`;

/**
 * {@link TelemetrySource} over CloudWatch Logs `FilterLogEvents`, with a server-side filter
 * pattern built from the endpoint catalogue.
 *
 * @example
 * const deadline = Date.now() + context.getRemainingTimeInMillis() - 30_000; // time left to report
 * const source = new CloudWatchLogsSource({
 *   client: new CloudWatchLogsClient({ maxAttempts: 2 }),
 *   logGroups: ['/aws/ec2/audit*', '/ecs/defend'],
 *   needles: catalogue.needles,
 *   budget: { deadline: () => deadline, now: Date.now },
 * });
 * const reading = await readWindow(source, window, catalogue, prefilter);
 * console.log(source.requestCounts(), source.missingLogGroups); // { FilterLogEvents: 6 } []
 */
export class CloudWatchLogsSource implements TelemetrySource {
  /** Configured log groups that do not exist, and prefixes that matched none; reported, not fatal. */
  public readonly missingLogGroups: string[] = [];
  /** The candidate filter patterns, each one FilterLogEvents query per log group. */
  public readonly filterPatterns: readonly string[];
  private readonly logGroups: readonly string[];
  private readonly pageLimit: number | undefined;
  private readonly counts: Record<string, number> = {};
  /** Paged reads, each request retried within the budget (./cloudwatch-logs-retry.ts); counts every attempt. */
  private readonly reads: CloudWatchLogsReads;
  private resolvedLogGroups: readonly string[] | undefined;
  private malformed = 0;

  public constructor(options: CloudWatchLogsSourceOptions) {
    for (const group of options.logGroups) {
      if (group === '' || group.slice(0, -1).includes('*')) {
        throw new ConfigError(`logGroups: ${JSON.stringify(group)} is neither a log group name nor a prefix ending in '*'`);
      }
    }
    const { pageLimit, maxRetries = 5 } = options;
    if (pageLimit !== undefined && !(Number.isInteger(pageLimit) && pageLimit >= 1 && pageLimit <= 10_000)) {
      throw new RangeError(`pageLimit must be an integer from 1 to 10000, got ${pageLimit}`);
    }
    if (!(Number.isInteger(maxRetries) && maxRetries >= 0)) throw new RangeError(`maxRetries must be a non-negative integer, got ${maxRetries}`);
    this.logGroups = [...new Set(options.logGroups)];
    this.filterPatterns = buildFilterPatterns(options.needles);
    this.pageLimit = pageLimit;
    const call = createRetryingCaller(
      {
        budget: options.budget,
        maxRetries,
        ...(options.baseDelayMs === undefined ? {} : { baseDelayMs: options.baseDelayMs }),
        ...(options.maxDelayMs === undefined ? {} : { maxDelayMs: options.maxDelayMs }),
        ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
        ...(options.random === undefined ? {} : { random: options.random }),
      },
      this.counts,
    );
    this.reads = new CloudWatchLogsReads(options.client, call);
  }

  /** Requests made so far by API operation, retries (ours and the SDK's) included. */
  public requestCounts(): Record<string, number> {
    return { ...this.counts };
  }

  /** Events the API returned without a timestamp or a message: not yielded. */
  public get malformedEvents(): number {
    return this.malformed;
  }

  public async *candidates(window: TimeWindow): AsyncIterable<LogEvent> {
    if (window.end <= window.start || this.filterPatterns.length === 0) return;
    const groups = await this.resolveLogGroups(window);
    const seen = new Set<string>();
    for (const [index, logGroup] of groups.entries()) {
      const unread = (): UnreadTelemetry => ({ read: 'candidates', logGroups: groups.slice(index), start: window.start, end: window.end });
      for (const pattern of this.filterPatterns) {
        // endTime is inclusive in the API ("events with a timestamp later than this time are not
        // returned"); the window is half-open. FilterLogEvents returns only what CloudWatch has
        // ingested by the time of the call: events ingested after window.end but before the call
        // come back and are yielded (the core does not filter them in the Lambda), and events not
        // ingested yet are read by the next runs, whose windows overlap this one.
        const input: FilterLogEventsCommandInput = {
          logGroupName: logGroup,
          startTime: window.start,
          endTime: window.end - 1,
          ...(pattern === '' ? {} : { filterPattern: pattern }),
          ...(this.pageLimit === undefined ? {} : { limit: this.pageLimit }),
        };
        const outcome = yield* this.readAll(input, seen, unread);
        if (outcome !== 'done') {
          this.noteMissing(logGroup);
          break;
        }
      }
    }
  }

  public async *auditRecords(window: TimeWindow, keys: readonly AuditEventKey[]): AsyncIterable<LogEvent> {
    // logGroup -> logStream -> audit ids to search for; and the (group, stream, node, id) wanted.
    const byGroup = new Map<string, Map<string, Set<string>>>();
    const wanted = new Set<string>();
    for (const key of keys) {
      // Only ids as auditd writes them can be searched for; the parser yields no others.
      if (!/^\d+\.\d+:\d+$/.test(key.auditId)) continue;
      let streams = byGroup.get(key.logGroup);
      if (!streams) byGroup.set(key.logGroup, (streams = new Map()));
      let ids = streams.get(key.logStream);
      if (!ids) streams.set(key.logStream, (ids = new Set()));
      ids.add(key.auditId);
      wanted.add(wantedKey(key.logGroup, key.logStream, key.node, key.auditId));
    }
    const start = window.start - AUDIT_RECORD_SLACK_MS;
    const end = window.end + AUDIT_RECORD_SLACK_MS;
    const groups = [...byGroup.keys()];
    const seen = new Set<string>();
    groups: for (const [index, logGroup] of groups.entries()) {
      const unread = (): UnreadTelemetry => ({ read: 'auditRecords', logGroups: groups.slice(index), start, end });
      const input = (logStreamNames: string[], filterPattern: string): FilterLogEventsCommandInput => ({
        logGroupName: logGroup,
        logStreamNames,
        startTime: start,
        endTime: end - 1,
        filterPattern,
        ...(this.pageLimit === undefined ? {} : { limit: this.pageLimit }),
      });
      // A query names many streams and ORs all their ids, and ids repeat across hosts: keep only
      // the records of the stream (and node) that asked for that id.
      const keep = (event: LogEvent): boolean => {
        const id = auditIdOf(event.message);
        return id !== undefined && wanted.has(wantedKey(logGroup, event.logStream, id.node, id.auditId));
      };
      // Up to 100 streams per query, ids of all of them in one pattern (auditRecordQueries), so
      // requests grow with the ids to fetch, not with the hosts that have any.
      for (const query of auditRecordQueries(byGroup.get(logGroup) ?? new Map<string, Set<string>>())) {
        const outcome = yield* this.readAll(input(query.logStreamNames, query.filterPattern), seen, unread, keep);
        if (outcome === 'done') continue;
        if (!isStreamNotFound(outcome.notFound)) {
          // The whole group went away since the candidates were read.
          this.noteMissing(logGroup);
          continue groups;
        }
        if (query.logStreamNames.length === 1) continue; // that stream has gone: go on with the rest
        // The API documentation does not say whether FilterLogEvents fails a request that names one
        // missing stream among several (it may, as it does for a single one): read each stream of
        // this query alone, so a stream that has gone does not cost the others their records.
        // What the failed query had yielded is in `seen` and is not yielded again.
        for (const [logStream, ids] of query.idsByStream) {
          // Some of the terms of one pattern: one query.
          for (const single of auditRecordQueries(new Map([[logStream, ids]]))) {
            const alone = yield* this.readAll(input(single.logStreamNames, single.filterPattern), seen, unread, keep);
            if (alone === 'done') continue;
            if (!isStreamNotFound(alone.notFound)) {
              this.noteMissing(logGroup);
              continue groups;
            }
          }
        }
      }
    }
  }

  /**
   * Every page of one query, each retried until it is read: yields its events not yet in `seen`
   * (and accepted by `keep`). Returns the ResourceNotFoundException when the log group (or
   * stream) does not exist.
   */
  private readAll(
    input: FilterLogEventsCommandInput,
    seen: Set<string>,
    unread: () => UnreadTelemetry,
    keep?: (event: LogEvent) => boolean,
  ): AsyncGenerator<LogEvent, 'done' | { notFound: Error }> {
    return this.reads.filterLogEvents({ input, unread, seen, ...(keep ? { keep } : {}), onMalformed: () => this.malformed++ });
  }

  /** Names of the configured groups, prefixes expanded (once per instance), in order, without duplicates. */
  private async resolveLogGroups(window: TimeWindow): Promise<readonly string[]> {
    if (this.resolvedLogGroups) return this.resolvedLogGroups;
    const names: string[] = [];
    for (const [index, entry] of this.logGroups.entries()) {
      if (!entry.endsWith('*')) {
        names.push(entry);
        continue;
      }
      const prefix = entry.slice(0, -1);
      const unread = (): UnreadTelemetry => ({
        read: 'candidates',
        logGroups: [...names, ...this.logGroups.slice(index)],
        start: window.start,
        end: window.end,
      });
      const matched = await this.reads.logGroupsWithPrefix(prefix, unread);
      names.push(...matched);
      if (matched.length === 0) this.noteMissing(entry);
    }
    this.resolvedLogGroups = [...new Set(names)];
    return this.resolvedLogGroups;
  }

  private noteMissing(entry: string): void {
    if (!this.missingLogGroups.includes(entry)) this.missingLogGroups.push(entry);
  }

}
