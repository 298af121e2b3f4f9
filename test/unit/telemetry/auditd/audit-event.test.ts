import { describe, expect, it } from 'vitest';
import { createEndpointCatalogue } from '../../../../src/endpoints/endpoint-catalogue.js';
import {
  auditEventToObservation,
  execveArgs,
  isNetworkSyscall,
  processNameOf,
  proctitleArgs,
  userOf,
  type AuditRecordEvent,
} from '../../../../src/telemetry/auditd/audit-event.js';
import { parseAuditRecord, type AuditRecord } from '../../../../src/telemetry/auditd/audit-record.js';

const catalogue = createEndpointCatalogue();
const GS = '\x1d';
const ID = '1700000000.123:500';
const TIME = 1_700_000_000_123;
const hex = (text: string): string => Buffer.from(text, 'utf8').toString('hex').toUpperCase();

/** CloudWatch events for record lines, as the CloudWatch agent ships audit.log: one event per line. */
function shipped(lines: readonly string[], options: { run?: string; stream?: string } = {}): AuditRecordEvent[] {
  return lines.map((message, i) => {
    const record = parseAuditRecord(message);
    if (!record) throw new Error(`test line is not an audit record: ${message}`);
    return {
      record,
      event: {
        timestamp: TIME + 1000 + i,
        ingestionTime: TIME + 2000 + i,
        logGroup: '/imds-watch/audit',
        logStream: options.stream ?? 'i-0123456789abcdef0',
        eventId: `${options.run ?? 'run1'}-${i}`,
        message,
      },
    };
  });
}

function record(line: string): AuditRecord {
  const parsed = parseAuditRecord(line);
  if (!parsed) throw new Error(`test line is not an audit record: ${line}`);
  return parsed;
}

function syscall(options: { arch?: string; nr?: string; uid?: string; exe?: string; comm?: string; tail?: string; node?: string } = {}): string {
  const node = options.node === undefined ? '' : `node=${options.node} `;
  return (
    `${node}type=SYSCALL msg=audit(${ID}): arch=${options.arch ?? 'c000003e'} syscall=${options.nr ?? '42'} success=no exit=-115 ` +
    `a0=3 a1=7ffd2a1b4c30 a2=10 a3=0 items=0 ppid=881 pid=4242 auid=1000 uid=${options.uid ?? '1001'} gid=1001 euid=1001 ` +
    `suid=1001 fsuid=1001 egid=1001 sgid=1001 fsgid=1001 tty=pts0 ses=5 comm=${options.comm ?? '"curl"'} ` +
    `exe=${options.exe ?? '"/usr/bin/curl"'} subj=unconfined key=(null)${options.tail ?? ''}`
  );
}

const sockaddr = (saddr: string, node = ''): string => `${node === '' ? '' : `node=${node} `}type=SOCKADDR msg=audit(${ID}): saddr=${saddr}`;
const IMDS_V4 = '02000050A9FEA9FE0000000000000000';
const IMDS_V6 = '0A00005000000000FD000EC200000000000000000000025400000000';
const IMDS_MAPPED = '0A0000500000000000000000000000000000FFFFA9FEA9FE00000000';

describe('auditEventToObservation: network evidence', () => {
  it('turns a non-blocking connect to 169.254.169.254:80 into a network observation', () => {
    // Prepare
    const records = shipped([syscall(), sockaddr(IMDS_V4)]);

    // Act
    const observation = auditEventToObservation(records, catalogue);

    // Assess
    expect(observation).toEqual({
      time: TIME,
      host: 'i-0123456789abcdef0',
      user: { name: 'uid:1001', id: '1001' },
      process: { name: 'curl', executable: '/usr/bin/curl', pid: 4242 },
      destination: { endpoint: '169.254.169.254', provider: 'cloud-imds', address: '169.254.169.254', port: 80 },
      via: 'network',
      format: 'auditd',
      source: { logGroup: '/imds-watch/audit', logStream: 'i-0123456789abcdef0', eventId: 'run1-0' },
    });
  });

  it('recognises AWS IMDS over IPv6, fd00:ec2::254 port 80', () => {
    // Prepare
    const records = shipped([syscall(), sockaddr(IMDS_V6)]);

    // Act
    const observation = auditEventToObservation(records, catalogue);

    // Assess
    expect(observation).toMatchObject({
      via: 'network',
      destination: { endpoint: 'fd00:ec2::254', provider: 'aws-imds-ipv6', address: 'fd00:ec2::254', port: 80 },
    });
  });

  it('recognises the IPv4-mapped IPv6 form [::ffff:169.254.169.254]:80', () => {
    // Prepare
    const records = shipped([syscall({ tail: '' }), sockaddr(IMDS_MAPPED)]);

    // Act
    const observation = auditEventToObservation(records, catalogue);

    // Assess
    expect(observation).toMatchObject({
      via: 'network',
      destination: { endpoint: '169.254.169.254', address: '::ffff:a9fe:a9fe', port: 80 },
    });
  });

  it('ignores Amazon Time Sync (169.254.169.123), Amazon DNS (169.254.169.253) and GCE DNS/NTP on ports 53 and 123', () => {
    // Prepare
    const saddrs = [
      '02000050A9FEA97B0000000000000000', // 169.254.169.123:80
      '0200007BA9FEA97B0000000000000000', // 169.254.169.123:123
      '02000035A9FEA9FD0000000000000000', // 169.254.169.253:53
      '02000050A9FEA9FD0000000000000000', // 169.254.169.253:80
      '02000035A9FEA9FE0000000000000000', // 169.254.169.254:53
      '0200007BA9FEA9FE0000000000000000', // 169.254.169.254:123
      '020001BBA9FEA9FE0000000000000000', // 169.254.169.254:443
      '020000503418E8030000000000000000', // 52.24.232.3:80
      '01002F7661722F72756E2F6E7363642F736F636B657400', // unix socket
      '00000000000000000000000000000000', // AF_UNSPEC disconnect
    ];

    // Act
    const results = saddrs.map((saddr) => auditEventToObservation(shipped([syscall(), sockaddr(saddr)]), catalogue));

    // Assess
    expect(results).toEqual(saddrs.map(() => undefined));
  });

  it('recognises ECS task credentials (169.254.170.2) and EKS Pod Identity (169.254.170.23, fd00:ec2::23)', () => {
    // Prepare
    const saddrs = [
      '02000050A9FEAA020000000000000000',
      '02000050A9FEAA170000000000000000',
      '0A00005000000000FD000EC200000000000000000000002300000000',
    ];

    // Act
    const providers = saddrs.map((saddr) => {
      const result = auditEventToObservation(shipped([syscall(), sockaddr(saddr)]), catalogue);
      return typeof result === 'object' ? result.destination.provider : result;
    });

    // Assess
    expect(providers).toEqual(['aws-ecs-credentials', 'aws-eks-pod-identity', 'aws-eks-pod-identity']);
  });

  it('accepts connect, sendto and sendmsg on x86_64 and aarch64, and nothing else on those arches', () => {
    // Prepare
    const cases: [string, string, boolean][] = [
      ['c000003e', '42', true],
      ['c000003e', '44', true],
      ['c000003e', '46', true],
      ['c000003e', '43', false], // accept
      ['c000003e', '49', false], // bind
      ['c000003e', '51', false], // getsockname
      ['c00000b7', '203', true],
      ['c00000b7', '206', true],
      ['c00000b7', '211', true],
      ['c00000b7', '42', false],
      ['c00000b7', '221', false], // execve
      ['40000003', '102', true], // i386 socketcall: unknown arch, accepted
      ['x86_64', 'connect', true], // interpreted
      ['x86_64', 'sendto', true],
      ['x86_64', 'bind', false],
      ['aarch64', '203', true],
    ];

    // Act
    const results = cases.map(([arch, nr]) => auditEventToObservation(shipped([syscall({ arch, nr }), sockaddr(IMDS_V4)]), catalogue) !== undefined);

    // Assess
    expect(results).toEqual(cases.map(([, , expected]) => expected));
  });

  it('does not require success: failed, in-progress and successful connects all count', () => {
    // Prepare
    const lines = [syscall(), syscall().replace('success=no exit=-115', 'success=yes exit=0'), syscall().replace('exit=-115', 'exit=-101')];

    // Act
    const vias = lines.map((line) => {
      const result = auditEventToObservation(shipped([line, sockaddr(IMDS_V4)]), catalogue);
      return typeof result === 'object' ? result.via : result;
    });

    // Assess
    expect(vias).toEqual(['network', 'network', 'network']);
  });

  it('prefers the saddr hex to the ENRICHED SADDR and reads SADDR only when no hex is present', () => {
    // Prepare
    const lying = `type=SOCKADDR msg=audit(${ID}): saddr=020000500A0000010000000000000000${GS}SADDR={ saddr_fam=inet laddr=169.254.169.254 lport=80 }`;
    const enrichedOnly = `type=SOCKADDR msg=audit(${ID}): ${GS}SADDR={ saddr_fam=inet laddr=169.254.169.254 lport=80 }`;
    const ausearch = `type=SOCKADDR msg=audit(${ID}): saddr={ fam=inet laddr=169.254.169.254 lport=80 }`;

    // Act
    const results = [lying, enrichedOnly, ausearch].map((line) => auditEventToObservation(shipped([syscall(), line]), catalogue));

    // Assess
    expect(results[0]).toBeUndefined();
    expect(results[1]).toMatchObject({ via: 'network', format: 'auditd-enriched', destination: { address: '169.254.169.254', port: 80 } });
    expect(results[2]).toMatchObject({ via: 'network', format: 'auditd', destination: { address: '169.254.169.254', port: 80 } });
  });
});

describe('auditEventToObservation: users, processes, hosts', () => {
  it('names the user from the ENRICHED UID and marks the format auditd-enriched', () => {
    // Prepare: the interpreted part follows a real 0x1D byte (FORMAT_NOTES §5)
    const enriched = `${GS}ARCH=x86_64 SYSCALL=connect AUID="unset" UID="www-data" GID="www-data" EUID="www-data" SUID="www-data" FSUID="www-data" EGID="www-data" SGID="www-data" FSGID="www-data"`;
    const records = shipped([
      syscall({ uid: '33', exe: '"/usr/sbin/php-fpm8.2"', comm: '"php-fpm8.2"', tail: enriched }),
      `type=SOCKADDR msg=audit(${ID}): saddr=${IMDS_V4}${GS}SADDR={ saddr_fam=inet laddr=169.254.169.254 lport=80 }`,
    ]);

    // Act
    const observation = auditEventToObservation(records, catalogue);

    // Assess
    expect(observation).toMatchObject({
      user: { name: 'www-data', id: '33' },
      process: { name: 'php-fpm8.2', executable: '/usr/sbin/php-fpm8.2' },
      format: 'auditd-enriched',
    });
  });

  it('names uid 0 root, other uids uid:N, and keeps auid out of the observation', () => {
    // Prepare
    const root = record(syscall({ uid: '0' }));
    const other = record(syscall({ uid: '1001' }));
    const unresolved = record(syscall({ uid: '1234', tail: `${GS}UID="unknown(1234)"` }));
    const interpreted = record(syscall({ uid: 'vagrant' }));
    const missing = record(`type=SYSCALL msg=audit(${ID}): arch=c000003e syscall=42`);

    // Act
    const users = [root, other, unresolved, interpreted, missing].map(userOf);

    // Assess
    expect(users).toEqual([
      { name: 'root', id: '0' },
      { name: 'uid:1001', id: '1001' },
      { name: 'uid:1234', id: '1234' },
      { name: 'vagrant' },
      { name: 'uid:unknown' },
    ]);
  });

  it('names the process by its executable, not by the 15-character comm, and falls back to comm', () => {
    // Prepare
    const daemon = shipped([syscall({ comm: '"google_ip_forwa"', exe: '"/usr/bin/python3.5"', uid: '0' }), sockaddr(IMDS_V4)]);
    const noExe = shipped([syscall({ comm: '"google_clock_sk"', exe: '(null)' }), sockaddr(IMDS_V4)]);

    // Act
    const observations = [auditEventToObservation(daemon, catalogue), auditEventToObservation(noExe, catalogue)];

    // Assess
    expect(observations[0]).toMatchObject({ user: { name: 'root', id: '0' }, process: { name: 'python3.5', executable: '/usr/bin/python3.5' } });
    expect(observations[1]).toMatchObject({ process: { name: 'google_clock_sk' } });
    expect(typeof observations[1] === 'object' ? observations[1].process.executable : 'none').toBeUndefined();
  });

  it('strips the " (deleted)" and upgrade suffixes of a replaced executable from the process name only', () => {
    // Prepare
    const names = ['/usr/bin/python2.7;58d1ccfb (deleted)', '/usr/sbin/sshd (deleted)', '/usr/bin/curl', 'curl', '/'];

    // Act
    const results = names.map(processNameOf);

    // Assess
    expect(results).toEqual(['python2.7', 'sshd', 'curl', 'curl', undefined]);
  });

  it('takes the host from node= when present and from the log stream otherwise', () => {
    // Prepare
    const withNode = shipped([syscall({ node: 'ip-10-0-1-12' }), sockaddr(IMDS_V4, 'ip-10-0-1-12')]);
    const withoutNode = shipped([syscall(), sockaddr(IMDS_V4)], { stream: 'i-0fedcba9876543210' });

    // Act
    const hosts = [withNode, withoutNode].map((records) => {
      const result = auditEventToObservation(records, catalogue);
      return typeof result === 'object' ? result.host : result;
    });

    // Assess
    expect(hosts).toEqual(['ip-10-0-1-12', 'i-0fedcba9876543210']);
  });
});

describe('auditEventToObservation: command-line evidence', () => {
  it('finds the metadata URL in an EXECVE whose header argument is hex and whose URL is quoted', () => {
    // Prepare: `curl -H "X-aws-ec2-metadata-token: $T" http://169.254.169.254/latest/meta-data/`
    const header = hex('X-aws-ec2-metadata-token: $T');
    const records = shipped([
      syscall({ nr: '59' }).replace('success=no exit=-115', 'success=yes exit=0'),
      `type=EXECVE msg=audit(${ID}): argc=4 a0="curl" a1="-H" a2=${header} a3="http://169.254.169.254/latest/meta-data/"`,
      `type=CWD msg=audit(${ID}): cwd="/home/dev"`,
      `type=PATH msg=audit(${ID}): item=0 name="/usr/bin/curl" inode=3961 dev=08:01 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL`,
      `type=PROCTITLE msg=audit(${ID}): proctitle=${hex('curl\0-H\0X-aws-ec2-metadata-token: $T\0http://169.254.169.254/latest/meta-da')}`,
    ]);

    // Act
    const observation = auditEventToObservation(records, catalogue);

    // Assess
    expect(observation).toEqual({
      time: TIME,
      host: 'i-0123456789abcdef0',
      user: { name: 'uid:1001', id: '1001' },
      process: {
        name: 'curl',
        executable: '/usr/bin/curl',
        args: ['curl', '-H', 'X-aws-ec2-metadata-token: $T', 'http://169.254.169.254/latest/meta-data/'],
        pid: 4242,
      },
      destination: {
        endpoint: '169.254.169.254',
        provider: 'cloud-imds',
        address: '169.254.169.254',
        url: 'http://169.254.169.254/latest/meta-data/',
      },
      via: 'command-line',
      format: 'auditd',
      source: { logGroup: '/imds-watch/audit', logStream: 'i-0123456789abcdef0', eventId: 'run1-0' },
    });
  });

  it('re-assembles a long argument split over several EXECVE records, out of order, across a UTF-8 character', () => {
    // Prepare: the script is cut in the middle of the URL and in the middle of "é" (C3 A9)
    const script = `import urllib.request as u; print("café", u.urlopen("http://169.254.169.254/latest/meta-data/iam/security-credentials/").read())`;
    const bytes = hex(script);
    const cutAt = bytes.indexOf('C3A9') + 2; // between C3 and A9
    const urlCut = bytes.indexOf(hex('169.254.169.254')) + hex('169.254.').length;
    const pieces = [bytes.slice(0, cutAt), bytes.slice(cutAt, urlCut), bytes.slice(urlCut)];
    const lines = [
      `type=EXECVE msg=audit(${ID}): argc=3 a0="python3" a1_len=${script.length} a1[0]=${pieces[0]}`,
      `type=EXECVE msg=audit(${ID}): a1[1]=${pieces[1]}`,
      `type=EXECVE msg=audit(${ID}): a1[2]=${pieces[2]} a2="--verbose"`,
    ];
    const records = shipped([lines[2] ?? '', syscall({ nr: '59', exe: '"/usr/bin/python3.11"', comm: '"python3"' }), lines[0] ?? '', lines[1] ?? '']);

    // Act
    const observation = auditEventToObservation(records, catalogue);

    // Assess
    expect(observation).toMatchObject({
      via: 'command-line',
      process: { name: 'python3.11', args: ['python3', script, '--verbose'] },
      destination: { endpoint: '169.254.169.254', url: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/' },
    });
  });

  it('reads the command line from PROCTITLE when there is no EXECVE record', () => {
    // Prepare: an openat by a curl that was started before the execve rule existed
    const records = shipped([
      syscall({ nr: '257' }),
      `type=PROCTITLE msg=audit(${ID}): proctitle=${hex('curl\0-s\0http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token')}`,
    ]);

    // Act
    const observation = auditEventToObservation(records, catalogue);

    // Assess
    expect(observation).toMatchObject({
      via: 'command-line',
      process: { args: ['curl', '-s', 'http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token'] },
      destination: { endpoint: 'metadata.google.internal', provider: 'gcp', domain: 'metadata.google.internal' },
    });
  });

  it('keeps the EXECVE arguments over a truncated PROCTITLE and reads a quoted PROCTITLE as one argument', () => {
    // Prepare
    const execve = record(`type=EXECVE msg=audit(${ID}): argc=2 a0="wget" a1="http://100.100.100.200/latest/meta-data/"`);
    const proctitleHex = record(`type=PROCTITLE msg=audit(${ID}): proctitle=${hex('wget\0http://100.100.100.200/lat')}`);
    const proctitleQuoted = record(`type=PROCTITLE msg=audit(${ID}): proctitle="(g_daemon)"`);

    // Act
    const fromExecve = execveArgs([execve]);
    const fromHex = proctitleArgs(proctitleHex);
    const fromQuoted = proctitleArgs(proctitleQuoted);
    const observation = auditEventToObservation(
      shipped([syscall({ nr: '59' }), `type=PROCTITLE msg=audit(${ID}): proctitle=${hex('wget\0http://100.100.100.200/lat')}`, `type=EXECVE msg=audit(${ID}): argc=2 a0="wget" a1="http://100.100.100.200/latest/meta-data/"`]),
      catalogue,
    );

    // Assess
    expect(fromExecve).toEqual(['wget', 'http://100.100.100.200/latest/meta-data/']);
    expect(fromHex).toEqual(['wget', 'http://100.100.100.200/lat']);
    expect(fromQuoted).toEqual(['(g_daemon)']);
    expect(observation).toMatchObject({ via: 'command-line', process: { args: fromExecve }, destination: { provider: 'alibaba' } });
  });

  it('adds the command-line URL to a network observation of the same endpoint', () => {
    // Prepare
    const records = shipped([
      syscall(),
      sockaddr(IMDS_V4),
      `type=PROCTITLE msg=audit(${ID}): proctitle=${hex('curl\0http://169.254.169.254/latest/api/token')}`,
    ]);

    // Act
    const observation = auditEventToObservation(records, catalogue);

    // Assess
    expect(observation).toMatchObject({
      via: 'network',
      process: { args: ['curl', 'http://169.254.169.254/latest/api/token'] },
      destination: { port: 80, url: 'http://169.254.169.254/latest/api/token' },
    });
  });

  it('ignores command lines without a metadata URL, including the metadata port of another service', () => {
    // Prepare
    const lines = [
      `type=EXECVE msg=audit(${ID}): argc=2 a0="curl" a1="elastic.co"`,
      `type=EXECVE msg=audit(${ID}): argc=2 a0="dig" a1="@169.254.169.254:53"`,
      `type=EXECVE msg=audit(${ID}): argc=2 a0="curl" a1="http://169.254.169.123/"`,
    ];

    // Act
    const results = lines.map((line) => auditEventToObservation(shipped([syscall({ nr: '59' }), line]), catalogue));

    // Assess
    expect(results).toEqual([undefined, undefined, undefined]);
  });
});

describe('auditEventToObservation: records split across runs, repeated, out of order', () => {
  it('reports a relevant SOCKADDR without its SYSCALL as incomplete, then observes once the SYSCALL arrives', () => {
    // Prepare
    const first = shipped([sockaddr(IMDS_V4)], { run: 'run1' });
    const later = shipped([syscall()], { run: 'run2' });

    // Act
    const partial = auditEventToObservation(first, catalogue);
    const joined = auditEventToObservation([...first, ...later], catalogue);

    // Assess
    expect(partial).toBe('auditd-incomplete');
    expect(joined).toMatchObject({ via: 'network', user: { name: 'uid:1001' }, source: { eventId: 'run2-0' } });
  });

  it('reports a metadata EXECVE without its SYSCALL as incomplete', () => {
    // Prepare
    const records = shipped([`type=EXECVE msg=audit(${ID}): argc=2 a0="curl" a1="http://169.254.169.254/latest/"`]);

    // Act
    const result = auditEventToObservation(records, catalogue);

    // Assess
    expect(result).toBe('auditd-incomplete');
  });

  it('returns undefined for a lone irrelevant record and for an empty group', () => {
    // Prepare
    const groups = [
      shipped([sockaddr('020000503418E8030000000000000000')]),
      shipped([`type=PATH msg=audit(${ID}): item=0 name="/usr/bin/curl"`]),
      shipped([syscall()]),
      [],
    ];

    // Act
    const results = groups.map((records) => auditEventToObservation(records, catalogue));

    // Assess
    expect(results).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('gives the same observation whatever the order and repetition of the records', () => {
    // Prepare
    const records = shipped([
      syscall(),
      sockaddr(IMDS_V4),
      `type=PROCTITLE msg=audit(${ID}): proctitle=${hex('curl\0http://169.254.169.254/')}`,
    ]);
    const [a, b, c] = records as [AuditRecordEvent, AuditRecordEvent, AuditRecordEvent];
    const reshipped = { record: a.record, event: { ...a.event, eventId: 'run9-0', timestamp: a.event.timestamp + 60_000 } };

    // Act
    const orders = [
      [a, b, c],
      [c, b, a],
      [b, c, a, a],
      [reshipped, b, a, c],
      [b, reshipped, c, a, b],
    ].map((order) => auditEventToObservation(order, catalogue));

    // Assess
    for (const result of orders) expect(result).toEqual(orders[0]);
    expect(orders[0]).toMatchObject({ source: { eventId: 'run1-0' } });
  });
});

describe('isNetworkSyscall', () => {
  it('reads the ENRICHED syscall name when the raw record has no syscall field', () => {
    // Prepare
    const connect = record(`type=SYSCALL msg=audit(${ID}): arch=c000003e uid=0${GS}SYSCALL=connect`);
    const bind = record(`type=SYSCALL msg=audit(${ID}): arch=c000003e uid=0${GS}SYSCALL=bind`);
    const nothing = record(`type=SYSCALL msg=audit(${ID}): uid=0`);

    // Act
    const results = [connect, bind, nothing].map(isNetworkSyscall);

    // Assess
    expect(results).toEqual([true, false, true]);
  });
});
