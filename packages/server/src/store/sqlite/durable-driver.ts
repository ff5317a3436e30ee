import type Sqlite from 'better-sqlite3';
import {
  SqliteDialect,
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import type { WalSync } from './wal-sync.js';

/**
 * Kysely's SQLite dialect, with every commit made durable through a {@link WalSync} before the
 * connection is handed to the next query: a COMMIT, and a write outside a transaction (autocommit),
 * resolve only once the sync thread has fdatasynced the WAL. The event loop is free meanwhile.
 */
export class DurableSqliteDialect extends SqliteDialect {
  constructor(
    private readonly sqlite: Sqlite.Database,
    private readonly sync: WalSync,
  ) {
    super({ database: sqlite });
  }

  override createDriver(): Driver {
    return new DurableDriver(super.createDriver(), this.sqlite, this.sync);
  }
}

class DurableDriver implements Driver {
  constructor(
    private readonly inner: Driver,
    private readonly sqlite: Sqlite.Database,
    private readonly sync: WalSync,
  ) {}

  init() {
    return this.inner.init();
  }
  async acquireConnection(): Promise<DatabaseConnection> {
    return new DurableConnection(await this.inner.acquireConnection(), this.sqlite, this.sync);
  }
  // The transaction statements go through the wrapping connection, which sees the COMMIT.
  beginTransaction(c: DatabaseConnection, settings: TransactionSettings) {
    return this.inner.beginTransaction(c, settings);
  }
  commitTransaction(c: DatabaseConnection) {
    return this.inner.commitTransaction(c);
  }
  rollbackTransaction(c: DatabaseConnection) {
    return this.inner.rollbackTransaction(c);
  }
  savepoint(c: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['savepoint']>>[2]) {
    return this.inner.savepoint!(c, name, compile);
  }
  rollbackToSavepoint(
    c: DatabaseConnection,
    name: string,
    compile: Parameters<NonNullable<Driver['rollbackToSavepoint']>>[2],
  ) {
    return this.inner.rollbackToSavepoint!(c, name, compile);
  }
  releaseSavepoint(
    c: DatabaseConnection,
    name: string,
    compile: Parameters<NonNullable<Driver['releaseSavepoint']>>[2],
  ) {
    return this.inner.releaseSavepoint!(c, name, compile);
  }
  releaseConnection(c: DatabaseConnection) {
    return this.inner.releaseConnection(c instanceof DurableConnection ? c.inner : c);
  }
  async destroy() {
    await this.sync.close();
    await this.inner.destroy();
  }
}

class DurableConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly sqlite: Sqlite.Database,
    private readonly sync: WalSync,
  ) {}

  /**
   * SECURITY: when a statement ended a transaction (COMMIT, or a ROLLBACK: harmless) or wrote outside
   * one, the WAL is synced before this resolves, while the connection is still held: nothing becomes
   * visible to another query, nor acknowledged, before it is on disk.
   */
  async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    // SECURITY: after a failed sync nothing runs (reads included): a commit whose sync failed may be in
    // the file and must not be delivered or acknowledged as a retry; a restart re-reads what is on disk.
    const failure = this.sync.failure;
    if (failure) throw failure;
    const wasInTransaction = this.sqlite.inTransaction;
    // Asked before the statement runs (a DDL statement cannot be prepared again once it ran); the
    // statement cache (driver.ts) makes this the very statement Kysely then runs.
    const readOnly = wasInTransaction || this.readOnly(q.sql);
    const result = await this.inner.executeQuery<R>(q);
    if (!this.sqlite.inTransaction && (wasInTransaction || !readOnly)) await this.sync.durable();
    return result;
  }

  private readOnly(text: string): boolean {
    try {
      return this.sqlite.prepare(text).readonly;
    } catch {
      return false; // the statement fails when it runs, before any sync
    }
  }

  streamQuery<R>(q: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    // Streaming is for SELECTs only (Kysely's SQLite driver refuses anything else): nothing to sync.
    return this.inner.streamQuery<R>(q, chunkSize);
  }
}
