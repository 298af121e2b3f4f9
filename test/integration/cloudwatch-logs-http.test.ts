// CloudWatchLogsSource with a real CloudWatchLogsClient and NodeHttpHandler against a tiny local
// server that speaks the CloudWatch Logs JSON protocol (awsJson1_1): POST /, X-Amz-Target
// `Logs_20140328.<Operation>`, JSON body, `application/x-amz-json-1.1` replies. Nothing leaves
// 127.0.0.1.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CloudWatchLogsSource, type CloudWatchLogsSourceOptions } from '../../src/adapters/cloudwatch-logs-source.js';
import { TelemetryBudgetExceeded, TelemetrySourceError } from '../../src/errors.js';
import type { TimeWindow } from '../../src/ports.js';
import type { LogEvent } from '../../src/telemetry/log-event.js';

const MINUTE = 60_000;
/** 12:00 UTC, 15 January 2024. */
const T0 = Date.UTC(2024, 0, 15, 12);
const WINDOW: TimeWindow = { start: T0 - 45 * MINUTE, end: T0 };
const LOG_GROUP = '/aws/ec2/audit';

interface Reply {
  status: number;
  body: unknown;
  /** Drop the connection instead of answering. */
  reset?: boolean;
}

interface ReceivedRequest {
  target: string | undefined;
  contentType: string | undefined;
  body: Record<string, unknown>;
}

/** What the server answers to the next FilterLogEvents request; set per test. */
let script: (request: ReceivedRequest, index: number) => Reply = () => ({ status: 500, body: {} });
let received: ReceivedRequest[] = [];
let server: Server;
let client: CloudWatchLogsClient;

const THROTTLED: Reply = { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } };
/** A bare 500, no error type: only its status says it is transient. */
const SERVER_ERROR: Reply = { status: 500, body: { message: 'Internal Server Error' } };
const CONNECTION_RESET: Reply = { status: 0, body: null, reset: true };

/** Three pages of three events each, chained by nextToken. */
const PAGES: { token: string | undefined; next: string | undefined; ids: string[] }[] = [
  { token: undefined, next: 'page-2', ids: ['e1', 'e2', 'e3'] },
  { token: 'page-2', next: 'page-3', ids: ['e4', 'e5', 'e6'] },
  { token: 'page-3', next: undefined, ids: ['e7', 'e8', 'e9'] },
];

function pageReply(request: ReceivedRequest): Reply {
  const token = typeof request.body.nextToken === 'string' ? request.body.nextToken : undefined;
  const page = PAGES.find((p) => p.token === token);
  if (!page) return { status: 400, body: { __type: 'InvalidParameterException', message: `unknown token ${String(token)}` } };
  return {
    status: 200,
    body: {
      events: page.ids.map((eventId, i) => ({
        eventId,
        logStreamName: 'i-0abc',
        timestamp: WINDOW.start + Number(eventId.slice(1)) * 1000 + i,
        ingestionTime: WINDOW.start + Number(eventId.slice(1)) * 1000 + 1500,
        message: `type=SOCKADDR msg=audit(1705318000.${eventId.slice(1)}00:${eventId.slice(1)}): saddr=02000050A9FEA9FE0000000000000000`,
      })),
      searchedLogStreams: [],
      ...(page.next ? { nextToken: page.next } : {}),
    },
  };
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const target = req.headers['x-amz-target'];
    const request: ReceivedRequest = {
      target: Array.isArray(target) ? target[0] : target,
      contentType: req.headers['content-type'],
      body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>,
    };
    const index = received.length;
    received.push(request);
    const reply =
      req.method === 'POST' && req.url === '/' && request.target === 'Logs_20140328.FilterLogEvents'
        ? script(request, index)
        : { status: 400, body: { __type: 'UnknownOperationException', message: `unexpected ${String(request.target)}` } };
    if (reply.reset) {
      req.socket.destroy();
      return;
    }
    const payload = JSON.stringify(reply.body);
    res.writeHead(reply.status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
  });
}

function newClient(port: number, maxAttempts: number): CloudWatchLogsClient {
  return new CloudWatchLogsClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' },
    requestHandler: new NodeHttpHandler({ connectionTimeout: 2_000, requestTimeout: 5_000 }),
    maxAttempts,
  });
}

function newSource(overrides: Partial<CloudWatchLogsSourceOptions> = {}): { source: CloudWatchLogsSource; sleeps: number[] } {
  const sleeps: number[] = [];
  const source = new CloudWatchLogsSource({
    client,
    logGroups: [LOG_GROUP],
    needles: ['169.254.169.254', 'a9fea9fe'],
    budget: { deadline: () => Date.now() + 60_000, now: () => Date.now() },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...overrides,
  });
  return { source, sleeps };
}

async function collect(iterable: AsyncIterable<LogEvent>): Promise<LogEvent[]> {
  const out: LogEvent[] = [];
  for await (const e of iterable) out.push(e);
  return out;
}

const port = (): number => (server.address() as AddressInfo).port;

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // The SDK's own retry is kept out of the way (the caller sets it small): every request the
  // server sees is one this source decided to make.
  client = newClient(port(), 1);
});

afterAll(async () => {
  client.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
});

beforeEach(() => {
  received = [];
});

describe('CloudWatchLogsSource over HTTP', () => {
  it('delivers every event of every page exactly once through two throttles and a server error', async () => {
    // Prepare
    script = (request, index) => (index < 2 ? THROTTLED : index === 2 ? SERVER_ERROR : pageReply(request));
    const { source, sleeps } = newSource();

    // Act
    const events = await collect(source.candidates(WINDOW));

    // Assess
    expect(events.map((e) => e.eventId)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9']);
    expect(events.every((e) => e.logGroup === LOG_GROUP && e.logStream === 'i-0abc' && e.message.includes('A9FEA9FE'))).toBe(true);
    expect(received).toHaveLength(6); // 2 throttled + 1 server error + 3 pages
    expect(received.map((r) => r.body.nextToken)).toEqual([undefined, undefined, undefined, undefined, 'page-2', 'page-3']);
    expect(sleeps).toHaveLength(3);
    expect(source.requestCounts()).toEqual({ FilterLogEvents: 6 });
    for (const r of received) {
      expect(r.contentType).toBe('application/x-amz-json-1.1');
      expect(r.body).toMatchObject({
        logGroupName: LOG_GROUP,
        startTime: WINDOW.start,
        endTime: WINDOW.end - 1,
        filterPattern: source.filterPatterns[0],
      });
    }
  });

  it('retries a page whose connection was reset', async () => {
    // Prepare
    script = (request, index) => (index === 1 ? CONNECTION_RESET : pageReply(request));
    const { source, sleeps } = newSource();

    // Act
    const events = await collect(source.candidates(WINDOW));

    // Assess
    expect(events.map((e) => e.eventId)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9']);
    expect(received.map((r) => r.body.nextToken)).toEqual([undefined, 'page-2', 'page-2', 'page-3']);
    expect(sleeps).toHaveLength(1);
  });

  it('counts the requests the SDK retried on its own', async () => {
    // Prepare
    script = (request, index) => (index === 0 ? THROTTLED : pageReply(request));
    const retryingClient = newClient(port(), 2);
    const { source } = newSource({ client: retryingClient });

    // Act
    const events = await collect(source.candidates(WINDOW));
    retryingClient.destroy();

    // Assess
    expect(events).toHaveLength(9);
    expect(received).toHaveLength(4);
    expect(source.requestCounts()).toEqual({ FilterLogEvents: 4 });
  });

  it('ends in a TelemetrySourceError after the bounded attempts when the server throttles forever', async () => {
    // Prepare
    script = () => THROTTLED;
    const { source, sleeps } = newSource({ maxRetries: 3 });

    // Act
    const error: unknown = await collect(source.candidates(WINDOW)).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(TelemetrySourceError);
    expect(error).not.toBeInstanceOf(TelemetryBudgetExceeded);
    expect((error as Error).message).toMatch(/ThrottlingException/);
    expect(received).toHaveLength(4);
    expect(sleeps).toHaveLength(3);
  });

  it('ends in TelemetryBudgetExceeded without a request when the deadline is already past', async () => {
    // Prepare
    script = pageReply;
    const { source } = newSource({ budget: { deadline: () => Date.now() - 1, now: () => Date.now() } });

    // Act
    const error: unknown = await collect(source.candidates(WINDOW)).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(TelemetryBudgetExceeded);
    expect((error as TelemetryBudgetExceeded).unread).toEqual({ read: 'candidates', logGroups: [LOG_GROUP], start: WINDOW.start, end: WINDOW.end });
    expect(received).toHaveLength(0);
  });

  it('aborts a request still in flight at the deadline and reports the budget exceeded', async () => {
    // Prepare
    const slowServer = createServer(() => {
      // never answers
    });
    await new Promise<void>((resolve) => slowServer.listen(0, '127.0.0.1', resolve));
    const slowClient = newClient((slowServer.address() as AddressInfo).port, 1);
    const deadline = Date.now() + 300;
    const { source } = newSource({ client: slowClient, budget: { deadline: () => deadline, now: () => Date.now() } });

    // Act
    const error: unknown = await collect(source.candidates(WINDOW)).catch((e: unknown) => e);
    slowClient.destroy();
    slowServer.closeAllConnections();
    await new Promise<void>((resolve) => slowServer.close(() => resolve()));

    // Assess
    expect(error).toBeInstanceOf(TelemetryBudgetExceeded);
    expect(Date.now() - deadline).toBeLessThan(2_000);
  });
});
