// handler / CLI --> (runDetection) --> ports: telemetry, store, alerts
//
// One run, shared by the Lambda and the replay CLI:
// 1. Read the window [t - lookback, t) and normalize it into observations.
// 2. Group them by (bucket, user); score each against the user's history before that bucket.
// 3. Learn: add the buckets seen (idempotent, so overlapping runs and retries count them once).
// 4. Record every anomaly with its status; except, rank fairly, cap, publish, and record the outcome.
// 5. Return one summary.

import type { DetectorConfig } from '../config/detector-config.js';
import type { DetectionRule } from '../detections/detection-rule.js';
import { unusualLinuxUserImdsRule } from '../detections/credential_access_unusual_linux_user_imds.js';
import { createEndpointCatalogue, type EndpointCatalogue } from '../endpoints/endpoint-catalogue.js';
import { buildAlertDocument, type AlertDocument, type TypicalUser } from '../alerts/alert-document.js';
import { compileException, findException } from '../alerts/exceptions.js';
import { alertMessage, overflowNotice } from '../alerts/outgoing-message.js';
import { rankFairly } from '../alerts/rank-alerts.js';
import { groupByBucketAndUser, mainHost, type BucketActivity } from '../model/bucket-activity.js';
import { presenceBefore, scoreBucket } from '../model/rare-user-model.js';
import type {
  AggregatedTelemetrySource,
  AlertSink,
  AnomalyRecord,
  BaselineStore,
  BaselineUpdate,
  TelemetrySource,
  TimeWindow,
  UserAlertPointer,
} from '../ports.js';
import { activitiesFromRows, streamsOf } from '../telemetry/insights/activity-rows.js';
import { createPrefilter, type Prefilter } from '../telemetry/prefilter.js';
import { readWindow } from '../telemetry/read-window.js';
import { emptyRunSummary, type RunSummary } from './run-summary.js';

export interface RunPorts {
  telemetry: TelemetrySource;
  /**
   * Logs Insights mode: activity is aggregated server-side and `telemetry` is not read; evidence
   * is read from the aggregated source, only for the anomalies recorded by this run.
   */
  aggregated?: AggregatedTelemetrySource;
  store: BaselineStore;
  alerts: AlertSink;
  /** Wall-clock time for claims (in replay: the simulated run time). */
  now(): number;
}

export interface RunOptions {
  /** Unique per invocation (a retry of the same scheduled time gets a new one). */
  runId: string;
  /** A claim older than this is taken to belong to a run that died; must exceed the function timeout. @default 15 min */
  claimTimeoutMs?: number;
  /**
   * `learn` (a backfill) only builds baselines: nothing is scored into anomalies, recorded or
   * published. @default 'detect'
   */
  mode?: 'detect' | 'learn';
  /** Called for every (bucket, user) scored, e.g. to draw the replay report's timelines. */
  onScore?: (scored: ScoredBucket) => void;
}

/** One (bucket, user) as the model scored it. */
export interface ScoredBucket {
  user: string;
  bucketStart: number;
  hosts: string[];
  calls: number;
  score: number;
  /** Whether it counted as an anomaly (at or above the threshold, after the learning period). */
  anomaly: boolean;
  learning: boolean;
}

/** What a run needs that does not change between runs: built once (cold start, CLI start). */
export interface Detector {
  config: DetectorConfig;
  rule: DetectionRule;
  catalogue: EndpointCatalogue;
  prefilter: Prefilter;
  exceptions: ReturnType<typeof compileException>[];
}

export function createDetector(config: DetectorConfig, rule: DetectionRule = unusualLinuxUserImdsRule): Detector {
  const catalogue = createEndpointCatalogue(config.endpoints);
  return { config, rule, catalogue, prefilter: createPrefilter(catalogue), exceptions: config.exceptions.map(compileException) };
}

/** The run time of a scheduled invocation: floored to the bucket boundary. */
export const runTimeOf = (scheduled: number, bucketMs: number): number => Math.floor(scheduled / bucketMs) * bucketMs;

const diffCounts = (after: Record<string, number>, before: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => v !== 0));

export async function runDetection(detector: Detector, ports: RunPorts, runTime: number, options: RunOptions): Promise<RunSummary> {
  const { config } = detector;
  const { store, alerts } = ports;
  const storeBefore = store.requestCounts();
  const sinkBefore = alerts.requestCounts();
  const window: TimeWindow = { start: runTime - config.lookbackMs, end: runTime };
  const summary = emptyRunSummary(runTime, window);

  // 1. Read and normalize (filter mode), or read the server-side aggregates (Insights mode).
  let activities: BucketActivity[];
  let rows: Parameters<typeof streamsOf>[0] = [];
  if (ports.aggregated) {
    const reading = await ports.aggregated.activity(window);
    rows = reading.rows;
    // Rows without a usable user are what the normalizers skip as 'unknown-shape'.
    const skipped = reading.rowsSkipped > 0 ? { 'unknown-shape': reading.rowsSkipped } : {};
    summary.events = { read: reading.recordsScanned, candidates: reading.recordsMatched, skipped };
    summary.observations = rows.reduce((n, r) => n + r.calls, 0);
    activities = activitiesFromRows(rows);
  } else {
    const reading = await readWindow(ports.telemetry, window, detector.catalogue, detector.prefilter);
    summary.events = { read: reading.eventsRead, candidates: reading.candidates, skipped: reading.skipped };
    summary.observations = reading.observations.length;
    summary.lag = reading.lag;
    activities = groupByBucketAndUser(reading.observations, config.bucketMs);
  }

  // 2. Group and score.
  await store.noteObserved(window.start);
  const model = await store.getModelState();
  const observedSince = Math.min(model.observedSince ?? window.start, window.start);
  const learningUntil = observedSince + config.learningPeriodMs;
  summary.learning = runTime < learningUntil;

  const users = [...new Set(activities.map((a) => a.user))].sort();
  summary.users = users.length;
  summary.buckets = activities.length;
  const baselines = await store.getBaselines(users);
  const params = { memoryMs: config.memoryMs };
  const typical = typicalUser(baselines, runTime, observedSince, params);

  const alertDocument = (activity: BucketActivity, score: ReturnType<typeof scoreBucket>): AlertDocument =>
    buildAlertDocument(activity, score, typical && typical.user !== activity.user ? typical : undefined, {
      rule: detector.rule,
      region: config.region,
      bucketMs: config.bucketMs,
      threshold: config.anomalyThreshold,
      detectedAt: runTime,
    });
  const anomalies: { activity: BucketActivity; doc: AlertDocument; scored: ReturnType<typeof scoreBucket> }[] = [];
  for (const activity of activities) {
    const history = baselines.get(activity.user)?.buckets ?? [];
    const score = scoreBucket({ bucketStart: activity.bucketStart, history, observedSince }, params);
    options.onScore?.({
      user: activity.user,
      bucketStart: activity.bucketStart,
      hosts: [...activity.hosts.keys()].sort(),
      calls: activity.calls,
      score: score.score,
      anomaly: score.score >= config.anomalyThreshold && activity.bucketStart >= learningUntil,
      learning: activity.bucketStart < learningUntil,
    });
    if (score.score < config.anomalyThreshold || options.mode === 'learn') continue;
    if (activity.bucketStart < learningUntil) {
      summary.anomalies.duringLearning++;
      continue;
    }
    anomalies.push({ activity, doc: alertDocument(activity, score), scored: score });
  }
  summary.anomalies.found = anomalies.length;

  // Insights mode: the aggregates carry no processes or evidence. Read the source events of the
  // anomalies this run records for the first time, only from the streams that hold them, through
  // the same normalizers; their activity (evidence, processes) then is what the filter mode builds.
  const existing = options.mode === 'learn' ? new Map<string, AnomalyRecord>() : await store.getAnomalies(anomalies.map((a) => a.doc.event.id));
  if (ports.aggregated && options.mode !== 'learn') {
    const fresh = anomalies.filter((a) => !existing.has(a.doc.event.id));
    const targets = fresh.flatMap((a) => streamsOf(rows, a.activity.user, a.activity.bucketStart));
    if (targets.length > 0) {
      const evidence = await readWindow(ports.aggregated.evidence(targets), window, detector.catalogue, detector.prefilter);
      const read = new Map(groupByBucketAndUser(evidence.observations, config.bucketMs).map((a) => [`${a.bucketStart}\u0000${a.user}`, a]));
      for (const a of fresh) {
        const full = read.get(`${a.activity.bucketStart}\u0000${a.activity.user}`);
        if (!full) continue; // evidence gone (stream deleted) or not normalizable: alert on the aggregate
        const index = activities.indexOf(a.activity);
        if (index >= 0) activities[index] = full;
        a.activity = full;
        a.doc = alertDocument(full, a.scored);
      }
    }
  }

  // 3. Learn (after scoring: a bucket is never its own history, whatever the order of runs).
  await store.learn(learningUpdates(activities, baselines, runTime - config.memoryMs));

  if (options.mode === 'learn') {
    summary.requests = { store: diffCounts(store.requestCounts(), storeBefore), sink: diffCounts(alerts.requestCounts(), sinkBefore) };
    return summary;
  }

  // 4. Record, except, suppress, rank, publish.
  const fresh = anomalies.filter((a) => !existing.has(a.doc.event.id)).sort((x, y) => x.activity.bucketStart - y.activity.bucketStart);
  if (fresh.length > 0) {
    // Exceptions written at run time (imds-watch exceptions add) join those of the config.
    const stored = (await store.listExceptions()).map(compileException);
    const exceptions = [...detector.exceptions, ...stored];
    const pointers = await livePointers(store, [...new Set(fresh.map((a) => a.activity.user))]);
    for (const { activity, doc, scored } of fresh) {
      const id = doc.event.id;
      const exception = findException(
        exceptions,
        { user: activity.user, hosts: [...activity.hosts.keys()], processes: [...activity.processes.values()] },
        runTime,
      );
      const pointer = pointers.get(activity.user);
      const repeatOf =
        !exception &&
        pointer &&
        pointer.alertId !== id &&
        activity.bucketStart >= pointer.bucketStart &&
        activity.bucketStart - pointer.bucketStart < config.suppressionWindowMs
          ? pointer.alertId
          : undefined;
      const record: AnomalyRecord = {
        id,
        status: exception ? 'excepted' : repeatOf ? 'suppressed' : 'pending',
        user: activity.user,
        host: mainHost(activity),
        score: scored.score,
        bucketStart: activity.bucketStart,
        detectedAt: runTime,
        alert: JSON.stringify(doc),
        ...(exception ? { reason: exception.reason } : {}),
        ...(repeatOf ? { suppressedBy: repeatOf } : {}),
      };
      // The idempotent side effects come before the record, so a run that dies between them
      // and is retried (which skips records that exist) loses neither.
      if (repeatOf) await store.addRepeat(repeatOf, id);
      else if (!exception) {
        const next = { user: activity.user, alertId: id, bucketStart: activity.bucketStart };
        await store.setAlertPointer(next);
        pointers.set(activity.user, next);
      }
      if (await store.createAnomaly(record)) {
        summary.anomalies.new++;
        if (exception) summary.anomalies.excepted++;
        if (repeatOf) summary.anomalies.suppressed++;
      }
    }
  }

  const claimTimeout = options.claimTimeoutMs ?? 15 * 60_000;
  const now = ports.now();
  const waiting: AnomalyRecord[] = [];
  for (const record of await store.listPending()) {
    // Pending anomalies stay publishable while inside the look-back (as Elastic's rule does);
    // one found by this very run is published now even if its bucket is older (a late event), and
    // stays publishable by the next run, so that one failed publication does not expire it.
    if (record.bucketStart < window.start && record.detectedAt < runTime - config.bucketMs) {
      if (await store.markExpired(record.id, now - claimTimeout)) summary.anomalies.expired++;
    } else waiting.push(record);
  }

  const ranked = rankFairly(waiting);
  const selected = ranked.slice(0, config.maxAlertsPerRun);
  const heldBack = ranked.slice(config.maxAlertsPerRun);
  let claimed: Set<string>;
  try {
    claimed = new Set(await store.claim(selected.map((r) => r.id), options.runId, now, now - claimTimeout));
  } catch (error) {
    // Claims made before the failure would hold their anomalies until they go stale, past the
    // look-back of one found late: give them back (release moves only this run's own claims).
    for (const record of selected) await store.release(record.id, options.runId).catch(() => undefined);
    throw error;
  }
  const toPublish = selected.filter((r) => claimed.has(r.id));
  let accepted = new Set<string>();
  try {
    if (toPublish.length > 0)
      accepted = await alerts.publish(toPublish.map((r) => alertMessage(JSON.parse(r.alert) as AlertDocument, runTime)));
  } catch (error) {
    // Give the claims back so that a retry of this run can publish them at once.
    for (const record of toPublish) await store.release(record.id, options.runId);
    throw error;
  }
  for (const record of toPublish) {
    if (accepted.has(record.id)) {
      await store.markPublished(record.id, options.runId, runTime);
      summary.alerts.published.push(record.id);
    } else {
      await store.release(record.id, options.runId);
      summary.anomalies.publishFailed++;
    }
  }
  summary.anomalies.claimedElsewhere = selected.length - toPublish.length;
  summary.anomalies.pending = heldBack.length + summary.anomalies.publishFailed;

  if (heldBack.length > 0) {
    const notice = overflowNotice(detector.rule, runTime, summary.alerts.published.length, heldBack);
    const sent = await alerts.publish([notice]);
    summary.alerts.notices += sent.size;
  }

  summary.requests = { store: diffCounts(store.requestCounts(), storeBefore), sink: diffCounts(alerts.requestCounts(), sinkBefore) };
  return summary;
}

/**
 * The users' latest alerts that can still absorb repeats: one that expired unpublished cannot
 * (its repeats would never reach anyone), so those pointers are ignored.
 */
async function livePointers(store: BaselineStore, users: readonly string[]): Promise<Map<string, UserAlertPointer>> {
  const pointers = await store.getAlertPointers(users);
  if (pointers.size === 0) return pointers;
  const records = await store.getAnomalies([...pointers.values()].map((p) => p.alertId));
  for (const [user, pointer] of pointers) {
    const status = records.get(pointer.alertId)?.status;
    if (status === undefined || status === 'expired' || status === 'excepted' || status === 'suppressed') pointers.delete(user);
  }
  return pointers;
}

/**
 * New buckets per user, with the hosts and processes of those buckets (kept for `imds-watch
 * baseline`); users whose buckets are all known already need no write.
 */
function learningUpdates(
  activities: readonly BucketActivity[],
  baselines: Map<string, { buckets: number[] }>,
  forgetBefore: number,
): BaselineUpdate[] {
  const add = new Map<string, { buckets: Set<number>; hosts: Set<string>; processes: Set<string> }>();
  for (const a of activities) {
    if (baselines.get(a.user)?.buckets.includes(a.bucketStart)) continue;
    const entry = add.get(a.user) ?? { buckets: new Set<number>(), hosts: new Set<string>(), processes: new Set<string>() };
    entry.buckets.add(a.bucketStart);
    for (const host of a.hosts.keys()) entry.hosts.add(host);
    for (const p of a.processes.values()) {
      const process = p.executable ?? p.name;
      if (process !== undefined) entry.processes.add(process);
    }
    add.set(a.user, entry);
  }
  return [...add].map(([user, e]) => ({
    user,
    add: [...e.buckets].sort((x, y) => x - y),
    forgetBefore,
    hosts: [...e.hosts].sort(),
    processes: [...e.processes].sort(),
  }));
}

/** The most regular caller among this run's users, for comparison in explanations. */
function typicalUser(
  baselines: Map<string, { user: string; buckets: number[] }>,
  runTime: number,
  observedSince: number,
  params: { memoryMs: number },
): TypicalUser | undefined {
  let best: TypicalUser | undefined;
  // In name order, so that ties go the same way whatever order the store answered in.
  for (const b of [...baselines.values()].sort((x, y) => (x.user < y.user ? -1 : x.user > y.user ? 1 : 0))) {
    const presence = presenceBefore({ bucketStart: runTime, history: b.buckets, observedSince }, params);
    if (
      !best ||
      presence.daysSeen > best.presence.daysSeen ||
      (presence.daysSeen === best.presence.daysSeen && presence.bucketsSeen > best.presence.bucketsSeen)
    )
      best = { user: b.user, presence };
  }
  return best && best.presence.bucketsSeen > 0 ? best : undefined;
}
