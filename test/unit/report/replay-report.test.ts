import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { anomalyEventId } from '../../../src/alerts/event-id.js';
import { createReportCollector } from '../../../src/report/collect-report.js';
import { escapeHtml, renderReplayReport, type ReplayReportData, type ReportBucket, type ReportUser } from '../../../src/report/replay-report.js';

const T0 = Date.parse('2026-11-02T00:00:00Z');
const MINUTE = 60_000;
const BUCKET = 15 * MINUTE;
const H = 3_600_000;
const EVIL = '<img src=x onerror=alert(1)>';
const RULE = '6f0f2b9e-3c1d-4e7a-9a55-1c2d7e0b9a41';

const bucket = (start: number, score: number, extra: Partial<ReportBucket> = {}): ReportBucket => ({
  bucketStart: start,
  score,
  calls: 1,
  hosts: ['h1'],
  anomaly: false,
  learning: start < T0 + H,
  published: false,
  ...extra,
});

const data = (users: ReportUser[], extra: Partial<ReplayReportData> = {}): ReplayReportData => ({
  from: T0,
  to: T0 + 6 * H,
  bucketMs: BUCKET,
  memoryMs: 30 * 24 * H,
  learningPeriodMs: H,
  threshold: 75,
  learningUntil: T0 + H,
  runs: 24,
  eventsLoaded: 100,
  eventsRead: 300,
  observations: 90,
  anomalies: 1,
  alertsPublished: 1,
  otherAlerts: [],
  inputs: ['fleet.ndjson'],
  users,
  ...extra,
});

/** A regular caller every bucket, a newcomer with one published alert, and a rare user with an unpublished anomaly. */
function fleet(): ReportUser[] {
  const root: ReportBucket[] = [];
  for (let t = T0; t < T0 + 6 * H; t += BUCKET) root.push(bucket(t, t === T0 ? 75.9 : 0));
  return [
    { user: 'root', buckets: root },
    { user: 'www-data', buckets: [bucket(T0 + 2 * H, 77.5, { anomaly: true, id: 'a'.repeat(32), published: true, calls: 4 }), bucket(T0 + 2 * H + BUCKET, 39.8)] },
    { user: 'backup', buckets: [bucket(T0 + 3 * H, 76, { anomaly: true, id: 'b'.repeat(32) })] },
  ];
}

const rows = (html: string): string[] => [...html.matchAll(/<tr class="user[^"]*" data-user="([^"]*)"/g)].map((m) => m[1] as string);

describe('escapeHtml', () => {
  it('escapes the five characters that HTML gives a meaning', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
  });

  it('leaves other text alone, tabs and line breaks included', () => {
    expect(escapeHtml('www-data uid:33 ümlaut 日本 😀\tline\nnext')).toBe('www-data uid:33 ümlaut 日本 😀\tline\nnext');
  });

  it('replaces control characters that HTML forbids', () => {
    expect(escapeHtml('a\u0000b\u0007c\u007fd\u009be')).toBe('a\uFFFDb\uFFFDc\uFFFDd\uFFFDe');
  });
});

describe('renderReplayReport', () => {
  it('escapes user names, hosts and file names everywhere they appear', () => {
    // Prepare
    const users: ReportUser[] = [
      { user: EVIL, buckets: [bucket(T0 + 2 * H, 77.5, { anomaly: true, published: true, id: 'c'.repeat(32), hosts: ['<script>alert(2)</script>'] })] },
    ];
    // Act
    const html = renderReplayReport(data(users, { inputs: ['"><svg onload=alert(3)>.ndjson'] }));
    // Assess
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain(`data-user="&lt;img src=x onerror=alert(1)&gt;"`);
    expect(html).toContain('&lt;script&gt;alert(2)&lt;/script&gt;');
    expect(html).toContain('&quot;&gt;&lt;svg onload=alert(3)&gt;.ndjson');
    expect(html).not.toContain('<img');
    expect(html).not.toMatch(/onerror=alert\(1\)>/);
    expect(html).not.toContain('<script>alert(2)');
    expect(html).not.toContain('<svg onload');
  });

  it('draws one row per user, alerted users first, then unpublished anomalies', () => {
    const html = renderReplayReport(data(fleet()));
    expect(rows(html)).toEqual(['www-data', 'backup', 'root']);
    expect(html).toMatch(/<tr class="user tier0" data-user="www-data"[^>]*data-alerts="1"/);
    expect(html).toMatch(/<tr class="user tier1" data-user="backup"[^>]*data-alerts="0"/);
  });

  it('puts the event.id on the alert marker, and on anomalies that were not published', () => {
    const html = renderReplayReport(data(fleet()));
    const alert = html.match(/<g class="alert" data-alert-id="([0-9a-f]{32})"><title>([^<]*)<\/title>/);
    expect(alert?.[1]).toBe('a'.repeat(32));
    expect(alert?.[2]).toContain(`ALERT ${'a'.repeat(32)} (published)`);
    expect(alert?.[2]).toContain('score 77.5');
    expect(alert?.[2]).toContain('4 calls on h1');
    expect(html.match(/data-alert-id=/g)).toHaveLength(1);
    expect(html).toContain(`data-anomaly-id="${'b'.repeat(32)}"`);
    expect(html).toContain(`anomaly ${'b'.repeat(32)}, not published`);
  });

  it('shows the header: span, runs, events, alerts, threshold, learning period end', () => {
    const html = renderReplayReport(data(fleet()));
    for (const text of ['2026-11-02 00:00 UTC', '2026-11-02 06:00 UTC', '>24<', '>100<', 'alerts published', '>75<', 'until 2026-11-02 01:00 UTC'])
      expect(html).toContain(text);
  });

  it('caps the rows and says how many users were left out', () => {
    // Prepare: 250 users seen once after the learning period, one of them alerted.
    const users: ReportUser[] = Array.from({ length: 250 }, (_, i) => ({
      user: `u${String(i).padStart(3, '0')}`,
      buckets: [bucket(T0 + 2 * H, i === 249 ? 80 : i % 70, i === 249 ? { anomaly: true, published: true, id: 'd'.repeat(32) } : {})],
    }));
    // Act
    const html = renderReplayReport(data(users));
    const small = renderReplayReport(data(users), { maxRows: 10 });
    // Assess: the alerted user comes first, then the highest scores.
    expect(rows(html)).toHaveLength(200);
    expect(rows(html)[0]).toBe('u249');
    expect(rows(html)[1]).toBe('u069');
    expect(html).toContain('50 more users not shown (the 200 most interesting are)');
    expect(rows(small)).toHaveLength(10);
    expect(small).toContain('240 more users not shown');
    expect(renderReplayReport(data(users), { maxRows: 1000 })).not.toContain('not shown');
  });

  it('renders 10,000 users with a month of buckets quickly and keeps the page small', () => {
    // Prepare: every user calls every 4 hours for 30 days (180 buckets each, 1.8 million in all).
    const from = T0;
    const to = T0 + 30 * 24 * H;
    const users: ReportUser[] = Array.from({ length: 10_000 }, (_, i) => {
      const buckets: ReportBucket[] = [];
      for (let t = from + (i % 8) * BUCKET; t < to; t += 4 * H) buckets.push({ bucketStart: t, score: i % 97, calls: 2, hosts: [`h${i % 50}`], anomaly: false, learning: t < from + 24 * H, published: false });
      return { user: `svc-${i}`, buckets };
    });
    // Act
    const started = performance.now();
    const html = renderReplayReport(data(users, { from, to, learningUntil: from + 24 * H }));
    const ms = performance.now() - started;
    // Assess
    expect(rows(html)).toHaveLength(200);
    expect(html).toContain('9,800 more users not shown');
    expect(ms).toBeLessThan(5_000);
    expect(html.length).toBeLessThan(3_000_000);
  });

  it('is self-contained: no external resource, a CSP that allows only its own script', () => {
    const html = renderReplayReport(data(fleet()));
    expect(html).not.toMatch(/\b(?:src|href)\s*=/i);
    expect(html).not.toMatch(/url\(|@import|https?:\/\//i);
    const script = html.match(/<script>([\s\S]*?)<\/script>/)?.[1] ?? '';
    const hash = createHash('sha256').update(script).digest('base64');
    expect(html).toContain(`script-src 'sha256-${hash}'`);
    expect(html).toContain("default-src 'none'");
    expect(html.match(/<script/g)).toHaveLength(1);
  });

  it('widens the strips to the buckets the first runs looked back at, before --from', () => {
    // The first run (at from + 15m) reads [from - 30m, from + 15m): its buckets come before `from`.
    const users: ReportUser[] = [
      { user: 'early', buckets: [bucket(T0 - 30 * MINUTE, 10)] },
      { user: 'on-time', buckets: [bucket(T0, 10)] },
    ];
    const html = renderReplayReport(data(users));
    const cx = (user: string) => Number(html.match(new RegExp(`data-user="${user}"[\\s\\S]*?<circle class="s-low" cx="([\\d.]+)"`))?.[1]);
    expect(cx('early')).toBeLessThan(cx('on-time'));
  });

  it('says so when no user called the metadata service', () => {
    const html = renderReplayReport(data([], { anomalies: 0, alertsPublished: 0 }));
    expect(html).toContain('No user called the metadata service in this replay.');
    expect(rows(html)).toEqual([]);
  });
});

describe('createReportCollector', () => {
  const options = { ruleId: RULE, threshold: 75, bucketMs: BUCKET, memoryMs: 30 * 24 * H, learningPeriodMs: H };
  const meta = { from: T0, to: T0 + 6 * H, runs: 24, learningUntil: T0 + H, eventsLoaded: 10, eventsRead: 30, observations: 9, anomalies: 1, inputs: ['in.ndjson'] };

  it('keeps one entry per (user, bucket) across the overlapping runs that scored it', () => {
    // Prepare
    const c = createReportCollector(options);
    const scored = { user: 'alice', bucketStart: T0 + 2 * H, hosts: ['h1'], calls: 2, score: 30, anomaly: false, learning: false };
    // Act: three runs, the last seeing a late event on another host.
    c.onScore(scored);
    c.onScore(scored);
    c.onScore({ ...scored, hosts: ['h2'], calls: 3 });
    c.onScore({ ...scored, bucketStart: T0, learning: true, score: 75.9 });
    const report = c.build({ ...meta, alerts: [] });
    // Assess
    expect(c.size).toBe(2);
    expect(report.users).toHaveLength(1);
    expect(report.users[0]?.buckets.map((b) => [b.bucketStart, b.calls, b.hosts, b.learning])).toEqual([
      [T0, 2, ['h1'], true],
      [T0 + 2 * H, 3, ['h1', 'h2'], false],
    ]);
    expect(report.users[0]?.buckets[0]?.id).toBe(anomalyEventId(RULE, 'alice', T0));
  });

  it('matches published alerts to their buckets by event.id, whatever characters the user name holds', () => {
    // Prepare
    const c = createReportCollector(options);
    const start = T0 + 2 * H;
    c.onScore({ user: EVIL, bucketStart: start, hosts: ['h1'], calls: 1, score: 77.5, anomaly: true, learning: false });
    c.onScore({ user: 'root', bucketStart: start, hosts: ['h1'], calls: 9, score: 0, anomaly: false, learning: false });
    const id = anomalyEventId(RULE, EVIL, start);
    const carried = { id: 'f'.repeat(32), user: 'old', bucketStart: new Date(T0 - H).toISOString(), score: 80 };
    // Act: the alert's user attribute is sanitized, so only the id can match it.
    const report = c.build({ ...meta, alerts: [{ id, user: '_img_src_x_onerror_alert_1__', bucketStart: new Date(start).toISOString(), score: 77.5 }, carried] });
    // Assess
    const evil = report.users.find((u) => u.user === EVIL);
    expect(evil?.buckets[0]).toMatchObject({ id, published: true, anomaly: true });
    expect(report.users.find((u) => u.user === 'root')?.buckets[0]).toMatchObject({ published: false });
    expect(report.users.find((u) => u.user === 'root')?.buckets[0]?.id).toBeUndefined();
    expect(report.alertsPublished).toBe(2);
    expect(report.otherAlerts).toEqual([{ id: carried.id, user: 'old', bucketStart: T0 - H, score: 80 }]);
    expect(renderReplayReport(report)).toContain(`data-alert-id="${id}"`);
  });
});
