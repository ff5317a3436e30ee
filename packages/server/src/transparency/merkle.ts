import { sha256Bytes } from '../crypto/index.js';

/**
 * The server's RFC 9162 (section 2.1) Merkle tree over the log's leaf hashes: roots, inclusion paths,
 * consistency proofs and the compact frontier kept in `kt_state`. The client verifies with its own,
 * independent implementation (packages/client/src/e2ee/merkle.ts); the tests cross-check the two.
 */

/** SHA-256(0x00 || leaf). */
export const leafHash = (leaf: Uint8Array): Uint8Array => sha256Bytes(Uint8Array.of(0), leaf);
/** SHA-256(0x01 || left || right). */
export const nodeHash = (l: Uint8Array, r: Uint8Array): Uint8Array => sha256Bytes(Uint8Array.of(1), l, r);
/** The root of the empty tree: SHA-256 of the empty string. */
export const EMPTY_ROOT = sha256Bytes();

/** The largest power of two strictly below n (n >= 2): the RFC's split point. */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * Roots of perfect subtrees already computed, keyed `lo/size`: a perfect subtree's leaves never change
 * in an append-only log, so its root can be kept. Only subtrees of at least {@link MEMO_MIN} leaves are
 * kept (about n/32 entries); with them a root or a proof costs O(log n) hashes instead of O(n).
 */
export type SubtreeMemo = Map<string, Uint8Array>;
const MEMO_MIN = 32;
const isPowerOfTwo = (n: number) => (n & (n - 1)) === 0;

/** MTH(D[lo:hi]) over leaf hashes. */
export function rootOf(leaves: readonly Uint8Array[], lo = 0, hi = leaves.length, memo?: SubtreeMemo): Uint8Array {
  const n = hi - lo;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return leaves[lo] as Uint8Array;
  const key = memo && n >= MEMO_MIN && isPowerOfTwo(n) ? `${lo}/${n}` : undefined;
  const hit = key === undefined ? undefined : memo!.get(key);
  if (hit) return hit;
  const k = split(n);
  const root = nodeHash(rootOf(leaves, lo, lo + k, memo), rootOf(leaves, lo + k, hi, memo));
  if (key !== undefined) memo!.set(key, root);
  return root;
}

/** PATH(m, D[0:n]) of RFC 9162 2.1.3.1, leaf to root. Requires 0 <= m < n <= leaves.length. */
export function inclusionPath(leaves: readonly Uint8Array[], m: number, n: number, memo?: SubtreeMemo): Uint8Array[] {
  const path = (m: number, lo: number, hi: number): Uint8Array[] => {
    if (hi - lo <= 1) return [];
    const k = split(hi - lo);
    return m < k
      ? [...path(m, lo, lo + k), rootOf(leaves, lo + k, hi, memo)]
      : [...path(m - k, lo + k, hi), rootOf(leaves, lo, lo + k, memo)];
  };
  if (!(m >= 0 && m < n && n <= leaves.length)) throw new RangeError('leaf index out of range');
  return path(m, 0, n);
}

/** PROOF(m, D[0:n]) of RFC 9162 2.1.4.1; empty when m is 0 or m equals n. Requires m <= n <= leaves.length. */
export function consistencyProof(
  leaves: readonly Uint8Array[],
  m: number,
  n: number,
  memo?: SubtreeMemo,
): Uint8Array[] {
  const sub = (m: number, lo: number, hi: number, whole: boolean): Uint8Array[] => {
    if (m === hi - lo) return whole ? [] : [rootOf(leaves, lo, hi, memo)];
    const k = split(hi - lo);
    return m <= k
      ? [...sub(m, lo, lo + k, whole), rootOf(leaves, lo + k, hi, memo)]
      : [...sub(m - k, lo + k, hi, false), rootOf(leaves, lo, lo + k, memo)];
  };
  if (!(m >= 0 && m <= n && n <= leaves.length)) throw new RangeError('tree sizes out of range');
  return m === 0 ? [] : sub(m, 0, n, true);
}

/**
 * The compact frontier of a tree: the roots of its perfect subtrees, largest (leftmost) first, one per
 * set bit of its size. Appending is O(log n) and so is the root, so an append never reads the log.
 */
export interface FrontierNode {
  size: number;
  hash: Uint8Array;
}

/** The frontier after appending `leaf` (a leaf hash) to `frontier` (not modified). */
export function frontierAppend(frontier: readonly FrontierNode[], leaf: Uint8Array): FrontierNode[] {
  const out = [...frontier, { size: 1, hash: leaf }];
  while (out.length >= 2 && out[out.length - 1]!.size === out[out.length - 2]!.size) {
    const r = out.pop()!;
    const l = out.pop()!;
    out.push({ size: l.size * 2, hash: nodeHash(l.hash, r.hash) });
  }
  return out;
}

/** The root of the tree a frontier describes: H(r1, H(r2, ... H(r(k-1), rk))). */
export function frontierRoot(frontier: readonly FrontierNode[]): Uint8Array {
  if (frontier.length === 0) return EMPTY_ROOT;
  let acc = frontier[frontier.length - 1]!.hash;
  for (let i = frontier.length - 2; i >= 0; i--) acc = nodeHash(frontier[i]!.hash, acc);
  return acc;
}
