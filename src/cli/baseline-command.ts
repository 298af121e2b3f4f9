// imds-watch baseline USER: the store's baseline of a user --> (the model's view of it) --> table or JSON
//
// What the model knows of a user at a time: buckets and days seen within memory, first and last
// seen, hosts and processes, and the score a new bucket of this user would get then.

import { formatDuration } from '../config/duration.js';
import type { DetectorConfig } from '../config/detector-config.js';
import { UsageError } from '../errors.js';
import { DAY_MS, scoreBucket, type Score } from '../model/rare-user-model.js';
import type { AnomalyRecord, BaselineStore, UserBaseline } from '../ports.js';
import {
  asString,
  asStrings,
  isoTime,
  loadOperatorConfig,
  parseAlert,
  parseIsoTime,
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

export const BASELINE_HELP = `Usage: imds-watch baseline USER (--state DIR | --table NAME [--region R]) [--config FILE] [--at ISO] [--json]

What the model knows of USER: buckets and days seen within memory, first and last seen, the hosts
and processes it called from, and the score a new bucket of USER would get at --at, with its factors.

  --state DIR      a replay's embedded state (imds-watch replay --state DIR)
  --table NAME     the deployed table (stack output StateTableName), with your AWS credentials
  --region R       the table's region (default: your AWS configuration)
  --config FILE    the detector configuration (memory, bucketSpan, anomalyThreshold, learningPeriod)
  --at ISO         the time to look from. Default: the latest run in the store, else now.
  --json           one JSON object instead of the table

Days are 24-hour periods back from --at. The strip shows the last 30 days, oldest first:
▮ seen, · not seen, - before the model began observing.
Hosts and processes are kept with the baseline (at most 20 each); for state written before they
were, they come from the user's latest alert, or read "not recorded".

Exit 0, also for a user never seen ({"user": USER, "found": false}); 1 when the store fails;
2 on bad usage.`;

const STRIP_DAYS = 30;

interface DayCell {
  start: number;
  buckets: number;
  observed: boolean;
}

interface BaselineView {
  user: string;
  found: true;
  store: string;
  at: string;
  atSource: 'given' | 'latest run' | 'latest bucket' | 'now';
  memory: string;
  memoryDays: number;
  bucketSpan: string;
  observedSince: string;
  daysObserved: number;
  daysSeen: number;
  bucketsSeen: number;
  bucketsStored: number;
  firstSeen: string | null;
  lastSeen: string | null;
  hosts: string[] | null;
  processes: string[] | null;
  hostsAndProcessesFrom: 'baseline' | 'latest alert' | 'not recorded';
  latestAlert: { id: string; status: string; score: number; bucketStart: string } | null;
  nextBucket: {
    bucketStart: string;
    score: number;
    threshold: number;
    learning: boolean;
    wouldAlert: boolean;
    factors: Score['factors'];
  };
  days: { start: string; buckets: number; observed: boolean }[];
}

export async function baselineCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parseOperatorArgs(argv, { ...STORE_FLAGS, '--config': 'value', '--at': 'value', '--json': 'boolean' }, 'baseline');
  if (args.help) {
    io.stdout.write(`${BASELINE_HELP}\n`);
    return 0;
  }
  const [user, ...extra] = args.positionals;
  if (user === undefined) throw new UsageError('baseline needs a USER (see imds-watch baseline --help)');
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}" (baseline takes one USER)`);
  const where = storeArgs(args);
  const atArg = args.values.get('--at');
  const at = atArg === undefined ? undefined : parseIsoTime('--at', atArg);
  const config = await loadOperatorConfig(args.values.get('--config'));
  const json = args.flags.has('--json');

  return withStore(io, where, config, true, async (store, describe) => {
    const baseline = (await store.getBaselines([user])).get(user);
    if (baseline === undefined) {
      if (json) writeJson(io, { user, found: false });
      else io.stdout.write(`no baseline for ${printable(user)} in ${describe} (never seen, or not within the ${formatDuration(config.memoryMs)} memory)\n`);
      return 0;
    }
    const view = await buildView(store, describe, baseline, config, at);
    if (json) writeJson(io, view);
    else io.stdout.write(`${render(view)}\n`);
    return 0;
  });
}

async function buildView(
  store: BaselineStore,
  describe: string,
  baseline: UserBaseline,
  config: DetectorConfig,
  at: number | undefined,
): Promise<BaselineView> {
  const model = await store.getModelState();
  const latestBucket = baseline.buckets.at(-1);
  const [atMs, atSource]: [number, BaselineView['atSource']] =
    at !== undefined
      ? [at, 'given']
      : model.checkpoint !== undefined
        ? [model.checkpoint, 'latest run']
        : latestBucket !== undefined
          ? [latestBucket + config.bucketMs, 'latest bucket']
          : [Date.now(), 'now'];
  const bucketStart = Math.floor(atMs / config.bucketMs) * config.bucketMs;
  const observedSince = model.observedSince ?? baseline.buckets[0] ?? bucketStart;
  const score = scoreBucket({ bucketStart, history: baseline.buckets, observedSince }, { memoryMs: config.memoryMs });
  const learning = bucketStart < observedSince + config.learningPeriodMs;
  const p = score.presence;

  const days: DayCell[] = [];
  for (let i = STRIP_DAYS - 1; i >= 0; i--) {
    const end = bucketStart - i * DAY_MS;
    const start = end - DAY_MS;
    const buckets = baseline.buckets.filter((b) => b >= start && b < end).length;
    days.push({ start, buckets, observed: end > observedSince });
  }

  const latest = await latestAlert(store, baseline.user);
  let hosts: string[] | null = baseline.hosts ?? null;
  let processes: string[] | null = baseline.processes ?? null;
  let from: BaselineView['hostsAndProcessesFrom'] = hosts || processes ? 'baseline' : 'not recorded';
  if (from === 'not recorded' && latest !== undefined) {
    const doc = parseAlert(latest.alert);
    const alertHosts = [...new Set([latest.host, ...asStrings(pick(doc, 'related', 'hosts'))])].filter(Boolean).sort();
    const evidence = pick(doc, 'evidence');
    const alertProcesses = new Set<string>();
    for (const e of Array.isArray(evidence) ? evidence : []) {
      const name = asString(pick(e, 'process', 'executable')) ?? asString(pick(e, 'process', 'name'));
      if (name !== undefined) alertProcesses.add(name);
    }
    hosts = alertHosts.length > 0 ? alertHosts : null;
    processes = alertProcesses.size > 0 ? [...alertProcesses].sort() : null;
    if (hosts || processes) from = 'latest alert';
  }

  return {
    user: baseline.user,
    found: true,
    store: describe,
    at: isoTime(atMs),
    atSource,
    memory: formatDuration(config.memoryMs),
    memoryDays: Math.max(1, Math.round(config.memoryMs / DAY_MS)),
    bucketSpan: formatDuration(config.bucketMs),
    observedSince: isoTime(observedSince),
    daysObserved: p.daysObserved,
    daysSeen: p.daysSeen,
    bucketsSeen: p.bucketsSeen,
    bucketsStored: baseline.buckets.length,
    firstSeen: p.firstSeen === undefined ? null : isoTime(p.firstSeen),
    lastSeen: p.lastSeen === undefined ? null : isoTime(p.lastSeen),
    hosts,
    processes,
    hostsAndProcessesFrom: from,
    latestAlert: latest ? { id: latest.id, status: latest.status, score: latest.score, bucketStart: isoTime(latest.bucketStart) } : null,
    nextBucket: {
      bucketStart: isoTime(bucketStart),
      score: score.score,
      threshold: config.anomalyThreshold,
      learning,
      wouldAlert: !learning && score.score >= config.anomalyThreshold,
      factors: score.factors,
    },
    days: days.map((d) => ({ start: isoTime(d.start), buckets: d.buckets, observed: d.observed })),
  };
}

/** The user's latest alert (the pointer runs keep for suppression), if it is still stored. */
async function latestAlert(store: BaselineStore, user: string): Promise<AnomalyRecord | undefined> {
  const pointer = (await store.getAlertPointers([user])).get(user);
  if (pointer === undefined) return undefined;
  return (await store.getAnomalies([pointer.alertId])).get(pointer.alertId);
}

const list = (values: string[] | null, from: BaselineView['hostsAndProcessesFrom']): string => {
  if (values === null || values.length === 0) return 'not recorded';
  const shown = values.map(printable).join(', ');
  const capped = from === 'baseline' && values.length >= 20 ? ' (the first 20 kept)' : '';
  return from === 'latest alert' ? `${shown} (from the latest alert)` : `${shown}${capped}`;
};

function render(v: BaselineView): string {
  const f = v.nextBucket.factors;
  const verdict = v.nextBucket.learning
    ? 'no alert: still in the learning period'
    : v.nextBucket.wouldAlert
      ? `would alert (at ${v.nextBucket.threshold} or more)`
      : `no alert (alerts at ${v.nextBucket.threshold} or more)`;
  const rows: string[][] = [
    ['at', `${v.at} (${v.atSource})`],
    ['memory', `${v.memory}, buckets of ${v.bucketSpan}`],
    ['observed since', `${v.observedSince} (${v.daysObserved} day(s) observed within memory)`],
    ['days seen', `${v.daysSeen} of ${v.daysObserved}`],
    ['buckets seen', `${v.bucketsSeen} within memory (${v.bucketsStored} stored)`],
    ['first seen', v.firstSeen ?? '-'],
    ['last seen', v.lastSeen ?? '-'],
    ['hosts', list(v.hosts, v.hostsAndProcessesFrom)],
    ['processes', list(v.processes, v.hostsAndProcessesFrom)],
    ['latest alert', v.latestAlert ? `${v.latestAlert.id} (${v.latestAlert.status}, score ${v.latestAlert.score}, bucket ${v.latestAlert.bucketStart})` : 'none'],
    ['next bucket', `${v.nextBucket.bucketStart}: score ${v.nextBucket.score}, ${verdict}`],
    ['  confidence', `${f.confidence.toFixed(2)}  0.75 + 0.25 × ${v.daysObserved} day(s) observed / ${v.memoryDays} day(s) of memory`],
    ['  days', `${f.days.toFixed(2)}  (1 − min(1, 2 × ${v.daysSeen} day(s) seen / ${v.daysObserved} observed))²`],
    ['  buckets', `${f.buckets.toFixed(2)}  4 / (4 + ${v.bucketsSeen} bucket(s) seen)`],
  ];
  const strip = v.days.map((d) => (d.buckets > 0 ? '▮' : d.observed ? '·' : '-')).join('');
  const first = v.days[0]?.start.slice(0, 10) ?? '';
  const last = v.days.at(-1)?.start.slice(0, 10) ?? '';
  return [
    `baseline of ${printable(v.user)} (${printable(v.store)})`,
    table(rows, '  '),
    '',
    `last ${v.days.length} days, 24 h each back from ${v.at} (▮ seen, · not seen, - not observed yet)`,
    `  ${first} ${strip} ${last}`,
  ].join('\n');
}
