// imds-watch command line: argv --> (command) --> exit code. 0 ok, 2 bad usage or input, 1 failure.

import { ConfigError, InputError, UsageError } from '../errors.js';
import { backfillCommand } from './backfill-command.js';
import { baselineCommand } from './baseline-command.js';
import { exceptionsCommand } from './exceptions-command.js';
import { explainCommand } from './explain-command.js';
import { replayCommand, type CommandIo } from './replay-command.js';

const HELP = `Usage: imds-watch <command> [options]

Commands:
  replay       replay recorded telemetry through the detector (imds-watch replay --help)
  backfill     build baselines from history before the first scheduled run
  baseline     what the model knows of a user: buckets and days seen, hosts, processes
  explain      why an alert scored what it did
  exceptions   add, list or remove exceptions (user, process, host globs; reason; expiry)

Each command explains itself with --help.

With no command, prints this help.`;

export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'replay':
        return await replayCommand(rest, io);
      case 'backfill':
        return await backfillCommand(rest, io);
      case 'baseline':
        return await baselineCommand(rest, io);
      case 'explain':
        return await explainCommand(rest, io);
      case 'exceptions':
        return await exceptionsCommand(rest, io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(`${HELP}\n`);
        return 0;
      default:
        throw new UsageError(`unknown command "${command}" (try imds-watch --help)`);
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof InputError || error instanceof ConfigError) {
      io.stderr.write(`imds-watch: ${error.message.split('\n')[0]}\n`);
      return 2;
    }
    throw error;
  }
}
