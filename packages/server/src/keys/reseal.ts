import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../store/index.js';
import type { EnvelopeSealer } from './key-service.js';
import { SEALED_FIELDS, type SealedField } from './sealed-fields.js';
import { keyIdOf, keyIdOfBytes } from './sealed-format.js';

/** What one pass over the sealed columns did. */
export interface ResealReport {
  /** Values moved from a retired data key to their scope's current key. */
  resealed: number;
  /** Clear values (written before their column was sealed) now sealed. */
  sealedLegacy: number;
  /** Values that could not be opened (altered, or their key destroyed); left as they are. */
  failed: number;
  /** Values looked at. */
  scanned: number;
  /** False when the walk was asked to stop early (shutdown): run it again to finish. */
  complete: boolean;
}

export interface ResealOptions {
  /** Reseal values under these (retired) data keys. */
  retired: ReadonlySet<string>;
  /** Also seal clear legacy values. */
  legacy: boolean;
  /** With `legacy`: also seal payloads stored as received (`sealed = 0`); only when sealing is on. */
  sealPayloads?: boolean;
  /** Skip `messages` (the big table) for a quick start-up pass. */
  skipMessages?: boolean;
  onProgress?: (field: string, scanned: number) => void;
  /** Polled between pages; true stops the walk (the report says it is not complete). */
  shouldStop?: () => boolean;
}

const PAGE = 500;
type Row = Record<string, unknown>;

/** The slice of Kysely's builders the walker uses, over a table and columns chosen at run time. */
interface DynamicSelect {
  where(column: string, op: string, value: unknown): DynamicSelect;
  where(expression: RawBuilder<unknown>): DynamicSelect;
  orderBy(column: string): DynamicSelect;
  limit(n: number): { execute(): Promise<Row[]> };
}
interface DynamicUpdate {
  where(column: string, op: string, value: unknown): DynamicUpdate;
  executeTakeFirst(): Promise<{ numUpdatedRows: bigint }>;
}
/** An untyped view of the database for the sealed-field walker (tables and columns come from constants). */
interface DynamicDb {
  selectFrom(table: string): { select(columns: string[]): DynamicSelect };
  updateTable(table: string): { set(values: Row): DynamicUpdate };
}

/**
 * Walks every sealed column (SEALED_FIELDS) in key order, page by page, and reseals what needs it.
 * Each row is updated on its own, guarded by its old value, so concurrent writers win, a crash loses
 * nothing, and running it again finishes the job.
 */
export async function resealAll(db: Db, sealer: EnvelopeSealer, opts: ResealOptions): Promise<ResealReport> {
  const report: ResealReport = { resealed: 0, sealedLegacy: 0, failed: 0, scanned: 0, complete: true };
  for (const f of SEALED_FIELDS) {
    if (f.table === 'messages' && opts.skipMessages) continue;
    if (!(await resealField(db, sealer, f, opts, report))) return { ...report, complete: false };
  }
  return report;
}

/** Walks one column; false when it stopped early. */
async function resealField(
  db: Db,
  sealer: EnvelopeSealer,
  f: SealedField,
  opts: ResealOptions,
  report: ResealReport,
): Promise<boolean> {
  const cols = [...new Set([...f.key, ...f.with, f.column, ...(f.binary ? ['sealed'] : [])])];
  // Table and column names come from SEALED_FIELDS (constants, never input). Kysely's typed builder
  // cannot take a table chosen at run time, so the walker uses an untyped view of the same database.
  const anyDb = db as unknown as DynamicDb;
  let after: unknown[] | undefined;
  for (;;) {
    if (opts.shouldStop?.()) return false;
    let q = anyDb.selectFrom(f.table).select(cols).where(f.column, 'is not', null);
    if (f.binary && !(opts.legacy && opts.sealPayloads)) q = q.where('sealed', '=', 1);
    if (after) q = q.where(sql`(${sql.join(f.key.map((k) => sql.ref(k)))}) > (${sql.join(after)})`);
    for (const k of f.key) q = q.orderBy(k);
    const rows = await q.limit(PAGE).execute();
    for (const r of rows) {
      report.scanned++;
      await resealRow(anyDb, sealer, f, r, opts, report);
    }
    opts.onProgress?.(`${f.table}.${f.column}`, report.scanned);
    if (rows.length < PAGE) return true;
    const last = rows[rows.length - 1]!;
    after = f.key.map((k) => last[k]);
  }
}

async function resealRow(
  db: DynamicDb,
  sealer: EnvelopeSealer,
  f: SealedField,
  r: Row,
  opts: ResealOptions,
  report: ResealReport,
): Promise<void> {
  const raw = r[f.column];
  const aad = f.aad(r);
  // Binary columns hold sealed bytes where the row is flagged sealed, the payload as received where not;
  // text columns may hold legacy clear text.
  const clearPayload = f.binary && Number(r.sealed) === 0;
  const keyId = clearPayload ? undefined : f.binary ? keyIdOfBytes(raw as Uint8Array) : keyIdOf(String(raw));
  let plaintext: Uint8Array;
  if (keyId !== undefined) {
    if (!opts.retired.has(keyId)) return;
    try {
      plaintext = f.binary ? await sealer.unsealBytes(raw as Uint8Array, aad) : await sealer.unseal(String(raw), aad);
    } catch {
      report.failed++;
      return;
    }
  } else if (clearPayload) {
    if (!opts.legacy || !opts.sealPayloads) return;
    plaintext = raw as Uint8Array;
  } else {
    if (!opts.legacy || f.binary) {
      if (f.binary) report.failed++; // flagged sealed, yet not a sealed value
      return;
    }
    plaintext = Buffer.from(String(raw), 'utf8');
  }
  const next = f.binary
    ? await sealer.sealBytes(plaintext, aad, f.scope(r))
    : await sealer.seal(plaintext, aad, f.scope(r));
  let u = db.updateTable(f.table).set({ [f.column]: next, ...(clearPayload ? { sealed: 1 } : {}) });
  for (const k of f.key) u = u.where(k, '=', r[k]);
  const res = await u.where(f.column, '=', raw).executeTakeFirst();
  if (Number(res.numUpdatedRows) === 1) {
    if (keyId !== undefined) report.resealed++;
    else report.sealedLegacy++;
  }
}
