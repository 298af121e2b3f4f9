// runDetection --> BaselineStore --> (DynamoDB adapter) --> one DynamoDB table (or embedded dynalite)
//
// Item layout (table shape in ./dynamodb-table.ts):
//
//   pk="MODEL"          sk="STATE"     observedSince (N, ms). noteObserved keeps the minimum with a
//                                      conditional update; losing the condition means an earlier
//                                      value is already there, which is success. checkpoint (N, ms):
//                                      the run time of the latest completed run; only moves forward.
//   pk="USER#<user>"    sk="BASELINE"  one Number Set per UTC day, named d<YYYYMMDD>, holding the
//                                      starts (minutes since the epoch) of the buckets the user was
//                                      seen in that day; lastBucket (N, ms); expiresAt (TTL, s);
//                                      hosts, processes (String Sets, at most MAX_SEEN_VALUES
//                                      each): where and what called, for `imds-watch baseline`.
//   pk="ANOMALY#<id>"   sk="ANOMALY"   every AnomalyRecord field; while pending or publishing also
//                                      gsi1pk="PENDING", gsi1sk="<bucketStart, 15 digits>#<id>"
//                                      (the sparse `pending` index); expiresAt = bucketStart + memory.
//
//   pk="EXCEPTION"      sk="<id>"      a run-time exception (StoredException); expiresAt = expires + 30 d.
//   pk="USER#<user>"    sk="ALERT"     the user's latest alert (UserAlertPointer), for suppression.
//   pk="MODEL"          sk="HEALTH"    HealthState: lastEventsAt and the open conditions.
//
// Shards (Logs Insights mode, src/telemetry/insights/INSIGHTS.md): invocations that read different
// log groups share the table; what is per invocation is kept per shard. A store built with
// `shard: i` (i > 0) keeps its checkpoint in attribute `checkpoint_s<i>` of MODEL/STATE and its
// health in MODEL/`HEALTH#<i>`; shard 0 uses the unsharded names, so one shard is the old layout.
// observedSince, baselines, anomalies, pointers and exceptions are shared: they are idempotent.
//   pk="MODEL"          sk="BACKFILL"  BackfillProgress (from, to, doneUntil, startedAt, updatedAt,
//                                      startedBy): the latest backfill, so that it resumes. doneUntil
//                                      only moves forward, and only for the backfill that started it.
//
// Why day sets: `ADD d20240131 :buckets` is atomic and idempotent, so the three overlapping runs
// that see each bucket, Lambda retries and concurrent runs all count a bucket once, with one
// UpdateItem per active user and no read first. Forgetting is `REMOVE` of whole days, which needs
// no read either. Requests per run therefore grow with distinct users, never with events or with
// how often a bucket is seen again.
//
// hosts and processes ride on the same UpdateItem (`ADD #hosts :h, #processes :p`), so they cost no request and are
// idempotent too. They are only added with new buckets, and capped from what getBaselines last
// read: the cap is soft (two store instances writing at once may each add up to it), and the sets
// are not aged out day by day like the buckets, only with the whole item (TTL).
//
// Known race: `SET lastBucket, expiresAt` takes the newest bucket of *this* update; a concurrent
// run over an older window can set them back by at most its look-back. expiresAt carries a one
// day grace on top of memory, so this never lets TTL delete buckets that are still in memory.
//
// The store takes time only as data (memoryMs, bucketMs, arguments); it never reads the clock.

import {
  BatchGetItemCommand,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateItemCommand,
  type $Command,
  type AttributeValue,
  type DynamoDBClient,
  type DynamoDBClientResolvedConfig,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { StoreError } from '../errors.js';
import type {
  AnomalyRecord,
  AnomalyStatus,
  BackfillProgress,
  BaselineStore,
  BaselineUpdate,
  HealthState,
  ModelState,
  StoredException,
  UserAlertPointer,
  UserBaseline,
} from '../ports.js';
import { PENDING_INDEX, PENDING_INDEX_HASH_VALUE, TTL_ATTRIBUTE } from './dynamodb-table.js';

/** Options of {@link DynamoDbBaselineStore}. */
export type DynamoDbBaselineStoreOptions = {
  client: DynamoDBClient;
  tableName: string;
  /** Rolling memory of the model (ms): sets TTLs and how far back `learn` looks for days to forget. */
  memoryMs: number;
  /** Bucket span (ms); a whole number of minutes, since buckets are stored as minutes. */
  bucketMs: number;
  /** Single-item writes (learn, claim) in flight at once. @default 16 */
  concurrency?: number;
  /** The shard whose checkpoint and health this store keeps (see the header). @default 0 */
  shard?: number;
  /** Retries of BatchGetItem's UnprocessedKeys. */
  unprocessedRetry?: {
    /** Requests per batch, first one included, before giving up with a StoreError. @default 8 */
    attempts?: number;
    /** Backoff before the first retry (ms), doubled each time, full jitter. @default 50 */
    baseDelayMs?: number;
    /** Upper bound of one backoff (ms). @default 2000 */
    maxDelayMs?: number;
  };
};

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** DynamoDB's limit of keys in one BatchGetItem. */
const BATCH_GET_LIMIT = 100;
/** Added to every TTL so the lastBucket race (see header) cannot expire live data. */
const TTL_GRACE_MS = DAY_MS;
const DAY_ATTRIBUTE = /^d\d{8}$/;
/** At most this many hosts, and this many processes, are kept per user. */
export const MAX_SEEN_VALUES = 20;
/** Longer host or process names are cut to this many characters. */
const MAX_SEEN_VALUE_CHARS = 256;

const MODEL_KEY = { pk: 'MODEL', sk: 'STATE' } as const;
const userKey = (user: string) => ({ pk: `USER#${user}`, sk: 'BASELINE' });
const anomalyKey = (id: string) => ({ pk: `ANOMALY#${id}`, sk: 'ANOMALY' });
const HEALTH_KEY = { pk: 'MODEL', sk: 'HEALTH' } as const;
const BACKFILL_KEY = { pk: 'MODEL', sk: 'BACKFILL' } as const;
const exceptionKey = (id: string) => ({ pk: 'EXCEPTION', sk: id });
const pointerKey = (user: string) => ({ pk: `USER#${user}`, sk: 'ALERT' });
/** Expired exceptions stay listable this long before TTL removes them. */
const EXCEPTION_TTL_GRACE_MS = 30 * DAY_MS;
const PENDING_STATUSES: ReadonlySet<AnomalyStatus> = new Set(['pending', 'publishing']);

const exceptionItemSchema = z.object({
  id: z.string(),
  user: z.string().optional(),
  process: z.string().optional(),
  host: z.string().optional(),
  reason: z.string(),
  expires: z.string().optional(),
  createdBy: z.string(),
  createdAt: z.number(),
});

const backfillItemSchema = z.object({
  from: z.number(),
  to: z.number(),
  doneUntil: z.number(),
  startedAt: z.number(),
  updatedAt: z.number(),
  startedBy: z.string(),
});

const healthItemSchema = z.object({
  lastEventsAt: z.number().optional(),
  open: z.record(z.string(), z.object({ since: z.number(), detail: z.string(), noticeId: z.string() })).default({}),
});

const anomalyItemSchema = z.object({
  id: z.string(),
  status: z.enum(['pending', 'publishing', 'published', 'excepted', 'suppressed', 'expired']),
  user: z.string(),
  host: z.string(),
  score: z.number(),
  bucketStart: z.number(),
  detectedAt: z.number(),
  publishedAt: z.number().optional(),
  claimedBy: z.string().optional(),
  claimedAt: z.number().optional(),
  reason: z.string().optional(),
  suppressedBy: z.string().optional(),
  repeats: z.preprocess((v) => (v instanceof Set ? [...(v as Set<string>)].sort() : v), z.array(z.string()).optional()),
  alert: z.string(),
});

type Item = Record<string, AttributeValue>;
type StoreCommand<I extends ServiceInputTypes, O extends ServiceOutputTypes> = $Command<
  I,
  O,
  DynamoDBClientResolvedConfig,
  ServiceInputTypes,
  ServiceOutputTypes
>;

/**
 * {@link BaselineStore} on one DynamoDB table. Every write is conditional or idempotent, so
 * overlapping runs, retries and concurrent invocations are safe.
 *
 * @example
 * const store = new DynamoDbBaselineStore({ client, tableName: 'imds-watch', memoryMs: 30 * 86_400_000, bucketMs: 900_000 });
 * const baselines = await store.getBaselines(['www-data', 'root']);
 * await store.learn([{ user: 'www-data', add: [bucketStart], forgetBefore: runTime - memoryMs }]);
 * console.log(store.requestCounts()); // { BatchGetItem: 1, UpdateItem: 1 }
 */
export class DynamoDbBaselineStore implements BaselineStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly memoryMs: number;
  private readonly bucketMs: number;
  private readonly concurrency: number;
  private readonly retryAttempts: number;
  private readonly retryBaseDelayMs: number;
  private readonly retryMaxDelayMs: number;
  private readonly counts: Record<string, number> = {};
  /** Attribute of MODEL/STATE holding this shard's checkpoint. */
  private readonly checkpointAttribute: string;
  /** Key of this shard's health item. */
  private readonly healthKey: { pk: string; sk: string };
  /**
   * Day attributes each user's item had when getBaselines last read it: learn removes the stale
   * ones even when they are older than the window it would otherwise look at.
   */
  private readonly knownDays = new Map<string, Set<string>>();
  /** Hosts and processes each user's item had when getBaselines last read it: for the cap. */
  private readonly knownSeen = new Map<string, { hosts: Set<string>; processes: Set<string> }>();

  public constructor(options: DynamoDbBaselineStoreOptions) {
    if (!(options.memoryMs > 0)) throw new RangeError(`memoryMs must be positive, got ${options.memoryMs}`);
    if (!(options.bucketMs > 0) || options.bucketMs % MINUTE_MS !== 0) {
      throw new RangeError(`bucketMs must be a positive whole number of minutes, got ${options.bucketMs}`);
    }
    this.client = options.client;
    this.tableName = options.tableName;
    this.memoryMs = options.memoryMs;
    this.bucketMs = options.bucketMs;
    this.concurrency = options.concurrency ?? 16;
    const shard = options.shard ?? 0;
    if (!(Number.isInteger(shard) && shard >= 0)) throw new RangeError(`shard must be a non-negative integer, got ${shard}`);
    this.checkpointAttribute = shard === 0 ? 'checkpoint' : `checkpoint_s${shard}`;
    this.healthKey = shard === 0 ? HEALTH_KEY : { pk: HEALTH_KEY.pk, sk: `${HEALTH_KEY.sk}#${shard}` };
    this.retryAttempts = options.unprocessedRetry?.attempts ?? 8;
    this.retryBaseDelayMs = options.unprocessedRetry?.baseDelayMs ?? 50;
    this.retryMaxDelayMs = options.unprocessedRetry?.maxDelayMs ?? 2000;
  }

  public async getModelState(): Promise<ModelState> {
    const out = await this.send(
      'GetItem',
      new GetItemCommand({ TableName: this.tableName, Key: marshall(MODEL_KEY), ConsistentRead: true }),
    );
    const observedSince = out.Item?.['observedSince']?.N;
    const checkpoint = out.Item?.[this.checkpointAttribute]?.N;
    return {
      ...(observedSince === undefined ? {} : { observedSince: Number(observedSince) }),
      ...(checkpoint === undefined ? {} : { checkpoint: Number(checkpoint) }),
    };
  }

  public async advanceCheckpoint(runTime: number): Promise<void> {
    await this.sendConditional(
      'UpdateItem',
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: marshall(MODEL_KEY),
        UpdateExpression: 'SET #c = :t',
        ConditionExpression: 'attribute_not_exists(#c) OR #c < :t',
        ExpressionAttributeNames: { '#c': this.checkpointAttribute },
        ExpressionAttributeValues: { ':t': { N: String(runTime) } },
      }),
    );
    // A failed condition means a later run already completed: the checkpoint never moves back.
  }

  public async noteObserved(windowStart: number): Promise<void> {
    await this.sendConditional(
      'UpdateItem',
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: marshall(MODEL_KEY),
        UpdateExpression: 'SET observedSince = :v',
        ConditionExpression: 'attribute_not_exists(observedSince) OR observedSince > :v',
        ExpressionAttributeValues: { ':v': { N: String(windowStart) } },
      }),
    );
    // A failed condition means an earlier start is already recorded: nothing to do.
  }

  public async getBaselines(users: readonly string[]): Promise<Map<string, UserBaseline>> {
    const items = await this.batchGet([...new Set(users)].map((user) => marshall(userKey(user))));
    const result = new Map<string, UserBaseline>();
    // Users without an item have nothing to forget (until learn writes one).
    for (const user of users) {
      this.knownDays.set(user, new Set());
      this.knownSeen.set(user, { hosts: new Set(), processes: new Set() });
    }
    for (const item of items) {
      const user = item['pk']?.S?.slice('USER#'.length);
      if (user === undefined) continue;
      const days = new Set<string>();
      const buckets = new Set<number>();
      for (const [name, value] of Object.entries(item)) {
        if (!DAY_ATTRIBUTE.test(name) || value.NS === undefined) continue;
        days.add(name);
        for (const minutes of value.NS) buckets.add(Number(minutes) * MINUTE_MS);
      }
      this.knownDays.set(user, days);
      const hosts = [...(item['hosts']?.SS ?? [])].sort();
      const processes = [...(item['processes']?.SS ?? [])].sort();
      this.knownSeen.set(user, { hosts: new Set(hosts), processes: new Set(processes) });
      // Everything stored is returned: the model itself ignores what is out of memory.
      if (buckets.size > 0)
        result.set(user, {
          user,
          buckets: [...buckets].sort((a, b) => a - b),
          ...(hosts.length > 0 ? { hosts } : {}),
          ...(processes.length > 0 ? { processes } : {}),
        });
    }
    return result;
  }

  public async learn(updates: readonly BaselineUpdate[]): Promise<void> {
    // Check everything before writing anything, so a bad call leaves no partial run behind.
    for (const { user, add } of updates) {
      for (const bucket of add) {
        if (!Number.isInteger(bucket) || bucket % this.bucketMs !== 0) {
          throw new RangeError(`bucket start ${bucket} of user ${user} is not a multiple of ${this.bucketMs} ms`);
        }
      }
    }
    await mapLimit([...mergeByUser(updates).values()], this.concurrency, (update) => this.learnOne(update));
  }

  public async getAnomalies(ids: readonly string[]): Promise<Map<string, AnomalyRecord>> {
    const items = await this.batchGet([...new Set(ids)].map((id) => marshall(anomalyKey(id))));
    const result = new Map<string, AnomalyRecord>();
    for (const item of items) {
      const record = toAnomalyRecord(item);
      result.set(record.id, record);
    }
    return result;
  }

  public async createAnomaly(record: AnomalyRecord): Promise<boolean> {
    const item: Record<string, unknown> = {
      ...record,
      ...anomalyKey(record.id),
      [TTL_ATTRIBUTE]: toEpochSeconds(record.bucketStart + this.memoryMs),
    };
    if (PENDING_STATUSES.has(record.status)) {
      item[PENDING_INDEX.hashKey] = PENDING_INDEX_HASH_VALUE;
      item[PENDING_INDEX.rangeKey] = pendingSortKey(record.bucketStart, record.id);
    }
    return this.sendConditional(
      'PutItem',
      new PutItemCommand({
        TableName: this.tableName,
        Item: marshall(item, { removeUndefinedValues: true }),
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  public async listPending(): Promise<AnomalyRecord[]> {
    // The index is eventually consistent: a record listed here may already be taken, which the
    // conditional claim that follows finds out.
    const items = await this.queryAll({
      IndexName: PENDING_INDEX.name,
      KeyConditionExpression: '#h = :h',
      ExpressionAttributeNames: { '#h': PENDING_INDEX.hashKey },
      ExpressionAttributeValues: { ':h': { S: PENDING_INDEX_HASH_VALUE } },
    });
    return items.map(toAnomalyRecord);
  }

  public async claim(ids: readonly string[], runId: string, now: number, staleBefore: number): Promise<string[]> {
    const unique = [...new Set(ids)];
    const claimed = await mapLimit(unique, this.concurrency, (id) =>
      this.sendConditional(
        'UpdateItem',
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall(anomalyKey(id)),
          UpdateExpression: 'SET #s = :publishing, claimedBy = :run, claimedAt = :now',
          // A missing item fails the condition too, so claim never creates records. The run's own
          // claim counts as claimable: an SDK retry after a lost answer, or Lambda's redelivery of the
          // same event (same request id, same run id), must not take it for a concurrent run's.
          ConditionExpression: '#s = :pending OR (#s = :publishing AND (claimedAt < :stale OR claimedBy = :run))',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: marshall({
            ':publishing': 'publishing',
            ':pending': 'pending',
            ':run': runId,
            ':now': now,
            ':stale': staleBefore,
          }),
        }),
      ),
    );
    // A failed condition is another run's live claim, or a final state: not ours, not an error.
    return unique.filter((_, i) => claimed[i]);
  }

  public async markPublished(id: string, runId: string, at: number): Promise<void> {
    const done = await this.sendConditional(
      'UpdateItem',
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: marshall(anomalyKey(id)),
        UpdateExpression: 'SET #s = :published, publishedAt = :at REMOVE #h, #r, claimedBy, claimedAt',
        ConditionExpression: '#s = :publishing AND claimedBy = :run',
        ExpressionAttributeNames: { '#s': 'status', '#h': PENDING_INDEX.hashKey, '#r': PENDING_INDEX.rangeKey },
        ExpressionAttributeValues: marshall({
          ':published': 'published',
          ':publishing': 'publishing',
          ':at': at,
          ':run': runId,
        }),
      }),
    );
    if (done) return;
    // Idempotent: already published (by this call's retry or by a run that took over) is fine,
    // and keeps the first publishedAt. Anything else means this run did not hold the claim.
    const current = (await this.getAnomalies([id])).get(id);
    if (current?.status === 'published') return;
    const state =
      current === undefined
        ? 'missing'
        : current.claimedBy === undefined
          ? current.status
          : `${current.status}, claimed by ${current.claimedBy}`;
    throw new StoreError(`cannot mark anomaly ${id} published for run ${runId}: it is ${state}`);
  }

  public async release(id: string, runId: string): Promise<void> {
    await this.sendConditional(
      'UpdateItem',
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: marshall(anomalyKey(id)),
        UpdateExpression: 'SET #s = :pending REMOVE claimedBy, claimedAt',
        ConditionExpression: '#s = :publishing AND claimedBy = :run',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: marshall({ ':pending': 'pending', ':publishing': 'publishing', ':run': runId }),
      }),
    );
    // A failed condition: another run took the claim over, or it is final. Either way not ours.
  }

  public async markExpired(id: string, staleBefore: number): Promise<boolean> {
    // A record another run is publishing right now is not expired under it: only when its claim
    // is stale (that run died) does it count as left behind.
    const expired = await this.sendConditional(
      'UpdateItem',
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: marshall(anomalyKey(id)),
        UpdateExpression: 'SET #s = :expired REMOVE #h, #r, claimedBy, claimedAt',
        ConditionExpression: '#s = :pending OR (#s = :publishing AND claimedAt < :stale)',
        ExpressionAttributeNames: { '#s': 'status', '#h': PENDING_INDEX.hashKey, '#r': PENDING_INDEX.rangeKey },
        ExpressionAttributeValues: marshall({ ':expired': 'expired', ':pending': 'pending', ':publishing': 'publishing', ':stale': staleBefore }),
      }),
    );
    // A failed condition: already final, absent, or being published by a live run. Idempotent.
    return expired;
  }

  public async listExceptions(): Promise<StoredException[]> {
    const items = await this.queryPartition('EXCEPTION');
    return items.map((item) => {
      const parsed = exceptionItemSchema.safeParse(unmarshall(item));
      if (!parsed.success) throw new StoreError(`malformed exception item ${item['sk']?.S ?? ''}`, { cause: parsed.error });
      return parsed.data;
    });
  }

  public async putException(exception: StoredException): Promise<void> {
    const expires = exception.expires === undefined ? undefined : Date.parse(exception.expires);
    await this.send(
      'PutItem',
      new PutItemCommand({
        TableName: this.tableName,
        Item: marshall(
          {
            ...exception,
            ...exceptionKey(exception.id),
            ...(expires === undefined || Number.isNaN(expires) ? {} : { [TTL_ATTRIBUTE]: toEpochSeconds(expires + EXCEPTION_TTL_GRACE_MS) }),
          },
          { removeUndefinedValues: true },
        ),
      }),
    );
  }

  public async removeException(id: string): Promise<boolean> {
    return this.sendConditional(
      'DeleteItem',
      new DeleteItemCommand({ TableName: this.tableName, Key: marshall(exceptionKey(id)), ConditionExpression: 'attribute_exists(pk)' }),
    );
  }

  public async getAlertPointers(users: readonly string[]): Promise<Map<string, UserAlertPointer>> {
    const items = await this.batchGet([...new Set(users)].map((u) => marshall(pointerKey(u))));
    const result = new Map<string, UserAlertPointer>();
    for (const item of items) {
      const { user, alertId, bucketStart } = unmarshall(item) as Partial<UserAlertPointer>;
      if (typeof user === 'string' && typeof alertId === 'string' && typeof bucketStart === 'number') result.set(user, { user, alertId, bucketStart });
    }
    return result;
  }

  public async setAlertPointer(pointer: UserAlertPointer): Promise<void> {
    // A failed condition means a newer alert is already the pointer: nothing to do.
    await this.sendConditional(
      'PutItem',
      new PutItemCommand({
        TableName: this.tableName,
        Item: marshall({ ...pointer, ...pointerKey(pointer.user), [TTL_ATTRIBUTE]: toEpochSeconds(pointer.bucketStart + this.memoryMs) }),
        ConditionExpression: 'attribute_not_exists(pk) OR bucketStart <= :b',
        ExpressionAttributeValues: marshall({ ':b': pointer.bucketStart }),
      }),
    );
  }

  public async addRepeat(alertId: string, repeatId: string): Promise<void> {
    // ADD to a string set: a retried run adds the same id again, which counts once.
    await this.sendConditional(
      'UpdateItem',
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: marshall(anomalyKey(alertId)),
        UpdateExpression: 'ADD repeats :r',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':r': { SS: [repeatId] } },
      }),
    );
  }

  public async getHealth(): Promise<HealthState> {
    const out = await this.send('GetItem', new GetItemCommand({ TableName: this.tableName, Key: marshall(this.healthKey), ConsistentRead: true }));
    if (!out.Item) return { open: {} };
    const parsed = healthItemSchema.safeParse(unmarshall(out.Item));
    if (!parsed.success) throw new StoreError('malformed health item', { cause: parsed.error });
    return parsed.data.lastEventsAt === undefined ? { open: parsed.data.open } : { lastEventsAt: parsed.data.lastEventsAt, open: parsed.data.open };
  }

  public async putHealth(state: HealthState): Promise<void> {
    await this.send(
      'PutItem',
      new PutItemCommand({ TableName: this.tableName, Item: marshall({ ...this.healthKey, ...state }, { removeUndefinedValues: true }) }),
    );
  }

  // --- backfill progress (src/run/backfill.ts) ---

  public async getBackfill(): Promise<BackfillProgress | undefined> {
    const out = await this.send('GetItem', new GetItemCommand({ TableName: this.tableName, Key: marshall(BACKFILL_KEY), ConsistentRead: true }));
    if (!out.Item) return undefined;
    const parsed = backfillItemSchema.safeParse(unmarshall(out.Item));
    if (!parsed.success) throw new StoreError('malformed backfill item', { cause: parsed.error });
    return parsed.data;
  }

  public async putBackfill(progress: BackfillProgress): Promise<void> {
    const { from, to, doneUntil, startedAt, updatedAt, startedBy } = progress;
    await this.send(
      'PutItem',
      new PutItemCommand({ TableName: this.tableName, Item: marshall({ ...BACKFILL_KEY, from, to, doneUntil, startedAt, updatedAt, startedBy }) }),
    );
  }

  public async advanceBackfill(startedBy: string, doneUntil: number, updatedAt: number): Promise<boolean> {
    const moved = await this.sendConditional(
      'UpdateItem',
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: marshall(BACKFILL_KEY),
        UpdateExpression: 'SET doneUntil = :d, updatedAt = :u',
        ConditionExpression: 'startedBy = :s AND doneUntil < :d',
        ExpressionAttributeValues: marshall({ ':d': doneUntil, ':u': updatedAt, ':s': startedBy }),
      }),
    );
    if (moved) return true;
    // Either the same backfill is already further (a concurrent twin: fine), or another one
    // replaced it (or the item is gone): that one is the caller's answer.
    return (await this.getBackfill())?.startedBy === startedBy;
  }

  // --- end backfill progress ---

  private queryPartition(pk: string): Promise<Item[]> {
    return this.queryAll({ KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: pk } }, ConsistentRead: true });
  }

  /** Every page of one Query. */
  private async queryAll(input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const out = await this.send('Query', new QueryCommand({ ...input, TableName: this.tableName, ExclusiveStartKey: startKey }));
      items.push(...(out.Items ?? []));
      startKey = out.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }

  public requestCounts(): Record<string, number> {
    return { ...this.counts };
  }

  /** One UpdateItem: ADD the new buckets per day, REMOVE days out of memory, SET lastBucket/TTL. */
  private async learnOne(update: BaselineUpdate): Promise<void> {
    const { user, forgetBefore } = update;
    const addByDay = new Map<string, Set<number>>();
    let newest: number | undefined;
    for (const bucket of update.add) {
      // Out of memory already. Dropping it also keeps ADD and REMOVE off the same day, since
      // only days that end at or before forgetBefore are removed.
      if (bucket < forgetBefore) continue;
      const day = dayAttribute(bucket);
      let minutes = addByDay.get(day);
      if (minutes === undefined) addByDay.set(day, (minutes = new Set()));
      minutes.add(bucket / MINUTE_MS);
      newest = newest === undefined ? bucket : Math.max(newest, bucket);
    }

    const known = this.knownDays.get(user);
    const knownStale = [...(known ?? [])].filter((day) => dayEnd(day) <= forgetBefore);
    // Without adds, only write when there is something known to forget: REMOVE alone on a missing
    // item would create an empty one.
    if (newest === undefined && knownStale.length === 0) return;
    // Days just before the cut-off: each run removes them, so an item touched at least once per
    // memory period never keeps a stale day, even in a store instance that never read it.
    const remove = new Set([...this.daysBefore(forgetBefore), ...knownStale]);

    const values: Item = {};
    const names: Record<string, string> = {};
    const clauses: string[] = [];
    const seen = this.knownSeen.get(user);
    const hostAdds = addBudget(update.hosts, seen?.hosts);
    const processAdds = addBudget(update.processes, seen?.processes);
    if (addByDay.size > 0) {
      const adds = [...addByDay].map(([day, minutes], i) => {
        values[`:a${i}`] = { NS: [...minutes].map(String) };
        return `${day} :a${i}`;
      });
      if (hostAdds.length > 0) {
        values[':h'] = { SS: hostAdds };
        names['#hosts'] = 'hosts';
        adds.push('#hosts :h');
      }
      if (processAdds.length > 0) {
        values[':p'] = { SS: processAdds };
        names['#processes'] = 'processes';
        adds.push('#processes :p');
      }
      clauses.push(`ADD ${adds.join(', ')}`);
    }
    if (newest !== undefined) {
      values[':lb'] = { N: String(newest) };
      values[':e'] = { N: String(toEpochSeconds(newest + this.bucketMs + this.memoryMs + TTL_GRACE_MS)) };
      clauses.push('SET lastBucket = :lb, #ttl = :e');
    }
    clauses.push(`REMOVE ${[...remove].join(', ')}`);

    const written = await this.sendConditional(
      'UpdateItem',
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: marshall(userKey(user)),
        UpdateExpression: clauses.join(' '),
        ...(newest !== undefined
          ? { ExpressionAttributeNames: { ...names, '#ttl': TTL_ATTRIBUTE } }
          : { ConditionExpression: 'attribute_exists(pk)' }),
        ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
      }),
    );
    if (known !== undefined) {
      if (!written) {
        this.knownDays.delete(user); // the item is gone (TTL): nothing left to forget
        return;
      }
      for (const day of remove) known.delete(day);
      for (const day of addByDay.keys()) known.add(day);
    }
    if (seen !== undefined && newest !== undefined) {
      for (const host of hostAdds) seen.hosts.add(host);
      for (const process of processAdds) seen.processes.add(process);
    }
  }

  /** Day attributes of the days that end at or before `forgetBefore`, one memory period back. */
  private daysBefore(forgetBefore: number): string[] {
    const last = floorDay(forgetBefore) - DAY_MS;
    const first = floorDay(forgetBefore - this.memoryMs) - DAY_MS;
    const days: string[] = [];
    for (let day = first; day <= last; day += DAY_MS) days.push(dayAttribute(day));
    return days;
  }

  /** BatchGetItem in chunks of 100, strongly consistent, retrying UnprocessedKeys. */
  private async batchGet(keys: readonly Item[]): Promise<Item[]> {
    const chunks: Item[][] = [];
    for (let i = 0; i < keys.length; i += BATCH_GET_LIMIT) chunks.push(keys.slice(i, i + BATCH_GET_LIMIT));
    const results = await mapLimit(chunks, this.concurrency, async (chunk) => {
      const items: Item[] = [];
      let pending = chunk;
      for (let attempt = 1; ; attempt++) {
        const out = await this.send(
          'BatchGetItem',
          new BatchGetItemCommand({
            RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } },
          }),
        );
        items.push(...(out.Responses?.[this.tableName] ?? []));
        const left = out.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
        if (left.length === 0) return items;
        if (attempt >= this.retryAttempts) {
          // Never drop keys silently: a missing baseline would look like a never-seen user.
          throw new StoreError(
            `BatchGetItem left ${left.length} of ${chunk.length} keys unprocessed after ${attempt} attempts`,
            { cause: { table: this.tableName, unprocessedKeys: left.map((key) => unmarshall(key)) } },
          );
        }
        pending = left;
        const ceiling = Math.min(this.retryMaxDelayMs, this.retryBaseDelayMs * 2 ** (attempt - 1));
        await sleep(Math.random() * ceiling); // full jitter: concurrent runs do not retry in step
      }
    });
    return results.flat();
  }

  /**
   * Sends a command, counting every HTTP attempt (the SDK's own retries included), and wraps
   * failures in StoreError.
   */
  private async send<I extends ServiceInputTypes, O extends ServiceOutputTypes>(
    operation: string,
    command: StoreCommand<I, O>,
  ): Promise<O> {
    try {
      const out = await this.client.send(command);
      this.count(operation, out.$metadata.attempts);
      return out;
    } catch (error) {
      this.count(operation, attemptsOf(error));
      throw new StoreError(`DynamoDB ${operation} on ${this.tableName} failed: ${messageOf(error)}`, { cause: error });
    }
  }

  /** Like {@link send}, but a failed condition is an answer (false), not an error. */
  private async sendConditional<I extends ServiceInputTypes, O extends ServiceOutputTypes>(
    operation: string,
    command: StoreCommand<I, O>,
  ): Promise<boolean> {
    try {
      await this.send(operation, command);
      return true;
    } catch (error) {
      if (error instanceof StoreError && nameOf(error.cause) === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  private count(operation: string, attempts: number | undefined): void {
    this.counts[operation] = (this.counts[operation] ?? 0) + Math.max(1, attempts ?? 1);
  }
}

/** Joins updates of the same user (union of buckets, hosts and processes, earliest cut-off) so each costs one write. */
function mergeByUser(updates: readonly BaselineUpdate[]): Map<string, BaselineUpdate> {
  const merged = new Map<string, BaselineUpdate>();
  for (const update of updates) {
    const previous = merged.get(update.user);
    merged.set(
      update.user,
      previous === undefined
        ? { ...update, add: [...update.add] }
        : {
            user: update.user,
            add: [...previous.add, ...update.add],
            forgetBefore: Math.min(previous.forgetBefore, update.forgetBefore),
            hosts: [...(previous.hosts ?? []), ...(update.hosts ?? [])],
            processes: [...(previous.processes ?? []), ...(update.processes ?? [])],
          },
    );
  }
  return merged;
}

/**
 * The values to ADD to a capped string set: distinct, non-empty, cut to MAX_SEEN_VALUE_CHARS, not
 * known already, and no more than the room left under MAX_SEEN_VALUES (sorted, so the choice is stable).
 */
function addBudget(values: readonly string[] | undefined, known: ReadonlySet<string> | undefined): string[] {
  if (values === undefined || values.length === 0) return [];
  const room = MAX_SEEN_VALUES - (known?.size ?? 0);
  if (room <= 0) return [];
  const fresh = new Set<string>();
  for (const value of values) {
    const cut = value.length > MAX_SEEN_VALUE_CHARS ? value.slice(0, MAX_SEEN_VALUE_CHARS) : value;
    if (cut.length > 0 && !known?.has(cut)) fresh.add(cut);
  }
  return [...fresh].sort().slice(0, room);
}

function toAnomalyRecord(item: Item): AnomalyRecord {
  const parsed = anomalyItemSchema.safeParse(unmarshall(item));
  if (!parsed.success) {
    throw new StoreError(`malformed anomaly item ${item['pk']?.S ?? '(no key)'}`, { cause: parsed.error });
  }
  return parsed.data;
}

/** `d<YYYYMMDD>` of the UTC day containing `ms`. */
function dayAttribute(ms: number): string {
  return `d${new Date(ms).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/** End (ms, exclusive) of the UTC day a `d<YYYYMMDD>` attribute names. */
function dayEnd(attribute: string): number {
  const start = Date.UTC(
    Number(attribute.slice(1, 5)),
    Number(attribute.slice(5, 7)) - 1,
    Number(attribute.slice(7, 9)),
  );
  return start + DAY_MS;
}

function floorDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

function toEpochSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

function pendingSortKey(bucketStart: number, id: string): string {
  return `${String(bucketStart).padStart(15, '0')}#${id}`;
}

function nameOf(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function attemptsOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('$metadata' in error)) return undefined;
  const metadata: unknown = error.$metadata;
  if (typeof metadata !== 'object' || metadata === null || !('attempts' in metadata)) return undefined;
  return typeof metadata.attempts === 'number' ? metadata.attempts : undefined;
}

/** Maps with at most `limit` calls in flight; results in input order; fails on the first error. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return results;
}
