// bench --> (an in-memory stand-in for the DynamoDB client) --> DynamoDbBaselineStore
//
// dynalite answers at most about 1,000 requests a second here, so a run of 100,000 users (100,000 writes)
// takes minutes. To count the requests of such a run, this client answers in memory: reads
// return the items it holds, writes succeed without being applied. That is enough for runs whose
// later requests do not depend on the run's own writes (no anomalies: the store-requests bench
// checks its counts against dynalite's at the sizes dynalite can do).

import {
  BatchGetItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';

type Item = Record<string, AttributeValue>;

const keyOf = (key: Item | undefined): string => `${key?.['pk']?.S ?? ''}\u0000${key?.['sk']?.S ?? ''}`;
const METADATA = { $metadata: { httpStatusCode: 200, attempts: 1 } };

export interface InMemoryDynamo {
  client: DynamoDBClient;
  /** Puts an item as it is (a copy of one read from a real table, for instance). */
  put(item: Item): void;
  close(): void;
}

/**
 * A DynamoDB client answering from memory; see the header for what it does not do. Its `send` is
 * replaced outright (no middleware, no call history: a run of 100,000 users makes 100,000 calls).
 */
export function inMemoryDynamo(): InMemoryDynamo {
  const items = new Map<string, Item>();
  const client = new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  const answer = (command: unknown): object => {
    if (command instanceof GetItemCommand) {
      const item = items.get(keyOf(command.input.Key));
      return { ...METADATA, ...(item ? { Item: item } : {}) };
    }
    if (command instanceof BatchGetItemCommand) {
      const responses: Record<string, Item[]> = {};
      for (const [table, request] of Object.entries(command.input.RequestItems ?? {})) {
        responses[table] = (request.Keys ?? []).flatMap((key): Item[] => {
          const item = items.get(keyOf(key));
          return item ? [item] : [];
        });
      }
      return { ...METADATA, Responses: responses, UnprocessedKeys: {} };
    }
    if (command instanceof PutItemCommand) {
      if (command.input.Item) items.set(keyOf(command.input.Item), command.input.Item);
      return METADATA;
    }
    if (command instanceof UpdateItemCommand || command instanceof DeleteItemCommand) return METADATA;
    if (command instanceof QueryCommand || command instanceof ScanCommand) return { ...METADATA, Items: [] };
    throw new Error(`the in-memory DynamoDB client does not answer ${(command as object).constructor.name}`);
  };
  Object.defineProperty(client, 'send', { value: async (command: unknown) => answer(command) });
  return {
    client,
    put: (item) => items.set(keyOf(item), item),
    close: () => client.destroy(),
  };
}
