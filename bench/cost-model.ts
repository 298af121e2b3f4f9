// cost.bench.ts (measured inputs) --> (cost model) --> monthly dollars per fleet size
//
// Pure: list prices as data, each with its source, the date of the page or of the look-up, and
// whether it was found in stored pages or comes from memory (unverified); assumptions as data;
// formulas as small functions of (measured inputs, prices, assumptions). No clock, no I/O.

/** Where a price comes from, and how sure we are of it. */
export interface Price {
  value: number;
  unit: string;
  what: string;
  source: string;
  /** Date of the page when it carries one, else of the look-up (YYYY-MM-DD). */
  date: string;
  /** `found`: read in a stored public page; `memory`: recalled, not checked against a page (unverified). */
  status: 'found' | 'memory';
  note?: string;
}

const LOOKUP = '2026-12-04';

/** us-east-1, list, on-demand. */
export const PRICES = {
  lambdaRequest: {
    value: 0.2 / 1e6,
    unit: '$ per request',
    what: 'Lambda requests ($0.20 per million, x86 and arm64 alike)',
    source: 'https://git.mcrn.ar/mariano/lambda_local_runner/src/commit/957e45b8adae23ce50b966346229585b5df18b4d/docs/lambdas-md/lambda-13-cost.md',
    date: LOOKUP,
    status: 'found',
  },
  lambdaArmGbSecond: {
    value: 0.0000133334,
    unit: '$ per GB-second',
    what: 'Lambda duration, arm64 (first 7.5 billion GB-s a month)',
    source: 'https://cloudchipr.com/blog/aws-lambda-pricing',
    date: '2024',
    status: 'found',
    note: 'the function is deployed as arm64 (serverless.yml)',
  },
  lambdaX86GbSecond: {
    value: 0.0000166667,
    unit: '$ per GB-second',
    what: 'Lambda duration, x86_64 (first 6 billion GB-s a month)',
    source: 'https://cloudchipr.com/blog/aws-lambda-pricing',
    date: '2024',
    status: 'found',
  },
  dynamoWriteUnit: {
    value: 0.625 / 1e6,
    unit: '$ per write request unit',
    what: 'DynamoDB on-demand writes, after the November 2024 price cut (was $1.25 per million)',
    source: 'https://airbyte.com/data-engineering-resources/dynamodb-pricing',
    date: '2025-07-21',
    status: 'found',
  },
  dynamoReadUnit: {
    value: 0.125 / 1e6,
    unit: '$ per read request unit',
    what: 'DynamoDB on-demand reads, after the November 2024 price cut (was $0.25 per million)',
    source: 'https://airbyte.com/data-engineering-resources/dynamodb-pricing',
    date: '2025-07-21',
    status: 'found',
  },
  dynamoStorage: {
    value: 0.25,
    unit: '$ per GB-month',
    what: 'DynamoDB Standard table storage (first 25 GB a month free, not applied here)',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    date: LOOKUP,
    status: 'memory',
  },
  snsPublish: {
    value: 0.5 / 1e6,
    unit: '$ per publish',
    what: 'SNS standard topic publishes ($0.50 per million; first million a month free, not applied)',
    source: 'https://www.factualminds.com/blog/amazon-sns-pricing-publishes-fanout-protocols/',
    date: '2026-06-13',
    status: 'found',
  },
  snsEmailDelivery: {
    value: 2 / 1e5,
    unit: '$ per delivery',
    what: 'SNS email deliveries ($2 per 100,000)',
    source: 'https://www.factualminds.com/blog/amazon-sns-pricing-publishes-fanout-protocols/',
    date: '2026-06-13',
    status: 'found',
  },
  snsHttpDelivery: {
    value: 0.6 / 1e6,
    unit: '$ per delivery',
    what: 'SNS HTTP/S deliveries ($0.60 per million); SQS and Lambda deliveries are free (memory)',
    source: 'https://www.factualminds.com/blog/amazon-sns-pricing-publishes-fanout-protocols/',
    date: '2026-06-13',
    status: 'found',
  },
  logsIngestion: {
    value: 0.5,
    unit: '$ per GB',
    what: 'CloudWatch Logs ingestion, Standard class (Infrequent Access: $0.25, no Insights-free filters)',
    source: 'https://c3x.dev/blog/cloudwatch-logs-cost-optimization',
    date: '2026-06',
    status: 'found',
  },
  logsStorage: {
    value: 0.03,
    unit: '$ per GB-month',
    what: 'CloudWatch Logs storage (archival, compressed bytes)',
    source: 'https://c3x.dev/blog/cloudwatch-logs-cost-optimization',
    date: '2026-06',
    status: 'found',
  },
  logsInsightsScan: {
    value: 0.005,
    unit: '$ per GB scanned',
    what: 'CloudWatch Logs Insights queries',
    source: 'https://c3x.dev/blog/cloudwatch-logs-cost-optimization',
    date: '2026-06',
    status: 'found',
  },
  filterLogEventsRequest: {
    value: 0,
    unit: '$ per request',
    what: 'CloudWatch Logs FilterLogEvents: no per-request line in the CloudWatch price list (same-region transfer free)',
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
    date: LOOKUP,
    status: 'memory',
  },
  kmsKey: {
    value: 1,
    unit: '$ per key-month',
    what: 'KMS customer managed key (+$1 a month per rotated backing key, from the first yearly rotation)',
    source: 'https://aws.amazon.com/kms/pricing/',
    date: LOOKUP,
    status: 'found',
  },
  kmsRequest: {
    value: 0.03 / 1e4,
    unit: '$ per request',
    what: 'KMS symmetric requests ($0.03 per 10,000; 20,000 a month free, not applied)',
    source: 'https://aws.amazon.com/kms/pricing/',
    date: LOOKUP,
    status: 'found',
  },
  cloudwatchAlarm: {
    value: 0.1,
    unit: '$ per alarm-month',
    what: 'CloudWatch standard-resolution metric alarm',
    source: 'https://c3x.dev/resources/aws/aws_cloudwatch_metric_alarm',
    date: LOOKUP,
    status: 'found',
  },
  cloudwatchMetric: {
    value: 0.3,
    unit: '$ per metric-month',
    what: 'CloudWatch custom metrics (first 10,000), EMF included',
    source: 'https://c3x.dev/blog/aws-cloudwatch-metrics-cost/',
    date: LOOKUP,
    status: 'found',
  },
  cloudwatchDashboard: {
    value: 3,
    unit: '$ per dashboard-month',
    what: 'CloudWatch dashboard (the first 3 in an account are free; counted as paid here)',
    source: 'https://c3x.dev/blog/aws-cloudwatch-metrics-cost/',
    date: LOOKUP,
    status: 'found',
  },
  eventBridgeScheduledRule: {
    value: 0,
    unit: '$ per invocation',
    what: 'EventBridge scheduled rule rate(15 minutes) (what serverless.yml deploys). EventBridge Scheduler would be $1.00 per million after 14 million free a month',
    source: 'https://cloudburn.io/blog/amazon-eventbridge-pricing',
    date: '2026-03-13',
    status: 'memory',
    note: 'Scheduler price found in the page; "scheduled rules are free" is from memory',
  },
  guardDutyRuntimeEc2: {
    value: 1.5,
    unit: '$ per vCPU-month, first 500 vCPUs; $0.75 next 4,500; $0.25 above 5,000 (billed per vCPU-hour)',
    what: 'GuardDuty Runtime Monitoring for EC2 (the agent on each instance)',
    source: 'https://aws.amazon.com/guardduty/pricing/',
    date: LOOKUP,
    status: 'memory',
    note: 'the stored pages name the unit (MonitoredVcpuHours) but not the rates',
  },
  elasticGbRamHourLow: {
    value: 0.2196 / 7,
    unit: '$ per GB RAM-hour',
    what: 'Elastic Cloud Hosted, AWS: 6 GB hot + 1 GB Kibana for $0.2196 an hour, Standard level (a floor: the ML feature needs Platinum, which costs more)',
    source: 'https://discuss.elastic.co/t/elastic-cloud-pricing-question/313079',
    date: '2022',
    status: 'found',
  },
  elasticGbRamHourHigh: {
    value: 0.2552,
    unit: '$ per GB RAM-hour',
    what: 'Elastic Cloud Hosted, AWS us-east-1, Platinum level (Standard $0.1144, Enterprise $0.3104) per a third-party licensing blog',
    source: 'https://atonementlicensing.pages.dev/blog/elastic-pricing-and-negotiation/',
    date: LOOKUP,
    status: 'found',
    note: 'about 3.6x the forum figure for Standard; Elastic\'s own price table was not in the stored pages',
  },
} as const satisfies Record<string, Price>;

export type PriceId = keyof typeof PRICES;

/** Stated assumptions (not measured). */
export const ASSUMPTIONS = {
  /** 730 hours a month (AWS's convention), a run every 15 minutes. */
  hoursPerMonth: 730,
  runsPerHour: 4,
  /** Each run reads 45 minutes: every ingested byte falls in three runs' windows. */
  lookbackMinutes: 45,
  /** serverless.yml: memorySize 512, arm64. */
  lambdaMemoryMb: 512,
  /** Lambda gives one full vCPU at 1,769 MB; below that CPU-bound time stretches in proportion. */
  fullVcpuMemoryMb: 1769,
  /** What the Lambda waits per request on top of its CPU time (not measurable offline). */
  waitMs: { dynamoDbRequest: 10, snsPublish: 20, filterLogEventsPage: 100 },
  /** Logs Insights mode: waiting for a query (StartQuery + polling GetQueryResults). */
  insightsQueryWaitMs: { base: 2000, perGbScanned: 500 },
  /** FilterLogEvents returns at most 10,000 events or 1 MB per page. */
  filterLogEventsPage: { events: 10_000, bytes: 1_048_576 },
  /** CloudWatch Logs counts 26 bytes of overhead per event. */
  logEventOverheadBytes: 26,
  /** The function's own log (summary line, EMF metrics, START/END/REPORT) per run. */
  functionLogBytesPerRun: 4096,
  /** KMS requests per run: the table key and the topic's data key, both cached by the services (~5 min). */
  kmsRequestsPerRun: 2,
  /** From the template: 8 alarms, 1 dashboard, 14 custom metrics + ColdStart. */
  alarms: 8,
  dashboards: 1,
  customMetrics: 15,
  /** Alerts a month (steady state: new users are rare), each one publish, one email and one SQS delivery. */
  alertsPerMonth: 30,
  /** GuardDuty Runtime Monitoring: vCPUs per host. */
  vcpuPerHost: 2,
  elastic: {
    /** One ML node of the smallest size runs the one `rare` job: its model grows with distinct users, not hosts. */
    mlNodeGb: 1,
    kibanaGb: 1,
    /** Hot tier: GB of disk per GB of RAM (storage-optimized profile), and days of data kept. */
    diskGbPerRamGb: 45,
    retentionDays: 30,
    /** Indexed size / raw size of the telemetry. */
    indexExpansion: 1,
  },
} as const;

export type Assumptions = typeof ASSUMPTIONS;

/** DynamoDB request units of one run, as dynalite computed them (1 KB per write unit, 4 KB per strongly consistent read unit). */
export interface StoreUsage {
  requests: number;
  readUnits: number;
  writeUnits: number;
}

/** What one steady-state run of the FilterLogEvents mode did, measured. */
export interface RunMeasurement {
  hosts: number;
  /** Events the run read (candidates and auditd records). */
  events: number;
  /** CPU time of the run path on the bench machine (user + system). */
  cpuMs: number;
  wallMs: number;
  store: StoreUsage;
  snsPublishes: number;
  filterLogEventsPages: number;
  /** Bytes of the events the filter returned (message + per-event overhead). */
  filterLogEventsBytes: number;
  /** Bytes held by the table (DynamoDB item size rules). */
  tableBytes: number;
}

export interface FleetInputs {
  run: RunMeasurement;
  /** Telemetry per host and day at the default 99% non-metadata share (message + overhead bytes). */
  telemetryBytesPerHostDay: number;
}

export const runsPerMonth = (a: Assumptions = ASSUMPTIONS): number => a.hoursPerMonth * a.runsPerHour;
const daysPerMonth = (a: Assumptions): number => a.hoursPerMonth / 24;
const GB = 1e9;

/** FilterLogEvents pages of one query: each page holds at most 10,000 events or 1 MB; an empty answer is one page. */
export function filterLogEventsPages(events: number, bytes: number, a: Assumptions = ASSUMPTIONS): number {
  return Math.max(1, Math.ceil(events / a.filterLogEventsPage.events), Math.ceil(bytes / a.filterLogEventsPage.bytes));
}

/** Lambda duration of a run: CPU time stretched to the function's share of a vCPU, plus waits per request. */
export function lambdaMsPerRun(run: RunMeasurement, a: Assumptions = ASSUMPTIONS): number {
  const cpu = run.cpuMs * (a.fullVcpuMemoryMb / Math.min(a.lambdaMemoryMb, a.fullVcpuMemoryMb));
  const waits =
    run.store.requests * a.waitMs.dynamoDbRequest + run.snsPublishes * a.waitMs.snsPublish + run.filterLogEventsPages * a.waitMs.filterLogEventsPage;
  return cpu + waits;
}

/** Lambda duration of a run in the Logs Insights mode (modelled: Logs Insights cannot run offline). */
export function insightsLambdaMsPerRun(run: RunMeasurement, scannedBytes: number, a: Assumptions = ASSUMPTIONS): number {
  // CPU: the FilterLogEvents mode's (an upper bound: Insights returns aggregates, not events).
  const cpu = run.cpuMs * (a.fullVcpuMemoryMb / Math.min(a.lambdaMemoryMb, a.fullVcpuMemoryMb));
  const waits = run.store.requests * a.waitMs.dynamoDbRequest + run.snsPublishes * a.waitMs.snsPublish;
  return cpu + waits + a.insightsQueryWaitMs.base + (scannedBytes / GB) * a.insightsQueryWaitMs.perGbScanned;
}

export function lambdaMonthly(msPerRun: number, p = PRICES, a: Assumptions = ASSUMPTIONS): number {
  const runs = runsPerMonth(a);
  return runs * p.lambdaRequest.value + runs * (msPerRun / 1000) * (a.lambdaMemoryMb / 1024) * p.lambdaArmGbSecond.value;
}

export function dynamoMonthly(store: StoreUsage, tableBytes: number, p = PRICES, a: Assumptions = ASSUMPTIONS): number {
  const runs = runsPerMonth(a);
  return runs * (store.readUnits * p.dynamoReadUnit.value + store.writeUnits * p.dynamoWriteUnit.value) + (tableBytes / GB) * p.dynamoStorage.value;
}

/** SNS: measured publishes per run, plus the stated alerts a month (publish + email + SQS delivery). */
export function snsMonthly(publishesPerRun: number, p = PRICES, a: Assumptions = ASSUMPTIONS): number {
  return runsPerMonth(a) * publishesPerRun * p.snsPublish.value + a.alertsPerMonth * (p.snsPublish.value + p.snsEmailDelivery.value);
}

/** What the stack costs whatever the fleet: key, alarms, dashboard, metrics, the function's own logs, KMS requests. */
export function fixedMonthly(p = PRICES, a: Assumptions = ASSUMPTIONS): number {
  const runs = runsPerMonth(a);
  return (
    p.kmsKey.value +
    runs * a.kmsRequestsPerRun * p.kmsRequest.value +
    a.alarms * p.cloudwatchAlarm.value +
    a.dashboards * p.cloudwatchDashboard.value +
    a.customMetrics * p.cloudwatchMetric.value +
    ((runs * a.functionLogBytesPerRun) / GB) * p.logsIngestion.value
  );
}

/** Bytes of telemetry one 45-minute window holds for the whole fleet. */
export function windowBytes(hosts: number, bytesPerHostDay: number, a: Assumptions = ASSUMPTIONS): number {
  return hosts * bytesPerHostDay * (a.lookbackMinutes / 1440);
}

/** Logs Insights: every run scans every byte of its window, so each ingested byte is scanned lookback/15 = 3 times. */
export function insightsScanMonthly(hosts: number, bytesPerHostDay: number, p = PRICES, a: Assumptions = ASSUMPTIONS): number {
  return runsPerMonth(a) * (windowBytes(hosts, bytesPerHostDay, a) / GB) * p.logsInsightsScan.value;
}

export function ingestionMonthly(hosts: number, bytesPerHostDay: number, p = PRICES, a: Assumptions = ASSUMPTIONS): number {
  return ((hosts * bytesPerHostDay * daysPerMonth(a)) / GB) * p.logsIngestion.value;
}

/** GuardDuty Runtime Monitoring for EC2: tiered per vCPU-month. */
export function guardDutyMonthly(hosts: number, a: Assumptions = ASSUMPTIONS): number {
  const tiers: [number, number][] = [
    [500, 1.5],
    [4500, 0.75],
    [Infinity, 0.25],
  ];
  let left = hosts * a.vcpuPerHost;
  let dollars = 0;
  for (const [size, rate] of tiers) {
    const n = Math.min(left, size);
    dollars += n * rate;
    left -= n;
    if (left <= 0) break;
  }
  return dollars;
}

/** Elastic: GB of RAM of the hot tier that holds `retentionDays` of the fleet's telemetry (at least 1 GB). */
export function elasticDataTierGb(hosts: number, bytesPerHostDay: number, a: Assumptions = ASSUMPTIONS): number {
  const storedGb = (hosts * bytesPerHostDay * a.elastic.retentionDays * a.elastic.indexExpansion) / GB;
  return Math.max(1, Math.ceil(storedGb / a.elastic.diskGbPerRamGb));
}

/** Elastic Cloud: the ML node (and Kibana) alone, and with the data tier that ingests the telemetry. */
export function elasticMonthly(hosts: number, bytesPerHostDay: number, gbRamHour: number, a: Assumptions = ASSUMPTIONS): { mlOnly: number; withData: number } {
  const ml = (a.elastic.mlNodeGb + a.elastic.kibanaGb) * a.hoursPerMonth * gbRamHour;
  return { mlOnly: ml, withData: ml + elasticDataTierGb(hosts, bytesPerHostDay, a) * a.hoursPerMonth * gbRamHour };
}

export interface MonthlyCost {
  hosts: number;
  filterLogEvents: { lambda: number; dynamo: number; sns: number; fixed: number; total: number; lambdaMsPerRun: number };
  insights: { lambda: number; scan: number; dynamo: number; sns: number; fixed: number; total: number; lambdaMsPerRun: number; scannedGbPerRun: number };
  ingestion: number;
  elastic: { mlOnlyLow: number; mlOnlyHigh: number; withDataLow: number; withDataHigh: number; dataTierGb: number };
  guardDuty: number;
}

export function monthlyCost(inputs: FleetInputs, p = PRICES, a: Assumptions = ASSUMPTIONS): MonthlyCost {
  const { run, telemetryBytesPerHostDay: perHost } = inputs;
  const fixed = fixedMonthly(p, a);
  const dynamo = dynamoMonthly(run.store, run.tableBytes, p, a);
  const sns = snsMonthly(run.snsPublishes, p, a);
  const fleMs = lambdaMsPerRun(run, a);
  const fleLambda = lambdaMonthly(fleMs, p, a);
  const scanned = windowBytes(run.hosts, perHost, a);
  const insMs = insightsLambdaMsPerRun(run, scanned, a);
  const insLambda = lambdaMonthly(insMs, p, a);
  const scan = insightsScanMonthly(run.hosts, perHost, p, a);
  const low = elasticMonthly(run.hosts, perHost, p.elasticGbRamHourLow.value, a);
  const high = elasticMonthly(run.hosts, perHost, p.elasticGbRamHourHigh.value, a);
  return {
    hosts: run.hosts,
    filterLogEvents: { lambda: fleLambda, dynamo, sns, fixed, total: fleLambda + dynamo + sns + fixed, lambdaMsPerRun: fleMs },
    insights: { lambda: insLambda, scan, dynamo, sns, fixed, total: insLambda + scan + dynamo + sns + fixed, lambdaMsPerRun: insMs, scannedGbPerRun: scanned / GB },
    ingestion: ingestionMonthly(run.hosts, perHost, p, a),
    elastic: { mlOnlyLow: low.mlOnly, mlOnlyHigh: high.mlOnly, withDataLow: low.withData, withDataHigh: high.withData, dataTierGb: elasticDataTierGb(run.hosts, perHost, a) },
    guardDuty: guardDutyMonthly(run.hosts, a),
  };
}

/** A measurement at `hosts` scaled linearly from one at another fleet size (quick mode); store usage is kept (it grows with users, not hosts). */
export function extrapolateRun(run: RunMeasurement, hosts: number): RunMeasurement {
  const k = hosts / run.hosts;
  return {
    ...run,
    hosts,
    events: run.events * k,
    cpuMs: run.cpuMs * k,
    wallMs: run.wallMs * k,
    filterLogEventsPages: run.filterLogEventsPages * k,
    filterLogEventsBytes: run.filterLogEventsBytes * k,
  };
}
