import type { Executor } from '../store/index.js';
import { consistencyProof, inclusionPath, type SubtreeMemo } from './merkle.js';

/**
 * The log's leaf hashes and perfect-subtree roots, kept in memory as they are read: the log is
 * append-only and a committed leaf never changes, so each is read from the database once and each
 * proof costs O(log n) hashes. Loads are serialised, so concurrent requests never load a range twice.
 */
export class LogCache {
  private readonly leaves: Uint8Array[] = [];
  private readonly memo: SubtreeMemo = new Map();
  private loading: Promise<void> = Promise.resolve();

  /** Makes sure the first `n` leaf hashes are loaded (only the missing ones are read). */
  private ensure(db: Executor, n: number): Promise<void> {
    const run = this.loading.then(() => this.load(db, n));
    this.loading = run.catch(() => undefined);
    return run;
  }

  private async load(db: Executor, n: number): Promise<void> {
    const from = this.leaves.length;
    if (n <= from) return;
    const rows = await db
      .selectFrom('kt_leaves')
      .select('leaf_hash')
      .where('leaf_index', '>=', from)
      .where('leaf_index', '<', n)
      .orderBy('leaf_index')
      .execute();
    // SECURITY: only committed leaves are read, and they are dense; a gap means a broken log, never a guess.
    if (rows.length !== n - from) throw new Error('the transparency log has a gap');
    for (const r of rows) this.leaves.push(new Uint8Array(Buffer.from(r.leaf_hash, 'base64url')));
  }

  /** RFC 9162 inclusion proof of leaf `m` in the tree of size `n` (n at most the committed size). */
  async inclusion(db: Executor, m: number, n: number): Promise<Uint8Array[]> {
    await this.ensure(db, n);
    return inclusionPath(this.leaves, m, n, this.memo);
  }

  /** RFC 9162 consistency proof from size `m` to size `n` (n at most the committed size). */
  async consistency(db: Executor, m: number, n: number): Promise<Uint8Array[]> {
    await this.ensure(db, n);
    return consistencyProof(this.leaves, m, n, this.memo);
  }
}
