import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalAddress, parseIPv4, parseIPv6 } from '../../../src/endpoints/ip-address.js';

describe('canonicalAddress', () => {
  it.each([
    ['169.254.169.254', '169.254.169.254'],
    ['2852039166', '169.254.169.254'],
    ['0xa9fea9fe', '169.254.169.254'],
    ['0251.0376.0251.0376', '169.254.169.254'],
    ['0xa9.0xfe.0xa9.0xfe', '169.254.169.254'],
    ['169.254.43518', '169.254.169.254'],
    ['::ffff:169.254.169.254', '169.254.169.254'],
    ['::ffff:a9fe:a9fe', '169.254.169.254'],
    ['64:ff9b::a9fe:a9fe', '169.254.169.254'],
    ['[fd00:ec2::254]', 'fd00:ec2::254'],
    ['FD00:0EC2:0000:0000:0000:0000:0000:0254', 'fd00:ec2::254'],
    ['fe80::1%eth0', 'fe80::1'],
    ['2406:da00:ff00::1715:69cc', '2406:da00:ff00::1715:69cc'],
  ])('reads %s as %s', (text, expected) => {
    expect(canonicalAddress(text)).toBe(expected);
  });

  it.each(['256.1.1.1', '1::2::3', '1:2:3:4:5:6:7:8:9', 'abc', '', '08.1.1.1', 'metadata.google.internal'])(
    'rejects %s',
    (text) => {
      expect(canonicalAddress(text)).toBeUndefined();
    },
  );

  it('round-trips every IPv4 address through its decimal form', () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        const bytes = parseIPv4(ip) as Uint8Array;
        const decimal = String(bytes.reduce((n, b) => n * 256 + b, 0));
        expect(canonicalAddress(decimal)).toBe(canonicalAddress(ip));
      }),
    );
  });

  it('agrees with the expanded form for every IPv6 address', () => {
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        const bytes = parseIPv6(ip);
        expect(bytes).toBeDefined();
        const expanded = Array.from({ length: 8 }, (_, i) =>
          (((bytes?.[2 * i] ?? 0) << 8) | (bytes?.[2 * i + 1] ?? 0)).toString(16).padStart(4, '0'),
        ).join(':');
        expect(canonicalAddress(expanded)).toBe(canonicalAddress(ip));
      }),
    );
  });

  it('never throws on arbitrary text', () => {
    fc.assert(fc.property(fc.string(), (s) => void canonicalAddress(s)));
  });
});
