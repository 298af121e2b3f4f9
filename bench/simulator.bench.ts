// Fleet simulator at scale: events per second generated and written, and the memory it takes,
// while streaming N events of a scale fleet to an NDJSON file (deleted afterwards).

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { finished } from 'node:stream/promises';

import { simulateFleet } from '../src/simulator/fleet-simulator.js';
import { inFreshProcess } from './fresh-process.js';
import { toCloudWatchJson } from '../src/simulator/sample.js';
import { scaleFleetSpec } from '../src/simulator/scale-fleet.js';

export interface SimulatorResult {
  events: number;
  hosts: number;
  days: number;
  bytes: number;
  seconds: number;
  eventsPerSecond: number;
  /** Largest RSS sampled while streaming, and the heap in use at that time, MB. */
  peakRssMb: number;
  peakHeapMb: number;
  /** RSS after the first 5% of the events: memory must not grow with the events streamed. */
  earlyRssMb: number;
}

const HOSTS = 50;
const DAYS = 2;
const CHUNK_BYTES = 256 * 1024;

/** Streams the first `events` events of a 50-host, 2-day scale fleet (99% non-metadata) to a temporary file. */
export async function streamScaleFleet(events: number): Promise<SimulatorResult> {
  const spec = scaleFleetSpec({ seed: 1552005, hosts: HOSTS, days: DAYS });
  const file = path.join(os.tmpdir(), `imds-watch-simulator-bench-${process.pid}.ndjson`);
  const out = createWriteStream(file, { encoding: 'utf8' });
  let n = 0;
  let bytes = 0;
  let chunk = '';
  let peakRss = 0;
  let peakHeap = 0;
  let earlyRss = 0;
  const sample = (): void => {
    const m = process.memoryUsage();
    if (m.rss > peakRss) {
      peakRss = m.rss;
      peakHeap = m.heapUsed;
    }
  };
  const t0 = performance.now();
  try {
    for (const { event } of simulateFleet(spec)) {
      chunk += toCloudWatchJson(event) + '\n';
      n++;
      if (chunk.length >= CHUNK_BYTES) {
        bytes += Buffer.byteLength(chunk, 'utf8');
        const ok = out.write(chunk);
        chunk = '';
        if (!ok) await once(out, 'drain');
      }
      if (n % 50_000 === 0) sample();
      if (n === Math.round(events * 0.05)) earlyRss = process.memoryUsage().rss;
      if (n >= events) break;
    }
    bytes += Buffer.byteLength(chunk, 'utf8');
    out.end(chunk);
    await finished(out);
    sample();
  } finally {
    out.destroy();
    await rm(file, { force: true });
  }
  const seconds = (performance.now() - t0) / 1000;
  const mb = (b: number): number => Math.round(b / 1024 / 1024);
  return { events: n, hosts: HOSTS, days: DAYS, bytes, seconds, eventsPerSecond: Math.round(n / seconds), peakRssMb: mb(peakRss), peakHeapMb: mb(peakHeap), earlyRssMb: mb(earlyRss) };
}

export async function simulatorBench(options: { quick: boolean }): Promise<SimulatorResult> {
  // In a process of its own: its peak RSS must not include the benchmarks that ran before it.
  return inFreshProcess<SimulatorResult>(new URL(import.meta.url), 'streamScaleFleet', [options.quick ? 200_000 : 10_000_000]);
}

export function simulatorMarkdown(r: SimulatorResult): string {
  const gb = (r.bytes / 1e9).toFixed(2);
  return [
    '## Fleet simulator at scale',
    '',
    `\`scaleFleetSpec({ hosts: ${r.hosts}, days: ${r.days} })\` (four telemetry formats mixed, 99% non-metadata traffic, attacks and benign`,
    'rarities) streamed through `simulateFleet` and written as CloudWatch NDJSON to a temporary file (deleted afterwards),',
    `stopping after ${r.events.toLocaleString('en-US')} events. A process of its own, one core; RSS sampled every 50,000 events.`,
    '',
    '| events | bytes written | seconds | events/s | RSS after 5% | peak RSS | heap at peak |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    `| ${r.events.toLocaleString('en-US')} | ${gb} GB | ${r.seconds.toFixed(1)} | ${r.eventsPerSecond.toLocaleString('en-US')} | ${r.earlyRssMb} MB | ${r.peakRssMb} MB | ${r.peakHeapMb} MB |`,
    '',
    'The simulator holds one 5-minute slice of the fleet at a time, so memory stays flat however many events are',
    'streamed: the peak RSS is close to the RSS after the first 5% of the events. `npx tsx bench/simulate.ts` writes',
    'such a fleet and its ground-truth label file for replay and detection-quality runs.',
    '',
  ].join('\n');
}
