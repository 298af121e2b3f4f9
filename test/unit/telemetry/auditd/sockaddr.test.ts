import { describe, expect, it } from 'vitest';
import { decodeInterpretedSockaddr, decodeSockaddr } from '../../../../src/telemetry/auditd/sockaddr.js';

describe('decodeSockaddr', () => {
  it('decodes the GCE agents\' IPv4 metadata sockaddr: family little-endian, port big-endian', () => {
    // Prepare: beats-filebeat-auditd/audit-rhel7-gce-connect-excerpt.log
    const hex = '02000050A9FEA9FE0000000000000000';

    // Act
    const sockaddr = decodeSockaddr(hex);

    // Assess
    expect(sockaddr).toEqual({ family: 'inet', address: '169.254.169.254', port: 80 });
  });

  it('decodes the DNS and NTP sockaddrs to the same address on ports 53 and 123', () => {
    // Prepare
    const dns = '02000035A9FEA9FE0000000000000000';
    const ntp = '0200007BA9FEA9FE0000000000000000';

    // Act
    const decoded = [decodeSockaddr(dns), decodeSockaddr(ntp)];

    // Assess
    expect(decoded).toEqual([
      { family: 'inet', address: '169.254.169.254', port: 53 },
      { family: 'inet', address: '169.254.169.254', port: 123 },
    ]);
  });

  it('reads an IPv6 address at bytes 8..23 and ignores flowinfo and scope id', () => {
    // Prepare: AWS IMDS over IPv6, and a real unreachable IPv6 attempt from curl
    const imds = '0A00005000000000FD000EC200000000000000000000025400000000';
    const curl = '0A000050000000002406DA00FF00000000000000171569CC00000000';

    // Act
    const decoded = [decodeSockaddr(imds), decodeSockaddr(curl)];

    // Assess
    expect(decoded).toEqual([
      { family: 'inet6', address: 'fd00:ec2::254', port: 80 },
      { family: 'inet6', address: '2406:da00:ff00::1715:69cc', port: 80 },
    ]);
  });

  it('decodes unix paths, abstract names, AF_UNSPEC and netlink', () => {
    // Prepare
    const path = '01002F7661722F72756E2F6E7363642F736F636B657400000000';
    const abstract = '0100006162630000';
    const unspec = '00000000000000000000000000000000';
    const netlink = '100000000000000000000000';

    // Act
    const decoded = [path, abstract, unspec, netlink].map(decodeSockaddr);

    // Assess
    expect(decoded).toEqual([
      { family: 'unix', path: '/var/run/nscd/socket' },
      { family: 'unix', path: '@abc' },
      { family: 'unspec' },
      { family: 'netlink' },
    ]);
  });

  it('accepts lower-case hex and keeps what a short sockaddr holds', () => {
    // Prepare
    const lower = '02000050a9fea9fe0000000000000000';
    const short = '02000050';

    // Act
    const decoded = [decodeSockaddr(lower), decodeSockaddr(short)];

    // Assess
    expect(decoded).toEqual([
      { family: 'inet', address: '169.254.169.254', port: 80 },
      { family: 'inet', port: 80 },
    ]);
  });

  it('rejects what is not a sockaddr', () => {
    // Prepare
    const samples = ['', '02', '0200005', 'zz000050', '{ saddr_fam=inet }'];

    // Act
    const decoded = samples.map(decodeSockaddr);

    // Assess
    expect(decoded).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it('labels an unknown family as other', () => {
    // Prepare: AF_PACKET (17)
    const hex = '11000300020000000000000000000000';

    // Act
    const decoded = decodeSockaddr(hex);

    // Assess
    expect(decoded).toEqual({ family: 'other' });
  });
});

describe('decodeInterpretedSockaddr', () => {
  it('reads the ENRICHED SADDR and the ausearch -i forms', () => {
    // Prepare
    const enriched = '{ saddr_fam=inet laddr=169.254.169.254 lport=80 }';
    const ausearch = '{ fam=inet6 laddr=2a02:cf40:: lport=56985 }';
    const local = '{ saddr_fam=local path=/dev/log }';

    // Act
    const decoded = [enriched, ausearch, local].map(decodeInterpretedSockaddr);

    // Assess
    expect(decoded).toEqual([
      { family: 'inet', address: '169.254.169.254', port: 80 },
      { family: 'inet6', address: '2a02:cf40::', port: 56985 },
      { family: 'unix', path: '/dev/log' },
    ]);
  });

  it('rejects text without braces or a family', () => {
    // Prepare
    const samples = ['saddr_fam=inet', '{ laddr=1.2.3.4 }', ''];

    // Act
    const decoded = samples.map(decodeInterpretedSockaddr);

    // Assess
    expect(decoded).toEqual([undefined, undefined, undefined]);
  });
});
