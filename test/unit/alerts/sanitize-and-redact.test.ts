import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../../../src/alerts/redact.js';
import { singleLine, subjectLine, subjectToken } from '../../../src/alerts/sanitize.js';

describe('sanitizing user-controlled text', () => {
  it('keeps subjects ASCII, on one line and under 100 characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const subject = subjectLine(`[low] Unusual Linux user ${subjectToken(s)} called`);
        expect(subject).toMatch(/^[\x20-\x7e]*$/);
        expect(subject.length).toBeLessThan(100);
      }),
    );
  });

  it('cannot forge a header line in a subject', () => {
    expect(subjectToken('evil\r\nSubject: pwned')).toBe('evil__Subject:_pwned');
  });

  it('turns control characters and line breaks into single spaces', () => {
    expect(singleLine('a\nb\u0000c\u2028d\u202ee')).toBe('a b c d e');
  });
});

describe('redacting secrets in evidence', () => {
  it.each([
    ['X-aws-ec2-metadata-token: AQAEAFk1234==', 'X-aws-ec2-metadata-token: [REDACTED]'],
    ['curl -H "X-aws-ec2-metadata-token: AQAE==" http://169.254.169.254/', 'curl -H "X-aws-ec2-metadata-token: [REDACTED]" http://169.254.169.254/'],
    ['Authorization: Bearer abc.def', 'Authorization: [REDACTED]'],
    ['AWS_SECRET_ACCESS_KEY=abcd123 aws s3 ls', 'AWS_SECRET_ACCESS_KEY=[REDACTED] aws s3 ls'],
    ['key ASIAABCDEFGHIJKLMNOP', 'key [REDACTED]'],
  ])('redacts %s', (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });

  it('keeps the token TTL header and metadata paths, which are not secrets', () => {
    expect(redactSecrets('X-aws-ec2-metadata-token-ttl-seconds: 21600')).toBe('X-aws-ec2-metadata-token-ttl-seconds: 21600');
    const url = 'http://169.254.169.254/latest/meta-data/iam/security-credentials/app-role';
    expect(redactSecrets(url)).toBe(url);
  });
});
