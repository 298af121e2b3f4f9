// anomaly --> (alert document) --> SNS message body, ECS field names where ECS has them

import type { DetectionRule } from '../detections/detection-rule.js';
import { formatDuration } from '../config/duration.js';
import { mainHost, type BucketActivity } from '../model/bucket-activity.js';
import type { Presence, Score } from '../model/rare-user-model.js';
import { anomalyEventId } from './event-id.js';
import { investigationQuery, logsInsightsUrl } from './logs-insights-link.js';
import { redactArgs, redactSecrets } from './redact.js';
import { singleLine } from './sanitize.js';

/** A regular caller, for comparison in the explanation. */
export interface TypicalUser {
  user: string;
  presence: Presence;
}

export interface AlertContext {
  rule: DetectionRule;
  region: string;
  bucketMs: number;
  threshold: number;
  /** Run time of the run that found the anomaly. */
  detectedAt: number;
}

/** The SNS message body; `@timestamp` is added by the run that publishes it. */
export type AlertDocument = Record<string, unknown> & { event: Record<string, unknown> & { id: string } };

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Host text in the document is bounded: a local user controls their own argv and executable path,
 * and ten evidence events of 64 arguments of 1 KB would pass DynamoDB's 400 KB item limit, so the
 * anomaly record could never be written and every run that read them would fail.
 */
const MAX_ARGS = 64;
const MAX_ARG_CHARS = 1024;
/** All the arguments of one process together. */
const MAX_ARGS_TOTAL_CHARS = 8192;
/** Process names, executables and URLs. */
const MAX_TEXT_CHARS = 1024;
const MAX_RELATED_HOSTS = 100;
/** The whole document as JSON (UTF-8): well inside a DynamoDB item (400 KB) and an SNS message (256 KiB). */
export const MAX_ALERT_DOCUMENT_BYTES = 192 * 1024;

/** Cut to `max` characters with an ellipsis, never splitting a surrogate pair. */
function clip(text: string, max = MAX_TEXT_CHARS): string {
  if (text.length <= max) return text;
  const end = /[\ud800-\udbff]/.test(text[max - 1] ?? '') ? max - 1 : max;
  return `${text.slice(0, end)}…`;
}

/** Arguments as evidence: secrets redacted, each and all together bounded. */
function evidenceArgs(args: readonly string[] | undefined): string[] | undefined {
  if (args === undefined) return undefined;
  const bounded: string[] = [];
  let total = 0;
  for (const arg of redactArgs(args.slice(0, MAX_ARGS)) ?? []) {
    const clipped = clip(arg, MAX_ARG_CHARS);
    if (total + clipped.length > MAX_ARGS_TOTAL_CHARS) break;
    bounded.push(clipped);
    total += clipped.length;
  }
  if (args.length > bounded.length) bounded.push(`… ${args.length - bounded.length} more arguments`);
  return bounded;
}

/** Drops evidence from the end (counted in `evidence_truncated`) until the document fits. */
function withinSize(doc: AlertDocument & { evidence: unknown[] }): AlertDocument {
  const all = doc.evidence;
  const candidate = (keep: number): AlertDocument =>
    keep === all.length ? doc : { ...doc, evidence: all.slice(0, keep), evidence_truncated: all.length - keep };
  let keep = all.length;
  while (keep > 0 && Buffer.byteLength(JSON.stringify(candidate(keep))) > MAX_ALERT_DOCUMENT_BYTES) keep--;
  return candidate(keep);
}

const presenceText = (p: Presence): string =>
  `seen on ${p.daysSeen} of ${p.daysObserved} days observed (${p.bucketsSeen} buckets)`;

/** Why the model scored what it did, in words and numbers. */
export function explain(user: string, score: Score, typical: TypicalUser | undefined, threshold: number): string {
  const p = score.presence;
  const history =
    p.bucketsSeen === 0
      ? `${user} had not called the metadata service in the ${p.daysObserved} day(s) observed`
      : `${user} was ${presenceText(p)}, last on ${iso(p.lastSeen ?? 0)}`;
  const comparison = typical ? `; a regular caller, ${typical.user}, was ${presenceText(typical.presence)}` : '';
  const f = score.factors;
  return (
    `${history}${comparison}. Score ${score.score} = 100 × ${f.confidence.toFixed(2)} (confidence: ${p.daysObserved} day(s) observed)` +
    ` × ${f.days.toFixed(2)} (days seen) × ${f.buckets.toFixed(2)} (buckets seen); alerts at ${threshold} or more.`
  );
}

export function buildAlertDocument(
  activity: BucketActivity,
  score: Score,
  typical: TypicalUser | undefined,
  ctx: AlertContext,
): AlertDocument {
  const { rule } = ctx;
  const id = anomalyEventId(rule.id, activity.user, activity.bucketStart);
  const host = mainHost(activity);
  const processes = [...activity.processes.values()];
  const first = processes[0];
  const evidence = activity.evidence.map((o) => ({
    '@timestamp': iso(o.time),
    host: { name: o.host },
    user: { name: o.user.name, ...(o.user.id === undefined ? {} : { id: o.user.id }) },
    process: {
      ...(o.process.name === undefined ? {} : { name: clip(o.process.name) }),
      ...(o.process.executable === undefined ? {} : { executable: clip(o.process.executable) }),
      ...(o.process.pid === undefined ? {} : { pid: o.process.pid }),
      ...(o.process.args === undefined ? {} : { args: evidenceArgs(o.process.args) }),
    },
    destination: {
      endpoint: o.destination.endpoint,
      provider: o.destination.provider,
      ...(o.destination.address === undefined ? {} : { ip: o.destination.address }),
      ...(o.destination.domain === undefined ? {} : { domain: o.destination.domain }),
      ...(o.destination.port === undefined ? {} : { port: o.destination.port }),
      ...(o.destination.url === undefined ? {} : { url: clip(redactSecrets(o.destination.url)) }),
    },
    via: o.via,
    format: o.format,
    log: { group: o.source.logGroup, stream: o.source.logStream },
    event_id: o.source.eventId,
  }));
  const streams = [...new Set(activity.evidence.map((o) => o.source.logStream))];
  const groups = [...new Set(activity.evidence.map((o) => o.source.logGroup))];
  const windowStart = activity.bucketStart - ctx.bucketMs;
  const windowEnd = activity.bucketStart + 2 * ctx.bucketMs;
  const query = investigationQuery(streams);
  const threat = rule.threat.map((t) => ({
    framework: t.framework,
    tactic: { id: [t.tactic.id], name: [t.tactic.name], reference: [t.tactic.reference] },
    technique: {
      id: t.technique.map((x) => x.id),
      name: t.technique.map((x) => x.name),
      reference: t.technique.map((x) => x.reference),
      subtechnique: {
        id: t.technique.flatMap((x) => x.subtechnique.map((s) => s.id)),
        name: t.technique.flatMap((x) => x.subtechnique.map((s) => s.name)),
        reference: t.technique.flatMap((x) => x.subtechnique.map((s) => s.reference)),
      },
    },
  }));
  return withinSize({
    event: {
      kind: 'alert',
      id,
      category: ['intrusion_detection'],
      type: ['info'],
      risk_score: rule.risk_score,
      created: iso(ctx.detectedAt),
      start: iso(activity.firstTime),
      end: iso(activity.lastTime),
      dataset: 'imds_watch.alert',
    },
    severity: rule.severity,
    message: singleLine(`Unusual Linux user ${activity.user} called the metadata service on ${host}`, 512),
    rule: {
      name: rule.name,
      id: rule.id,
      version: String(rule.version),
      description: rule.description,
      reference: rule.references[0],
      ruleset: 'imds-watch',
      ...(rule.reference_rule_id ? { reference_rule_id: rule.reference_rule_id } : {}),
    },
    user: { name: activity.user, ...(activity.userId === undefined ? {} : { id: activity.userId }) },
    host: { name: host },
    related: { hosts: [...activity.hosts.keys()].sort().slice(0, MAX_RELATED_HOSTS), user: [activity.user] },
    process: {
      ...(first?.name === undefined ? {} : { name: clip(first.name) }),
      ...(first?.executable === undefined ? {} : { executable: clip(first.executable) }),
      ...(first?.args === undefined ? {} : { args: evidenceArgs(first.args) }),
    },
    anomaly: {
      score: score.score,
      threshold: ctx.threshold,
      bucket_start: iso(activity.bucketStart),
      bucket_span: formatDuration(ctx.bucketMs),
      first_seen: iso(score.presence.firstSeen ?? activity.firstTime),
      calls: activity.calls,
      actual: {
        user: activity.user,
        days_seen: score.presence.daysSeen,
        buckets_seen: score.presence.bucketsSeen,
        days_observed: score.presence.daysObserved,
      },
      typical: typical
        ? {
            user: typical.user,
            days_seen: typical.presence.daysSeen,
            buckets_seen: typical.presence.bucketsSeen,
            days_observed: typical.presence.daysObserved,
          }
        : null,
      factors: score.factors,
      explanation: explain(activity.user, score, typical, ctx.threshold),
    },
    threat,
    evidence,
    investigation: {
      steps: rule.note
        .split('\n')
        .filter((l) => /^\d+\. /.test(l))
        .map((l) => l.replace(/^\d+\. /, '')),
      logs_insights: {
        query,
        log_groups: groups,
        start: iso(windowStart),
        end: iso(windowEnd),
        url: logsInsightsUrl({ region: ctx.region, logGroups: groups, start: windowStart, end: windowEnd, query }),
      },
    },
  });
}
