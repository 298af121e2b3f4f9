// imds-watch backfill: argv --> (history: recorded files or CloudWatch Logs) --> backfill --> the state
//
// Builds the baselines from history so that detection starts without a learning period: into a
// replay's embedded state (--state DIR, then `replay --state DIR`) or into the deployed table
// (--table NAME, with the caller's AWS credentials). Progress on stderr (a live line on a terminal,
// JSON lines otherwise); the final summary on stdout. Resumable: the same command again continues.

import { loadConfigFile } from '../config/config-file.js';
import { randomUUID } from 'node:crypto';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CloudWatchLogsSource } from '../adapters/cloudwatch-logs-source.js';
import { ReplayTelemetrySource } from '../adapters/replay-telemetry-source.js';
import { InputError, StoreError, TelemetrySourceError, UsageError } from '../errors.js';
import type { TelemetrySource } from '../ports.js';
import { loadReplayInput } from '../replay/replay.js';
import { backfill, type BackfillResult, type BackfillRunReport } from '../run/backfill.js';
import { createDetector } from '../run/run-detection.js';
import { openStore } from './open-store.js';
import type { CommandIo } from './replay-command.js';

const DAY_MS = 86_400_000;

export const BACKFILL_HELP = `Usage: imds-watch backfill --days N [--to ISO] (--input FILE... | --log-groups a,b*) (--state DIR | --table NAME)
                          [--region R] [--config FILE] [--restart]

Builds the baselines from history, so that detection starts with N days of memory instead of a
learning period. Learn-only runs (nothing is alerted) over (to - N days, to], oldest first, each
over a 75-minute window every 45 minutes (the schedule's 45-minute look-back, overlapped as the
schedule's windows are). Safe while the scheduled function runs: learning is idempotent, and the
scheduled runs' checkpoint does not move.

  --days N          history to learn, in days (1 to the model's memory, 30 by default).
  --to ISO          end of the history. Default: now, floored to 15 minutes (with --input: the end
                    of the input).
  --input FILE...   recorded telemetry (NDJSON of CloudWatch events, \`aws logs filter-log-events\`
                    JSON, or plain lines), as replay reads it.
  --log-groups L    CloudWatch Logs groups to read, comma-separated; a name ending in * is a prefix.
  --state DIR       a replay's embedded state (created if missing): \`replay --state DIR\` continues it.
  --table NAME      the deployed table (stack output StateTableName), with your AWS credentials.
  --region R        AWS region of the log groups and the table. Default: the SDK's (AWS_REGION, profile).
  --config FILE     JSON configuration (bucketSpan, lookback, memory, endpoints, ...), as deployed.
  --restart         start over instead of continuing an interrupted backfill of the same history.

Progress goes to stderr, the summary to stdout. An interrupted backfill (Ctrl-C, an error) keeps
what it learned: run the same command again to continue. Exit 0 when the history is learned, 1 when
it stopped early, 2 on bad usage, 130 after Ctrl-C.`;

interface BackfillArgs {
  help: boolean;
  days?: number;
  to?: number;
  inputs: string[];
  logGroups?: string[];
  state?: string;
  table?: string;
  region?: string;
  config?: string;
  restart: boolean;
}

const VALUE_FLAGS = new Set(['--days', '--to', '--log-groups', '--state', '--table', '--region', '--config']);

function parseBackfillArgs(argv: readonly string[]): BackfillArgs {
  const args: BackfillArgs = { help: false, inputs: [], restart: false };
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i] as string;
    const eq = raw.startsWith('--') ? raw.indexOf('=') : -1;
    const [flag, inline] = eq > 0 ? [raw.slice(0, eq), raw.slice(eq + 1)] : [raw, undefined];
    if (flag === '--help' || flag === '-h') args.help = true;
    else if (flag === '--restart') {
      if (inline !== undefined) throw new UsageError('--restart takes no value');
      args.restart = true;
    } else if (flag === '--input') {
      if (inline !== undefined) args.inputs.push(inline);
      while (i + 1 < argv.length && !(argv[i + 1] as string).startsWith('--')) args.inputs.push(argv[++i] as string);
      if (args.inputs.length === 0) throw new UsageError('--input needs at least one file');
    } else if (VALUE_FLAGS.has(flag)) {
      const value = inline ?? argv[++i];
      if (value === undefined || (inline === undefined && value.startsWith('--'))) throw new UsageError(`${flag} needs a value`);
      if (values.has(flag)) throw new UsageError(`${flag} given twice`);
      values.set(flag, value);
    } else if (flag.startsWith('-')) throw new UsageError(`unknown option ${flag} (see imds-watch backfill --help)`);
    else throw new UsageError(`unexpected argument "${flag}" (input files go after --input)`);
  }
  if (args.help) return args;

  const days = values.get('--days');
  if (days === undefined) throw new UsageError('--days N is required: how many days of history to learn');
  if (!/^\d+$/.test(days) || Number(days) < 1) throw new UsageError(`--days needs a whole number of days, 1 or more, got "${days}"`);
  args.days = Number(days);
  const to = values.get('--to');
  if (to !== undefined) {
    const ms = /^\d{4}-\d{2}-\d{2}/.test(to) ? Date.parse(to) : Number.NaN;
    if (Number.isNaN(ms)) throw new UsageError(`--to needs an ISO 8601 time such as 2026-11-02T00:00:00Z, got "${to}"`);
    args.to = ms;
  }
  const groups = values.get('--log-groups');
  if (groups !== undefined) {
    args.logGroups = groups.split(',').map((g) => g.trim()).filter((g) => g.length > 0);
    if (args.logGroups.length === 0) throw new UsageError('--log-groups names no log group');
  }
  if ((args.inputs.length > 0) === (args.logGroups !== undefined))
    throw new UsageError('give either --input FILE... (recorded telemetry) or --log-groups a,b* (CloudWatch Logs)');
  const state = values.get('--state');
  const table = values.get('--table');
  if ((state === undefined) === (table === undefined))
    throw new UsageError("give either --state DIR (a replay's embedded state) or --table NAME (the deployed table)");
  if (state !== undefined) args.state = state;
  if (table !== undefined) args.table = table;
  const region = values.get('--region');
  if (region !== undefined) args.region = region;
  const config = values.get('--config');
  if (config !== undefined) args.config = config;
  return args;
}


const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');
const count = (n: number): string => n.toLocaleString('en-US');

export async function backfillCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parseBackfillArgs(argv);
  if (args.help) {
    io.stdout.write(`${BACKFILL_HELP}\n`);
    return 0;
  }
  const config = await loadConfigFile(args.config);
  const days = args.days as number;
  const memoryDays = Math.floor(config.memoryMs / DAY_MS);
  if (days * DAY_MS > config.memoryMs)
    throw new UsageError(`--days ${days} goes past the model's memory (${memoryDays}d): older buckets would be forgotten at once; at most ${memoryDays}`);
  const floor = (ms: number): number => Math.floor(ms / config.bucketMs) * config.bucketMs;
  const detector = createDetector(config);

  let telemetry: TelemetrySource;
  let source: string;
  let to: number;
  if (args.inputs.length > 0) {
    const input = await loadReplayInput(args.inputs, { config });
    const last = input.events.reduce((m, e) => Math.max(m, e.timestamp, e.ingestionTime), Number.NEGATIVE_INFINITY);
    if (args.to === undefined && !Number.isFinite(last)) throw new InputError('the input holds no usable events; give --to to backfill an empty span');
    // The end of the input: the boundary after its last event (and its ingestion), so all of it is read.
    to = floor(args.to ?? Math.ceil(last / config.bucketMs) * config.bucketMs);
    telemetry = new ReplayTelemetrySource(input.events);
    source = `${input.events.length} events from ${args.inputs.length} file(s)`;
  } else {
    const logGroups = args.logGroups as string[];
    const client = new CloudWatchLogsClient({ maxAttempts: 2, ...(args.region ? { region: args.region } : {}) });
    telemetry = new CloudWatchLogsSource({
      client,
      logGroups,
      needles: detector.catalogue.needles,
      budget: { deadline: () => Number.POSITIVE_INFINITY, now: () => Date.now() },
    });
    to = floor(args.to ?? Date.now());
    source = `log groups ${logGroups.join(',')}`;
  }
  const from = to - days * DAY_MS;

  const where = { ...(args.state ? { state: args.state } : {}), ...(args.table ? { table: args.table } : {}), ...(args.region ? { region: args.region } : {}) };
  let opened: Awaited<ReturnType<typeof openStore>>;
  try {
    opened = await openStore(where, config);
  } catch (error) {
    if (error instanceof StoreError) {
      io.stderr.write(`imds-watch: ${error.message.split('\n')[0]}\n`);
      return 1;
    }
    throw error;
  }
  const tty = io.stderr.isTTY === true;
  const started = Date.now();
  let interrupted = false;
  const onSigint = (): void => {
    interrupted = true;
    io.stderr.write(`${tty ? '\r\u001b[2K' : ''}imds-watch: stopping after this run (Ctrl-C again to quit at once; the same command continues)\n`);
  };
  process.once('SIGINT', onSigint);
  let lastDraw = 0;
  let result: BackfillResult;
  try {
    if (tty) io.stderr.write(`backfill ${iso(from)} to ${iso(to)}: ${source} into ${opened.describe}\n`);
    result = await backfill(
      detector,
      { telemetry, store: opened.store, now: () => Date.now() },
      {
        from,
        to,
        runId: `cli-${randomUUID()}`,
        ...(args.restart ? { restart: true } : {}),
        hasTime: () => !interrupted,
        onProgress: (p: BackfillRunReport) => {
          if (!tty) {
            io.stderr.write(
              `${JSON.stringify({
                type: 'backfill-progress',
                runTime: iso(p.runTime),
                run: p.run,
                runs: p.runs,
                percent: Math.round(p.percent * 10) / 10,
                doneUntil: iso(p.doneUntil),
                eventsRead: p.eventsRead,
                observations: p.observations,
                users: p.users,
              })}\n`,
            );
            return;
          }
          const now = Date.now();
          if (now - lastDraw < 100 && p.run < p.runs) return;
          lastDraw = now;
          io.stderr.write(
            `\r\u001b[2Kbackfill ${p.percent.toFixed(0).padStart(3)}%  ${iso(p.runTime)}  run ${p.run}/${p.runs}  events ${count(p.eventsRead)}  users ${p.users}`,
          );
        },
      },
    );
  } catch (error) {
    if (error instanceof StoreError || error instanceof TelemetrySourceError) {
      io.stderr.write(`${tty ? '\r\u001b[2K' : ''}imds-watch: backfill stopped: ${error.message.split('\n')[0]} (what was learned is kept: run the same command again to continue)\n`);
      return 1;
    }
    throw error;
  } finally {
    process.removeListener('SIGINT', onSigint);
    await opened.close();
  }
  if (tty) io.stderr.write('\r\u001b[2K');

  const summary = {
    type: 'backfill-summary',
    from: iso(result.from),
    to: iso(result.to),
    doneUntil: iso(result.doneUntil),
    complete: result.complete,
    ...(result.resumedFrom === undefined ? {} : { resumedFrom: iso(result.resumedFrom) }),
    ...(result.stopped === undefined ? {} : { stopped: interrupted && result.stopped === 'time' ? 'interrupted' : result.stopped }),
    source,
    store: opened.describe,
    runs: result.runs,
    eventsRead: result.eventsRead,
    candidates: result.candidates,
    observations: result.observations,
    users: result.users,
    skipped: result.skipped,
    storeRequests: result.storeRequests,
    elapsedMs: Date.now() - started,
  };
  if (io.stdout.isTTY === true) {
    const state = result.complete
      ? `backfill complete: ${summary.from} to ${summary.to} learned into ${opened.describe}`
      : `backfill stopped at ${summary.doneUntil} of ${summary.from} to ${summary.to} (${result.stopped === 'superseded' ? 'another backfill replaced it' : 'run the same command again to continue'})`;
    const resumed = result.resumedFrom === undefined ? '' : `, continued from ${iso(result.resumedFrom)}`;
    io.stdout.write(
      `${state}\n  runs ${result.runs}${resumed}   events read ${count(result.eventsRead)}   observations ${count(result.observations)}   users seen ${result.users}\n`,
    );
  } else io.stdout.write(`${JSON.stringify(summary)}\n`);
  if (result.complete) return 0;
  return interrupted ? 130 : 1;
}
