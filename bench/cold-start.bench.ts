// Cold start: the Lambda bundle built with the deployment's own esbuild options (serverless.yml
// custom.esbuild, as serverless-esbuild applies them), its raw and zipped size, and the time a
// fresh Node process takes to import it, against a fresh process that imports nothing. Then the
// handler's first and second invocation, offline: DynamoDB is embedded dynalite, CloudWatch Logs
// and SNS are a local HTTP stand-in, reached through the SDK's AWS_ENDPOINT_URL_* variables.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { build } from 'esbuild';
import { startEmbeddedDynamo } from '../src/adapters/embedded-dynalite.js';
import { deploymentBuild } from './serverless-esbuild-options.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HANDLER_ENTRY = 'functions/detect.ts';
const TABLE = 'imds-watch-cold-start';

export interface ColdStartResult {
  quick: boolean;
  repetitions: number;
  esbuild: Record<string, unknown>;
  buildSeconds: number;
  files: Record<string, number>;
  /**
   * Zipped size estimated from per-file raw deflate plus the zip headers: at level 1 (which gives
   * the size of osls's own detect.zip to the KiB) and at level 9; and the `zip` binary's, if present.
   */
  zip: { level1: number; level9: number; zipBinary?: number };
  /** Wall time of a child process from spawn to exit (ms), medians. */
  process: { empty: number; importBundle: number; difference: number };
  /** Time of `await import(bundle)` measured inside the child (ms), median and range. */
  importInProcess: { median: number; min: number; max: number };
  /** The handler's invocations in one child after the import (ms), medians; or why not measured. */
  invocation: { first: number; second: number; importMs: number; requests: Record<string, number> } | { error: string };
  packaged?: { zipBytes: number; files: Record<string, number>; bundler?: Record<string, string> };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

/** What `node -e` runs: import the bundle (or nothing), report the in-process time, optionally invoke. */
const CHILD_SCRIPT = `
const t0 = performance.now();
const bundle = process.env.BENCH_BUNDLE;
const mod = bundle ? await import(bundle) : undefined;
const importMs = performance.now() - t0;
const out = { importMs };
if (mod && process.env.BENCH_INVOKE) {
  const runTime = Number(process.env.BENCH_INVOKE);
  const event = (t) => ({ version: '0', id: 'evt-' + t, 'detail-type': 'Scheduled Event', source: 'aws.events', account: '123456789012',
    time: new Date(t).toISOString().replace('.000', ''), region: 'us-east-1', resources: ['arn:aws:events:us-east-1:123456789012:rule/imds-watch'], detail: {} });
  const context = (id) => ({ awsRequestId: id, functionName: 'imds-watch-detect', functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:imds-watch-detect', memoryLimitInMB: '512',
    logGroupName: '/aws/lambda/imds-watch-detect', logStreamName: 's', callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 600000, done() {}, fail() {}, succeed() {} });
  let t = performance.now();
  await mod.handler(event(runTime + 4000), context('first'));
  out.first = performance.now() - t;
  t = performance.now();
  await mod.handler(event(runTime + 15 * 60000 + 4000), context('second'));
  out.second = performance.now() - t;
}
process.stdout.write('\\nBENCH ' + JSON.stringify(out) + '\\n');
`;

interface ChildOutcome {
  wallMs: number;
  report: { importMs: number; first?: number; second?: number };
}

function runChild(env: Record<string, string>): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    // NODE_OPTIONS as the function sets it (serverless.yml), so source-map support is part of init.
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD_SCRIPT], {
      env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: '--enable-source-maps', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      const line = stdout.split('\n').find((l) => l.startsWith('BENCH '));
      if (code !== 0 || !line) {
        reject(new Error(`child exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ') || stdout.slice(-300)}`));
        return;
      }
      resolve({ wallMs, report: JSON.parse(line.slice('BENCH '.length)) as ChildOutcome['report'] });
    });
  });
}

/** A zip's size estimated from per-file raw deflate at `level` plus the zip format's headers. */
function zipEstimate(files: { name: string; bytes: Buffer }[], level: number): number {
  // Local header 30 + name, central directory 46 + name, end record 22.
  return files.reduce((a, f) => a + deflateRawSync(f.bytes, { level }).length + 76 + 2 * Buffer.byteLength(f.name), 22);
}

/**
 * Stand-in for CloudWatch Logs (FilterLogEvents: no events) and SNS (PublishBatch: all accepted),
 * counting requests by target. Anything else answers 400, which the run reports as an error.
 */
async function awsStandIn(): Promise<{ endpoint: string; requests: Record<string, number>; server: Server }> {
  const requests: Record<string, number> = {};
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const target = req.headers['x-amz-target'];
      const action = typeof target === 'string' ? target : (new URLSearchParams(body).get('Action') ?? 'unknown');
      requests[action] = (requests[action] ?? 0) + 1;
      if (action === 'Logs_20140328.FilterLogEvents') {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end('{"events":[],"searchedLogStreams":[]}');
      } else if (action === 'PublishBatch') {
        const ids = [...new URLSearchParams(body).entries()].filter(([k]) => /^PublishBatchRequestEntries\.member\.\d+\.Id$/.test(k)).map(([, v]) => v);
        const members = ids.map((id) => `<member><Id>${id}</Id><MessageId>m-${id}</MessageId></member>`).join('');
        res
          .writeHead(200, { 'content-type': 'text/xml' })
          .end(`<PublishBatchResponse><PublishBatchResult><Successful>${members}</Successful><Failed/></PublishBatchResult></PublishBatchResponse>`);
      } else res.writeHead(400, { 'content-type': 'application/json' }).end('{"__type":"UnknownOperationException"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

const FUNCTION_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  TABLE_NAME: TABLE,
  TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:imds-watch-alerts',
  LOG_GROUPS: '/imds-watch/audit,/imds-watch/ecs',
  POWERTOOLS_SERVICE_NAME: 'imds-watch-bench',
  POWERTOOLS_METRICS_NAMESPACE: 'ImdsWatch',
  POWERTOOLS_METRICS_DISABLED: 'true',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  LOG_LEVEL: 'ERROR',
};

async function measureInvocation(bundleUrl: string, repetitions: number): Promise<ColdStartResult['invocation']> {
  const firsts: number[] = [];
  const seconds: number[] = [];
  const imports: number[] = [];
  let requests: Record<string, number> = {};
  for (let r = 0; r < repetitions; r++) {
    // A new table and stand-in each time: every first invocation finds an empty table, like a first deployment.
    const dynamo = await startEmbeddedDynamo({ tableName: TABLE });
    const aws = await awsStandIn();
    try {
      const { report } = await runChild({
        ...FUNCTION_ENV,
        BENCH_BUNDLE: bundleUrl,
        BENCH_INVOKE: String(Date.UTC(2026, 10, 2, 12, 0, 0)),
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
        AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: aws.endpoint,
        AWS_ENDPOINT_URL_SNS: aws.endpoint,
      });
      firsts.push(report.first ?? NaN);
      seconds.push(report.second ?? NaN);
      imports.push(report.importMs);
      requests = aws.requests;
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) };
    } finally {
      aws.server.close();
      aws.server.closeAllConnections();
      await dynamo.close();
    }
  }
  return { first: median(firsts), second: median(seconds), importMs: median(imports), requests };
}

export async function coldStartBench(options: { quick: boolean }): Promise<ColdStartResult> {
  const repetitions = options.quick ? 5 : 15;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imds-watch-cold-start-'));
  try {
    const deployment = await deploymentBuild(path.join(ROOT, 'serverless.yml'));
    const t = performance.now();
    await build({ ...deployment.options, entryPoints: [HANDLER_ENTRY], outdir: path.join(dir, 'functions'), absWorkingDir: ROOT, logLevel: 'silent' });
    const buildSeconds = (performance.now() - t) / 1000;

    const names = (await readdir(path.join(dir, 'functions'))).sort();
    const contents = await Promise.all(names.map(async (name) => ({ name: `functions/${name}`, bytes: await readFile(path.join(dir, 'functions', name)) })));
    const files = Object.fromEntries(contents.map((f) => [f.name, f.bytes.length]));
    const bundleName = names.find((n) => n.endsWith(deployment.extension));
    if (!bundleName) throw new Error(`no ${deployment.extension} bundle in ${names.join(', ')}`);
    const bundleUrl = pathToFileURL(path.join(dir, 'functions', bundleName)).href;

    const zip: ColdStartResult['zip'] = { level1: zipEstimate(contents, 1), level9: zipEstimate(contents, 9) };
    const zipped = spawnSync('zip', ['-q', '-X', '-r', path.join(dir, 'detect.zip'), 'functions'], { cwd: dir });
    if (zipped.status === 0) zip.zipBinary = (await stat(path.join(dir, 'detect.zip'))).size;

    // Interleaved, so that the machine's load hits both alike; one unmeasured pair warms the disk cache.
    await runChild({});
    await runChild({ ...FUNCTION_ENV, BENCH_BUNDLE: bundleUrl });
    const empty: number[] = [];
    const full: number[] = [];
    const inProcess: number[] = [];
    for (let r = 0; r < repetitions; r++) {
      empty.push((await runChild({})).wallMs);
      const outcome = await runChild({ ...FUNCTION_ENV, BENCH_BUNDLE: bundleUrl });
      full.push(outcome.wallMs);
      inProcess.push(outcome.report.importMs);
    }
    const invocation = await measureInvocation(bundleUrl, options.quick ? 3 : 5);

    const packaged = await readFile(path.join(ROOT, 'bench', 'results', 'bundle-size.json'), 'utf8').then(
      (text) => JSON.parse(text) as ColdStartResult['packaged'],
      () => undefined,
    );
    return {
      quick: options.quick,
      repetitions,
      esbuild: { ...deployment.options },
      buildSeconds,
      files,
      zip,
      process: { empty: median(empty), importBundle: median(full), difference: median(full) - median(empty) },
      importInProcess: { median: median(inProcess), min: Math.min(...inProcess), max: Math.max(...inProcess) },
      invocation,
      ...(packaged ? { packaged } : {}),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const n = (v: number, digits = 0): string => v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const kib = (bytes: number): string => `${n(bytes / 1024)} KiB`;

export function coldStartMarkdown(result: ColdStartResult): string {
  const { packaged, invocation } = result;
  const bundle = Object.entries(result.files).find(([name]) => !name.endsWith('.map'));
  const packagedBundle = packaged ? Object.entries(packaged.files).find(([name]) => !name.endsWith('.map')) : undefined;
  const invocationText =
    'error' in invocation
      ? `Not measured: ${invocation.error}.`
      : `In one fresh process: import ${n(invocation.importMs)} ms, then the **first invocation ${n(invocation.first)} ms** and the second
${n(invocation.second)} ms (medians of ${result.quick ? 3 : 5} processes). Offline: DynamoDB is embedded dynalite in the benchmark process, CloudWatch
Logs and SNS a local HTTP stand-in (FilterLogEvents returns no events), reached through \`AWS_ENDPOINT_URL_DYNAMODB\`,
\`AWS_ENDPOINT_URL_CLOUDWATCH_LOGS\` and \`AWS_ENDPOINT_URL_SNS\`; each process starts on an empty table. Stand-in requests of the
last process: ${Object.entries(invocation.requests).map(([k, v]) => `${k.replace('Logs_20140328.', '')} ${v}`).join(', ') || 'none'}. The first invocation
pays for the SDK clients' lazy set-up (credential and endpoint resolution, first TCP connections) that the second does not;
on Lambda, connections to AWS add TLS handshakes and real latency that a loopback stand-in does not have.`;
  return `## Cold start

The function bundled as the deployment bundles it: \`${HANDLER_ENTRY}\` with serverless.yml's \`custom.esbuild\` options, passed
to the esbuild API the way serverless-esbuild does (plugin-only keys dropped, \`exclude\` appended to \`external\`,
\`outputFileExtension\` as \`outExtension\`): \`${JSON.stringify(result.esbuild)}\`.
Built in ${n(result.buildSeconds, 1)} s.

| | this build | \`osls package\` (bench/results/bundle-size.json) |
|---|---:|---:|
| bundle${bundle ? ` (${bundle[0]})` : ''} | ${bundle ? kib(bundle[1]) : '–'} | ${packagedBundle ? kib(packagedBundle[1]) : '–'} |
| all files (bundle and source map) | ${kib(Object.values(result.files).reduce((a, b) => a + b, 0))} | ${packaged ? kib(Object.values(packaged.files).reduce((a, b) => a + b, 0)) : '–'} |
| zipped, as packaged (per-file deflate level 1: it reproduces osls's detect.zip) | ${kib(result.zip.level1)} | ${packaged ? kib(packaged.zipBytes) : '–'} |
| zipped at deflate level 9 (estimate)${result.zip.zipBinary === undefined ? '' : '; `zip -X` (level 6)'} | ${kib(result.zip.level9)}${result.zip.zipBinary === undefined ? '' : `; ${kib(result.zip.zipBinary)}`} | |

The packaged zip's size is what level-1 deflate gives (the packager's fast setting); maximum compression would save
${n((1 - result.zip.level9 / result.zip.level1) * 100)}% of the upload, which does not change cold start (Lambda unpacks once per instance).

Module initialisation: a fresh \`node --input-type=module -e\` process that \`await import()\`s the bundle with the function's
environment (and \`NODE_OPTIONS=--enable-source-maps\`, as deployed), against one that imports nothing; interleaved, median of
${result.repetitions} each.

| | median |
|---|---:|
| process that imports nothing, spawn to exit | ${n(result.process.empty)} ms |
| process that imports the bundle, spawn to exit | ${n(result.process.importBundle)} ms |
| **difference: module init** | **${n(result.process.difference)} ms** |
| \`await import(bundle)\` timed inside the process (min–max) | ${n(result.importInProcess.median)} ms (${n(result.importInProcess.min)}–${n(result.importInProcess.max)}) |

${invocationText}

Local Node ${process.version} on x86-64, not Lambda's nodejs22.x on arm64 with 512 MB (a fraction of a vCPU): the absolute times
there differ; the split between Node's own start and the bundle's init is what this shows.
`;
}
