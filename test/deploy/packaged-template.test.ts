// serverless.yml + infra/ --> (npx osls package, as CI and a cloud team run it) --> this test
//
// Packages the service twice, with no AWS credentials at all (packaging must never call AWS), and
// checks the CloudFormation template and the bundle: the schedule and its geometry, the function
// settings, the on-failure path, the table against src/adapters/dynamodb-table.ts, the encrypted
// topic and its policy, least privilege of the function role, the alarms, and that the bundle
// loads. The bundle size goes to bench/results/bundle-size.json for BENCHMARKS.md.

import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTableInput } from '../../src/adapters/dynamodb-table.js';
import { asArray, render, type Json, type JsonObject } from '../support/cloudformation-json.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PACKAGE_TIMEOUT_MS = 180_000;
const SCHEDULE_MINUTES = 15;


interface Resource {
  Type: string;
  Properties: JsonObject;
  Condition?: string;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}

interface Template {
  Resources: Record<string, Resource>;
  Conditions?: JsonObject;
}

interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: Json;
  Principal?: Json;
  Condition?: JsonObject;
}

interface Packaged {
  dir: string;
  template: Template;
}

// --- packaging ---------------------------------------------------------------------------------

/**
 * The environment of a packaging run: no credentials, no shared config, no instance metadata, so
 * any attempt to call AWS (an `${aws:accountId}` variable, an SSM or CloudFormation lookup) fails.
 */
function offlineEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('AWS_')) env[key] = value;
  return {
    ...env,
    AWS_SDK_LOAD_CONFIG: '0',
    AWS_SHARED_CREDENTIALS_FILE: join(tmpdir(), 'imds-watch-no-credentials'),
    AWS_CONFIG_FILE: join(tmpdir(), 'imds-watch-no-config'),
    AWS_EC2_METADATA_DISABLED: 'true',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    FORCE_COLOR: '0',
  };
}

async function packageService(extraArgs: string[] = []): Promise<Packaged> {
  const dir = await mkdtemp(join(tmpdir(), 'imds-watch-package-'));
  const args = ['--no', 'osls', 'package', '--stage', 'ci', '--region', 'us-east-1', '--package', dir, ...extraArgs];
  try {
    await run('npx', args, { cwd: ROOT, env: offlineEnvironment(), timeout: PACKAGE_TIMEOUT_MS - 10_000, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const { stdout, stderr, message } = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`npx ${args.join(' ')} failed: ${message}\n${stdout ?? ''}\n${stderr ?? ''}`);
  }
  const template = JSON.parse(await readFile(join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
  return { dir, template };
}

// --- template helpers --------------------------------------------------------------------------

/** The resources of one type, by logical id. */
function resourcesOf(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

function onlyResource(template: Template, type: string): [string, Resource] {
  const found = resourcesOf(template, type);
  expect(found.map(([id]) => id), `exactly one ${type}`).toHaveLength(1);
  return found[0] as [string, Resource];
}



function functionRoleStatements(template: Template): Statement[] {
  const role = template.Resources['IamRoleLambdaExecution'];
  expect(role?.Type).toBe('AWS::IAM::Role');
  const policies = (role?.Properties['Policies'] ?? []) as unknown as { PolicyDocument: { Statement: Statement[] } }[];
  return policies.flatMap((p) => p.PolicyDocument.Statement);
}

function detectFunction(template: Template): Resource {
  const fn = template.Resources['DetectLambdaFunction'];
  expect(fn?.Type).toBe('AWS::Lambda::Function');
  return fn as Resource;
}

function alarms(template: Template): Resource[] {
  return resourcesOf(template, 'AWS::CloudWatch::Alarm').map(([, r]) => r);
}

function alarmOn(template: Template, namespace: string, metric: string): Resource {
  const found = alarms(template).filter((a) => a.Properties['Namespace'] === namespace && a.Properties['MetricName'] === metric);
  expect(found, `an alarm on ${namespace} ${metric}`).toHaveLength(1);
  return found[0] as Resource;
}

/**
 * A Fn::Sub template string with its variables replaced as CloudFormation would; a variable not in
 * `values` fails the test (an unresolved framework variable, or a reference to a missing resource).
 */
function substitute(template: string, values: Record<string, string>): string {
  return template.replace(/\$\{(?!!)([^}]*)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`unexpected Fn::Sub variable \${${name}}`);
    return value;
  });
}

interface DashboardWidget {
  type: string;
  properties: { title?: string; region?: string; metrics?: Json[][]; alarms?: string[]; query?: string };
}

// --- zip ---------------------------------------------------------------------------------------

interface ZipEntry {
  name: string;
  size: number;
  data: () => Buffer;
}

/** Reads a zip's central directory (no zip64: Lambda bundles are far below 4 GB). */
function readZip(zip: Buffer): ZipEntry[] {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65_535); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip file: no end of central directory');
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`bad central directory entry at ${at}`);
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localHeader = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    entries.push({
      name,
      size,
      data: () => {
        const start = localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
        const raw = zip.subarray(start, start + compressedSize);
        if (method === 0) return Buffer.from(raw);
        if (method === 8) return inflateRawSync(raw);
        throw new Error(`${name}: unsupported compression method ${method}`);
      },
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

async function packageVersion(name: string): Promise<string> {
  const manifest = JSON.parse(await readFile(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

// --- the default package -----------------------------------------------------------------------

describe('the service packaged with no parameters', () => {
  let packaged: Packaged;
  let template: Template;

  beforeAll(async () => {
    packaged = await packageService();
    template = packaged.template;
  }, PACKAGE_TIMEOUT_MS);

  afterAll(async () => {
    if (packaged) await rm(packaged.dir, { recursive: true, force: true });
  });

  it('runs the function every 15 minutes from an EventBridge schedule', () => {
    // Prepare
    const rules = resourcesOf(template, 'AWS::Events::Rule').map(([, r]) => r.Properties);

    // Assess
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatchObject({
      ScheduleExpression: `rate(${SCHEDULE_MINUTES} minutes)`,
      State: 'ENABLED',
      Targets: [{ Arn: { 'Fn::GetAtt': ['DetectLambdaFunction', 'Arn'] } }],
    });
  });

  it('runs on Node.js 22 or newer, on arm64, one run at a time, and always ends before the next run is due', () => {
    // Prepare
    const properties = detectFunction(template).Properties;
    const runtime = /^nodejs(\d+)\.x$/.exec(String(properties['Runtime']));

    // Assess
    expect(runtime, `runtime ${String(properties['Runtime'])}`).not.toBeNull();
    expect(Number(runtime?.[1])).toBeGreaterThanOrEqual(22);
    expect(properties['Architectures']).toEqual(['arm64']);
    expect(properties['ReservedConcurrentExecutions']).toBe(1);
    expect(properties['Timeout']).toBeLessThan(SCHEDULE_MINUTES * 60);
    expect(properties['Handler']).toBe('functions/detect.handler');
    expect(properties['MemorySize']).toBe(512);
  });

  it('wires every environment variable of the handler contract', () => {
    // Prepare
    const variables = (detectFunction(template).Properties['Environment'] as { Variables: JsonObject }).Variables;

    // Assess
    expect(variables).toMatchObject({
      TABLE_NAME: { Ref: 'StateTable' },
      TOPIC_ARN: { Ref: 'AlertTopic' },
      LOG_GROUPS: '/imds-watch/audit,/imds-watch/ecs',
      ANOMALY_THRESHOLD: '75',
      LOOKBACK: '45m',
      BUCKET_SPAN: '15m',
      MAX_ALERTS_PER_RUN: '100',
      LEARNING_PERIOD: '24h',
      MEMORY: '30d',
      SUPPRESSION_WINDOW: '24h',
      NO_TELEMETRY_AFTER: '1h',
      EXCEPTIONS: '[]',
      POWERTOOLS_SERVICE_NAME: 'imds-watch-ci',
      POWERTOOLS_METRICS_NAMESPACE: 'ImdsWatch',
      LOG_LEVEL: 'INFO',
    });
    expect(JSON.parse(String(variables['EXCEPTIONS']))).toEqual([]);
  });

  it('retries a failed run twice and then sends its event to the encrypted SQS on-failure queue', () => {
    // Prepare
    const [, config] = onlyResource(template, 'AWS::Lambda::EventInvokeConfig');
    const destination = (config.Properties['DestinationConfig'] as { OnFailure: { Destination: Json } }).OnFailure.Destination;
    const [queueId, queue] = onlyResource(template, 'AWS::SQS::Queue');

    // Assess
    expect(config.Properties['FunctionName']).toEqual({ Ref: 'DetectLambdaFunction' });
    expect(config.Properties['MaximumRetryAttempts']).toBe(2);
    expect(config.Properties['MaximumEventAgeInSeconds']).toBeLessThanOrEqual(SCHEDULE_MINUTES * 60);
    expect(destination).toEqual({ 'Fn::GetAtt': [queueId, 'Arn'] });
    expect(queue.Properties['MessageRetentionPeriod']).toBe(14 * 24 * 3600);
    expect(queue.Properties['SqsManagedSseEnabled'] === true || queue.Properties['KmsMasterKeyId'] !== undefined).toBe(true);
  });

  it('keeps state in one on-demand table with the keys and the sparse pending index of dynamodb-table.ts', () => {
    // Prepare
    const [, table] = onlyResource(template, 'AWS::DynamoDB::Table');
    const expected = createTableInput('unused');
    const byName = <T extends { AttributeName?: string; IndexName?: string }>(list: T[]): T[] =>
      [...list].sort((a, b) => String(a.AttributeName ?? a.IndexName).localeCompare(String(b.AttributeName ?? b.IndexName)));

    // Assess
    expect(table.Properties['BillingMode']).toBe(expected.BillingMode);
    expect(table.Properties['KeySchema']).toEqual(expected.KeySchema);
    expect(byName(table.Properties['AttributeDefinitions'] as { AttributeName: string }[])).toEqual(
      byName(expected.AttributeDefinitions ?? []),
    );
    expect(table.Properties['GlobalSecondaryIndexes']).toEqual(expected.GlobalSecondaryIndexes);
  });

  it('expires table items on expiresAt, and keeps the table encrypted, recoverable and protected from deletion', () => {
    // Prepare
    const [, table] = onlyResource(template, 'AWS::DynamoDB::Table');

    // Assess
    expect(table.Properties).toMatchObject({
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': ['StackKey', 'Arn'] } },
      DeletionProtectionEnabled: true,
    });
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
  });

  it('encrypts with a rotated customer managed key that outlives the stack like the table it protects', () => {
    // Prepare
    const [, key] = onlyResource(template, 'AWS::KMS::Key');
    const statements = (key.Properties['KeyPolicy'] as unknown as { Statement: Statement[] }).Statement;

    // Assess
    expect(key.Properties['EnableKeyRotation']).toBe(true);
    expect(key.DeletionPolicy).toBe('Retain');
    expect(statements.map((s) => render(s.Principal ?? null))).toEqual([
      JSON.stringify({ AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } }),
      JSON.stringify({ Service: 'cloudwatch.amazonaws.com' }),
    ]);
    expect(statements[1]?.Condition).toMatchObject({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } });
  });

  it('publishes alerts to a KMS-encrypted topic that only the function role may publish to, over TLS only', () => {
    // Prepare
    const [topicId, topic] = onlyResource(template, 'AWS::SNS::Topic');
    const [, policy] = onlyResource(template, 'AWS::SNS::TopicPolicy');
    const statements = (policy.Properties['PolicyDocument'] as unknown as { Statement: Statement[] }).Statement;
    const allowsFromAccounts = statements.filter((s) => s.Effect === 'Allow' && render(s.Principal ?? null).includes('"AWS"'));

    // Assess
    expect(topic.Properties['KmsMasterKeyId']).toEqual({ Ref: 'StackKey' });
    expect(policy.Properties['Topics']).toEqual([{ Ref: topicId }]);
    expect(allowsFromAccounts.map((s) => s.Principal)).toEqual([{ AWS: { 'Fn::GetAtt': ['IamRoleLambdaExecution', 'Arn'] } }]);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: '*',
        Action: 'sns:Publish',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Condition: expect.objectContaining({
          StringNotEquals: { 'aws:PrincipalArn': { 'Fn::GetAtt': ['IamRoleLambdaExecution', 'Arn'] } },
        }),
      }),
    );
  });

  it('creates no email subscription when no alertEmail is given', () => {
    // Prepare
    const [, subscription] = onlyResource(template, 'AWS::SNS::Subscription');

    // Assess
    expect(subscription.Condition).toBe('HasAlertEmail');
    expect(template.Conditions?.['HasAlertEmail']).toEqual({ 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] });
  });

  it('names the resources of every statement of the function role, DescribeLogGroups being the one account-wide exception', () => {
    // Prepare
    const statements = functionRoleStatements(template);
    const unscoped = (resource: string): boolean => resource === '*' || resource.endsWith(':log-group:*');
    const broad = statements.filter((s) => asArray(s.Resource).map(render).some(unscoped));

    // Assess
    expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);
    for (const statement of statements) {
      expect(asArray(statement.Resource).length, JSON.stringify(statement)).toBeGreaterThan(0);
      for (const action of asArray(statement.Action)) {
        expect(action === 'kms:GenerateDataKey*' || !action.includes('*'), `action ${action}`).toBe(true);
      }
    }
    expect(broad.map((s) => ({ sid: s.Sid, actions: asArray(s.Action), resources: asArray(s.Resource).map(render) }))).toEqual([
      {
        sid: 'ResolveLogGroupPrefixes',
        actions: ['logs:DescribeLogGroups'],
        resources: ['arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*'],
      },
    ]);
  });

  it('lets the function read only the default log groups, keep its table, publish to its topic, use its key and fill its queue', () => {
    // Prepare
    const statements = functionRoleStatements(template);
    const resourcesFor = (action: string): string[] =>
      statements.filter((s) => asArray(s.Action).includes(action)).flatMap((s) => asArray(s.Resource).map(render));
    const logGroup = 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:';

    // Assess
    expect(resourcesFor('logs:FilterLogEvents')).toEqual([
      `${logGroup}/imds-watch/audit`,
      `${logGroup}/imds-watch/audit:*`,
      `${logGroup}/imds-watch/ecs`,
      `${logGroup}/imds-watch/ecs:*`,
    ]);
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:BatchGetItem', 'dynamodb:Query']) {
      expect(resourcesFor(action), action).toEqual(['${StateTable.Arn}', '${StateTable.Arn}/index/*']);
    }
    expect(resourcesFor('sns:Publish')).toEqual(['${AlertTopic}']);
    expect(resourcesFor('kms:Decrypt')).toEqual(['${StackKey.Arn}']);
    expect(resourcesFor('kms:GenerateDataKey*')).toEqual(['${StackKey.Arn}']);
    expect(resourcesFor('sqs:SendMessage')).toEqual(['${OnFailureQueue.Arn}']);
  });

  it('alarms on errors, throttles, runs near the timeout, failed runs, an hour without telemetry, uncovered time and missing log groups', () => {
    // Prepare
    const timeoutMs = Number(detectFunction(template).Properties['Timeout']) * 1000;
    const errors = alarmOn(template, 'AWS/Lambda', 'Errors').Properties;
    const duration = alarmOn(template, 'AWS/Lambda', 'Duration').Properties;
    const noTelemetry = alarmOn(template, 'ImdsWatch', 'EventsRead').Properties;

    // Assess
    expect(errors).toMatchObject({ Statistic: 'Sum', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    expect(errors['Dimensions']).toEqual([{ Name: 'FunctionName', Value: { Ref: 'DetectLambdaFunction' } }]);
    expect(duration['Statistic'] === 'Maximum' || duration['ExtendedStatistic'] === 'p99').toBe(true);
    expect(duration['Threshold']).toBeLessThanOrEqual(0.8 * timeoutMs);
    expect(duration['Threshold']).toBeGreaterThanOrEqual(0.5 * timeoutMs);
    expect(noTelemetry).toMatchObject({
      Dimensions: [{ Name: 'service', Value: 'imds-watch-ci' }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    expect(Number(noTelemetry['Period']) * Number(noTelemetry['EvaluationPeriods'])).toBe(3600);
    alarmOn(template, 'AWS/Lambda', 'Throttles');
    alarmOn(template, 'AWS/SQS', 'ApproximateNumberOfMessagesVisible');
    expect(alarmOn(template, 'ImdsWatch', 'UncoveredGapMs').Properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    alarmOn(template, 'ImdsWatch', 'MissingLogGroups');
    for (const alarm of alarms(template)) expect(alarm.Properties['AlarmActions']).toEqual([{ Ref: 'AlertTopic' }]);
  });

  it('alarms once while a health condition is open, to the topic, and returns to OK when none is', () => {
    // Prepare
    const health = alarmOn(template, 'ImdsWatch', 'HealthConditionsOpen').Properties;

    // Assess
    expect(health).toMatchObject({
      AlarmName: 'imds-watch-ci-health',
      Dimensions: [{ Name: 'service', Value: 'imds-watch-ci' }],
      Statistic: 'Maximum',
      Period: 900,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: 'AlertTopic' }],
      OKActions: [{ Ref: 'AlertTopic' }],
    });
  });

  it('has a dashboard whose body is valid JSON charting runs, telemetry, anomalies, alerts, lag, errors, health and requests', async () => {
    // Prepare
    const [dashboardId, dashboard] = onlyResource(template, 'AWS::CloudWatch::Dashboard');
    const body = (dashboard.Properties['DashboardBody'] as JsonObject)['Fn::Sub'];
    const functionName = String(detectFunction(template).Properties['FunctionName']);
    const alarmArns = Object.fromEntries(
      resourcesOf(template, 'AWS::CloudWatch::Alarm').map(([id, a]) => [
        `${id}.Arn`,
        `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${String(a.Properties['AlarmName'])}`,
      ]),
    );
    const values = {
      'AWS::Region': 'us-east-1',
      'AWS::Partition': 'aws',
      'AWS::AccountId': '123456789012',
      DetectLambdaFunction: functionName,
      ...alarmArns,
    };
    const detectJobSource = await readFile(join(ROOT, 'src', 'lambda', 'detect-job.ts'), 'utf8');

    // Act
    expect(typeof body, 'DashboardBody is one Fn::Sub string').toBe('string');
    const parsed = JSON.parse(substitute(String(body), values)) as { widgets: DashboardWidget[] };
    const metricWidgets = parsed.widgets.filter((w) => w.type === 'metric');
    const charted = metricWidgets.flatMap((w) => (w.properties.metrics ?? []).map((m) => m.filter((part) => typeof part === 'string').join(' ')));
    const alarmsShown = parsed.widgets.filter((w) => w.type === 'alarm').flatMap((w) => w.properties.alarms ?? []);

    // Assess
    expect(dashboardId).toBe('Dashboard');
    expect(dashboard.Properties['DashboardName']).toBe('imds-watch-ci');
    expect(functionName).toBe('imds-watch-ci-detect');
    expect(String(body)).not.toMatch(/\$\{(self|sls|param|opt|env|file):/);
    for (const widget of metricWidgets) expect(widget.properties.region, widget.properties.title).toBe('us-east-1');
    const service = (metric: string): string => `ImdsWatch ${metric} service imds-watch-ci`;
    const lambda = (metric: string): string => `AWS/Lambda ${metric} FunctionName ${functionName}`;
    expect(charted).toEqual(
      expect.arrayContaining([
        lambda('Invocations'),
        service('RunDurationMs'),
        service('EventsRead'),
        service('Observations'),
        service('Anomalies'),
        service('AlertsPublished'),
        service('AlertsPending'),
        service('IngestionLagMaxMs'),
        lambda('Errors'),
        lambda('Throttles'),
        service('HealthConditionsOpen'),
        service('StoreRequests'),
        service('SnsRequests'),
      ]),
    );
    // Every ImdsWatch metric charted is one the detect job emits (a typo would chart nothing).
    for (const line of charted.filter((c) => c.startsWith('ImdsWatch '))) {
      expect(detectJobSource, line).toContain(`'${line.split(' ')[1] ?? ''}'`);
    }
    expect([...alarmsShown].sort()).toEqual(Object.values(alarmArns).sort());
  });

  it('bundles the handler into one minified ESM file with its source map, no node_modules, and reports the size', async () => {
    // Prepare
    const zipPath = join(packaged.dir, 'detect.zip');
    const zipBytes = (await stat(zipPath)).size;
    const entries = readZip(await readFile(zipPath));
    const files = Object.fromEntries(entries.map((e) => [e.name, e.size]));

    // Act
    const report = {
      artifact: 'detect.zip',
      zipBytes,
      files,
      runtime: detectFunction(template).Properties['Runtime'],
      architecture: 'arm64',
      format: 'esm',
      minified: true,
      awsSdk: 'bundled',
      bundler: {
        osls: await packageVersion('osls'),
        'serverless-esbuild': await packageVersion('serverless-esbuild'),
        esbuild: await packageVersion('esbuild'),
      },
    };
    await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
    await writeFile(join(ROOT, 'bench', 'results', 'bundle-size.json'), `${JSON.stringify(report, null, 2)}\n`);
    console.info(`detect.zip: ${zipBytes} bytes (${(zipBytes / 1024 / 1024).toFixed(2)} MiB); ${JSON.stringify(files)}`);

    // Assess
    expect(Object.keys(files).sort()).toEqual(['functions/detect.mjs', 'functions/detect.mjs.map']);
    // Lambda allows 50 MB zipped; a bundle far past a few MB would mean a dependency came in whole.
    expect(zipBytes).toBeLessThan(5 * 1024 * 1024);
  });

  it('produces a bundle that Node.js loads as ESM and that exports the handler', async () => {
    // Prepare
    const bundleDir = await mkdtemp(join(tmpdir(), 'imds-watch-bundle-'));
    const entries = readZip(await readFile(join(packaged.dir, 'detect.zip')));
    for (const entry of entries) {
      await mkdir(join(bundleDir, 'functions'), { recursive: true });
      await writeFile(join(bundleDir, entry.name), entry.data());
    }
    const bundle = pathToFileURL(join(bundleDir, 'functions', 'detect.mjs')).href;
    const env = {
      PATH: process.env['PATH'] ?? '',
      AWS_REGION: 'us-east-1',
      TABLE_NAME: 'imds-watch-ci-state',
      TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:imds-watch-ci-alerts',
      LOG_GROUPS: '/imds-watch/audit,/imds-watch/ecs',
      LOOKBACK: '45m',
      BUCKET_SPAN: '15m',
      POWERTOOLS_SERVICE_NAME: 'imds-watch-ci',
      POWERTOOLS_METRICS_NAMESPACE: 'ImdsWatch',
      NODE_OPTIONS: '--enable-source-maps',
    };

    // Act
    const { stdout } = await run(
      process.execPath,
      ['--no-warnings', '--input-type=module', '-e', `const m = await import(${JSON.stringify(bundle)}); console.log(typeof m.handler);`],
      { env, timeout: 60_000 },
    ).finally(() => rm(bundleDir, { recursive: true, force: true }));

    // Assess
    expect(stdout.trim()).toBe('function');
  });
});

// --- parameters --------------------------------------------------------------------------------

describe('the service packaged with logGroups and alertEmail parameters', () => {
  let packaged: Packaged;

  beforeAll(async () => {
    packaged = await packageService(['--param=logGroups=/a/b,/c*', '--param=alertEmail=soc@example.com']);
  }, PACKAGE_TIMEOUT_MS);

  afterAll(async () => {
    if (packaged) await rm(packaged.dir, { recursive: true, force: true });
  });

  it('lets the function read exactly the named group and every group under the prefix', () => {
    // Prepare
    const statements = functionRoleStatements(packaged.template);
    const filter = statements.filter((s) => asArray(s.Action).includes('logs:FilterLogEvents'));
    const logGroup = 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:';

    // Assess
    expect(filter.flatMap((s) => asArray(s.Resource).map(render))).toEqual([
      `${logGroup}/a/b`,
      `${logGroup}/a/b:*`,
      `${logGroup}/c*`,
    ]);
    expect(detectFunction(packaged.template).Properties['Environment']).toMatchObject({ Variables: { LOG_GROUPS: '/a/b,/c*' } });
  });

  it('subscribes the given email address to the alert topic', () => {
    // Prepare
    const [, subscription] = onlyResource(packaged.template, 'AWS::SNS::Subscription');

    // Assess
    expect(packaged.template.Conditions?.['HasAlertEmail']).toEqual({ 'Fn::Not': [{ 'Fn::Equals': ['soc@example.com', ''] }] });
    expect(subscription.Properties).toMatchObject({ Protocol: 'email', Endpoint: 'soc@example.com', TopicArn: { Ref: 'AlertTopic' } });
  });
});

describe('npx osls package in the Logs Insights mode with shards', () => {
  let packaged: Packaged | undefined;
  let template: Template;

  beforeAll(async () => {
    packaged = await packageService(['--param=logGroups=/a/b,/c*', '--param=telemetrySource=insights', '--param=shards=3']);
    template = packaged.template;
  }, PACKAGE_TIMEOUT_MS);

  afterAll(async () => {
    if (packaged) await rm(packaged.dir, { recursive: true, force: true });
  });

  it('runs one schedule per shard, each passing its shard, and lets the shards run side by side', () => {
    // Prepare
    const rules = resourcesOf(template, 'AWS::Events::Rule').map(([, r]) => r.Properties);
    const inputs = rules.map((r) => JSON.parse(String((r['Targets'] as { Input: string }[])[0]?.Input)) as unknown);

    // Assess
    expect(rules.every((r) => r['ScheduleExpression'] === `rate(${SCHEDULE_MINUTES} minutes)`)).toBe(true);
    expect(inputs).toEqual([{ shard: 0 }, { shard: 1 }, { shard: 2 }]);
    expect(detectFunction(template).Properties['ReservedConcurrentExecutions']).toBe(3);
    expect(detectFunction(template).Properties['Environment']).toMatchObject({ Variables: { TELEMETRY_SOURCE: 'insights', SHARDS: '3' } });
  });

  it('allows StartQuery on the configured log groups only, and the query-id actions that take no resource', () => {
    // Prepare
    const [, policy] = onlyResource(template, 'AWS::IAM::Policy');
    const statements = (policy.Properties['PolicyDocument'] as unknown as { Statement: Statement[] }).Statement;
    const logGroup = 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:';

    // Assess
    expect(template.Conditions?.['IsInsightsMode']).toEqual({ 'Fn::Equals': ['insights', 'insights'] });
    expect(statements.map((s) => ({ actions: asArray(s.Action), resources: asArray(s.Resource).map(render) }))).toEqual([
      { actions: ['logs:StartQuery'], resources: [`${logGroup}/a/b`, `${logGroup}/a/b:*`, `${logGroup}/c*`] },
      { actions: ['logs:GetQueryResults', 'logs:StopQuery'], resources: ['*'] },
    ]);
  });
});
