import type { SignedTreeHead } from '@palisade/protocol';
import { AppError } from '../core/index.js';
import type { Executor, Tx } from '../store/index.js';
import type { ActiveOrgKey, TransparencyDeps } from './deps.js';
import { frontierAppend, frontierRoot, leafHash } from './merkle.js';
import { lockState, readState, signHead, writeState } from './state.js';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');

/** Returned when the key given is no longer the active one (a rotation by another server). */
export const STALE_ORG_KEY = Symbol('stale organisation key');

/**
 * True when `key` is still the active organisation key. Checked under the state lock, which a rotation
 * also takes, so nothing is signed by a key that was retired before the signature is committed.
 */
async function stillActive(tx: Tx, key: ActiveOrgKey): Promise<boolean> {
  const row = await tx
    .selectFrom('org_signing_keys')
    .select('retired_at')
    .where('id', '=', key.keyId)
    .executeTakeFirst();
  return !!row && row.retired_at === null;
}

/**
 * Appends one credential to the log inside the caller's transaction: the next dense index, the leaf
 * row, the new frontier and a head signed by `key` (or {@link STALE_ORG_KEY}, appending nothing, when
 * `key` was retired meanwhile). SECURITY: append-only; nothing updates or deletes
 * a leaf, and the index comes from the locked state row.
 */
export async function appendLeaf(
  tx: Tx,
  key: ActiveOrgKey,
  at: number,
  leaf: { bytes: Uint8Array; userId: string; deviceId: string },
): Promise<{ leafIndex: number; head: SignedTreeHead } | typeof STALE_ORG_KEY> {
  const state = await lockState(tx);
  if (!(await stillActive(tx, key))) return STALE_ORG_KEY;
  const leafIndex = state.treeSize;
  const hash = leafHash(leaf.bytes);
  await tx
    .insertInto('kt_leaves')
    .values({
      leaf_index: leafIndex,
      leaf_hash: b64(hash),
      credential: new TextDecoder().decode(leaf.bytes),
      user_id: leaf.userId,
      device_id: leaf.deviceId,
      created_at: at,
    })
    .execute();
  const frontier = frontierAppend(state.frontier, hash);
  const head = signHead(key, leafIndex + 1, frontierRoot(frontier), at);
  await writeState(tx, { treeSize: leafIndex + 1, frontier, head });
  return { leafIndex, head };
}

/** The latest signed tree head; the first call on an empty log signs the empty head. */
export async function currentHead(deps: TransparencyDeps): Promise<SignedTreeHead> {
  const state = await readState(deps.db);
  if (state.head) return state.head;
  const key = await deps.orgSigner.current(deps);
  return deps.db.transaction().execute(async (tx) => {
    const locked = await lockState(tx);
    if (locked.head) return locked.head;
    // No head yet and the key retired meanwhile: a rotation signed a head, which the lock shows above.
    if (!(await stillActive(tx, key))) throw new Error('the organisation key changed while signing the first head');
    const head = signHead(key, locked.treeSize, frontierRoot(locked.frontier), deps.clock.now());
    await writeState(tx, { ...locked, head });
    return head;
  });
}

/** The tree size the log has now (committed appends). */
async function size(db: Executor): Promise<number> {
  return (await readState(db)).treeSize;
}

/** RFC 9162 inclusion proof of leaf `leafIndex` in the tree of size `treeSize`. */
export async function getInclusionProof(
  deps: Pick<TransparencyDeps, 'db' | 'logCache'>,
  leafIndex: number,
  treeSize: number,
): Promise<string[]> {
  if (leafIndex >= treeSize || treeSize > (await size(deps.db)))
    throw new AppError('kt_range', 'leafIndex must be below treeSize, and treeSize at most the current tree size');
  return (await deps.logCache.inclusion(deps.db, leafIndex, treeSize)).map(b64);
}

/** RFC 9162 consistency proof between the trees of sizes `from` and `to`. */
export async function getConsistencyProof(
  deps: Pick<TransparencyDeps, 'db' | 'logCache'>,
  from: number,
  to: number,
): Promise<string[]> {
  if (from > to || to > (await size(deps.db)))
    throw new AppError('kt_range', 'from must be at most to, and to at most the current tree size');
  return (await deps.logCache.consistency(deps.db, from, to)).map(b64);
}
