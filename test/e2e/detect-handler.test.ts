// The deployed handler end to end: a scheduled event in, CloudWatch Logs answered through
// aws-sdk-client-mock, DynamoDB on dynalite, SNS mocked; the module is imported as Lambda would.

import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { PublishBatchCommand, SNSClient, type PublishBatchCommandInput } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../src/adapters/embedded-dynalite.js';
import type { LogEvent } from '../../src/telemetry/log-event.js';
import { ecsCall, MINUTE, regular } from '../support/run-harness.js';
import { filterLogEventsFrom } from '../support/recorded-log-events.js';

const T0 = Date.parse('2026-11-02T00:00:00Z');
const H = 3_600_000;
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:imds-watch-alerts';

const logs = mockClient(CloudWatchLogsClient);
const sns = mockClient(SNSClient);
let dynamo: EmbeddedDynamo;
let events: LogEvent[];

const filterLogEvents = filterLogEventsFrom(() => events);

beforeAll(async () => {
  dynamo = await startEmbeddedDynamo({ tableName: 'imds-watch-e2e' });
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    TABLE_NAME: 'imds-watch-e2e',
    TOPIC_ARN: TOPIC,
    LOG_GROUPS: '/test/ecs',
    LEARNING_PERIOD: '1h',
    POWERTOOLS_METRICS_NAMESPACE: 'ImdsWatch',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  events = [
    ...regular('root', 'h1', T0, T0 + 4 * H, 5 * MINUTE, '/usr/bin/amazon-ssm-agent'),
    ecsCall({ time: T0 + 2 * H + 3 * MINUTE, user: 'www-data', host: 'ip-10-0-1-12', ip: '169.254.169.254' }),
  ];
  logs.on(FilterLogEventsCommand).callsFake(filterLogEvents);
  sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => ({
    Successful: (input.PublishBatchRequestEntries ?? []).map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}` })),
    Failed: [],
  }));
});

afterAll(async () => {
  logs.restore();
  sns.restore();
  await dynamo.close();
});

const context = (id: string) => ({
  awsRequestId: id,
  functionName: 'imds-watch-detect',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:imds-watch-detect',
  memoryLimitInMB: '512',
  logGroupName: '/aws/lambda/imds-watch-detect',
  logStreamName: 's',
  callbackWaitsForEmptyEventLoop: false,
  getRemainingTimeInMillis: () => 600_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
});

const scheduled = (t: number) => ({
  version: '0',
  id: `evt-${t}`,
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: new Date(t).toISOString().replace('.000', ''),
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:123456789012:rule/imds-watch'],
  detail: {},
});

describe('the detect handler', () => {
  it('publishes the anomaly once, with its attributes, across overlapping scheduled runs', async () => {
    // Prepare
    const { handler } = await import('../../functions/detect.js');
    // Act: every scheduled invocation from T0 to T0+3h, the schedule's own time a few seconds late.
    for (let t = T0 + 15 * MINUTE; t <= T0 + 3 * H; t += 15 * MINUTE) await handler(scheduled(t + 4_000), context(`req-${t}`));
    // Assess
    const entries = sns.commandCalls(PublishBatchCommand).flatMap((c) => c.args[0].input.PublishBatchRequestEntries ?? []);
    expect(entries).toHaveLength(1);
    const [entry] = entries;
    expect(entry?.Subject).toBe('[low] Unusual Linux user www-data called the metadata service on ip-10-0-1-12');
    expect(entry?.MessageAttributes?.['severity']).toEqual({ DataType: 'String', StringValue: 'low' });
    expect(entry?.MessageAttributes?.['risk_score']).toEqual({ DataType: 'Number', StringValue: '21' });
    expect(entry?.MessageAttributes?.['user']?.StringValue).toBe('www-data');
    expect(entry?.MessageStructure).toBe('json');
    const structure = JSON.parse(entry?.Message ?? '{}') as { default: string; email: string };
    expect(structure.email).toMatch(/^Unusual Linux user www-data called the metadata service on ip-10-0-1-12\n/);
    const body = JSON.parse(structure.default);
    expect(body['@timestamp']).toBe(new Date(T0 + 2 * H + 15 * MINUTE).toISOString());
    expect(body.evidence[0].log).toEqual({ group: '/test/ecs', stream: 'ip-10-0-1-12' });
    const filters = logs.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input);
    expect(filters.every((f) => typeof f.filterPattern === 'string' && f.filterPattern.length <= 1024)).toBe(true);
  });

  it('repeats nothing when the same scheduled event is delivered again', async () => {
    const { handler } = await import('../../functions/detect.js');
    const before = sns.commandCalls(PublishBatchCommand).length;
    await handler(scheduled(T0 + 2 * H + 15 * MINUTE), context('redelivery-1'));
    await handler(scheduled(T0 + 2 * H + 15 * MINUTE), context('redelivery-2'));
    expect(sns.commandCalls(PublishBatchCommand).length).toBe(before);
  });
});
