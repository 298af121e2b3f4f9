import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEndpointCatalogue } from '../../../../src/endpoints/endpoint-catalogue.js';
import { ecsField, ecsToObservation, looksLikeEcs, splitCommandLine } from '../../../../src/telemetry/ecs/ecs-document.js';
import type { LogEvent } from '../../../../src/telemetry/log-event.js';
import { corpusPath } from '../../../corpus.js';

const catalogue = createEndpointCatalogue();

const EVENT: LogEvent = {
  timestamp: Date.parse('2024-05-01T10:00:05.000Z'),
  ingestionTime: Date.parse('2024-05-01T10:00:09.000Z'),
  logGroup: '/elastic/endpoint',
  logStream: 'i-0abc123',
  eventId: '37950000000000000000000001',
  message: '',
};

const readJson = (...parts: string[]): unknown => JSON.parse(readFileSync(corpusPath(...parts), 'utf8')) as unknown;

/** An Elastic Defend network event on Linux, as the endpoint writes it. */
function defendNetwork(destination: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    '@timestamp': '2024-05-01T10:00:00.123Z',
    agent: { type: 'endpoint', version: '8.12.0' },
    event: { category: ['network'], type: ['start'], action: 'connection_attempted', kind: 'event', dataset: 'endpoint.events.network' },
    host: { name: 'ip-10-0-1-12', hostname: 'ip-10-0-1-12.ec2.internal', os: { type: 'linux', family: 'ubuntu' } },
    network: { direction: 'egress', transport: 'tcp', type: 'ipv4' },
    source: { ip: '10.0.1.12', port: 44211 },
    destination,
    process: { name: 'python3', executable: '/usr/bin/python3.10', pid: 4242 },
    user: { name: 'www-data', id: '33' },
    ...extra,
  };
}

/** An Elastic Defend process exec event on Linux. */
function defendProcess(process: Record<string, unknown>): Record<string, unknown> {
  return {
    '@timestamp': '2024-05-01T10:00:00.456Z',
    event: { category: ['process'], type: ['start'], action: 'exec' },
    host: { name: 'ip-10-0-1-12', os: { type: 'linux' } },
    process: { name: 'curl', executable: '/usr/bin/curl', pid: 5151, ...process },
    user: { name: 'deploy', id: '1001' },
  };
}

const CURL = 'curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/';

describe('ecsToObservation on the real Auditbeat samples', () => {
  it('does not take sshd accepting an inbound connection for a metadata call', () => {
    // Prepare
    const doc = readJson('beats-auditbeat-ecs', 'auditd_meta_accept.json');

    // Act
    const result = ecsToObservation(doc, EVENT, catalogue);

    // Assess
    expect(looksLikeEcs(doc)).toBe(true);
    expect(result).toBeUndefined();
  });

  it('does not take an execve of uname -a for a metadata call', () => {
    // Prepare
    const doc = readJson('beats-auditbeat-ecs', 'auditd_meta_execve.json');

    // Act
    const result = ecsToObservation(doc, EVENT, catalogue);

    // Assess
    expect(looksLikeEcs(doc)).toBe(true);
    expect(result).toBeUndefined();
  });

  it('takes the go-libaudit connect of google_ip_forwa to 169.254.169.254:80 for a call, string port and all', () => {
    // Prepare
    const golden = readJson('go-libaudit', 'aucoalesce_testdata_ubuntu-16.10-linux-4.8.0.json.golden') as { test_name: string; event: unknown }[];
    const connect = golden.find((g) => g.test_name === 'connect syscall')?.event;
    expect(connect, 'the golden file has a "connect syscall" event').toBeDefined();

    // Act
    const result = ecsToObservation(connect, EVENT, catalogue);

    // Assess
    expect(result).toEqual({
      time: Date.parse('2017-04-21T05:38:27.096Z'),
      host: 'i-0abc123',
      user: { name: 'root', id: '0' },
      process: { name: 'google_ip_forwa', executable: '/usr/bin/python3.5', pid: 1648 },
      destination: { endpoint: '169.254.169.254', provider: 'cloud-imds', address: '169.254.169.254', port: 80 },
      via: 'network',
      format: 'ecs',
      source: { logGroup: '/elastic/endpoint', logStream: 'i-0abc123', eventId: '37950000000000000000000001' },
    });
  });

  it('finds no other metadata call among the go-libaudit golden events', () => {
    // Prepare
    const files = [
      'aucoalesce_testdata_ubuntu-16.10-linux-4.8.0.json.golden',
      'aucoalesce_testdata_ubuntu-17.04-linux-4.10.0.json.golden',
      'aucoalesce_testdata_rhel-7-linux-3.10.0.json.golden',
      'aucoalesce_testdata_ubuntu-21.10-linux-5.13.json.golden',
    ];
    const events = files.flatMap((f) => (readJson('go-libaudit', f) as { test_name: string; event: unknown }[]).map((g) => g));

    // Act
    const calls = events.filter((g) => ecsToObservation(g.event, EVENT, catalogue) !== undefined).map((g) => g.test_name);

    // Assess
    expect(events.length).toBeGreaterThan(30);
    expect(calls).toEqual(['connect syscall']);
  });
});

describe('ecsToObservation on Elastic Defend network events', () => {
  it('takes a connection to 169.254.169.254:80 for a call, with user, host, process and time', () => {
    // Prepare
    const doc = defendNetwork({ ip: '169.254.169.254', port: 80 });

    // Act
    const result = ecsToObservation(doc, EVENT, catalogue);

    // Assess
    expect(result).toEqual({
      time: Date.parse('2024-05-01T10:00:00.123Z'),
      host: 'ip-10-0-1-12',
      user: { name: 'www-data', id: '33' },
      process: { name: 'python3', executable: '/usr/bin/python3.10', pid: 4242 },
      destination: { endpoint: '169.254.169.254', provider: 'cloud-imds', address: '169.254.169.254', port: 80 },
      via: 'network',
      format: 'ecs',
      source: { logGroup: EVENT.logGroup, logStream: EVENT.logStream, eventId: EVENT.eventId },
    });
  });

  it.each([
    ['the AWS IPv6 endpoint', { ip: 'fd00:ec2::254', port: 80 }, 'fd00:ec2::254', 'aws-imds-ipv6'],
    ['the AWS IPv6 endpoint spelled out', { ip: 'fd00:0ec2:0000:0000:0000:0000:0000:0254', port: 80 }, 'fd00:ec2::254', 'aws-imds-ipv6'],
    ['Alibaba Cloud', { ip: '100.100.100.200', port: 80 }, '100.100.100.200', 'alibaba'],
    ['the ECS task credentials endpoint', { ip: '169.254.170.2', port: 80 }, '169.254.170.2', 'aws-ecs-credentials'],
    ['an IPv4-mapped address', { ip: '::ffff:169.254.169.254', port: 80 }, '169.254.169.254', 'cloud-imds'],
    ['an address without a port', { ip: '169.254.169.254' }, '169.254.169.254', 'cloud-imds'],
    ['the GCE name', { domain: 'metadata.google.internal', port: 80 }, 'metadata.google.internal', 'gcp'],
    ['the GCE name in destination.address', { address: 'metadata.google.internal' }, 'metadata.google.internal', 'gcp'],
  ])('takes a connection to %s for a call', (_name, destination, endpoint, provider) => {
    // Prepare
    const doc = defendNetwork(destination);

    // Act
    const result = ecsToObservation(doc, EVENT, catalogue);

    // Assess
    expect(result).toMatchObject({ destination: { endpoint, provider }, via: 'network', user: { name: 'www-data' } });
  });

  it('reads documents written with dotted keys', () => {
    // Prepare
    const doc = {
      '@timestamp': '2024-05-01T10:00:00.123Z',
      'event.action': 'connection_attempted',
      'event.category': ['network'],
      'host.name': 'dotted-host',
      'host.os.type': 'linux',
      'destination.ip': '169.254.169.254',
      'destination.port': 80,
      'process.name': 'curl',
      'process.pid': 77,
      'user.name': 'alice',
      user: { id: '1002' },
    };

    // Act
    const result = ecsToObservation(doc, EVENT, catalogue);

    // Assess
    expect(result).toMatchObject({
      host: 'dotted-host',
      user: { name: 'alice', id: '1002' },
      process: { name: 'curl', pid: 77 },
      destination: { endpoint: '169.254.169.254', port: 80 },
    });
  });

  it.each([
    ['DNS on 169.254.169.254:53', { ip: '169.254.169.254', port: 53 }],
    ['NTP on 169.254.169.254:123', { ip: '169.254.169.254', port: 123 }],
    ['HTTPS on 169.254.169.254:443', { ip: '169.254.169.254', port: 443 }],
    ['Amazon Time Sync at 169.254.169.123', { ip: '169.254.169.123', port: 123 }],
    ['Amazon Time Sync at 169.254.169.123 on port 80', { ip: '169.254.169.123', port: 80 }],
    ['Amazon DNS at 169.254.169.253', { ip: '169.254.169.253', port: 53 }],
    ['an ordinary web server', { ip: '52.24.232.3', port: 80 }],
    ['another name', { domain: 'metadata.example.com', port: 80 }],
  ])('does not take %s for a call', (_name, destination) => {
    // Prepare
    const doc = defendNetwork(destination, { dns: { question: { name: 'elastic.co' } } });

    // Act
    const result = ecsToObservation(doc, EVENT, catalogue);

    // Assess
    expect(result).toBeUndefined();
  });

  it('does not take an accepted or ended connection for a call', () => {
    // Prepare
    const accepted = defendNetwork(
      { ip: '10.0.1.12', port: 8080 },
      { event: { category: ['network'], action: 'connection_accepted' }, source: { ip: '169.254.169.254', port: 80 } },
    );
    const ingress = defendNetwork({ ip: '169.254.169.254', port: 80 }, { network: { direction: 'ingress' } });
    const ended = defendNetwork({ ip: '169.254.169.254', port: 80 }, { event: { category: ['network'], action: 'disconnect_received' } });

    // Act
    const results = [accepted, ingress, ended].map((doc) => ecsToObservation(doc, EVENT, catalogue));

    // Assess
    expect(results).toEqual([undefined, undefined, undefined]);
  });

  it('skips documents from Windows and macOS hosts: the detector is for Linux', () => {
    // Prepare
    const windows = defendNetwork({ ip: '169.254.169.254', port: 80 }, { host: { name: 'WIN-1', os: { type: 'windows', family: 'windows' } } });
    const mac = defendNetwork({ ip: '169.254.169.254', port: 80 }, { 'host.os.platform': 'darwin' });

    // Act
    const results = [windows, mac].map((doc) => ecsToObservation(doc, EVENT, catalogue));

    // Assess
    expect(results).toEqual([undefined, undefined]);
  });

  it('takes a DNS question for a metadata name for a call, without the resolver port', () => {
    // Prepare
    const doc = defendNetwork(
      { ip: '169.254.169.254', port: 53 },
      { event: { category: ['network'], action: 'lookup_requested' }, dns: { question: { name: 'metadata.google.internal.' } } },
    );

    // Act
    const result = ecsToObservation(doc, EVENT, catalogue);

    // Assess
    expect(result).toMatchObject({ destination: { endpoint: 'metadata.google.internal', domain: 'metadata.google.internal.' }, via: 'network' });
    expect(result).not.toHaveProperty('destination.port');
  });

  it('takes an observed HTTP request to a metadata URL for a call', () => {
    // Prepare
    const doc = {
      '@timestamp': '2024-05-01T10:00:00.000Z',
      event: { category: ['network'], dataset: 'http' },
      url: { full: 'http://169.254.169.254/latest/api/token', domain: '169.254.169.254' },
      user: { name: 'app' },
    };

    // Act
    const result = ecsToObservation(doc, EVENT, catalogue);

    // Assess
    expect(result).toMatchObject({ destination: { endpoint: '169.254.169.254', url: 'http://169.254.169.254/latest/api/token' }, via: 'network' });
  });
});

describe('ecsToObservation on process events', () => {
  it('takes curl with a metadata URL in process.args for a call', () => {
    // Prepare
    const doc = defendProcess({ args: splitCommandLine(CURL) });

    // Act
    const result = ecsToObservation(doc, EVENT, catalogue);

    // Assess
    expect(result).toEqual({
      time: Date.parse('2024-05-01T10:00:00.456Z'),
      host: 'ip-10-0-1-12',
      user: { name: 'deploy', id: '1001' },
      process: { name: 'curl', executable: '/usr/bin/curl', pid: 5151, args: ['curl', '-s', 'http://169.254.169.254/latest/meta-data/iam/security-credentials/'] },
      destination: {
        endpoint: '169.254.169.254',
        provider: 'cloud-imds',
        url: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      },
      via: 'command-line',
      format: 'ecs',
      source: { logGroup: EVENT.logGroup, logStream: EVENT.logStream, eventId: EVENT.eventId },
    });
  });

  it('takes curl with a metadata URL in process.command_line for a call, splitting it into args', () => {
    // Prepare
    const doc = defendProcess({ command_line: CURL });

    // Act
    const result = ecsToObservation(doc, EVENT, catalogue);

    // Assess
    expect(result).toMatchObject({
      process: { args: ['curl', '-s', 'http://169.254.169.254/latest/meta-data/iam/security-credentials/'] },
      destination: { endpoint: '169.254.169.254', url: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/' },
      via: 'command-line',
    });
  });

  it.each([
    ['wget to the GCE name', { name: 'wget', executable: '/usr/bin/wget', args: ['wget', '-qO-', '--header=Metadata-Flavor: Google', 'http://metadata.google.internal/computeMetadata/v1/'] }],
    ['python with a URL inside code', { name: 'python3', executable: '/usr/bin/python3', command_line: `python3 -c "import urllib.request as u; print(u.urlopen('http://169.254.169.254/latest/user-data').read())"` }],
    ['the aws CLI against the ECS credentials endpoint', { name: 'aws', executable: '/usr/local/bin/aws', args: ['aws', 'sts', 'get-caller-identity', '--endpoint-url', 'http://169.254.170.2/v2/credentials/abc'] }],
    ['curl to a bare address', { args: ['curl', '169.254.169.254'] }],
    ['nc to the metadata port', { name: 'nc', executable: '/usr/bin/nc', args: ['nc', '169.254.169.254', '80'] }],
  ])('takes %s for a call', (_name, process) => {
    // Prepare
    const doc = defendProcess(process);

    // Act
    const result = ecsToObservation(doc, EVENT, catalogue);

    // Assess
    expect(result).toMatchObject({ via: 'command-line', user: { name: 'deploy' } });
  });

  it.each([
    ['a firewall rule that blocks the service', { name: 'iptables', executable: '/usr/sbin/iptables', args: ['iptables', '-A', 'OUTPUT', '-d', '169.254.169.254/32', '-j', 'DROP'] }],
    ['a route to the service', { name: 'ip', executable: '/usr/sbin/ip', command_line: 'ip route add 169.254.169.254 dev eth0' }],
    ['curl to Amazon Time Sync', { args: ['curl', 'http://169.254.169.123/'] }],
    ['curl elsewhere', { args: ['curl', 'https://example.com/latest/meta-data/'] }],
  ])('does not take %s for a call', (_name, process) => {
    // Prepare
    const doc = defendProcess(process);

    // Act
    const result = ecsToObservation(doc, EVENT, catalogue);

    // Assess
    expect(result).toBeUndefined();
  });

  it('does not take the end of a process for a second call', () => {
    // Prepare
    const doc = { ...defendProcess({ args: splitCommandLine(CURL) }), event: { category: ['process'], type: ['end'], action: 'end' } };

    // Act
    const result = ecsToObservation(doc, EVENT, catalogue);

    // Assess
    expect(result).toBeUndefined();
  });
});

describe('ecsToObservation on Auditbeat and Auditd Manager documents', () => {
  it('takes an auditd connect with the address only in auditd.data.socket for a call', () => {
    // Prepare
    const doc = {
      '@timestamp': '2024-05-01T10:00:01.000Z',
      event: { action: 'connected-to', category: ['network'], module: 'auditd' },
      auditd: { data: { syscall: 'connect', exit: 'EINPROGRESS', socket: { addr: '169.254.169.254', family: 'ipv4', port: '80' } } },
      process: { executable: '/usr/bin/python3.8', name: 'google_guest_ag', pid: '912', title: '/usr/bin/python3 /usr/bin/google_guest_agent' },
      user: { id: '0', name_map: { uid: 'root' } },
      host: { hostname: 'gce-vm-1' },
    };

    // Act
    const result = ecsToObservation(doc, EVENT, catalogue);

    // Assess
    expect(result).toMatchObject({
      host: 'gce-vm-1',
      user: { name: 'root', id: '0' },
      process: { name: 'google_guest_ag', executable: '/usr/bin/python3.8', pid: 912 },
      destination: { endpoint: '169.254.169.254', address: '169.254.169.254', port: 80 },
      via: 'network',
    });
  });

  it('does not take an auditd connect to 169.254.169.254:53 for a call', () => {
    // Prepare
    const doc = {
      '@timestamp': '2024-05-01T10:00:01.000Z',
      event: { action: 'connected-to' },
      destination: { ip: '169.254.169.254', port: '53' },
      auditd: { data: { syscall: 'connect', socket: { addr: '169.254.169.254', port: '53' } } },
      user: { id: '1000' },
    };

    // Act
    const result = ecsToObservation(doc, EVENT, catalogue);

    // Assess
    expect(result).toBeUndefined();
  });

  it('does not read the socket address of a bind or an accept as a destination', () => {
    // Prepare
    const doc = {
      '@timestamp': '2024-05-01T10:00:01.000Z',
      event: { action: 'bound-socket' },
      auditd: { data: { syscall: 'bind', socket: { addr: '169.254.169.254', port: '80' } } },
      user: { id: '0' },
    };

    // Act
    const result = ecsToObservation(doc, EVENT, catalogue);

    // Assess
    expect(result).toBeUndefined();
  });
});

describe('ecsToObservation: user, host and time', () => {
  const call = (extra: Record<string, unknown>): Record<string, unknown> => {
    const doc = defendNetwork({ ip: '169.254.169.254', port: 80 });
    delete doc['user'];
    delete doc['host'];
    return { ...doc, ...extra };
  };

  it.each([
    ['user.name', { user: { name: 'nginx', id: '101' } }, { name: 'nginx', id: '101' }],
    ['uid 0 without a name', { user: { id: '0' } }, { name: 'root', id: '0' }],
    ['a numeric uid without a name', { user: { id: 1001 } }, { name: 'uid:1001', id: '1001' }],
    ["auditbeat's name_map", { user: { uid: '33', name_map: { uid: 'www-data' } } }, { name: 'www-data', id: '33' }],
    ["go-libaudit's ids", { user: { ids: { auid: 'unset', uid: '112' } } }, { name: 'uid:112', id: '112' }],
    ['only the audit user', { user: { audit: { id: '1000', name: 'alice' } } }, { name: 'alice', id: '1000' }],
  ])('names the user from %s', (_name, extra, user) => {
    // Prepare
    const doc = call(extra);

    // Act
    const result = ecsToObservation(doc, EVENT, catalogue);

    // Assess
    expect(result).toMatchObject({ user });
  });

  it('skips a call without any user as unknown-shape', () => {
    // Prepare
    const doc = call({ user: { id: 'unset' } });

    // Act
    const result = ecsToObservation(doc, EVENT, catalogue);

    // Assess
    expect(result).toBe('unknown-shape');
  });

  it.each([
    ['host.name', { host: { name: 'a', hostname: 'b' }, agent: { hostname: 'c' } }, 'a'],
    ['host.hostname', { host: { hostname: 'b' }, agent: { hostname: 'c' } }, 'b'],
    ['agent.hostname', { agent: { hostname: 'c' } }, 'c'],
    ['the log stream', {}, 'i-0abc123'],
  ])('names the host from %s', (_name, extra, host) => {
    // Prepare
    const doc = call({ user: { name: 'u' }, ...extra });

    // Act
    const result = ecsToObservation(doc, EVENT, catalogue);

    // Assess
    expect(result).toMatchObject({ host });
  });

  it.each([
    ['an ISO @timestamp', { '@timestamp': '2024-05-01T10:00:00.123Z' }, Date.parse('2024-05-01T10:00:00.123Z')],
    ['an epoch-ms @timestamp', { '@timestamp': 1714557600123 }, 1714557600123],
    ['event.created', { '@timestamp': undefined, event: { action: 'connection_attempted', created: '2024-05-01T10:00:02.000Z' } }, Date.parse('2024-05-01T10:00:02.000Z')],
    ['the CloudWatch event', { '@timestamp': undefined }, EVENT.timestamp],
  ])('times the call from %s', (_name, extra, time) => {
    // Prepare
    const doc = call({ user: { name: 'u' }, ...extra });

    // Act
    const result = ecsToObservation(doc, EVENT, catalogue);

    // Assess
    expect(result).toMatchObject({ time });
  });

  it('skips a call whose @timestamp does not parse or is absurd as bad-timestamp', () => {
    // Prepare
    const docs = ['not a date', -5, '10000-01-01T00:00:00Z'].map((t) => call({ user: { name: 'u' }, '@timestamp': t }));

    // Act
    const results = docs.map((doc) => ecsToObservation(doc, EVENT, catalogue));

    // Assess
    expect(results).toEqual(['bad-timestamp', 'bad-timestamp', 'bad-timestamp']);
  });

  it('skips a call without any usable time as unknown-shape', () => {
    // Prepare
    const doc = call({ user: { name: 'u' }, '@timestamp': undefined });

    // Act
    const result = ecsToObservation(doc, { ...EVENT, timestamp: Number.NaN }, catalogue);

    // Assess
    expect(result).toBe('unknown-shape');
  });
});

describe('ecsToObservation on documents that are not ECS', () => {
  it('returns unknown-shape for values that are not ECS objects', () => {
    // Prepare
    const values: unknown[] = [null, 42, 'text', [1, 2], {}, { foo: 'bar' }, { user: 'alice' }];

    // Act
    const results = values.map((value) => ecsToObservation(value, EVENT, catalogue));

    // Assess
    expect(results.every((r) => r === 'unknown-shape')).toBe(true);
    expect(values.some((v) => looksLikeEcs(v))).toBe(false);
  });

  it('reads nested, dotted and mixed field paths alike', () => {
    // Prepare
    const docs = [{ destination: { ip: 'x' } }, { 'destination.ip': 'x' }, { destination: { 'ip': 'x' } }, { 'a.b': { c: { 'd.e': 'x' } } }];

    // Act
    const values = [ecsField(docs[0], 'destination.ip'), ecsField(docs[1], 'destination.ip'), ecsField(docs[2], 'destination.ip'), ecsField(docs[3], 'a.b.c.d.e')];

    // Assess
    expect(values).toEqual(['x', 'x', 'x', 'x']);
  });

  it('never throws, whatever JSON value it is given', () => {
    // Prepare
    const value = fc.oneof(fc.jsonValue(), fc.anything());

    // Act and Assess
    fc.assert(
      fc.property(value, (doc) => {
        const result = ecsToObservation(doc, EVENT, catalogue);
        return result === undefined || typeof result === 'string' || typeof result === 'object';
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on ECS-like documents with fields of any type', () => {
    // Prepare
    const paths = [
      '@timestamp', 'event.action', 'event.created', 'network.direction', 'host.os.type', 'host.name', 'destination.ip',
      'destination.port', 'destination.domain', 'destination.address', 'dns.question.name', 'url.full', 'url.domain', 'url.port',
      'process.args', 'process.command_line', 'process.title', 'process.pid', 'process.name', 'user.id', 'user.name',
      'auditd.data.socket.addr', 'auditd.data.syscall', 'summary.action',
    ]; // prettier-ignore
    const leaf = fc.oneof(
      fc.constantFrom('169.254.169.254', 'fd00:ec2::254', '80', 80, 53, 'connected-to', 'egress', 'linux', CURL, 'metadata.google.internal', '0', 'unset'),
      fc.jsonValue({ maxDepth: 1 }),
      fc.array(fc.oneof(fc.string(), fc.constant(CURL)), { maxLength: 3 }),
    );
    const doc = fc.dictionary(fc.constantFrom(...paths), leaf).map((fields) => {
      // Half the time nest the dotted paths, half the time keep them dotted.
      const nested: Record<string, unknown> = {};
      for (const [path, v] of Object.entries(fields)) {
        const parts = path.split('.');
        let at = nested;
        for (const part of parts.slice(0, -1)) {
          const next = at[part];
          at = typeof next === 'object' && next !== null && !Array.isArray(next) ? (next as Record<string, unknown>) : (at[part] = {});
        }
        at[parts[parts.length - 1] ?? ''] = v;
      }
      return [fields, nested];
    });

    // Act and Assess
    fc.assert(
      fc.property(doc, ([dotted, nested]) => {
        for (const d of [dotted, nested]) {
          const result = ecsToObservation(d, EVENT, catalogue);
          if (result !== undefined && typeof result !== 'string' && !Number.isFinite(result.time)) return false;
        }
        return true;
      }),
      { numRuns: 2000 },
    );
  });
});

describe('splitCommandLine', () => {
  it('splits on whitespace and keeps quoted arguments whole', () => {
    // Prepare
    const line = `curl -H "X-aws-ec2-metadata-token: $T" 'http://169.254.169.254/a b' plain\\ space ""`;

    // Act
    const args = splitCommandLine(line);

    // Assess
    expect(args).toEqual(['curl', '-H', 'X-aws-ec2-metadata-token: $T', 'http://169.254.169.254/a b', 'plain space', '']);
  });
});
