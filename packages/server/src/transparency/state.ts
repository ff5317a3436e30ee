import { sql } from 'kysely';
import { treeHeadSigningMessage, type SignedTreeHead } from '@palisade/protocol';
import type { Ed25519Signer } from '../crypto/index.js';
import type { Executor, Tx } from '../store/index.js';
import type { FrontierNode } from './merkle.js';

/** The log's state row, as read under its lock. */
export interface LogState {
  treeSize: number;
  frontier: FrontierNode[];
  head: SignedTreeHead | null;
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');

/**
 * Locks the log's single state row for the rest of the transaction and reads it.
 * SECURITY: every append, head signature and org-key change starts here, so on PostgreSQL they are
 * serialised by the row lock (SQLite has one writer): leaf indexes are dense and heads never fork.
 */
export async function lockState(tx: Tx): Promise<LogState> {
  const r = await sql<{ tree_size: number | string; frontier: string; head: string | null }>`
    UPDATE kt_state SET tree_size = tree_size WHERE id = 1 RETURNING tree_size, frontier, head`.execute(tx);
  const row = r.rows[0];
  if (!row) throw new Error('kt_state row missing (migration 0018 not applied)');
  return parseState(row);
}

/** Reads the state row without a lock (for answers, not for changes). */
export async function readState(db: Executor): Promise<LogState> {
  const row = await db
    .selectFrom('kt_state')
    .select(['tree_size', 'frontier', 'head'])
    .where('id', '=', 1)
    .executeTakeFirstOrThrow();
  return parseState(row);
}

function parseState(row: { tree_size: number | string; frontier: string; head: string | null }): LogState {
  const frontier = (JSON.parse(row.frontier) as { size: number; hash: string }[]).map((n) => ({
    size: n.size,
    hash: new Uint8Array(Buffer.from(n.hash, 'base64url')),
  }));
  return {
    treeSize: Number(row.tree_size),
    frontier,
    head: row.head === null ? null : (JSON.parse(row.head) as SignedTreeHead),
  };
}

/** Writes the state row (inside the transaction that locked it). */
export async function writeState(tx: Tx, s: LogState): Promise<void> {
  await tx
    .updateTable('kt_state')
    .set({
      tree_size: s.treeSize,
      frontier: JSON.stringify(s.frontier.map((n) => ({ size: n.size, hash: b64(n.hash) }))),
      head: s.head === null ? null : JSON.stringify(s.head),
    })
    .where('id', '=', 1)
    .execute();
}

/** Signs a tree head with an organisation key. */
export function signHead(
  key: { keyId: string; signer: Ed25519Signer },
  treeSize: number,
  root: Uint8Array,
  at: number,
): SignedTreeHead {
  const unsigned = { treeSize, rootHash: b64(root), timestamp: new Date(at).toISOString(), keyId: key.keyId };
  const signature = b64(key.signer.sign(new TextEncoder().encode(treeHeadSigningMessage(unsigned))));
  return { ...unsigned, signature };
}
