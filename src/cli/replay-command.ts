// imds-watch replay: argv --> (replay) --> alerts on stdout or --out, summaries on stderr

import { loadConfigFile } from '../config/config-file.js';
import { constants, createWriteStream } from 'node:fs';
import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { InputError } from '../errors.js';
import { unusualLinuxUserImdsRule } from '../detections/credential_access_unusual_linux_user_imds.js';
import { loadReplayInput, replay } from '../replay/replay.js';
import { createReportCollector } from '../report/collect-report.js';
import { renderReplayReport } from '../report/replay-report.js';
import { ensureSampleTelemetry } from '../simulator/sample.js';
import { parseReplayArgs, REPLAY_HELP } from './replay-args.js';
import { summaryTable } from './summary-table.js';

export interface CommandIo {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
}


export async function replayCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parseReplayArgs(argv);
  if (args.help) {
    io.stdout.write(`${REPLAY_HELP}\n`);
    return 0;
  }
  const config = await loadConfigFile(args.config);
  let inputs = args.inputs;
  let from = args.from;
  let to = args.to;
  if (inputs.length === 0) {
    const sample = await ensureSampleTelemetry();
    inputs = [sample.path];
    from ??= Date.parse(sample.from);
    to ??= Date.parse(sample.to);
    io.stderr.write(`replaying the bundled sample fleet (${sample.path}), ${sample.from} to ${sample.to}\n`);
  }
  const input = await loadReplayInput(inputs, { config });
  const first = input.events.reduce((m, e) => Math.min(m, e.timestamp), Number.POSITIVE_INFINITY);
  const last = input.events.reduce((m, e) => Math.max(m, e.timestamp, e.ingestionTime), Number.NEGATIVE_INFINITY);
  from ??= Number.isFinite(first) ? Math.floor(first / config.bucketMs) * config.bucketMs : undefined;
  to ??= Number.isFinite(last) ? Math.ceil(last / config.bucketMs) * config.bucketMs + config.bucketMs : undefined;
  if (from === undefined || to === undefined) throw new InputError('the input holds no usable events; give --from and --to to replay an empty span');

  // --report: fail before the replay, not after it, when the page cannot be written.
  if (args.report) {
    const dir = path.dirname(path.resolve(args.report));
    await access(dir, constants.W_OK).catch((error: unknown) => {
      throw new InputError(`cannot write report ${args.report}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
    });
  }
  const report = args.report
    ? createReportCollector({
        ruleId: unusualLinuxUserImdsRule.id,
        threshold: config.anomalyThreshold,
        bucketMs: config.bucketMs,
        memoryMs: config.memoryMs,
        learningPeriodMs: config.learningPeriodMs,
      })
    : undefined;

  const out = args.out ? createWriteStream(args.out) : io.stdout;
  const tty = io.stderr.isTTY === true;
  let lastDraw = 0;
  const result = await replay({
    input,
    from,
    to,
    config,
    ...(args.state ? { stateDir: args.state } : {}),
    out,
    ...(report ? { onScore: (scored) => report.onScore(scored) } : {}),
    onRun: (summary, index, total) => {
      if (!tty) {
        io.stderr.write(`${JSON.stringify({ type: 'run-summary', ...summary })}\n`);
        return;
      }
      const now = Date.now();
      if (now - lastDraw > 100 || index === total - 1) {
        lastDraw = now;
        const pct = Math.round(((index + 1) / total) * 100);
        io.stderr.write(`\r\u001b[2Krun ${index + 1}/${total} (${pct}%)  ${summary.runTime}`);
      }
      for (const id of summary.alerts.published) io.stderr.write(`\r\u001b[2Kalert ${id} at ${summary.runTime}\n`);
    },
  });
  if (args.out) {
    out.end();
    await finished(out);
  }
  if (args.report && report) {
    const data = report.build({
      from,
      to,
      runs: result.runs,
      ...(result.learningUntil === undefined ? {} : { learningUntil: result.learningUntil }),
      eventsLoaded: result.totals.eventsLoaded,
      eventsRead: result.totals.eventsRead,
      observations: result.totals.observations,
      anomalies: result.totals.anomalies,
      alerts: result.totals.alerts,
      inputs,
    });
    try {
      await writeFile(args.report, renderReplayReport(data));
    } catch (error) {
      throw new InputError(`cannot write report ${args.report}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
    }
    // Before the summary, which stays the last line; a JSON line like the others when not on a terminal.
    if (tty) io.stderr.write(`\r\u001b[2Kreport written to ${args.report} (${data.users.length} users)\n`);
    else io.stderr.write(`${JSON.stringify({ type: 'replay-report', path: args.report, users: data.users.length })}\n`);
  }
  if (tty) io.stderr.write(`\r\u001b[2K\n${summaryTable(result.runs, result.totals)}\n`);
  else io.stderr.write(`${JSON.stringify({ type: 'replay-summary', runs: result.runs, ...result.totals })}\n`);
  return 0;
}
