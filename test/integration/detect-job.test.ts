import { afterEach, describe, expect, it } from 'vitest';
import { parseDetectorConfig, type DetectorConfigInput } from '../../src/config/detector-config.js';
import { DynamoDbBaselineStore } from '../../src/adapters/dynamodb-baseline-store.js';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../src/adapters/embedded-dynalite.js';
import { ReplayTelemetrySource } from '../../src/adapters/replay-telemetry-source.js';
import { createDetectJob, type InvocationTelemetry } from '../../src/lambda/detect-job.js';
import { createDetector } from '../../src/run/run-detection.js';
import { planRuns } from '../../src/run/run-scheduled.js';
import type { LogEvent } from '../../src/telemetry/log-event.js';
import { RecordingAlertSink } from '../support/recording-alert-sink.js';
import { BUCKET, ecsCall, MINUTE, regular } from '../support/run-harness.js';

const T0 = Date.parse('2026-11-02T00:00:00Z');
const H = 3_600_000;

interface Setup {
  job: ReturnType<typeof createDetectJob>;
  store: DynamoDbBaselineStore;
  sink: RecordingAlertSink;
  warnings: { message: string; extra: Record<string, unknown> }[];
  metrics: Map<string, number[]>;
  clock: { now: number };
}

let dynamo: EmbeddedDynamo | undefined;
afterEach(async () => {
  await dynamo?.close();
  dynamo = undefined;
});

async function setup(events: LogEvent[], config: DetectorConfigInput = { learningPeriod: '1h' }, options: { maxCatchUpRuns?: number; telemetry?: InvocationTelemetry } = {}): Promise<Setup> {
  const parsed = parseDetectorConfig(config);
  dynamo = await startEmbeddedDynamo({ tableName: 'imds-watch-job' });
  const store = new DynamoDbBaselineStore({ client: dynamo.client, tableName: 'imds-watch-job', memoryMs: parsed.memoryMs, bucketMs: parsed.bucketMs });
  const sink = new RecordingAlertSink();
  const warnings: Setup['warnings'] = [];
  const metrics = new Map<string, number[]>();
  const clock = { now: T0 };
  const source = options.telemetry ?? new ReplayTelemetrySource(events);
  const job = createDetectJob({
    detector: createDetector(parsed),
    store,
    alerts: sink,
    telemetryFor: () => source,
    logger: { info: () => undefined, warn: (message, extra) => warnings.push({ message, extra }) },
    metrics: { addMetric: (name, _unit, value) => metrics.set(name, [...(metrics.get(name) ?? []), value]) },
    now: () => clock.now,
    maxCatchUpRuns: options.maxCatchUpRuns ?? 12,
  });
  return { job, store, sink, warnings, metrics, clock };
}

const context = (remainingMs = 600_000) => ({ awsRequestId: `req-${Math.random()}`, getRemainingTimeInMillis: () => remainingMs });
const scheduled = (t: number) => ({ time: new Date(t).toISOString() });

describe('detect job', () => {
  it('takes the run time from the scheduled event, floored to 15 minutes', async () => {
    const s = await setup([]);
    const result = await s.job(scheduled(T0 + 2 * H + 7 * MINUTE + 13_000), context());
    expect(result.runTime).toBe(new Date(T0 + 2 * H).toISOString());
  });

  it('publishes an alert exactly once across three overlapping scheduled runs', async () => {
    // Prepare
    const events = [...regular('root', 'h1', T0, T0 + 3 * H, 5 * MINUTE), ecsCall({ time: T0 + 2 * H + MINUTE, user: 'www-data', host: 'h1', ip: '169.254.169.254' })];
    const s = await setup(events);
    // Act: every scheduled invocation from T0 on (the first runs learn).
    for (let t = T0 + BUCKET; t <= T0 + 3 * H; t += BUCKET) await s.job(scheduled(t + 20_000), context());
    // Assess
    expect(s.sink.alerts().map((a) => a.user)).toEqual(['www-data']);
    expect(s.metrics.get('AlertsPublished')?.reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('catches up missed runs oldest first and advances the checkpoint', async () => {
    // Prepare: a completed run at T0+1h, then nothing until T0+2h30.
    const attack = ecsCall({ time: T0 + 80 * MINUTE, user: 'www-data', host: 'h1', ip: '169.254.169.254' });
    const events = [...regular('root', 'h1', T0, T0 + 3 * H, 5 * MINUTE), attack];
    const s = await setup(events);
    for (let t = T0 + BUCKET; t <= T0 + H; t += BUCKET) await s.job(scheduled(t), context());
    // Act
    const result = await s.job(scheduled(T0 + 150 * MINUTE), context());
    // Assess: 6 runs (1h15 .. 2h30), and the attack at 1h20 found by the catch-up.
    expect(result.runs).toBe(6);
    expect(result.uncoveredGapMs).toBe(0);
    expect((await s.store.getModelState()).checkpoint).toBe(T0 + 150 * MINUTE);
    expect(s.sink.alerts().map((a) => a.user)).toEqual(['www-data']);
  });

  it('reports the part of a long outage it cannot catch up, instead of skipping it silently', async () => {
    // Prepare
    const s = await setup(regular('root', 'h1', T0, T0 + 12 * H, 5 * MINUTE), { learningPeriod: '1h' }, { maxCatchUpRuns: 4 });
    await s.job(scheduled(T0 + BUCKET), context());
    // Act: next invocation ten hours later.
    const result = await s.job(scheduled(T0 + 10 * H + BUCKET), context());
    // Assess: 4 runs (9h30 .. 10h15) read [8h45, 10h15); [0h15, 8h45) is reported.
    expect(result.runs).toBe(4);
    expect(result.uncoveredGapMs).toBe(8 * H + 30 * MINUTE);
    expect(s.metrics.get('UncoveredGapMs')?.at(-1)).toBe(8 * H + 30 * MINUTE);
    expect(s.warnings.map((w) => w.message)).toContain('telemetry gap too long to catch up: these times were not read');
  });

  it('leaves catch-up runs to the next invocation when time runs short', async () => {
    // Prepare: every run "takes" 4 minutes; 10 minutes left.
    const s = await setup(regular('root', 'h1', T0, T0 + 3 * H, 5 * MINUTE));
    await s.job(scheduled(T0 + BUCKET), context());
    const source = new ReplayTelemetrySource(regular('root', 'h1', T0, T0 + 3 * H, 5 * MINUTE));
    const slow: InvocationTelemetry = {
      candidates: async function* (w) {
        s.clock.now += 4 * MINUTE;
        yield* source.candidates(w);
      },
      auditRecords: (w, k) => source.auditRecords(w, k),
    };
    // Act
    const job = createDetectJob({
      detector: createDetector(parseDetectorConfig({ learningPeriod: '1h' })),
      store: s.store,
      alerts: s.sink,
      telemetryFor: () => slow,
      logger: { info: () => undefined, warn: (message, extra) => s.warnings.push({ message, extra }) },
      metrics: { addMetric: () => undefined },
      now: () => s.clock.now,
      maxCatchUpRuns: 12,
    });
    const result = await job(scheduled(T0 + 2 * H), context(10 * MINUTE + 30_000));
    // Assess: one run done, the rest deferred; the next invocation continues from the checkpoint.
    expect(result.runs).toBe(1);
    expect(result.deferredRuns).toBe(6);
    expect((await s.store.getModelState()).checkpoint).toBe(T0 + 30 * MINUTE);
  });

  it('lets an error escape and does not advance the checkpoint past the failed run', async () => {
    // Prepare
    const failing: InvocationTelemetry = {
      candidates: async function* () {
        yield* [];
        throw new Error('Rate exceeded');
      },
      auditRecords: async function* () {},
    };
    const s = await setup([], { learningPeriod: '1h' }, { telemetry: failing });
    // Act, Assess
    await expect(s.job(scheduled(T0 + H), context())).rejects.toThrow('Rate exceeded');
    expect((await s.store.getModelState()).checkpoint).toBeUndefined();
  });

  it('emits HealthConditionsOpen for the health alarm: 1 while no telemetry is read, 0 once data returns', async () => {
    // Prepare: telemetry for the first hour, nothing for two hours, then telemetry again.
    const events = [...regular('root', 'h1', T0, T0 + H, 5 * MINUTE), ...regular('root', 'h1', T0 + 3 * H, T0 + 4 * H, 5 * MINUTE)];
    const s = await setup(events, { learningPeriod: '1h', noTelemetryAfter: '1h' });
    const open: number[] = [];
    const notices: number[] = [];
    // Act: every scheduled invocation up to T0+3h15, the first run that reads the returned data.
    for (let t = T0 + BUCKET; t <= T0 + 3 * H + BUCKET; t += BUCKET) {
      await s.job(scheduled(t), context());
      open.push(s.metrics.get('HealthConditionsOpen')?.at(-1) ?? Number.NaN);
      notices.push(s.metrics.get('HealthNotices')?.at(-1) ?? Number.NaN);
    }
    // Assess: the run at 1h30 is the last to read events (its window starts at 0h45); no-telemetry
    // opens an hour later, at 2h30, stays open quietly at 2h45 and 3h, and clears at 3h15.
    const at = (t: number): number => (t - T0) / BUCKET - 1;
    expect(open).toHaveLength(13);
    expect(open.slice(0, at(T0 + 150 * MINUTE))).toEqual(Array(at(T0 + 150 * MINUTE)).fill(0));
    expect(open.slice(at(T0 + 150 * MINUTE))).toEqual([1, 1, 1, 0]);
    expect(notices.slice(at(T0 + 150 * MINUTE))).toEqual([1, 0, 0, 1]);
    expect(notices.reduce((a, b) => a + b, 0)).toBe(2);
    const health = s.sink.messages.filter((m) => m.attributes.kind === 'health-notice').map((m) => (JSON.parse(m.body) as { health: unknown }).health);
    expect(health).toMatchObject([
      { condition: 'no-telemetry', status: 'open' },
      { condition: 'no-telemetry', status: 'cleared' },
    ]);
  });

  it('warns when ingestion lag approaches the 30 minutes of overlap', async () => {
    const late = ecsCall({ time: T0 + 50 * MINUTE, user: 'root', host: 'h1', ip: '169.254.169.254', lag: 26 * MINUTE });
    const s = await setup([late]);
    await s.job(scheduled(T0 + 90 * MINUTE), context());
    expect(s.warnings.map((w) => w.message).join('\n')).toMatch(/ingestion lag approaches/);
    expect(s.metrics.get('IngestionLagMaxMs')?.[0]).toBe(26 * MINUTE);
  });
});

describe('planRuns', () => {
  it('runs only the scheduled time on the first run and on a retry', () => {
    expect(planRuns(undefined, 10 * BUCKET, BUCKET, 3 * BUCKET, 12).runTimes).toEqual([10 * BUCKET]);
    expect(planRuns(10 * BUCKET, 10 * BUCKET, BUCKET, 3 * BUCKET, 12).runTimes).toEqual([10 * BUCKET]);
    expect(planRuns(12 * BUCKET, 10 * BUCKET, BUCKET, 3 * BUCKET, 12).runTimes).toEqual([10 * BUCKET]);
  });

  it('runs every missed boundary up to the bound and reports the rest', () => {
    expect(planRuns(7 * BUCKET, 10 * BUCKET, BUCKET, 3 * BUCKET, 12)).toEqual({ runTimes: [8, 9, 10].map((k) => k * BUCKET) });
    expect(planRuns(0, 10 * BUCKET, BUCKET, 3 * BUCKET, 2)).toEqual({
      runTimes: [9 * BUCKET, 10 * BUCKET],
      uncovered: { start: 0, end: 6 * BUCKET },
    });
  });
});
