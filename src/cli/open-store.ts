// CLI commands --> (open the store) --> a replay's embedded state (--state DIR) or the deployed table (--table NAME)
//
// The operator commands work on both: the same DynamoDB adapter, against dynalite on disk or
// against DynamoDB with the caller's AWS credentials.

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbBaselineStore } from '../adapters/dynamodb-baseline-store.js';
import { startEmbeddedDynamo } from '../adapters/embedded-dynalite.js';
import type { DetectorConfig } from '../config/detector-config.js';
import { UsageError } from '../errors.js';
import { REPLAY_TABLE } from '../replay/replay.js';

export interface StoreLocation {
  /** A replay's state directory (`replay --state DIR`). */
  state?: string;
  /** The deployed table's name (stack output StateTableName). */
  table?: string;
  region?: string;
}

export interface OpenedStore {
  store: DynamoDbBaselineStore;
  /** Where it is, for messages: `state DIR` or `table NAME`. */
  describe: string;
  close(): Promise<void>;
}

export async function openStore(where: StoreLocation, config: DetectorConfig): Promise<OpenedStore> {
  if ((where.state === undefined) === (where.table === undefined))
    throw new UsageError('give either --state DIR (a replay\'s embedded state) or --table NAME (the deployed table)');
  const options = { memoryMs: config.memoryMs, bucketMs: config.bucketMs };
  if (where.state !== undefined) {
    const dynamo = await startEmbeddedDynamo({ tableName: REPLAY_TABLE, path: where.state });
    return {
      store: new DynamoDbBaselineStore({ client: dynamo.client, tableName: REPLAY_TABLE, ...options }),
      describe: `state ${where.state}`,
      close: () => dynamo.close(),
    };
  }
  const client = new DynamoDBClient(where.region ? { region: where.region } : {});
  return {
    store: new DynamoDbBaselineStore({ client, tableName: where.table as string, ...options }),
    describe: `table ${where.table}`,
    close: async () => client.destroy(),
  };
}
