import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDetectorConfig } from '../../src/config/detector-config.js';
import { loadReplayInput, replay, type ReplayInput } from '../../src/replay/replay.js';
import type { FleetSpec, HostFormat } from '../../src/simulator/fleet-simulator.js';
import { writeFleetNdjson } from '../../src/simulator/sample.js';

const START = Date.UTC(2026, 10, 2, 0, 0, 0);
const H = 3_600_000;
const FORMATS: HostFormat[] = ['auditd', 'auditd-enriched', 'ecs-defend', 'auditbeat'];
const config = parseDetectorConfig({ learningPeriod: '2h' }, 'test');
let dir: string;
let fleetFile: string;

/** Four hosts, one per format, six hours, an attack after the learning period. */
const spec: FleetSpec = {
  seed: 7,
  start: START,
  days: 6 / 24,
  hosts: FORMATS.map((format, i) => ({
    name: `ip-10-0-0-${i + 1}`,
    instanceId: `i-${(0x0a000000 + i).toString(16).padStart(17, '0')}`,
    format,
    logGroup: format.startsWith('auditd') ? '/fleet/auditd' : '/fleet/ecs',
    auditdNode: format === 'auditd-enriched',
  })),
  attacks: [
    { at: START + 4 * H + 7 * 60_000, host: 'ip-10-0-0-1', user: 'www-data', uid: 33, kind: 'curl-credentials' },
    { at: START + 5 * H + 3 * 60_000, host: 'ip-10-0-0-2', user: 'mallory', uid: 1337, kind: 'curl-credentials' },
  ],
  noisePerHourPerHost: 400,
};

async function replayed(input: ReplayInput) {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const result = await replay({ input, from: START, to: START + 6 * H, config, out });
  const messages = Buffer.concat(chunks).toString('utf8').trim().split('\n').filter(Boolean);
  return { result, messages };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'imds-watch-streaming-'));
  fleetFile = path.join(dir, 'fleet.ndjson');
  await writeFleetNdjson(spec, fleetFile, path.join(dir, 'fleet.labels.ndjson'));
});

describe('replay of input loaded for detection (streamed, candidates and their auditd records only)', () => {
  it('publishes the same alerts, from the same observations, as replay of every event', async () => {
    // Prepare
    const everything = await loadReplayInput([fleetFile]);
    const forDetection = await loadReplayInput([fleetFile], { config });

    // Act
    const full = await replayed(everything);
    const streamed = await replayed(forDetection);

    // Assess
    expect(forDetection.events.length).toBeLessThan(everything.events.length / 5);
    expect(forDetection.filteredFor).toEqual(expect.arrayContaining(['169.254.169.254']));
    expect(streamed.messages).toEqual(full.messages);
    // Both attacks (plain auditd names www-data by its uid).
    expect(streamed.messages.map((m) => JSON.parse(m).user?.name)).toEqual(expect.arrayContaining(['uid:33', 'mallory']));
    expect(streamed.result.totals.observations).toBe(full.result.totals.observations);
    expect(streamed.result.totals.candidates).toBe(full.result.totals.candidates);
    expect(streamed.result.totals.alerts).toEqual(full.result.totals.alerts);
    expect(streamed.result.totals.eventsRead).toBeLessThan(full.result.totals.eventsRead);
  }, 120_000);

  it('refuses a config whose catalogue needs needles the input was not filtered for', async () => {
    const input = await loadReplayInput([fleetFile], { config });
    const wider = parseDetectorConfig({ endpoints: { extra: ['10.9.9.9'] } }, 'test');
    await expect(replay({ input, from: START, to: START + H, config: wider, out: new PassThrough() })).rejects.toThrow(/another endpoint catalogue/);
  });

  it('names a missing or unreadable file, and keeps counting skipped lines', async () => {
    await expect(loadReplayInput([path.join(dir, 'missing.ndjson')], { config })).rejects.toThrow(/cannot read input .*missing\.ndjson: no such file/);
    const junk = path.join(dir, 'junk.ndjson');
    const first = (await readFile(fleetFile, 'utf8')).split('\n')[0] as string;
    await writeFile(junk, `${first}\nnot json at all\n{"truncated":\n`);
    const input = await loadReplayInput([junk], { config });
    expect(input.skipped).toEqual({ 'unknown-format': 1, 'invalid-json': 1 });
    expect(input.files).toEqual([{ file: junk, format: 'cloudwatch-ndjson', events: input.events.length }]);
  });
});
