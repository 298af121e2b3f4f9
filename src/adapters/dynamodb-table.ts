// (CloudFormation template, embedded dynalite) --> (table definition) --> DynamoDbBaselineStore
//
// The one table imds-watch keeps its state in, described as data so that the deployed table and
// the embedded store used by `replay` cannot drift apart.

import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/** Partition key attribute (S). */
export const PARTITION_KEY = 'pk';
/** Sort key attribute (S). */
export const SORT_KEY = 'sk';

/**
 * The sparse index of anomalies waiting for publication: only records in status `pending` or
 * `publishing` carry its keys, so a query reads nothing else.
 */
export const PENDING_INDEX = {
  name: 'pending',
  /** Hash key attribute (S); the constant {@link PENDING_INDEX_HASH_VALUE} when present. */
  hashKey: 'gsi1pk',
  /** Range key attribute (S): bucket start zero-padded to 15 digits, `#`, anomaly id. */
  rangeKey: 'gsi1sk',
} as const;

/** The single value of {@link PENDING_INDEX}'s hash key. */
export const PENDING_INDEX_HASH_VALUE = 'PENDING';

/** TTL attribute (Number, epoch **seconds**): DynamoDB deletes the item some time after it. */
export const TTL_ATTRIBUTE = 'expiresAt';

/**
 * The CreateTable request for the state table: `pk`/`sk` strings, the sparse `pending` GSI
 * (projection ALL, so listing pending anomalies needs no second read), on-demand billing.
 *
 * TTL ({@link TTL_ATTRIBUTE}), point-in-time recovery and encryption are separate settings
 * (UpdateTimeToLive, UpdateContinuousBackups; encryption at rest is always on) and belong to the
 * deployment template.
 *
 * @example
 * await client.send(new CreateTableCommand(createTableInput('imds-watch-state')));
 */
export function createTableInput(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    AttributeDefinitions: [
      { AttributeName: PARTITION_KEY, AttributeType: 'S' },
      { AttributeName: SORT_KEY, AttributeType: 'S' },
      { AttributeName: PENDING_INDEX.hashKey, AttributeType: 'S' },
      { AttributeName: PENDING_INDEX.rangeKey, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: PARTITION_KEY, KeyType: 'HASH' },
      { AttributeName: SORT_KEY, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: PENDING_INDEX.name,
        KeySchema: [
          { AttributeName: PENDING_INDEX.hashKey, KeyType: 'HASH' },
          { AttributeName: PENDING_INDEX.rangeKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
    BillingMode: 'PAY_PER_REQUEST',
  };
}
