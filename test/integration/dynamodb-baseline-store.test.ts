// DynamoDbBaselineStore against dynalite (the DynamoDB API on LevelDB), started in this process.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchGetItemCommand,
  DynamoDBClient,
  GetItemCommand,
  type BatchGetItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { DynamoDbBaselineStore } from '../../src/adapters/dynamodb-baseline-store.js';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../src/adapters/embedded-dynalite.js';
import { StoreError } from '../../src/errors.js';
import type { AnomalyRecord } from '../../src/ports.js';

const TABLE = 'imds-watch-test';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const BUCKET = 15 * MINUTE;
const DAY = 86_400_000;
const MEMORY = 30 * DAY;
/** Midnight UTC, 15 January 2024. */
const T0 = Date.UTC(2024, 0, 15);

let dynamo: EmbeddedDynamo;
let sequence = 0;
/** Tests share one table: each uses its own users and anomaly ids. */
const unique = (prefix: string): string => `${prefix}-${++sequence}`;
const newStore = (client: DynamoDBClient = dynamo.client): DynamoDbBaselineStore =>
  new DynamoDbBaselineStore({ client, tableName: TABLE, memoryMs: MEMORY, bucketMs: BUCKET });
/** `count` consecutive bucket starts from `from`. */
const buckets = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i * BUCKET);

function anomaly(overrides: Partial<AnomalyRecord> = {}): AnomalyRecord {
  const id = overrides.id ?? unique('anomaly');
  return {
    id,
    status: 'pending',
    user: 'www-data',
    host: 'ip-10-0-1-12',
    score: 91,
    bucketStart: T0,
    detectedAt: T0 + BUCKET,
    alert: JSON.stringify({ event: { id } }),
    ...overrides,
  };
}

/** The user's raw item, to see how buckets are laid out. */
async function rawBaselineItem(user: string) {
  const out = await dynamo.client.send(
    new GetItemCommand({ TableName: TABLE, Key: { pk: { S: `USER#${user}` }, sk: { S: 'BASELINE' } }, ConsistentRead: true }),
  );
  return out.Item ?? {};
}

beforeAll(async () => {
  dynamo = await startEmbeddedDynamo({ tableName: TABLE });
});

afterAll(async () => {
  await dynamo.close();
});

describe('DynamoDbBaselineStore learning', () => {
  it('counts a bucket once when the same update is learned three times', async () => {
    // Prepare
    const store = newStore();
    const user = unique('user');
    const update = { user, add: buckets(T0, 3), forgetBefore: T0 - MEMORY };

    // Act
    await store.learn([update]);
    await store.learn([update]);
    await store.learn([update]);

    // Assess
    const baselines = await store.getBaselines([user]);
    expect(baselines.get(user)).toEqual({ user, buckets: buckets(T0, 3) });
  });

  it('counts each bucket once when two runs learn overlapping buckets at the same time', async () => {
    // Prepare: two runs whose 45-minute windows share two buckets
    const runA = newStore();
    const runB = newStore();
    const user = unique('user');

    // Act
    await Promise.all([
      runA.learn([{ user, add: buckets(T0, 3), forgetBefore: T0 - MEMORY }]),
      runB.learn([{ user, add: buckets(T0 + BUCKET, 3), forgetBefore: T0 - MEMORY }]),
    ]);

    // Assess
    const baselines = await newStore().getBaselines([user]);
    expect(baselines.get(user)?.buckets).toEqual(buckets(T0, 4));
  });

  it('stores buckets that span midnight in two UTC day sets and returns them in ascending order', async () => {
    // Prepare: 23:30 and 23:45 on the 14th, 00:00 and 00:15 on the 15th, given out of order
    const store = newStore();
    const user = unique('user');
    const add = [T0, T0 - 2 * BUCKET, T0 + BUCKET, T0 - BUCKET];

    // Act
    await store.learn([{ user, add, forgetBefore: T0 - MEMORY }]);

    // Assess
    const item = await rawBaselineItem(user);
    expect(item['d20240114']?.NS?.map(Number).sort()).toEqual([(T0 - 2 * BUCKET) / MINUTE, (T0 - BUCKET) / MINUTE]);
    expect(item['d20240115']?.NS?.map(Number).sort()).toEqual([T0 / MINUTE, (T0 + BUCKET) / MINUTE]);
    expect(item['lastBucket']?.N).toBe(String(T0 + BUCKET));
    expect(Number(item['expiresAt']?.N)).toBeGreaterThanOrEqual((T0 + BUCKET + MEMORY) / 1000);
    const baselines = await store.getBaselines([user]);
    expect(baselines.get(user)?.buckets).toEqual(buckets(T0 - 2 * BUCKET, 4));
  });

  it('forgets the days that end before the cut-off and keeps the day that contains it', async () => {
    // Prepare: one bucket at noon on each of three days
    const user = unique('user');
    await newStore().learn([
      { user, add: [T0 + DAY / 2, T0 + DAY + DAY / 2, T0 + 2 * DAY + DAY / 2], forgetBefore: T0 - MEMORY },
    ]);
    // A later run that never read this user: the cut-off is 01:00 on the third day
    const laterRun = newStore();
    const forgetBefore = T0 + 2 * DAY + HOUR;

    // Act: also offers a bucket that is already out of memory
    await laterRun.learn([{ user, add: [T0 + 3 * DAY, T0 + DAY + BUCKET], forgetBefore }]);

    // Assess
    const baselines = await laterRun.getBaselines([user]);
    expect(baselines.get(user)?.buckets).toEqual([T0 + 2 * DAY + DAY / 2, T0 + 3 * DAY]);
    const item = await rawBaselineItem(user);
    expect(Object.keys(item).filter((name) => /^d\d{8}$/.test(name)).sort()).toEqual(['d20240117', 'd20240118']);
  });

  it('forgets days older than a whole memory period once getBaselines has seen them', async () => {
    // Prepare: the user was seen once, then came back long after its item should have expired
    const user = unique('user');
    await newStore().learn([{ user, add: [T0], forgetBefore: T0 - MEMORY }]);
    const comeback = T0 + 3 * MEMORY;
    const store = newStore();
    expect((await store.getBaselines([user])).get(user)?.buckets).toEqual([T0]);

    // Act
    await store.learn([{ user, add: [comeback], forgetBefore: comeback - MEMORY }]);

    // Assess
    const baselines = await newStore().getBaselines([user]);
    expect(baselines.get(user)?.buckets).toEqual([comeback]);
  });

  it('removes known stale days of a user with no new buckets without creating items for others', async () => {
    // Prepare
    const user = unique('user');
    const stranger = unique('user');
    await newStore().learn([{ user, add: [T0], forgetBefore: T0 - MEMORY }]);
    const store = newStore();
    await store.getBaselines([user, stranger]);

    // Act
    await store.learn([
      { user, add: [], forgetBefore: T0 + 2 * DAY },
      { user: stranger, add: [], forgetBefore: T0 + 2 * DAY },
    ]);

    // Assess
    expect((await newStore().getBaselines([user])).has(user)).toBe(false);
    expect(await rawBaselineItem(stranger)).toEqual({});
    expect(store.requestCounts()['UpdateItem']).toBe(1);
  });

  it('reads 250 baselines in 3 BatchGetItem requests and leaves users without history out', async () => {
    // Prepare
    const users = Array.from({ length: 250 }, () => unique('fleet-user'));
    await newStore().learn(users.map((user, i) => ({ user, add: [T0 + (i % 4) * BUCKET], forgetBefore: T0 - MEMORY })));
    const store = newStore();
    const unknown = unique('never-seen');

    // Act
    const baselines = await store.getBaselines([...users, unknown, users[0] ?? '']);

    // Assess
    expect(baselines.size).toBe(250);
    expect(baselines.get(users[5] ?? '')?.buckets).toEqual([T0 + BUCKET]);
    expect(baselines.has(unknown)).toBe(false);
    expect(store.requestCounts()).toEqual({ BatchGetItem: 3 });
  });

  it('makes one write per user however many buckets each user brings', async () => {
    // Prepare
    const store = newStore();
    const four = Array.from({ length: 4 }, () => unique('user'));
    const eight = Array.from({ length: 8 }, () => unique('user'));

    // Act: one bucket each, then a whole day of buckets each, then twice as many users
    await store.learn(four.map((user) => ({ user, add: [T0], forgetBefore: T0 - MEMORY })));
    const afterOneBucket = store.requestCounts()['UpdateItem'];
    await store.learn(four.map((user) => ({ user, add: buckets(T0, 96), forgetBefore: T0 - MEMORY })));
    const afterManyBuckets = store.requestCounts()['UpdateItem'];
    await store.learn(eight.map((user) => ({ user, add: buckets(T0, 96), forgetBefore: T0 - MEMORY })));

    // Assess
    expect(afterOneBucket).toBe(4);
    expect(afterManyBuckets).toBe(8);
    expect(store.requestCounts()).toEqual({ UpdateItem: 16 });
    expect((await store.getBaselines([four[0] ?? '']).then((b) => b.get(four[0] ?? '')))?.buckets).toHaveLength(96);
  });

  it('merges two updates for the same user into one write', async () => {
    // Prepare
    const store = newStore();
    const user = unique('user');

    // Act
    await store.learn([
      { user, add: [T0], forgetBefore: T0 - MEMORY },
      { user, add: [T0 + BUCKET], forgetBefore: T0 - MEMORY },
    ]);

    // Assess
    expect(store.requestCounts()).toEqual({ UpdateItem: 1 });
    expect((await store.getBaselines([user])).get(user)?.buckets).toEqual([T0, T0 + BUCKET]);
  });

  it('keeps the hosts and processes seen with new buckets, each once, at most 20 of each, in the same write', async () => {
    // Prepare
    const store = newStore();
    const user = unique('user');
    const first = { user, add: [T0], forgetBefore: T0 - MEMORY, hosts: ['h1', 'h2'], processes: ['/usr/bin/curl'] };
    const manyHosts = Array.from({ length: 30 }, (_, i) => `host-${String(i).padStart(2, '0')}`);

    // Act: the same update twice (a retry), then a run from 30 hosts after a read
    await store.learn([first]);
    await store.learn([first]);
    await store.getBaselines([user]);
    await store.learn([{ user, add: [T0 + BUCKET], forgetBefore: T0 - MEMORY, hosts: manyHosts, processes: ['/usr/bin/curl', 'python3'] }]);

    // Assess
    expect(store.requestCounts()).toEqual({ UpdateItem: 3, BatchGetItem: 1 });
    const baseline = (await newStore().getBaselines([user])).get(user);
    expect(baseline?.buckets).toEqual([T0, T0 + BUCKET]);
    expect(baseline?.hosts).toHaveLength(20);
    expect(baseline?.hosts).toEqual(expect.arrayContaining(['h1', 'h2', 'host-00', 'host-17']));
    expect(baseline?.hosts).not.toContain('host-18');
    expect(baseline?.processes).toEqual(['/usr/bin/curl', 'python3']);
  });

  it('rejects a bucket start that is not on a bucket boundary', async () => {
    // Prepare
    const store = newStore();

    // Act
    const learning = store.learn([{ user: unique('user'), add: [T0 + MINUTE], forgetBefore: T0 - MEMORY }]);

    // Assess
    await expect(learning).rejects.toThrow(RangeError);
  });
});

describe('DynamoDbBaselineStore model state', () => {
  it('keeps the earliest window start that any run noted', async () => {
    // Prepare
    const store = newStore();
    const before = await store.getModelState();

    // Act
    await store.noteObserved(T0 + HOUR);
    await store.noteObserved(T0);
    await store.noteObserved(T0 + 2 * HOUR);

    // Assess
    expect(before).toEqual({});
    expect(await store.getModelState()).toEqual({ observedSince: T0 });
    expect(store.requestCounts()).toEqual({ GetItem: 2, UpdateItem: 3 });
  });
});

describe('DynamoDbBaselineStore anomalies', () => {
  it('creates an anomaly record once and keeps the first version', async () => {
    // Prepare
    const store = newStore();
    const first = anomaly({ score: 80 });

    // Act
    const created = await store.createAnomaly(first);
    const createdAgain = await store.createAnomaly({ ...first, score: 99 });

    // Assess
    expect(created).toBe(true);
    expect(createdAgain).toBe(false);
    expect((await store.getAnomalies([first.id, unique('missing')])).get(first.id)).toEqual(first);
  });

  it('lists pending anomalies but not excepted ones', async () => {
    // Prepare
    const store = newStore();
    const pending = anomaly();
    const excepted = anomaly({ status: 'excepted', reason: 'backup agent' });

    // Act
    await store.createAnomaly(pending);
    await store.createAnomaly(excepted);

    // Assess
    const listedIds = (await store.listPending()).map((record) => record.id);
    expect(listedIds).toContain(pending.id);
    expect(listedIds).not.toContain(excepted.id);
    expect((await store.getAnomalies([excepted.id])).get(excepted.id)).toEqual(excepted);
  });

  it('lets one run claim a pending anomaly and makes a second run fail to claim it', async () => {
    // Prepare
    const store = newStore();
    const record = anomaly();
    await store.createAnomaly(record);
    const now = T0 + 2 * BUCKET;

    // Act
    const firstClaim = await store.claim([record.id], 'run-1', now, now - 10 * MINUTE);
    const secondClaim = await store.claim([record.id], 'run-2', now + MINUTE, now + MINUTE - 10 * MINUTE);

    // Assess
    expect(firstClaim).toEqual([record.id]);
    expect(secondClaim).toEqual([]);
    const stored = (await store.getAnomalies([record.id])).get(record.id);
    expect(stored).toMatchObject({ status: 'publishing', claimedBy: 'run-1', claimedAt: now });
    // A claimed record stays listed, so a later run can take it over if this one dies.
    expect((await store.listPending()).map((r) => r.id)).toContain(record.id);
  });

  it('does not claim ids that do not exist', async () => {
    // Prepare
    const store = newStore();
    const missing = unique('missing');

    // Act
    const claimed = await store.claim([missing], 'run-1', T0, T0 - 10 * MINUTE);

    // Assess
    expect(claimed).toEqual([]);
    expect((await store.getAnomalies([missing])).size).toBe(0);
  });

  it('lets another run take over a stale claim, after which the first run cannot mark it published', async () => {
    // Prepare
    const store = newStore();
    const record = anomaly();
    await store.createAnomaly(record);
    const now = T0 + 2 * BUCKET;
    await store.claim([record.id], 'run-1', now, now - 10 * MINUTE);
    const later = now + 20 * MINUTE;

    // Act
    const takeover = await store.claim([record.id], 'run-2', later, later - 10 * MINUTE);

    // Assess
    expect(takeover).toEqual([record.id]);
    await expect(store.markPublished(record.id, 'run-1', later)).rejects.toThrow(StoreError);
    await store.markPublished(record.id, 'run-2', later);
    // Once published, a late call from the first run is a no-op.
    await expect(store.markPublished(record.id, 'run-1', later + MINUTE)).resolves.toBeUndefined();
    expect((await store.getAnomalies([record.id])).get(record.id)?.publishedAt).toBe(later);
  });

  it('removes a published anomaly from the pending list, idempotently', async () => {
    // Prepare
    const store = newStore();
    const record = anomaly();
    await store.createAnomaly(record);
    const now = T0 + 2 * BUCKET;
    await store.claim([record.id], 'run-1', now, now - 10 * MINUTE);

    // Act
    await store.markPublished(record.id, 'run-1', now + 1000);
    await store.markPublished(record.id, 'run-1', now + 2000);

    // Assess
    expect((await store.listPending()).map((r) => r.id)).not.toContain(record.id);
    const stored = (await store.getAnomalies([record.id])).get(record.id);
    expect(stored).toEqual({ ...record, status: 'published', publishedAt: now + 1000 });
  });

  it('refuses to mark published an anomaly that was never claimed', async () => {
    // Prepare
    const store = newStore();
    const record = anomaly();
    await store.createAnomaly(record);

    // Act
    const marking = store.markPublished(record.id, 'run-1', T0);

    // Assess
    await expect(marking).rejects.toThrow(StoreError);
    expect((await store.getAnomalies([record.id])).get(record.id)?.status).toBe('pending');
  });

  it('gives a released anomaly back to pending so another run can claim it', async () => {
    // Prepare
    const store = newStore();
    const record = anomaly();
    await store.createAnomaly(record);
    const now = T0 + 2 * BUCKET;
    await store.claim([record.id], 'run-1', now, now - 10 * MINUTE);

    // Act
    await store.release(record.id, 'run-2'); // not its claim: no effect
    const afterForeignRelease = (await store.getAnomalies([record.id])).get(record.id);
    await store.release(record.id, 'run-1');
    const claimedByNext = await store.claim([record.id], 'run-2', now + MINUTE, now + MINUTE - 10 * MINUTE);

    // Assess
    expect(afterForeignRelease).toMatchObject({ status: 'publishing', claimedBy: 'run-1' });
    expect(claimedByNext).toEqual([record.id]);
  });

  it('expires pending and stale claimed anomalies but leaves published and live-claimed ones alone', async () => {
    // Prepare
    const store = newStore();
    const pending = anomaly();
    const claimed = anomaly();
    const published = anomaly();
    for (const record of [pending, claimed, published]) await store.createAnomaly(record);
    await store.claim([claimed.id, published.id], 'run-1', T0, T0 - 10 * MINUTE);
    await store.markPublished(published.id, 'run-1', T0);

    // Act
    const live = await store.markExpired(claimed.id, T0);
    for (const record of [pending, claimed, published]) await store.markExpired(record.id, T0 + 1);
    await store.markExpired(pending.id, T0 + 1);

    // Assess
    const stored = await store.getAnomalies([pending.id, claimed.id, published.id]);
    expect(live).toBe(false);
    expect(stored.get(pending.id)?.status).toBe('expired');
    expect(stored.get(claimed.id)).toEqual({ ...claimed, status: 'expired' });
    expect(stored.get(published.id)?.status).toBe('published');
    const listedIds = (await store.listPending()).map((r) => r.id);
    expect(listedIds).not.toContain(pending.id);
    expect(listedIds).not.toContain(claimed.id);
  });

  it('reads more than 100 anomalies in batches and lists them in bucket order', async () => {
    // Prepare
    const store = newStore();
    const records = Array.from({ length: 120 }, (_, i) => anomaly({ bucketStart: T0 + 10 * DAY + (119 - i) * BUCKET }));
    for (const record of records) await store.createAnomaly(record);
    const ids = new Set(records.map((r) => r.id));

    // Act
    const read = await store.getAnomalies(records.map((r) => r.id));
    const listed = (await store.listPending()).filter((r) => ids.has(r.id));

    // Assess
    expect(read.size).toBe(120);
    expect(store.requestCounts()['BatchGetItem']).toBe(2);
    expect(listed.map((r) => r.bucketStart)).toEqual(records.map((r) => r.bucketStart).sort((a, b) => a - b));
  });
});

describe('DynamoDbBaselineStore unprocessed keys', () => {
  /** A client of its own, so the mock does not touch the shared one. */
  function mockedClient() {
    const client = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    return { client, mock: mockClient(client) };
  }

  it('retries unprocessed keys until every baseline is read', async () => {
    // Prepare: the first response processes one key and hands the others back
    const users = [unique('user'), unique('user'), unique('user')];
    await newStore().learn(users.map((user) => ({ user, add: [T0], forgetBefore: T0 - MEMORY })));
    const { client, mock } = mockedClient();
    let calls = 0;
    mock.on(BatchGetItemCommand).callsFake(async (input: BatchGetItemCommandInput) => {
      calls++;
      const keys = input.RequestItems?.[TABLE]?.Keys ?? [];
      const answered = calls === 1 ? keys.slice(0, 1) : keys;
      const out = await dynamo.client.send(
        new BatchGetItemCommand({ RequestItems: { [TABLE]: { Keys: answered, ConsistentRead: true } } }),
      );
      return { ...out, UnprocessedKeys: calls === 1 ? { [TABLE]: { Keys: keys.slice(1) } } : {} };
    });
    const store = new DynamoDbBaselineStore({
      client,
      tableName: TABLE,
      memoryMs: MEMORY,
      bucketMs: BUCKET,
      unprocessedRetry: { baseDelayMs: 1 },
    });

    // Act
    const baselines = await store.getBaselines(users);

    // Assess
    expect([...baselines.keys()].sort()).toEqual([...users].sort());
    expect(calls).toBe(2);
    expect(store.requestCounts()).toEqual({ BatchGetItem: 2 });
    client.destroy();
  });

  it('throws a StoreError instead of dropping keys that stay unprocessed', async () => {
    // Prepare
    const { client, mock } = mockedClient();
    mock.on(BatchGetItemCommand).callsFake(async (input: BatchGetItemCommandInput) => ({
      $metadata: {},
      Responses: { [TABLE]: [] },
      UnprocessedKeys: input.RequestItems,
    }));
    const store = new DynamoDbBaselineStore({
      client,
      tableName: TABLE,
      memoryMs: MEMORY,
      bucketMs: BUCKET,
      unprocessedRetry: { attempts: 3, baseDelayMs: 1 },
    });

    // Act
    const reading = store.getBaselines([unique('user')]);

    // Assess
    await expect(reading).rejects.toThrow(StoreError);
    expect(store.requestCounts()).toEqual({ BatchGetItem: 3 });
    client.destroy();
  });

  it('wraps other DynamoDB failures in a StoreError with the cause', async () => {
    // Prepare
    const store = new DynamoDbBaselineStore({
      client: dynamo.client,
      tableName: 'no-such-table',
      memoryMs: MEMORY,
      bucketMs: BUCKET,
    });

    // Act
    const error: unknown = await store.getModelState().catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).cause).toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

describe('embedded dynalite on disk', () => {
  it('keeps baselines, anomalies and model state across a close and a restart on the same path', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'imds-watch-state-'));
    const path = join(dir, 'nested', 'state');
    const record = anomaly();
    try {
      const first = await startEmbeddedDynamo({ path, tableName: TABLE });
      const firstStore = newStore(first.client);
      await firstStore.learn([{ user: 'www-data', add: buckets(T0, 2), forgetBefore: T0 - MEMORY }]);
      await firstStore.createAnomaly(record);
      await firstStore.noteObserved(T0);
      await first.close();

      // Act
      const second = await startEmbeddedDynamo({ path, tableName: TABLE });
      try {
        const secondStore = newStore(second.client);
        await secondStore.learn([{ user: 'www-data', add: [T0 + 2 * BUCKET], forgetBefore: T0 - MEMORY }]);

        // Assess
        expect((await secondStore.getBaselines(['www-data'])).get('www-data')?.buckets).toEqual(buckets(T0, 3));
        expect((await secondStore.getAnomalies([record.id])).get(record.id)).toEqual(record);
        expect(await secondStore.getModelState()).toEqual({ observedSince: T0 });
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('DynamoDbBaselineStore operator state', () => {
  let dynamo: Awaited<ReturnType<typeof startEmbeddedDynamo>>;
  let store: DynamoDbBaselineStore;
  beforeAll(async () => {
    dynamo = await startEmbeddedDynamo({ tableName: 'imds-watch-operator' });
    store = new DynamoDbBaselineStore({ client: dynamo.client, tableName: 'imds-watch-operator', memoryMs: 30 * 86_400_000, bucketMs: 900_000 });
  });
  afterAll(async () => {
    await dynamo.close();
  });

  it('writes, lists and removes run-time exceptions', async () => {
    // Prepare
    await store.putException({ id: 'e1', user: 'backup', reason: 'nightly backup', createdBy: 'alice', createdAt: 1, expires: '2027-01-01T00:00:00Z' });
    await store.putException({ id: 'e2', host: 'test-*', reason: 'test environment', createdBy: 'bob', createdAt: 2 });
    // Act
    const listed = await store.listExceptions();
    const removed = await store.removeException('e1');
    const again = await store.removeException('e1');
    // Assess
    expect(listed.map((e) => e.id).sort()).toEqual(['e1', 'e2']);
    expect(listed.find((e) => e.id === 'e1')).toMatchObject({ user: 'backup', expires: '2027-01-01T00:00:00Z', createdBy: 'alice' });
    expect([removed, again]).toEqual([true, false]);
    expect((await store.listExceptions()).map((e) => e.id)).toEqual(['e2']);
  });

  it('never lets an older alert pointer replace a newer one', async () => {
    await store.setAlertPointer({ user: 'u', alertId: 'new', bucketStart: 2_000 * 900_000 });
    await store.setAlertPointer({ user: 'u', alertId: 'old', bucketStart: 1_000 * 900_000 });
    expect((await store.getAlertPointers(['u', 'nobody'])).get('u')?.alertId).toBe('new');
    expect((await store.getAlertPointers(['nobody'])).size).toBe(0);
  });

  it('counts a repeat once however often it is added', async () => {
    // Prepare
    const record = { id: 'first', status: 'published' as const, user: 'u', host: 'h', score: 100, bucketStart: 900_000, detectedAt: 900_000, alert: '{}' };
    await store.createAnomaly(record);
    // Act
    await store.addRepeat('first', 'r1');
    await store.addRepeat('first', 'r1');
    await store.addRepeat('first', 'r2');
    // Assess
    expect((await store.getAnomalies(['first'])).get('first')?.repeats).toEqual(['r1', 'r2']);
  });

  it('keeps the health state', async () => {
    expect(await store.getHealth()).toEqual({ open: {} });
    const state = { lastEventsAt: 5, open: { 'no-telemetry': { since: 1, detail: 'quiet', noticeId: 'n1' } } };
    await store.putHealth(state);
    expect(await store.getHealth()).toEqual(state);
  });
});

// --- backfill progress (src/run/backfill.ts) ---
describe('DynamoDbBaselineStore backfill progress', () => {
  let own: EmbeddedDynamo;
  let store: DynamoDbBaselineStore;
  const progress = { from: T0, to: T0 + DAY, doneUntil: T0, startedAt: 1_000, updatedAt: 1_000, startedBy: 'run-a' };

  beforeAll(async () => {
    own = await startEmbeddedDynamo({ tableName: TABLE });
    store = new DynamoDbBaselineStore({ client: own.client, tableName: TABLE, memoryMs: MEMORY, bucketMs: BUCKET });
  });

  afterAll(async () => {
    await own.close();
  });

  it('has no backfill progress before the first backfill, then keeps what was put', async () => {
    // Prepare
    const before = await store.getBackfill();
    // Act
    await store.putBackfill(progress);
    // Assess
    expect(before).toBeUndefined();
    expect(await store.getBackfill()).toEqual(progress);
  });

  it('moves doneUntil forward only, and only for the backfill that started it', async () => {
    // Prepare
    await store.putBackfill(progress);
    // Act
    const forward = await store.advanceBackfill('run-a', T0 + HOUR, 2_000);
    const back = await store.advanceBackfill('run-a', T0 + BUCKET, 3_000);
    const stranger = await store.advanceBackfill('run-b', T0 + 2 * HOUR, 4_000);
    // Assess: going back is no failure (a twin of the same backfill is ahead), a stranger's is
    expect([forward, back, stranger]).toEqual([true, true, false]);
    expect(await store.getBackfill()).toEqual({ ...progress, doneUntil: T0 + HOUR, updatedAt: 2_000 });
  });

  it('lets a restart replace the progress, after which the old backfill can no longer advance it', async () => {
    // Prepare
    await store.putBackfill(progress);
    // Act
    await store.putBackfill({ ...progress, startedBy: 'run-c', startedAt: 5_000, updatedAt: 5_000 });
    const old = await store.advanceBackfill('run-a', T0 + HOUR, 6_000);
    // Assess
    expect(old).toBe(false);
    expect(await store.getBackfill()).toMatchObject({ startedBy: 'run-c', doneUntil: T0 });
  });

  it('leaves the model state and its checkpoint alone', async () => {
    // Prepare
    await store.advanceCheckpoint(T0 + BUCKET);
    // Act
    await store.putBackfill({ ...progress, startedBy: 'run-d' });
    await store.advanceBackfill('run-d', T0 + 3 * HOUR, 7_000);
    // Assess
    expect(await store.getModelState()).toEqual({ checkpoint: T0 + BUCKET });
  });
});
// --- end backfill progress ---

describe('DynamoDbBaselineStore shards', () => {
  const shardStore = (shard: number): DynamoDbBaselineStore =>
    new DynamoDbBaselineStore({ client: dynamo.client, tableName: TABLE, memoryMs: MEMORY, bucketMs: BUCKET, shard });

  it('keeps a checkpoint per shard, each only moving forward', async () => {
    // Prepare
    const seven = shardStore(7);
    const eight = shardStore(8);
    // Act
    await seven.advanceCheckpoint(T0 + 2 * BUCKET);
    await eight.advanceCheckpoint(T0 + BUCKET);
    await seven.advanceCheckpoint(T0 + BUCKET);
    // Assess
    expect((await seven.getModelState()).checkpoint).toBe(T0 + 2 * BUCKET);
    expect((await eight.getModelState()).checkpoint).toBe(T0 + BUCKET);
    expect((await shardStore(9).getModelState()).checkpoint).toBeUndefined();
  });

  it('keeps health per shard and shares baselines and the observation start', async () => {
    // Prepare
    const seven = shardStore(7);
    const eight = shardStore(8);
    const user = unique('shared');
    // Act
    await seven.putHealth({ lastEventsAt: T0, open: {} });
    await seven.learn([{ user, add: [T0], forgetBefore: T0 - MEMORY }]);
    await eight.learn([{ user, add: [T0, T0 + BUCKET], forgetBefore: T0 - MEMORY }]);
    // Assess
    expect(await seven.getHealth()).toEqual({ lastEventsAt: T0, open: {} });
    expect(await eight.getHealth()).toEqual({ open: {} });
    expect((await seven.getBaselines([user])).get(user)?.buckets).toEqual([T0, T0 + BUCKET]);
    expect((await seven.getModelState()).observedSince).toBe((await eight.getModelState()).observedSince);
  });

  it('rejects a shard that is not a non-negative integer', () => {
    expect(() => shardStore(-1)).toThrow(RangeError);
    expect(() => shardStore(1.5)).toThrow(RangeError);
  });
});
