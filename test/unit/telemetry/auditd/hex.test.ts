import { describe, expect, it } from 'vitest';
import {
  decodeAuditBytes,
  decodeAuditKeys,
  decodeAuditValue,
  hexToBytes,
  isHex,
  isHexEncoded,
  unquote,
} from '../../../../src/telemetry/auditd/hex.js';

describe('decodeAuditValue', () => {
  it('returns a double-quoted value literally, without its quotes', () => {
    // Prepare
    const raw = '"/usr/bin/python2.7"';

    // Act
    const text = decodeAuditValue(raw);

    // Assess
    expect(text).toBe('/usr/bin/python2.7');
  });

  it('decodes upper-case hex as the raw bytes of a value with a space (the replaced-interpreter exe)', () => {
    // Prepare
    const raw = '2F7573722F62696E2F707974686F6E322E373B3538643163636662202864656C6574656429';

    // Act
    const text = decodeAuditValue(raw);

    // Assess
    expect(text).toBe('/usr/bin/python2.7;58d1ccfb (deleted)');
  });

  it('decodes lower-case hex the same way as upper-case hex', () => {
    // Prepare
    const upper = '6563686F205C226172672068657820656E636F6465645C22';

    // Act
    const fromLower = decodeAuditValue(upper.toLowerCase());

    // Assess
    expect(fromLower).toBe('echo \\"arg hex encoded\\"');
    expect(fromLower).toBe(decodeAuditValue(upper));
  });

  it('replaces invalid UTF-8 bytes instead of failing', () => {
    // Prepare
    const raw = '61FF2062';

    // Act
    const text = decodeAuditValue(raw);

    // Assess
    expect(text).toBe('a\uFFFD b');
  });

  it('treats (null), (none) and an empty value as absent', () => {
    // Prepare
    const raws = ['(null)', '(none)', '', undefined];

    // Act
    const texts = raws.map((raw) => decodeAuditValue(raw));

    // Assess
    expect(texts).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('keeps a bare non-hex word literally, as in the legacy `a0=top` form', () => {
    // Prepare
    const raws = ['top', '/usr/bin/top', 'abc'];

    // Act
    const texts = raws.map((raw) => decodeAuditValue(raw));

    // Assess
    expect(texts).toEqual(['top', '/usr/bin/top', 'abc']);
  });

  it('keeps bare hex whose bytes auditd would have quoted as a literal word, unless hex is forced', () => {
    // Prepare: "abc" is printable without space or quote: auditd writes it `"abc"`, never `616263`.
    const raw = '616263';

    // Act
    const literal = decodeAuditValue(raw);
    const forced = decodeAuditValue(raw, { forceHex: true });

    // Assess
    expect(literal).toBe('616263');
    expect(forced).toBe('abc');
    expect(isHexEncoded(raw)).toBe(false);
    expect(isHexEncoded('756E616D65002D61')).toBe(true);
  });

  it('keeps an odd-length hex word literally', () => {
    // Prepare
    const raw = '2F7';

    // Act
    const text = decodeAuditValue(raw);

    // Assess
    expect(text).toBe('2F7');
  });
});

describe('decodeAuditBytes', () => {
  it('returns the NUL bytes of a hex PROCTITLE', () => {
    // Prepare
    const raw = '756E616D65002D61';

    // Act
    const bytes = decodeAuditBytes(raw);

    // Assess
    expect(Array.from(bytes ?? [])).toEqual([0x75, 0x6e, 0x61, 0x6d, 0x65, 0x00, 0x2d, 0x61]);
  });
});

describe('decodeAuditKeys', () => {
  it('splits a multi-key rule key joined by 0x01', () => {
    // Prepare: from go-libaudit ubuntu-17.04 yaml
    const raw = '65786563013634626974';

    // Act
    const keys = decodeAuditKeys(raw);

    // Assess
    expect(keys).toEqual(['exec', '64bit']);
  });

  it('reads a quoted single key and no key at all', () => {
    // Prepare
    const quoted = '"user_commands"';

    // Act
    const one = decodeAuditKeys(quoted);
    const none = decodeAuditKeys('(null)');

    // Assess
    expect(one).toEqual(['user_commands']);
    expect(none).toEqual([]);
  });
});

describe('hex helpers', () => {
  it('recognise only non-empty even-length hex', () => {
    // Prepare
    const samples = ['', 'A', 'AB', 'ab01', 'xy', '0A0'];

    // Act
    const results = samples.map((s) => [isHex(s), hexToBytes(s) !== undefined]);

    // Assess
    expect(results).toEqual([
      [false, false],
      [false, false],
      [true, true],
      [true, true],
      [false, false],
      [false, false],
    ]);
  });

  it('unquote removes exactly one pair of double quotes', () => {
    // Prepare
    const samples = ['"www-data"', '"', 'root', '""x""'];

    // Act
    const results = samples.map(unquote);

    // Assess
    expect(results).toEqual(['www-data', '"', 'root', '"x"']);
  });
});
