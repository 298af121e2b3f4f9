// argv of the operator commands (baseline, explain, exceptions) --> (parse, open the store, print)
//
// One small hand parser in the style of replay-args.ts, so every command reports a mistake the
// same way: a UsageError with one line (exit 2). Also what the three commands share: the config,
// the store (--state DIR or --table NAME), one-line failures (exit 1), aligned tables and JSON.

import { loadConfigFile } from '../config/config-file.js';
import { stat } from 'node:fs/promises';
import type { DetectorConfig } from '../config/detector-config.js';
import { InputError, StoreError, UsageError } from '../errors.js';
import type { BaselineStore } from '../ports.js';
import { openStore } from './open-store.js';
import type { CommandIo } from './replay-command.js';

/** Flags a command accepts: `value` takes one argument, `boolean` none. */
export type FlagSpec = Readonly<Record<string, 'value' | 'boolean'>>;

export interface OperatorArgs {
  positionals: string[];
  values: Map<string, string>;
  flags: Set<string>;
  help: boolean;
}

/** The flags that say where the state is, shared by every operator command. */
export const STORE_FLAGS = { '--state': 'value', '--table': 'value', '--region': 'value' } as const satisfies FlagSpec;

/** `--flag value`, `--flag=value`, booleans, positionals; `--` ends the flags. */
export function parseOperatorArgs(argv: readonly string[], spec: FlagSpec, command: string): OperatorArgs {
  const args: OperatorArgs = { positionals: [], values: new Map(), flags: new Set(), help: false };
  let flagsDone = false;
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i] as string;
    if (flagsDone || !raw.startsWith('-') || raw === '-') {
      args.positionals.push(raw);
      continue;
    }
    if (raw === '--') {
      flagsDone = true;
      continue;
    }
    const eq = raw.startsWith('--') ? raw.indexOf('=') : -1;
    const [flag, inline] = eq > 0 ? [raw.slice(0, eq), raw.slice(eq + 1)] : [raw, undefined];
    if (flag === '--help' || flag === '-h') {
      args.help = true;
      continue;
    }
    const kind = spec[flag];
    if (kind === undefined) throw new UsageError(`unknown option ${flag} (see imds-watch ${command} --help)`);
    if (kind === 'boolean') {
      if (inline !== undefined) throw new UsageError(`${flag} takes no value`);
      args.flags.add(flag);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) throw new UsageError(`${flag} needs a value`);
    if (args.values.has(flag)) throw new UsageError(`${flag} given twice`);
    args.values.set(flag, value);
  }
  return args;
}

/** An ISO 8601 time (a date at least), as ms. */
export function parseIsoTime(flag: string, value: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new UsageError(`${flag} needs an ISO 8601 time such as 2026-11-02T00:00:00Z, got "${value}"`);
  return ms;
}


export interface StoreArgs {
  state?: string;
  table?: string;
  region?: string;
}

export function storeArgs(args: OperatorArgs): StoreArgs {
  const state = args.values.get('--state');
  const table = args.values.get('--table');
  const region = args.values.get('--region');
  if (region !== undefined && table === undefined) throw new UsageError('--region goes with --table NAME');
  return { ...(state === undefined ? {} : { state }), ...(table === undefined ? {} : { table }), ...(region === undefined ? {} : { region }) };
}

/**
 * Opens the store, runs `use`, closes it. `mustExist`: a `--state DIR` that does not exist is an
 * InputError rather than a new empty state (only `exceptions add` may create one). A failing store
 * (no credentials, no such table, a throttled request) is one line on stderr and exit 1.
 */
export async function withStore(
  io: CommandIo,
  where: StoreArgs,
  config: DetectorConfig,
  mustExist: boolean,
  use: (store: BaselineStore, describe: string) => Promise<number>,
): Promise<number> {
  if (mustExist && where.state !== undefined && where.table === undefined) {
    const info = await stat(where.state).catch(() => undefined);
    if (info === undefined) throw new InputError(`state directory ${where.state} does not exist (imds-watch replay --state DIR creates it)`);
    if (!info.isDirectory()) throw new InputError(`--state ${where.state} is not a directory`);
  }
  try {
    const opened = await openStore(where, config);
    try {
      return await use(opened.store, opened.describe);
    } finally {
      await opened.close();
    }
  } catch (error) {
    if (error instanceof StoreError) return fail(io, error.message);
    throw error;
  }
}

/** One line on stderr; exit 1 (the request was fine, the answer is "no" or the store failed). */
export function fail(io: CommandIo, message: string): number {
  io.stderr.write(`imds-watch: ${message.split('\n')[0]}\n`);
  return 1;
}

export function writeJson(io: CommandIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** ISO 8601 without the milliseconds when they are zero. */
export const isoTime = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

/** Columns padded to their widest cell (the last column is not padded). */
export function table(rows: readonly (readonly string[])[], indent = ''): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd())
    .join('\n');
}

/** Control characters (a newline in a user name, an escape sequence) must not reach a terminal. */
const isControl = (ch: string): boolean => {
  const code = ch.charCodeAt(0);
  return code < 0x20 || (code >= 0x7f && code <= 0x9f);
};
export const printable = (text: string): string => Array.from(text, (ch) => (isControl(ch) ? '?' : ch)).join('');
export const hasControl = (text: string): boolean => Array.from(text).some(isControl);

/** The value at `keys` inside parsed JSON, or undefined: alert documents are read, not trusted. */
export function pick(value: unknown, ...keys: readonly (string | number)[]): unknown {
  let current = value;
  for (const key of keys) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

export const asString = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
export const asNumber = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
export const asStrings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

/** A stored alert document, parsed; an unreadable one is an empty object (the record still shows). */
export function parseAlert(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return {};
  }
}

/** The detector configuration of `--config FILE`, else the defaults. */
export const loadOperatorConfig = loadConfigFile;
