import {
  ed25519SignerFromSeed,
  generateEd25519Key,
  hkdfSha256,
  hmacSha256,
  randomId,
  sha256Hex,
  type Ed25519Signer,
  type Sealer,
} from '../crypto/index.js';
import { aadOf, auditAad, scopeOf } from '../keys/index.js';
import type { Executor, Tx } from '../store/index.js';
import { sql } from 'kysely';

/** The data-key scope of audit records; prepared at start so records can be sealed inside transactions. */
export const AUDIT_SCOPE = scopeOf.table('audit_log');

/** `prev_hash` of the first record. */
export const GENESIS_HASH = '0'.repeat(64);

const enc = new TextEncoder();
const seedAad = (id: string) => aadOf('audit_keys', 'seed_sealed', id);
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');

/** The audit key, opened: it signs checkpoints and its derived content key MACs sealed fields. */
export interface AuditKey {
  keyId: string;
  signer: Ed25519Signer;
  /** HMAC-SHA-256 key derived (HKDF) from the seed. SECURITY: never stored, never logged. */
  macKey: Buffer;
}

// One opened key per sealer (the sealer stands for one KMS and one database).
const keys = new WeakMap<Sealer, AuditKey>();

function openSeed(id: string, seed: Uint8Array): AuditKey {
  return {
    keyId: id,
    signer: ed25519SignerFromSeed(seed),
    macKey: hkdfSha256(seed, enc.encode('palisade audit'), enc.encode('audit-chain-mac-v1'), 32),
  };
}

/** The fields a record's hash covers; sealed ones in clear (they are MACed, never hashed as ciphertext). */
export interface ChainFields {
  seq: number;
  /** The row reference bound into the sealed columns' AAD (uid, or `#id` for pre-0012 rows). */
  ref: string;
  at: number;
  actorId: string | null;
  action: string;
  target: string | null;
  outcome: string;
  drill: string | null;
  address: string | null;
  /** The details JSON text exactly as sealed. */
  details: string;
}

/**
 * hash_n = SHA-256(prev_hash || canonical JSON of the fields, with address and details replaced by
 * their HMAC under the audit content key).
 * SECURITY: a database reader sees only MACs, so cannot brute-force addresses from hashes; re-sealing
 * (KEK rotation) changes ciphertext only, never the hash.
 */
export function recordHash(prevHash: string, f: ChainFields, macKey: Uint8Array): string {
  const mac = (label: string, v: string) => hmacSha256(macKey, enc.encode(`${label}\0${v}`)).toString('hex');
  const body = JSON.stringify([
    'palisade-audit-v1',
    f.seq,
    f.ref,
    f.at,
    f.actorId,
    f.action,
    f.target,
    f.outcome,
    f.drill,
    f.address === null ? null : mac('address', f.address),
    mac('details', f.details),
  ]);
  return sha256Hex(Buffer.concat([Buffer.from(prevHash, 'hex'), Buffer.from(body, 'utf8')]));
}

/** The message a checkpoint signature covers. */
export function checkpointMessage(seq: number, hash: string, at: number): Uint8Array {
  return enc.encode(`palisade-audit-checkpoint-v1\n${seq}\n${hash}\n${at}`);
}

/** The chain head, locked until the transaction ends (a no-op update takes the row lock on PostgreSQL). */
export async function lockHead(tx: Executor): Promise<{ seq: number; hash: string }> {
  const r = await sql<{ seq: number | string; hash: string }>`
    UPDATE audit_chain_head SET seq = seq WHERE id = 1 RETURNING seq, hash`.execute(tx);
  const row = r.rows[0];
  if (!row) throw new Error('audit_chain_head row missing (migration 0021 not applied)');
  return { seq: Number(row.seq), hash: row.hash };
}

/** Moves the head (inside the transaction that holds its lock). */
export async function setHead(tx: Executor, seq: number, hash: string): Promise<void> {
  await tx.updateTable('audit_chain_head').set({ seq, hash }).where('id', '=', 1).execute();
}

/**
 * The audit key, loaded (or created) through `exec` with the head locked, so two servers racing to
 * create it agree on one. SECURITY: the seed is sealed under the audit_log scope and zeroed after use.
 */
async function loadKey(tx: Tx | Executor, sealer: Sealer, now: number): Promise<AuditKey> {
  const cached = keys.get(sealer);
  if (cached) return cached;
  const row = await tx.selectFrom('audit_keys').selectAll().orderBy('created_at').orderBy('id').executeTakeFirst();
  let key: AuditKey;
  if (row) {
    const seed = Buffer.from(await sealer.openText(row.seed_sealed, seedAad(row.id)), 'base64url');
    try {
      key = openSeed(row.id, seed);
    } finally {
      seed.fill(0);
    }
  } else {
    const id = randomId();
    const { seed } = generateEd25519Key();
    try {
      key = openSeed(id, seed);
      const sealed = sealer.sealText(seed.toString('base64url'), seedAad(id), AUDIT_SCOPE);
      await tx
        .insertInto('audit_keys')
        .values({ id, public_key: b64(key.signer.publicKey), seed_sealed: sealed, created_at: now })
        .execute();
    } finally {
      seed.fill(0);
    }
  }
  return key;
}

/** The audit key if this sealer has opened it already (no database access). */
export function cachedAuditKey(sealer: Sealer): AuditKey | undefined {
  return keys.get(sealer);
}

/**
 * Inside `tx` (head already locked): makes sure the key is open; with `chainLegacy` (start only),
 * chains the records written before migration 0021, in id order, once. Returns the key.
 */
export async function readyInTx(
  tx: Executor,
  sealer: Sealer,
  now: number,
  opts: { chainLegacy?: boolean } = {},
): Promise<AuditKey> {
  const key = keys.get(sealer) ?? (await loadKey(tx, sealer, now));
  // SECURITY (review): only at start, and only until done once. A row found outside the chain later
  // was not written by recordAudit: it stays outside, and verify reports it as inserted.
  if (opts.chainLegacy) {
    const head = await tx.selectFrom('audit_chain_head').select('legacy_done').where('id', '=', 1).executeTakeFirst();
    if (head && Number(head.legacy_done) === 0) {
      await chainLegacy(tx, sealer, key);
      await tx.updateTable('audit_chain_head').set({ legacy_done: 1 }).where('id', '=', 1).execute();
    }
  }
  keys.set(sealer, key);
  return key;
}

/** The columns of a stored audit row that its chain hash covers. */
interface ChainRow {
  id: number | string;
  uid: string | null;
  at: number | string;
  actor_id: string | null;
  action: string;
  target: string | null;
  outcome: string;
  drill: string | null;
  address: string | null;
  details: string;
}

/** A stored row's hashed fields, its sealed address and details opened (throws when they do not open). */
export async function openChainFields(sealer: Sealer, r: ChainRow): Promise<Omit<ChainFields, 'seq'>> {
  const id = Number(r.id);
  return {
    ref: r.uid ?? `#${id}`,
    at: Number(r.at),
    actorId: r.actor_id,
    action: r.action,
    target: r.target,
    outcome: r.outcome,
    drill: r.drill,
    address: r.address === null ? null : await sealer.openText(r.address, auditAad('address', r.uid, id)),
    details: await sealer.openText(r.details, auditAad('details', r.uid, id)),
  };
}

async function chainLegacy(tx: Executor, sealer: Sealer, key: AuditKey): Promise<void> {
  let head = await lockHead(tx);
  for (;;) {
    const rows = await tx
      .selectFrom('audit_log')
      .selectAll()
      .where('chain_seq', 'is', null)
      .orderBy('id')
      .limit(500)
      .execute();
    if (rows.length === 0) break;
    for (const r of rows) {
      const id = Number(r.id);
      const seq = head.seq + 1;
      const fields: ChainFields = { seq, ...(await openChainFields(sealer, r)) };
      const hash = recordHash(head.hash, fields, key.macKey);
      await tx
        .updateTable('audit_log')
        .set({ chain_seq: seq, prev_hash: head.hash, hash })
        .where('id', '=', id)
        .execute();
      head = { seq, hash };
    }
  }
  await setHead(tx, head.seq, head.hash);
}

/**
 * Opens (or creates) the audit key and chains records written before migration 0021. Call once at
 * start, on the root db, after the sealer's server scopes are prepared; `recordAudit` does it lazily
 * otherwise. Returns the chain head.
 */
export async function prepareAuditChain(
  db: Executor,
  sealer: Sealer,
  now: number = Date.now(),
): Promise<{ seq: number; hash: string; keyId: string }> {
  // Open an existing key outside any transaction first: its seed may be sealed under a data key this
  // process has not loaded (a re-encryption cut short), and on SQLite loading one inside the
  // transaction would wait for the transaction's own connection (the start hung).
  if (!db.isTransaction && !keys.has(sealer)) {
    const existing = await db.selectFrom('audit_keys').select('id').executeTakeFirst();
    if (existing) keys.set(sealer, await loadKey(db, sealer, now));
  }
  const run = async (tx: Executor) => {
    await lockHead(tx);
    const key = await readyInTx(tx, sealer, now, { chainLegacy: true });
    return { ...(await lockHead(tx)), keyId: key.keyId };
  };
  return db.isTransaction ? run(db) : db.transaction().execute(run);
}

/** Every audit key's public key by id, and the content MAC key (the oldest key's), for verification. */
export async function openAuditKeys(
  db: Executor,
  sealer: Sealer,
): Promise<{ publicKeys: Map<string, Uint8Array>; macKey: Buffer | undefined }> {
  const rows = await db.selectFrom('audit_keys').selectAll().orderBy('created_at').orderBy('id').execute();
  const publicKeys = new Map(rows.map((r) => [r.id, new Uint8Array(Buffer.from(r.public_key, 'base64url'))]));
  const first = rows[0];
  if (!first) return { publicKeys, macKey: undefined };
  const cached = keys.get(sealer);
  if (cached?.keyId === first.id) return { publicKeys, macKey: cached.macKey };
  const seed = Buffer.from(await sealer.openText(first.seed_sealed, seedAad(first.id)), 'base64url');
  try {
    return { publicKeys, macKey: openSeed(first.id, seed).macKey };
  } finally {
    seed.fill(0);
  }
}

/** Forgets the opened key of a sealer (tests; after the audit key is replaced). */
export function forgetAuditKey(sealer: Sealer): void {
  keys.delete(sealer);
}
