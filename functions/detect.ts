// EventBridge schedule --> (this handler: wiring only) --> createDetectJob --> runScheduled
// manual one-shot {"backfill":{"days":N}} --> createBackfillJob --> backfill
//
// Config and clients are built once, at cold start; a bad variable fails the cold start with a
// message naming it. Errors escape, so Lambda's retries and on-failure destination see them.

import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import middy from '@middy/core';
import { CloudWatchLogsSource } from '../src/adapters/cloudwatch-logs-source.js';
import { DynamoDbBaselineStore } from '../src/adapters/dynamodb-baseline-store.js';
import { LogsInsightsSource } from '../src/adapters/logs-insights-source.js';
import { SnsAlertSink } from '../src/adapters/sns-alert-sink.js';
import { loadEnvironment } from '../src/config/environment.js';
import { createBackfillJob, createInvocationHandler } from '../src/lambda/backfill-job.js';
import { createDetectJob, type JobMetrics } from '../src/lambda/detect-job.js';
import { createDetector } from '../src/run/run-detection.js';

// Service name (one per stage, the metrics' dimension) and namespace come from POWERTOOLS_* variables.
const logger = new Logger();
const metrics = new Metrics();

const environment = (() => {
  try {
    return loadEnvironment(process.env);
  } catch (error) {
    logger.error('invalid configuration', error as Error);
    throw error;
  }
})();

const detector = createDetector(environment.config);
const logs = new CloudWatchLogsClient({ maxAttempts: 3 });
// A request left unanswered must fail fast enough to be retried within the run, not hold it for
// the SDK's default socket timeout of minutes.
const timeouts = { requestHandler: { connectionTimeout: 3_000, requestTimeout: 20_000 } };
const dynamo = new DynamoDBClient({ maxAttempts: 6, ...timeouts });
// The sink retries failed entries itself, with backoff; SDK retries on top would multiply them.
const sns = new SNSClient({ maxAttempts: 1, ...timeouts });
const storeFor = (shard: number) =>
  new DynamoDbBaselineStore({
    client: dynamo,
    tableName: environment.tableName,
    memoryMs: environment.config.memoryMs,
    bucketMs: environment.config.bucketMs,
    shard,
  });
const store = storeFor(0);
const alerts = new SnsAlertSink({ client: sns, topicArn: environment.topicArn });

const telemetryFor = (deadline: number) =>
  new CloudWatchLogsSource({
    client: logs,
    logGroups: environment.config.logGroups,
    needles: detector.catalogue.needles,
    budget: { deadline: () => deadline, now: () => Date.now() },
  });
// Logs Insights mode (TELEMETRY_SOURCE=insights): one aggregation query per run over the
// invocation's shard of the log groups; FilterLogEvents only for the evidence of what alerts.
const aggregatedFor =
  environment.config.telemetrySource === 'insights'
    ? (deadline: number, shard: number) =>
        new LogsInsightsSource({
          client: logs,
          logGroups: environment.config.logGroups,
          catalogue: detector.catalogue,
          bucketMs: environment.config.bucketMs,
          shard,
          shards: environment.config.shards,
          logGroupShards: environment.config.logGroupShards,
          maxConcurrentQueries: environment.config.maxConcurrentQueries,
          budget: { deadline: () => deadline, now: () => Date.now() },
        })
    : undefined;
const jobMetrics: JobMetrics = {
  addMetric: (name, unit, value) => metrics.addMetric(name, unit === 'Count' ? MetricUnit.Count : MetricUnit.Milliseconds, value),
};

const job = createDetectJob({
  detector,
  store,
  alerts,
  telemetryFor,
  ...(aggregatedFor ? { aggregatedFor } : {}),
  storeFor,
  logger,
  metrics: jobMetrics,
  now: () => Date.now(),
  maxCatchUpRuns: environment.maxCatchUpRuns,
});

// A one-shot backfill (`aws lambda invoke --payload '{"backfill":{"days":30}}'`) goes to the
// backfill job; scheduled events to the detect job.
const backfillJob = createBackfillJob({ detector, store, telemetryFor, logger, metrics: jobMetrics, now: () => Date.now() });

export const handler = middy(createInvocationHandler({ detect: job, backfill: backfillJob }))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
