// Types for dynalite 4 (CommonJS, `module.exports = dynalite`, ships no declarations).
// Only what the embedded store uses. No top-level import (imports go inside the module block): this must stay an ambient declaration.

declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    /** LevelDB directory; in memory when absent. */
    path?: string;
    /** How long a new table stays CREATING (ms, default 500). */
    createTableMs?: number;
    /** How long a deleted table stays DELETING (ms, default 500). */
    deleteTableMs?: number;
    /** How long an updated table stays UPDATING (ms, default 500). */
    updateTableMs?: number;
    /** Maximum item size (KB, default 400). */
    maxItemSizeKb?: number;
    ssl?: boolean;
    verbose?: boolean;
    debug?: boolean;
  }

  /** Returns an HTTP server speaking the DynamoDB API; `close()` also closes the database. */
  function dynalite(options?: DynaliteOptions): Server;

  export = dynalite;
}
