// Lambda environment --> (validated once at cold start) --> DetectorConfig and the resource names
//
// Every variable maps to one config key; an error names the variable, not the key.

import { ConfigError } from '../errors.js';
import { parseDetectorConfig, type DetectorConfig } from './detector-config.js';

/** Environment variable of each config key. */
export const ENVIRONMENT_VARIABLES = {
  anomalyThreshold: 'ANOMALY_THRESHOLD',
  lookback: 'LOOKBACK',
  bucketSpan: 'BUCKET_SPAN',
  maxAlertsPerRun: 'MAX_ALERTS_PER_RUN',
  learningPeriod: 'LEARNING_PERIOD',
  memory: 'MEMORY',
  suppressionWindow: 'SUPPRESSION_WINDOW',
  noTelemetryAfter: 'NO_TELEMETRY_AFTER',
  logGroups: 'LOG_GROUPS',
  exceptions: 'EXCEPTIONS',
  endpoints: 'EXTRA_ENDPOINTS / EXCLUDE_ENDPOINTS',
  region: 'AWS_REGION',
  telemetrySource: 'TELEMETRY_SOURCE',
  shards: 'SHARDS',
  logGroupShards: 'LOG_GROUP_SHARDS',
  maxConcurrentQueries: 'INSIGHTS_MAX_CONCURRENT_QUERIES',
} as const;

export interface LambdaEnvironment {
  config: DetectorConfig;
  tableName: string;
  topicArn: string;
  /** At most this many missed runs are caught up in one invocation (oldest first). @default 12 */
  maxCatchUpRuns: number;
}

const NUMERIC = new Set(['anomalyThreshold', 'maxAlertsPerRun', 'shards', 'maxConcurrentQueries']);

const list = (value: string | undefined): string[] | undefined =>
  value === undefined ? undefined : value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`environment: ${name} is not set`);
  return value;
}

/**
 * @example loadEnvironment(process.env) // at cold start; throws ConfigError naming the variable
 */
export function loadEnvironment(env: NodeJS.ProcessEnv): LambdaEnvironment {
  const raw: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(ENVIRONMENT_VARIABLES)) {
    const value = env[name];
    if (value === undefined || value === '' || key === 'endpoints' || key === 'logGroups' || key === 'exceptions' || key === 'logGroupShards') continue;
    raw[key] = NUMERIC.has(key) && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  }
  raw['logGroups'] = list(env['LOG_GROUPS']) ?? [];
  if (env['EXCEPTIONS']?.trim()) {
    try {
      raw['exceptions'] = JSON.parse(env['EXCEPTIONS']);
    } catch (error) {
      throw new ConfigError(`environment: EXCEPTIONS is not valid JSON (${(error as Error).message})`, { cause: error });
    }
  }
  if (env['LOG_GROUP_SHARDS']?.trim()) {
    try {
      raw['logGroupShards'] = JSON.parse(env['LOG_GROUP_SHARDS']);
    } catch (error) {
      throw new ConfigError(`environment: LOG_GROUP_SHARDS is not valid JSON (${(error as Error).message})`, { cause: error });
    }
  }
  raw['endpoints'] = { extra: list(env['EXTRA_ENDPOINTS']) ?? [], exclude: list(env['EXCLUDE_ENDPOINTS']) ?? [] };
  const config = parseDetectorConfig(raw, 'environment', (key) => ENVIRONMENT_VARIABLES[key as keyof typeof ENVIRONMENT_VARIABLES] ?? key);
  if (config.logGroups.length === 0) throw new ConfigError('environment: LOG_GROUPS names no log group');
  const catchUp = env['MAX_CATCH_UP_RUNS']?.trim();
  const maxCatchUpRuns = catchUp ? Number(catchUp) : 12;
  if (!Number.isInteger(maxCatchUpRuns) || maxCatchUpRuns < 1 || maxCatchUpRuns > 96)
    throw new ConfigError(`environment: invalid MAX_CATCH_UP_RUNS: must be a whole number from 1 to 96, got "${catchUp}"`);
  return { config, tableName: required(env, 'TABLE_NAME'), topicArn: required(env, 'TOPIC_ARN'), maxCatchUpRuns };
}
