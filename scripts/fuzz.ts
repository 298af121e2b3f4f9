// npm run fuzz [-- --cases 100000 --seed N --limit-ms 1000 --hang-ms 30000 --target NAME --no-write]
//
// Fuzzes every parser, the envelope readers, the needle scanner, the config loader and the replay
// arguments with the targets of test/fuzz/fuzz-targets.ts (and streaming-targets.ts): first each
// target's fixed worst cases (1 MB lines, JSON nested 10,000 deep, regex-hostile strings), then
// `--cases` random cases spread over the targets. Every call is timed; a throw that is not the
// target's own error, a call over --limit-ms, or a result that breaks the target's property (the
// streaming reader against its reference) is a failure and fast-check shrinks it to a minimal
// counterexample. Each target runs in a worker
// thread watched from here: a call still running after --hang-ms is a hang, and the worker is
// terminated. Writes the `fuzz` section of RELIABILITY.md; exits 1 on any failure.

import os from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { emptyStats, EscapedThrow, fuzzTargets, PropertyViolation, runCase, seeds, showValue, TIMING_ATTEMPTS, TooSlow, type TargetStats } from '../test/fuzz/fuzz-targets.js';
import { replaceSection } from './markdown-section.js';

interface WorkerInput {
  target: string;
  cases: number;
  seed: number;
  limitMs: number;
  /** Float64 slots: [in call (0/1), call start (Date.now()), case index, input size]. */
  heartbeat: SharedArrayBuffer;
}

type FailureKind = 'escaped throw' | 'too slow' | 'hang' | 'property violated' | 'other';

interface HostileResult {
  name: string;
  size: number;
  ms: number;
  failure?: string;
  kind?: FailureKind;
}

interface TargetResult {
  target: string;
  mayThrow: string;
  property?: string;
  hostile: HostileResult[];
  random: { cases: number; failed: boolean; failure?: string; kind?: FailureKind; counterexample?: string; shrinks: number; seed: number; path?: string };
  stats: TargetStats;
  hang?: string;
}

type WorkerMessage = { type: 'phase'; phase: string } | { type: 'done'; result: TargetResult };

// ---------------------------------------------------------------------------------------------
// Worker: one target

const kindOf = (error: unknown): FailureKind =>
  error instanceof EscapedThrow ? 'escaped throw' : error instanceof TooSlow ? 'too slow' : error instanceof PropertyViolation ? 'property violated' : 'other';

function describeFailure(error: unknown): string {
  if (error instanceof EscapedThrow) {
    const cause = error.cause;
    const stack = cause instanceof Error ? (cause.stack ?? '').split('\n').slice(1, 3).map((l) => l.trim()).join(' ') : '';
    return `${error.message}${stack ? ` (${stack})` : ''}`;
  }
  if (error instanceof TooSlow || error instanceof PropertyViolation) return error.message;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

async function runWorker(input: WorkerInput): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const beat = new Float64Array(input.heartbeat);
  const target = fuzzTargets().find((t) => t.name === input.target);
  if (!target) throw new Error(`unknown target ${input.target}`);
  seeds();
  const phase = (name: string): void => port.postMessage({ type: 'phase', phase: name } satisfies WorkerMessage);
  const guarded = async (index: number, value: unknown, stats: TargetStats): Promise<number> => {
    beat[2] = index;
    beat[3] = target.size(value);
    beat[1] = Date.now();
    beat[0] = 1;
    try {
      return await runCase(target, value, stats, input.limitMs);
    } finally {
      beat[0] = 0;
    }
  };

  // Fixed worst cases.
  const hostile: HostileResult[] = [];
  const hostileStats = emptyStats();
  for (const [i, { name, input: value }] of target.hostile().entries()) {
    phase(`hostile input "${name}"`);
    const size = target.size(value);
    try {
      hostile.push({ name, size, ms: await guarded(i, value, hostileStats) });
    } catch (error) {
      hostile.push({ name, size, ms: hostileStats.worstMs, failure: describeFailure(error), kind: kindOf(error) });
    }
  }

  // Random cases.
  phase(`random cases (seed ${input.seed})`);
  const stats = emptyStats();
  let index = 0;
  const details = await fc.check(
    fc.asyncProperty(target.arbitrary(), async (value) => {
      await guarded(index++, value, stats);
    }),
    { numRuns: input.cases, seed: input.seed },
  );
  // Worst of both phases.
  if (hostileStats.worstMs > stats.worstMs) {
    stats.worstMs = hostileStats.worstMs;
    stats.worstSize = hostileStats.worstSize;
    stats.worstInput = hostileStats.worstInput;
  }
  stats.largestSize = Math.max(stats.largestSize, hostileStats.largestSize);
  stats.escaped += hostileStats.escaped;
  stats.violations += hostileStats.violations;
  const result: TargetResult = {
    target: target.name,
    mayThrow: target.mayThrow,
    ...(target.property ? { property: target.property } : {}),
    hostile,
    random: {
      cases: details.numRuns,
      failed: details.failed,
      shrinks: details.numShrinks,
      seed: details.seed,
      ...(details.failed
        ? {
            failure: describeFailure(details.errorInstance),
            kind: kindOf(details.errorInstance),
            counterexample: details.counterexample ? target.show(details.counterexample[0]) : 'none',
            ...(details.counterexamplePath ? { path: details.counterexamplePath } : {}),
          }
        : {}),
    },
    stats,
  };
  port.postMessage({ type: 'done', result } satisfies WorkerMessage);
}

// ---------------------------------------------------------------------------------------------
// Main: one worker per target, a watchdog, the report

interface Options {
  cases: number;
  seed: number;
  limitMs: number;
  hangMs: number;
  only: string[];
  write: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const values = (flag: string): string[] => argv.flatMap((a, i) => (a === flag && argv[i + 1] !== undefined ? [argv[i + 1] as string] : []));
  const number = (flag: string, fallback: number): number => {
    const raw = values(flag)[0];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} needs a positive number, got ${raw}`);
    return n;
  };
  return {
    cases: Math.floor(number('--cases', 100_000)),
    seed: Math.floor(number('--seed', 1_552_005)),
    limitMs: number('--limit-ms', 1000),
    hangMs: number('--hang-ms', 30_000),
    only: values('--target'),
    write: !argv.includes('--no-write'),
  };
}

function startWorker(input: WorkerInput, hangMs: number): Promise<TargetResult> {
  // Workers do not inherit tsx's loader: load this file through tsx's API in the worker.
  const api = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(api)}).then((api) => api.tsImport(${JSON.stringify(import.meta.url)}, ${JSON.stringify(import.meta.url)}))`;
  const worker = new Worker(boot, { eval: true, workerData: input, resourceLimits: { maxOldGenerationSizeMb: 4096 } });
  const beat = new Float64Array(input.heartbeat);
  let phase = 'start';
  return new Promise((resolve, reject) => {
    const watchdog = setInterval(() => {
      if (beat[0] === 1 && Date.now() - (beat[1] ?? 0) > hangMs) {
        clearInterval(watchdog);
        const hang = `a call ran over ${hangMs / 1000} s in ${phase}, case ${beat[2]}, input of ${beat[3]} characters: worker terminated`;
        void worker.terminate().then(() =>
          resolve({
            target: input.target,
            mayThrow: '?',
            hostile: [],
            random: { cases: 0, failed: true, failure: hang, kind: 'hang', shrinks: 0, seed: input.seed },
            stats: emptyStats(),
            hang,
          }),
        );
      }
    }, 250);
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'phase') phase = message.phase;
      else {
        clearInterval(watchdog);
        resolve(message.result);
        void worker.terminate();
      }
    });
    worker.on('error', (error) => {
      clearInterval(watchdog);
      reject(error);
    });
  });
}

const n = (v: number, digits = 0): string => v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ms = (v: number): string => (v >= 100 ? n(v, 0) : v >= 1 ? n(v, 1) : n(v, 3));
const size = (chars: number): string => (chars >= 1000 * 1024 ? `${n(chars / (1 << 20), 2)} MB` : chars >= 1024 ? `${n(chars / 1024, 1)} KB` : `${chars} B`);
const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ').replace(/`/g, "'");

/** What earlier passes of this harness found and how it was fixed (kept here so the report says it). */
function findings(results: readonly TargetResult[]): string[] {
  const now = results
    .find((r) => r.target === 'catalogue.findUrl')
    ?.hostile.find((h) => h.name === '1 MB of `169.254.169.254` with no break');
  return [
    'Found by the first pass: `catalogue.findUrl` (the command-line matcher used on auditd EXECVE/PROCTITLE arguments ' +
      'and on ECS `process.args` / `command_line`) rescanned the whole token around every occurrence of a needle, so a ' +
      'line of `169.254.169.254` repeated without a break took quadratic time: 15 KB took 0.35 s, 120 KB 32 s, and a ' +
      '256 KB CloudWatch event (the largest a run reads) would take minutes, enough to time a run out and blind the ' +
      'detector. Fixed in `src/endpoints/endpoint-catalogue.ts`: each token is examined once (every occurrence inside ' +
      'a token gives that token again, so the search skips to its end, and the end of each token examined is kept for ' +
      "the other needles), and the token scan tests ASCII characters with a lookup table instead of a regular expression per character" +
      (now ? `. The same input at 1 MB now takes ${ms(now.ms)} ms (fixed worst cases below).` : '.'),
    'Found by the first pass of `needleScanner.scan`: for a range of 4 KB or more that ends mid-line, `scan(bytes, from, to)` ' +
      'reported needles past `to` (its split into quarters looks for line starts with `indexOf` over the whole buffer, past `to`). ' +
      '`scanLogFile` was not affected (it always scans to the end of its buffer). Fixed in `src/telemetry/needle-scanner.ts` ' +
      '(a part never starts past `to`); `test/fuzz/scan-range.test.ts` keeps the case, and fuzzed ranges now end mid-buffer too.',
  ];
}

function report(options: Options, command: string, results: readonly TargetResult[], seconds: number): string {
  const failures = results.filter((r) => r.random.failed || r.hang !== undefined || r.hostile.some((h) => h.failure !== undefined));
  const totalCases = results.reduce((a, r) => a + r.random.cases, 0);
  const totalHostile = results.reduce((a, r) => a + r.hostile.length, 0);
  const worst = results.reduce<TargetResult | undefined>((a, r) => (a === undefined || r.stats.worstMs > a.stats.worstMs ? r : a), undefined);
  const verdict =
    failures.length === 0
      ? `**No throw escaped, no call took over ${n(options.limitMs)} ms, no hang, no property violated** in ${n(totalCases)} random cases and ${n(totalHostile)} fixed worst cases. ` +
        `Slowest call: ${ms(worst?.stats.worstMs ?? 0)} ms (${worst?.target ?? '-'}, an input of ${size(worst?.stats.worstSize ?? 0)}).`
      : `**${failures.length} target(s) failed:** ${failures.map((f) => f.target).join(', ')} (details below).`;
  const rows = results.map((r) => {
    const slowestHostile = r.hostile.reduce<HostileResult | undefined>((a, h) => (a === undefined || h.ms > a.ms ? h : a), undefined);
    const escaped = (r.random.kind === 'escaped throw' ? 1 : 0) + r.hostile.filter((h) => h.kind === 'escaped throw').length;
    const slow = (r.random.kind === 'too slow' || r.random.kind === 'hang' ? 1 : 0) + r.hostile.filter((h) => h.kind === 'too slow').length;
    const violated = (r.random.kind === 'property violated' ? 1 : 0) + r.hostile.filter((h) => h.kind === 'property violated').length;
    const property = r.property === undefined ? '-' : violated > 0 ? `**${violated}**` : '0';
    return `| ${r.target} | ${r.mayThrow} | ${n(r.random.cases)} | ${r.hostile.length} | ${escaped > 0 ? `**${escaped}**` : '0'} | ${slow > 0 ? `**${slow}**` : '0'} | ${property} | ${
      r.random.failed || r.hang ? '**fail**' : 'ok'
    } | ${ms(r.stats.worstMs)} ms | ${size(r.stats.worstSize)} | ${n(r.stats.calls === 0 ? 0 : (r.stats.totalMs / r.stats.calls) * 1000, 1)} µs | ${size(r.stats.largestSize)} | ${
      slowestHostile ? `${cell(slowestHostile.name)}: ${ms(slowestHostile.ms)} ms` : '-'
    } |`;
  });
  const failureText = failures
    .map((r) => {
      const lines = [`- **${r.target}**`];
      if (r.hang) lines.push(`  - hang: ${r.hang}`);
      if (r.random.failed && !r.hang)
        lines.push(
          `  - random case failed: ${cell(r.random.failure ?? '')}; minimal counterexample after ${r.random.shrinks} shrinks: \`${cell(r.random.counterexample ?? '')}\`` +
            ` (replay: seed ${r.random.seed}${r.random.path ? `, path ${r.random.path}` : ''})`,
        );
      for (const h of r.hostile.filter((x) => x.failure)) lines.push(`  - fixed input "${cell(h.name)}" (${size(h.size)}): ${cell(h.failure ?? '')}`);
      return lines.join('\n');
    })
    .join('\n');
  const hostileRows = results.flatMap((r) =>
    [...r.hostile]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 5)
      .map((h) => `| ${r.target} | ${cell(h.name)} | ${size(h.size)} | ${ms(h.ms)} ms | ${h.failure ? `**${cell(h.failure)}**` : 'ok'} |`),
  );
  return `## Fuzz

Produced by \`${command}\` on ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}
(shared machine; times are wall-clock per call and include garbage collection). Seed ${options.seed}; ${n(seconds / 60, 1)} minutes.
CI runs a shorter pass of the same targets and properties: \`npx vitest run test/fuzz\`.

Targets and inputs are in [test/fuzz/fuzz-targets.ts](test/fuzz/fuzz-targets.ts). Inputs mix random strings and bytes, lines of
\`../shared/corpus\` and of the fleet simulator with random cuts, insertions, repetitions and byte flips, and hostile shapes:
JSON nested 10,000 deep (as text, and parsed), 1 MB lines, long runs of one character, and strings built from the catalogue's
needles and auditd syntax (\`a0=\` repeated, unbalanced quotes and braces, \`msg=audit(\` repeated, 0x1D separators, \`%\` zones,
huge hex). Each target first gets its fixed worst cases, then random cases. A failure is a throw other than the target's own
error, or a call over ${n(options.limitMs)} ms (fast-check then shrinks the input to a minimal counterexample). A call over the limit is
timed again and the fastest of ${TIMING_ATTEMPTS} counts, so that a pause of the shared machine is not taken for slow code (super-linear
code is slow every time). Each target runs in a worker thread; a call still running after ${n(options.hangMs / 1000)} s is reported as a hang
and the worker is terminated. Sizes are in characters (bytes for the envelope reader); "mean per call" is over the random cases.

${verdict}

| target | may throw | random cases | fixed worst cases | escaped throws | calls over the limit | property violations | result | worst call | its input | mean per call | largest input | slowest fixed worst case |
|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|
${rows.join('\n')}

Properties checked on every case (untimed, after the call; "-" above: none beyond not throwing):

${results.filter((r) => r.property !== undefined).map((r) => `- ${r.target}: ${r.property ?? ''}`).join('\n')}
${failures.length > 0 ? `\n### Failures\n\n${failureText}\n` : ''}
### Findings

${findings(results).map((f) => `- ${f}`).join('\n')}

<details><summary>The five slowest fixed worst cases of each target</summary>

| target | input | size | time | result |
|---|---|---:|---:|---|
${hostileRows.join('\n')}

</details>
`;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const command = `npm run fuzz${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const targets = fuzzTargets().filter((t) => options.only.length === 0 || options.only.includes(t.name));
  if (targets.length === 0) throw new Error(`no target named ${options.only.join(', ')}`);
  const perTarget = Math.ceil(options.cases / targets.length);
  const began = performance.now();
  const results: TargetResult[] = [];
  for (const target of targets) {
    const heartbeat = new SharedArrayBuffer(4 * Float64Array.BYTES_PER_ELEMENT);
    const started = performance.now();
    const result = await startWorker({ target: target.name, cases: perTarget, seed: options.seed, limitMs: options.limitMs, heartbeat }, options.hangMs);
    results.push(result);
    const failed = result.random.failed || result.hang !== undefined || result.hostile.some((h) => h.failure);
    process.stderr.write(
      `${target.name}: ${n(result.random.cases)} random + ${result.hostile.length} fixed, worst ${ms(result.stats.worstMs)} ms on ${size(result.stats.worstSize)}` +
        `${failed ? `, FAILED: ${result.hang ?? result.random.failure ?? result.hostile.find((h) => h.failure)?.failure}` : ''} (${n((performance.now() - started) / 1000, 1)} s)\n`,
    );
    if (result.random.failed && result.random.counterexample) process.stderr.write(`  counterexample: ${showValue(result.random.counterexample, 400)}\n`);
  }
  const md = report(options, command, results, (performance.now() - began) / 1000);
  process.stdout.write(md);
  if (options.write) await replaceSection(new URL('../RELIABILITY.md', import.meta.url), 'fuzz', md, '# Reliability');
  const failed = results.some((r) => r.random.failed || r.hang !== undefined || r.hostile.some((h) => h.failure));
  process.exitCode = failed ? 1 : 0;
}

if (isMainThread) await main();
else await runWorker(workerData as WorkerInput);
