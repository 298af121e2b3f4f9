// imds-watch baseline, explain and exceptions: against a replay's state (--state DIR), and against
// the deployed-table path (--table NAME: the AWS SDK's default client, pointed at dynalite).

import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbBaselineStore } from '../../src/adapters/dynamodb-baseline-store.js';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../src/adapters/embedded-dynalite.js';
import { anomalyEventId } from '../../src/alerts/event-id.js';
import { main } from '../../src/cli/main.js';
import { unusualLinuxUserImdsRule } from '../../src/detections/credential_access_unusual_linux_user_imds.js';
import { capturedIo } from '../support/captured-io.js';
import { BUCKET, DAY, ecsCall, MINUTE, regular } from '../support/run-harness.js';

const T0 = Date.parse('2026-11-02T00:00:00Z');
const H = 3_600_000;
/** www-data calls once, at 02:01 on h1; root calls every 5 minutes from midnight. */
const WWW_BUCKET = T0 + 2 * H;
const WWW_ID = anomalyEventId(unusualLinuxUserImdsRule.id, 'www-data', WWW_BUCKET);

let dir: string;
let input: string;
let config: string;

const ndjson = (events: ReturnType<typeof ecsCall>[]) =>
  events
    .map((e) => JSON.stringify({ timestamp: e.timestamp, ingestionTime: e.ingestionTime, logGroupName: e.logGroup, logStreamName: e.logStream, eventId: e.eventId, message: e.message }))
    .join('\n');

/** Runs the CLI; returns the exit code and what it wrote. */
async function run(argv: string[]) {
  const io = capturedIo();
  const code = await main(argv, io);
  return { code, out: io.out(), err: io.err() };
}

async function replay(state: string, from: string, to: string) {
  return run(['replay', '--input', input, '--from', from, '--to', to, '--config', config, '--state', state]);
}

const alertsOf = (out: string): { event: { id: string; kind: string }; user: { name: string }; '@timestamp': string }[] =>
  out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((m) => m.event.kind === 'alert');

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'imds-watch-ops-'));
  input = path.join(dir, 'fleet.ndjson');
  await writeFile(input, ndjson([...regular('root', 'h1', T0, T0 + 3 * H, 5 * MINUTE), ecsCall({ time: WWW_BUCKET + MINUTE, user: 'www-data', host: 'h1', ip: '169.254.169.254' })]));
  config = path.join(dir, 'config.json');
  await writeFile(config, JSON.stringify({ learningPeriod: '1h' }));
});

describe('imds-watch baseline and explain on a replay\'s state', () => {
  let state: string;
  let alert: ReturnType<typeof alertsOf>[number];

  beforeAll(async () => {
    state = path.join(dir, 'state-main');
    const replayed = await replay(state, '2026-11-02T00:00:00Z', '2026-11-02T03:00:00Z');
    expect(replayed.code).toBe(0);
    const alerts = alertsOf(replayed.out);
    expect(alerts.map((a) => a.user.name)).toEqual(['www-data']);
    alert = alerts[0] as (typeof alerts)[number];
  });

  it('reports buckets, days, first and last seen, hosts, processes and the next bucket\'s score as JSON', async () => {
    // Act
    const { code, out } = await run(['baseline', 'www-data', '--state', state, '--config', config, '--json']);
    // Assess
    expect(code).toBe(0);
    const view = JSON.parse(out);
    expect(view).toMatchObject({
      user: 'www-data',
      found: true,
      at: '2026-11-02T03:00:00Z',
      atSource: 'latest run',
      daysSeen: 1,
      daysObserved: 1,
      bucketsSeen: 1,
      firstSeen: '2026-11-02T02:00:00Z',
      lastSeen: '2026-11-02T02:00:00Z',
      hosts: ['h1'],
      processes: ['/usr/bin/curl'],
      hostsAndProcessesFrom: 'baseline',
      latestAlert: { id: alert.event.id, status: 'published' },
      nextBucket: { bucketStart: '2026-11-02T03:00:00Z', score: 0, threshold: 75, learning: false, wouldAlert: false },
    });
    expect(view.days).toHaveLength(30);
    expect(view.days.at(-1)).toMatchObject({ buckets: 1, observed: true });
    expect(view.days.slice(0, -1).every((d: { buckets: number }) => d.buckets === 0)).toBe(true);
  });

  it('scores a new bucket at --at: www-data looked from before its first call is a newcomer', async () => {
    // Act
    const { code, out } = await run(['baseline', 'www-data', '--state', state, '--config', config, '--json', '--at', '2026-11-02T01:30:00Z']);
    // Assess: the bucket at 02:00 is not history yet at 01:30
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ atSource: 'given', bucketsSeen: 0, daysSeen: 0, firstSeen: null, nextBucket: { score: 75.9, wouldAlert: true } });
  });

  it('prints an aligned table and a 30-day strip on a terminal', async () => {
    // Act
    const { code, out } = await run(['baseline', 'root', '--state', state, '--config', config]);
    // Assess
    expect(code).toBe(0);
    expect(out).toMatch(/^baseline of root \(state .*state-main\)$/m);
    expect(out).toMatch(/^ {2}days seen {7}1 of 1$/m);
    expect(out).toMatch(/^ {2}buckets seen {4}12 within memory \(12 stored\)$/m);
    expect(out).toMatch(/^ {2}hosts {11}h1$/m);
    expect(out).toMatch(/^ {2}processes {7}\/usr\/bin\/curl$/m);
    expect(out).toMatch(/^ {2}next bucket {5}2026-11-02T03:00:00Z: score 0, no alert \(alerts at 75 or more\)$/m);
    expect(out).toMatch(/^ {2}2026-10-03 -{29}▮ 2026-11-01$/m);
  });

  it('says so, and exits 0, for a user never seen', async () => {
    // Act
    const json = await run(['baseline', 'nobody', '--state', state, '--json']);
    const text = await run(['baseline', 'nobody', '--state', state]);
    // Assess
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toEqual({ user: 'nobody', found: false });
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^no baseline for nobody in state /);
  });

  it('explains the replay\'s alert as JSON: status, score, factors, explanation, actual against typical, evidence', async () => {
    // Act
    const { code, out } = await run(['explain', alert.event.id, '--state', state, '--json']);
    // Assess
    expect(code).toBe(0);
    const view = JSON.parse(out);
    expect(view).toMatchObject({
      id: alert.event.id,
      status: 'published',
      publishedAt: alert['@timestamp'].replace('.000Z', 'Z'),
      user: 'www-data',
      host: 'h1',
      bucketStart: '2026-11-02T02:00:00Z',
      bucketSpan: '15m',
      calls: 1,
      threshold: 75,
      actual: { user: 'www-data', daysSeen: 0, bucketsSeen: 0, daysObserved: 1 },
      typical: { user: 'root' },
      factors: { days: { value: 1, computation: '(1 − min(1, 2 × 0 / 1))²' }, buckets: { value: 1, computation: '4 / (4 + 0)' } },
      repeats: [],
    });
    expect(view.score).toBeGreaterThanOrEqual(75);
    expect(view.factors.confidence.computation).toBe('0.75 + 0.25 × 1 / 30');
    expect(view.explanation).toMatch(/^www-data had not called the metadata service/);
    expect(view.evidence).toEqual([
      expect.objectContaining({ time: '2026-11-02T02:01:00.000Z', host: 'h1', process: '/usr/bin/curl', destination: '169.254.169.254:80' }),
    ]);
  });

  it('explains the alert as readable text', async () => {
    // Act
    const { code, out } = await run(['explain', alert.event.id, '--state', state]);
    // Assess
    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^anomaly ${alert.event.id} \\(state `));
    expect(out).toMatch(/^ {2}status {4}published at 2026-11-02T02:15:00Z$/m);
    expect(out).toMatch(/^ {2}confidence {2}0\.76 {2}= 0\.75 \+ 0\.25 × 1 \/ 30 +days observed/m);
    expect(out).toMatch(/^evidence \(1 event\)$/m);
    expect(out).toMatch(/^ {2}2026-11-02T02:01:00\.000Z {2}h1 {4}\/usr\/bin\/curl {2}169\.254\.169\.254:80$/m);
  });

  it('exits 1 with one line for an id it does not know', async () => {
    // Act
    const { code, out, err } = await run(['explain', 'ffffffffffffffffffffffffffffffff', '--state', state]);
    // Assess
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toBe(`imds-watch: no anomaly with id ffffffffffffffffffffffffffffffff in state ${state}\n`);
  });
});

describe('imds-watch exceptions on a replay\'s state', () => {
  it('adds an exception once however often it is added, lists it, and removes it', async () => {
    // Prepare
    const state = path.join(dir, 'state-exceptions');
    const addArgs = ['exceptions', 'add', '--user', 'backup', '--process', '*restic*', '--reason', 'nightly backup', '--by', 'tester', '--state', state];

    // Act
    const first = await run([...addArgs, '--json']);
    const second = await run([...addArgs, '--expires', '2099-01-01T00:00:00Z', '--json']);
    const listed = await run(['exceptions', 'list', '--state', state, '--json']);
    const table = await run(['exceptions', 'list', '--state', state]);
    const id = JSON.parse(first.out).exception.id as string;
    const removed = await run(['exceptions', 'remove', id, '--state', state]);
    const removedAgain = await run(['exceptions', 'remove', id, '--state', state]);
    const empty = await run(['exceptions', 'list', '--state', state]);

    // Assess
    expect(first.code).toBe(0);
    expect(id).toMatch(/^[0-9a-f]{12}$/);
    expect(JSON.parse(first.out)).toMatchObject({ action: 'added', exception: { id, user: 'backup', process: '*restic*', status: 'active', createdBy: 'tester' } });
    expect(JSON.parse(second.out)).toMatchObject({ action: 'replaced', exception: { id, expires: '2099-01-01T00:00:00Z' } });
    const exceptions = JSON.parse(listed.out).exceptions;
    expect(exceptions).toEqual([
      expect.objectContaining({ id, source: 'table', status: 'active', user: 'backup', process: '*restic*', reason: 'nightly backup', createdBy: 'tester', expires: '2099-01-01T00:00:00Z' }),
    ]);
    expect(table.out).toMatch(/^ID {12}SOURCE {2}STATUS {2}USER {4}PROCESS {3}HOST {2}EXPIRES {15}BY {6}CREATED/m);
    expect(table.out).toMatch(new RegExp(`^${id}  table   active  backup  \\*restic\\*  \\*     2099-01-01T00:00:00Z  tester  \\S+  nightly backup$`, 'm'));
    expect(table.out).toMatch(/^1 exception\(s\) in state .*: 1 active, 0 expired$/m);
    expect(removed).toMatchObject({ code: 0, out: `removed exception ${id} from state ${state}\n` });
    expect(removedAgain).toMatchObject({ code: 1, err: `imds-watch: no exception with id ${id} in state ${state}\n` });
    expect(empty.out).toBe(`no exceptions in state ${state}\n`);
  });

  it('lists the config\'s exceptions next to the stored ones, marked source config', async () => {
    // Prepare
    const state = path.join(dir, 'state-config-exceptions');
    const withExceptions = path.join(dir, 'with-exceptions.json');
    await writeFile(withExceptions, JSON.stringify({ exceptions: [{ host: 'test-*', reason: 'test environment', expires: '2020-01-01T00:00:00Z' }] }));
    await run(['exceptions', 'add', '--user', 'cwagent', '--reason', 'CloudWatch agent', '--by', 'tester', '--state', state]);

    // Act
    const { code, out } = await run(['exceptions', 'list', '--state', state, '--config', withExceptions, '--json']);

    // Assess
    expect(code).toBe(0);
    expect(JSON.parse(out).exceptions).toEqual([
      expect.objectContaining({ source: 'table', status: 'active', user: 'cwagent' }),
      expect.objectContaining({ source: 'config', status: 'expired', host: 'test-*', reason: 'test environment' }),
    ]);
  });

  it('makes a later replay record the user\'s anomaly as excepted instead of alerting', async () => {
    // Prepare: the first replay stops before www-data's call; the exception is added between the two.
    const state = path.join(dir, 'state-excepted');
    await replay(state, '2026-11-02T00:00:00Z', '2026-11-02T01:30:00Z');
    const added = await run(['exceptions', 'add', '--user', 'www-*', '--reason', 'web health check', '--by', 'tester', '--state', state]);

    // Act
    const later = await replay(state, '2026-11-02T01:30:00Z', '2026-11-02T03:00:00Z');
    const explained = await run(['explain', WWW_ID, '--state', state, '--json']);

    // Assess
    expect(added.code).toBe(0);
    expect(alertsOf(later.out)).toEqual([]);
    expect(JSON.parse(later.err.trim().split('\n').at(-1) ?? '{}')).toMatchObject({ type: 'replay-summary', anomalies: 1, excepted: 1 });
    expect(JSON.parse(explained.out)).toMatchObject({ id: WWW_ID, status: 'excepted', reason: 'web health check', user: 'www-data', publishedAt: null });
  });

  it('lists an expired exception as expired and still alerts on what it would have matched', async () => {
    // Prepare
    const state = path.join(dir, 'state-expired');
    await replay(state, '2026-11-02T00:00:00Z', '2026-11-02T01:30:00Z');
    const added = await run(['exceptions', 'add', '--user', 'www-data', '--reason', 'was a test', '--expires', '2026-11-02T01:00:00Z', '--by', 'tester', '--state', state]);

    // Act
    const listed = await run(['exceptions', 'list', '--state', state]);
    const later = await replay(state, '2026-11-02T01:30:00Z', '2026-11-02T03:00:00Z');

    // Assess
    expect(added.code).toBe(0);
    expect(added.err).toMatch(/has already expired/);
    expect(listed.out).toMatch(/^\S+ +table +expired +www-data /m);
    expect(listed.out).toMatch(/0 active, 1 expired/);
    expect(alertsOf(later.out).map((a) => a.event.id)).toEqual([WWW_ID]);
  });
});

describe('imds-watch operator commands: usage', () => {
  it.each([
    [['baseline'], /baseline needs a USER/],
    [['baseline', 'root'], /give either --state DIR .* or --table NAME/],
    [['baseline', 'root', '--state', 'STATE', '--table', 't'], /give either --state DIR/],
    [['baseline', 'root', 'root2', '--state', 'STATE'], /unexpected argument "root2"/],
    [['baseline', 'root', '--state', 'STATE', '--at', 'yesterday'], /--at needs an ISO 8601 time/],
    [['baseline', 'root', '--state', '/no/such/state'], /state directory \/no\/such\/state does not exist/],
    [['baseline', 'root', '--state', 'STATE', '--region', 'eu-west-1'], /--region goes with --table NAME/],
    [['explain', '--state', 'STATE'], /explain needs an ALERT_ID/],
    [['explain', 'x', '--state'], /--state needs a value/],
    [['explain', 'x', '--state', 'STATE', '--json=yes'], /--json takes no value/],
    [['exceptions', 'frob'], /unknown exceptions command "frob"/],
    [['exceptions', 'add', '--reason', 'r', '--state', 'STATE'], /exceptions add needs at least one of --user, --process, --host/],
    [['exceptions', 'add', '--user', 'x', '--state', 'STATE'], /exceptions add needs --reason/],
    [['exceptions', 'add', '--user', '{a,b', '--reason', 'r', '--state', 'STATE'], /--user "\{a,b" is not a valid glob/],
    [['exceptions', 'add', '--host', '', '--reason', 'r', '--state', 'STATE'], /--host must not be empty/],
    [['exceptions', 'add', '--user', 'x', '--reason', 'r', '--expires', 'soon', '--state', 'STATE'], /--expires needs an ISO 8601 time .* or a duration like 30d, got "soon"/],
    [['exceptions', 'list', '--bogus'], /unknown option --bogus \(see imds-watch exceptions list --help\)/],
    [['exceptions', 'remove', '--state', 'STATE'], /exceptions remove needs an ID/],
  ])('exits 2 with one line for %j', async (argv, message) => {
    // Prepare
    const args = argv.map((a) => (a === 'STATE' ? path.join(dir, 'state-usage') : a));
    // Act
    const { code, err } = await run(args);
    // Assess
    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(err.trim().split('\n')).toHaveLength(1);
  });

  it.each([['baseline'], ['explain'], ['exceptions'], ['exceptions', 'add']])('prints the usage of %j with --help', async (...command) => {
    // Act
    const { code, out } = await run([...command, '--help']);
    // Assess
    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^Usage: imds-watch ${command[0]} `));
    expect(out).toMatch(/--state DIR/);
  });
});

describe('imds-watch operator commands on the deployed table (AWS adapter)', () => {
  const TABLE = 'imds-watch-ops';
  const ENV = ['AWS_ENDPOINT_URL_DYNAMODB', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'] as const;
  const saved = new Map<string, string | undefined>();
  let dynamo: EmbeddedDynamo;
  const anomalyId = 'a1'.repeat(16);

  beforeAll(async () => {
    dynamo = await startEmbeddedDynamo({ tableName: TABLE });
    for (const name of ENV) saved.set(name, process.env[name]);
    delete process.env['AWS_SESSION_TOKEN'];
    delete process.env['AWS_PROFILE'];
    process.env['AWS_ENDPOINT_URL_DYNAMODB'] = dynamo.endpoint;
    process.env['AWS_REGION'] = 'us-east-1';
    process.env['AWS_ACCESS_KEY_ID'] = 'test';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'test';
    // What scheduled runs would have written: two days of www-data on h9, and one excepted anomaly.
    const store = new DynamoDbBaselineStore({ client: dynamo.client, tableName: TABLE, memoryMs: 30 * DAY, bucketMs: BUCKET });
    await store.noteObserved(T0 - 10 * DAY);
    await store.advanceCheckpoint(T0);
    await store.learn([{ user: 'www-data', add: [T0 - 3 * DAY, T0 - DAY + BUCKET], forgetBefore: T0 - 30 * DAY, hosts: ['h9'], processes: ['/usr/bin/python3'] }]);
    const doc = {
      event: { id: anomalyId },
      related: { hosts: ['h9'] },
      anomaly: {
        score: 100, threshold: 75, bucket_span: '15m', calls: 2,
        factors: { confidence: 1, days: 1, buckets: 1 },
        explanation: 'mallory had not called the metadata service in the 30 day(s) observed.',
        actual: { user: 'mallory', days_seen: 0, buckets_seen: 0, days_observed: 30 },
        typical: null,
      },
      evidence: [{ '@timestamp': '2026-11-01T10:03:00.000Z', host: { name: 'h9' }, process: { executable: '/usr/bin/wget' }, destination: { ip: '169.254.170.2', port: 80 } }],
    };
    await store.createAnomaly({ id: anomalyId, status: 'excepted', reason: 'pen test', user: 'mallory', host: 'h9', score: 100, bucketStart: T0 - 14 * H, detectedAt: T0 - 13 * H, alert: JSON.stringify(doc) });
  });

  afterAll(async () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await dynamo.close();
  });

  it('reads baselines and anomalies and writes exceptions with --table NAME', async () => {
    // Act
    const baseline = await run(['baseline', 'www-data', '--table', TABLE, '--json']);
    const explained = await run(['explain', anomalyId, '--table', TABLE, '--region', 'us-east-1', '--json']);
    const added = await run(['exceptions', 'add', '--host', 'build-*', '--reason', 'CI runners', '--expires', '7d', '--by', 'ops', '--table', TABLE, '--json']);
    const listed = await run(['exceptions', 'list', '--table', TABLE, '--json']);
    const missing = await run(['explain', 'nope', '--table', TABLE]);

    // Assess
    expect(baseline.code).toBe(0);
    expect(JSON.parse(baseline.out)).toMatchObject({
      user: 'www-data', found: true, store: `table ${TABLE}`, at: '2026-11-02T00:00:00Z', atSource: 'latest run',
      daysSeen: 2, bucketsSeen: 2, daysObserved: 10, hosts: ['h9'], processes: ['/usr/bin/python3'],
      firstSeen: '2026-10-30T00:00:00Z', lastSeen: '2026-11-01T00:15:00Z',
    });
    expect(explained.code).toBe(0);
    expect(JSON.parse(explained.out)).toMatchObject({
      id: anomalyId, status: 'excepted', reason: 'pen test', statusText: 'excepted, not published: pen test',
      user: 'mallory', typical: null, evidence: [{ host: 'h9', process: '/usr/bin/wget', destination: '169.254.170.2:80' }],
    });
    expect(added.code).toBe(0);
    const id = JSON.parse(added.out).exception.id;
    expect(JSON.parse(listed.out)).toMatchObject({ store: `table ${TABLE}`, exceptions: [{ id, host: 'build-*', status: 'active', createdBy: 'ops' }] });
    expect(missing).toMatchObject({ code: 1, err: `imds-watch: no anomaly with id nope in table ${TABLE}\n` });
  });
});
