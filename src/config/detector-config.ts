// config file / environment --> (detector config) --> every run
//
// One strict schema: an unknown or misspelled key is an error, not a silently ignored setting.

import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { parseDuration } from './duration.js';

const duration = (name: string) =>
  z.string().refine((v) => parseDuration(v) !== undefined, {
    message: `${name} must be a duration like "15m", "24h" or "2d"`,
  });

const isoDate = z.string().refine((v) => !Number.isNaN(Date.parse(v)), { message: 'must be an ISO 8601 date' });

/** An exception stops publication of anomalies it matches; they are recorded as `excepted`. */
export const exceptionSchema = z
  .object({
    /** Glob on the user name. */
    user: z.string().min(1).optional(),
    /** Glob on the process name or executable; every process of the anomaly must match. */
    process: z.string().min(1).optional(),
    /** Glob on the host name; every host of the anomaly must match. */
    host: z.string().min(1).optional(),
    /** Why: shown in the anomaly record. */
    reason: z.string().min(1),
    /** ISO date after which the exception no longer applies. */
    expires: isoDate.optional(),
  })
  .strict()
  .refine((e) => e.user !== undefined || e.process !== undefined || e.host !== undefined, {
    message: 'an exception needs at least one of user, process, host',
  });

export const detectorConfigSchema = z
  .object({
    /** Anomalies scoring at or above this are alerts. @default 75 */
    anomalyThreshold: z.number().min(0).max(100).default(75),
    /** Each run reads this far back. @default "45m" */
    lookback: duration('lookback').default('45m'),
    /** Width of a bucket: the unit of evidence. Must divide a day. @default "15m" */
    bucketSpan: duration('bucketSpan').default('15m'),
    /** At most this many alerts a run; the rest wait as pending. @default 100 */
    maxAlertsPerRun: z.number().int().min(1).max(1000).default(100),
    /** No alerts until the model has observed this long. @default "24h" */
    learningPeriod: duration('learningPeriod').default('24h'),
    /** Rolling memory of the baselines. @default "30d" */
    memory: duration('memory').default('30d'),
    /** Repeated anomalies of a user within this window update the first alert's record instead of alerting again. @default "24h" */
    suppressionWindow: duration('suppressionWindow').default('24h'),
    /** A health notice is published when no telemetry was read for this long. @default "1h" */
    noTelemetryAfter: duration('noTelemetryAfter').default('1h'),
    /** CloudWatch Logs groups to read: names, or prefixes ending in `*`. @default [] */
    logGroups: z.array(z.string().min(1)).default([]),
    /** @default [] */
    exceptions: z.array(exceptionSchema).default([]),
    /** Changes to the endpoint catalogue. */
    endpoints: z
      .object({
        /** Addresses or hostnames to add. */
        extra: z.array(z.string().min(1)).default([]),
        /** Catalogue entries to remove. */
        exclude: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .default({ extra: [], exclude: [] }),
    /** AWS region, for console links in alerts. @default "us-east-1" */
    region: z.string().min(1).default('us-east-1'),
    /**
     * How runs read telemetry: `filter` (FilterLogEvents, every candidate event travels) or
     * `insights` (Logs Insights aggregates server-side; see src/telemetry/insights/INSIGHTS.md). @default "filter"
     */
    telemetrySource: z.enum(['filter', 'insights']).default('filter'),
    /** Invocations per schedule that split the log groups between them and share the table. @default 1 */
    shards: z.number().int().min(1).max(64).default(1),
    /** Log groups (resolved names) pinned to a shard; the others go by a stable hash of the name. @default {} */
    logGroupShards: z.record(z.string().min(1), z.number().int().min(0)).default({}),
    /** Logs Insights queries one invocation runs at once (the account quota is shared by all shards). @default 4 */
    maxConcurrentQueries: z.number().int().min(1).max(30).default(4),
  })
  .strict()
  .superRefine((c, ctx) => {
    const bucket = parseDuration(c.bucketSpan) ?? 0;
    const lookback = parseDuration(c.lookback) ?? 0;
    if (86_400_000 % bucket !== 0) ctx.addIssue({ code: 'custom', path: ['bucketSpan'], message: 'bucketSpan must divide a day' });
    if (lookback % bucket !== 0 || lookback < bucket)
      ctx.addIssue({ code: 'custom', path: ['lookback'], message: 'lookback must be a whole number of buckets' });
    for (const [group, shard] of Object.entries(c.logGroupShards)) {
      if (shard >= c.shards) ctx.addIssue({ code: 'custom', path: ['logGroupShards', group], message: `shard ${shard} is not below shards (${c.shards})` });
    }
    if ((parseDuration(c.memory) ?? 0) < 86_400_000)
      ctx.addIssue({ code: 'custom', path: ['memory'], message: 'memory must be at least 1d' });
  });

export type DetectorConfigInput = z.input<typeof detectorConfigSchema>;
export type ExceptionRule = z.infer<typeof exceptionSchema>;

/** The validated configuration, durations in ms. */
export interface DetectorConfig {
  anomalyThreshold: number;
  lookbackMs: number;
  bucketMs: number;
  maxAlertsPerRun: number;
  learningPeriodMs: number;
  memoryMs: number;
  suppressionWindowMs: number;
  noTelemetryAfterMs: number;
  logGroups: string[];
  exceptions: ExceptionRule[];
  endpoints: { extra: string[]; exclude: string[] };
  region: string;
  telemetrySource: 'filter' | 'insights';
  shards: number;
  logGroupShards: Record<string, number>;
  maxConcurrentQueries: number;
}

/**
 * Validates raw configuration once, at start. Throws ConfigError naming the first bad key.
 * @example parseDetectorConfig({ anomalyThreshold: 80 }, 'config.json')
 */
export function parseDetectorConfig(
  raw: unknown,
  origin = 'config',
  /** How the source names a key (the environment says LEARNING_PERIOD for learningPeriod). */
  nameOf: (key: string) => string = (key) => key,
): DetectorConfig {
  const result = detectorConfigSchema.safeParse(raw ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    const top = issue?.path[0];
    const key = issue?.path.length ? [nameOf(String(top)), ...issue.path.slice(1)].join('.') : '(root)';
    const message =
      issue?.code === 'unrecognized_keys' ? `unknown key ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue?.message;
    throw new ConfigError(`${origin}: invalid ${key}: ${message}`, { cause: result.error });
  }
  const c = result.data;
  const ms = (text: string): number => parseDuration(text) as number;
  return {
    anomalyThreshold: c.anomalyThreshold,
    lookbackMs: ms(c.lookback),
    bucketMs: ms(c.bucketSpan),
    maxAlertsPerRun: c.maxAlertsPerRun,
    learningPeriodMs: ms(c.learningPeriod),
    memoryMs: ms(c.memory),
    suppressionWindowMs: ms(c.suppressionWindow),
    noTelemetryAfterMs: ms(c.noTelemetryAfter),
    logGroups: c.logGroups,
    exceptions: c.exceptions,
    endpoints: c.endpoints,
    region: c.region,
    telemetrySource: c.telemetrySource,
    shards: c.shards,
    logGroupShards: c.logGroupShards,
    maxConcurrentQueries: c.maxConcurrentQueries,
  };
}

/** The defaults, as a run with no configuration sees them. */
export const defaultDetectorConfig = (): DetectorConfig => parseDetectorConfig({});
