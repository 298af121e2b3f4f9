// Monthly cost at 100, 1,000 and 10,000 hosts: measured request counts and run times of the real
// scheduled run path, times list prices (./cost-model.ts), next to the alternatives; and the chart
// bench/results/cost.svg.
//
// Per fleet size: one 45-minute window of metadata traffic only (what the CloudWatch filter lets
// through), a steady state (30 days of baselines for every user of the window, written through
// the store, then two scheduled runs), and one measured run: runScheduled (the Lambda's path:
// runDetection plus health and checkpoint) over a source that returns what FilterLogEvents would,
// the real DynamoDbBaselineStore on dynalite with consumed capacity returned on every request, and
// a recording sink.

import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbBaselineStore } from '../src/adapters/dynamodb-baseline-store.js';
import { startEmbeddedDynamo } from '../src/adapters/embedded-dynalite.js';
import { ReplayTelemetrySource } from '../src/adapters/replay-telemetry-source.js';
import { defaultDetectorConfig } from '../src/config/detector-config.js';
import { groupByBucketAndUser } from '../src/model/bucket-activity.js';
import type { AlertSink, AuditEventKey, BaselineUpdate, OutgoingMessage, TelemetrySource, TimeWindow } from '../src/ports.js';
import { createDetector } from '../src/run/run-detection.js';
import { runScheduled } from '../src/run/run-scheduled.js';
import { simulateFleet, type FleetSpec } from '../src/simulator/fleet-simulator.js';
import { scaleFleetSpec } from '../src/simulator/scale-fleet.js';
import { auditIdOf } from '../src/telemetry/auditd/audit-record.js';
import { auditRecordQueries, buildFilterPatterns } from '../src/telemetry/cloudwatch-filter-pattern.js';
import type { LogEvent } from '../src/telemetry/log-event.js';
import type { Prefilter } from '../src/telemetry/prefilter.js';
import { readWindow } from '../src/telemetry/read-window.js';
import { chartSvg } from './chart.js';
import {
  ASSUMPTIONS,
  PRICES,
  extrapolateRun,
  filterLogEventsPages,
  lambdaMsPerRun,
  monthlyCost,
  runsPerMonth,
  type MonthlyCost,
  type RunMeasurement,
} from './cost-model.js';
import { WINDOW_MS, WINDOW_START } from './fleet-window.js';

const MINUTE = 60_000;
const DAY = 1440 * MINUTE;
const TABLE = 'imds-watch-cost';
export const FLEET_SIZES = [100, 1000, 10_000] as const;

export interface CostRow {
  hosts: number;
  measured: boolean;
  run: RunMeasurement;
  cost: MonthlyCost;
}

export interface CostResult {
  quick: boolean;
  date: string;
  machine: string;
  telemetry: { hosts: number; events: number; bytes: number; bytesPerHostDay: number; metadataShare: number };
  /** Users and the largest baseline item (bytes) of the measured runs. */
  store: { users: number; maxItemBytes: number };
  rows: CostRow[];
  chart: string;
}

// ---------------------------------------------------------------------------------------------
// Fleets

const WINDOW_DAYS = WINDOW_MS / DAY;

/** Metadata traffic only: what the CloudWatch filter lets through. No attacks or rarities: the usual run. */
const metadataOnlySpec = (hosts: number): FleetSpec =>
  scaleFleetSpec({ seed: 42, hosts, days: WINDOW_DAYS, start: WINDOW_START, nonMetadataShare: 0, attacks: 0, benignRarities: false });

/** The simulator's default share of non-metadata traffic (99%). */
const defaultShareSpec = (hosts: number): FleetSpec => scaleFleetSpec({ seed: 7, hosts, days: WINDOW_DAYS, start: WINDOW_START, attacks: 0, benignRarities: false });

const eventBytes = (e: LogEvent): number => Buffer.byteLength(e.message) + ASSUMPTIONS.logEventOverheadBytes;

/** Telemetry volume at the default share of non-metadata traffic, from a generated sample. */
function measureTelemetry(hosts: number): CostResult['telemetry'] {
  const detector = createDetector(defaultDetectorConfig());
  let events = 0;
  let bytes = 0;
  let metadata = 0;
  for (const { event } of simulateFleet(defaultShareSpec(hosts))) {
    events++;
    bytes += eventBytes(event);
    if (detector.prefilter(event.message)) metadata++;
  }
  return { hosts, events, bytes, bytesPerHostDay: (bytes / hosts) * (DAY / WINDOW_MS), metadataShare: metadata / Math.max(1, events) };
}

// ---------------------------------------------------------------------------------------------
// Ports that measure

/**
 * What the CloudWatch Logs adapter would fetch: candidates are the events the server-side filter
 * passes (the prefilter has the same needles), one query per (log group, pattern); auditd records
 * come from the queries auditRecordQueries plans per log group (up to 100 streams each, their audit
 * ids OR-ed in patterns of at most 1024 characters), as the adapter sends them. Pages from events and bytes.
 */
class MeteredTelemetrySource implements TelemetrySource {
  public pages = 0;
  public bytes = 0;
  public events = 0;

  public constructor(
    private readonly inner: TelemetrySource,
    private readonly prefilter: Prefilter,
    private readonly logGroups: readonly string[],
    private readonly candidatePatterns: number,
  ) {}

  public reset(): void {
    this.pages = 0;
    this.bytes = 0;
    this.events = 0;
  }

  public async *candidates(window: TimeWindow): AsyncIterable<LogEvent> {
    const byGroup = new Map<string, { events: number; bytes: number }>(this.logGroups.map((g) => [g, { events: 0, bytes: 0 }]));
    for await (const event of this.inner.candidates(window)) {
      if (!this.prefilter(event.message)) continue;
      const group = byGroup.get(event.logGroup) ?? { events: 0, bytes: 0 };
      byGroup.set(event.logGroup, group);
      group.events++;
      group.bytes += eventBytes(event);
      yield event;
    }
    for (const group of byGroup.values()) {
      // Each further pattern is its own query of at least one page; the events split between them.
      this.pages += this.candidatePatterns - 1 + filterLogEventsPages(group.events, group.bytes);
      this.events += group.events;
      this.bytes += group.bytes;
    }
  }

  public async *auditRecords(window: TimeWindow, keys: readonly AuditEventKey[]): AsyncIterable<LogEvent> {
    // The adapter's plan: per log group, auditRecordQueries over the audit ids of each stream.
    const idsByGroup = new Map<string, Map<string, Set<string>>>();
    for (const key of keys) {
      if (!/^\d+\.\d+:\d+$/.test(key.auditId)) continue;
      const streams = idsByGroup.get(key.logGroup) ?? new Map<string, Set<string>>();
      idsByGroup.set(key.logGroup, streams);
      const ids = streams.get(key.logStream) ?? new Set<string>();
      streams.set(key.logStream, ids);
      ids.add(key.auditId);
    }
    // What each (group, stream, audit id) returns; the one query holding that pair fetches it.
    const returned = new Map<string, { events: number; bytes: number }>();
    for await (const event of this.inner.auditRecords(window, keys)) {
      const id = auditIdOf(event.message);
      if (id) {
        const pair = `${event.logGroup}\u0000${event.logStream}\u0000${id.auditId}`;
        const tally = returned.get(pair) ?? { events: 0, bytes: 0 };
        returned.set(pair, tally);
        tally.events++;
        tally.bytes += eventBytes(event);
      }
      yield event;
    }
    for (const [group, streams] of idsByGroup) {
      for (const query of auditRecordQueries(streams)) {
        let events = 0;
        let bytes = 0;
        for (const [stream, ids] of query.idsByStream) {
          for (const id of ids) {
            const tally = returned.get(`${group}\u0000${stream}\u0000${id}`);
            events += tally?.events ?? 0;
            bytes += tally?.bytes ?? 0;
          }
        }
        this.pages += filterLogEventsPages(events, bytes);
        this.events += events;
        this.bytes += bytes;
      }
    }
  }
}

class RecordingSink implements AlertSink {
  public readonly published: OutgoingMessage[] = [];
  private calls = 0;

  public async publish(messages: readonly OutgoingMessage[]): Promise<Set<string>> {
    this.calls++;
    this.published.push(...messages);
    return new Set(messages.map((m) => m.id));
  }

  public requestCounts(): Record<string, number> {
    return { publish: this.published.length, calls: this.calls };
  }
}

const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan']);

/** Asks DynamoDB (here dynalite) for the consumed capacity of every request, and sums it. */
function meterCapacity(client: DynamoDBClient): { readUnits: number; writeUnits: number; failedConditions: number } {
  const meter = { readUnits: 0, writeUnits: 0, failedConditions: 0 };
  type Capacity = { CapacityUnits?: number };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      input['ReturnConsumedCapacity'] = 'TOTAL';
      const read = READS.has((context.commandName ?? '').replace(/Command$/, ''));
      try {
        const out = await next(args);
        const consumed = (out.output as { ConsumedCapacity?: Capacity | Capacity[] }).ConsumedCapacity;
        const units = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []).reduce((n, c) => n + (c.CapacityUnits ?? 0), 0);
        if (read) meter.readUnits += units;
        else meter.writeUnits += units;
        return out;
      } catch (error) {
        // A failed condition still consumes write capacity (at least one unit; dynalite reports none).
        if ((error as { name?: string }).name === 'ConditionalCheckFailedException') {
          meter.failedConditions++;
          meter.writeUnits += 1;
        }
        throw error;
      }
    },
    { step: 'initialize', name: 'imdsWatchCostCapacity' },
  );
  return meter;
}

/** DynamoDB's item size rules (attribute names + values). */
function itemBytes(item: Record<string, AttributeValue>): number {
  const size = (v: AttributeValue): number => {
    if (v.S !== undefined) return Buffer.byteLength(v.S);
    if (v.N !== undefined) return Math.ceil(v.N.replace(/[-.]/g, '').replace(/^0+/, '').length / 2) + 1;
    if (v.SS !== undefined) return v.SS.reduce((n, s) => n + Buffer.byteLength(s), 0);
    if (v.NS !== undefined) return v.NS.reduce((n, s) => n + Math.ceil(s.replace(/[-.]/g, '').replace(/^0+/, '').length / 2) + 1, 0);
    if (v.M !== undefined) return 3 + Object.entries(v.M).reduce((n, [k, x]) => n + 1 + Buffer.byteLength(k) + size(x), 0);
    if (v.L !== undefined) return 3 + v.L.reduce((n, x) => n + 1 + size(x), 0);
    return 1;
  };
  return Object.entries(item).reduce((n, [k, v]) => n + Buffer.byteLength(k) + size(v), 0);
}

async function tableContent(client: DynamoDBClient): Promise<{ bytes: number; maxItemBytes: number }> {
  let bytes = 0;
  let maxItemBytes = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out = await client.send(new ScanCommand({ TableName: TABLE, ExclusiveStartKey: start }));
    for (const item of out.Items ?? []) {
      const b = itemBytes(item);
      bytes += b;
      maxItemBytes = Math.max(maxItemBytes, b);
    }
    start = out.LastEvaluatedKey;
  } while (start !== undefined);
  return { bytes, maxItemBytes };
}

// ---------------------------------------------------------------------------------------------
// One fleet size

async function measureRun(hosts: number): Promise<{ run: RunMeasurement; users: number; maxItemBytes: number }> {
  const config = defaultDetectorConfig();
  const detector = createDetector(config);
  const spec = metadataOnlySpec(hosts);
  const events: LogEvent[] = [];
  for (const { event } of simulateFleet(spec)) events.push(event);
  const start = Math.min(...events.slice(0, 1000).map((e) => e.timestamp), spec.start);
  const t = Math.ceil((start + WINDOW_MS) / config.bucketMs) * config.bucketMs;
  const groups = [...new Set(spec.hosts.map((h) => h.logGroup))];
  const source = new MeteredTelemetrySource(new ReplayTelemetrySource(events), detector.prefilter, groups, buildFilterPatterns(detector.catalogue.needles).length);
  events.length = 0; // the replay source holds its own sorted copy

  const dynamo = await startEmbeddedDynamo({ tableName: TABLE });
  try {
    const capacity = meterCapacity(dynamo.client);
    const store = new DynamoDbBaselineStore({ client: dynamo.client, tableName: TABLE, memoryMs: config.memoryMs, bucketMs: config.bucketMs });
    const sink = new RecordingSink();

    // Steady state, as a run finds it after a month: every user of the window seen in every bucket
    // of the 30 days before (the largest baseline items memory allows) and in the window's two older
    // buckets (the two previous runs learned them), learning long over, checkpoint at the previous
    // run. Reading the window once here also warms the read path up.
    const reading = await readWindow(source, { start: t - config.lookbackMs, end: t }, detector.catalogue, detector.prefilter);
    const activities = groupByBucketAndUser(reading.observations, config.bucketMs);
    const users = [...new Set(activities.map((a) => a.user))];
    const historyStart = t - config.memoryMs + DAY;
    const history: number[] = [];
    for (let b = historyStart; b < t - config.bucketMs; b += config.bucketMs) history.push(b);
    const updates: BaselineUpdate[] = users.map((user) => {
      const mine = activities.filter((a) => a.user === user);
      return {
        user,
        add: history,
        forgetBefore: t - config.memoryMs,
        hosts: [...new Set(mine.flatMap((a) => [...a.hosts.keys()]))].slice(0, 20),
        processes: [...new Set(mine.flatMap((a) => [...a.processes.values()].map((p) => p.executable ?? p.name ?? '')))].filter((p) => p !== '').slice(0, 20),
      };
    });
    await store.noteObserved(historyStart);
    await store.learn(updates);
    await store.advanceCheckpoint(t - config.bucketMs);
    let clock = 0;
    const ports = { telemetry: source, store, alerts: sink, now: () => clock++ };

    // The measured run.
    source.reset();
    const before = { ...capacity };
    const storeBefore = Object.values(store.requestCounts()).reduce((a, b) => a + b, 0);
    const publishedBefore = sink.published.length;
    clock = t;
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    await runScheduled(detector, ports, t, { runId: 'cost-measured', maxCatchUpRuns: 1 });
    const wallMs = performance.now() - w0;
    const cpu = process.cpuUsage(c0);
    const content = await tableContent(dynamo.client);
    const run: RunMeasurement = {
      hosts,
      events: source.events,
      cpuMs: (cpu.user + cpu.system) / 1000,
      wallMs,
      store: {
        requests: Object.values(store.requestCounts()).reduce((a, b) => a + b, 0) - storeBefore,
        readUnits: capacity.readUnits - before.readUnits,
        writeUnits: capacity.writeUnits - before.writeUnits,
      },
      snsPublishes: sink.published.length - publishedBefore,
      filterLogEventsPages: source.pages,
      filterLogEventsBytes: source.bytes,
      tableBytes: content.bytes,
    };
    return { run, users: users.length, maxItemBytes: content.maxItemBytes };
  } finally {
    await dynamo.close();
  }
}

// ---------------------------------------------------------------------------------------------

export async function costBench(options: { quick: boolean }): Promise<CostResult> {
  const telemetry = measureTelemetry(options.quick ? 8 : 20);
  const rows: CostRow[] = [];
  let store = { users: 0, maxItemBytes: 0 };
  let base: RunMeasurement | undefined;
  for (const hosts of FLEET_SIZES) {
    if (options.quick && base) {
      const run = extrapolateRun(base, hosts);
      rows.push({ hosts, measured: false, run, cost: monthlyCost({ run, telemetryBytesPerHostDay: telemetry.bytesPerHostDay }) });
      continue;
    }
    const measured = await measureRun(hosts);
    base ??= measured.run;
    store = { users: Math.max(store.users, measured.users), maxItemBytes: Math.max(store.maxItemBytes, measured.maxItemBytes) };
    rows.push({ hosts, measured: true, run: measured.run, cost: monthlyCost({ run: measured.run, telemetryBytesPerHostDay: telemetry.bytesPerHostDay }) });
  }
  const date = new Date().toISOString().slice(0, 10);
  const chart = costChart(rows, `${options.quick ? 'quick: 100 hosts measured, others extrapolated' : 'every size measured'}; ${date}`);
  const dir = new URL('./results/', import.meta.url);
  await mkdir(dir, { recursive: true });
  // The quick run (CI) must not overwrite the chart BENCHMARKS.md shows.
  const chartFile = options.quick ? 'cost-quick.svg' : 'cost.svg';
  await writeFile(new URL(chartFile, dir), chart);
  return {
    quick: options.quick,
    date,
    machine: `Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}`,
    telemetry,
    store,
    rows,
    chart: `bench/results/${chartFile}`,
  };
}

function costChart(rows: readonly CostRow[], subtitle: string): string {
  const pts = (pick: (r: CostRow) => number): [number, number][] => rows.map((r) => [r.hosts, pick(r)]);
  return chartSvg({
    title: 'imds-watch: throughput of one run and monthly cost against fleet size',
    subtitle,
    panelWidth: 440,
    panelHeight: 300,
    panels: [
      {
        title: 'One run (45-minute window, metadata events)',
        xLabel: 'hosts (log)',
        yLabel: 'hosts per second (log)',
        xScale: 'log',
        yScale: 'log',
        xDomain: [100, 10_000],
        series: [
          { name: 'bench CPU (measured)', color: '#1f77b4', points: pts((r) => r.hosts / (r.run.cpuMs / 1000)) },
          { name: 'Lambda 512 MB estimate (CPU share + waits)', color: '#ff7f0e', points: pts((r) => r.hosts / (lambdaMsPerRun(r.run) / 1000)) },
        ],
      },
      {
        title: 'Monthly cost, us-east-1 list prices',
        xLabel: 'hosts (log)',
        yLabel: 'US$ per month (log)',
        xScale: 'log',
        yScale: 'log',
        xDomain: [100, 10_000],
        series: [
          { name: 'imds-watch, FilterLogEvents mode', color: '#2ca02c', points: pts((r) => r.cost.filterLogEvents.total) },
          { name: 'imds-watch, Logs Insights mode', color: '#17becf', points: pts((r) => r.cost.insights.total) },
          { name: 'telemetry ingestion (CloudWatch Logs)', color: '#7f7f7f', points: pts((r) => r.cost.ingestion), dashed: true },
          { name: 'Elastic ML + hot tier (low price)', color: '#d62728', points: pts((r) => r.cost.elastic.withDataLow) },
          { name: 'GuardDuty Runtime Monitoring (2 vCPU/host)', color: '#9467bd', points: pts((r) => r.cost.guardDuty) },
        ],
      },
    ],
  });
}

// ---------------------------------------------------------------------------------------------
// Report

const n = (v: number, digits = 0): string => v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const usd = (v: number): string => (v >= 100 ? `$${n(v)}` : v >= 1 ? `$${n(v, 2)}` : `$${n(v, 4)}`);

export function costMarkdown(result: CostResult): string {
  const a = ASSUMPTIONS;
  const runs = runsPerMonth();
  const timeoutMs = 600_000;
  const rowsCost = result.rows.map((r) => {
    const c = r.cost;
    return `| ${n(r.hosts)}${r.measured ? '' : ' (extrapolated)'} | ${usd(c.filterLogEvents.total)} | ${usd(c.insights.total)} (scans ${usd(c.insights.scan)}) | ${usd(c.ingestion)} | ${usd(c.filterLogEvents.total + c.ingestion)} / ${usd(c.insights.total + c.ingestion)} | ${usd(c.elastic.mlOnlyLow)}–${usd(c.elastic.mlOnlyHigh)} | ${usd(c.elastic.withDataLow)}–${usd(c.elastic.withDataHigh)} (${c.elastic.dataTierGb} GB hot) | ${usd(c.guardDuty)} |`;
  });
  const rowsInputs = result.rows.map((r) => {
    const x = r.run;
    const ms = lambdaMsPerRun(x);
    return `| ${n(r.hosts)}${r.measured ? '' : ' (extrap.)'} | ${n(x.events)} | ${n(x.filterLogEventsBytes / 1e6, 1)} MB | ${n(x.filterLogEventsPages)} | ${n(x.cpuMs)} ms | ${n(x.wallMs)} ms | ${n(x.hosts / (x.cpuMs / 1000))} | ${n(x.store.requests)} | ${n(x.store.readUnits, 1)} / ${n(x.store.writeUnits)} | ${x.snsPublishes} | ${n(ms / 1000, 1)} s${ms > 0.8 * timeoutMs ? ' **over 80% of the 600 s timeout**' : ''} | ${n(r.cost.insights.scannedGbPerRun, 2)} GB |`;
  });
  const breakdown = result.rows.map((r) => {
    const f = r.cost.filterLogEvents;
    const i = r.cost.insights;
    return `| ${n(r.hosts)} | ${usd(f.lambda)} | ${usd(f.dynamo)} | ${usd(f.sns)} | ${usd(f.fixed)} | ${usd(i.lambda)} | ${usd(i.scan)} |`;
  });
  const prices = Object.values(PRICES).map(
    (p) => `| ${p.what} | ${p.value < 0.001 && p.value > 0 ? p.value.toExponential(4) : p.value} | ${p.unit} | ${p.source} | ${p.date} | ${p.status === 'found' ? 'found in stored pages' : '**from memory, unverified**'}${'note' in p && p.note ? `; ${p.note}` : ''} |`,
  );
  const tel = result.telemetry;
  const big = result.rows[result.rows.length - 1];
  return `## Monthly cost

Produced by \`npm run bench${result.quick ? ' -- --quick' : ''}\` on ${result.date}, ${result.machine}. Chart: [${result.chart}](${result.chart}).
${result.quick ? '**Quick mode: only 100 hosts were measured; 1,000 and 10,000 hosts are extrapolated linearly from it (store usage kept flat: it grows with users, not hosts).**' : 'Every fleet size was measured.'}
Fleets from \`scaleFleetSpec\` (src/simulator/scale-fleet.ts: host roles, the four formats mixed, per-host people and service accounts),
without attacks or benign rarities; \`nonMetadataShare: 0\` for the run's window, the default 0.99 for the telemetry volume.

Monthly = ${n(runs)} runs (a run every 15 minutes, 730 hours). us-east-1 list prices, no free tier applied, no Savings Plans.
The detector's own cost is shown apart from the ingestion of the telemetry into CloudWatch Logs, which a team may already pay for;
the combined column adds them.

| hosts | imds-watch, FilterLogEvents mode | imds-watch, Logs Insights mode | telemetry ingestion | detector + ingestion (FilterLogEvents / Insights) | Elastic ML node + Kibana | Elastic ML + hot tier for the same telemetry | GuardDuty Runtime Monitoring |
|---:|---:|---:|---:|---:|---:|---:|---:|
${rowsCost.join('\n')}

What the detector's totals are made of (per month):

| hosts | FilterLogEvents: Lambda | DynamoDB | SNS | fixed (key, alarms, dashboard, metrics, own logs, KMS calls) | Insights: Lambda | Insights: scanned bytes |
|---:|---:|---:|---:|---:|---:|---:|
${breakdown.join('\n')}

### Measured inputs (one steady-state run)

| hosts | events read | bytes returned by FilterLogEvents | FilterLogEvents pages | CPU (bench) | wall (bench) | hosts per CPU-second | DynamoDB requests | read / write units | SNS publishes | Lambda duration (estimate) | Insights GB scanned per run |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${rowsInputs.join('\n')}

- Telemetry volume: a generated ${tel.hosts}-host fleet, 45 minutes, default mix (non-metadata share 0.99; ${n((1 - tel.metadataShare) * 100, 1)}% of the events fail the metadata prefilter):
  ${n(tel.events)} events, ${n(tel.bytes / 1e6, 1)} MB (message bytes + ${a.logEventOverheadBytes} bytes per event) = **${n(tel.bytesPerHostDay / 1e6, 1)} MB per host per day**,
  ${n((tel.bytesPerHostDay * 730) / 24 / 1e9, 2)} GB per host per month.
- The run window: one 45-minute window of metadata traffic only (what the server-side filter returns: the bench's source passes
  the events the prefilter keeps, whose needles are those of the filter patterns, and fetches auditd records per stream as the adapter does).
  Steady state, as a run finds it after a month: before the measured run, every user of the window (${result.store.users} at most) was given,
  through the store, 30 days of baseline in every 15-minute bucket up to the window's newest one (the largest items memory allows:
  ${n(result.store.maxItemBytes)} bytes; what the two previous runs would have learned included), and the previous run's checkpoint. The measured run
  is the first of its store instance (as after a cold start) and learns the newest bucket. It is \`runScheduled\` (what the Lambda calls:
  \`runDetection\`, health, checkpoint), real \`DynamoDbBaselineStore\` on dynalite, a recording sink; it published ${result.rows.map((r) => r.run.snsPublishes).join(' / ')} messages (no new user: the usual run).
- DynamoDB request units are dynalite's \`ConsumedCapacity\` for every request (\`ReturnConsumedCapacity: TOTAL\` added by a client
  middleware): item size rounded up to 1 KB per write unit and to 4 KB per strongly consistent read unit, per item in a BatchGetItem.
  A baseline item of a user seen in every bucket for 30 days is ${n(result.store.maxItemBytes / 1024, 1)} KB, so a write of it costs ${Math.ceil(result.store.maxItemBytes / 1024)} units and a read ${Math.ceil(result.store.maxItemBytes / 4096)}
  (not the ≤1 KB / ≤4 KB of a small item). A failed conditional write is counted as one unit (DynamoDB charges it; dynalite reports none).
- FilterLogEvents pages: per query, max(1, events / ${n(a.filterLogEventsPage.events)}, bytes / 1 MB); one query per (log group, candidate pattern)
  and, for the SYSCALL records of the auditd hosts, the queries \`auditRecordQueries\` plans per log group, as the adapter sends them: up to
  100 streams a query, their audit ids OR-ed as \`.MILLIS:SERIAL)\` terms in patterns of at most 1,024 characters (some 65 ids a query).
  Real pages can be partly full or empty, so this is a floor. The second read still grows with the auditd events of the window (about
  one query per 65 of them), and it is still most of the requests at scale.
- CPU is the process's user + system time for the run on the bench machine. It includes dynalite (in the same process) and the replay
  source's scan for auditd records, which the Lambda does not spend, and excludes the SDK's parsing of responses, which it does.
  **The Lambda duration is an estimate**: CPU × ${a.fullVcpuMemoryMb} / ${a.lambdaMemoryMb} (a ${a.lambdaMemoryMb} MB function gets that share of a vCPU) plus
  stated waits: ${a.waitMs.dynamoDbRequest} ms per DynamoDB request, ${a.waitMs.snsPublish} ms per SNS publish, ${a.waitMs.filterLogEventsPage} ms per FilterLogEvents page (a server-side scan).${
    big && lambdaMsPerRun(big.run) > 0.8 * timeoutMs
      ? `\n  At ${n(big.hosts)} hosts one run would take about ${n(lambdaMsPerRun(big.run) / 1000)} s, past 80% of the 600 s timeout: the FilterLogEvents mode needs the log groups sharded across invocations or the Logs Insights mode there.`
      : ''
  }
- Logs Insights mode (\`telemetrySource: insights\`; no query can run offline, so **modelled from the bytes a query scans, not measured**): every run scans every byte ingested into the queried
  log groups in its 45-minute window, so each byte is scanned ${a.lookbackMinutes / 15} times: scanned GB per run = hosts × bytes per host per day × 45/1440.
  Its Lambda time is the FilterLogEvents mode's CPU (an upper bound: Insights returns aggregates) plus the same store and SNS waits plus
  ${a.insightsQueryWaitMs.base / 1000} s + ${a.insightsQueryWaitMs.perGbScanned / 1000} s per GB scanned waiting for the query; evidence reads for alerting users are left out (rare).
  A \`stats ... by user, host, bin(15m)\` answer holds at most 10,000 rows: at large fleets the adapter splits the query and re-runs the parts (each split re-scans its part; not in the figure).

### Formulas, in words

- imds-watch, FilterLogEvents mode = Lambda (runs × $0.20 per million + runs × duration × 0.5 GB × arm64 $ per GB-s)
  + DynamoDB (runs × (read units × $ per RRU + write units × $ per WRU) + table bytes × $ per GB-month)
  + SNS (runs × publishes per run × $ per publish + ${a.alertsPerMonth} alerts a month × (publish + one email delivery); SQS deliveries free)
  + fixed: one KMS key ($1), runs × ${a.kmsRequestsPerRun} KMS requests, ${a.alarms} alarms, ${a.dashboards} dashboard, ${a.customMetrics} custom metrics (EMF), the function's own log (${a.functionLogBytesPerRun / 1024} KiB a run).
  FilterLogEvents requests have no charge of their own; EventBridge's scheduled rule is free.
- imds-watch, Logs Insights mode = the same, with the Insights Lambda time, plus runs × GB scanned per run × $0.005.
- Telemetry ingestion = hosts × bytes per host per day × 30.4 days × $0.50 per GB (Standard class; Infrequent Access is half, storage
  $0.03 per GB-month of compressed bytes comes on top for whatever retention the team keeps).
- Elastic Cloud Hosted: machine learning needs the Platinum level (or Enterprise), and Elastic Cloud prices that as a higher rate per GB of
  RAM-hour, so the subscription is inside the rate. **Sizing assumption**: the rule runs one \`rare\` by \`user.name\` job whose model
  grows with distinct users, not hosts, so one ML node of the smallest size (${a.elastic.mlNodeGb} GB) plus Kibana (${a.elastic.kibanaGb} GB) serves any of these fleets;
  the job also needs the telemetry in Elasticsearch: a hot tier of ceil(hosts × bytes per host per day × ${a.elastic.retentionDays} days / ${a.elastic.diskGbPerRamGb} GB of disk per GB of RAM) GB, one zone
  (production deployments use two or three). (GB of RAM) × 730 h × rate; the range is the two rates found (below): the low one is a Standard-level
  figure and so a floor, the high one a third-party Platinum list. The chart uses the low one, so it never overstates Elastic.
- GuardDuty Runtime Monitoring (EC2) = hosts × ${a.vcpuPerHost} vCPUs, tiered: first 500 vCPUs × $1.50, next 4,500 × $0.75, the rest × $0.25 a month
  (it covers far more than this rule; it is the AWS-native way to get runtime detections on these hosts).

### Prices (us-east-1, list, on-demand)

| what | value | unit | source | page date or look-up | status |
|---|---:|---|---|---|---|
${prices.join('\n')}
`;
}
