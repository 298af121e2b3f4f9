import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEndpointCatalogue } from '../../../src/endpoints/endpoint-catalogue.js';
import {
  createNeedleScanner,
  HIT_AUDIT_HEADER,
  HIT_ESCAPE,
  HIT_NEEDLE,
  needlesAreScannable,
  type HitKind,
  type NeedleScanner,
} from '../../../src/telemetry/needle-scanner.js';
import { createPrefilter } from '../../../src/telemetry/prefilter.js';

const catalogue = createEndpointCatalogue();
const prefilter = createPrefilter(catalogue);
const scanner = createNeedleScanner(catalogue.needles) as NeedleScanner;

/** Line numbers (0-based) holding a hit of `kind`, every hit reported (resume at at + 1). */
function linesWith(text: string, kind: HitKind, using: NeedleScanner = scanner): Set<number> {
  const bytes = Buffer.from(text, 'utf8');
  const newlines: number[] = [];
  for (let at = bytes.indexOf(10); at >= 0; at = bytes.indexOf(10, at + 1)) newlines.push(at);
  const lines = new Set<number>();
  using.scan(bytes, 0, bytes.length, (k, at) => {
    if (k === kind) lines.add(newlines.filter((n) => n < at).length);
    return at + 1;
  });
  return lines;
}

/**
 * The lines the exact prefilter matches, as raw text or with JSON's `\/` read as `/` (the scanner
 * also looks for needles written with escaped slashes; the caller parses such lines and re-checks).
 */
const exactLines = (text: string): Set<number> =>
  new Set(text.split('\n').flatMap((line, i) => (prefilter(line) || prefilter(line.replaceAll('\\/', '/')) ? [i] : [])));

/** A needle in random letter case. */
const needleInAnyCase = fc
  .tuple(fc.constantFrom(...catalogue.needles), fc.infiniteStream(fc.boolean()))
  .map(([n, upper]) => [...n].map((c) => (upper.next().value ? c.toUpperCase() : c)).join(''));

/** Pieces that make near misses likely: needle prefixes and suffixes, digits, hex, separators, escapes. */
const piece = fc.oneof(
  needleInAnyCase,
  fc.constantFrom(...catalogue.needles).chain((n) => fc.integer({ min: 1, max: n.length - 1 }).map((k) => n.slice(0, k))),
  fc.constantFrom(...catalogue.needles).chain((n) => fc.integer({ min: 1, max: n.length - 1 }).map((k) => n.slice(k))),
  fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF.:/-x \n\\u"{}é'), maxLength: 12 }),
  fc.constantFrom('\n', '\\u0031', '\\u001d', '\\/', 'msg=audit(', 'ſ', 'K', '\u0130'),
);
const adversarialText = fc.array(piece, { maxLength: 40 }).map((parts) => parts.join(''));

describe('the needle scanner', () => {
  it('finds a needle in exactly the lines the exact prefilter matches (random and adversarial text)', () => {
    fc.assert(
      fc.property(adversarialText, (text) => {
        expect(linesWith(text, HIT_NEEDLE)).toEqual(exactLines(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('finds the same lines in ranges long enough to be scanned in four parts at once', () => {
    fc.assert(
      fc.property(fc.array(adversarialText, { minLength: 200, maxLength: 400 }), (texts) => {
        const text = texts.join('\n');
        expect(linesWith(text, HIT_NEEDLE)).toEqual(exactLines(text));
      }),
      { numRuns: 40 },
    );
  });

  it('finds the same needles in text of unrelated characters', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        expect(linesWith(text, HIT_NEEDLE)).toEqual(exactLines(text));
      }),
      { numRuns: 500 },
    );
  });

  it('finds needles at the very start and end of the range, in any letter case', () => {
    for (const needle of catalogue.needles) {
      expect(linesWith(needle, HIT_NEEDLE)).toEqual(new Set([0]));
      expect(linesWith(`x\n${needle.toUpperCase()}`, HIT_NEEDLE)).toEqual(new Set([1]));
    }
  });

  it('scans only the range it is given: a needle cut by its end is not there', () => {
    const bytes = Buffer.from('xx 169.254.169.254 yy');
    const hits: number[] = [];
    scanner.scan(bytes, 0, 10, (_kind, at) => {
      hits.push(at);
      return at + 1;
    });
    scanner.scan(bytes, 4, bytes.length, (_kind, at) => {
      hits.push(at);
      return at + 1;
    });
    expect(hits).toEqual([]);
  });

  it('reports JSON escapes that could hide a needle character, and only those', () => {
    // \u0031 is "1" and \/ is "/": both can hide a needle; \u001d (the ENRICHED separator) and \u00e9 cannot.
    expect(linesWith('{"m":"\\u0031\\u0036\\u0039.254.169.254"}', HIT_ESCAPE)).toEqual(new Set([0]));
    expect(linesWith('{"m":"x\\u002Fy"}', HIT_ESCAPE)).toEqual(new Set([0]));
    expect(linesWith('{"m":"a\\u001db \\u00e9 \\u0022q\\u0022"}', HIT_ESCAPE)).toEqual(new Set());
    // `\/` hides a slash of //metadata/: the escaped forms are needles of their own.
    expect(linesWith('{"m":"curl http:\\/\\/metadata\\/computeMetadata"}', HIT_NEEDLE)).toEqual(new Set([0]));
  });

  it('reports every auditd header', () => {
    const text = 'type=SYSCALL msg=audit(1.2:3): uid=0\nnothing here\nnode=a type=PROCTITLE msg=audit(1.2:3): proctitle=6375726C';
    expect(linesWith(text, HIT_AUDIT_HEADER)).toEqual(new Set([0, 2]));
  });

  it('never misses a needle that a JSON encoder escaped (the line is reported one way or the other)', () => {
    // Encode messages as a producer might: some characters as \u00XX, slashes as \/.
    const encoded = fc
      .tuple(adversarialText, fc.infiniteStream(fc.integer({ min: 0, max: 9 })))
      .map(([message, dice]) => {
        const json = JSON.stringify(message.replaceAll('\n', ' '));
        let out = '';
        for (let i = 0; i < json.length; i++) {
          const c = json[i] as string;
          if (c === '\\') {
            // An escape JSON.stringify wrote: copy it whole (\uXXXX is six characters).
            const length = json[i + 1] === 'u' ? 6 : 2;
            out += json.slice(i, i + length);
            i += length - 1;
            continue;
          }
          const roll = dice.next().value as number;
          if (c === '/' && roll < 5) out += '\\/';
          else if (c >= ' ' && c <= '~' && c !== '"' && roll === 0) out += `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
          else out += c;
        }
        return { message: message.replaceAll('\n', ' '), line: `{"timestamp":1,"message":${out}}` };
      });
    fc.assert(
      fc.property(encoded, ({ message, line }) => {
        expect(JSON.parse(line)).toEqual({ timestamp: 1, message });
        if (!prefilter(message)) return;
        const reported = linesWith(line, HIT_NEEDLE).size + linesWith(line, HIT_ESCAPE).size;
        expect(reported).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses needles that raw bytes cannot show', () => {
    expect(needlesAreScannable(['169.254.169.254'])).toBe(true);
    expect(needlesAreScannable(['métadata.example'])).toBe(false);
    expect(needlesAreScannable(['say "hi"'])).toBe(false);
    expect(needlesAreScannable(['ab'])).toBe(false);
    expect(needlesAreScannable([])).toBe(false);
    expect(createNeedleScanner(['back\\slash'])).toBeUndefined();
  });

  it('works for other catalogues, including short and custom needles', () => {
    const custom = createEndpointCatalogue({ extra: ['10.0.0.1', 'imds.corp.example'], exclude: ['metadata.google.internal'] });
    const customScanner = createNeedleScanner(custom.needles) as NeedleScanner;
    const customPrefilter = createPrefilter(custom);
    const short = createNeedleScanner(['abc', 'xyz.q']) as NeedleScanner;
    const shortPrefilter = createPrefilter({ needles: ['abc', 'xyz.q'] });
    fc.assert(
      fc.property(adversarialText, fc.string({ unit: fc.constantFrom(...'abcxyzq.ABC \n'), maxLength: 40 }), (text, other) => {
        const lines = (t: string, p: (m: string) => boolean): Set<number> =>
          new Set(t.split('\n').flatMap((l, i) => (p(l) || p(l.replaceAll('\\/', '/')) ? [i] : [])));
        const withCustom = `${text}\n10.0.0.1 IMDS.corp.example`;
        expect(linesWith(withCustom, HIT_NEEDLE, customScanner)).toEqual(lines(withCustom, customPrefilter));
        expect(linesWith(other, HIT_NEEDLE, short)).toEqual(lines(other, shortPrefilter));
      }),
      { numRuns: 500 },
    );
  });
});
