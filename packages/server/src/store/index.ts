/**
 * The store: Kysely over SQLite (default, one writer, WAL) or PostgreSQL.
 * Queries are written once with Kysely by the domain modules; drivers hold only dialect quirks.
 */
export {
  openStore,
  prepareRestore,
  snapshotStore,
  storeDialect,
  storeHoldsData,
  type Store,
  type StoreOptions,
} from './store.js';
export type { Db, Tx, Executor } from './schema.js';
export type { ContainmentsTable } from './schema.js';
export { isStoreFault, isUniqueViolation } from './errors.js';
export { probeStore } from './probe.js';
export { prepared, preparedQuery } from './prepared.js';
