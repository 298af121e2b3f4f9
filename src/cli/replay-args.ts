// argv --> (replay arguments) --> ReplayOptions; every mistake is a UsageError with one clear line

import { UsageError } from '../errors.js';

export interface ReplayArgs {
  inputs: string[];
  from?: number;
  to?: number;
  config?: string;
  state?: string;
  out?: string;
  /** Write a self-contained HTML report of the replay here. */
  report?: string;
  help: boolean;
}

const SINGLE = new Set(['--from', '--to', '--config', '--state', '--out', '--report']);

const parseTime = (flag: string, value: string): number => {
  const ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new UsageError(`${flag} needs an ISO 8601 time such as 2026-11-02T00:00:00Z, got "${value}"`);
  return ms;
};

/** `--input FILE...` takes every value up to the next flag; the others take one value. */
export function parseReplayArgs(argv: readonly string[]): ReplayArgs {
  const args: ReplayArgs = { inputs: [], help: false };
  const single: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i] as string;
    const [flag, inline] = raw.startsWith('--') && raw.includes('=') ? [raw.slice(0, raw.indexOf('=')), raw.slice(raw.indexOf('=') + 1)] : [raw, undefined];
    if (flag === '--help' || flag === '-h') args.help = true;
    else if (flag === '--input') {
      if (inline !== undefined) args.inputs.push(inline);
      while (i + 1 < argv.length && !(argv[i + 1] as string).startsWith('--')) args.inputs.push(argv[++i] as string);
      if (args.inputs.length === 0) throw new UsageError('--input needs at least one file');
    } else if (SINGLE.has(flag)) {
      const value = inline ?? argv[++i];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`${flag} needs a value`);
      if (single[flag] !== undefined) throw new UsageError(`${flag} given twice`);
      single[flag] = value;
    } else if (flag.startsWith('-')) throw new UsageError(`unknown option ${flag} (see imds-watch replay --help)`);
    else throw new UsageError(`unexpected argument "${flag}" (input files go after --input)`);
  }
  if (single['--from'] !== undefined) args.from = parseTime('--from', single['--from']);
  if (single['--to'] !== undefined) args.to = parseTime('--to', single['--to']);
  if (args.from !== undefined && args.to !== undefined && args.to <= args.from) throw new UsageError('--to must be after --from');
  if (single['--config'] !== undefined) args.config = single['--config'];
  if (single['--state'] !== undefined) args.state = single['--state'];
  if (single['--out'] !== undefined) args.out = single['--out'];
  if (single['--report'] !== undefined) args.report = single['--report'];
  return args;
}

export const REPLAY_HELP = `Usage: imds-watch replay [--input FILE...] [--from ISO] [--to ISO] [--config FILE] [--state DIR] [--out FILE]
                         [--report FILE.html]

Simulates the schedule over recorded telemetry: a run at every 15-minute boundary in (from, to],
each over [t-45m, t), each seeing only events whose ingestionTime (else timestamp) is <= t.

  --input FILE...  NDJSON of CloudWatch events, the JSON that \`aws logs filter-log-events\` prints,
                   or plain log lines (audit.log, ECS NDJSON). Default: the bundled sample fleet.
  --from, --to     ISO 8601 times. Default: the span of the input.
  --config FILE    JSON configuration (anomalyThreshold, learningPeriod, exceptions, ...).
  --state DIR      keep the embedded DynamoDB on disk, so that a later replay continues its baselines.
  --out FILE       where to write alerts and notices, one JSON line each. Default: stdout.
  --report FILE    also write a self-contained HTML page: a timeline per user of the buckets seen,
                   their scores, anomalies and alerts (the 200 most interesting users).

Run summaries go to stderr. Exit 0 on success, 2 on bad usage or unreadable input.`;
