// runDetection --> ports --> adapters (CloudWatch Logs / files, DynamoDB / dynalite, SNS / NDJSON)
//
// The core names what it needs, not which AWS service provides it. Adapters live in src/adapters.

import type { LogEvent } from './telemetry/log-event.js';

/** A half-open time window [start, end) in ms since the epoch. */
export interface TimeWindow {
  start: number;
  end: number;
}

/** Identifies one auditd event: the records of one syscall share it within one log stream. */
export interface AuditEventKey {
  logGroup: string;
  logStream: string;
  /** `node=` prefix of the record, '' when absent. */
  node: string;
  /** `SECONDS.MILLIS:SERIAL` exactly as written inside `msg=audit(...)`. */
  auditId: string;
}

export interface TelemetrySource {
  /**
   * Events of the window that may be metadata traffic. A source may filter server-side (a
   * CloudWatch filter pattern) or yield everything: the core re-checks each message.
   */
  candidates(window: TimeWindow): AsyncIterable<LogEvent>;
  /**
   * Every auditd record of the given events (SYSCALL above all: it carries the user, while the
   * matching SOCKADDR/EXECVE/PROCTITLE records carry the address). Second, targeted read.
   */
  auditRecords(window: TimeWindow, keys: readonly AuditEventKey[]): AsyncIterable<LogEvent>;
  /** Configured log groups that do not exist (or prefixes that match none), as last seen. */
  readonly missingLogGroups?: readonly string[];
}

/** What the store remembers of one user: the buckets in which it called the metadata service. */
export interface UserBaseline {
  user: string;
  /** Start (ms) of every bucket seen within memory, ascending, without duplicates. */
  buckets: number[];
  /** Hosts it called from, sorted; at most 20 (the store caps them), kept while the baseline lives; absent in older state. */
  hosts?: string[];
  /** Processes (executable, else name) that called, sorted; capped and kept like `hosts`. */
  processes?: string[];
}

export interface ModelState {
  /** Start of the earliest window any run has read (ms); undefined before the first run. */
  observedSince?: number;
  /** Run time of the latest completed run (ms): the next scheduled run catches up from here. */
  checkpoint?: number;
}

/** One user's new buckets, and the cut-off below which its old buckets may be forgotten. */
export interface BaselineUpdate {
  user: string;
  add: number[];
  /** Buckets older than this (ms) are out of memory. */
  forgetBefore: number;
  /** Hosts and processes seen in the new buckets, for `imds-watch baseline` (a capped set; idempotent). */
  hosts?: string[];
  processes?: string[];
}

export type AnomalyStatus = 'pending' | 'publishing' | 'published' | 'excepted' | 'suppressed' | 'expired';

/** Every anomaly found is recorded with its status; nothing is silently dropped. */
export interface AnomalyRecord {
  /** The alert's stable `event.id`. */
  id: string;
  status: AnomalyStatus;
  user: string;
  host: string;
  score: number;
  bucketStart: number;
  /** Run time (ms) of the run that first found it. */
  detectedAt: number;
  /** Run time (ms) of the run that published it. */
  publishedAt?: number;
  /** Run that claimed it for publication (status `publishing`), and when. */
  claimedBy?: string;
  claimedAt?: number;
  /** Why it was excepted. */
  reason?: string;
  /** The published alert of the same user that this repeat was folded into (status `suppressed`). */
  suppressedBy?: string;
  /** Ids of later anomalies of the same user folded into this alert. */
  repeats?: string[];
  /** The alert document as JSON, without its `@timestamp` (set by the run that publishes it). */
  alert: string;
}

export interface BaselineStore {
  getModelState(): Promise<ModelState>;
  /** Records that a run has read from `windowStart`: keeps the earliest value (idempotent). */
  noteObserved(windowStart: number): Promise<void>;
  /** Records that the run at `runTime` completed; the checkpoint only moves forward. */
  advanceCheckpoint(runTime: number): Promise<void>;
  /** Batched read; users with no history are absent from the result. */
  getBaselines(users: readonly string[]): Promise<Map<string, UserBaseline>>;
  /** Idempotent: adding a bucket twice, or from two runs at once, counts it once. */
  learn(updates: readonly BaselineUpdate[]): Promise<void>;
  /** Batched, strongly consistent read of anomaly records. */
  getAnomalies(ids: readonly string[]): Promise<Map<string, AnomalyRecord>>;
  /** Creates the record unless one with its id exists; returns whether it created it. */
  createAnomaly(record: AnomalyRecord): Promise<boolean>;
  /** Records waiting for publication (`pending`, or `publishing` left by a run that died). */
  listPending(): Promise<AnomalyRecord[]>;
  /**
   * Moves `pending` records (or `publishing` ones claimed before `staleBefore`) to `publishing`
   * for this run; returns the ids it claimed. A concurrent run's claim makes a record fail here.
   */
  claim(ids: readonly string[], runId: string, now: number, staleBefore: number): Promise<string[]>;
  /** Final states; idempotent. */
  markPublished(id: string, runId: string, at: number): Promise<void>;
  /** Gives a claimed but unpublished record back to `pending`. */
  release(id: string, runId: string): Promise<void>;
  /**
   * Expires a `pending` record, or a `publishing` one whose claim is older than `staleBefore`;
   * returns whether it did (a record a live run is publishing is left to that run).
   */
  markExpired(id: string, staleBefore: number): Promise<boolean>;
  /** Exceptions written at run time, expired ones included (the caller decides what applies). */
  listExceptions(): Promise<StoredException[]>;
  /** Creates or replaces the exception with this id. */
  putException(exception: StoredException): Promise<void>;
  /** Returns whether there was one to remove. */
  removeException(id: string): Promise<boolean>;
  /** Batched read of the users' latest alerts. */
  getAlertPointers(users: readonly string[]): Promise<Map<string, UserAlertPointer>>;
  /** Points the user at a newer alert; an older pointer never replaces a newer one. */
  setAlertPointer(pointer: UserAlertPointer): Promise<void>;
  /** Folds a repeat into an alert's record (idempotent: a repeat id counts once). */
  addRepeat(alertId: string, repeatId: string): Promise<void>;
  getHealth(): Promise<HealthState>;
  putHealth(state: HealthState): Promise<void>;
  // --- backfill (src/run/backfill.ts): its progress, so that an interrupted backfill resumes ---
  /** The latest backfill's progress, if one was ever started. */
  getBackfill(): Promise<BackfillProgress | undefined>;
  /** Creates or replaces the backfill progress (a new backfill, a restart, a wider target). */
  putBackfill(progress: BackfillProgress): Promise<void>;
  /**
   * Moves `doneUntil` of the backfill that `startedBy` started forward (never back). Returns false
   * when the stored progress belongs to another backfill (restarted elsewhere): the caller stops.
   */
  advanceBackfill(startedBy: string, doneUntil: number, updatedAt: number): Promise<boolean>;
  // --- end backfill ---
  /** Requests made so far, by operation, for the run summary. */
  requestCounts(): Record<string, number>;
}

/** An exception written at run time (`imds-watch exceptions add`), merged with those in config. */
export interface StoredException {
  id: string;
  user?: string;
  process?: string;
  host?: string;
  reason: string;
  /** ISO date after which it stops applying (listed as expired). */
  expires?: string;
  createdBy: string;
  /** ms since the epoch. */
  createdAt: number;
}

/** The latest alert of a user, for suppressing repeats within the suppression window. */
export interface UserAlertPointer {
  user: string;
  alertId: string;
  bucketStart: number;
}

/** An open health condition: when it started and the notice that reported it. */
export interface HealthCondition {
  since: number;
  detail: string;
  noticeId: string;
}

/**
 * Progress of a backfill (`imds-watch backfill`, or the one-shot invocation of the function): the
 * learn-only runs that build the baselines from history. One item; a resumed backfill continues it.
 */
export interface BackfillProgress {
  /** History from here (ms)... */
  from: number;
  /** ...to here (ms): learned by windows that end in (from, to]. */
  to: number;
  /** Every window ending at or before this is learned (ms); `from` before the first run. */
  doneUntil: number;
  /** When it was started (ms, wall clock) and last advanced. */
  startedAt: number;
  updatedAt: number;
  /** The invocation or CLI process that started it: advances are conditional on it. */
  startedBy: string;
}

export interface HealthState {
  /** Run time of the latest run that read at least one event. */
  lastEventsAt?: number;
  open: Record<string, HealthCondition>;
}

/** A message for the topic: the alert or notice body, and its routing attributes. */
export interface OutgoingMessage {
  /** The alert's `event.id`: SNS FIFO deduplication id, and the key of partial-failure reports. */
  id: string;
  subject: string;
  body: string;
  /** A plain-text rendering for email subscribers (SNS MessageStructure json), when there is one. */
  emailText?: string;
  attributes: Record<string, string>;
}

export interface AlertSink {
  /** Publishes what it can; returns the ids that were accepted. Never throws for a partial failure. */
  publish(messages: readonly OutgoingMessage[]): Promise<Set<string>>;
  requestCounts(): Record<string, number>;
}

// --- aggregated telemetry (Logs Insights mode, src/telemetry/insights/INSIGHTS.md) ---

/**
 * One server-side aggregate: the metadata calls of one user from one host in one bucket, as read
 * from one log stream. Users and hosts are already named as the normalizers name them.
 */
export interface ActivityRow {
  logGroup: string;
  logStream: string;
  bucketStart: number;
  user: string;
  userId?: string;
  host: string;
  calls: number;
  /** Earliest and latest call (ms) of the row. */
  firstTime: number;
  lastTime: number;
}

/** What an aggregating source read for a window. */
export interface ActivityReading {
  rows: ActivityRow[];
  /** Records the queries scanned (CloudWatch's own statistic): telemetry is arriving when > 0. */
  recordsScanned: number;
  /** Records that matched the query's filters (candidate metadata records). */
  recordsMatched: number;
  bytesScanned: number;
  /** Result rows the queries returned that could not be read (no group, stream or bucket): counted, not used. */
  rowsSkipped: number;
}

/** The log streams whose events explain one (bucket, user): evidence is read only there. */
export interface EvidenceTarget {
  logGroup: string;
  logStream: string;
}

/**
 * A source that aggregates server-side (CloudWatch Logs Insights) and reads source events only
 * for what will alert. runDetection uses it instead of `TelemetrySource.candidates` when present.
 */
export interface AggregatedTelemetrySource {
  /** (bucket, user, host, stream) aggregates of the window's metadata calls. */
  activity(window: TimeWindow): Promise<ActivityReading>;
  /** A TelemetrySource that reads only the given streams (their candidate events and auditd records). */
  evidence(targets: readonly EvidenceTarget[]): TelemetrySource;
  /** Configured log groups that do not exist (or prefixes that match none), as last seen. */
  readonly missingLogGroups?: readonly string[];
}
