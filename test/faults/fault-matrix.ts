// The fault-injection matrix: the scheduled Lambda's job, end to end on real adapters, with one
// fault at a time struck into one AWS call, compared with the same schedule without faults.
//
//   simulated fleet --> local CloudWatch Logs server (JSON protocol) <-- CloudWatchLogsClient <-- CloudWatchLogsSource
//                       dynalite (DynamoDB API)  <-- fault handler   <-- DynamoDBClient       <-- DynamoDbBaselineStore
//                       local SNS server (query protocol)            <-- SNSClient            <-- SnsAlertSink
//   createDetectJob (the handler's job) invoked every 15 minutes of a simulated clock; an invocation
//   that throws is delivered again after 1 and 3 minutes, as Lambda does with a failed async event.
//
// A cell is (call, fault, where, persistence):
// - call: one AWS call of the run, told apart by operation (x-amz-target / Action) and, for
//   DynamoDB, by what the store uses it for (the key and the update expression);
// - fault: throttling, a 5xx, a socket hang-up or time-out after the service did the work (the
//   response is lost), a partial batch failure (BatchGetItem UnprocessedKeys, PublishBatch Failed
//   entries), or a conditional-check failure caused by a concurrent writer that really writes
//   first through a second store instance;
// - where: the first, middle or last request of that call in the fault-free schedule's data span
//   (the schedule then runs one more hour, so recovery has room);
// - persistence: the fault hits that one request only (`once`), every request of that call until
//   the delivery ends (`delivery`: Lambda's first retry runs clean), or every delivery of that
//   scheduled event (`event`: all three fail, the event is dropped and the next one catches up).
//
// Faults are decided in the clients' request handlers (the n-th request of a call), so the SDK's
// own retries, the adapters' retries and Lambda's redeliveries all see them. The local servers
// carry out what needs a real socket (hang-ups, time-outs, partial batches) on an `x-fault` header.
//
// Every cell must publish the same alert event.id set and leave the same baselines as the
// fault-free schedule. An id may be published again only while its record is not yet marked
// published (the window between publish and record), after a fault struck in that window (or the
// answer to its previous publication was lost), with the same event.id and body.
//
// Speed: the schedule is deterministic (simulated clock frozen per delivery, fixed telemetry), so
// a cell starts from the fault-free table as it was just before the invocation it strikes, and
// stops running once the fault can strike no more and its table is the fault-free one again at
// the same scheduled time: from there on it would do what the fault-free schedule did.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { BatchWriteItemCommand, DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { HttpResponse } from '@smithy/protocol-http';
import { CloudWatchLogsSource } from '../../src/adapters/cloudwatch-logs-source.js';
import { DynamoDbBaselineStore } from '../../src/adapters/dynamodb-baseline-store.js';
import { startEmbeddedDynamo } from '../../src/adapters/embedded-dynalite.js';
import { SnsAlertSink } from '../../src/adapters/sns-alert-sink.js';
import type { AlertDocument } from '../../src/alerts/alert-document.js';
import { alertMessage } from '../../src/alerts/outgoing-message.js';
import { parseDetectorConfig } from '../../src/config/detector-config.js';
import { createDetectJob } from '../../src/lambda/detect-job.js';
import type { AnomalyRecord } from '../../src/ports.js';
import { createDetector, type Detector } from '../../src/run/run-detection.js';
import { simulateFleet, type AttackKind, type FleetSpec } from '../../src/simulator/fleet-simulator.js';
import type { LogEvent } from '../../src/telemetry/log-event.js';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const BUCKET = 15 * MINUTE;

// ---------------------------------------------------------------------------------------------
// The fleet, the detector and the schedule

/** 06:00 UTC, 2 November 2026. */
export const FLEET_START = Date.UTC(2026, 10, 2, 6);
/** One group by name, one by prefix (so DescribeLogGroups is one of the calls). */
export const LOG_GROUPS = ['/fault-matrix/auditd', '/fault-matrix/ecs*'];
export const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:imds-watch-alerts';
const TABLE = 'imds-watch-faults';
/** Events per FilterLogEvents page: small, so that a query has several pages. */
const PAGE_SIZE = 100;
/** Lambda's async retries: the second delivery 1 minute after the first, the third 2 minutes later. */
const REDELIVERY_DELAYS_MS = [0, MINUTE, 3 * MINUTE];
/** EventBridge invokes a little after the scheduled time. */
const INVOCATION_DELAY_MS = 2_000;
const CONCURRENT_RUN_ID = 'concurrent-writer';
/** The default claim timeout of runDetection (the job does not change it). */
const CLAIM_TIMEOUT_MS = 15 * MINUTE;

/** A fleet to run the schedule over. */
export interface FleetProfile {
  name: string;
  hours: number;
  learningPeriod: string;
  /** Scheduled runs after the last telemetry: room for retries, catch-up and pending alerts. */
  tailMinutes: number;
  /** [hours, minutes] after the start, host, user, uid, kind. */
  attacks: readonly (readonly [number, number, string, string, number, AttackKind])[];
  /**
   * The user whose attack reaches CloudWatch Logs 27 minutes late (an agent's backlog): it is
   * found by the last run whose look-back still holds its bucket, the one chance to publish it.
   */
  late: string;
}

/** Ingestion delay of the late attack's events. */
const LATE_INGESTION_MS = 27 * MINUTE;

/**
 * Four hosts (raw and ENRICHED auditd, Elastic Defend, Auditbeat) for six hours; three new users
 * call the metadata service in the same quarter hour (one PublishBatch of three), two more later,
 * and alice's daily AWS CLI run is new too. The last attack is late: the last run of the
 * telemetry's span finds it with alice's, so the last claims and the last PublishBatch carry it.
 */
export const FULL_FLEET: FleetProfile = {
  name: '4 hosts, 6 hours',
  hours: 6,
  learningPeriod: '2h',
  tailMinutes: 60,
  attacks: [
    [2, 33, 'ip-10-0-2-22', 'svc-build', 1500, 'wget-gcp'],
    [2, 37, 'ip-10-0-1-12', 'www-data', 33, 'curl-credentials'],
    [2, 41, 'ip-10-0-2-21', 'mallory', 1337, 'python-ipv6'],
    [5, 5, 'ip-10-0-1-11', 'deploy', 2001, 'curl-credentials'],
    [5, 20, 'ip-10-0-2-22', 'backup', 34, 'wget-gcp'],
  ],
  late: 'backup',
};

/** The same hosts and attacks, compressed into three hours: for CI. */
export const CI_FLEET: FleetProfile = {
  name: '4 hosts, 3 hours',
  hours: 3,
  learningPeriod: '75m',
  tailMinutes: 45,
  attacks: [
    [1, 18, 'ip-10-0-2-22', 'svc-build', 1500, 'wget-gcp'],
    [1, 22, 'ip-10-0-1-12', 'www-data', 33, 'curl-credentials'],
    [1, 26, 'ip-10-0-2-21', 'mallory', 1337, 'python-ipv6'],
    [2, 7, 'ip-10-0-2-22', 'backup', 34, 'wget-gcp'],
    [2, 35, 'ip-10-0-1-11', 'deploy', 2001, 'curl-credentials'],
  ],
  late: 'backup',
};

export function fleetSpec(profile: FleetProfile): FleetSpec {
  return {
    seed: 20261102,
    start: FLEET_START,
    days: profile.hours / 24,
    noisePerHourPerHost: 30,
    hosts: [
      { name: 'ip-10-0-1-11', instanceId: 'i-0f00000000000a001', format: 'auditd', logGroup: '/fault-matrix/auditd' },
      { name: 'ip-10-0-1-12', instanceId: 'i-0f00000000000a002', format: 'auditd-enriched', logGroup: '/fault-matrix/auditd', auditdNode: true },
      { name: 'ip-10-0-2-21', instanceId: 'i-0f00000000000a003', format: 'ecs-defend', logGroup: '/fault-matrix/ecs' },
      { name: 'ip-10-0-2-22', instanceId: 'i-0f00000000000a004', format: 'auditbeat', logGroup: '/fault-matrix/ecs' },
    ],
    attacks: profile.attacks.map(([h, m, host, user, uid, kind]) => ({ at: FLEET_START + h * HOUR + m * MINUTE, host, user, uid, kind })),
  };
}

/** A fleet's events, the detector, and the scheduled times, built once. */
export interface Scenario {
  profile: FleetProfile;
  events: LogEvent[];
  detector: Detector;
  /** Every 15 minutes from the first quarter hour to the end of the tail. */
  times: number[];
  /** The last scheduled time whose window holds telemetry: strike positions are taken up to here. */
  dataEnd: number;
}

export function scenario(profile: FleetProfile): Scenario {
  const dataEnd = FLEET_START + profile.hours * HOUR;
  const times: number[] = [];
  for (let t = FLEET_START + BUCKET; t <= dataEnd + profile.tailMinutes * MINUTE; t += BUCKET) times.push(t);
  return {
    profile,
    events: [...simulateFleet(fleetSpec(profile))].map(({ event, label }) =>
      label?.attack.startsWith(`${profile.late}-`) ? { ...event, ingestionTime: event.timestamp + LATE_INGESTION_MS } : event,
    ),
    detector: createDetector(parseDetectorConfig({ learningPeriod: profile.learningPeriod, logGroups: LOG_GROUPS })),
    times,
    dataEnd,
  };
}

// ---------------------------------------------------------------------------------------------
// The matrix's dimensions

export type FaultKind = 'throttle' | 'server-error' | 'hang-up' | 'timeout' | 'partial' | 'conflict';
export type Where = 'first' | 'mid' | 'last';
export type Persistence = 'once' | 'delivery' | 'event';

export const FAULT_KINDS: readonly FaultKind[] = ['throttle', 'server-error', 'hang-up', 'timeout', 'partial', 'conflict'];
export const WHERE: readonly Where[] = ['first', 'mid', 'last'];
export const PERSISTENCES: readonly Persistence[] = ['once', 'delivery', 'event'];

export const FAULT_TEXT: Record<FaultKind, string> = {
  throttle: 'is throttled',
  'server-error': 'fails with a 5xx',
  'hang-up': 'hangs up after doing the work',
  timeout: 'times out after doing the work',
  partial: 'fails part of its batch',
  conflict: 'loses its condition to a concurrent writer',
};

export const PERSISTENCE_TEXT: Record<Persistence, string> = {
  once: 'once',
  delivery: 'for the whole delivery',
  event: 'for every delivery of the event',
};

/** What each fault does, for the report. */
export const FAULT_MEANING: Record<FaultKind, string> = {
  throttle: 'the service answers with its throttling error (CloudWatch Logs and DynamoDB `ThrottlingException`, SNS `Throttled` 429); nothing is done.',
  'server-error': 'a 5xx (`ServiceUnavailableException`, `InternalServerError`, `InternalError`); nothing is done.',
  'hang-up': 'the service does the work (DynamoDB writes, SNS publishes), then the connection is reset: the caller sees `ECONNRESET` and never learns that it succeeded.',
  timeout: 'the service does the work and never answers: the socket times out (`TimeoutError`).',
  partial: 'BatchGetItem returns every other key as `UnprocessedKeys`; PublishBatch fails every other entry (`Failed`, `InternalError`, not the sender’s fault).',
  conflict:
    'a concurrent writer really writes first, through a second store, so the conditional write fails: the same `observedSince` or checkpoint, the same anomaly record, ' +
    'an overlapping invocation that claims, publishes and records the alert, or one that takes this run’s claim over as stale and publishes it before this run records it.',
};

export const PERSISTENCE_MEANING: Record<Persistence, string> = {
  once: 'only the struck request fails; the SDK’s or the adapter’s retry meets a healthy service.',
  delivery: 'every request of that call fails until the invocation ends, so retries are exhausted; Lambda’s redelivery a minute later runs clean.',
  event: 'every request of that call fails in all three deliveries of that scheduled event: the event is dropped and the next scheduled invocation catches up.',
};

/** What the matrix found (and what was changed for it), and what it does not cover: for the report. */
export const MATRIX_NOTES: readonly string[] = [
  'Fixed, found here: a lost answer to a claim (`UpdateItem` done, the connection reset or timed out) made the run take its own claim for a ' +
    "concurrent run's: the SDK's retry failed the condition, the alert waited 30 minutes for the claim to go stale, and one found late (by the last run " +
    "whose look-back holds its bucket) expired unpublished. `claim` now also takes the run's own claim (`src/adapters/dynamodb-baseline-store.ts`), which " +
    'also lets the redelivery of a failed event (same request id, same run id) take back what the failed delivery claimed.',
  'Fixed, found here: a claim that failed part-way (one `UpdateItem` throttled past the SDK\'s retries in every delivery) left the claims made before it; ' +
    "after the event was dropped the next invocation's catch-up could not take them (15-minute claim timeout) and a late-found alert expired. " +
    '`runDetection` now gives them back before it rethrows (`src/run/run-detection.ts`), as it already did when publishing failed.',
  'Fixed, found here: an alert found late had one run to be published: when that run\'s PublishBatch failed (throttled, a 5xx or a failed entry, past ' +
    "the sink's four attempts) the record went back to pending and the next run expired it. It now stays publishable by the next run too " +
    '(`src/run/run-detection.ts`: expired when `detectedAt < runTime - bucket` rather than `< runTime`); anomalies found earlier expire as before.',
  'Limit, not a cell: an alert claimed by a concurrent invocation that then dies is taken over once the claim is older than the claim timeout ' +
    "(15 minutes, the schedule's period: the next run takes it over only if it claims later in its quarter hour than the dead one did), so a " +
    'late-found one can expire first. The concurrent writers here are live ones.',
  'Limit: when the very first scheduled event is dropped, learning starts 15 minutes later (it counts from the first window read), which can ' +
    'silence an alert right at the end of learning; by design, and the fleets keep alerts away from that boundary.',
  "Not covered: an invocation killed by Lambda's timeout. The handler's DynamoDB and SNS clients keep the SDK's default 5-minute socket timeout, so " +
    'a request that is never answered holds the invocation that long; the matrix times such requests out after 25 ms. A killed invocation leaves what ' +
    'a failed delivery leaves, which the matrix covers.',
  "Alert bodies of one anomaly can differ between runs in the explanation's typical user: ties between equally regular callers follow the order " +
    'BatchGetItem returns them (`typicalUser`, `src/run/run-detection.ts`). The `event.id` and everything compared here are stable.',
];

/** Store calls a run makes only in some cases: the fault-free schedule may not make them. */
export const OCCASIONAL_CALLS: readonly string[] = ['UpdateItem release', 'UpdateItem markExpired', 'UpdateItem addRepeat'];

/** One paragraph on what runs, for the report. */
export function describeSetup(ref: Reference): string {
  const { profile } = ref.scenario;
  return (
    `The scheduled Lambda's job (\`createDetectJob\`, wired as in \`functions/detect.ts\`: DynamoDB client 6 attempts, CloudWatch Logs 3, SNS 1 and the sink's own 4) ` +
    `runs on the real adapters: \`CloudWatchLogsSource\` against a local CloudWatch Logs server (JSON protocol; time range, streams, quoted filter terms, ` +
    `ingestion time, pages of ${PAGE_SIZE}) serving a simulated fleet (${profile.name}: raw and ENRICHED auditd, Elastic Defend, Auditbeat; ${profile.attacks.length} ` +
    `new users calling the metadata service, three of them in one quarter hour and one ingested ${LATE_INGESTION_MS / MINUTE} minutes late; learning period ${profile.learningPeriod}), ` +
    `\`DynamoDbBaselineStore\` on dynalite, \`SnsAlertSink\` against a local SNS server (query protocol). An invocation every 15 minutes of a simulated clock, ` +
    `${ref.scenario.times.length} in all (the telemetry's ${profile.hours} hours and ${profile.tailMinutes} minutes more); one that throws is delivered again ` +
    `1 and 3 minutes later with the same request id, as Lambda retries a failed asynchronous event, and dropped after the third failure. ` +
    `Faults are decided in the clients' request handlers by call (operation, and for DynamoDB what the store uses the request for) and by the n-th request of that call. ` +
    `A cell starts from a snapshot of the fault-free table just before the invocation it strikes (the invocations before are those of the fault-free schedule), ` +
    `and once the fault can strike no more and the table is again the fault-free one at the same time, the rest of its schedule is the fault-free one's.`
  );
}

/** Calls (`Operation purpose`) whose conditional write a concurrent writer can make fail. */
const CONFLICT_CALLS = new Set([
  'UpdateItem noteObserved',
  'UpdateItem advanceCheckpoint',
  'PutItem createAnomaly',
  'UpdateItem claim',
  'UpdateItem markPublished',
]);
const PARTIAL_CALLS = new Set(['BatchGetItem baselines', 'BatchGetItem anomalies', 'PublishBatch']);

/** Whether a fault can strike a call at all (a read has no condition, a single write no batch). */
export function applicable(call: string, fault: FaultKind): boolean {
  if (fault === 'partial') return PARTIAL_CALLS.has(call);
  if (fault === 'conflict') return CONFLICT_CALLS.has(call);
  return true;
}

/** How long a fault can last: a concurrent writer writes once. */
export function persistencesOf(fault: FaultKind): readonly Persistence[] {
  return fault === 'conflict' ? ['once'] : PERSISTENCES;
}

export interface Cell {
  call: string;
  fault: FaultKind;
  /** One or more positions that name the same request (`first`, or `first/last` when they coincide). */
  where: string;
  persistence: Persistence;
  /** The request of the call that is struck first (0-based, over the fault-free schedule). */
  nth: number;
}

export const cellName = (c: Cell): string =>
  `${c.call} ${FAULT_TEXT[c.fault]} on its ${c.where} call, ${PERSISTENCE_TEXT[c.persistence]}`;

// ---------------------------------------------------------------------------------------------
// The journal: what happened, in one order

export interface Publish {
  seq: number;
  /** The body's event.id. */
  id: string;
  kind: string;
  body: string;
  /** The run under test, or the concurrent writer of a conflict cell. */
  by: 'run' | 'concurrent';
  scheduled: number;
  delivery: number;
  /** The PublishBatch request (numbered by the SNS server) that carried it. */
  request: number;
  /** Status of the anomaly record when an id already published was published again. */
  recordStatus?: string;
}

export interface InjectedFault {
  /** When it took effect: after the service did the work, for hang-ups and time-outs. */
  seq: number;
  call: string;
  fault: FaultKind;
  scheduled: number;
  delivery: number;
  /** Anomaly ids (DynamoDB keys) or entry ids (PublishBatch) the request carried. */
  ids: string[];
}

export interface Delivery {
  scheduled: number;
  attempt: number;
  ok: boolean;
  error?: string;
}

export class Journal {
  private seq = 0;
  public readonly publishes: Publish[] = [];
  public readonly faults: InjectedFault[] = [];
  public readonly deliveries: Delivery[] = [];
  /** PublishBatch requests whose publishes went through but whose answer was lost (hang-up, time-out). */
  public readonly lostAnswers = new Set<number>();
  /** Requests per call, with the scheduled time of the delivery that made each. */
  public readonly requests = new Map<string, number[]>();
  /** The delivery in progress. */
  public current = { scheduled: 0, attempt: 0 };

  public next(): number {
    return ++this.seq;
  }

  /** A copy to continue from (a snapshot's journal is never written to). */
  public clone(): Journal {
    const copy = new Journal();
    copy.seq = this.seq;
    copy.publishes.push(...this.publishes.map((p) => ({ ...p })));
    copy.faults.push(...this.faults.map((f) => ({ ...f, ids: [...f.ids] })));
    copy.deliveries.push(...this.deliveries.map((d) => ({ ...d })));
    for (const n of this.lostAnswers) copy.lostAnswers.add(n);
    for (const [call, times] of this.requests) copy.requests.set(call, [...times]);
    copy.current = { ...this.current };
    return copy;
  }

  public fault(call: string, fault: FaultKind, ids: string[]): void {
    this.faults.push({ seq: this.next(), call, fault, scheduled: this.current.scheduled, delivery: this.current.attempt, ids });
  }
}

// ---------------------------------------------------------------------------------------------
// The fault plan: which request of which call fails, and for how long

export interface Strike {
  call: string;
  fault: FaultKind;
  nth: number;
  persistence: Persistence;
}

export class FaultPlan {
  private triggered: { scheduled: number; attempt: number } | undefined;

  public constructor(
    private readonly journal: Journal,
    private readonly strike?: Strike,
  ) {}

  public get struck(): boolean {
    return this.triggered !== undefined;
  }

  /** Whether the fault struck in an earlier event than this one, so it cannot strike again. */
  public settledBefore(scheduled: number): boolean {
    return this.triggered !== undefined && this.triggered.scheduled < scheduled;
  }

  /** Counts the request and says whether (and how) it fails. */
  public decide(call: string): FaultKind | undefined {
    const seen = this.journal.requests.get(call) ?? [];
    const n = seen.length;
    seen.push(this.journal.current.scheduled);
    this.journal.requests.set(call, seen);
    const s = this.strike;
    if (!s || s.call !== call) return undefined;
    const now = this.journal.current;
    if (!this.triggered) {
      if (n !== s.nth) return undefined;
      this.triggered = { ...now };
      return s.fault;
    }
    switch (s.persistence) {
      case 'once':
        return undefined;
      case 'delivery':
        return this.triggered.scheduled === now.scheduled && this.triggered.attempt === now.attempt ? s.fault : undefined;
      case 'event':
        return this.triggered.scheduled === now.scheduled ? s.fault : undefined;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Request handlers that inject the faults

type HandleArgs = Parameters<NodeHttpHandler['handle']>;
type HandleResult = Awaited<ReturnType<NodeHttpHandler['handle']>>;

const header = (request: HandleArgs[0], name: string): string => {
  const value = Object.entries(request.headers).find(([k]) => k.toLowerCase() === name)?.[1];
  return value === undefined ? '' : String(value);
};

const bodyText = (request: HandleArgs[0]): string => {
  const body: unknown = request.body;
  if (typeof body === 'string') return body;
  // Not Buffer.from(body): the SDK's JSON body is a Uint8Array whose valueOf() warns.
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  return '';
};

/** Socket time-out of the requests a server does not answer (the others have the SDK's default). */
const SHORT_SOCKET_TIMEOUT_MS = 25;

/** A time-out as NodeHttpHandler reports it. */
const timeoutError = (): Error =>
  Object.assign(new Error(`@smithy/node-http-handler - the request socket timed out after ${SHORT_SOCKET_TIMEOUT_MS} ms of inactivity (configured by client requestHandler).`), {
    name: 'TimeoutError',
  });
/** A reset connection as Node reports it. */
const hangUpError = (): Error => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

async function readAll(stream: unknown): Promise<Buffer> {
  const chunks: Buffer[] = [];
  if (stream && typeof stream === 'object' && Symbol.asyncIterator in stream) {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  return Buffer.concat(chunks);
}

/** What the store uses a DynamoDB request for, from its key and expressions. */
export function dynamoCall(operation: string, body: Record<string, unknown>): string {
  const key = (body.Key ?? body.Item) as Record<string, AttributeValue> | undefined;
  const pk = key?.['pk']?.S ?? '';
  const sk = key?.['sk']?.S ?? '';
  const expression = typeof body.UpdateExpression === 'string' ? body.UpdateExpression : '';
  switch (operation) {
    case 'GetItem':
    case 'PutItem':
      if (pk.startsWith('ANOMALY#')) return `${operation} ${operation === 'PutItem' ? 'createAnomaly' : 'anomaly'}`;
      return `${operation} ${itemName(pk, sk)}`;
    case 'UpdateItem':
      if (pk === 'MODEL' && sk === 'STATE') return expression.includes('observedSince') ? 'UpdateItem noteObserved' : 'UpdateItem advanceCheckpoint';
      if (pk.startsWith('USER#')) return 'UpdateItem learn';
      if (pk.startsWith('ANOMALY#')) {
        if (expression.startsWith('SET #s = :publishing')) return 'UpdateItem claim';
        if (expression.startsWith('SET #s = :published')) return 'UpdateItem markPublished';
        if (expression.startsWith('SET #s = :pending')) return 'UpdateItem release';
        if (expression.startsWith('SET #s = :expired')) return 'UpdateItem markExpired';
        if (expression.startsWith('ADD repeats')) return 'UpdateItem addRepeat';
        return `UpdateItem anomaly`;
      }
      return 'UpdateItem other';
    case 'BatchGetItem': {
      const items = Object.values((body.RequestItems ?? {}) as Record<string, { Keys?: Record<string, AttributeValue>[] }>);
      const first = items[0]?.Keys?.[0];
      const name = itemName(first?.['pk']?.S ?? '', first?.['sk']?.S ?? '');
      return `BatchGetItem ${name === 'baseline' ? 'baselines' : name === 'anomaly' ? 'anomalies' : `${name}s`}`;
    }
    case 'Query': {
      if (body.IndexName === 'pending') return 'Query listPending';
      const values = (body.ExpressionAttributeValues ?? {}) as Record<string, AttributeValue>;
      const partition = Object.values(values).find((v) => v.S !== undefined)?.S ?? '';
      return partition === 'EXCEPTION' ? 'Query listExceptions' : `Query ${partition.split('#')[0]?.toLowerCase() || 'other'}`;
    }
    default:
      return operation;
  }
}

/** A copy of an object without some of its keys. */
function without<T>(object: Record<string, T>, keys: readonly string[]): Record<string, T> {
  return Object.fromEntries(Object.entries(object).filter(([k]) => !keys.includes(k)));
}

/** What an item is, by its key (see the layout in dynamodb-baseline-store.ts). */
function itemName(pk: string, sk: string): string {
  if (pk === 'MODEL') return sk === 'STATE' ? 'modelState' : sk.toLowerCase();
  if (pk.startsWith('USER#')) return sk === 'BASELINE' ? 'baseline' : sk === 'ALERT' ? 'alertPointer' : sk.toLowerCase();
  if (pk.startsWith('ANOMALY#')) return 'anomaly';
  if (pk === 'EXCEPTION') return 'exception';
  return pk.split('#')[0]?.toLowerCase() || 'other';
}

/** Anomaly ids a DynamoDB request names. */
function anomalyIds(body: Record<string, unknown>): string[] {
  const keys: Record<string, AttributeValue>[] = [];
  const key = (body.Key ?? body.Item) as Record<string, AttributeValue> | undefined;
  if (key) keys.push(key);
  for (const table of Object.values((body.RequestItems ?? {}) as Record<string, { Keys?: Record<string, AttributeValue>[] }>)) keys.push(...(table.Keys ?? []));
  return keys.map((k) => k['pk']?.S ?? '').filter((pk) => pk.startsWith('ANOMALY#')).map((pk) => pk.slice('ANOMALY#'.length));
}

/** Writes through a second store, as a concurrent run would, just before the request it races. */
export type ConcurrentWriter = (call: string, body: Record<string, unknown>) => Promise<void>;

/** DynamoDB: dynalite does the work; this handler fails requests in its place. */
class DynamoFaultHandler extends NodeHttpHandler {
  public constructor(
    private readonly plan: FaultPlan,
    private readonly journal: Journal,
    private readonly concurrent: ConcurrentWriter,
  ) {
    super();
  }

  public override async handle(...[request, options]: HandleArgs): Promise<HandleResult> {
    const operation = header(request, 'x-amz-target').split('.')[1] ?? '';
    const body = JSON.parse(bodyText(request) || '{}') as Record<string, unknown>;
    const call = dynamoCall(operation, body);
    const fault = this.plan.decide(call);
    if (!fault) return super.handle(request, options);
    const ids = anomalyIds(body);
    switch (fault) {
      case 'throttle':
      case 'server-error': {
        this.journal.fault(call, fault, ids);
        const type = fault === 'throttle' ? 'ThrottlingException' : 'InternalServerError';
        const payload = JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message: fault === 'throttle' ? 'Rate of requests exceeds the allowed throughput.' : 'Internal server error' });
        return {
          response: new HttpResponse({
            statusCode: fault === 'throttle' ? 400 : 500,
            headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': `fault-${this.journal.faults.length}` },
            body: Readable.from([Buffer.from(payload)]),
          }),
        };
      }
      case 'hang-up':
      case 'timeout': {
        // The table applied the request; the answer never arrives.
        const out = await super.handle(request, options);
        await readAll(out.response.body);
        this.journal.fault(call, fault, ids);
        throw fault === 'hang-up' ? hangUpError() : timeoutError();
      }
      case 'partial': {
        // BatchGetItem: every other key comes back unprocessed (the only one, if there is one).
        const out = await super.handle(request, options);
        const reply = JSON.parse((await readAll(out.response.body)).toString('utf8') || '{}') as {
          Responses?: Record<string, Record<string, AttributeValue>[]>;
          UnprocessedKeys?: Record<string, { Keys: Record<string, AttributeValue>[]; ConsistentRead?: boolean }>;
        };
        const requested = (body.RequestItems ?? {}) as Record<string, { Keys?: Record<string, AttributeValue>[]; ConsistentRead?: boolean }>;
        for (const [table, { Keys = [], ConsistentRead }] of Object.entries(requested)) {
          const unprocessed = Keys.filter((_, i) => Keys.length === 1 || i % 2 === 1);
          const left = new Set(unprocessed.map((k) => `${k['pk']?.S}\u0000${k['sk']?.S}`));
          reply.Responses = { ...reply.Responses, [table]: (reply.Responses?.[table] ?? []).filter((item) => !left.has(`${item['pk']?.S}\u0000${item['sk']?.S}`)) };
          if (unprocessed.length > 0) reply.UnprocessedKeys = { ...reply.UnprocessedKeys, [table]: { Keys: unprocessed, ...(ConsistentRead === undefined ? {} : { ConsistentRead }) } };
        }
        this.journal.fault(call, fault, ids);
        const payload = Buffer.from(JSON.stringify(reply));
        return {
          response: new HttpResponse({
            statusCode: out.response.statusCode,
            headers: { 'content-type': 'application/x-amz-json-1.0', 'content-length': String(payload.length), 'x-amzn-requestid': `partial-${this.journal.faults.length}` },
            body: Readable.from([payload]),
          }),
        };
      }
      case 'conflict':
        this.journal.fault(call, fault, ids);
        await this.concurrent(call, body);
        return super.handle(request, options);
    }
  }
}

/** CloudWatch Logs and SNS: the local servers carry out the fault named in `x-fault`. */
class ServerFaultHandler extends NodeHttpHandler {
  /** Only requests the server will never answer go through this one. */
  private readonly short = new NodeHttpHandler({ socketTimeout: SHORT_SOCKET_TIMEOUT_MS });

  public constructor(
    private readonly plan: FaultPlan,
    private readonly journal: Journal,
    private readonly classify: (request: HandleArgs[0]) => { call: string; ids: string[] },
  ) {
    super();
  }

  public override async handle(...[request, options]: HandleArgs): Promise<HandleResult> {
    const { call, ids } = this.classify(request);
    const fault = this.plan.decide(call);
    if (!fault) return super.handle(request, options);
    request.headers['x-fault'] = fault;
    request.headers['x-fault-call'] = call;
    // A hang-up or time-out takes effect when the server has done the work: the server logs it.
    if (fault !== 'hang-up' && fault !== 'timeout') this.journal.fault(call, fault, ids);
    return fault === 'timeout' ? this.short.handle(request, options) : super.handle(request, options);
  }

  public override destroy(): void {
    this.short.destroy();
    super.destroy();
  }
}

const logsCall = (request: HandleArgs[0]): { call: string; ids: string[] } => {
  const operation = header(request, 'x-amz-target').split('.')[1] ?? '';
  if (operation !== 'FilterLogEvents') return { call: operation, ids: [] };
  const body = JSON.parse(bodyText(request) || '{}') as { logStreamNames?: unknown };
  return { call: Array.isArray(body.logStreamNames) ? 'FilterLogEvents auditRecords' : 'FilterLogEvents candidates', ids: [] };
};

const snsCall = (request: HandleArgs[0]): { call: string; ids: string[] } => {
  const form = new URLSearchParams(bodyText(request));
  const ids = [...form].filter(([k]) => /^PublishBatchRequestEntries\.member\.\d+\.Id$/.test(k)).map(([, v]) => v);
  return { call: form.get('Action') ?? 'unknown', ids };
};

/** The concurrent writer's SNS requests carry this header, so the server can tell them apart. */
class ConcurrentPublisherHandler extends NodeHttpHandler {
  public override handle(...[request, options]: HandleArgs): Promise<HandleResult> {
    request.headers['x-publisher'] = 'concurrent';
    return super.handle(request, options);
  }
}

// ---------------------------------------------------------------------------------------------
// Local servers

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function reply(res: ServerResponse, status: number, contentType: string, payload: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(payload), 'x-amzn-requestid': `req-${Math.random().toString(16).slice(2)}` });
  res.end(payload);
}

/** The quoted terms of a text filter pattern; `?` terms are OR-ed, plain ones AND-ed. */
function patternMatcher(pattern: string | undefined): (message: string) => boolean {
  const terms = [...(pattern ?? '').matchAll(/(\??)"((?:[^"\\]|\\.)*)"/g)].map((m) => ({ optional: m[1] === '?', text: (m[2] ?? '').replace(/\\(.)/g, '$1') }));
  if (terms.length === 0) return () => true;
  const any = terms.filter((t) => t.optional).map((t) => t.text);
  const all = terms.filter((t) => !t.optional).map((t) => t.text);
  return (message) => all.every((t) => message.includes(t)) && (any.length === 0 || any.some((t) => message.includes(t)));
}

/**
 * CloudWatch Logs, JSON protocol: DescribeLogGroups and FilterLogEvents over the fleet's events,
 * seeing only what was ingested by the simulated clock's time, paginated by PAGE_SIZE.
 */
async function startLogsServer(events: readonly LogEvent[], clock: () => number, journal: Journal): Promise<{ endpoint: string; close(): Promise<void> }> {
  const groups = new Map<string, LogEvent[]>();
  for (const e of events) {
    const list = groups.get(e.logGroup) ?? [];
    list.push(e);
    groups.set(e.logGroup, list);
  }
  for (const list of groups.values()) list.sort((a, b) => a.timestamp - b.timestamp);
  const cache = new Map<string, LogEvent[]>();

  const firstAtOrAfter = (list: readonly LogEvent[], time: number): number => {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((list[mid] as LogEvent).timestamp < time) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  const filter = (input: Record<string, unknown>): { status: number; body: unknown } => {
    const group = typeof input.logGroupName === 'string' ? groups.get(input.logGroupName) : undefined;
    if (!group) return { status: 400, body: { __type: 'ResourceNotFoundException', message: 'The specified log group does not exist.' } };
    const start = typeof input.startTime === 'number' ? input.startTime : 0;
    const end = typeof input.endTime === 'number' ? input.endTime : Number.MAX_SAFE_INTEGER;
    const streams = Array.isArray(input.logStreamNames) ? new Set(input.logStreamNames as string[]) : undefined;
    const pattern = typeof input.filterPattern === 'string' ? input.filterPattern : undefined;
    const now = clock();
    const key = JSON.stringify([input.logGroupName, start, end, [...(streams ?? [])], pattern, now]);
    let matching = cache.get(key);
    if (!matching) {
      const matches = patternMatcher(pattern);
      matching = [];
      for (let i = firstAtOrAfter(group, start); i < group.length; i++) {
        const e = group[i] as LogEvent;
        if (e.timestamp > end) break;
        if (e.ingestionTime > now || (streams && !streams.has(e.logStream)) || !matches(e.message)) continue;
        matching.push(e);
      }
      if (cache.size > 64) cache.clear();
      cache.set(key, matching);
    }
    const offset = typeof input.nextToken === 'string' ? Number(input.nextToken.slice('page-'.length)) : 0;
    const limit = typeof input.limit === 'number' ? Math.min(input.limit, PAGE_SIZE) : PAGE_SIZE;
    const page = matching.slice(offset, offset + limit);
    return {
      status: 200,
      body: {
        events: page.map((e) => ({ logStreamName: e.logStream, timestamp: e.timestamp, message: e.message, ingestionTime: e.ingestionTime, eventId: e.eventId })),
        searchedLogStreams: [],
        ...(offset + limit < matching.length ? { nextToken: `page-${offset + limit}` } : {}),
      },
    };
  };

  const describe = (input: Record<string, unknown>): { status: number; body: unknown } => {
    const prefix = typeof input.logGroupNamePrefix === 'string' ? input.logGroupNamePrefix : '';
    const names = [...groups.keys()].filter((n) => n.startsWith(prefix)).sort();
    return {
      status: 200,
      body: { logGroups: names.map((logGroupName) => ({ logGroupName, arn: `arn:aws:logs:us-east-1:123456789012:log-group:${logGroupName}:*`, creationTime: FLEET_START - 86_400_000, storedBytes: 0 })) },
    };
  };

  const server = createServer((req, res) => {
    void readBody(req).then((text) => {
      const fault = req.headers['x-fault'];
      if (fault === 'throttle') return reply(res, 400, 'application/x-amz-json-1.1', JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }));
      if (fault === 'server-error') return reply(res, 500, 'application/x-amz-json-1.1', JSON.stringify({ __type: 'ServiceUnavailableException', message: 'The service cannot complete the request.' }));
      const input = JSON.parse(text || '{}') as Record<string, unknown>;
      const target = String(req.headers['x-amz-target'] ?? '');
      const out =
        target === 'Logs_20140328.FilterLogEvents'
          ? filter(input)
          : target === 'Logs_20140328.DescribeLogGroups'
            ? describe(input)
            : { status: 400, body: { __type: 'UnknownOperationException', message: target } };
      if (fault === 'hang-up' || fault === 'timeout') {
        journal.fault(String(req.headers['x-fault-call']), fault, []);
        // A hang-up resets the connection; a time-out never answers and the client gives up.
        if (fault === 'hang-up') req.socket.destroy();
        return;
      }
      reply(res, out.status, 'application/x-amz-json-1.1', JSON.stringify(out.body));
    });
  });
  const endpoint = await listen(server);
  return { endpoint, close: () => close(server) };
}

const xml = (s: string): string => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * SNS, query protocol: PublishBatch (form-encoded entries, XML Successful/Failed members). Every
 * accepted alert and notice is written to the journal in the order SNS accepted it.
 */
async function startSnsServer(journal: Journal, recordStatus: (id: string) => Promise<string>): Promise<{ endpoint: string; close(): Promise<void> }> {
  let messageIds = 0;
  // Numbered after those of a restored journal, so numbers name one request each.
  let requests = journal.publishes.reduce((n, p) => Math.max(n, p.request), 0);
  const error = (res: ServerResponse, status: number, type: 'Sender' | 'Receiver', code: string, message: string): void =>
    reply(
      res,
      status,
      'text/xml',
      `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>${type}</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error><RequestId>${journal.next()}</RequestId></ErrorResponse>`,
    );

  const server = createServer((req, res) => {
    void (async () => {
      const request = ++requests;
      const form = new URLSearchParams(await readBody(req));
      const fault = req.headers['x-fault'];
      if (form.get('Action') !== 'PublishBatch') return error(res, 400, 'Sender', 'InvalidAction', `unsupported ${form.get('Action')}`);
      if (form.get('TopicArn') !== TOPIC_ARN) return error(res, 404, 'Sender', 'NotFound', 'Topic does not exist');
      if (fault === 'throttle') return error(res, 429, 'Sender', 'Throttled', 'Rate exceeded');
      if (fault === 'server-error') return error(res, 500, 'Receiver', 'InternalError', 'Internal service error');
      const entries: { Id: string; Message: string; MessageStructure?: string; kind: string }[] = [];
      for (let n = 1; form.has(`PublishBatchRequestEntries.member.${n}.Id`); n++) {
        const p = `PublishBatchRequestEntries.member.${n}.`;
        let kind = '';
        for (let a = 1; form.has(`${p}MessageAttributes.entry.${a}.Name`); a++) {
          if (form.get(`${p}MessageAttributes.entry.${a}.Name`) === 'kind') kind = form.get(`${p}MessageAttributes.entry.${a}.Value.StringValue`) ?? '';
        }
        const structure = form.get(`${p}MessageStructure`);
        entries.push({ Id: form.get(`${p}Id`) ?? '', Message: form.get(`${p}Message`) ?? '', ...(structure ? { MessageStructure: structure } : {}), kind });
      }
      if (entries.length === 0) return error(res, 400, 'Sender', 'EmptyBatchRequest', 'The batch request does not contain any entries.');
      if (entries.length > 10) return error(res, 400, 'Sender', 'TooManyEntriesInBatchRequest', 'The batch request contains more entries than permissible.');
      if (new Set(entries.map((e) => e.Id)).size !== entries.length) return error(res, 400, 'Sender', 'BatchEntryIdsNotDistinct', 'Two or more batch entries in the request have the same Id.');

      const successful: string[] = [];
      const failed: string[] = [];
      for (const [i, entry] of entries.entries()) {
        if (fault === 'partial' && (entries.length === 1 || i % 2 === 1)) {
          failed.push(`<member><Id>${xml(entry.Id)}</Id><Code>InternalError</Code><Message>Internal service error</Message><SenderFault>false</SenderFault></member>`);
          continue;
        }
        const body = entry.MessageStructure === 'json' ? String((JSON.parse(entry.Message) as { default?: unknown }).default ?? '') : entry.Message;
        const id = String((JSON.parse(body) as { event?: { id?: unknown } }).event?.id ?? '');
        const seen = journal.publishes.some((p) => p.id === id);
        journal.publishes.push({
          seq: journal.next(),
          id,
          kind: entry.kind,
          body,
          by: req.headers['x-publisher'] === 'concurrent' ? 'concurrent' : 'run',
          scheduled: journal.current.scheduled,
          delivery: journal.current.attempt,
          request,
          ...(seen ? { recordStatus: await recordStatus(id) } : {}),
        });
        successful.push(`<member><Id>${xml(entry.Id)}</Id><MessageId>00000000-0000-4000-8000-${String(++messageIds).padStart(12, '0')}</MessageId></member>`);
      }
      if (fault === 'hang-up' || fault === 'timeout') {
        // Published; the answer is lost.
        journal.lostAnswers.add(request);
        journal.fault(String(req.headers['x-fault-call']), fault, entries.map((e) => e.Id));
        if (fault === 'hang-up') req.socket.destroy();
        return;
      }
      reply(
        res,
        200,
        'text/xml',
        `<PublishBatchResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishBatchResult><Successful>${successful.join('')}</Successful><Failed>${failed.join('')}</Failed></PublishBatchResult><ResponseMetadata><RequestId>${journal.next()}</RequestId></ResponseMetadata></PublishBatchResponse>`,
      );
    })();
  });
  const endpoint = await listen(server);
  return { endpoint, close: () => close(server) };
}

// ---------------------------------------------------------------------------------------------
// One schedule

const credentials = { accessKeyId: 'AKIDFAULTMATRIX', secretAccessKey: 'fault-matrix' };
/** The SDK's standard retry (same decisions, same quota) with a 1 ms backoff, to keep cells fast. */
const fastRetries = (maxAttempts: number) => new ConfiguredRetryStrategy(maxAttempts, 1);
const noSleep = async (): Promise<void> => undefined;

/** The state before a scheduled invocation: the whole table and the journal so far. */
export interface Snapshot {
  scheduled: number;
  items: Record<string, AttributeValue>[];
  /** The items in a canonical form (sorted keys and sets), to compare tables. */
  canonical: string;
  journal: Journal;
}

export interface ScheduleOutcome {
  journal: Journal;
  struck: boolean;
  /** user -> bucket starts, of every user with a baseline item. */
  baselines: Record<string, number[]>;
  /** Final status of every anomaly record. */
  records: Record<string, string>;
  /** Before every scheduled invocation, when asked for. */
  snapshots: Snapshot[];
  /** The scheduled time from which the table was the fault-free one again, if it came back. */
  convergedAt?: number;
  warnings: number;
  wallMs: number;
}

export interface ScheduleOptions {
  strike?: Strike;
  /**
   * Start from this state instead of the beginning: the invocations before it are those of the
   * fault-free schedule (no fault has struck yet), so they are restored rather than run again.
   * The function then starts cold, as after a new deployment or a recycled sandbox.
   */
  from?: Snapshot;
  snapshots?: boolean;
  /**
   * The fault-free schedule: once the fault can no longer strike and the table is again what it
   * is there at the same scheduled time, the rest of the schedule is that of the fault-free one
   * (same state, same telemetry, same clock), so it is taken from there rather than run again.
   */
  converge?: ScheduleOutcome;
}

/** Runs the schedule (with one strike, or none) on fresh servers and a fresh table. */
export async function runSchedule(sc: Scenario, options: ScheduleOptions = {}): Promise<ScheduleOutcome> {
  const started = Date.now();
  const journal = options.from ? options.from.journal.clone() : new Journal();
  const plan = new FaultPlan(journal, options.strike);
  const { detector } = sc;
  const { config } = detector;
  let now = 0;
  const clock = (): number => now;

  const dynamo = await startEmbeddedDynamo({ tableName: TABLE });
  if (options.from) await restore(dynamo.client, options.from.items);
  const storeOptions = { tableName: TABLE, memoryMs: config.memoryMs, bucketMs: config.bucketMs, unprocessedRetry: { baseDelayMs: 1, maxDelayMs: 4 } };
  // A second instance on a clean client: the concurrent writer, and the observer at the end.
  const other = new DynamoDbBaselineStore({ client: dynamo.client, ...storeOptions });
  const logs = await startLogsServer(sc.events, clock, journal);
  const sns = await startSnsServer(journal, async (id) => (await other.getAnomalies([id])).get(id)?.status ?? 'missing');

  const concurrentSns = new SNSClient({ endpoint: sns.endpoint, region: 'us-east-1', credentials, maxAttempts: 1, requestHandler: new ConcurrentPublisherHandler() });
  const concurrentSink = new SnsAlertSink({ client: concurrentSns, topicArn: TOPIC_ARN, sleep: noSleep });
  const publishConcurrently = async (id: string, staleBefore: number): Promise<void> => {
    if (!(await other.claim([id], CONCURRENT_RUN_ID, now, staleBefore)).includes(id)) throw new Error(`concurrent writer: cannot claim ${id}`);
    const record = (await other.getAnomalies([id])).get(id);
    if (!record) throw new Error(`concurrent writer: no anomaly ${id}`);
    const accepted = await concurrentSink.publish([alertMessage(JSON.parse(record.alert) as AlertDocument, now)]);
    if (accepted.has(id)) await other.markPublished(id, CONCURRENT_RUN_ID, now);
    else await other.release(id, CONCURRENT_RUN_ID);
  };
  const concurrent: ConcurrentWriter = async (call, body) => {
    const values = (body.ExpressionAttributeValues ?? {}) as Record<string, AttributeValue>;
    const [id = ''] = anomalyIds(body);
    switch (call) {
      case 'UpdateItem noteObserved':
        // A concurrent run of the same window got there first.
        return other.noteObserved(Number(values[':v']?.N));
      case 'UpdateItem advanceCheckpoint':
        return other.advanceCheckpoint(Number(values[':t']?.N));
      case 'PutItem createAnomaly': {
        // The record this run is about to create: a concurrent run of the same window found it too.
        const record = without(unmarshall(body.Item as Record<string, AttributeValue>), ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'expiresAt']);
        await other.createAnomaly(record as unknown as AnomalyRecord);
        return;
      }
      case 'UpdateItem claim':
        // An overlapping invocation (a manual one) claims it first, publishes it and records it.
        return publishConcurrently(id, now - CLAIM_TIMEOUT_MS);
      case 'UpdateItem markPublished':
        // An invocation that took this run's claim for stale (this run was slow) publishes and
        // records it first: the one repeat the claim timeout allows.
        return publishConcurrently(id, now + 1);
      default:
        throw new Error(`no concurrent writer for ${call}`);
    }
  };

  const logsClient = new CloudWatchLogsClient({
    endpoint: logs.endpoint,
    region: 'us-east-1',
    credentials,
    retryStrategy: fastRetries(3),
    requestHandler: new ServerFaultHandler(plan, journal, logsCall),
  });
  const dynamoClient = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials,
    retryStrategy: fastRetries(6),
    requestHandler: new DynamoFaultHandler(plan, journal, concurrent),
  });
  const snsClient = new SNSClient({
    endpoint: sns.endpoint,
    region: 'us-east-1',
    credentials,
    retryStrategy: fastRetries(1),
    requestHandler: new ServerFaultHandler(plan, journal, snsCall),
  });

  // As functions/detect.ts wires them: clients at cold start, a source per invocation.
  const store = new DynamoDbBaselineStore({ client: dynamoClient, ...storeOptions });
  const alerts = new SnsAlertSink({ client: snsClient, topicArn: TOPIC_ARN, sleep: noSleep });
  let warnings = 0;
  const job = createDetectJob({
    detector,
    store,
    alerts,
    telemetryFor: (deadline) =>
      new CloudWatchLogsSource({
        client: logsClient,
        logGroups: config.logGroups,
        needles: detector.catalogue.needles,
        budget: { deadline: () => deadline, now: clock },
        sleep: noSleep,
        random: () => 0.5,
      }),
    logger: {
      info: () => undefined,
      warn: () => {
        warnings++;
      },
    },
    metrics: { addMetric: () => undefined },
    now: clock,
    maxCatchUpRuns: 12,
  });

  const snapshots: Snapshot[] = [];
  let convergedAt: number | undefined;
  try {
    for (const scheduled of sc.times) {
      if (options.from && scheduled < options.from.scheduled) continue;
      if (options.snapshots) {
        const items = await dump(dynamo.client);
        snapshots.push({ scheduled, items, canonical: canonical(items), journal: journal.clone() });
      }
      const same = options.converge?.snapshots.find((s) => s.scheduled === scheduled);
      const table = same && plan.settledBefore(scheduled) ? await dump(dynamo.client) : undefined;
      if (options.converge && table && canonical(table) === same?.canonical) {
        convergedAt = scheduled;
        const rest = options.converge.journal;
        // The alert documents of this table (see canonical) with the fault-free run's @timestamp.
        const documents = new Map(table.filter((i) => i['alert']?.S !== undefined).map((i) => [i['id']?.S ?? '', i['alert']?.S ?? '']));
        for (const p of rest.publishes) {
          if (p.scheduled < scheduled) continue;
          const document = p.kind === 'alert' ? documents.get(p.id) : undefined;
          const at = Date.parse(String((JSON.parse(p.body) as Record<string, unknown>)['@timestamp']));
          const body = document === undefined ? p.body : alertMessage(JSON.parse(document) as AlertDocument, at).body;
          journal.publishes.push({ ...p, body, seq: journal.next(), request: 0 });
        }
        for (const d of rest.deliveries) if (d.scheduled >= scheduled) journal.deliveries.push({ ...d });
        for (const [call, times] of rest.requests) journal.requests.set(call, [...(journal.requests.get(call) ?? []), ...times.filter((t) => t >= scheduled)]);
        break;
      }
      // Lambda keeps the request id of an async event across its retries.
      const context = { awsRequestId: `req-${new Date(scheduled).toISOString()}`, getRemainingTimeInMillis: () => 600_000 };
      for (const [attempt, delay] of REDELIVERY_DELAYS_MS.entries()) {
        now = scheduled + INVOCATION_DELAY_MS + delay;
        journal.current = { scheduled, attempt };
        try {
          await job({ time: new Date(scheduled).toISOString() }, context);
          journal.deliveries.push({ scheduled, attempt, ok: true });
          break;
        } catch (error) {
          journal.deliveries.push({ scheduled, attempt, ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
        }
      }
    }
    journal.current = { scheduled: Number.POSITIVE_INFINITY, attempt: 0 };
    if (convergedAt !== undefined && options.converge) {
      const { baselines, records } = options.converge;
      return { journal, struck: plan.struck, baselines, records, snapshots, convergedAt, warnings, wallMs: Date.now() - started };
    }
    const users = (await scan(dynamo.client, 'begins_with(pk, :p) AND sk = :s', { ':p': { S: 'USER#' }, ':s': { S: 'BASELINE' } }))
      .map((item) => String(item.pk).slice('USER#'.length))
      .sort();
    const found = await other.getBaselines(users);
    const baselines: Record<string, number[]> = {};
    for (const user of users) {
      const buckets = found.get(user)?.buckets;
      if (buckets) baselines[user] = buckets;
    }
    const anomalies = await scan(dynamo.client, 'begins_with(pk, :p)', { ':p': { S: 'ANOMALY#' } });
    const records = Object.fromEntries(anomalies.map((a) => [String(a.id), String(a.status)]).sort(([a = ''], [b = '']) => a.localeCompare(b)));
    return { journal, struck: plan.struck, baselines, records, snapshots, warnings, wallMs: Date.now() - started };
  } finally {
    logsClient.destroy();
    dynamoClient.destroy();
    snsClient.destroy();
    concurrentSns.destroy();
    await Promise.all([logs.close(), sns.close(), dynamo.close()]);
  }
}

/**
 * JSON with sorted keys and sorted sets: equal tables give equal text, whatever the order DynamoDB
 * returns. The alert documents are left out: their explanation names the most regular caller, and
 * between callers as regular as each other the pick follows the order BatchGetItem returned them.
 */
function canonical(items: readonly Record<string, AttributeValue>[]): string {
  const value = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(value);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, x]) => [k, (k === 'NS' || k === 'SS') && Array.isArray(x) ? [...(x as string[])].sort() : value(x)]),
      );
    }
    return v;
  };
  return items
    .map((item) => JSON.stringify(value(without(item, ['alert']))))
    .sort()
    .join('\n');
}

/** Every item of the table, as stored. */
async function dump(client: DynamoDBClient): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out = await client.send(new ScanCommand({ TableName: TABLE, ExclusiveStartKey: start, ConsistentRead: true }));
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

async function restore(client: DynamoDBClient, items: readonly Record<string, AttributeValue>[]): Promise<void> {
  for (let i = 0; i < items.length; i += 25) {
    let requests = { [TABLE]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) };
    for (;;) {
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: requests }));
      const left = out.UnprocessedItems?.[TABLE];
      if (!left || left.length === 0) break;
      requests = { [TABLE]: left as { PutRequest: { Item: Record<string, AttributeValue> } }[] };
    }
  }
}

async function scan(client: DynamoDBClient, filter: string, values: Record<string, AttributeValue>): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out = await client.send(new ScanCommand({ TableName: TABLE, FilterExpression: filter, ExpressionAttributeValues: values, ExclusiveStartKey: start, ConsistentRead: true }));
    for (const item of out.Items ?? []) items.push(unmarshall(item));
    start = out.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

// ---------------------------------------------------------------------------------------------
// The fault-free reference and the matrix

export interface Reference {
  scenario: Scenario;
  outcome: ScheduleOutcome;
  /** Alert ids, and the scheduled time of the run that first published each. */
  alerts: Map<string, number>;
  /** Calls with at least one request in the data span, and their requests there, in the order a run makes them. */
  calls: Map<string, number>;
}

const alertPublishes = (journal: Journal): Publish[] => journal.publishes.filter((p) => p.kind === 'alert');

export async function reference(sc: Scenario): Promise<Reference> {
  const outcome = await runSchedule(sc, { snapshots: true });
  const alerts = new Map<string, number>();
  for (const p of alertPublishes(outcome.journal)) if (!alerts.has(p.id)) alerts.set(p.id, p.scheduled);
  const calls = new Map<string, number>();
  for (const [call, times] of [...outcome.journal.requests].sort(([a], [b]) => callOrder(a) - callOrder(b) || a.localeCompare(b))) {
    const inSpan = times.filter((t) => t <= sc.dataEnd).length;
    if (inSpan > 0) calls.set(call, inSpan);
  }
  return { scenario: sc, outcome, alerts, calls };
}

/** Calls in the order a run makes them; calls the store adds later sort after these. */
const CALL_ORDER = [
  'GetItem modelState',
  'DescribeLogGroups',
  'FilterLogEvents candidates',
  'FilterLogEvents auditRecords',
  'UpdateItem noteObserved',
  'BatchGetItem baselines',
  'UpdateItem learn',
  'BatchGetItem anomalies',
  'PutItem createAnomaly',
  'Query listPending',
  'UpdateItem markExpired',
  'UpdateItem claim',
  'PublishBatch',
  'UpdateItem markPublished',
  'UpdateItem release',
  'UpdateItem advanceCheckpoint',
];
const callOrder = (call: string): number => {
  const i = CALL_ORDER.indexOf(call);
  return i < 0 ? CALL_ORDER.length : i;
};

/** Request indexes of the first, middle and last request; positions naming the same request are merged. */
function positions(count: number): { where: string; nth: number }[] {
  const byNth = new Map<number, string[]>();
  for (const [where, nth] of [
    ['first', 0],
    ['mid', Math.floor((count - 1) / 2)],
    ['last', count - 1],
  ] as const) byNth.set(nth, [...(byNth.get(nth) ?? []), where]);
  return [...byNth].map(([nth, names]) => ({ where: names.join('/'), nth }));
}

/** Every cell: each call of the reference x each fault that applies x where x persistence. */
export function fullMatrix(ref: Reference): Cell[] {
  const cells: Cell[] = [];
  for (const [call, count] of ref.calls) {
    for (const fault of FAULT_KINDS) {
      if (!applicable(call, fault)) continue;
      for (const { where, nth } of positions(count)) for (const persistence of persistencesOf(fault)) cells.push({ call, fault, where, persistence, nth });
    }
  }
  return cells;
}

/**
 * One cell per (call, fault). Per fault, the persistence and the position rotate over the calls
 * (every pair of them within nine calls), so that together the cells strike every position with
 * every persistence of every fault.
 */
export function reducedMatrix(ref: Reference): Cell[] {
  const cells: Cell[] = [];
  const seen = new Map<FaultKind, number>();
  for (const [call, count] of ref.calls) {
    for (const fault of FAULT_KINDS) {
      if (!applicable(call, fault)) continue;
      const k = seen.get(fault) ?? 0;
      seen.set(fault, k + 1);
      const lasting = persistencesOf(fault);
      const persistence = lasting[k % lasting.length] as Persistence;
      const all = positions(count);
      const wanted = WHERE[(k + Math.floor(k / lasting.length)) % WHERE.length] as Where;
      const { where, nth } = all.find((p) => p.where.split('/').includes(wanted)) ?? (all[0] as { where: string; nth: number });
      cells.push({ call, fault, where, nth, persistence });
    }
  }
  return cells;
}

// ---------------------------------------------------------------------------------------------
// Judging a cell

export type Verdict = 'ok' | 'lost' | 'duplicated' | 'extra' | 'did not cope' | 'not struck';

export interface CellResult {
  cell: Cell;
  verdicts: Verdict[];
  problems: string[];
  /** Alert entries SNS accepted, repeats included. */
  publishes: number;
  /** Publishes of an id already published, all inside the window between publish and record. */
  allowedRepeats: number;
  /** Alerts first published by a later scheduled run than without the fault. */
  late: number;
  deliveries: number;
  redeliveries: number;
  /** Events whose three deliveries all failed (left to the next scheduled run). */
  dropped: number;
  /** Requests the fault plan failed (every attempt counted). */
  injected: number;
  /** HTTP requests to the three services, retries included. */
  requests: number;
  /** Scheduled runs from the strike until the table was the fault-free one again (undefined: it never was). */
  convergedAfter?: number;
  wallMs: number;
}

const withoutTimestamp = (body: string): string => JSON.stringify(without(JSON.parse(body) as Record<string, unknown>, ['@timestamp']));

const iso = (ms: number): string => new Date(ms).toISOString();
const hhmm = (ms: number): string => iso(ms).slice(11, 16);

export function judge(cell: Cell, ref: Reference, outcome: ScheduleOutcome): CellResult {
  const { journal } = outcome;
  const problems: string[] = [];
  const verdicts = new Set<Verdict>();
  const publishes = alertPublishes(journal);

  // Nothing lost, nothing extra: the same ids, the same baselines.
  const ids = new Set(publishes.map((p) => p.id));
  for (const [id, at] of ref.alerts) {
    if (ids.has(id)) continue;
    verdicts.add('lost');
    problems.push(`alert ${id} (published at ${hhmm(at)} without the fault) was never published; its record is ${outcome.records[id] ?? 'missing'}`);
  }
  for (const id of ids) {
    if (ref.alerts.has(id)) continue;
    verdicts.add('extra');
    problems.push(`alert ${id} is not published without the fault`);
  }
  const refBaselines = ref.outcome.baselines;
  for (const user of new Set([...Object.keys(refBaselines), ...Object.keys(outcome.baselines)])) {
    const a = refBaselines[user] ?? [];
    const b = outcome.baselines[user] ?? [];
    if (a.length === b.length && a.every((x, i) => x === b[i])) continue;
    verdicts.add('lost');
    const gone = a.filter((x) => !b.includes(x)).map(hhmm);
    const added = b.filter((x) => !a.includes(x)).map(hhmm);
    problems.push(`baseline of ${user} differs: missing buckets [${gone.join(', ')}], extra buckets [${added.join(', ')}]`);
  }

  // Repeats: only while the record is not yet published, after a fault, with the same event.
  let allowedRepeats = 0;
  const byId = new Map<string, Publish[]>();
  for (const p of publishes) byId.set(p.id, [...(byId.get(p.id) ?? []), p]);
  for (const [id, list] of byId) {
    const first = list[0] as Publish;
    for (let i = 1; i < list.length; i++) {
      const previous = list[i - 1] as Publish;
      const repeat = list[i] as Publish;
      const why: string[] = [];
      if (repeat.recordStatus === 'published') why.push('its record was already published');
      // The fault is the lost answer to the previous publish, or one that struck after it.
      if (!journal.lostAnswers.has(previous.request) && !journal.faults.some((f) => f.seq > previous.seq && f.seq < repeat.seq))
        why.push('no fault struck since the previous publish');
      if (withoutTimestamp(repeat.body) !== withoutTimestamp(first.body)) why.push('the body differs');
      if (why.length === 0) allowedRepeats++;
      else {
        verdicts.add('duplicated');
        problems.push(`alert ${id} published again by the ${hhmm(repeat.scheduled)} run (delivery ${repeat.delivery + 1}, ${repeat.by}): ${why.join('; ')}`);
      }
    }
  }

  // A lost condition is an answer, not an error: the run goes on.
  const failed = journal.deliveries.filter((d) => !d.ok);
  if (cell.fault === 'conflict' && failed.length > 0) {
    verdicts.add('did not cope');
    problems.push(`${failed.length} delivery(ies) failed: ${failed[0]?.error ?? ''}`);
  }

  if (!outcome.struck) {
    verdicts.add('not struck');
    problems.push(`request ${cell.nth} of ${cell.call} never happened`);
  }

  let late = 0;
  for (const [id, at] of ref.alerts) {
    const first = byId.get(id)?.[0];
    if (first && first.scheduled > at) late++;
  }
  const failures = new Map<number, number>();
  for (const d of journal.deliveries) if (!d.ok) failures.set(d.scheduled, (failures.get(d.scheduled) ?? 0) + 1);
  return {
    cell,
    verdicts: verdicts.size === 0 ? ['ok'] : [...verdicts],
    problems,
    publishes: publishes.length,
    allowedRepeats,
    late,
    deliveries: journal.deliveries.length,
    redeliveries: journal.deliveries.filter((d) => d.attempt > 0).length,
    dropped: [...failures.values()].filter((n) => n >= REDELIVERY_DELAYS_MS.length).length,
    injected: journal.faults.length,
    requests: [...journal.requests.values()].reduce((n, times) => n + times.length, 0),
    ...(outcome.convergedAt === undefined ? {} : { convergedAfter: Math.round((outcome.convergedAt - (struckAt(cell, ref) ?? outcome.convergedAt)) / BUCKET) }),
    wallMs: outcome.wallMs,
  };
}

/** The scheduled time of the invocation that makes the struck request. */
const struckAt = (cell: Cell, ref: Reference): number | undefined => ref.outcome.journal.requests.get(cell.call)?.[cell.nth];

/** The snapshot just before the invocation that makes the struck request. */
function startingPoint(cell: Cell, ref: Reference): Snapshot | undefined {
  const at = struckAt(cell, ref);
  if (at === undefined) return undefined;
  return ref.outcome.snapshots.filter((s) => s.scheduled <= at).at(-1);
}

export async function runCell(cell: Cell, ref: Reference): Promise<CellResult> {
  const from = startingPoint(cell, ref);
  const outcome = await runSchedule(ref.scenario, {
    strike: { call: cell.call, fault: cell.fault, nth: cell.nth, persistence: cell.persistence },
    converge: ref.outcome,
    ...(from ? { from } : {}),
  });
  return judge(cell, ref, outcome);
}
