// bench --> (a fleet's 45-minute window, generated once and cached) --> NDJSON of CloudWatch events

import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FleetSpec, HostFormat } from '../src/simulator/fleet-simulator.js';
import { writeFleetNdjson } from '../src/simulator/sample.js';

/**
 * Ordinary non-metadata activities per host and hour: with about 19 metadata calls an hour per host
 * (SSM agent, CloudWatch agent, SDK refresh, CLI), 1,900 makes metadata traffic about 1% of activity.
 */
export const NOISE_PER_HOUR = 1900;
/** Events one host produces in 45 minutes at that rate (measured). */
const EVENTS_PER_HOST_WINDOW = 4400;
const FORMATS: HostFormat[] = ['auditd', 'auditd-enriched', 'ecs-defend', 'auditbeat'];

export const WINDOW_START = Date.UTC(2026, 10, 2, 12, 0, 0);
export const WINDOW_MS = 45 * 60_000;

export function fleetSpec(hosts: number, start = WINDOW_START, days = WINDOW_MS / 86_400_000): FleetSpec {
  return {
    seed: 42,
    start,
    days,
    hosts: Array.from({ length: hosts }, (_, i) => {
      const format = FORMATS[i % FORMATS.length] as HostFormat;
      return {
        name: `ip-10-${(i >> 16) & 255}-${(i >> 8) & 255}-${i & 255}`,
        instanceId: `i-${(0x0a000000 + i).toString(16).padStart(17, '0')}`,
        format,
        logGroup: format.startsWith('auditd') ? '/bench/auditd' : '/bench/ecs',
        auditdNode: format === 'auditd-enriched',
      };
    }),
    attacks: [{ at: start + 20 * 60_000, host: `ip-10-0-0-${hosts > 5 ? 5 : 0}`, user: 'www-data', uid: 33, kind: 'curl-credentials' }],
    noisePerHourPerHost: NOISE_PER_HOUR,
  };
}

/** A window of about `events` events (the fleet size follows), written once under the OS temp dir. */
export async function fleetWindow(events: number): Promise<{ file: string; hosts: number }> {
  const hosts = Math.max(4, Math.round(events / EVENTS_PER_HOST_WINDOW));
  const file = path.join(os.tmpdir(), `imds-watch-bench-v2-${hosts}h.ndjson`);
  const exists = await stat(file).then(
    (s) => s.size > 0,
    () => false,
  );
  if (!exists) await writeFleetNdjson(fleetSpec(hosts), file, `${file}.labels`);
  return { file, hosts };
}
