// defaultSampleSpec --> simulateFleet --> NDJSON file of CloudWatch events (+ labels, + manifest)
//
// The README sample: written once per spec version, streamed to disk with backpressure, published
// by rename so that a crash never leaves a half file that looks complete. This module is bundled
// into dist/cli.js, so it never resolves paths from its own location: the caller passes a
// directory, else the OS temp directory is used.

import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';

import type { LogEvent } from '../telemetry/log-event.js';
import { SIMULATOR_VERSION, attackLabel, defaultSampleSpec, simulateFleet, type FleetSpec } from './fleet-simulator.js';
import { groundTruth, isScaleSpec } from './scale-fleet.js';

export interface SampleTelemetry {
  /** NDJSON of CloudWatch events, one `{timestamp, ingestionTime, logGroupName, logStreamName, eventId, message}` a line. */
  path: string;
  /** ISO start of the replay: the start of the sample, floored to 15 minutes. */
  from: string;
  /** ISO end of the replay: the last event's timestamp or ingestion time, rounded up to 15 minutes. */
  to: string;
  /** NDJSON of the attack labels: one line per labelled event. */
  labels: string;
}

export interface WriteSummary {
  events: number;
  bytes: number;
  labelledEvents: number;
  from: string;
  to: string;
}

const QUARTER_HOUR = 15 * 60 * 1000;
const CHUNK_BYTES = 256 * 1024;

export const SAMPLE_FILE = 'imds-watch-sample.ndjson';
export const SAMPLE_LABELS_FILE = 'imds-watch-sample.labels.ndjson';
export const SAMPLE_MANIFEST_FILE = 'imds-watch-sample.manifest.json';

/** The default directory of the sample (the caller may pass another). */
export function defaultSampleDir(): string {
  return path.join(os.tmpdir(), 'imds-watch-sample-v1');
}

/** A spec version: changes when the spec or the generator changes. */
export function specVersion(spec: FleetSpec): string {
  const digest = createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
  return `sim${SIMULATOR_VERSION}-${digest}`;
}

/** One CloudWatch event as `FilterLogEvents` names its fields, as one JSON line (no newline). */
export function toCloudWatchJson(event: LogEvent): string {
  return JSON.stringify({
    timestamp: event.timestamp,
    ingestionTime: event.ingestionTime,
    logGroupName: event.logGroup,
    logStreamName: event.logStream,
    eventId: event.eventId,
    message: event.message,
  });
}

interface Manifest {
  version: string;
  events: number;
  bytes: number;
  labelledEvents: number;
  from: string;
  to: string;
}

async function readManifest(dir: string): Promise<Manifest | undefined> {
  try {
    const m = JSON.parse(await readFile(path.join(dir, SAMPLE_MANIFEST_FILE), 'utf8')) as Partial<Manifest>;
    if (typeof m.version !== 'string' || typeof m.bytes !== 'number' || typeof m.from !== 'string' || typeof m.to !== 'string') return undefined;
    return m as Manifest;
  } catch {
    return undefined;
  }
}

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size;
  } catch {
    return undefined;
  }
}

/**
 * Streams a fleet as NDJSON to `file` (through a temporary file renamed at the end) and its labels to
 * `labelsFile`: one line per attack event for the sample, the ground truth (GroundTruthLabel NDJSON)
 * for a spec from scaleFleetSpec. Writes in chunks and waits for the stream to drain.
 */
export async function writeFleetNdjson(spec: FleetSpec, file: string, labelsFile: string): Promise<WriteSummary> {
  const tmp = `${file}.${process.pid}.tmp`;
  const labelsTmp = `${labelsFile}.${process.pid}.tmp`;
  const out = createWriteStream(tmp, { encoding: 'utf8' });
  const attacks = new Map(spec.attacks.map((a) => [attackLabel(a), a]));
  const labelLines: string[] = [];
  const scale = isScaleSpec(spec);
  let labelledEvents = 0;
  let events = 0;
  let bytes = 0;
  let last = spec.start;
  let chunk = '';
  try {
    const flush = async (): Promise<void> => {
      if (chunk === '') return;
      bytes += Buffer.byteLength(chunk, 'utf8');
      const ok = out.write(chunk);
      chunk = '';
      if (!ok) await once(out, 'drain');
    };
    for (const { event, label } of simulateFleet(spec)) {
      chunk += toCloudWatchJson(event) + '\n';
      events++;
      last = Math.max(last, event.timestamp, event.ingestionTime);
      if (label) labelledEvents++;
      if (label && !scale) {
        const attack = attacks.get(label.attack);
        labelLines.push(
          JSON.stringify({
            attack: label.attack,
            kind: attack?.kind,
            host: attack?.host,
            user: attack?.user,
            uid: attack?.uid,
            eventId: event.eventId,
            timestamp: event.timestamp,
            ingestionTime: event.ingestionTime,
            time: new Date(event.timestamp).toISOString(),
            logGroupName: event.logGroup,
            logStreamName: event.logStream,
          }),
        );
      }
      if (chunk.length >= CHUNK_BYTES) await flush();
    }
    await flush();
    out.end();
    await finished(out);
    // A scale fleet's label file is its ground truth: one line per attack or benign rarity.
    const fileLines = scale ? groundTruth(spec).map((l) => JSON.stringify(l)) : labelLines;
    await writeFile(labelsTmp, fileLines.length ? fileLines.join('\n') + '\n' : '');
    await rename(labelsTmp, labelsFile);
    await rename(tmp, file);
  } catch (err) {
    out.destroy();
    await rm(tmp, { force: true });
    await rm(labelsTmp, { force: true });
    throw err;
  }
  return {
    events,
    bytes,
    labelledEvents,
    from: new Date(Math.floor(spec.start / QUARTER_HOUR) * QUARTER_HOUR).toISOString(),
    to: new Date(Math.ceil(last / QUARTER_HOUR) * QUARTER_HOUR).toISOString(),
  };
}

/**
 * Makes sure the README sample exists in `dir` (default: `<os tmpdir>/imds-watch-sample-v1`) and
 * returns where it is and which window to replay. Reuses a complete file of the same spec version.
 */
export async function ensureSampleTelemetry(dir: string = defaultSampleDir()): Promise<SampleTelemetry> {
  const spec = defaultSampleSpec();
  const version = specVersion(spec);
  const file = path.join(dir, SAMPLE_FILE);
  const labels = path.join(dir, SAMPLE_LABELS_FILE);
  const manifestFile = path.join(dir, SAMPLE_MANIFEST_FILE);

  const existing = await readManifest(dir);
  if (existing && existing.version === version && (await sizeOf(file)) === existing.bytes && (await sizeOf(labels)) !== undefined) {
    return { path: file, from: existing.from, to: existing.to, labels };
  }

  await mkdir(dir, { recursive: true });
  await rm(manifestFile, { force: true });
  const summary = await writeFleetNdjson(spec, file, labels);
  const manifest: Manifest = { version, ...summary };
  const manifestTmp = `${manifestFile}.${process.pid}.tmp`;
  await writeFile(manifestTmp, JSON.stringify(manifest, null, 2) + '\n');
  await rename(manifestTmp, manifestFile);
  return { path: file, from: summary.from, to: summary.to, labels };
}
