import { afterEach, describe, expect, it } from 'vitest';
import { anomalyEventId } from '../../src/alerts/event-id.js';
import { unusualLinuxUserImdsRule } from '../../src/detections/credential_access_unusual_linux_user_imds.js';
import type { LogEvent } from '../../src/telemetry/log-event.js';
import { BUCKET, DAY, ecsCall, MINUTE, regular, startHarness, type Harness } from '../support/run-harness.js';

const T0 = Date.parse('2026-11-02T00:00:00Z');
const H = 3_600_000;

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function runEvery(h: Harness, from: number, to: number) {
  const summaries = [];
  for (let t = from; t <= to; t += BUCKET) summaries.push(await h.runAt(t));
  return summaries;
}

const background = (to: number): LogEvent[] => regular('root', 'h1', T0, to, 5 * MINUTE, '/usr/bin/amazon-ssm-agent');

describe('runDetection over overlapping windows', () => {
  it('alerts once for a bucket that three overlapping runs and two retries all see', async () => {
    // Prepare
    const attack = ecsCall({ time: T0 + 2 * H + 5 * MINUTE, user: 'www-data', host: 'h1', ip: '169.254.169.254' });
    harness = await startHarness({ learningPeriod: '1h' }, [...background(T0 + 3 * H), attack]);
    // Act
    await runEvery(harness, T0 + BUCKET, T0 + 3 * H);
    await harness.runAt(T0 + 2 * H + BUCKET, 'retry-1');
    await harness.runAt(T0 + 2 * H + BUCKET, 'retry-2');
    // Assess
    const alerts = harness.sink.alerts();
    expect(alerts).toEqual([{ id: anomalyEventId(unusualLinuxUserImdsRule.id, 'www-data', T0 + 2 * H), user: 'www-data', host: 'h1' }]);
  });

  it('alerts once, in the first run that can see it, on an event ingested 25 minutes late', async () => {
    // Prepare
    const late = ecsCall({ time: T0 + 2 * H + 5 * MINUTE, user: 'www-data', host: 'h1', ip: '169.254.169.254', lag: 25 * MINUTE });
    harness = await startHarness({ learningPeriod: '1h' }, [...background(T0 + 3 * H), late]);
    // Act
    const summaries = await runEvery(harness, T0 + BUCKET, T0 + 3 * H);
    // Assess
    const publishedBy = summaries.filter((s) => s.alerts.published.length > 0).map((s) => s.runTime);
    expect(publishedBy).toEqual([new Date(T0 + 2 * H + 30 * MINUTE).toISOString()]);
    expect(harness.sink.alerts()).toHaveLength(1);
  });

  it('does not alert on regular callers', async () => {
    // Prepare: root every 5 min, an SDK hourly, a person daily, over three days.
    const events = [
      ...background(T0 + 3 * DAY),
      ...regular('app', 'h2', T0 + 7 * MINUTE, T0 + 3 * DAY, H, '/usr/bin/node'),
      ...regular('alice', 'h2', T0 + 9 * H, T0 + 3 * DAY, DAY + 37 * MINUTE, '/usr/local/bin/aws'),
    ];
    harness = await startHarness({}, events);
    // Act
    const summaries = await runEvery(harness, T0 + BUCKET, T0 + 3 * DAY);
    // Assess
    expect(harness.sink.messages).toEqual([]);
    expect(summaries.at(-1)?.learning).toBe(false);
    expect(summaries.reduce((n, s) => n + s.observations, 0)).toBeGreaterThan(0);
  });
});

describe('runDetection learning period', () => {
  it('learns but does not alert until the model has observed for the learning period', async () => {
    // Prepare: a new user during learning, another after it.
    const early = ecsCall({ time: T0 + 2 * H, user: 'early', host: 'h1', ip: '169.254.169.254' });
    const later = ecsCall({ time: T0 + 25 * H, user: 'later', host: 'h1', ip: '169.254.169.254' });
    harness = await startHarness({ learningPeriod: '24h' }, [...background(T0 + 26 * H), early, later]);
    // Act
    const summaries = await runEvery(harness, T0 + BUCKET, T0 + 26 * H);
    // Assess
    expect(harness.sink.alerts().map((a) => a.user)).toEqual(['later']);
    expect(summaries.reduce((n, s) => n + s.anomalies.duringLearning, 0)).toBeGreaterThan(0);
    expect((await harness.store.getBaselines(['early'])).get('early')?.buckets).toEqual([T0 + 2 * H]);
  });
});

describe('runDetection endpoints', () => {
  it('alerts on IPv6 and hostname endpoints, not on look-alikes or DNS on the metadata address', async () => {
    // Prepare
    const t = T0 + 2 * H + MINUTE;
    const events = [
      ...background(T0 + 3 * H),
      ecsCall({ time: t, user: 'v6user', host: 'h1', ip: 'fd00:ec2::254' }),
      ecsCall({ time: t, user: 'gcpuser', host: 'h2', domain: 'metadata.google.internal' }),
      ecsCall({ time: t, user: 'ntpuser', host: 'h1', ip: '169.254.169.123', port: 123 }),
      ecsCall({ time: t, user: 'dnsuser', host: 'h1', ip: '169.254.169.253', port: 53 }),
      ecsCall({ time: t, user: 'gcedns', host: 'h1', ip: '169.254.169.254', port: 53 }),
    ];
    harness = await startHarness({ learningPeriod: '1h' }, events);
    // Act
    await runEvery(harness, T0 + BUCKET, T0 + 3 * H);
    // Assess
    expect(harness.sink.alerts().map((a) => a.user).sort()).toEqual(['gcpuser', 'v6user']);
  });
});

describe('runDetection cap', () => {
  it('publishes at most maxAlertsPerRun, sends one overflow notice, and publishes the rest in later runs', async () => {
    // Prepare: five new users, one on a quiet host.
    const t = T0 + 2 * H + MINUTE;
    const news = ['n1', 'n2', 'n3', 'n4'].map((u) => ecsCall({ time: t, user: u, host: 'noisy', ip: '169.254.169.254' }));
    const quiet = ecsCall({ time: t, user: 'q1', host: 'quiet', ip: '169.254.169.254' });
    harness = await startHarness({ learningPeriod: '1h', maxAlertsPerRun: 2 }, [...background(T0 + 3 * H), ...news, quiet]);
    await runEvery(harness, T0 + BUCKET, T0 + 2 * H); // past the learning period
    // Act
    const first = await harness.runAt(T0 + 2 * H + BUCKET);
    // Assess: the quiet host's anomaly is in the first two despite the noisy host.
    expect(first.alerts.published).toHaveLength(2);
    expect(first.alerts.notices).toBe(1);
    expect(first.anomalies.pending).toBe(3);
    expect(harness.sink.alerts().map((a) => a.host)).toContain('quiet');
    const notice = harness.sink.bodies().find((b) => (b.event as { kind: string }).kind === 'notice') as { notice: { held_back: number } };
    expect(notice.notice.held_back).toBe(3);

    // Act: later runs inside the look-back.
    await harness.runAt(T0 + 2 * H + 2 * BUCKET);
    await harness.runAt(T0 + 2 * H + 3 * BUCKET);
    // Assess: every anomaly exactly once.
    const users = harness.sink.alerts().map((a) => a.user).sort();
    expect(users).toEqual(['n1', 'n2', 'n3', 'n4', 'q1']);
    expect(harness.sink.messages.filter((m) => m.attributes.kind === 'overflow-notice')).toHaveLength(2);
  });

  it('expires pending anomalies once they leave the look-back, and records them as expired', async () => {
    // Prepare
    const t = T0 + 2 * H + MINUTE;
    const news = ['a', 'b', 'c', 'd', 'e'].map((u) => ecsCall({ time: t, user: u, host: `h-${u}`, ip: '169.254.169.254' }));
    harness = await startHarness({ learningPeriod: '1h', maxAlertsPerRun: 1 }, [...background(T0 + 4 * H), ...news]);
    await runEvery(harness, T0 + BUCKET, T0 + 2 * H); // past the learning period
    // Act
    const summaries = await runEvery(harness, T0 + 2 * H + BUCKET, T0 + 2 * H + 4 * BUCKET);
    // Assess: three runs inside the look-back publish one each; the fourth expires the last two.
    expect(harness.sink.alerts()).toHaveLength(3);
    expect(summaries.at(-1)?.anomalies.expired).toBe(2);
    const ids = ['a', 'b', 'c', 'd', 'e'].map((u) => anomalyEventId(unusualLinuxUserImdsRule.id, u, T0 + 2 * H));
    const statuses = [...(await harness.store.getAnomalies(ids)).values()].map((r) => r.status).sort();
    expect(statuses).toEqual(['expired', 'expired', 'published', 'published', 'published']);
  });
});

describe('runDetection exceptions and failures', () => {
  it('records an excepted anomaly with its reason and does not publish it', async () => {
    // Prepare
    const t = T0 + 2 * H + MINUTE;
    const events = [
      ...background(T0 + 3 * H),
      ecsCall({ time: t, user: 'backup', host: 'h1', ip: '169.254.169.254', process: '/opt/backup/bin/restic' }),
    ];
    harness = await startHarness({ learningPeriod: '1h', exceptions: [{ user: 'backup', process: '*restic', reason: 'nightly backup' }] }, events);
    // Act
    const summaries = await runEvery(harness, T0 + BUCKET, T0 + 3 * H);
    // Assess
    expect(harness.sink.messages).toEqual([]);
    expect(summaries.reduce((n, s) => n + s.anomalies.excepted, 0)).toBe(1);
    const record = (await harness.store.getAnomalies([anomalyEventId(unusualLinuxUserImdsRule.id, 'backup', T0 + 2 * H)])).values().next().value;
    expect(record).toMatchObject({ status: 'excepted', reason: 'nightly backup' });
  });

  it('keeps an alert the sink refused pending and publishes it, with the same id, in the next run', async () => {
    // Prepare
    const attack = ecsCall({ time: T0 + 2 * H + MINUTE, user: 'www-data', host: 'h1', ip: '169.254.169.254' });
    harness = await startHarness({ learningPeriod: '1h' }, [...background(T0 + 3 * H), attack]);
    harness.sink.refuse = (m) => m.attributes.kind === 'alert';
    await runEvery(harness, T0 + BUCKET, T0 + 2 * H); // past the learning period
    // Act
    const failed = await harness.runAt(T0 + 2 * H + BUCKET);
    harness.sink.refuse = () => false;
    await harness.runAt(T0 + 2 * H + 2 * BUCKET);
    await harness.runAt(T0 + 2 * H + 3 * BUCKET);
    // Assess
    expect(failed.anomalies.publishFailed).toBe(1);
    expect(harness.sink.alerts().map((a) => a.user)).toEqual(['www-data']);
  });
});

describe('runDetection alert document', () => {
  it('carries every field of the DESIGN.md contract', async () => {
    // Prepare
    const attack = ecsCall({ time: T0 + 2 * H + MINUTE, user: 'www-data', host: 'ip-10-0-1-12', ip: '169.254.169.254' });
    harness = await startHarness({ learningPeriod: '1h' }, [...background(T0 + 3 * H), attack]);
    // Act
    await runEvery(harness, T0 + BUCKET, T0 + 3 * H);
    // Assess
    const [message] = harness.sink.messages;
    expect(message?.subject).toBe('[low] Unusual Linux user www-data called the metadata service on ip-10-0-1-12');
    expect(message?.attributes).toMatchObject({ kind: 'alert', severity: 'low', risk_score: '21', user: 'www-data', host: 'ip-10-0-1-12' });
    const body = JSON.parse(message?.body ?? '{}');
    expect(body['@timestamp']).toBe(new Date(T0 + 2 * H + BUCKET).toISOString());
    expect(body.event).toMatchObject({ kind: 'alert', id: message?.id, risk_score: 21 });
    expect(body.severity).toBe('low');
    expect(body.rule).toMatchObject({ name: 'Unusual Linux User Calling the Metadata Service', id: unusualLinuxUserImdsRule.id, version: '1' });
    expect(body.user.name).toBe('www-data');
    expect(body.host.name).toBe('ip-10-0-1-12');
    expect(body.related).toEqual({ hosts: ['ip-10-0-1-12'], user: ['www-data'] });
    expect(body.process).toMatchObject({ name: 'curl', executable: '/usr/bin/curl' });
    expect(body.anomaly.score).toBeGreaterThanOrEqual(75);
    expect(body.anomaly.bucket_start).toBe(new Date(T0 + 2 * H).toISOString());
    expect(body.anomaly.typical.user).toBe('root');
    expect(body.anomaly.explanation).toMatch(/www-data had not called the metadata service/);
    expect(body.threat[0].tactic.id).toEqual(['TA0006']);
    expect(body.threat[0].technique.subtechnique.id).toEqual(['T1552.005']);
    expect(body.evidence[0]).toMatchObject({ host: { name: 'ip-10-0-1-12' }, log: { group: '/test/ecs', stream: 'ip-10-0-1-12' } });
    expect(body.evidence[0].event_id).toMatch(/^\d{56}$/);
    expect(body.investigation.logs_insights.url).toMatch(/^https:\/\/us-east-1\.console\.aws\.amazon\.com\/cloudwatch\/home/);
    expect(body.investigation.steps.length).toBeGreaterThan(2);
  });
});

describe('runDetection with raw auditd', () => {
  const auditTime = T0 + 2 * H + MINUTE;
  const id = `${Math.floor(auditTime / 1000)}.123:501`;
  const event = (message: string, ingestLag: number, eventId: string): LogEvent => ({
    timestamp: auditTime + 1_000,
    ingestionTime: auditTime + 1_000 + ingestLag,
    logGroup: '/test/audit',
    logStream: 'i-0abc',
    eventId,
    message,
  });
  const syscall = `type=SYSCALL msg=audit(${id}): arch=c000003e syscall=42 success=no exit=-115 a0=3 a1=7ffd5a0c a2=10 a3=0 items=0 ppid=1 pid=4242 auid=4294967295 uid=33 gid=33 euid=33 suid=33 fsuid=33 egid=33 sgid=33 fsgid=33 tty=(none) ses=4294967295 comm="curl" exe="/usr/bin/curl" key="imds"`;
  const sockaddr = `type=SOCKADDR msg=audit(${id}): saddr=02000050A9FEA9FE0000000000000000`;

  it('joins the records of one event that arrive in different runs, and alerts once', async () => {
    // Prepare: the SOCKADDR arrives at once, its SYSCALL (which names the user) 20 minutes later.
    const events = [...background(T0 + 3 * H), event(sockaddr, 5_000, 'a1'), event(syscall, 20 * MINUTE, 'a2')];
    harness = await startHarness({ learningPeriod: '1h' }, events);
    await runEvery(harness, T0 + BUCKET, T0 + 2 * H);
    // Act
    const first = await harness.runAt(T0 + 2 * H + BUCKET);
    const second = await harness.runAt(T0 + 2 * H + 2 * BUCKET);
    const third = await harness.runAt(T0 + 2 * H + 3 * BUCKET);
    // Assess
    expect(first.events.skipped['auditd-incomplete']).toBe(1);
    expect(first.alerts.published).toEqual([]);
    expect(second.alerts.published).toHaveLength(1);
    expect(third.alerts.published).toEqual([]);
    expect(harness.sink.alerts()).toEqual([
      { id: anomalyEventId(unusualLinuxUserImdsRule.id, 'uid:33', T0 + 2 * H), user: 'uid:33', host: 'i-0abc' },
    ]);
  });

  it('counts a bucket once when the same records are read by three runs', async () => {
    // Prepare
    const events = [...background(T0 + 3 * H), event(sockaddr, 5_000, 'b1'), event(syscall, 5_000, 'b2')];
    harness = await startHarness({ learningPeriod: '1h' }, events);
    // Act
    await runEvery(harness, T0 + BUCKET, T0 + 3 * H);
    // Assess
    expect((await harness.store.getBaselines(['uid:33'])).get('uid:33')?.buckets).toEqual([T0 + 2 * H]);
    expect(harness.sink.alerts()).toHaveLength(1);
  });
});

describe('runDetection suppression and run-time exceptions', () => {
  it('folds a user\'s repeated anomalies within the suppression window into the first alert', async () => {
    // Prepare: a model that has watched for 30 days (root every day) and a threshold of 60, at
    // which a user's second bucket on a day (score 69.7) is an anomaly too.
    const events = [
      ...background(T0 + 6 * H),
      ecsCall({ time: T0 + 2 * H + MINUTE, user: 'www-data', host: 'h1', ip: '169.254.169.254' }),
      ecsCall({ time: T0 + 4 * H + MINUTE, user: 'www-data', host: 'h2', ip: 'fd00:ec2::254' }),
    ];
    harness = await startHarness({ learningPeriod: '1h', anomalyThreshold: 60 }, events);
    await harness.store.noteObserved(T0 - 30 * DAY);
    await harness.store.learn([{ user: 'root', add: Array.from({ length: 30 }, (_, i) => T0 - (i + 1) * DAY), forgetBefore: T0 - 30 * DAY }]);
    // Act
    const summaries = await runEvery(harness, T0 + BUCKET, T0 + 5 * H);
    // Assess
    expect(harness.sink.alerts().map((a) => a.user)).toEqual(['www-data']);
    expect(summaries.reduce((n, s) => n + s.anomalies.suppressed, 0)).toBe(1);
    const first = anomalyEventId(unusualLinuxUserImdsRule.id, 'www-data', T0 + 2 * H);
    const second = anomalyEventId(unusualLinuxUserImdsRule.id, 'www-data', T0 + 4 * H);
    const records = await harness.store.getAnomalies([first, second]);
    expect(records.get(first)?.repeats).toEqual([second]);
    expect(records.get(second)).toMatchObject({ status: 'suppressed', suppressedBy: first });
  });

  it('applies an exception written to the table at run time, merged with those in config', async () => {
    // Prepare
    const t = T0 + 2 * H + MINUTE;
    const events = [...background(T0 + 3 * H), ecsCall({ time: t, user: 'backup', host: 'h1', ip: '169.254.169.254' }), ecsCall({ time: t, user: 'www-data', host: 'h1', ip: '169.254.169.254' })];
    harness = await startHarness({ learningPeriod: '1h' }, events);
    await harness.store.putException({ id: 'x1', user: 'backup', reason: 'nightly backup', createdBy: 'alice', createdAt: T0 });
    // Act
    await runEvery(harness, T0 + BUCKET, T0 + 3 * H);
    // Assess
    expect(harness.sink.alerts().map((a) => a.user)).toEqual(['www-data']);
    const record = (await harness.store.getAnomalies([anomalyEventId(unusualLinuxUserImdsRule.id, 'backup', T0 + 2 * H)])).values().next().value;
    expect(record).toMatchObject({ status: 'excepted', reason: 'nightly backup' });
  });
});

describe('runScheduled health notices', () => {
  it('publishes one notice when telemetry stops and one when it returns', async () => {
    // Prepare: data for 2 hours, silence for 2 hours, data again.
    const events = [...regular('root', 'h1', T0, T0 + 2 * H, 5 * MINUTE), ...regular('root', 'h1', T0 + 4 * H, T0 + 5 * H, 5 * MINUTE)];
    harness = await startHarness({ learningPeriod: '1h', noTelemetryAfter: '1h' }, events);
    // Act
    for (let t = T0 + BUCKET; t <= T0 + 5 * H; t += BUCKET) await harness.scheduledAt(t);
    // Assess
    const health = harness.sink.messages.filter((m) => m.attributes.kind === 'health-notice').map((m) => JSON.parse(m.body).health);
    expect(health.map((h: { condition: string; status: string }) => `${h.condition}:${h.status}`)).toEqual(['no-telemetry:open', 'no-telemetry:cleared']);
  });
});
