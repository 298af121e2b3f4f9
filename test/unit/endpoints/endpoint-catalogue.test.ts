import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEndpointCatalogue } from '../../../src/endpoints/endpoint-catalogue.js';
import { createPrefilter } from '../../../src/telemetry/prefilter.js';

const catalogue = createEndpointCatalogue();
const prefilter = createPrefilter(catalogue);

describe('endpoint catalogue', () => {
  it.each([
    ['169.254.169.254', 'cloud-imds'],
    ['fd00:ec2::254', 'aws-imds-ipv6'],
    ['::ffff:169.254.169.254', 'cloud-imds'],
    ['100.100.100.200', 'alibaba'],
    ['169.254.170.2', 'aws-ecs-credentials'],
    ['169.254.170.23', 'aws-eks-pod-identity'],
    ['fd00:ec2::23', 'aws-eks-pod-identity'],
  ])('matches the address %s on port 80 and with no port', (address, provider) => {
    expect(catalogue.matchAddress(address, 80)?.provider).toBe(provider);
    expect(catalogue.matchAddress(address)?.provider).toBe(provider);
  });

  it('does not match GCE DNS (53) or NTP (123) on the metadata address', () => {
    expect(catalogue.matchAddress('169.254.169.254', 53)).toBeUndefined();
    expect(catalogue.matchAddress('169.254.169.254', 123)).toBeUndefined();
  });

  it('never matches the Amazon Time Sync and DNS look-alikes, even when configured', () => {
    const custom = createEndpointCatalogue({ extra: ['169.254.169.123', '169.254.169.253'] });
    for (const c of [catalogue, custom]) {
      expect(c.matchAddress('169.254.169.123', 80)).toBeUndefined();
      expect(c.matchAddress('169.254.169.253')).toBeUndefined();
    }
  });

  it('matches metadata hostnames in any case and with a trailing dot', () => {
    expect(catalogue.matchHost('METADATA.google.internal.')?.provider).toBe('gcp');
    expect(catalogue.matchHost('metadata.goog')?.provider).toBe('gcp');
    expect(catalogue.matchHost('instance-data.ec2.internal')?.provider).toBe('aws');
    expect(catalogue.matchHost('[fd00:ec2::254]', 80)?.endpoint).toBe('fd00:ec2::254');
    expect(catalogue.matchHost('example.com')).toBeUndefined();
  });

  it.each([
    ['curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/', '169.254.169.254'],
    ['wget -qO- http://[fd00:ec2::254]/latest/meta-data/', 'fd00:ec2::254'],
    ['curl -H Metadata-Flavor:Google http://metadata/computeMetadata/v1/', 'metadata'],
    ['curl http://2852039166/latest/meta-data/', '169.254.169.254'],
    ['curl http://0xa9fea9fe/latest/', '169.254.169.254'],
    ['curl http://[::ffff:a9fe:a9fe]/latest/', '169.254.169.254'],
    ["python3 -c \"import urllib.request;urllib.request.urlopen('http://169.254.170.2/v2/credentials/x')\"", '169.254.170.2'],
    ['curl 169.254.169.254:80/latest', '169.254.169.254'],
  ])('finds the metadata URL in %s', (commandLine, endpoint) => {
    expect(catalogue.findUrl(commandLine)?.endpoint).toBe(endpoint);
    expect(prefilter(commandLine)).toBe(true);
  });

  it.each(['curl http://169.254.169.254:8080/', 'ntpdate 169.254.169.123', 'curl -H "X-aws-ec2-metadata-token: x" https://example.com/', 'ls -la /etc'])(
    'finds no metadata URL in %s',
    (commandLine) => {
      expect(catalogue.findUrl(commandLine)).toBeUndefined();
    },
  );

  it('adds configured endpoints and removes excluded ones', () => {
    // Prepare
    const custom = createEndpointCatalogue({ extra: ['10.0.0.99', 'md.internal'], exclude: ['100.100.100.200'] });
    // Act, Assess
    expect(custom.matchAddress('10.0.0.99')?.provider).toBe('custom');
    expect(custom.matchHost('md.internal')?.provider).toBe('custom');
    expect(custom.matchAddress('100.100.100.200')).toBeUndefined();
    expect(createPrefilter(custom)('type=SOCKADDR msg=audit(1.000:1): saddr=020000500A000063')).toBe(true);
  });
});

describe('prefilter', () => {
  it.each([
    'type=SOCKADDR msg=audit(1481078424.953:688): saddr=02000050A9FEA9FE0000000000000000',
    'type=SOCKADDR msg=audit(1.000:1): saddr=0A00005000000000FD000EC200000000000000000000025400000000',
    'type=PROCTITLE msg=audit(1.000:1): proctitle=6375726C00687474703A2F2F3136392E3235342E3136392E3235342F',
    '{"destination":{"ip":"169.254.169.254","port":80}}',
    '{"dns":{"question":{"name":"metadata.google.internal"}}}',
  ])('keeps %s', (line) => {
    expect(prefilter(line)).toBe(true);
  });

  it.each([
    'type=SYSCALL msg=audit(1481078424.953:688): arch=c000003e syscall=42 success=no exit=-115',
    'type=SOCKADDR msg=audit(1.000:1): saddr=020000503418E8030000000000000000',
    '{"destination":{"ip":"52.24.232.3","port":443}}',
  ])('drops %s', (line) => {
    expect(prefilter(line)).toBe(false);
  });

  it('keeps every message in which findUrl finds a metadata URL', () => {
    const hosts = fc.constantFrom('169.254.169.254', '[fd00:ec2::254]', 'metadata.google.internal', '100.100.100.200', '2852039166');
    fc.assert(
      fc.property(fc.string(), hosts, fc.webPath(), (prefix, host, path) => {
        const line = `${prefix} http://${host}${path}`;
        if (catalogue.findUrl(line)) expect(prefilter(line)).toBe(true);
      }),
    );
  });
});
