// imds-watch exceptions add|list|remove: operator --> (run-time exceptions in the table) --> later runs
//
// Every run merges the table's exceptions with those of its configuration (src/run/run-detection.ts).
// An exception's id is derived from what it matches (user, process, host): adding the same one
// twice replaces it (a new reason, expiry or author) instead of duplicating it.

import { createHash } from 'node:crypto';
import os from 'node:os';
import picomatch from 'picomatch';
import { parseDuration } from '../config/duration.js';
import { exceptionSchema, type ExceptionRule } from '../config/detector-config.js';
import { UsageError } from '../errors.js';
import type { StoredException } from '../ports.js';
import {
  fail,
  hasControl,
  isoTime,
  loadOperatorConfig,
  parseOperatorArgs,
  printable,
  STORE_FLAGS,
  storeArgs,
  table,
  withStore,
  writeJson,
  type OperatorArgs,
} from './operator-args.js';
import type { CommandIo } from './replay-command.js';

const WHERE = '(--state DIR | --table NAME [--region R])';

export const EXCEPTIONS_HELP = `Usage: imds-watch exceptions add [--user GLOB] [--process GLOB] [--host GLOB] --reason TEXT
                                  [--expires ISO|DURATION] [--by NAME] ${WHERE} [--json]
       imds-watch exceptions list ${WHERE} [--config FILE] [--json]
       imds-watch exceptions remove ID ${WHERE}

Exceptions written at run time, kept in the table and merged by every run with the exceptions of
the configuration. An anomaly an exception matches is recorded as excepted, with the reason, and
not published. All given globs must match; a process or host glob must match every process
(name or executable) or host of the anomaly. A single * also crosses /.

  add     --user, --process, --host   globs (at least one)
          --reason TEXT               why (shown in the anomaly record); required
          --expires ISO|DURATION      when it stops applying: a time (2027-01-01T00:00:00Z) or a
                                      duration from now (30d, 12h). Default: never.
          --by NAME                   who (default: $USER, else your login name)
          The id is the first 12 hex digits of sha256 of (user, process, host): adding the same
          globs again replaces that exception.
  list    every stored exception with its status (active, or expired: no longer applies);
          --config FILE also lists the configuration's exceptions (source "config").
  remove  deletes the stored exception ID (those of a config file are edited there).

  --state DIR      a replay's embedded state (imds-watch replay --state DIR; add creates it)
  --table NAME     the deployed table (stack output StateTableName), with your AWS credentials
  --region R       the table's region (default: your AWS configuration)
  --json           JSON instead of text

Exit 0 on success; 1 when remove finds no such id or the store fails; 2 on bad usage (the line
names the flag).`;

/** What `list` shows of one exception, stored or from the config. */
export interface ListedException {
  id: string;
  source: 'table' | 'config';
  status: 'active' | 'expired';
  user?: string;
  process?: string;
  host?: string;
  reason: string;
  expires?: string;
  createdBy?: string;
  createdAt?: string;
}

/** Stable and short: the same globs give the same id, whatever the reason or expiry. */
export function exceptionId(e: Pick<ExceptionRule, 'user' | 'process' | 'host'>): string {
  return createHash('sha256')
    .update(JSON.stringify([e.user ?? null, e.process ?? null, e.host ?? null]))
    .digest('hex')
    .slice(0, 12);
}

/** Expired once `now` reaches `expires`, as the run decides (src/alerts/exceptions.ts). */
export const exceptionStatus = (expires: string | undefined, now: number): 'active' | 'expired' =>
  expires !== undefined && now >= Date.parse(expires) ? 'expired' : 'active';

export async function exceptionsCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'add':
      return add(rest, io);
    case 'list':
      return list(rest, io);
    case 'remove':
      return remove(rest, io);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(`${EXCEPTIONS_HELP}\n`);
      return 0;
    default:
      throw new UsageError(`unknown exceptions command "${sub}": use add, list or remove (see imds-watch exceptions --help)`);
  }
}

function noPositionals(args: OperatorArgs, sub: string): void {
  const [extra] = args.positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}" (exceptions ${sub} takes only options)`);
}

const GLOB_FLAGS = [
  ['--user', 'user'],
  ['--process', 'process'],
  ['--host', 'host'],
] as const;

/** picomatch never throws: a pattern it cannot use compiles to a regex that matches nothing. */
function checkGlob(flag: string, glob: string): void {
  if (glob.length === 0) throw new UsageError(`${flag} must not be empty (leave it out to match any ${flag.slice(2)})`);
  if (hasControl(glob)) throw new UsageError(`${flag} must not hold control characters`);
  let source: string;
  try {
    source = picomatch.makeRe(glob, { bash: true, dot: true }).source;
  } catch (error) {
    throw new UsageError(`${flag} "${glob}" is not a valid glob (${(error as Error).message})`, { cause: error });
  }
  if (source === '$^') throw new UsageError(`${flag} "${glob}" is not a valid glob (unbalanced braces or brackets, or a trailing backslash?)`);
}

function parseExpires(value: string, now: number): string {
  const duration = parseDuration(value);
  if (duration !== undefined) return isoTime(Math.ceil((now + duration) / 1000) * 1000);
  const ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new UsageError(`--expires needs an ISO 8601 time (2027-01-01T00:00:00Z) or a duration like 30d, got "${value}"`);
  return isoTime(ms);
}

function defaultAuthor(): string {
  const fromEnv = process.env['USER'] ?? process.env['USERNAME'];
  if (fromEnv) return fromEnv;
  try {
    return os.userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

const FIELD_FLAG: Record<string, string> = { user: '--user', process: '--process', host: '--host', reason: '--reason', expires: '--expires' };

async function add(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parseOperatorArgs(
    argv,
    { ...STORE_FLAGS, '--user': 'value', '--process': 'value', '--host': 'value', '--reason': 'value', '--expires': 'value', '--by': 'value', '--json': 'boolean' },
    'exceptions add',
  );
  if (args.help) {
    io.stdout.write(`${EXCEPTIONS_HELP}\n`);
    return 0;
  }
  noPositionals(args, 'add');
  const now = Date.now();
  const rule: Record<string, string> = {};
  for (const [flag, field] of GLOB_FLAGS) {
    const glob = args.values.get(flag);
    if (glob === undefined) continue;
    checkGlob(flag, glob);
    rule[field] = glob;
  }
  const reason = args.values.get('--reason');
  if (reason === undefined) throw new UsageError('exceptions add needs --reason TEXT (why this is not suspicious)');
  if (hasControl(reason)) throw new UsageError('--reason must be one line of text');
  rule['reason'] = reason;
  const expiresArg = args.values.get('--expires');
  if (expiresArg !== undefined) rule['expires'] = parseExpires(expiresArg, now);
  const parsed = exceptionSchema.safeParse(rule);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path[0];
    const flag = typeof field === 'string' ? FIELD_FLAG[field] : undefined;
    if (flag === undefined) throw new UsageError('exceptions add needs at least one of --user, --process, --host');
    throw new UsageError(`${flag}: ${issue?.code === 'too_small' ? 'must not be empty' : issue?.message ?? 'invalid'}`);
  }
  const by = args.values.get('--by') ?? defaultAuthor();
  if (by.length === 0 || hasControl(by)) throw new UsageError('--by needs a name on one line');
  const exception: StoredException = { id: exceptionId(parsed.data), ...parsed.data, createdBy: by, createdAt: now };
  const where = storeArgs(args);
  const config = await loadOperatorConfig(undefined);

  return withStore(io, where, config, false, async (store, describe) => {
    const replaced = (await store.listExceptions()).some((e) => e.id === exception.id);
    await store.putException(exception);
    const status = exceptionStatus(exception.expires, now);
    if (args.flags.has('--json')) {
      writeJson(io, { action: replaced ? 'replaced' : 'added', store: describe, exception: listed(exception, 'table', now) });
      return 0;
    }
    const scope = GLOB_FLAGS.filter(([, f]) => exception[f] !== undefined).map(([, f]) => `${f}=${exception[f] ?? ''}`).join(' ');
    io.stdout.write(
      `${replaced ? 'replaced' : 'added'} exception ${exception.id} in ${describe}: ${printable(scope)}, reason "${printable(exception.reason)}", by ${printable(by)}, ` +
        `${exception.expires === undefined ? 'no expiry' : `expires ${exception.expires}`}\n`,
    );
    if (status === 'expired') io.stderr.write(`imds-watch: note: exception ${exception.id} has already expired (${exception.expires}); it applies only to runs before then\n`);
    return 0;
  });
}

function listed(e: StoredException | (ExceptionRule & { id: string }), source: ListedException['source'], now: number): ListedException {
  return {
    id: e.id,
    source,
    status: exceptionStatus(e.expires, now),
    ...(e.user === undefined ? {} : { user: e.user }),
    ...(e.process === undefined ? {} : { process: e.process }),
    ...(e.host === undefined ? {} : { host: e.host }),
    reason: e.reason,
    ...(e.expires === undefined ? {} : { expires: e.expires }),
    ...('createdBy' in e ? { createdBy: e.createdBy, createdAt: isoTime(e.createdAt) } : {}),
  };
}

async function list(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parseOperatorArgs(argv, { ...STORE_FLAGS, '--config': 'value', '--json': 'boolean' }, 'exceptions list');
  if (args.help) {
    io.stdout.write(`${EXCEPTIONS_HELP}\n`);
    return 0;
  }
  noPositionals(args, 'list');
  const where = storeArgs(args);
  const configFile = args.values.get('--config');
  const config = await loadOperatorConfig(configFile);

  return withStore(io, where, config, true, async (store, describe) => {
    const now = Date.now();
    const stored = (await store.listExceptions())
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
      .map((e) => listed(e, 'table', now));
    const fromConfig = configFile === undefined ? [] : config.exceptions.map((e) => listed({ ...e, id: exceptionId(e) }, 'config', now));
    const all = [...stored, ...fromConfig];
    if (args.flags.has('--json')) {
      writeJson(io, { store: describe, ...(configFile === undefined ? {} : { config: configFile }), exceptions: all });
      return 0;
    }
    if (all.length === 0) {
      io.stdout.write(`no exceptions in ${describe}${configFile === undefined ? '' : ` or ${configFile}`}\n`);
      return 0;
    }
    const rows = [
      ['ID', 'SOURCE', 'STATUS', 'USER', 'PROCESS', 'HOST', 'EXPIRES', 'BY', 'CREATED', 'REASON'],
      ...all.map((e) => [
        e.id,
        e.source,
        e.status,
        e.user ?? '*',
        e.process ?? '*',
        e.host ?? '*',
        e.expires ?? 'never',
        e.createdBy ?? '-',
        e.createdAt?.replace(/\.\d{3}Z$/, 'Z') ?? '-',
        e.reason,
      ].map(printable)),
    ];
    const active = all.filter((e) => e.status === 'active').length;
    io.stdout.write(`${table(rows)}\n${all.length} exception(s) in ${describe}${configFile === undefined ? '' : ` and ${configFile}`}: ${active} active, ${all.length - active} expired\n`);
    return 0;
  });
}

async function remove(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parseOperatorArgs(argv, { ...STORE_FLAGS, '--json': 'boolean' }, 'exceptions remove');
  if (args.help) {
    io.stdout.write(`${EXCEPTIONS_HELP}\n`);
    return 0;
  }
  const [id, ...extra] = args.positionals;
  if (id === undefined) throw new UsageError('exceptions remove needs an ID (see imds-watch exceptions list)');
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}" (exceptions remove takes one ID)`);
  const where = storeArgs(args);
  const config = await loadOperatorConfig(undefined);

  return withStore(io, where, config, true, async (store, describe) => {
    if (!(await store.removeException(id))) return fail(io, `no exception with id ${printable(id)} in ${describe}`);
    if (args.flags.has('--json')) writeJson(io, { action: 'removed', store: describe, id });
    else io.stdout.write(`removed exception ${id} from ${describe}\n`);
    return 0;
  });
}
