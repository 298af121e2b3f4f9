// tsx bench/simulate.ts --hosts N --days D [--seed S] [--non-metadata-share 0.99] [--attacks K] --out FILE [--labels FILE]
//
// Streams a scale fleet (scaleFleetSpec) to NDJSON of CloudWatch events and writes its ground truth
// (GroundTruthLabel NDJSON, one line per attack or benign rarity); prints events, bytes, seconds, peak RSS.

import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { writeFleetNdjson } from '../src/simulator/sample.js';
import { groundTruth, scaleFleetSpec } from '../src/simulator/scale-fleet.js';

const USAGE = 'usage: tsx bench/simulate.ts --hosts N --days D [--seed S] [--non-metadata-share 0.99] [--attacks K] --out FILE [--labels FILE]';

function fail(message: string): never {
  process.stderr.write(`simulate: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function numberOption(values: Record<string, string | boolean | undefined>, name: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n)) fail(`--${name} must be a number, got ${String(raw)}`);
  return n;
}

async function main(): Promise<void> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        hosts: { type: 'string' },
        days: { type: 'string' },
        seed: { type: 'string' },
        'non-metadata-share': { type: 'string' },
        attacks: { type: 'string' },
        out: { type: 'string' },
        labels: { type: 'string' },
      },
      strict: true,
    }));
  } catch (err) {
    fail((err as Error).message);
  }
  const hosts = numberOption(values, 'hosts');
  const days = numberOption(values, 'days');
  const out = values['out'];
  if (hosts === undefined || days === undefined || typeof out !== 'string') fail('--hosts, --days and --out are required');
  const labels = typeof values['labels'] === 'string' ? values['labels'] : `${out.replace(/\.ndjson$/, '')}.labels.ndjson`;
  const share = numberOption(values, 'non-metadata-share');
  const attacks = numberOption(values, 'attacks');

  let spec;
  try {
    spec = scaleFleetSpec({
      seed: numberOption(values, 'seed') ?? 1552005,
      hosts,
      days,
      ...(share === undefined ? {} : { nonMetadataShare: share }),
      ...(attacks === undefined ? {} : { attacks }),
    });
  } catch (err) {
    fail((err as Error).message);
  }
  const t0 = performance.now();
  const summary = await writeFleetNdjson(spec, out, labels);
  const seconds = (performance.now() - t0) / 1000;
  const truth = groundTruth(spec);
  process.stdout.write(
    JSON.stringify({
      out,
      labels,
      hosts,
      days,
      events: summary.events,
      bytes: summary.bytes,
      seconds: Number(seconds.toFixed(1)),
      eventsPerSecond: Math.round(summary.events / seconds),
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      attacks: truth.filter((l) => l.malicious).length,
      benignRarities: truth.filter((l) => !l.malicious).length,
      replay: { from: summary.from, to: summary.to },
    }) + '\n',
  );
}

await main();
