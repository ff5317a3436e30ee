/**
 * The store: Kysely over SQLite (default, one writer, WAL) or PostgreSQL.
 * Queries are written once with Kysely by the domain modules; drivers hold only dialect quirks.
 */
export { openStore, prepareRestore, snapshotStore, storeDialect, storeHoldsData, type PreparedRestore, type Store, type StoreOptions } from './store.js';
export { postgresSslOptions, withoutSslParams, type PostgresTls } from './postgres/tls.js';
export type { Database, Db, Tx, Executor } from './schema.js';
export { isUniqueViolation } from './errors.js';
export { probeStore } from './probe.js';
