import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  AMAZON_DNS,
  AMAZON_TIME_SYNC,
  NOISE_EVENTS_PER_ACTIVITY,
  ORDINARY_SCHEDULE,
  SAMPLE_ATTACK_LABEL,
  auditdEncode,
  defaultSampleSpec,
  encodeProctitle,
  encodeSockaddr,
  simulateFleet,
  type FleetSpec,
  type SimulatedEvent,
} from '../../../src/simulator/fleet-simulator.js';
import { Prng, derivePrng } from '../../../src/simulator/prng.js';
import { ensureSampleTelemetry, toCloudWatchJson } from '../../../src/simulator/sample.js';

const DAY = 86_400_000;
const AUDITD_LINE = /^(node=\S+ )?type=\w+ msg=audit\(\d+\.\d{3}:\d+\):/;
const AUDIT_HEADER = /^(?:node=\S+ )?type=(\w+) msg=audit\((\d+)\.(\d{3}):(\d+)\):/;

/** The fields of the ECS documents these tests look at. */
interface EcsDoc {
  event: { action: string };
  user?: { id?: string; name?: string };
  destination?: { ip: string; port: number };
  process?: { command_line?: string };
  auditd?: { summary: { object: { primary: string } } };
}

function smallSpec(overrides: Partial<FleetSpec> = {}): FleetSpec {
  const sample = defaultSampleSpec();
  return { ...sample, days: 1, attacks: [], noisePerHourPerHost: 20, ...overrides };
}

function ndjsonHash(events: Iterable<SimulatedEvent>): string {
  const h = createHash('sha256');
  for (const { event } of events) h.update(toCloudWatchJson(event) + '\n');
  return h.digest('hex');
}

function isAuditd(message: string): boolean {
  return message.startsWith('type=') || message.startsWith('node=');
}

/** Audit time (ms) of an auditd record or ECS document. */
function eventTime(message: string): number {
  const m = AUDIT_HEADER.exec(message);
  if (m) return Number(m[2]) * 1000 + Number(m[3]);
  return Date.parse((JSON.parse(message) as { '@timestamp': string })['@timestamp']);
}

describe('the seeded PRNG', () => {
  it('repeats its sequence for the same seed and diverges for another', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const seqA = Array.from({ length: 20 }, () => a.nextUint32());
    expect(Array.from({ length: 20 }, () => b.nextUint32())).toEqual(seqA);
    expect(Array.from({ length: 20 }, () => c.nextUint32())).not.toEqual(seqA);
  });

  it('gives independent streams for different keys and stays within its ranges', () => {
    const x = derivePrng(1, 'ssm', 'host-a');
    const y = derivePrng(1, 'ssm', 'host-b');
    expect(x.nextUint32()).not.toBe(y.nextUint32());
    for (let i = 0; i < 1000; i++) {
      const f = x.next();
      expect(f).toBeGreaterThanOrEqual(0);
      expect(f).toBeLessThan(1);
      const n = x.int(3, 7);
      expect(n).toBeGreaterThanOrEqual(3);
      expect(n).toBeLessThanOrEqual(7);
    }
  });
});

describe('the auditd encoders', () => {
  it('quote plain values and hex-encode values with spaces, quotes or control bytes like auditd does', () => {
    expect(auditdEncode('curl')).toBe('"curl"');
    expect(auditdEncode('http://169.254.169.254/latest/api/token')).toBe('"http://169.254.169.254/latest/api/token"');
    expect(auditdEncode('echo \\"arg hex encoded\\"')).toBe('6563686F205C226172672068657820656E636F6465645C22');
    expect(encodeProctitle(['uname', '-a'])).toBe('756E616D65002D61');
    expect(encodeProctitle(['bash'])).toBe('"bash"');
    expect(encodeProctitle(['x'.repeat(200)])).toHaveLength(2 + 128);
  });

  it('encode socket addresses like the real SOCKADDR records', () => {
    expect(encodeSockaddr({ family: 'inet', ip: '169.254.169.254', port: 80 })).toBe('02000050A9FEA9FE0000000000000000');
    expect(encodeSockaddr({ family: 'inet', ip: '52.24.232.3', port: 80 })).toBe('020000503418E8030000000000000000');
    expect(encodeSockaddr({ family: 'inet6', ip: 'fd00:ec2::254', port: 80 })).toBe('0A00005000000000FD000EC200000000000000000000025400000000');
    expect(encodeSockaddr({ family: 'inet6', ip: '2406:da00:ff00::1715:69cc', port: 80 })).toBe(
      '0A000050000000002406DA00FF00000000000000171569CC00000000',
    );
  });
});

describe('simulateFleet', () => {
  it('yields identical output for the same seed', () => {
    const spec = smallSpec();
    expect(ndjsonHash(simulateFleet(spec))).toBe(ndjsonHash(simulateFleet(structuredClone(spec))));
  });

  it('yields different output for a different seed', () => {
    expect(ndjsonHash(simulateFleet(smallSpec({ seed: 1 })))).not.toBe(ndjsonHash(simulateFleet(smallSpec({ seed: 2 }))));
  });

  it('leaves other hosts untouched when an attack is injected on one host', () => {
    const base = [...simulateFleet(smallSpec())];
    const attacked = [
      ...simulateFleet(
        smallSpec({ attacks: [{ at: defaultSampleSpec().start + 5 * 3_600_000, host: 'ip-10-0-1-11', user: 'www-data', uid: 33, kind: 'curl-credentials' }] }),
      ),
    ];
    const others = (events: SimulatedEvent[]): string[] =>
      events.filter((e) => e.event.logStream !== 'i-0a1b2c3d4e5f60001').map((e) => toCloudWatchJson(e.event));
    expect(others(attacked)).toEqual(others(base));
  });

  it('rejects an attack on a host that is not in the fleet', () => {
    const spec = smallSpec({ attacks: [{ at: defaultSampleSpec().start, host: 'nope', user: 'x', uid: 5, kind: 'wget-gcp' }] });
    expect(() => [...simulateFleet(spec)]).toThrow(/unknown host nope/);
  });

  it('produces only the ordinary metadata callers when the noise rate is zero', () => {
    const events = [...simulateFleet(smallSpec({ noisePerHourPerHost: 0, hosts: defaultSampleSpec().hosts.slice(0, 1) }))];
    const syscalls = events.filter((e) => e.event.message.includes('type=SYSCALL '));
    const uids = new Set(syscalls.map((e) => /\buid=(\d+)/.exec(e.event.message)?.[1]));
    expect([...uids].sort()).toEqual(['0', '1000', '1001', '995']);
  });
});

describe('the default sample', () => {
  let events: SimulatedEvent[] = [];
  const spec = defaultSampleSpec();

  beforeAll(() => {
    events = [...simulateFleet(spec)];
  });

  it('is streamed in non-decreasing timestamp order', () => {
    for (let i = 1; i < events.length; i++) {
      if (events[i]!.event.timestamp < events[i - 1]!.event.timestamp) {
        throw new Error(`event ${i} goes back in time`);
      }
    }
    expect(events.length).toBeGreaterThan(10_000);
  });

  it('ingests every event at or after its timestamp, about 1% of them 20 to 25 minutes late', () => {
    let late = 0;
    const bad: number[] = [];
    for (const { event } of events) {
      const lag = event.ingestionTime - event.timestamp;
      if (lag >= 20 * 60_000) late++;
      if (lag < 0 || (lag > 30_000 && lag < 20 * 60_000) || lag > 25 * 60_000) bad.push(lag);
    }
    expect(bad).toEqual([]);
    expect(late / events.length).toBeGreaterThan(0.004);
    expect(late / events.length).toBeLessThan(0.02);
  });

  it('stamps every event with the agent read time, 0 to 5 seconds after the audit time', () => {
    const bad: number[] = [];
    let slow = 0;
    for (const { event } of events) {
      const lag = event.timestamp - eventTime(event.message);
      // a record written out of order may be read in the agent's next pass, up to 4 s later
      if (lag < 0 || lag > 9_000) bad.push(lag);
      if (lag > 5_000) slow++;
    }
    expect(bad).toEqual([]);
    expect(slow / events.length).toBeLessThan(0.01);
  });

  it('gives every event a unique 56-digit event id, its host log group and its instance id as stream', () => {
    const ids = new Set<string>();
    const streams = new Map(spec.hosts.map((h) => [h.instanceId, h.logGroup]));
    const bad: string[] = [];
    for (const { event } of events) {
      if (!/^\d{56}$/.test(event.eventId)) bad.push(event.eventId);
      if (streams.get(event.logStream) !== event.logGroup) bad.push(`${event.logGroup} ${event.logStream}`);
      ids.add(event.eventId);
    }
    expect(bad).toEqual([]);
    expect(ids.size).toBe(events.length);
  });

  it('writes every auditd line in the real audit.log shape and every ECS message as JSON with an @timestamp', () => {
    const formats = new Map(spec.hosts.map((h) => [h.instanceId, h.format]));
    const bad: string[] = [];
    let auditd = 0;
    let ecs = 0;
    for (const { event } of events) {
      const format = formats.get(event.logStream);
      if (format === 'auditd' || format === 'auditd-enriched') {
        auditd++;
        if (!AUDITD_LINE.test(event.message)) bad.push(event.message);
        if (format === 'auditd' && event.message.includes('\x1d')) bad.push(event.message);
      } else {
        ecs++;
        const doc = JSON.parse(event.message) as { '@timestamp'?: unknown };
        if (typeof doc['@timestamp'] !== 'string' || Number.isNaN(Date.parse(doc['@timestamp']))) bad.push(event.message);
      }
    }
    expect(bad).toEqual([]);
    expect(auditd).toBeGreaterThan(0);
    expect(ecs).toBeGreaterThan(0);
  });

  it('appends the interpreted names after a 0x1D byte on the ENRICHED host', () => {
    const enriched = events.filter((e) => e.event.logStream === 'i-0a1b2c3d4e5f60002').map((e) => e.event.message);
    expect(enriched.every((m) => m.startsWith('node=ip-10-0-1-12 type='))).toBe(true);
    expect(enriched.some((m) => m.includes(' type=SYSCALL ') && m.includes('key="imds"\x1dARCH=x86_64 SYSCALL=connect AUID="unset" UID="root"'))).toBe(true);
    expect(enriched.some((m) => m.includes('saddr=02000050A9FEA9FE0000000000000000\x1dSADDR={ saddr_fam=inet laddr=169.254.169.254 lport=80 }'))).toBe(
      true,
    );
    expect(enriched.filter((m) => m.includes(' type=SYSCALL ')).every((m) => m.includes('\x1dARCH=x86_64'))).toBe(true);
  });

  it('cuts comm to 15 characters and keeps exe whole', () => {
    const ssm = events.find((e) => e.event.message.includes('exe="/usr/bin/amazon-ssm-agent"'));
    expect(ssm?.event.message).toContain('comm="amazon-ssm-agen"');
    const cw = events.find((e) => e.event.message.includes('exe="/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent"'));
    expect(cw?.event.message).toContain('comm="amazon-cloudwat"');
  });

  it('labels the curl attack on ip-10-0-1-12 as www-data with every record of the attack', () => {
    const labelled = events.filter((e) => e.label);
    expect(labelled.length).toBeGreaterThan(0);
    expect(new Set(labelled.map((e) => e.label!.attack))).toEqual(new Set([SAMPLE_ATTACK_LABEL]));
    const attacked = spec.hosts.find((h) => h.name === 'ip-10-0-1-12')!;
    expect(attacked.format).toBe('auditd-enriched');
    for (const { event } of labelled) {
      expect(event.message.startsWith('node=ip-10-0-1-12 type=')).toBe(true);
      expect(event.logStream).toBe(attacked.instanceId);
      expect(event.logGroup).toBe(attacked.logGroup);
      const t = eventTime(event.message);
      expect(t).toBeGreaterThanOrEqual(Date.parse('2026-11-04T13:37:00Z'));
      expect(t).toBeLessThan(Date.parse('2026-11-04T13:38:00Z'));
    }
    const messages = labelled.map((e) => e.event.message);
    const syscalls = messages.filter((m) => m.includes(' type=SYSCALL '));
    expect(syscalls).toHaveLength(4);
    for (const m of syscalls) {
      expect(m).toMatch(/ uid=33 /);
      expect(m).toContain('UID="www-data"');
    }
    expect(syscalls.filter((m) => m.includes('syscall=59') && m.includes('exe="/usr/bin/curl"'))).toHaveLength(2);
    expect(messages.filter((m) => m.includes('saddr=02000050A9FEA9FE0000000000000000'))).toHaveLength(2);
    const execve = messages.filter((m) => m.includes(' type=EXECVE '));
    expect(execve.some((m) => m.includes('a4="http://169.254.169.254/latest/api/token"'))).toBe(true);
    expect(execve.some((m) => m.includes('"http://169.254.169.254/latest/meta-data/iam/security-credentials/app-role"'))).toBe(true);
    // the header argument has a space: hex, as auditd writes it
    expect(execve.some((m) => m.includes(`a6=${Buffer.from('X-aws-ec2-metadata-token-ttl-seconds: 21600').toString('hex').toUpperCase()}`))).toBe(true);
  });

  it('never has www-data call the metadata service outside the attack', () => {
    const serials = new Set<string>();
    for (const { event, label } of events) {
      if (label || !event.message.includes('type=SYSCALL ')) continue;
      if (/ uid=33 /.test(event.message) && event.message.includes('syscall=42')) {
        serials.add(`${event.logStream}/${AUDIT_HEADER.exec(event.message)![4]}`);
      }
    }
    const imds = events.filter(
      (e) => !e.label && e.event.message.includes('saddr=02000050A9FEA9FE') && serials.has(`${e.event.logStream}/${AUDIT_HEADER.exec(e.event.message)![4]}`),
    );
    expect(imds).toHaveLength(0);
    const ecs = events.filter((e) => !isAuditd(e.event.message)).map((e) => JSON.parse(e.event.message) as EcsDoc);
    expect(ecs.filter((d) => d.user?.name === 'www-data' && d.destination?.ip === '169.254.169.254')).toHaveLength(0);
    expect(ecs.some((d) => d.user?.name === 'www-data')).toBe(true);
  });

  it('contains the Amazon DNS and Time Sync look-alikes in every format', () => {
    const dns = encodeSockaddr({ family: 'inet', ip: AMAZON_DNS, port: 53 });
    const ntp = encodeSockaddr({ family: 'inet', ip: AMAZON_TIME_SYNC, port: 123 });
    for (const host of spec.hosts) {
      const messages = events.filter((e) => e.event.logStream === host.instanceId).map((e) => e.event.message);
      if (host.format.startsWith('auditd')) {
        expect(messages.some((m) => m.includes(`saddr=${dns}`))).toBe(true);
        expect(messages.some((m) => m.includes(`saddr=${ntp}`))).toBe(true);
      } else {
        expect(messages.some((m) => m.includes(`"destination":{"ip":"${AMAZON_DNS}","port":53}`) || m.includes(`"ip":"${AMAZON_DNS}","port":53`))).toBe(true);
        expect(messages.some((m) => m.includes(`"ip":"${AMAZON_TIME_SYNC}","port":123`))).toBe(true);
      }
    }
  });

  it('writes some auditd events with their records out of order', () => {
    let outOfOrder = 0;
    const last = new Map<string, string>();
    for (const { event } of events) {
      const m = AUDIT_HEADER.exec(event.message);
      if (!m) continue;
      const serial = m[4]!;
      if (m[1] !== 'SYSCALL' && last.get(event.logStream) !== serial) outOfOrder++;
      last.set(event.logStream, serial);
    }
    expect(outOfOrder).toBeGreaterThan(20);
  });

  it('matches the spec daily volume on every host and day', () => {
    const S = ORDINARY_SCHEDULE;
    const perDay =
      (DAY / S.ssmIntervalMs) * (1 - S.ssmMissedShare) * (1 + S.ssmCoreAgentShare) +
      DAY / S.cwagentIntervalMs +
      (DAY / S.sdkIntervalMs) * S.sdkConnectsPerRefresh +
      S.cliRunsPerDay * S.cliSyscallEventsPerRun +
      24 * spec.noisePerHourPerHost * NOISE_EVENTS_PER_ACTIVITY;
    const counts = new Map<string, number>();
    const cwagent = new Map<string, number>();
    for (const { event, label } of events) {
      if (label) continue;
      const m = event.message;
      let isSyscall: boolean;
      let uid: string | undefined;
      if (isAuditd(m)) {
        isSyscall = AUDIT_HEADER.exec(m)?.[1] === 'SYSCALL';
        uid = / uid=(\d+) /.exec(m)?.[1];
      } else {
        isSyscall = true;
        uid = (JSON.parse(m) as { user: { id: string } }).user.id;
      }
      if (!isSyscall) continue;
      const day = Math.floor((eventTime(m) - spec.start) / DAY);
      if (day < 0 || day >= spec.days) continue;
      const key = `${event.logStream}/${day}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (uid === '995') cwagent.set(key, (cwagent.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(spec.hosts.length * spec.days);
    for (const [key, n] of counts) {
      expect(n, key).toBeGreaterThan(perDay * 0.88);
      expect(n, key).toBeLessThan(perDay * 1.12);
      // cwagent: 144 IMDS connects a day plus its share of the noise (CloudWatch API connects)
      expect(cwagent.get(key)!, key).toBeGreaterThan(144 * 0.95);
    }
  });

  it('has alice run the AWS CLI exactly once a day on every host between 08:00 and 18:00 UTC', () => {
    const runs = new Map<string, number>();
    for (const { event } of events) {
      const m = event.message;
      let t: number | undefined;
      if (m.includes('type=EXECVE ') && m.includes('a0="aws" a1="s3" a2="ls"')) t = eventTime(m);
      else if (m.startsWith('{') && m.includes('"args":["aws","s3","ls"]') && m.includes('"category":["process"]')) t = eventTime(m);
      if (t === undefined) continue;
      const hour = new Date(t).getUTCHours();
      expect(hour).toBeGreaterThanOrEqual(8);
      expect(hour).toBeLessThan(18);
      const key = `${event.logStream}/${Math.floor(t / DAY)}`;
      runs.set(key, (runs.get(key) ?? 0) + 1);
    }
    expect(runs.size).toBe(spec.hosts.length * spec.days);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
  });
});

describe('injected attacks', () => {
  const start = defaultSampleSpec().start;
  const spec = smallSpec({
    noisePerHourPerHost: 5,
    attacks: [
      { at: start + 3 * 3_600_000 + 1234, host: 'ip-10-0-1-11', user: 'app', uid: 1001, kind: 'python-ipv6' },
      { at: start + 4 * 3_600_000, host: 'ip-10-0-2-21', user: 'mallory', uid: 1337, kind: 'wget-gcp' },
      { at: start + 5 * 3_600_000, host: 'ip-10-0-2-22', user: 'www-data', uid: 33, kind: 'python-ipv6' },
      { at: start + 6 * 3_600_000, host: 'ip-10-0-1-12', user: 'nobody', uid: 65534, kind: 'wget-gcp', label: 'custom' },
    ],
  });
  let events: SimulatedEvent[] = [];
  beforeAll(() => {
    events = [...simulateFleet(spec)];
  });

  it('labels a python3 IPv6 metadata call in raw auditd with a 28-byte sockaddr', () => {
    const labelled = events.filter((e) => e.label?.attack === 'app-python-imds-ipv6' && e.event.logStream === 'i-0a1b2c3d4e5f60001');
    const messages = labelled.map((e) => e.event.message);
    expect(messages.some((m) => m.includes('saddr=0A00005000000000FD000EC200000000000000000000025400000000'))).toBe(true);
    expect(messages.some((m) => m.startsWith('type=SYSCALL') && m.includes('syscall=42') && m.includes('a2=1c') && m.includes('comm="python3"'))).toBe(true);
    expect(messages.some((m) => m.startsWith('type=EXECVE') && m.includes('a0="python3" a1="-c"'))).toBe(true);
  });

  it('labels a wget to metadata.google.internal in Elastic Defend documents', () => {
    const docs = events.filter((e) => e.label?.attack === 'mallory-wget-gcp-metadata').map((e) => JSON.parse(e.event.message) as EcsDoc);
    expect(docs.length).toBe(3);
    const exec = docs.find((d) => d.event.action === 'exec');
    expect(exec?.process?.command_line).toContain('http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token');
    expect(exec?.user).toEqual({ id: '1337', name: 'mallory' });
    expect(docs.filter((d) => d.event.action === 'connection_attempted').map((d) => `${d.destination?.ip}:${d.destination?.port}`)).toEqual([
      `${AMAZON_DNS}:53`,
      '169.254.169.254:80',
    ]);
  });

  it('labels an IPv6 call in Auditbeat documents with the user name resolved', () => {
    const docs = events.filter((e) => e.label?.attack === 'www-data-python-imds-ipv6').map((e) => JSON.parse(e.event.message) as EcsDoc);
    const connect = docs.find((d) => d.event.action === 'connected-to');
    expect(connect?.destination).toEqual({ ip: 'fd00:ec2::254', port: 80 });
    expect(connect?.user?.name).toBe('www-data');
    expect(connect?.user?.id).toBe('33');
    expect(connect?.auditd?.summary.object.primary).toBe('fd00:ec2::254');
  });

  it('uses an explicit label and shows an unknown account by name on the ENRICHED host', () => {
    const labelled = events.filter((e) => e.label?.attack === 'custom').map((e) => e.event.message);
    expect(labelled.length).toBeGreaterThan(0);
    expect(labelled.some((m) => m.includes(' uid=65534 ') && m.includes('UID="nobody"'))).toBe(true);
    expect(labelled.some((m) => m.includes(Buffer.from('Metadata-Flavor: Google').toString('hex').toUpperCase()))).toBe(true);
  });
});

describe('ensureSampleTelemetry', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imds-watch-sample-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the sample once as NDJSON with labels and reuses the complete file afterwards', async () => {
    const first = await ensureSampleTelemetry(dir);
    expect(first.from).toBe('2026-11-02T00:00:00.000Z');
    expect(Date.parse(first.to) % (15 * 60_000)).toBe(0);
    expect(Date.parse(first.to)).toBeGreaterThanOrEqual(Date.parse('2026-11-06T00:00:00Z'));
    const before = await stat(first.path);
    const text = await readFile(first.path, 'utf8');
    const lines = text.trimEnd().split('\n');
    const firstEvent = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(Object.keys(firstEvent)).toEqual(['timestamp', 'ingestionTime', 'logGroupName', 'logStreamName', 'eventId', 'message']);
    const labels = (await readFile(first.labels, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { attack: string; eventId: string; host: string; user: string });
    expect(labels.length).toBeGreaterThan(0);
    expect(labels.every((l) => l.attack === SAMPLE_ATTACK_LABEL && l.host === 'ip-10-0-1-12' && l.user === 'www-data')).toBe(true);
    const ids = new Set(lines.map((l) => (JSON.parse(l) as { eventId: string }).eventId));
    expect(labels.every((l) => ids.has(l.eventId))).toBe(true);
    expect(createHash('sha256').update(text).digest('hex')).toBe(ndjsonHash(simulateFleet(defaultSampleSpec())));

    const second = await ensureSampleTelemetry(dir);
    expect(second).toEqual(first);
    expect((await stat(second.path)).mtimeMs).toBe(before.mtimeMs);
  });
});
