import {
  AuthorizationErrorException,
  BatchRequestTooLongException,
  InternalErrorException,
  InvalidParameterException,
  KMSAccessDeniedException,
  NotFoundException,
  PublishBatchCommand,
  SNSClient,
  ThrottledException,
  type PublishBatchInput,
  type PublishBatchRequestEntry,
  type PublishBatchResponse,
} from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alertMessage } from '../../../src/alerts/outgoing-message.js';
import type { AlertDocument } from '../../../src/alerts/alert-document.js';
import { SnsAlertSink } from '../../../src/adapters/sns-alert-sink.js';
import { AlertSinkError, ConfigError } from '../../../src/errors.js';
import type { OutgoingMessage } from '../../../src/ports.js';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:imds-watch-alerts';
const FIFO_TOPIC = 'arn:aws:sns:eu-west-1:123456789012:imds-watch-alerts.fifo';
const LIMIT = 262_144;
const T = Date.parse('2026-11-27T12:00:00Z');

/** A fresh client and mock per test, so no behaviour leaks between tests. */
function setup(topicArn = TOPIC, maxAttempts?: number) {
  const client = new SNSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' } });
  const sns = mockClient(client);
  const sleeps: number[] = [];
  const sink = new SnsAlertSink({
    client,
    topicArn,
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
  });
  const sent = (): PublishBatchInput[] => sns.commandCalls(PublishBatchCommand).map((c) => c.args[0].input);
  return { client, sns, sink, sleeps, sent };
}

/** SNS accepting every entry. */
const acceptAll = (input: PublishBatchInput): PublishBatchResponse => ({
  Successful: (input.PublishBatchRequestEntries ?? []).map((e, i) => ({ Id: e.Id, MessageId: `sns-${e.Id}-${i}` })),
  Failed: [],
});

const alertDoc = (id: string, over: Record<string, unknown> = {}): AlertDocument => ({
  event: { kind: 'alert', id, risk_score: 21 },
  severity: 'low',
  user: { name: 'www-data' },
  host: { name: 'ip-10-0-1-12' },
  evidence: [],
  ...over,
});

/** The JSON body alone, as for a topic without email subscribers' plain-text rendering. */
const withoutEmail = (m: OutgoingMessage): OutgoingMessage => ({ id: m.id, subject: m.subject, body: m.body, attributes: m.attributes });

/** A message whose body is an alert document; `evidenceBytes` spread over `evidenceCount` entries. */
function message(id: string, evidenceCount = 0, evidenceBytes = 0, host = 'ip-10-0-1-12'): OutgoingMessage {
  const each = evidenceCount === 0 ? 0 : Math.floor(evidenceBytes / evidenceCount);
  const evidence = Array.from({ length: evidenceCount }, (_, i) => ({ n: i, process: { args: ['curl', 'x'.repeat(each)] } }));
  return withoutEmail(alertMessage(alertDoc(id, { evidence, host: { name: host } }), T));
}

/** What SNS counts toward the limits, computed here independently: body, subject, attribute names, types and values. */
const documentedBytes = (e: PublishBatchRequestEntry | undefined): number =>
  Buffer.byteLength(e?.Message ?? '') +
  Buffer.byteLength(e?.Subject ?? '') +
  Object.entries(e?.MessageAttributes ?? {}).reduce(
    (sum, [name, v]) => sum + Buffer.byteLength(name) + Buffer.byteLength(v.DataType ?? '') + Buffer.byteLength(v.StringValue ?? ''),
    0,
  );

const entriesOf = (input: PublishBatchInput | undefined): PublishBatchRequestEntry[] => input?.PublishBatchRequestEntries ?? [];

describe('SnsAlertSink batching', () => {
  it('sends 23 messages in three calls of 10, 10 and 3 entries', async () => {
    // Prepare
    const { sns, sink, sent } = setup();
    sns.on(PublishBatchCommand).callsFake(acceptAll);
    const messages = Array.from({ length: 23 }, (_, i) => message(`alert${i}`));
    // Act
    const accepted = await sink.publish(messages);
    // Assess
    expect(sent().map((c) => entriesOf(c).length)).toEqual([10, 10, 3]);
    expect(sent().every((c) => c.TopicArn === TOPIC)).toBe(true);
    expect(accepted).toEqual(new Set(messages.map((m) => m.id)));
    expect(sink.requestCounts()).toEqual({ PublishBatch: 3 });
  });

  it('splits large bodies so that no call carries more than 256 KiB', async () => {
    // Prepare
    const { sns, sink, sent } = setup();
    sns.on(PublishBatchCommand).callsFake(acceptAll);
    const messages = Array.from({ length: 5 }, (_, i) => message(`big${i}`, 2, 100_000));
    // Act
    const accepted = await sink.publish(messages);
    // Assess
    expect(sent().map((c) => entriesOf(c).length)).toEqual([2, 2, 1]);
    for (const call of sent()) expect(entriesOf(call).reduce((s, e) => s + documentedBytes(e), 0)).toBeLessThanOrEqual(LIMIT);
    expect(accepted.size).toBe(5);
    expect(sink.lastTruncated).toEqual([]);
  });

  it('keeps the order of the messages across calls', async () => {
    // Prepare
    const { sns, sink, sent } = setup();
    sns.on(PublishBatchCommand).callsFake(acceptAll);
    const messages = Array.from({ length: 14 }, (_, i) => message(`ordered${String(i).padStart(2, '0')}`));
    // Act
    await sink.publish(messages);
    // Assess
    expect(sent().flatMap((c) => entriesOf(c).map((e) => e.Id))).toEqual(messages.map((m) => m.id));
  });

  it('sends nothing for an empty list', async () => {
    // Prepare
    const { sns, sink, sent } = setup();
    sns.on(PublishBatchCommand).callsFake(acceptAll);
    // Act
    const accepted = await sink.publish([]);
    // Assess
    expect(accepted.size).toBe(0);
    expect(sent()).toHaveLength(0);
  });

  it('re-sends messages one by one when SNS finds their batch too long', async () => {
    // Prepare
    const { sns, sink, sent } = setup();
    sns
      .on(PublishBatchCommand)
      .rejectsOnce(new BatchRequestTooLongException({ message: 'The length of all the messages put together is more than the limit.', $metadata: {} }))
      .callsFake(acceptAll);
    const messages = [message('a1'), message('a2'), message('a3')];
    // Act
    const accepted = await sink.publish(messages);
    // Assess
    expect(sent().map((c) => entriesOf(c).length)).toEqual([3, 1, 1, 1]);
    expect(accepted).toEqual(new Set(['a1', 'a2', 'a3']));
  });
});

describe('SnsAlertSink oversized alerts', () => {
  it('trims the evidence of an alert over 256 KiB from the end and says how many entries it removed', async () => {
    // Prepare
    const { sns, sink, sent } = setup();
    sns.on(PublishBatchCommand).callsFake(acceptAll);
    const big = message('huge', 10, 400_000);
    // Act
    const accepted = await sink.publish([big]);
    // Assess
    expect(accepted).toEqual(new Set(['huge']));
    const entry = entriesOf(sent()[0])[0];
    expect(entry).toBeDefined();
    expect(documentedBytes(entry ?? { Id: '', Message: '' })).toBeLessThanOrEqual(LIMIT);
    const body = JSON.parse(entry?.Message ?? '') as { evidence: { n: number }[]; evidence_truncated: number; event: { id: string } };
    const original = JSON.parse(big.body) as { evidence: unknown[] };
    expect(body.event.id).toBe('huge');
    expect(body.evidence.map((e) => e.n)).toEqual(Array.from({ length: body.evidence.length }, (_, i) => i));
    expect(body.evidence.length).toBeGreaterThan(0);
    expect(body.evidence_truncated).toBe(10 - body.evidence.length);
    // As much evidence as fits: one more entry would not.
    const oneMore = JSON.stringify({ ...body, evidence: original.evidence.slice(0, body.evidence.length + 1), evidence_truncated: body.evidence_truncated - 1 });
    expect(documentedBytes({ Id: '', ...entry, Message: oneMore })).toBeGreaterThan(LIMIT);
    expect(sink.lastTruncated).toEqual([expect.objectContaining({ id: 'huge', removed: body.evidence_truncated })]);
  });

  it('counts body, subject and attribute names, types and values toward the limit, to the byte', async () => {
    // Prepare
    const { sns, sink, sent } = setup();
    sns.on(PublishBatchCommand).callsFake(acceptAll);
    const evidence = Array.from({ length: 50 }, (_, i) => ({ n: i }));
    const withPad = (id: string, pad: number): OutgoingMessage => withoutEmail(alertMessage(alertDoc(id, { evidence, pad: 'p'.repeat(pad) }), T));
    await sink.publish([withPad('probe', 0)]);
    const overhead = documentedBytes(entriesOf(sent()[0])[0]);
    const exact = withPad('exact', LIMIT - overhead);
    const over = withPad('overr', LIMIT - overhead + 1);
    // Act
    await sink.publish([exact, over]);
    // Assess
    const [first, second] = sent().slice(1).flatMap(entriesOf);
    expect(documentedBytes(first)).toBe(LIMIT);
    expect(first?.Message).toBe(exact.body);
    expect(documentedBytes(second)).toBeLessThanOrEqual(LIMIT);
    const trimmed = JSON.parse(second?.Message ?? '{}') as { evidence: unknown[]; evidence_truncated: number };
    expect(trimmed.evidence_truncated).toBeGreaterThan(0);
    expect(trimmed.evidence.length + trimmed.evidence_truncated).toBe(50);
    expect(sent().slice(1).map((c) => entriesOf(c).length)).toEqual([1, 1]);
  });

  it('trims the same alert the same way every time', async () => {
    // Prepare
    const first = setup();
    const second = setup();
    first.sns.on(PublishBatchCommand).callsFake(acceptAll);
    second.sns.on(PublishBatchCommand).callsFake(acceptAll);
    const big = message('huge', 7, 300_000);
    // Act
    await first.sink.publish([big]);
    await second.sink.publish([big]);
    // Assess
    expect(entriesOf(first.sent()[0])[0]?.Message).toBe(entriesOf(second.sent()[0])[0]?.Message);
  });

  it('refuses, naming the id, an alert that does not fit even without evidence, and sends nothing', async () => {
    // Prepare
    const { sns, sink, sent } = setup();
    sns.on(PublishBatchCommand).callsFake(acceptAll);
    const huge = alertMessage(alertDoc('no-room', { message: 'y'.repeat(300_000) }), T);
    // Act
    const publishing = sink.publish([message('fine'), huge]);
    // Assess
    await expect(publishing).rejects.toThrow(AlertSinkError);
    await expect(publishing).rejects.toThrow(/no-room/);
    expect(sent()).toHaveLength(0);
  });

  it('refuses a body over 256 KiB that is not JSON', async () => {
    // Prepare
    const { sns, sink } = setup();
    sns.on(PublishBatchCommand).callsFake(acceptAll);
    const raw: OutgoingMessage = { id: 'raw', subject: 'x', body: 'z'.repeat(LIMIT + 1), attributes: {} };
    // Act
    const publishing = sink.publish([raw]);
    // Assess
    await expect(publishing).rejects.toThrow(/raw/);
  });
});

describe('SnsAlertSink attributes and subject', () => {
  it('sends severity, risk score, user, host and kind as filterable attributes', async () => {
    // Prepare
    const { sns, sink, sent } = setup();
    sns.on(PublishBatchCommand).callsFake(acceptAll);
    // Act
    await sink.publish([message('attrs')]);
    // Assess
    const entry = entriesOf(sent()[0])[0];
    expect(entry?.MessageAttributes).toEqual({
      severity: { DataType: 'String', StringValue: 'low' },
      risk_score: { DataType: 'Number', StringValue: '21' },
      user: { DataType: 'String', StringValue: 'www-data' },
      host: { DataType: 'String', StringValue: 'ip-10-0-1-12' },
      kind: { DataType: 'String', StringValue: 'alert' },
    });
    expect(entry?.Subject).toBe('[low] Unusual Linux user www-data called the metadata service on ip-10-0-1-12');
  });

  it('never sends an empty attribute value, nor a risk score that is not a number as a Number', async () => {
    // Prepare
    const { sns, sink, sent } = setup();
    sns.on(PublishBatchCommand).callsFake(acceptAll);
    const odd: OutgoingMessage = { id: 'odd', subject: 'odd', body: '{}', attributes: { severity: '', risk_score: 'high', user: '  ', kind: 'alert' } };
    // Act
    await sink.publish([odd]);
    // Assess
    const attributes = entriesOf(sent()[0])[0]?.MessageAttributes ?? {};
    expect(attributes.severity?.StringValue).toBe('-');
    expect(attributes.user?.StringValue).toBe('-');
    expect(attributes.host?.StringValue).toBe('-');
    expect(attributes.risk_score).toEqual({ DataType: 'String', StringValue: 'high' });
    expect(Object.values(attributes).every((v) => (v.StringValue ?? '').length > 0)).toBe(true);
  });

  it.each([
    ['a line break', 'hello\r\nBcc: someone'],
    ['non-ASCII text', 'Überwachung'],
    ['an empty subject', ''],
  ])('falls back to a fixed subject for %s', async (_case, subject) => {
    // Prepare
    const { sns, sink, sent } = setup();
    sns.on(PublishBatchCommand).callsFake(acceptAll);
    // Act
    await sink.publish([{ ...message('subj'), subject }]);
    // Assess
    expect(entriesOf(sent()[0])[0]?.Subject).toBe('imds-watch alert');
  });

  it('cuts a printable subject of 100 characters or more to 99', async () => {
    // Prepare
    const { sns, sink, sent } = setup();
    sns.on(PublishBatchCommand).callsFake(acceptAll);
    // Act
    await sink.publish([{ ...message('long'), subject: 's'.repeat(100) }]);
    // Assess
    const subject = entriesOf(sent()[0])[0]?.Subject ?? '';
    expect(subject).toHaveLength(99);
    expect(subject.endsWith('~')).toBe(true);
  });

  it('derives valid batch entry ids, unique within the call, from the message ids', async () => {
    // Prepare
    const { sns, sink, sent } = setup();
    sns.on(PublishBatchCommand).callsFake(acceptAll);
    const ids = ['plain-id_1', 'a.b', 'a:b', 'a b', 'x'.repeat(100), `${'x'.repeat(80)}y`];
    // Act
    const accepted = await sink.publish(ids.map((id) => message(id)));
    // Assess
    const entryIds = entriesOf(sent()[0]).map((e) => e.Id ?? '');
    expect(entryIds[0]).toBe('plain-id_1');
    expect(new Set(entryIds).size).toBe(ids.length);
    for (const id of entryIds) expect(id).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    expect(accepted).toEqual(new Set(ids));
  });
});

describe('SnsAlertSink FIFO topics', () => {
  it('groups messages by host and deduplicates them by the alert id', async () => {
    // Prepare
    const { sns, sink, sent } = setup(FIFO_TOPIC);
    sns.on(PublishBatchCommand).callsFake(acceptAll);
    const messages = [message('f1', 0, 0, 'ip-10-0-1-12'), message('f2', 0, 0, 'ip-10-0-1-13'), message('f3', 0, 0, 'ip-10-0-1-12')];
    // Act
    await sink.publish(messages);
    // Assess
    const entries = entriesOf(sent()[0]);
    expect(entries.map((e) => e.MessageGroupId)).toEqual(['ip-10-0-1-12', 'ip-10-0-1-13', 'ip-10-0-1-12']);
    expect(entries.map((e) => e.MessageDeduplicationId)).toEqual(['f1', 'f2', 'f3']);
  });

  it('keeps group ids within the allowed characters and 128 characters, distinct hosts apart', async () => {
    // Prepare
    const { sns, sink, sent } = setup(FIFO_TOPIC);
    sns.on(PublishBatchCommand).callsFake(acceptAll);
    const messages = [message('g1', 0, 0, 'web host'), message('g2', 0, 0, 'web_host'), message('g3', 0, 0, `h${'é'.repeat(200)}`)];
    // Act
    await sink.publish(messages);
    // Assess
    const groups = entriesOf(sent()[0]).map((e) => e.MessageGroupId ?? '');
    for (const g of groups) expect(g).toMatch(/^[\x21-\x7e]{1,128}$/);
    expect(new Set(groups).size).toBe(3);
  });

  it('sets neither group nor deduplication id on a standard topic', async () => {
    // Prepare
    const { sns, sink, sent } = setup(TOPIC);
    sns.on(PublishBatchCommand).callsFake(acceptAll);
    // Act
    await sink.publish([message('std')]);
    // Assess
    const entry = entriesOf(sent()[0])[0];
    expect(entry?.MessageGroupId).toBeUndefined();
    expect(entry?.MessageDeduplicationId).toBeUndefined();
  });
});

describe('SnsAlertSink partial failures and retries', () => {
  it('retries the 2 entries of 10 that failed without the sender at fault, and publishes each id once', async () => {
    // Prepare
    const { sns, sink, sent, sleeps } = setup();
    const successes = new Map<string, number>();
    let call = 0;
    sns.on(PublishBatchCommand).callsFake((input: PublishBatchInput) => {
      call++;
      const entries = entriesOf(input);
      const failing = call === 1 ? new Set([entries[3]?.Id, entries[7]?.Id]) : new Set<string | undefined>();
      const ok = entries.filter((e) => !failing.has(e.Id));
      for (const e of ok) successes.set(e.Id ?? '', (successes.get(e.Id ?? '') ?? 0) + 1);
      return {
        Successful: ok.map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}` })),
        Failed: entries.filter((e) => failing.has(e.Id)).map((e) => ({ Id: e.Id, Code: 'InternalError', Message: 'try again', SenderFault: false })),
      };
    });
    const messages = Array.from({ length: 10 }, (_, i) => message(`p${i}`));
    // Act
    const accepted = await sink.publish(messages);
    // Assess
    expect(accepted).toEqual(new Set(messages.map((m) => m.id)));
    expect(sent().map((c) => entriesOf(c).map((e) => e.Id))).toEqual([messages.map((m) => m.id), ['p3', 'p7']]);
    expect([...successes.values()].every((n) => n === 1)).toBe(true);
    expect(successes.size).toBe(10);
    expect(sleeps).toHaveLength(1);
    expect(sink.requestCounts()).toEqual({ PublishBatch: 2 });
  });

  it('does not retry entries refused as the sender’s fault, and does not report them accepted', async () => {
    // Prepare
    const { sns, sink, sent } = setup();
    sns.on(PublishBatchCommand).callsFake((input: PublishBatchInput) => {
      const entries = entriesOf(input);
      return {
        Successful: entries.filter((e) => e.Id !== 'bad').map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}` })),
        Failed: entries.filter((e) => e.Id === 'bad').map((e) => ({ Id: e.Id, Code: 'InvalidParameter', Message: 'Invalid parameter: Message', SenderFault: true })),
      };
    });
    // Act
    const accepted = await sink.publish([message('good'), message('bad')]);
    // Assess
    expect(accepted).toEqual(new Set(['good']));
    expect(sent()).toHaveLength(1);
    expect(sink.lastRejected).toEqual([{ id: 'bad', code: 'InvalidParameter', message: 'Invalid parameter: Message' }]);
  });

  it('returns the accepted subset without throwing when SNS throttles one batch on every attempt', async () => {
    // Prepare
    const { sns, sink, sent, sleeps } = setup();
    sns.on(PublishBatchCommand).callsFake((input: PublishBatchInput) => {
      if (entriesOf(input).some((e) => e.Id === 'late10')) throw new ThrottledException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
      return acceptAll(input);
    });
    const messages = Array.from({ length: 13 }, (_, i) => message(i < 10 ? `early${i}` : `late${i}`));
    // Act
    const accepted = await sink.publish(messages);
    // Assess
    expect(accepted).toEqual(new Set(messages.slice(0, 10).map((m) => m.id)));
    expect(sent()).toHaveLength(1 + 4);
    expect(sleeps).toHaveLength(3);
    expect(sleeps[0]).toBeLessThan(sleeps[1] ?? 0);
    expect(sleeps[1]).toBeLessThan(sleeps[2] ?? 0);
    expect(sink.lastExhausted.map((f) => f.id)).toEqual(['late10', 'late11', 'late12']);
    expect(sink.lastExhausted[0]?.code).toBe('ThrottledException');
  });

  it('accepts nothing, without throwing, when every attempt is throttled', async () => {
    // Prepare
    const { sns, sink, sent } = setup(TOPIC, 3);
    sns.on(PublishBatchCommand).rejects(new ThrottledException({ message: 'Rate exceeded', $metadata: {} }));
    // Act
    const accepted = await sink.publish([message('t1'), message('t2')]);
    // Assess
    expect(accepted.size).toBe(0);
    expect(sent()).toHaveLength(3);
    expect(sink.requestCounts()).toEqual({ PublishBatch: 3 });
  });

  it('retries a whole call that failed with an internal error', async () => {
    // Prepare
    const { sns, sink, sent } = setup();
    sns
      .on(PublishBatchCommand)
      .rejectsOnce(new InternalErrorException({ message: 'internal', $metadata: { httpStatusCode: 500 } }))
      .callsFake(acceptAll);
    // Act
    const accepted = await sink.publish([message('i1')]);
    // Assess
    expect(accepted).toEqual(new Set(['i1']));
    expect(sent()).toHaveLength(2);
  });

  it('never reports as accepted an entry the response does not list as Successful', async () => {
    // Prepare
    const { sns, sink } = setup(TOPIC, 2);
    sns.on(PublishBatchCommand).resolves({ Successful: [{ Id: 'someone-else', MessageId: 'x' }], Failed: [] });
    // Act
    const accepted = await sink.publish([message('lost')]);
    // Assess
    expect(accepted.size).toBe(0);
    expect(sink.lastExhausted.map((f) => f.id)).toEqual(['lost']);
  });
});

describe('SnsAlertSink configuration errors', () => {
  it.each([
    ['NotFound', () => new NotFoundException({ message: 'Topic does not exist', $metadata: { httpStatusCode: 404 } })],
    ['AuthorizationError', () => new AuthorizationErrorException({ message: 'not authorized to perform SNS:Publish', $metadata: {} })],
    ['KMSAccessDenied', () => new KMSAccessDeniedException({ message: 'KMS access denied', $metadata: {} })],
    ['InvalidParameter on the topic', () => new InvalidParameterException({ message: 'Invalid parameter: TopicArn', $metadata: {} })],
  ])('throws AlertSinkError at once on %s, since no retry can help', async (_case, error) => {
    // Prepare
    const { sns, sink, sent } = setup();
    sns.on(PublishBatchCommand).rejects(error());
    // Act
    const publishing = sink.publish([message('cfg')]);
    // Assess
    await expect(publishing).rejects.toThrow(AlertSinkError);
    expect(sent()).toHaveLength(1);
  });

  it('refuses a topic ARN that is not one, naming the option', () => {
    // Prepare
    const client = new SNSClient({ region: 'eu-west-1' });
    // Act
    const create = () => new SnsAlertSink({ client, topicArn: 'imds-watch-alerts' });
    // Assess
    expect(create).toThrow(ConfigError);
    expect(create).toThrow(/topicArn/);
  });
});

describe('SnsAlertSink properties', () => {
  /** A body of about `size` bytes: plain text when small, else an alert document with evidence. */
  const bodyOfSize = (id: string, size: number): string => {
    if (size < 200) return 'b'.repeat(size);
    const chunk = 20_000;
    const count = Math.max(1, Math.ceil(size / chunk));
    const evidence = Array.from({ length: count }, (_, i) => 'e'.repeat(Math.max(0, Math.min(chunk, size - 150 - i * chunk))));
    return JSON.stringify({ event: { kind: 'alert', id }, evidence });
  };

  it('keeps every call within 10 entries and 256 KiB and sends each pending message in exactly one entry per attempt', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.integer({ min: 1, max: 300 * 1024 }), fc.constantFrom(1, LIMIT - 2_000, LIMIT, LIMIT + 1, 300 * 1024)), {
          minLength: 1,
          maxLength: 40,
        }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 17 }),
        fc.boolean(),
        async (sizes, failPattern, fifo) => {
          // Prepare
          const client = new SNSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' } });
          const sns = mockClient(client);
          const attempts: string[][] = [[]];
          const successes = new Map<string, number>();
          const failedInAttempt: Set<string>[] = [new Set()];
          const calls: { entries: number; bytes: number; distinctIds: number }[] = [];
          let turn = 0;
          sns.on(PublishBatchCommand).callsFake((input: PublishBatchInput) => {
            const entries = entriesOf(input);
            const ids = entries.map((e) => e.Id ?? '');
            // Checked after the run: a throw in here would look like an SNS error to the sink.
            calls.push({ entries: entries.length, bytes: entries.reduce((s, e) => s + documentedBytes(e), 0), distinctIds: new Set(ids).size });
            attempts.at(-1)?.push(...ids);
            const failing = entries.filter(() => failPattern[turn++ % failPattern.length] === true);
            for (const e of failing) failedInAttempt.at(-1)?.add(e.Id ?? '');
            const ok = entries.filter((e) => !failing.includes(e));
            for (const e of ok) successes.set(e.Id ?? '', (successes.get(e.Id ?? '') ?? 0) + 1);
            return {
              Successful: ok.map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}` })),
              Failed: failing.map((e) => ({ Id: e.Id, Code: 'Throttled', Message: 'slow down', SenderFault: false })),
            };
          });
          const sink = new SnsAlertSink({
            client,
            topicArn: fifo ? FIFO_TOPIC : TOPIC,
            sleep: async () => {
              attempts.push([]);
              failedInAttempt.push(new Set());
            },
          });
          const messages: OutgoingMessage[] = sizes.map((size, i) => ({
            id: `m${i}`,
            subject: `[low] message ${i}`,
            body: bodyOfSize(`m${i}`, size),
            attributes: { kind: 'alert', severity: 'low', risk_score: '21', user: `u${i}`, host: `h${i % 3}` },
          }));
          // Act
          const accepted = await sink.publish(messages);
          // Assess
          for (const call of calls) {
            expect(call.entries).toBeGreaterThanOrEqual(1);
            expect(call.entries).toBeLessThanOrEqual(10);
            expect(call.bytes).toBeLessThanOrEqual(LIMIT);
            expect(call.distinctIds).toBe(call.entries);
          }
          expect(attempts[0]?.slice().sort()).toEqual(messages.map((m) => m.id).sort());
          for (let a = 1; a < attempts.length; a++) {
            expect(attempts[a]?.slice().sort()).toEqual([...(failedInAttempt[a - 1] ?? [])].sort());
          }
          expect(attempts.length).toBeLessThanOrEqual(4);
          expect(accepted).toEqual(new Set(successes.keys()));
          expect([...successes.values()].every((n) => n === 1)).toBe(true);
          expect(sink.requestCounts().PublishBatch).toBe(sns.commandCalls(PublishBatchCommand).length);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('SnsAlertSink email rendering', () => {
  it('sends MessageStructure json with the document for every protocol and plain text for email', async () => {
    // Prepare
    const { sns, sink, sent } = setup();
    sns.on(PublishBatchCommand).callsFake(acceptAll);
    const m = alertMessage(alertDoc('mail', { user: { name: 'www-data' } }), T);
    // Act
    await sink.publish([m]);
    // Assess
    const entry = entriesOf(sent()[0])[0];
    expect(entry?.MessageStructure).toBe('json');
    const structure = JSON.parse(entry?.Message ?? '{}') as { default: string; email: string };
    expect(JSON.parse(structure.default)).toEqual(JSON.parse(m.body));
    expect(structure.email).toBe(m.emailText);
  });

  it('trims evidence until the wrapped message, email included, fits in 256 KiB', async () => {
    // Prepare
    const { sns, sink, sent } = setup();
    sns.on(PublishBatchCommand).callsFake(acceptAll);
    const evidence = Array.from({ length: 40 }, (_, i) => ({ n: i, process: { args: ['curl', '"'.repeat(9_000)] } }));
    const m = alertMessage(alertDoc('quotes', { evidence }), T);
    // Act
    await sink.publish([m]);
    // Assess: quotes double in size once the body is a JSON string inside the structure.
    const entry = entriesOf(sent()[0])[0];
    expect(documentedBytes(entry)).toBeLessThanOrEqual(LIMIT);
    const body = JSON.parse((JSON.parse(entry?.Message ?? '{}') as { default: string }).default) as { evidence: unknown[]; evidence_truncated: number };
    expect(body.evidence_truncated).toBeGreaterThan(0);
    expect(body.evidence.length + body.evidence_truncated).toBe(40);
  });
});
