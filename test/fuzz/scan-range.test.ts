// A bug the fuzz pass found in the needle scanner, kept as a regression test.
//
// scan(bytes, from, to) promises hits wholly inside [from, to). For a range of 4 KB or more it
// splits the range into quarters at line starts found with bytes.indexOf('\n', ...), which searched
// past `to`: when `to` was mid-line, the last quarter ended at the next newline after `to`, and
// occurrences beyond `to` were reported. scanLogFile was not affected (it always scans to the end of
// its buffer); any other caller scanning part of a buffer was.

import { describe, expect, it } from 'vitest';
import { createEndpointCatalogue } from '../../src/endpoints/endpoint-catalogue.js';
import { createNeedleScanner, type NeedleScanner } from '../../src/telemetry/needle-scanner.js';

const scanner = createNeedleScanner(createEndpointCatalogue().needles) as NeedleScanner;

function hits(bytes: Buffer, from: number, to: number): number[] {
  const found: number[] = [];
  scanner.scan(bytes, from, to, (_kind, at) => {
    found.push(at);
    return at + 1;
  });
  return found;
}

describe('needle scanner ranges', () => {
  const bytes = Buffer.from(`${'x'.repeat(5000)}169.254.169.254\n`);

  it('reports nothing for a range that holds no needle, when the buffer is cut at its end', () => {
    expect(hits(bytes.subarray(0, 4096), 0, 4096)).toEqual([]);
  });

  it('reports nothing past `to` when the range ends mid-line (it once reported the needle at 5000)', () => {
    expect(hits(bytes, 0, 4096)).toEqual([]);
  });
});
