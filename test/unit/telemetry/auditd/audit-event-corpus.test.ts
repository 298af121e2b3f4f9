import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createEndpointCatalogue } from '../../../../src/endpoints/endpoint-catalogue.js';
import { auditEventToObservation, execveArgs, type AuditRecordEvent } from '../../../../src/telemetry/auditd/audit-event.js';
import { auditIdOf, parseAuditRecord } from '../../../../src/telemetry/auditd/audit-record.js';
import { decodeSockaddr } from '../../../../src/telemetry/auditd/sockaddr.js';
import type { Observation } from '../../../../src/telemetry/observation.js';
import { corpusPath } from '../../../corpus.js';

const catalogue = createEndpointCatalogue();
const GCE_EXCERPT = ['beats-filebeat-auditd', 'audit-rhel7-gce-connect-excerpt.log'] as const;

function corpusLines(...parts: string[]): string[] {
  return readFileSync(corpusPath(...parts), 'utf8')
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l !== '');
}

/** Raw records embedded in a go-libaudit yaml test file (indented under a block scalar). */
function yamlRecordLines(...parts: string[]): string[] {
  return corpusLines(...parts)
    .map((l) => l.trim())
    .filter((l) => /^(node=\S+ )?type=\S+ msg=audit\(/.test(l));
}

/** The lines as CloudWatch events of one log stream (one event per line), grouped by (node, auditId). */
function groupedEvents(lines: readonly string[], stream = 'gce-rhel7-vm'): Map<string, AuditRecordEvent[]> {
  const groups = new Map<string, AuditRecordEvent[]>();
  lines.forEach((message, i) => {
    const id = auditIdOf(message);
    const record = parseAuditRecord(message);
    if (!id || !record) return;
    const key = `${id.node}\u0000${id.auditId}`;
    const event = { timestamp: record.time + 500, ingestionTime: record.time + 900, logGroup: '/var/log/audit/audit.log', logStream: stream, eventId: `e${i}`, message };
    const group = groups.get(key) ?? [];
    group.push({ record, event });
    groups.set(key, group);
  });
  return groups;
}

function observe(groups: Map<string, AuditRecordEvent[]>): Map<string, Observation | 'auditd-incomplete' | undefined> {
  return new Map([...groups].map(([key, records]) => [key, auditEventToObservation(records, catalogue)]));
}

const observationsOf = (results: Map<string, Observation | 'auditd-incomplete' | undefined>): Observation[] =>
  [...results.values()].filter((r): r is Observation => typeof r === 'object');

/** Serials of the agents' port-80 metadata connects in the GCE excerpt (PROVENANCE §1: 8 SOCKADDR records). */
const AGENT_CONNECTS = [
  ['1481078424.953:688', 1222],
  ['1481078432.794:716', 1220],
  ['1481078433.320:718', 1224],
  ['1481078492.809:723', 1220],
  ['1481078493.333:726', 1224],
  ['1481078513.983:731', 1222],
  ['1481078552.825:735', 1220],
  ['1481078553.346:737', 1224],
] as const;

describe('the real GCE RHEL7 excerpt (beats-filebeat-auditd)', () => {
  it('holds exactly 8 SOCKADDR records to 169.254.169.254 port 80', () => {
    // Prepare
    const lines = corpusLines(...GCE_EXCERPT);

    // Act
    const imds80 = lines
      .map((l) => parseAuditRecord(l))
      .filter((r) => r?.type === 'SOCKADDR')
      .map((r) => decodeSockaddr(r?.fields['saddr'] ?? ''))
      .filter((s) => s?.address === '169.254.169.254' && s.port === 80);

    // Assess
    expect(imds80).toHaveLength(8);
  });

  it('yields observations exactly for the google agents\' port-80 connects, named by exe, as root', () => {
    // Prepare
    const groups = groupedEvents(corpusLines(...GCE_EXCERPT));

    // Act
    const results = observe(groups);
    const observations = observationsOf(results);

    // Assess
    expect(observations).toHaveLength(8);
    const byId = [...results].filter(([, r]) => typeof r === 'object').map(([key]) => key.split('\u0000')[1]);
    expect(byId).toEqual(AGENT_CONNECTS.map(([id]) => id));
    observations.forEach((observation, i) => {
      const [auditId, pid] = AGENT_CONNECTS[i] ?? ['', 0];
      const [seconds = '', millis = ''] = auditId.split(':')[0]?.split('.') ?? [];
      expect(observation).toEqual({
        time: Number(seconds) * 1000 + Number(millis),
        host: 'gce-rhel7-vm',
        user: { name: 'root', id: '0' },
        process: { name: 'python2.7', executable: '/usr/bin/python2.7', pid },
        destination: { endpoint: '169.254.169.254', provider: 'cloud-imds', address: '169.254.169.254', port: 80 },
        via: 'network',
        format: 'auditd',
        source: expect.objectContaining({ logGroup: '/var/log/audit/audit.log', logStream: 'gce-rhel7-vm' }) as Observation['source'],
      });
    });
    // google_accounts (1222), google_ip_forwa (1220) and google_clock_sk (1224) all appear.
    expect(new Set(observations.map((o) => o.process.pid))).toEqual(new Set([1220, 1222, 1224]));
  });

  it('cites the SYSCALL record of each event as the source', () => {
    // Prepare
    const lines = corpusLines(...GCE_EXCERPT);
    const groups = groupedEvents(lines);

    // Act
    const observations = observationsOf(observe(groups));

    // Assess
    for (const observation of observations) {
      const line = lines[Number(observation.source.eventId.slice(1))] ?? '';
      expect(line.startsWith('type=SYSCALL ')).toBe(true);
      expect(line).toContain('syscall=42 success=no exit=-115');
    }
  });

  it('yields nothing for ntpd on port 123, curl\'s DNS on port 53 and curl\'s real connect to 52.24.232.3', () => {
    // Prepare
    const results = observe(groupedEvents(corpusLines(...GCE_EXCERPT)));
    const keyOf = (auditId: string): string => `\u0000${auditId}`;

    // Act
    const ntp = results.get(keyOf('1481078492.523:719'));
    const dns = results.get(keyOf('1481078430.068:692'));
    const realConnect = results.get(keyOf('1481078430.128:712'));
    const curlExec = results.get(keyOf('1481078430.028:689'));

    // Assess
    expect(results.has(keyOf('1481078492.523:719'))).toBe(true);
    expect([ntp, dns, realConnect, curlExec]).toEqual([undefined, undefined, undefined, undefined]);
    expect([...results.values()].filter((r) => r === 'auditd-incomplete')).toEqual([]);
  });

  it('gives the same observations when the lines are shuffled and shipped in a different order', () => {
    // Prepare: a fixed permutation (reverse, then interleave halves)
    const lines = corpusLines(...GCE_EXCERPT);
    const reversed = [...lines].reverse();
    const half = Math.ceil(reversed.length / 2);
    const shuffled = reversed.flatMap((_, i) => (i < half ? [reversed[i], reversed[i + half]] : [])).filter((l): l is string => l !== undefined);
    expect(shuffled).toHaveLength(lines.length);

    // Act
    const withoutSource = (o: Observation): Omit<Observation, 'source'> & { source?: undefined } => ({ ...o, source: undefined });
    const inOrder = observationsOf(observe(groupedEvents(lines))).map(withoutSource);
    const outOfOrder = observationsOf(observe(groupedEvents(shuffled))).map(withoutSource);

    // Assess
    const byTime = (a: { time: number }, b: { time: number }): number => a.time - b.time;
    expect(outOfOrder.sort(byTime)).toEqual(inOrder.sort(byTime));
  });

  it('reports each agent connect as incomplete while only its SOCKADDR has arrived, and observes it once joined', () => {
    // Prepare
    const groups = groupedEvents(corpusLines(...GCE_EXCERPT));

    for (const [auditId] of AGENT_CONNECTS) {
      const records = groups.get(`\u0000${auditId}`) ?? [];
      const sockaddrOnly = records.filter((r) => r.record.type === 'SOCKADDR');
      const syscallOnly = records.filter((r) => r.record.type === 'SYSCALL');

      // Act
      const firstRun = auditEventToObservation(sockaddrOnly, catalogue);
      const syscallRun = auditEventToObservation(syscallOnly, catalogue);
      const secondRun = auditEventToObservation([...sockaddrOnly, ...syscallOnly], catalogue);

      // Assess
      expect(firstRun).toBe('auditd-incomplete');
      expect(syscallRun).toBeUndefined();
      expect(secondRun).toMatchObject({ via: 'network', user: { name: 'root' } });
    }
  });
});

describe('go-libaudit reassembler streams', () => {
  it('gives the google_accounts connect with its hex exe decoded from testdata_normal.log', () => {
    // Prepare
    const groups = groupedEvents(corpusLines('go-libaudit', 'testdata_normal.log'), 'gce-centos');

    // Act
    const observations = observationsOf(observe(groups));

    // Assess
    expect(observations).toEqual([
      {
        time: 1492037289295,
        host: 'gce-centos',
        user: { name: 'root', id: '0' },
        process: { name: 'python2.7', executable: '/usr/bin/python2.7;58d1ccfb (deleted)', pid: 1172 },
        destination: { endpoint: '169.254.169.254', provider: 'cloud-imds', address: '169.254.169.254', port: 80 },
        via: 'network',
        format: 'auditd',
        source: { logGroup: '/var/log/audit/audit.log', logStream: 'gce-centos', eventId: 'e0' },
      },
    ]);
  });

  it('gives the same observations for the out-of-order and lost-messages versions of the stream', () => {
    // Prepare
    const files = ['testdata_normal.log', 'testdata_out_of_order.log', 'testdata_lost_messages.log'];

    // Act
    const results = files.map((file) => observationsOf(observe(groupedEvents(corpusLines('go-libaudit', file), 'gce-centos'))));

    // Assess
    expect(results[0]).toHaveLength(1);
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });

  it('gives the google_ip_forwa connect of the Ubuntu 16.10 VM with its PROCTITLE as arguments', () => {
    // Prepare
    const lines = yamlRecordLines('go-libaudit', 'aucoalesce_testdata_ubuntu-16.10-linux-4.8.0.yaml');

    // Act
    const observations = observationsOf(observe(groupedEvents(lines, 'ubuntu-1610')));

    // Assess
    expect(observations).toHaveLength(1);
    expect(observations[0]).toMatchObject({
      time: 1492753107096,
      user: { name: 'root', id: '0' },
      process: { name: 'python3.5', executable: '/usr/bin/python3.5', args: ['(g_daemon)'], pid: 1648 },
      destination: { address: '169.254.169.254', port: 80 },
      via: 'network',
    });
  });

  it('gives no observation for the other go-libaudit samples (none calls the metadata service)', () => {
    // Prepare
    const sources = [
      corpusLines('go-libaudit', 'auparse_testdata_test3.log'),
      corpusLines('go-libaudit', 'auparse_testdata_test2.log'),
      corpusLines('go-libaudit', 'testdata_rollover.log'),
      yamlRecordLines('go-libaudit', 'aucoalesce_testdata_ubuntu-17.04-linux-4.10.0.yaml'),
      yamlRecordLines('go-libaudit', 'aucoalesce_testdata_ubuntu-21.10-linux-5.13.yaml'),
      yamlRecordLines('go-libaudit', 'aucoalesce_testdata_ubuntu-24.04-linux-6.8.0.yaml'),
      yamlRecordLines('go-libaudit', 'aucoalesce_testdata_random-internet.yaml'),
    ];

    // Act
    const results = sources.map((lines) => [...observe(groupedEvents(lines)).values()].filter((r) => r !== undefined));

    // Assess
    expect(results).toEqual(sources.map(() => []));
  });

  it('finds the one metadata SOCKADDR of auparse_testdata_audit-rhel7.log, whose SYSCALL is not in the sample', () => {
    // Prepare: one record per type, so the SOCKADDR to 169.254.169.254:80 stands alone
    const groups = groupedEvents(corpusLines('go-libaudit', 'auparse_testdata_audit-rhel7.log'));

    // Act
    const results = [...observe(groups).values()].filter((r) => r !== undefined);

    // Assess
    expect(results).toEqual(['auditd-incomplete']);
  });
});

describe('EXECVE with a hex-encoded argument (beats-filebeat-auditd/execve-hex-arg.log)', () => {
  it('decodes the hex argument to echo \\"arg hex encoded\\"', () => {
    // Prepare
    const [line = ''] = corpusLines('beats-filebeat-auditd', 'execve-hex-arg.log');
    const record = parseAuditRecord(line);

    // Act
    const args = record ? execveArgs([record]) : undefined;

    // Assess
    expect(args).toEqual(['sh', '-c', 'echo \\"arg hex encoded\\"']);
  });

  it('is not metadata-relevant on its own', () => {
    // Prepare
    const groups = groupedEvents(corpusLines('beats-filebeat-auditd', 'execve-hex-arg.log'));

    // Act
    const results = [...observe(groups).values()];

    // Assess
    expect(results).toEqual([undefined]);
  });
});
