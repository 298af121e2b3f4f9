// Core throughput over one 45-minute window against the bare cost of reading and JSON-parsing
// the same input, measured in one process, interleaved, median of the repetitions.

import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { ReplayTelemetrySource } from '../src/adapters/replay-telemetry-source.js';
import { defaultDetectorConfig } from '../src/config/detector-config.js';
import { groupByBucketAndUser } from '../src/model/bucket-activity.js';
import { scoreBucket } from '../src/model/rare-user-model.js';
import { createDetector } from '../src/run/run-detection.js';
import { readLogEvents } from '../src/telemetry/envelope/read-log-events.js';
import type { LogEvent } from '../src/telemetry/log-event.js';
import { readWindow } from '../src/telemetry/read-window.js';
import { WINDOW_MS, WINDOW_START, fleetWindow } from './fleet-window.js';

export interface CoreResult {
  events: number;
  hosts: number;
  bytes: number;
  candidates: number;
  observations: number;
  ms: { readAndParseAll: number; parseAllMessages: number; envelope: number; core: number };
  maxRssMb: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** The bare cost: read the file, split lines, JSON.parse every line and every JSON message in it. */
function parseAll(bytes: Buffer): number {
  let parsed = 0;
  for (const line of bytes.toString('utf8').split('\n')) {
    if (line.length === 0) continue;
    const envelope = JSON.parse(line) as { message: string };
    if (envelope.message.startsWith('{')) JSON.parse(envelope.message);
    parsed++;
  }
  return parsed;
}

/** The bare cost once the envelopes are parsed (what the Lambda gets from the SDK): parse every message. */
function parseMessages(events: readonly LogEvent[]): number {
  let parsed = 0;
  for (const e of events) {
    if (!e.message.startsWith('{')) continue;
    JSON.parse(e.message);
    parsed++;
  }
  return parsed;
}

export async function coreThroughput(targetEvents: number, repetitions: number): Promise<CoreResult> {
  const { file, hosts } = await fleetWindow(targetEvents);
  const detector = createDetector(defaultDetectorConfig());
  const window = { start: WINDOW_START, end: WINDOW_START + WINDOW_MS + 60 * 60_000 };
  const times = { readAndParseAll: [] as number[], parseAllMessages: [] as number[], envelope: [] as number[], core: [] as number[] };
  let result: Omit<CoreResult, 'ms' | 'maxRssMb'> | undefined;
  for (let r = 0; r < repetitions; r++) {
    let t = performance.now();
    const raw = await readFile(file);
    parseAll(raw);
    times.readAndParseAll.push(performance.now() - t);

    t = performance.now();
    const bytes = await readFile(file);
    const { events } = readLogEvents(bytes, { file });
    times.envelope.push(performance.now() - t);

    t = performance.now();
    parseMessages(events);
    times.parseAllMessages.push(performance.now() - t);

    const source = new ReplayTelemetrySource(events);
    t = performance.now();
    const reading = await readWindow(source, window, detector.catalogue, detector.prefilter);
    const activities = groupByBucketAndUser(reading.observations, detector.config.bucketMs);
    for (const a of activities) scoreBucket({ bucketStart: a.bucketStart, history: [], observedSince: WINDOW_START - 86_400_000 }, { memoryMs: detector.config.memoryMs });
    times.core.push(performance.now() - t);
    result = { events: events.length, hosts, bytes: bytes.length, candidates: reading.candidates, observations: reading.observations.length };
  }
  if (!result) throw new Error('no repetitions');
  return {
    ...result,
    ms: {
      readAndParseAll: median(times.readAndParseAll),
      parseAllMessages: median(times.parseAllMessages),
      envelope: median(times.envelope),
      core: median(times.core),
    },
    maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}
