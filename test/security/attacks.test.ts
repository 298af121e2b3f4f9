// attacker --> (host telemetry, the log groups, the topic, the stack) --> imds-watch
//
// One test per attack of SECURITY.md's threat model, each through the code a real run takes:
// runDetection against the real DynamoDB API (dynalite), the real message builders, the real SNS
// sink (over a mocked SNS client), the detect job with the real Powertools logger, and the
// CloudFormation template that `osls package` produces. Each test fails when its defence is
// removed (SECURITY.md says which removal breaks which test).

import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import { PublishBatchCommand, SNSClient, type PublishBatchInput, type PublishBatchRequestEntry } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SnsAlertSink } from '../../src/adapters/sns-alert-sink.js';
import { ReplayTelemetrySource } from '../../src/adapters/replay-telemetry-source.js';
import { anomalyEventId } from '../../src/alerts/event-id.js';
import { parseDetectorConfig, type DetectorConfigInput } from '../../src/config/detector-config.js';
import { unusualLinuxUserImdsRule } from '../../src/detections/credential_access_unusual_linux_user_imds.js';
import { createDetectJob } from '../../src/lambda/detect-job.js';
import type { OutgoingMessage } from '../../src/ports.js';
import { createDetector } from '../../src/run/run-detection.js';
import type { LogEvent } from '../../src/telemetry/log-event.js';
import { BUCKET, MINUTE, regular, startHarness, type Harness } from '../support/run-harness.js';
import { asArray, render, type Json, type JsonObject } from '../support/cloudformation-json.js';

const T0 = Date.parse('2026-11-02T00:00:00Z');
const H = 3_600_000;
/** The bucket every attack happens in: two hours in, past the one-hour learning period. */
const B0 = T0 + 2 * H;
const RULE_ID = unusualLinuxUserImdsRule.id;
const METADATA_URL = 'http://169.254.169.254/latest/meta-data/iam/security-credentials/app-role';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:imds-watch-ci-alerts';

/** Control characters, line and paragraph separators, zero-width marks and bidi controls. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/;

const iso = (t: number): string => new Date(t).toISOString();

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

// --- telemetry ---------------------------------------------------------------------------------

interface Call {
  time: number;
  user: string;
  host: string;
  process?: { name?: string; executable?: string; args?: string[]; command_line?: string };
  /** A process event whose command line holds the metadata URL, rather than a connection. */
  commandLineOnly?: boolean;
}

let sequence = 0;

/** An Elastic Defend event as CloudWatch Logs returns it: every field the host wrote, verbatim. */
function imdsCall(c: Call): LogEvent {
  const doc = {
    '@timestamp': iso(c.time),
    event: c.commandLineOnly
      ? { kind: 'event', category: ['process'], type: ['start'], action: 'exec', module: 'endpoint' }
      : { kind: 'event', category: ['network'], type: ['start'], action: 'connection_attempted', module: 'endpoint' },
    host: { name: c.host, os: { type: 'linux' } },
    user: { name: c.user },
    process: { pid: 4242, name: 'curl', executable: '/usr/bin/curl', ...c.process },
    ...(c.commandLineOnly ? {} : { destination: { ip: '169.254.169.254', port: 80 }, network: { direction: 'egress', transport: 'tcp' } }),
  };
  return {
    timestamp: c.time,
    ingestionTime: c.time + 5_000,
    logGroup: '/imds-watch/ecs',
    logStream: 'i-0a1b2c3d4e5f60001',
    eventId: String(++sequence).padStart(56, '7'),
    message: JSON.stringify(doc),
  };
}

/** The SSM agent as root, every 5 minutes: the history the model learns from. */
const background = (to: number): LogEvent[] => regular('root', 'bastion', T0, to, 5 * MINUTE, '/usr/bin/amazon-ssm-agent');

/** Every scheduled run up to B0: the model is past its learning period and has a regular caller. */
async function learn(h: Harness): Promise<void> {
  for (let t = T0 + BUCKET; t <= B0; t += BUCKET) await h.runAt(t);
}

const alerts = (messages: readonly OutgoingMessage[]): OutgoingMessage[] => messages.filter((m) => m.attributes.kind === 'alert');
const notices = (messages: readonly OutgoingMessage[]): OutgoingMessage[] => messages.filter((m) => m.attributes.kind === 'overflow-notice');

interface NoticeBody {
  notice: {
    published: number;
    held_back: number;
    hosts: string[];
    waiting: { 'event.id': string; 'user.name': string; 'host.name': string }[];
    waiting_truncated: boolean;
  };
}

interface AlertBody {
  user: { name: string };
  host: { name: string };
  related: { hosts: string[] };
  process: { name?: string; executable?: string; args?: string[] };
  evidence: { host: { name: string }; process: { name?: string; executable?: string; args?: string[] }; destination: { url?: string } }[];
}

/** The real SNS sink over a mocked client that accepts everything: what would go on the wire. */
function snsOnTheWire(): { sink: SnsAlertSink; entries: () => PublishBatchRequestEntry[] } {
  const client = new SNSClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } });
  const sns = mockClient(client);
  sns.on(PublishBatchCommand).callsFake((input: PublishBatchInput) => ({
    Successful: (input.PublishBatchRequestEntries ?? []).map((e) => ({ Id: e.Id, MessageId: `sns-${e.Id}` })),
    Failed: [],
  }));
  const sink = new SnsAlertSink({ client, topicArn: TOPIC, sleep: async () => undefined, random: () => 0.5 });
  return { sink, entries: () => sns.commandCalls(PublishBatchCommand).flatMap((c) => c.args[0].input.PublishBatchRequestEntries ?? []) };
}

// --- alert flooding ----------------------------------------------------------------------------

const FLOOD = 1_000;
const CAP = 100;

/**
 * The attacker's user names, chosen so that their alert ids sort before `id` (ids are a hash of the
 * public rule id, the user and the bucket: anyone can compute them). Every fake user is new, so it
 * scores as high as the real one: ranked by score, bucket and id alone, all of them come first.
 */
function fakeUsersRankedBefore(id: string, count: number): string[] {
  const users: string[] = [];
  for (let i = 0; users.length < count; i++) {
    const user = `svc-${String(i).padStart(4, '0')}`;
    if (anomalyEventId(RULE_ID, user, B0).localeCompare(id) < 0) users.push(user);
  }
  return users;
}

function floodEvents(fakes: readonly string[]): LogEvent[] {
  return fakes.map((user, i) => imdsCall({ time: B0 + MINUTE + i * 500, user, host: 'noisy-host' }));
}

describe('alert flooding', () => {
  it('publishes a real anomaly on another host in the first run although a thousand fake new users on one host fill the cap, and names what waits', async () => {
    // Prepare
    const realId = anomalyEventId(RULE_ID, 'jenkins', B0);
    const fakes = fakeUsersRankedBefore(realId, FLOOD);
    const real = imdsCall({ time: B0 + 5 * MINUTE, user: 'jenkins', host: 'ci-runner-1' });
    harness = await startHarness({ learningPeriod: '1h', maxAlertsPerRun: CAP }, [...background(B0 + H), ...floodEvents(fakes), real]);
    await learn(harness);

    // Act
    const first = await harness.runAt(B0 + BUCKET);

    // Assess: the real one is published now, 900 fakes wait, and the notice says who and where.
    expect(first.anomalies.found).toBe(FLOOD + 1);
    expect(first.alerts.published).toHaveLength(CAP);
    expect(first.alerts.published).toContain(realId);
    expect(alerts(harness.sink.messages).find((m) => m.id === realId)?.attributes).toMatchObject({ user: 'jenkins', host: 'ci-runner-1' });
    const [notice, ...more] = notices(harness.sink.messages);
    expect(more).toEqual([]);
    const body = JSON.parse(notice?.body ?? '{}') as NoticeBody;
    expect(body.notice).toMatchObject({ published: CAP, held_back: FLOOD + 1 - CAP, hosts: ['noisy-host'], waiting_truncated: true });
    expect(body.notice.waiting).toHaveLength(50);
    for (const w of body.notice.waiting) {
      expect(w['host.name']).toBe('noisy-host');
      expect(fakes).toContain(w['user.name']);
    }
    expect(notice?.subject).toBe(`[notice] imds-watch held back ${FLOOD + 1 - CAP} alerts (cap reached)`);
    expect(notice?.emailText).toContain(`held back: ${FLOOD + 1 - CAP}`);
    expect(notice?.emailText).toMatch(/waiting: svc-\d{4} on noisy-host \(score /);
  }, 180_000);

  it('shares every later run fairly: a new real anomaly on a third host is published at once while the flood still waits, and nothing is published twice or dropped silently', async () => {
    // Prepare: the same flood, and a second real anomaly in the next bucket, on a third host.
    const realId = anomalyEventId(RULE_ID, 'jenkins', B0);
    const fakes = fakeUsersRankedBefore(realId, FLOOD);
    const laterId = anomalyEventId(RULE_ID, 'postgres', B0 + BUCKET);
    const real = imdsCall({ time: B0 + 5 * MINUTE, user: 'jenkins', host: 'ci-runner-1' });
    const later = imdsCall({ time: B0 + BUCKET + MINUTE, user: 'postgres', host: 'db-1' });
    harness = await startHarness({ learningPeriod: '1h', maxAlertsPerRun: CAP }, [...background(B0 + 2 * H), ...floodEvents(fakes), real, later]);
    await learn(harness);
    await harness.runAt(B0 + BUCKET);

    // Act: the runs while the flood's bucket is inside the look-back, and the first one after.
    const second = await harness.runAt(B0 + 2 * BUCKET);
    const third = await harness.runAt(B0 + 3 * BUCKET);
    const fourth = await harness.runAt(B0 + 4 * BUCKET);

    // Assess
    expect(second.alerts.published).toHaveLength(CAP);
    expect(second.alerts.published).toContain(laterId);
    expect(third.alerts.published).toHaveLength(CAP);
    expect(fourth.alerts.published).toEqual([]);
    expect(notices(harness.sink.messages).map((m) => (JSON.parse(m.body) as NoticeBody).notice.held_back)).toEqual([901, 802, 702]);
    expect(notices(harness.sink.messages).map((m) => (JSON.parse(m.body) as NoticeBody).notice.hosts)).toEqual([['noisy-host'], ['noisy-host'], ['noisy-host']]);
    const published = alerts(harness.sink.messages).map((m) => m.id);
    expect(new Set(published).size).toBe(published.length);
    expect(published).toHaveLength(3 * CAP);
    expect(fourth.anomalies.expired).toBe(FLOOD + 2 - 3 * CAP);
    const ids = [realId, laterId, ...fakes.map((u) => anomalyEventId(RULE_ID, u, B0))];
    const statuses = [...(await harness.store.getAnomalies(ids)).values()].map((r) => r.status);
    expect(statuses.filter((s) => s === 'published')).toHaveLength(3 * CAP);
    expect(statuses.filter((s) => s === 'expired')).toHaveLength(FLOOD + 2 - 3 * CAP);
  }, 180_000);
});

// --- run poisoning -----------------------------------------------------------------------------

describe('run poisoning', () => {
  it('alerts on a local user who pads their command lines past the 400 KB DynamoDB item limit, and on everyone else in the same run', async () => {
    // Prepare: twelve calls with 80 arguments of 2,000 characters each (any user controls their own argv).
    const padding = Array.from({ length: 80 }, (_, j) => String.fromCharCode(65 + (j % 26)).repeat(2_000));
    const padded = Array.from({ length: 12 }, (_, i) =>
      imdsCall({ time: B0 + MINUTE + i * 1_000, user: 'mallory', host: 'web-1', process: { args: ['curl', METADATA_URL, ...padding] } }),
    );
    const other = imdsCall({ time: B0 + 2 * MINUTE, user: 'jenkins', host: 'ci-runner-1' });
    harness = await startHarness({ learningPeriod: '1h' }, [...background(B0 + H), ...padded, other]);
    await learn(harness);

    // Act
    const run = await harness.runAt(B0 + BUCKET);

    // Assess: both alerts go out; the padded one keeps its ten evidence events, arguments bounded.
    expect(run.alerts.published).toHaveLength(2);
    const mallory = alerts(harness.sink.messages).find((m) => m.attributes.user === 'mallory');
    const body = JSON.parse(mallory?.body ?? '{}') as AlertBody;
    expect(body.evidence).toHaveLength(10);
    expect(Buffer.byteLength(mallory?.body ?? '')).toBeLessThan(256 * 1024);
    expect(body.evidence[0]?.process.args?.at(-1)).toMatch(/^… \d+ more arguments$/);
  });

  it('alerts on a forged event whose user and host names are longer than a DynamoDB key allows, and on everyone else in the same run', async () => {
    // Prepare: someone who can write to the log groups forges a 5,000-character user and host.
    const forged = imdsCall({ time: B0 + MINUTE, user: 'u'.repeat(5_000), host: 'h'.repeat(5_000) });
    const other = imdsCall({ time: B0 + 2 * MINUTE, user: 'jenkins', host: 'ci-runner-1' });
    harness = await startHarness({ learningPeriod: '1h' }, [...background(B0 + H), forged, other]);
    await learn(harness);

    // Act
    const run = await harness.runAt(B0 + BUCKET);

    // Assess: identities are cut to 256 characters (with a hash of the whole name) and both alert.
    expect(run.alerts.published).toHaveLength(2);
    const users = alerts(harness.sink.messages).map((m) => (JSON.parse(m.body) as AlertBody).user.name);
    expect(users).toContain('jenkins');
    const long = users.find((u) => u.startsWith('uuu'));
    expect(long).toMatch(/^u{238}…#[0-9a-f]{16}$/);
  });
});

// --- injection ---------------------------------------------------------------------------------

/** Users, hosts, process names and arguments as a host (or a forged log event) can write them. Every one contains "pwned". */
const PAYLOADS = [
  'www-data\r\nSubject: pwned',
  '\nSubject: pwned\n',
  'nul\u0000pwned',
  'ansi\u001b[31mpwned\u001b[0m',
  'line\u2028sep\u2029pwned\u0085nel',
  'bidi\u202edenwp.exe\u202c\u2066x\u2069\u200b',
  '<script>alert("pwned")</script>',
  `${'L'.repeat(5_000)}\r\nSubject: pwned`,
];
const LONG = PAYLOADS.length - 1;
const MARKERS = [/pwned/i, /denwp/i, /<script/i, /subject:/i];

function injectionEvents(): LogEvent[] {
  return PAYLOADS.map((payload, i) =>
    imdsCall({
      time: B0 + MINUTE + i * 1_000,
      user: payload,
      host: `${payload}@host-${i}`,
      process: { name: `curl\r\nSubject: pwned ${i}`, executable: `/tmp/${payload}/curl`, args: ['curl', '-A', payload, METADATA_URL] },
    }),
  );
}

/** What the alert email of `lines` may start with: the renderer's own words, never a value. */
const RENDERER_LINES = [
  /^$/,
  /^Unusual Linux user /,
  /^What happened$/,
  /^ {2}The user /,
  /^ {2}This user rarely or never does: /,
  /^ {2}When: /,
  /^ {2}Score: /,
  /^Who and where$/,
  /^ {2}User: /,
  /^ {2}Hosts: /,
  /^Evidence \(\d+ source event/,
  /^ {2}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z {2}/,
  /^ {6}command line: /,
  /^ {6}CloudWatch Logs: group /,
  /^Triage$/,
  /^ {2}\d+\. /,
  /^Everything on these hosts from /,
  /^ {2}https:\/\/[a-z0-9-]+\.console\.aws\.amazon\.com\//,
  /^Alert [0-9a-f]{32} published /,
  /^The JSON document of this alert /,
  // the overflow notice
  /^imds-watch held back \d+ alerts \(cap reached\)$/,
  /^\d+ anomalies were held back /,
  /^ {2}(published|held back|hosts|waiting): /,
];

describe('injection through user-controlled text', () => {
  /** Two runs at a cap of 4: eight alerts and one overflow notice that lists four attacker users. */
  async function runInjection(): Promise<OutgoingMessage[]> {
    harness = await startHarness({ learningPeriod: '1h', maxAlertsPerRun: 4 }, [...background(B0 + H), ...injectionEvents()]);
    await learn(harness);
    await harness.runAt(B0 + BUCKET);
    await harness.runAt(B0 + 2 * BUCKET);
    return harness.sink.messages;
  }

  it('keeps every SNS subject one printable ASCII line under 100 characters with no forged header, before and on the wire', async () => {
    // Prepare
    const messages = await runInjection();
    const wire = snsOnTheWire();

    // Act
    await wire.sink.publish(messages);

    // Assess
    expect(alerts(messages)).toHaveLength(PAYLOADS.length);
    expect(notices(messages)).toHaveLength(1);
    const subjects = [...messages.map((m) => m.subject), ...wire.entries().map((e) => e.Subject ?? '')];
    expect(subjects).toHaveLength(2 * messages.length);
    // Alerts keep the renderer's sentence: user and host are tokens of safe characters, cut to fit.
    const alertSubject = /^\[low\] Unusual Linux user [A-Za-z0-9._@:~-]+ called the metadata service on [A-Za-z0-9._@:~-]+$/;
    for (const subject of [...alerts(messages).map((m) => m.subject), ...wire.entries().filter((e) => e.Subject?.startsWith('[low]')).map((e) => e.Subject ?? '')]) {
      expect(subject).toMatch(alertSubject);
    }
    for (const subject of subjects) {
      expect(subject).toMatch(/^\[(low|notice)\] [\x20-\x7e]+$/);
      expect(subject.length).toBeLessThan(100);
      expect(subject).not.toMatch(/(^|[\r\n])\s*Subject:/i);
    }
  }, 120_000);

  it('keeps every message attribute on one line without control characters, before and on the wire', async () => {
    // Prepare
    const messages = await runInjection();
    const wire = snsOnTheWire();

    // Act
    await wire.sink.publish(messages);

    // Assess
    const values = [
      ...messages.flatMap((m) => Object.values(m.attributes)),
      ...wire.entries().flatMap((e) => Object.values(e.MessageAttributes ?? {}).map((a) => a.StringValue ?? '')),
    ];
    expect(values.some((v) => /pwned/.test(v))).toBe(true);
    for (const value of values) {
      expect(value).not.toMatch(CONTROL);
      expect(value.length).toBeGreaterThan(0);
      expect(value.length).toBeLessThanOrEqual(256);
    }
  }, 120_000);

  it('starts every line of the email text with the renderer\'s own words and leaves no control character in it', async () => {
    // Prepare, Act
    const messages = await runInjection();

    // Assess
    const texts = messages.map((m) => m.emailText ?? '');
    expect(texts.every((t) => t.length > 0)).toBe(true);
    for (const line of texts.flatMap((t) => t.split('\n'))) {
      expect(line, JSON.stringify(line.slice(0, 120))).not.toMatch(CONTROL);
      expect(
        RENDERER_LINES.some((prefix) => prefix.test(line)),
        `a line that does not start with the renderer's words: ${JSON.stringify(line.slice(0, 120))}`,
      ).toBe(true);
    }
    expect(texts.join('\n')).toContain('pwned');
  }, 120_000);

  it('carries the exact attacker values in the JSON body, where JSON escaping is the defence, with no raw control character in its text', async () => {
    // Prepare, Act
    const messages = await runInjection();

    // Assess: the body parses back to exactly what the host wrote (bounded when very long)...
    const bodies = alerts(messages).map((m) => JSON.parse(m.body) as AlertBody);
    for (const [i, payload] of PAYLOADS.entries()) {
      const body = bodies.find((b) => b.user.name === payload || (i === LONG && b.user.name.startsWith('L'.repeat(200))));
      expect(body, `the alert of payload ${i}`).toBeDefined();
      if (!body) continue;
      if (i === LONG) {
        // Identities are cut to 256 characters (DynamoDB keys); arguments to 1,024.
        expect([...body.user.name].length).toBeLessThanOrEqual(256);
        expect([...body.host.name].length).toBeLessThanOrEqual(256);
        expect(body.process.args?.[2]?.length).toBeLessThanOrEqual(1_025);
        continue;
      }
      expect(body.host.name).toBe(`${payload}@host-${i}`);
      expect(body.related.hosts).toEqual([`${payload}@host-${i}`]);
      expect(body.process.executable).toBe(`/tmp/${payload}/curl`);
      expect(body.process.args).toEqual(['curl', '-A', payload, METADATA_URL]);
      expect(body.evidence[0]?.process.name).toBe(`curl\r\nSubject: pwned ${i}`);
    }
    // ...and its text is one line of printable JSON: control characters, separators and bidi
    // overrides are \u escapes, not raw characters.
    for (const m of messages) expect(m.body).not.toMatch(CONTROL);
  }, 120_000);

  it('has the SNS sink check the subject and the attributes again, even when a message builder let raw text through', async () => {
    // Prepare: a message as a faulty builder might produce it.
    const wire = snsOnTheWire();
    const raw: OutgoingMessage = {
      id: 'raw-1',
      subject: '[low] x\r\nSubject: pwned\u0000',
      body: '{"event":{"kind":"alert"}}',
      attributes: { kind: 'alert', severity: 'low\r\nX: y', risk_score: '21', user: 'a\nSubject: pwned\u202e', host: '<b>\u2028h</b>' },
    };

    // Act
    await wire.sink.publish([raw]);

    // Assess
    const [entry] = wire.entries();
    expect(entry?.Subject).toMatch(/^[\x21-\x7e][\x20-\x7e]*$/);
    expect(entry?.Subject).not.toMatch(/Subject:/);
    for (const value of Object.values(entry?.MessageAttributes ?? {})) expect(value.StringValue).not.toMatch(CONTROL);
  });

  it('logs each run as one line of JSON that carries counts and ids, never the attacker\'s text', async () => {
    // Prepare: the scheduled job as the Lambda runs it, with the Powertools logger writing to stdout.
    const config: DetectorConfigInput = { learningPeriod: '1h', maxAlertsPerRun: 4 };
    const events = [...background(B0 + H), ...injectionEvents()];
    harness = await startHarness(config, events);
    const dev = process.env['POWERTOOLS_DEV'];
    delete process.env['POWERTOOLS_DEV'];
    const logger = new Logger({ serviceName: 'imds-watch-security-test', logLevel: 'INFO' });
    if (dev !== undefined) process.env['POWERTOOLS_DEV'] = dev;
    let clock = T0;
    const job = createDetectJob({
      detector: createDetector(parseDetectorConfig(config)),
      store: harness.store,
      alerts: harness.sink,
      telemetryFor: () => new ReplayTelemetrySource(events),
      logger,
      metrics: { addMetric: () => undefined },
      now: () => clock,
      maxCatchUpRuns: 12,
    });
    const written: string[] = [];
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof process.stdout.write);

    // Act
    try {
      for (clock = T0 + BUCKET; clock <= B0 + 2 * BUCKET; clock += BUCKET) {
        await job({ time: iso(clock) }, { awsRequestId: `req-${clock}`, getRemainingTimeInMillis: () => 600_000 });
      }
    } finally {
      stdout.mockRestore();
    }

    // Assess: the attacker's text went through the runs (it is in the alerts), not into the logs.
    expect(alerts(harness.sink.messages)).toHaveLength(PAYLOADS.length);
    const lines = written.join('').split('\n').filter((l) => l !== '');
    expect(lines.filter((l) => l.includes('"run summary"')).length).toBeGreaterThanOrEqual(10);
    for (const line of lines) {
      expect(() => JSON.parse(line), line.slice(0, 200)).not.toThrow();
      expect(line).not.toMatch(CONTROL);
      for (const marker of MARKERS) expect(line).not.toMatch(marker);
    }
  }, 120_000);
});

// --- secrets in evidence -----------------------------------------------------------------------

const SECRETS = {
  imdsToken: 'AQAEAF5ZmFrZS1pbWRzdjItc2Vzc2lvbi10b2tlbg==',
  bearer: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmF0dXJl',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN',
  password: 'hunter2',
  accessKeyId: 'ASIAQEXAMPLE7EXAMPLE',
  queryToken: 'FwoGZXIvYXdzEXAMPLEQUERYTOKEN',
  containerToken: 'ecs-container-authorization-token-value',
  urlPassword: 'letmein-url-password',
};

/** The same command lines, as argv (process.args) and as one string (process.command_line). */
const SECRET_COMMANDS: { executable: string; args: string[]; line: string; commandLineOnly?: boolean }[] = [
  {
    executable: '/usr/bin/curl',
    args: ['curl', '-s', '-H', `X-aws-ec2-metadata-token: ${SECRETS.imdsToken}`, METADATA_URL],
    line: `curl -s -H "X-aws-ec2-metadata-token: ${SECRETS.imdsToken}" ${METADATA_URL}`,
  },
  {
    executable: '/usr/bin/curl',
    args: ['curl', '-H', `Authorization: Bearer ${SECRETS.bearer}`, METADATA_URL],
    line: `curl -H "Authorization: Bearer ${SECRETS.bearer}" ${METADATA_URL}`,
  },
  {
    executable: '/usr/bin/env',
    args: ['env', `AWS_SECRET_ACCESS_KEY=${SECRETS.secretAccessKey}`, `aws_session_token=${SECRETS.sessionToken}`, 'aws', 'sts', 'get-caller-identity'],
    line: `env AWS_SECRET_ACCESS_KEY=${SECRETS.secretAccessKey} aws_session_token=${SECRETS.sessionToken} aws sts get-caller-identity`,
  },
  {
    executable: '/usr/bin/mysql',
    args: ['mysql', '--password', SECRETS.password, '-h', 'db'],
    line: `mysql --password ${SECRETS.password} -h db`,
  },
  {
    executable: '/usr/bin/sh',
    args: ['sh', '-c', `mysql --password ${SECRETS.password} -h db`],
    line: `sh -c "mysql --password ${SECRETS.password} -h db"`,
  },
  {
    executable: '/usr/bin/python3',
    args: ['python3', '-c', `import urllib.request as u; u.urlopen(u.Request('${METADATA_URL}', headers={'X-aws-ec2-metadata-token': '${SECRETS.imdsToken}'}))`],
    line: `python3 -c "import urllib.request as u; u.urlopen(u.Request('${METADATA_URL}', headers={'X-aws-ec2-metadata-token': '${SECRETS.imdsToken}'}))"`,
  },
  {
    executable: '/usr/local/bin/aws',
    args: ['aws', 'configure', 'set', 'aws_access_key_id', SECRETS.accessKeyId],
    line: `aws configure set aws_access_key_id ${SECRETS.accessKeyId}`,
  },
  {
    executable: '/usr/bin/curl',
    args: ['curl', `${METADATA_URL}?X-Amz-Security-Token=${SECRETS.queryToken}`],
    line: `curl "${METADATA_URL}?X-Amz-Security-Token=${SECRETS.queryToken}"`,
    commandLineOnly: true,
  },
  {
    executable: '/usr/bin/curl',
    args: ['curl', '-H', `Authorization: ${SECRETS.containerToken}`, `http://admin:${SECRETS.urlPassword}@169.254.169.254/latest/meta-data/`],
    line: `curl -H "Authorization: ${SECRETS.containerToken}" http://admin:${SECRETS.urlPassword}@169.254.169.254/latest/meta-data/`,
  },
];

describe('secrets in evidence', () => {
  it('redacts IMDSv2 tokens, bearer headers, keys, session tokens and passwords before an alert leaves or is stored', async () => {
    // Prepare: mallory's commands as argv, eve's as command-line strings.
    const events = SECRET_COMMANDS.flatMap((c, i) => [
      imdsCall({ time: B0 + MINUTE + i * 1_000, user: 'mallory', host: 'web-1', commandLineOnly: c.commandLineOnly, process: { executable: c.executable, args: c.args } }),
      imdsCall({ time: B0 + MINUTE + i * 1_000, user: 'eve', host: 'web-2', commandLineOnly: c.commandLineOnly, process: { executable: c.executable, command_line: c.line } }),
    ]);
    harness = await startHarness({ learningPeriod: '1h' }, [...background(B0 + H), ...events]);
    await learn(harness);
    const wire = snsOnTheWire();

    // Act
    await harness.runAt(B0 + BUCKET);
    await wire.sink.publish(harness.sink.messages);

    // Assess: the evidence is all there, every secret replaced.
    const published = alerts(harness.sink.messages);
    expect(published.map((m) => m.attributes.user).sort()).toEqual(['eve', 'mallory']);
    for (const m of published) {
      const body = JSON.parse(m.body) as AlertBody;
      expect(body.evidence).toHaveLength(SECRET_COMMANDS.length);
      expect(m.body.match(/\[REDACTED\]/g)?.length ?? 0).toBeGreaterThanOrEqual(SECRET_COMMANDS.length + 2);
      expect(m.emailText).toContain('[REDACTED]');
    }
    const records = [...(await harness.store.getAnomalies(published.map((m) => m.id))).values()].map((r) => r.alert);
    const everything = [
      ...harness.sink.messages.flatMap((m) => [m.subject, m.body, m.emailText ?? '', JSON.stringify(m.attributes)]),
      ...wire.entries().map((e) => JSON.stringify(e)),
      ...records,
    ];
    for (const [name, secret] of Object.entries(SECRETS)) {
      expect(everything.filter((text) => text.includes(secret)), `${name} leaked`).toEqual([]);
    }
  }, 120_000);
});

// --- the packaged template ---------------------------------------------------------------------


interface Resource {
  Type: string;
  Properties: JsonObject;
}

interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: Json;
  Principal?: Json;
  Condition?: JsonObject;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PACKAGE_TIMEOUT_MS = 180_000;


/**
 * `osls package` as test/deploy does it (no credentials, no AWS call), but in a copy of the service
 * files: serverless-esbuild writes its build directory into the service, and test/deploy may be
 * packaging the original at the same time.
 */
async function packageTemplate(): Promise<{ dir: string; resources: Record<string, Resource> }> {
  const dir = await mkdtemp(join(tmpdir(), 'imds-watch-security-'));
  for (const entry of ['serverless.yml', 'package.json', 'tsconfig.json', 'infra', 'functions', 'src']) {
    await cp(join(ROOT, entry), join(dir, 'service', entry), { recursive: true });
  }
  await symlink(join(ROOT, 'node_modules'), join(dir, 'service', 'node_modules'), 'dir');
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('AWS_')) env[key] = value;
  Object.assign(env, {
    AWS_SDK_LOAD_CONFIG: '0',
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
    AWS_CONFIG_FILE: join(dir, 'no-config'),
    AWS_EC2_METADATA_DISABLED: 'true',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    FORCE_COLOR: '0',
  });
  const args = ['--no', 'osls', 'package', '--stage', 'ci', '--region', 'us-east-1', '--package', join(dir, 'out')];
  try {
    await promisify(execFile)('npx', args, { cwd: join(dir, 'service'), env, timeout: PACKAGE_TIMEOUT_MS - 10_000, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const { stdout, stderr, message } = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`npx ${args.join(' ')} failed: ${message}\n${stdout ?? ''}\n${stderr ?? ''}`);
  }
  const template = JSON.parse(await readFile(join(dir, 'out', 'cloudformation-template-update-stack.json'), 'utf8')) as { Resources: Record<string, Resource> };
  return { dir, resources: template.Resources };
}

/** Every TypeScript file the handler imports, directly or not (relative imports only). */
async function reachableFrom(entry: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const queue = [entry];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (files.has(file)) continue;
    const text = await readFile(join(ROOT, file), 'utf8');
    files.set(file, text);
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)\.js'/g)) {
      queue.push(relative(ROOT, join(ROOT, dirname(file), `${m[1]}.ts`)));
    }
  }
  return files;
}

/** IAM prefixes of the SDK clients the adapters use. */
const IAM_PREFIX: Record<string, string> = { dynamodb: 'dynamodb', 'cloudwatch-logs': 'logs', sns: 'sns' };
/** SDK commands that IAM authorizes under another action (Amazon SNS API reference, PublishBatch). */
const IAM_ACTION_OF: Record<string, string> = { 'sns:PublishBatch': 'sns:Publish' };

/**
 * The IAM actions the function's code sends: every `new XCommand(` in the adapters the handler
 * imports, inside a method that the handler's code calls. A method only the CLI calls (exceptions
 * remove: DeleteItem) needs no permission in the function's role.
 */
async function actionsTheCodeSends(): Promise<Map<string, string>> {
  const reachable = await reachableFrom('functions/detect.ts');
  const actions = new Map<string, string>();
  for (const [file, text] of reachable) {
    if (!file.startsWith('src/adapters/')) continue;
    const client = /from '@aws-sdk\/client-([\w-]+)'/.exec(text)?.[1];
    for (const m of text.matchAll(/new (\w+)Command\(/g)) {
      if (client === undefined) throw new Error(`${file}: a command without an @aws-sdk/client-* import`);
      const prefix = IAM_PREFIX[client];
      if (prefix === undefined) throw new Error(`${file}: add the IAM prefix of @aws-sdk/client-${client} to IAM_PREFIX`);
      const before = text.slice(0, m.index);
      // The enclosing class member (two spaces in) or top-level function.
      const declarations = before.matchAll(/^(?: {2}(?=\S)(?:public |private |protected )?(?:static )?(?:async )?\*?|(?:export )?(?:async )?function\*? )(\w+)\s*[(<]/gm);
      const method = [...declarations].at(-1)?.[1];
      const called = method !== undefined && [...reachable.values()].some((t) => new RegExp(`\\.${method}\\(`).test(t));
      if (!called) continue;
      const action = `${prefix}:${m[1]}`;
      const iamAction = IAM_ACTION_OF[action] ?? action;
      if (!actions.has(iamAction)) actions.set(iamAction, `${file} ${method}`);
    }
  }
  return actions;
}

describe('the packaged template', () => {
  let dir: string | undefined;
  let resources: Record<string, Resource>;
  const policyOf = (id: string, property: string): Statement[] =>
    (resources[id]?.Properties[property] as unknown as { Statement: Statement[] }).Statement;

  beforeAll(async () => {
    ({ dir, resources } = await packageTemplate());
  }, PACKAGE_TIMEOUT_MS);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lets only the function role (and this stack\'s alarms) publish to the topic, and nobody over plain HTTP', () => {
    // Prepare
    const statements = policyOf('AlertTopicPolicy', 'PolicyDocument');
    const role = { 'Fn::GetAtt': ['IamRoleLambdaExecution', 'Arn'] };
    const allows = statements.filter((s) => s.Effect === 'Allow');
    const denies = statements.filter((s) => s.Effect === 'Deny');

    // Assess: two grants, both for sns:Publish on this topic only.
    expect(resources['AlertTopic']?.Properties['KmsMasterKeyId']).toEqual({ Ref: 'StackKey' });
    expect(resources['AlertTopicPolicy']?.Properties['Topics']).toEqual([{ Ref: 'AlertTopic' }]);
    expect(allows.map((s) => s.Principal)).toEqual([{ AWS: role }, { Service: 'cloudwatch.amazonaws.com' }]);
    for (const s of allows) {
      expect(asArray(s.Action)).toEqual(['sns:Publish']);
      expect(s.Resource).toEqual({ Ref: 'AlertTopic' });
    }
    const alarms = allows[1]?.Condition as { StringEquals: JsonObject; ArnLike: JsonObject } | undefined;
    expect(alarms?.StringEquals['aws:SourceAccount']).toEqual({ Ref: 'AWS::AccountId' });
    expect(render(alarms?.ArnLike['aws:SourceArn'] ?? null)).toBe('arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:imds-watch-ci-*');
    // Any other publisher is denied whatever IAM elsewhere in the account allows; so is plain HTTP.
    expect(denies).toContainEqual(
      expect.objectContaining({
        Principal: '*',
        Action: 'sns:Publish',
        Condition: { StringNotEquals: { 'aws:PrincipalArn': role }, Bool: { 'aws:PrincipalIsAWSService': 'false' } },
      }),
    );
    expect(denies).toContainEqual(expect.objectContaining({ Principal: '*', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
  });

  it('gives kms:* only to the account root, which delegates to IAM, and the key\'s one service grant only to this stack\'s alarms', () => {
    // Prepare
    const statements = policyOf('StackKey', 'KeyPolicy');
    const summary = statements.map((s) => ({ effect: s.Effect, principal: render(s.Principal ?? null), actions: asArray(s.Action).sort() }));

    // Assess: the root statement (the default key policy: without it, IAM policies could not grant the key) ...
    expect(summary).toEqual([
      { effect: 'Allow', principal: JSON.stringify({ AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } }), actions: ['kms:*'] },
      { effect: 'Allow', principal: JSON.stringify({ Service: 'cloudwatch.amazonaws.com' }), actions: ['kms:Decrypt', 'kms:GenerateDataKey*'] },
    ]);
    expect(statements[0]?.Condition).toBeUndefined();
    // ... and CloudWatch, for alarms of this stack in this account and region only.
    expect(statements[1]?.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLike: { 'aws:SourceArn': { 'Fn::Sub': 'arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:imds-watch-ci-*' } },
    });
  });

  it('encrypts the table with the stack key and keeps point-in-time recovery on', () => {
    // Prepare
    const table = resources['StateTable']?.Properties;

    // Assess
    expect(table?.['SSESpecification']).toEqual({ SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': ['StackKey', 'Arn'] } });
    expect(table?.['PointInTimeRecoverySpecification']).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(table?.['DeletionProtectionEnabled']).toBe(true);
  });

  it('grants the function exactly the actions its code sends, each on named resources', async () => {
    // Prepare: what the code sends, plus what AWS services do on the function's behalf.
    const sent = await actionsTheCodeSends();
    const logGroup = 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:';
    const table = ['${StateTable.Arn}', '${StateTable.Arn}/index/*'];
    const expected: Record<string, string[]> = {
      ...Object.fromEntries([...sent.keys()].filter((a) => a.startsWith('dynamodb:')).map((a) => [a, table])),
      ...(sent.has('sns:Publish') ? { 'sns:Publish': ['${AlertTopic}'] } : {}),
      ...(sent.has('logs:FilterLogEvents')
        ? { 'logs:FilterLogEvents': ['/imds-watch/audit', '/imds-watch/audit:*', '/imds-watch/ecs', '/imds-watch/ecs:*'].map((g) => `${logGroup}${g}`) }
        : {}),
      // Resolves prefixes and finds missing groups: IAM scopes it no closer than the account and region.
      ...(sent.has('logs:DescribeLogGroups') ? { 'logs:DescribeLogGroups': [`${logGroup}*`] } : {}),
      // SNS asks KMS for a data key for the encrypted topic, DynamoDB uses the table's key, for the caller.
      'kms:GenerateDataKey*': ['${StackKey.Arn}'],
      'kms:Decrypt': ['${StackKey.Arn}'],
      'kms:Encrypt': ['${StackKey.Arn}'],
      // Lambda: the on-failure destination, and the function's own log group (added by the framework).
      'sqs:SendMessage': ['${OnFailureQueue.Arn}'],
      'logs:CreateLogGroup': [`${logGroup}/aws/lambda/imds-watch-ci*:*`],
      'logs:CreateLogStream': [`${logGroup}/aws/lambda/imds-watch-ci*:*`],
      'logs:TagResource': [`${logGroup}/aws/lambda/imds-watch-ci*:*`],
      'logs:PutLogEvents': [`${logGroup}/aws/lambda/imds-watch-ci*:*:*`],
    };
    const role = resources['IamRoleLambdaExecution']?.Properties['Policies'] as unknown as { PolicyDocument: { Statement: Statement[] } }[];
    const statements = role.flatMap((p) => p.PolicyDocument.Statement);
    const granted: Record<string, string[]> = {};
    for (const s of statements) {
      for (const action of asArray(s.Action)) granted[action] = [...(granted[action] ?? []), ...asArray(s.Resource).map(render)];
    }

    // Assess
    expect([...sent.keys()].sort()).toEqual(
      expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:BatchGetItem', 'sns:Publish', 'logs:FilterLogEvents']),
    );
    expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);
    // Every action the code sends is granted here, except the Logs Insights mode's, which a separate
    // policy grants only in that mode (test/deploy/packaged-template.test.ts checks it).
    const insightsMode = ['logs:StartQuery', 'logs:GetQueryResults', 'logs:StopQuery'];
    expect([...sent.keys()].filter((a) => !(a in expected) && !insightsMode.includes(a))).toEqual([]);
    expect(Object.values(granted).flat()).not.toContain('*');
    expect(Object.keys(granted).sort()).toEqual(Object.keys(expected).sort());
    for (const [action, scope] of Object.entries(expected)) expect(granted[action]?.sort(), action).toEqual([...scope].sort());
  });
});
