// The short fuzz pass CI runs: every target of fuzz-targets.ts, its fixed worst cases (1 MB lines,
// JSON nested 10,000 deep, regex-hostile strings) and a few hundred random cases each. Targets with
// a property (the streaming reader against its reference) check it on every case.
// `npm run fuzz` runs the long pass (100,000 cases) and writes RELIABILITY.md.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyStats, fuzzTargets, MB, runCase, seeds, type AnyFuzzTarget } from './fuzz-targets.js';

/** Random cases per target: about 3,000 in all. */
const CASES = 200;
/**
 * A runaway guard, not a speed check (speed is measured by `npm run fuzz`, not asserted here): 5 s
 * for an input of up to 1 MB. Linear code answers these in about 100 ms even on a loaded machine;
 * catastrophic backtracking or a quadratic scan of 1 MB takes minutes. A call over it is timed again,
 * and the fastest of three counts (runCase).
 */
const LIMIT_MS = 5_000;
const limitFor = (size: number): number => LIMIT_MS * Math.max(1, size / MB);

const targets = fuzzTargets();
seeds();

async function hostileRun(target: AnyFuzzTarget): Promise<{ worstMs: number; calls: number }> {
  const stats = emptyStats();
  for (const { input } of target.hostile()) await runCase(target, input, stats, limitFor(target.size(input)));
  return { worstMs: stats.worstMs, calls: stats.calls };
}

describe('hostile input', () => {
  it('covers every parser, the envelope readers, the needle scanner, the config loaders and the replay arguments', () => {
    expect(targets.map((t) => t.name)).toEqual([
      'parseAuditRecord',
      'auditIdOf',
      'auditEventToObservation',
      'decodeSockaddr',
      'decodeInterpretedSockaddr',
      'decodeAuditValue',
      'ecsToObservation',
      'readLogEvents',
      'createPrefilter()(message)',
      'catalogue.findUrl',
      'catalogue.matchHost',
      'canonicalAddress',
      'parseDetectorConfig',
      'loadEnvironment',
      'parseReplayArgs',
      'needleScanner.scan',
      'scanLogFile',
    ]);
  });

  for (const target of targets) {
    const allowed = `${target.mayThrow === 'nothing' ? 'never throws' : `throws nothing but ${target.mayThrow}`}${target.property ? ', holds its property' : ''}`;
    it(`${target.name} ${allowed} and answers each of its fixed worst cases within ${LIMIT_MS} ms`, async () => {
      const { calls } = await hostileRun(target);
      expect(calls).toBeGreaterThan(0);
    });

    it(`${target.name} ${allowed} and answers ${CASES} random hostile inputs within ${LIMIT_MS} ms each`, async () => {
      const stats = emptyStats();
      await fc.assert(
        fc.asyncProperty(target.arbitrary(), async (input) => {
          await runCase(target, input, stats, limitFor(target.size(input)));
        }),
        { numRuns: CASES },
      );
      expect(stats.escaped).toBe(0);
      expect(stats.violations).toBe(0);
    });
  }
});
