import { AppError, isAppError } from '../core/index.js';

/** True when `e` is a unique-constraint violation from either database. */
export function isUniqueViolation(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const err = e as { code?: unknown; message?: unknown };
  return err.code === '23505' || err.code === 'SQLITE_CONSTRAINT_UNIQUE' || err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** What a driver error says about the store itself (not about the query): `undefined` for query errors. */
export type StoreFault = 'unavailable' | 'storage_full';

/** Socket-level errors (Node errno codes) on the link to the database. */
const NET_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);
/**
 * PostgreSQL SQLSTATEs that mean the server or the link failed, not the statement: class 08
 * (connection exception) is matched by prefix; 57P01-57P03 shutdown / cannot connect now; 57014
 * query_canceled (statement_timeout); 53300 too_many_connections; 53200 out_of_memory.
 */
const PG_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '57014', '53300', '53200']);
/** node-postgres reports a dead or stalled link with these messages and no code. */
const PG_LINK_MESSAGES = [
  /^Connection terminated/,
  /^Query read timeout$/,
  /^timeout exceeded when trying to connect$/,
  /is not queryable$/,
  /^Client was closed and is not queryable$/,
  /^Postgres connection has been discarded$/,
];

/**
 * Classifies a driver error: `storage_full` for SQLITE_FULL and PostgreSQL 53100 (disk_full),
 * `unavailable` for a lost, refused or stalled link, a busy SQLite file or an I/O error, and
 * `undefined` for everything that is the query's own fault (constraint violations, syntax).
 */
export function storeFault(e: unknown): StoreFault | undefined {
  if (typeof e !== 'object' || e === null || isAppError(e)) return undefined;
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err.code === 'string' ? err.code : '';
  if (code === 'SQLITE_FULL' || code === '53100') return 'storage_full';
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code.startsWith('SQLITE_IOERR'))
    return 'unavailable';
  if (NET_CODES.has(code) || PG_UNAVAILABLE.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return 'unavailable';
  const message = typeof err.message === 'string' ? err.message : '';
  return PG_LINK_MESSAGES.some((r) => r.test(message)) ? 'unavailable' : undefined;
}

/** How long a client should wait before retrying after a store fault. */
export const STORE_RETRY_AFTER_MS = 1000;

/**
 * Turns a store fault into the stable AppError clients see (`unavailable` or `storage_full`, both
 * 503 with a retry hint); any other error is returned unchanged (unique violations stay raw so the
 * domain can recognise them). The driver's error is kept as `cause` for the log only.
 */
export function toStoreError(e: unknown): unknown {
  const fault = storeFault(e);
  if (fault === undefined) return e;
  const mapped =
    fault === 'storage_full'
      ? new AppError(
          'storage_full',
          'the store is out of space and accepts no new writes; nothing already acknowledged is lost',
          { cause: e, retryAfterMs: STORE_RETRY_AFTER_MS * 5 },
        )
      : new AppError('unavailable', 'the store is not reachable; retry shortly', {
          cause: e,
          retryAfterMs: STORE_RETRY_AFTER_MS,
        });
  faults.add(mapped);
  return mapped;
}

const faults = new WeakSet<object>();

/** True when `e` is one of the AppErrors `toStoreError` made (the store, not the request, failed). */
export function isStoreFault(e: unknown): boolean {
  return typeof e === 'object' && e !== null && faults.has(e);
}
