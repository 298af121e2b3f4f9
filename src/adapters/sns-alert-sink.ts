// runDetection --> AlertSink --> (SNS alert sink) --> SNS PublishBatch
//
// Limits (Amazon SNS API reference, PublishBatch and PublishBatchRequestEntry; MessageAttributeValue):
// - at most 10 entries per PublishBatch call (else TooManyEntriesInBatchRequest);
// - each message, and the sum of all messages of one call, at most 256 KiB = 262,144 bytes;
//   "all parts of the message attribute, including name, type, and value, are included in the
//   message size restriction". This sink also counts the subject (at most 99 bytes), which the
//   documentation does not name: counting more than SNS does only makes batches smaller.
// - entry Id: unique within the call, up to 80 characters of [A-Za-z0-9_-];
// - Subject: no line breaks or control characters, "less than 100 characters long";
// - attribute values must not be empty;
// - FIFO: MessageGroupId and MessageDeduplicationId, up to 128 characters of alphanumerics and
//   punctuation (printable ASCII without space); a repeated deduplication id within 5 minutes is
//   accepted but not delivered.
//
// Only ids SNS lists as Successful are reported as accepted. Entries that failed without the
// sender's fault (throttling, internal errors) and whole calls that failed that way are retried
// with exponential backoff and jitter; what still fails after the last attempt stays unaccepted
// (pending for the next run). Sender faults are not retried: they are listed in `lastRejected`.
// Only errors that say the topic or its permissions are wrong throw, since no retry can help.

import { createHash } from 'node:crypto';
import {
  PublishBatchCommand,
  type MessageAttributeValue,
  type PublishBatchCommandOutput,
  type PublishBatchRequestEntry,
  type SNSClient,
} from '@aws-sdk/client-sns';
import { jsonText, singleLine } from '../alerts/sanitize.js';
import { AlertSinkError, ConfigError } from '../errors.js';
import type { AlertSink, OutgoingMessage } from '../ports.js';

/** PublishBatch: entries per call. */
export const SNS_MAX_BATCH_ENTRIES = 10;
/** PublishBatch: bytes per message and per call (body, subject, attribute names, types and values). */
export const SNS_MAX_PAYLOAD_BYTES = 262_144;
/** PublishBatchRequestEntry.Id: up to 80 of [A-Za-z0-9_-]. */
export const SNS_MAX_ENTRY_ID_LENGTH = 80;
/** Subjects must be less than 100 characters long. */
export const SNS_MAX_SUBJECT_LENGTH = 99;
/** MessageGroupId and MessageDeduplicationId. */
export const SNS_MAX_FIFO_ID_LENGTH = 128;

/** Attributes sent with every message, for subscription filter policies (SQS raw delivery allows 10). */
const STRING_ATTRIBUTES = ['severity', 'user', 'host', 'kind'] as const;
const NUMBER_ATTRIBUTE = 'risk_score';

const BASE_DELAY_MS = 100;
const MAX_DELAY_MS = 2_000;

export interface SnsAlertSinkOptions {
  client: SNSClient;
  topicArn: string;
  /** Attempts per message, the first included. @default 4 */
  maxAttempts?: number;
  /** Waits between attempts; inject a fake in tests. */
  sleep?: (ms: number) => Promise<void>;
  /** A number in [0, 1) for the backoff jitter. @default Math.random */
  random?: () => number;
}

/** A message SNS refused, or that failed on every attempt: it stays pending for the next run. */
export interface SnsFailure {
  id: string;
  code: string;
  message: string;
}

/** A message whose evidence was trimmed to fit the size limit. */
export interface SnsTruncation {
  id: string;
  /** Evidence entries removed. */
  removed: number;
  /** Size of the entry before and after (bytes). */
  bytesBefore: number;
  bytesAfter: number;
}

/** The topic or its permissions are wrong; `accepted` holds what SNS had accepted before it said so. */
export class SnsConfigurationError extends AlertSinkError {
  public constructor(
    message: string,
    public readonly accepted: ReadonlySet<string>,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'SnsConfigurationError';
  }
}

interface Prepared {
  id: string;
  /** The entry without its batch Id. */
  entry: Omit<PublishBatchRequestEntry, 'Id'>;
  bytes: number;
  /** Sent alone: SNS refused the batch it was in as too long or too large. */
  solo: boolean;
}

type CallVerdict = 'config' | 'retry' | 'reject' | 'split';

const utf8Bytes = (s: string | undefined): number => (s === undefined ? 0 : Buffer.byteLength(s, 'utf8'));

/** Bytes an entry counts toward the 256 KiB limits: body, subject, attribute names, types and values. */
export function snsEntryBytes(entry: Omit<PublishBatchRequestEntry, 'Id'>): number {
  let bytes = utf8Bytes(entry.Message) + utf8Bytes(entry.Subject);
  for (const [name, value] of Object.entries(entry.MessageAttributes ?? {})) {
    bytes += utf8Bytes(name) + utf8Bytes(value.DataType) + utf8Bytes(value.StringValue) + (value.BinaryValue?.byteLength ?? 0);
  }
  return bytes;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Valid UTF-8 on one line, never empty. */
const attributeText = (value: string | undefined): string => singleLine((value ?? '').replace(LONE_SURROGATE, '\ufffd'), 256) || '-';

/** A Number attribute: SNS accepts up to 38 significant digits; anything else is sent as a String. */
const NUMBER = /^-?(?:0|[1-9]\d{0,37})(?:\.\d{1,38})?$/;

function messageAttributes(attributes: Record<string, string>): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  const risk = (attributes[NUMBER_ATTRIBUTE] ?? '').trim();
  for (const name of STRING_ATTRIBUTES) out[name] = { DataType: 'String', StringValue: attributeText(attributes[name]) };
  out[NUMBER_ATTRIBUTE] = NUMBER.test(risk) ? { DataType: 'Number', StringValue: risk } : { DataType: 'String', StringValue: attributeText(risk) };
  return out;
}

/** ASCII printable, starting with a visible character, less than 100 characters. */
const VALID_SUBJECT = /^[\x21-\x7e][\x20-\x7e]*$/;

/**
 * The subject, validated again: printable ASCII on one line is kept (cut to 99 characters when
 * longer); anything else (control characters, non-ASCII, empty) falls back to a fixed subject.
 */
export function safeSubject(subject: string, kind: string | undefined): string {
  const trimmed = subject.trim();
  if (!VALID_SUBJECT.test(trimmed)) return kind === 'alert' ? 'imds-watch alert' : 'imds-watch notice';
  return trimmed.length > SNS_MAX_SUBJECT_LENGTH ? `${trimmed.slice(0, SNS_MAX_SUBJECT_LENGTH - 1)}~` : trimmed;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** FIFO ids: printable ASCII without space, at most 128; a value that does not fit keeps a hash of the original, so distinct values stay distinct. */
function fifoId(value: string): string {
  const clean = value.replace(/[^\x21-\x7e]/g, '_');
  if (clean === value && value.length > 0 && value.length <= SNS_MAX_FIFO_ID_LENGTH) return value;
  return `${clean.slice(0, SNS_MAX_FIFO_ID_LENGTH - 17)}~${sha256(value).slice(0, 16)}`;
}

/** Batch entry Ids: up to 80 of [A-Za-z0-9_-], unique within the call. */
function entryIdFor(messageId: string, taken: Set<string>): string {
  const base = messageId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, SNS_MAX_ENTRY_ID_LENGTH) || 'm';
  let id = base;
  for (let n = 1; taken.has(id); n++) {
    const suffix = `-${n}`;
    id = `${base.slice(0, SNS_MAX_ENTRY_ID_LENGTH - suffix.length)}${suffix}`;
  }
  taken.add(id);
  return id;
}

/**
 * Trims the `evidence` array of a JSON body from the end, recording the count removed in
 * `evidence_truncated`, keeping as much evidence as fits in `budget` bytes. Deterministic.
 * Undefined when the body is not a JSON object with an evidence array, or does not fit without any.
 */
export function trimEvidence(
  body: string,
  budget: number,
  /** How many bytes a candidate body costs once sent (it may be wrapped, as in MessageStructure json). */
  size: (body: string) => number = utf8Bytes,
): { body: string; removed: number } | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return undefined;
  const record = doc as Record<string, unknown>;
  const evidence = record.evidence;
  if (!Array.isArray(evidence)) return undefined;
  const already = typeof record.evidence_truncated === 'number' && Number.isInteger(record.evidence_truncated) ? record.evidence_truncated : 0;
  const keep = (k: number): string => {
    const total = already + evidence.length - k;
    const out: Record<string, unknown> = { ...record, evidence: evidence.slice(0, k) };
    delete out.evidence_truncated;
    if (total > 0) out.evidence_truncated = total;
    return jsonText(out);
  };
  const fits = (k: number): string | undefined => {
    const text = keep(k);
    return size(text) <= budget ? text : undefined;
  };
  let best = fits(0);
  if (best === undefined) return undefined;
  let bestK = 0;
  // The size grows with the evidence kept: search the largest count that fits.
  let lo = 1;
  let hi = evidence.length;
  while (lo <= hi) {
    const mid = Math.floor((lo + hi) / 2);
    const text = fits(mid);
    if (text === undefined) hi = mid - 1;
    else {
      best = text;
      bestK = mid;
      lo = mid + 1;
    }
  }
  return { body: best, removed: evidence.length - bestK };
}

const errorCode = (error: unknown): string => {
  if (error && typeof error === 'object') {
    const e = error as { name?: unknown; Code?: unknown; code?: unknown };
    for (const v of [e.name, e.Code, e.code]) if (typeof v === 'string' && v !== '' && v !== 'Error') return v;
  }
  return 'Error';
};

const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Codes (without the SDK's `Exception` suffix) that say the topic, key or credentials are wrong. */
const CONFIG_CODES = new Set([
  'NotFound',
  'AuthorizationError',
  'AccessDenied',
  'InvalidClientTokenId',
  'UnrecognizedClient',
  'InvalidSecurity',
  'KMSAccessDenied',
  'KMSDisabled',
  'KMSNotFound',
  'KMSInvalidState',
  'KMSOptInRequired',
  'CredentialsProviderError',
]);

/** The request itself is wrong for these messages: retrying the same call cannot help. */
const SENDER_CODES = new Set([
  'InvalidParameter',
  'InvalidParameterValue',
  'Validation',
  'ValidationError',
  'BatchEntryIdsNotDistinct',
  'InvalidBatchEntryId',
  'EmptyBatchRequest',
]);

const TOO_LONG_CODES = new Set(['BatchRequestTooLong', 'TooManyEntriesInBatchRequest']);

function classify(error: unknown, batchSize: number): CallVerdict {
  const code = errorCode(error).replace(/Exception$/, '');
  if (CONFIG_CODES.has(code)) return 'config';
  // InvalidParameter names the parameter: the topic (ARN, FIFO settings) is configuration, the rest is about the messages.
  if (code === 'InvalidParameter' && /topic/i.test(errorMessage(error))) return 'config';
  if (TOO_LONG_CODES.has(code)) return batchSize > 1 ? 'split' : 'reject';
  if (SENDER_CODES.has(code)) return 'reject';
  // Throttling, internal errors, 5xx, time-outs, network errors and anything unknown: the next attempt may succeed.
  return 'retry';
}

/** Publishes alerts to an SNS topic with PublishBatch. */
export class SnsAlertSink implements AlertSink {
  private readonly client: SNSClient;
  private readonly topicArn: string;
  private readonly fifo: boolean;
  private readonly maxAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private calls = 0;
  private rejected: SnsFailure[] = [];
  private exhausted: SnsFailure[] = [];
  private truncated: SnsTruncation[] = [];

  public constructor(options: SnsAlertSinkOptions) {
    const { topicArn } = options;
    if (!/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(?:\.fifo)?$/.test(topicArn)) {
      throw new ConfigError(`topicArn: not an SNS topic ARN: ${JSON.stringify(topicArn)}`);
    }
    const maxAttempts = options.maxAttempts ?? 4;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new ConfigError(`maxAttempts: must be an integer of at least 1, got ${maxAttempts}`);
    }
    this.client = options.client;
    this.topicArn = topicArn;
    this.fifo = topicArn.endsWith('.fifo');
    this.maxAttempts = maxAttempts;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  /** Messages of the last `publish` that SNS refused as the sender's fault: not retried, still pending. */
  public get lastRejected(): readonly SnsFailure[] {
    return this.rejected;
  }

  /** Messages of the last `publish` that failed on every attempt (throttling, internal errors): still pending. */
  public get lastExhausted(): readonly SnsFailure[] {
    return this.exhausted;
  }

  /** Messages of the last `publish` whose evidence was trimmed to fit 256 KiB. */
  public get lastTruncated(): readonly SnsTruncation[] {
    return this.truncated;
  }

  public requestCounts(): Record<string, number> {
    return { PublishBatch: this.calls };
  }

  /**
   * Returns the ids SNS accepted. Never throws for a partial failure; throws AlertSinkError before
   * sending anything when a message cannot be made to fit, and SnsConfigurationError when SNS says
   * the topic, its key or the permissions are wrong.
   */
  public async publish(messages: readonly OutgoingMessage[]): Promise<Set<string>> {
    this.rejected = [];
    this.exhausted = [];
    this.truncated = [];
    const accepted = new Set<string>();
    const unique = new Map<string, OutgoingMessage>();
    for (const m of messages) if (!unique.has(m.id)) unique.set(m.id, m);
    // Prepare every message first: one that cannot be sent fails the call before anything is published.
    let pending = [...unique.values()].map((m) => this.prepare(m));

    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > 1) await this.sleep(this.backoff(attempt - 1));
      const retry: Prepared[] = [];
      const lastError = new Map<string, SnsFailure>();
      for (const batch of planBatches(pending)) {
        await this.send(batch, accepted, retry, lastError);
      }
      if (retry.length > 0 && attempt >= this.maxAttempts) {
        this.exhausted = retry.map((p) => lastError.get(p.id) ?? { id: p.id, code: 'Unknown', message: 'not accepted' });
        break;
      }
      pending = retry;
    }
    return accepted;
  }

  private prepare(m: OutgoingMessage): Prepared {
    if (m.body.length === 0) throw new AlertSinkError(`SNS message ${m.id}: the body is empty, which SNS refuses`);
    const base: Omit<PublishBatchRequestEntry, 'Id'> = {
      Message: '',
      Subject: safeSubject(m.subject, m.attributes.kind),
      MessageAttributes: messageAttributes(m.attributes),
      ...(this.fifo ? { MessageGroupId: fifoId(m.attributes.host || '-'), MessageDeduplicationId: fifoId(m.id) } : {}),
    };
    // With an email rendering, SNS gets MessageStructure json: `default` for every protocol but
    // email, which gets the plain text. Sizes are measured on what is actually sent.
    const render = (body: string): string => (m.emailText === undefined ? body : JSON.stringify({ default: body, email: m.emailText }));
    const overhead = snsEntryBytes(base);
    const bytesBefore = overhead + utf8Bytes(render(m.body));
    let body = m.body;
    if (bytesBefore > SNS_MAX_PAYLOAD_BYTES) {
      const trimmed = trimEvidence(m.body, SNS_MAX_PAYLOAD_BYTES - overhead, (b) => utf8Bytes(render(b)));
      if (!trimmed) {
        throw new AlertSinkError(
          `SNS message ${m.id} is ${bytesBefore} bytes, over the ${SNS_MAX_PAYLOAD_BYTES}-byte limit, and trimming its evidence does not make it fit`,
        );
      }
      body = trimmed.body;
      this.truncated.push({ id: m.id, removed: trimmed.removed, bytesBefore, bytesAfter: overhead + utf8Bytes(render(body)) });
    }
    const message = render(body);
    const entry = { ...base, Message: message, ...(m.emailText === undefined ? {} : { MessageStructure: 'json' }) };
    return { id: m.id, entry, bytes: overhead + utf8Bytes(message), solo: false };
  }

  /** Sends one batch; sorts its messages into accepted, to retry, or rejected. */
  private async send(batch: readonly Prepared[], accepted: Set<string>, retry: Prepared[], lastError: Map<string, SnsFailure>): Promise<void> {
    const taken = new Set<string>();
    const byEntryId = new Map<string, Prepared>();
    const entries: PublishBatchRequestEntry[] = batch.map((p) => {
      const Id = entryIdFor(p.id, taken);
      byEntryId.set(Id, p);
      return { Id, ...p.entry };
    });
    this.calls++;
    let response: PublishBatchCommandOutput;
    try {
      response = await this.client.send(new PublishBatchCommand({ TopicArn: this.topicArn, PublishBatchRequestEntries: entries }));
    } catch (error) {
      const code = errorCode(error);
      const message = errorMessage(error);
      switch (classify(error, batch.length)) {
        case 'config':
          throw new SnsConfigurationError(`SNS topic ${this.topicArn}: ${code}: ${message}`, new Set(accepted), { cause: error });
        case 'reject':
          for (const p of batch) this.rejected.push({ id: p.id, code, message });
          return;
        case 'split':
          for (const p of batch) {
            retry.push({ ...p, solo: true });
            lastError.set(p.id, { id: p.id, code, message });
          }
          return;
        case 'retry':
          for (const p of batch) {
            retry.push(p);
            lastError.set(p.id, { id: p.id, code, message });
          }
          return;
      }
    }
    // Only Successful counts as published; an entry listed nowhere is retried.
    const settled = new Set<string>();
    for (const s of response.Successful ?? []) {
      const p = s.Id === undefined ? undefined : byEntryId.get(s.Id);
      if (!p || settled.has(p.id)) continue;
      settled.add(p.id);
      accepted.add(p.id);
    }
    for (const f of response.Failed ?? []) {
      const p = f.Id === undefined ? undefined : byEntryId.get(f.Id);
      if (!p || settled.has(p.id)) continue;
      settled.add(p.id);
      const failure = { id: p.id, code: f.Code ?? 'Unknown', message: f.Message ?? '' };
      if (f.SenderFault === true) this.rejected.push(failure);
      else {
        retry.push(p);
        lastError.set(p.id, failure);
      }
    }
    for (const p of batch) {
      if (settled.has(p.id)) continue;
      retry.push(p);
      lastError.set(p.id, { id: p.id, code: 'Missing', message: 'neither Successful nor Failed in the response' });
    }
  }

  /** Exponential backoff with jitter: half the step fixed, half random. */
  private backoff(retry: number): number {
    const step = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (retry - 1));
    return Math.round(step / 2 + this.random() * (step / 2));
  }
}

/** In order: at most 10 entries and 256 KiB per call; a message refused in a too-long batch goes alone. */
function planBatches(pending: readonly Prepared[]): Prepared[][] {
  const batches: Prepared[][] = [];
  let current: Prepared[] = [];
  let bytes = 0;
  for (const p of pending) {
    if (p.solo) {
      batches.push([p]);
      continue;
    }
    if (current.length > 0 && (current.length >= SNS_MAX_BATCH_ENTRIES || bytes + p.bytes > SNS_MAX_PAYLOAD_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(p);
    bytes += p.bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
