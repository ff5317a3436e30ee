import type {
  CompiledQuery,
  DatabaseConnection,
  Dialect,
  Driver,
  Kysely,
  QueryResult,
  TransactionSettings,
} from 'kysely';
import { storeFault, toStoreError, type StoreFault } from './errors.js';

/** What the guard tells its owner. */
export interface GuardHooks {
  /** A driver error was a store fault (after mapping). */
  onFault(fault: StoreFault, cause: unknown): void;
  /**
   * False when there is no open transaction to roll back. SQLite rolls a transaction back by itself
   * after SQLITE_FULL, SQLITE_IOERR or SQLITE_BUSY; a second ROLLBACK would then fail with "cannot
   * rollback - no transaction is active" and hide the real error.
   */
  inTransaction?(): boolean;
}

/**
 * Wraps a Kysely dialect so every driver error that is a store fault (link lost, server gone, stalled,
 * disk full) surfaces as one stable AppError (`unavailable` / `storage_full`) and is reported to the
 * owner, whichever query or transaction step met it. Query errors (constraints, syntax) pass unchanged.
 */
export class GuardedDialect implements Dialect {
  constructor(
    private readonly inner: Dialect,
    private readonly hooks: GuardHooks,
  ) {}

  createDriver(): Driver {
    return new GuardedDriver(this.inner.createDriver(), this.hooks);
  }
  createQueryCompiler() {
    return this.inner.createQueryCompiler();
  }
  createAdapter() {
    return this.inner.createAdapter();
  }
  createIntrospector(db: Kysely<unknown>) {
    return this.inner.createIntrospector(db);
  }
}

class GuardedDriver implements Driver {
  constructor(
    private readonly inner: Driver,
    private readonly hooks: GuardHooks,
  ) {}

  private async guard<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      throw this.mapped(e);
    }
  }

  mapped(e: unknown): unknown {
    const fault = storeFault(e);
    if (fault !== undefined) this.hooks.onFault(fault, e);
    return toStoreError(e);
  }

  init() {
    return this.guard(() => this.inner.init());
  }
  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await this.guard(() => this.inner.acquireConnection());
    return new GuardedConnection(connection, this);
  }
  beginTransaction(c: DatabaseConnection, settings: TransactionSettings) {
    return this.guard(() => this.inner.beginTransaction(unwrap(c), settings));
  }
  commitTransaction(c: DatabaseConnection) {
    return this.guard(() => this.inner.commitTransaction(unwrap(c)));
  }
  /**
   * Kysely rolls back after any error in a transaction and, when the ROLLBACK itself fails, throws
   * the ROLLBACK's error instead of the first one. A rollback with no transaction left is skipped; a
   * rollback that fails on a lost link is not rethrown (the driver discards that connection), so
   * the caller sees the error that caused it.
   */
  async rollbackTransaction(c: DatabaseConnection) {
    if (this.hooks.inTransaction && !this.hooks.inTransaction()) return;
    try {
      await this.inner.rollbackTransaction(unwrap(c));
    } catch (e) {
      if (storeFault(e) === undefined) throw e;
    }
  }
  releaseConnection(c: DatabaseConnection) {
    return this.inner.releaseConnection(unwrap(c));
  }
  destroy() {
    return this.inner.destroy();
  }
  savepoint(c: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['savepoint']>>[2]) {
    return this.guard(() => this.inner.savepoint!(unwrap(c), name, compile));
  }
  rollbackToSavepoint(
    c: DatabaseConnection,
    name: string,
    compile: Parameters<NonNullable<Driver['rollbackToSavepoint']>>[2],
  ) {
    return this.guard(() => this.inner.rollbackToSavepoint!(unwrap(c), name, compile));
  }
  releaseSavepoint(
    c: DatabaseConnection,
    name: string,
    compile: Parameters<NonNullable<Driver['releaseSavepoint']>>[2],
  ) {
    return this.guard(() => this.inner.releaseSavepoint!(unwrap(c), name, compile));
  }
}

class GuardedConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly driver: GuardedDriver,
  ) {}

  async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    try {
      return await this.inner.executeQuery<R>(q);
    } catch (e) {
      throw this.driver.mapped(e);
    }
  }

  async *streamQuery<R>(q: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    try {
      yield* this.inner.streamQuery<R>(q, chunkSize);
    } catch (e) {
      throw this.driver.mapped(e);
    }
  }
}

const unwrap = (c: DatabaseConnection): DatabaseConnection => (c instanceof GuardedConnection ? c.inner : c);
