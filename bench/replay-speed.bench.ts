// Replay speed: simulated hours per second of the README sample, end to end (embedded DynamoDB included).

import { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { defaultDetectorConfig } from '../src/config/detector-config.js';
import { loadReplayInput, replay } from '../src/replay/replay.js';
import { ensureSampleTelemetry } from '../src/simulator/sample.js';

export interface ReplayResult {
  runs: number;
  events: number;
  simulatedHours: number;
  seconds: number;
  loadSeconds: number;
  storeRequests: number;
  alerts: number;
}

export async function replaySpeed(): Promise<ReplayResult> {
  const sample = await ensureSampleTelemetry();
  let t = performance.now();
  const input = await loadReplayInput([sample.path]);
  const loadSeconds = (performance.now() - t) / 1000;
  const from = Date.parse(sample.from);
  const to = Date.parse(sample.to);
  const discard = new Writable({ write: (_c, _e, done) => done() });
  t = performance.now();
  const result = await replay({ input, from, to, config: defaultDetectorConfig(), out: discard });
  const seconds = (performance.now() - t) / 1000;
  return {
    runs: result.runs,
    events: input.events.length,
    simulatedHours: (to - from) / 3_600_000,
    seconds,
    loadSeconds,
    storeRequests: result.totals.storeRequests,
    alerts: result.totals.alerts.length,
  };
}
