// CLI replay, integration tests --> (embedded dynalite) --> DynamoDbBaselineStore
//
// Runs dynalite (the DynamoDB API on LevelDB) inside this process, so `replay` and the tests use
// the same DynamoDB adapter as the Lambda, against the real wire protocol, with no server to set
// up. With `path` the state survives the process: `replay --state DIR` continues baselines.

import { AbstractIterator } from 'abstract-level';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { StoreError } from '../errors.js';
import { createTableInput } from './dynamodb-table.js';

/** Options of {@link startEmbeddedDynamo}. */
export type EmbeddedDynamoOptions = {
  /** LevelDB directory (created if missing). In memory when absent. */
  path?: string;
  /** Table to create if it does not exist yet (see {@link createTableInput}). */
  tableName: string;
};

/** A running embedded DynamoDB and a client for it. */
export type EmbeddedDynamo = {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  client: DynamoDBClient;
  /** Destroys the client and closes the server and its database. Idempotent. */
  close(): Promise<void>;
};

/** How long to wait for the table to become ACTIVE. */
const ACTIVE_TIMEOUT_MS = 10_000;
const ACTIVE_POLL_MS = 20;

/**
 * dynalite 4 ends its Query and Scan iterators with `return()`, which abstract-level 3 iterators
 * lack (they have `close()`), so every iterator stays open and pins a snapshot of the table: a
 * long replay with --state leaked about 6 MB a simulated day (measured by `npm run soak`).
 * Giving the iterators a `return()` that closes them ends the leak. Idempotent.
 */
export function closeDynaliteIterators(): void {
  const common = Object.getPrototypeOf(AbstractIterator.prototype) as { return?: () => Promise<void>; close(): Promise<void> };
  common.return ??= function (this: { close(): Promise<void> }): Promise<void> {
    return this.close();
  };
}

/**
 * Starts dynalite on 127.0.0.1 (random port), creates the table if it does not exist and waits
 * until it is ACTIVE.
 *
 * @example
 * const dynamo = await startEmbeddedDynamo({ path: '.state', tableName: 'imds-watch' });
 * try {
 *   const store = new DynamoDbBaselineStore({ client: dynamo.client, tableName: 'imds-watch', memoryMs, bucketMs });
 *   // ...
 * } finally {
 *   await dynamo.close();
 * }
 */
export async function startEmbeddedDynamo(options: EmbeddedDynamoOptions): Promise<EmbeddedDynamo> {
  closeDynaliteIterators();
  if (options.path !== undefined) {
    try {
      await mkdir(options.path, { recursive: true });
    } catch (error) {
      throw new StoreError(`cannot create state directory ${options.path}`, { cause: error });
    }
  }

  // createTableMs 0: the table is usable at once (dynalite defaults to 500 ms in CREATING).
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.path !== undefined ? { path: options.path } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    // dynalite checks that requests are signed, not by whom.
    credentials: { accessKeyId: 'embedded', secretAccessKey: 'embedded' },
    // Local server: a failure is not transient, so do not spend long retrying it.
    maxAttempts: 3,
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      // Destroying the client closes its keep-alive sockets; the server's close waits for them.
      client.destroy();
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      });
    })();
    return closing;
  };

  try {
    await ensureTable(client, options.tableName);
  } catch (error) {
    await close().catch(() => undefined);
    throw error instanceof StoreError
      ? error
      : new StoreError(`cannot create table ${options.tableName} in the embedded store`, { cause: error });
  }
  return { endpoint, client, close };
}

/** Creates the table unless it exists, then waits until it is ACTIVE. */
async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const status = await tableStatus(client, tableName);
  if (status === undefined) {
    try {
      await client.send(new CreateTableCommand(createTableInput(tableName)));
    } catch (error) {
      // Someone else created it between our check and our create: fine, wait for it below.
      if (!(error instanceof ResourceInUseException)) throw error;
    }
  }
  const deadline = Date.now() + ACTIVE_TIMEOUT_MS;
  for (;;) {
    if ((await tableStatus(client, tableName)) === 'ACTIVE') return;
    if (Date.now() > deadline) {
      throw new StoreError(`table ${tableName} did not become ACTIVE within ${ACTIVE_TIMEOUT_MS} ms`);
    }
    await sleep(ACTIVE_POLL_MS);
  }
}

/** The table's status, or undefined when it does not exist. */
async function tableStatus(client: DynamoDBClient, tableName: string): Promise<string | undefined> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return Table?.TableStatus ?? 'UNKNOWN';
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}
