// imds-watch explain ALERT_ID: the anomaly record --> (why it scored what it did, what became of it) --> table or JSON

import { UsageError } from '../errors.js';
import type { AnomalyRecord } from '../ports.js';
import {
  asNumber,
  asString,
  asStrings,
  fail,
  isoTime,
  loadOperatorConfig,
  parseAlert,
  parseOperatorArgs,
  pick,
  printable,
  STORE_FLAGS,
  storeArgs,
  table,
  withStore,
  writeJson,
} from './operator-args.js';
import type { CommandIo } from './replay-command.js';

export const EXPLAIN_HELP = `Usage: imds-watch explain ALERT_ID (--state DIR | --table NAME [--region R]) [--json]

Why an anomaly scored what it did, and what became of it: its status (pending, publishing,
published, excepted, suppressed, expired) with the exception's reason, the alert it was folded
into or the repeats folded into it; user, hosts, bucket, score and threshold; the model's factors
and what each means; the explanation; the user against the run's most regular caller; the evidence.

ALERT_ID is the alert's event.id (replay output, the SNS message, the run summary). Every anomaly
is recorded, also those never published (excepted, suppressed, expired, during overflow).

  --state DIR      a replay's embedded state (imds-watch replay --state DIR)
  --table NAME     the deployed table (stack output StateTableName), with your AWS credentials
  --region R       the table's region (default: your AWS configuration)
  --json           one JSON object (the record, the factors with their meaning, the alert document)

Exit 0 when shown; 1 when there is no anomaly with that id ("no anomaly with id X in state DIR":
never found, or removed by TTL after the memory period) or the store fails; 2 on bad usage.`;

const FACTOR_MEANING = {
  confidence: 'days observed / days of memory: the longer the model had watched, the more a newcomer means',
  days: 'days seen / days observed: 0 once the user was seen on half the days or more',
  buckets: 'buckets seen: repeated calls make a user less rare',
} as const;

/** The factors' formulas with this anomaly's numbers (MODEL.md); the memory in days follows from confidence. */
function computations(a: Presence | null, confidence: number | null): Record<FactorName, string | null> {
  if (a === null || a.daysObserved === null || a.daysSeen === null || a.bucketsSeen === null) return { confidence: null, days: null, buckets: null };
  const memoryDays = confidence !== null && confidence > 0.75 ? Math.round((0.25 * a.daysObserved) / (confidence - 0.75)) : undefined;
  return {
    confidence: memoryDays === undefined ? null : `0.75 + 0.25 × ${a.daysObserved} / ${memoryDays}`,
    days: `(1 − min(1, 2 × ${a.daysSeen} / ${a.daysObserved}))²`,
    buckets: `4 / (4 + ${a.bucketsSeen})`,
  };
}

type FactorName = keyof typeof FACTOR_MEANING;

interface Presence {
  user: string;
  daysSeen: number | null;
  bucketsSeen: number | null;
  daysObserved: number | null;
}

interface EvidenceLine {
  time: string | null;
  host: string | null;
  user: string | null;
  process: string | null;
  args: string[];
  destination: string | null;
  url: string | null;
  via: string | null;
  log: { group: string | null; stream: string | null };
  eventId: string | null;
}

const STATUS_TEXT: Record<AnomalyRecord['status'], (r: AnomalyRecord) => string> = {
  pending: () => 'pending: waiting for a run to publish it (held back by maxAlertsPerRun, or a publication failed)',
  publishing: (r) => `publishing: claimed by run ${r.claimedBy ?? '?'}${r.claimedAt === undefined ? '' : ` at ${isoTime(r.claimedAt)}`}`,
  published: (r) => `published${r.publishedAt === undefined ? '' : ` at ${isoTime(r.publishedAt)}`}`,
  excepted: (r) => `excepted, not published: ${r.reason ?? '(no reason recorded)'}`,
  suppressed: (r) => `suppressed, not published: a repeat of alert ${r.suppressedBy ?? '?'}, folded into it`,
  expired: () => 'expired unpublished: it left the look-back while still pending',
};

export async function explainCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parseOperatorArgs(argv, { ...STORE_FLAGS, '--json': 'boolean' }, 'explain');
  if (args.help) {
    io.stdout.write(`${EXPLAIN_HELP}\n`);
    return 0;
  }
  const [id, ...extra] = args.positionals;
  if (id === undefined) throw new UsageError('explain needs an ALERT_ID (see imds-watch explain --help)');
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}" (explain takes one ALERT_ID)`);
  const where = storeArgs(args);
  const config = await loadOperatorConfig(undefined);
  const json = args.flags.has('--json');

  return withStore(io, where, config, true, async (store, describe) => {
    const record = (await store.getAnomalies([id])).get(id);
    if (record === undefined) return fail(io, `no anomaly with id ${printable(id)} in ${describe}`);
    const view = explanation(record, describe);
    if (json) writeJson(io, view);
    else io.stdout.write(`${render(view)}\n`);
    return 0;
  });
}

function presence(value: unknown, fallbackUser: string): Presence | null {
  if (typeof value !== 'object' || value === null) return null;
  return {
    user: asString(pick(value, 'user')) ?? fallbackUser,
    daysSeen: asNumber(pick(value, 'days_seen')) ?? null,
    bucketsSeen: asNumber(pick(value, 'buckets_seen')) ?? null,
    daysObserved: asNumber(pick(value, 'days_observed')) ?? null,
  };
}

function evidenceLine(e: unknown): EvidenceLine {
  const endpoint = asString(pick(e, 'destination', 'domain')) ?? asString(pick(e, 'destination', 'ip')) ?? asString(pick(e, 'destination', 'endpoint'));
  const port = asNumber(pick(e, 'destination', 'port'));
  return {
    time: asString(pick(e, '@timestamp')) ?? null,
    host: asString(pick(e, 'host', 'name')) ?? null,
    user: asString(pick(e, 'user', 'name')) ?? null,
    process: asString(pick(e, 'process', 'executable')) ?? asString(pick(e, 'process', 'name')) ?? null,
    args: asStrings(pick(e, 'process', 'args')),
    destination: endpoint === undefined ? null : port === undefined ? endpoint : `${endpoint.includes(':') ? `[${endpoint}]` : endpoint}:${port}`,
    url: asString(pick(e, 'destination', 'url')) ?? null,
    via: asString(pick(e, 'via')) ?? null,
    log: { group: asString(pick(e, 'log', 'group')) ?? null, stream: asString(pick(e, 'log', 'stream')) ?? null },
    eventId: asString(pick(e, 'event_id')) ?? null,
  };
}

function explanation(record: AnomalyRecord, describe: string) {
  const doc = parseAlert(record.alert);
  const anomaly = pick(doc, 'anomaly');
  const actual = presence(pick(anomaly, 'actual'), record.user);
  const computed = computations(actual, asNumber(pick(anomaly, 'factors', 'confidence')) ?? null);
  const factors = Object.fromEntries(
    (Object.keys(FACTOR_MEANING) as FactorName[]).map((name) => [
      name,
      { value: asNumber(pick(anomaly, 'factors', name)) ?? null, computation: computed[name], meaning: FACTOR_MEANING[name] },
    ]),
  ) as Record<FactorName, { value: number | null; computation: string | null; meaning: string }>;
  const evidence = pick(doc, 'evidence');
  return {
    id: record.id,
    found: true as const,
    store: describe,
    status: record.status,
    statusText: STATUS_TEXT[record.status](record),
    reason: record.reason ?? null,
    suppressedBy: record.suppressedBy ?? null,
    repeats: record.repeats ?? [],
    publishedAt: record.publishedAt === undefined ? null : isoTime(record.publishedAt),
    detectedAt: isoTime(record.detectedAt),
    user: record.user,
    userId: asString(pick(doc, 'user', 'id')) ?? null,
    host: record.host,
    hosts: asStrings(pick(doc, 'related', 'hosts')),
    bucketStart: isoTime(record.bucketStart),
    bucketSpan: asString(pick(anomaly, 'bucket_span')) ?? null,
    calls: asNumber(pick(anomaly, 'calls')) ?? null,
    score: record.score,
    threshold: asNumber(pick(anomaly, 'threshold')) ?? null,
    formula: 'score = 100 × confidence × days × buckets, rounded up to one decimal',
    factors,
    explanation: asString(pick(anomaly, 'explanation')) ?? null,
    actual,
    typical: presence(pick(anomaly, 'typical'), ''),
    evidence: (Array.isArray(evidence) ? evidence : []).map(evidenceLine),
    alert: doc,
  };
}

type Explanation = ReturnType<typeof explanation>;

const dash = (v: string | number | null | undefined): string => (v === null || v === undefined ? '-' : printable(String(v)));

function render(v: Explanation): string {
  const userText = v.userId === null ? v.user : `${v.user} (id ${v.userId})`;
  const others = v.hosts.filter((h) => h !== v.host);
  const rows: string[][] = [
    ['status', v.statusText],
    ...(v.repeats.length > 0 ? [['repeats', `${v.repeats.length} later anomal${v.repeats.length === 1 ? 'y' : 'ies'} of this user folded in: ${v.repeats.join(', ')}`]] : []),
    ['user', userText],
    ['host', others.length > 0 ? `${v.host} (also ${others.join(', ')})` : v.host],
    ['bucket', `${v.bucketStart}${v.bucketSpan ? `, ${v.bucketSpan}` : ''}${v.calls === null ? '' : `, ${v.calls} call(s)`}`],
    ['detected', `${v.detectedAt} (run time of the run that found it)`],
    ['score', `${v.score}${v.threshold === null ? '' : ` (alerts at ${v.threshold} or more)`}`],
  ].map((row) => row.map((cell) => printable(cell)));

  const factorRows = (Object.keys(v.factors) as FactorName[]).map((name) => {
    const f = v.factors[name];
    return [name, f.value === null ? '-' : f.value.toFixed(2), f.computation === null ? '' : `= ${f.computation}`, f.meaning];
  });
  const compare = [
    ['', 'actual', 'typical'],
    ['user', dash(v.actual?.user), dash(v.typical?.user || null)],
    ['days seen', dash(v.actual?.daysSeen), dash(v.typical?.daysSeen)],
    ['buckets seen', dash(v.actual?.bucketsSeen), dash(v.typical?.bucketsSeen)],
    ['days observed', dash(v.actual?.daysObserved), dash(v.typical?.daysObserved)],
  ];
  const evidenceRows = [
    ['time', 'host', 'process', 'destination'],
    ...v.evidence.map((e) => [dash(e.time), dash(e.host), dash(e.process), `${dash(e.destination)}${e.url ? ` ${printable(e.url)}` : ''}`]),
  ];

  return [
    `anomaly ${v.id} (${printable(v.store)})`,
    table(rows, '  '),
    '',
    'why',
    `  ${printable(v.explanation ?? '(no explanation recorded)')}`,
    '',
    `factors (${v.formula})`,
    table(factorRows, '  '),
    '',
    v.typical === null ? 'actual (no regular caller to compare with in that run)' : 'actual against typical (the run\'s most regular caller)',
    table(v.typical === null ? compare.map((r) => r.slice(0, 2)) : compare, '  '),
    '',
    `evidence (${v.evidence.length} event${v.evidence.length === 1 ? '' : 's'})`,
    v.evidence.length > 0 ? table(evidenceRows, '  ') : '  none recorded',
  ].join('\n');
}
