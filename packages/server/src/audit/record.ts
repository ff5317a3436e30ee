import { randomId, type Sealer } from '../crypto/index.js';
import { currentDrill } from '../core/index.js';
import { auditAad } from '../keys/index.js';
import type { Executor } from '../store/index.js';
import { AUDIT_SCOPE, cachedAuditKey, lockHead, readyInTx, recordHash, setHead, type ChainFields } from './chain.js';

/** One audit record: when (UTC ms), who, what, on what, from where, and how it ended. */
export interface AuditEntry {
  at: number;
  actorId: string | null;
  action: string;
  target?: string | null;
  address?: string | null;
  outcome: 'success' | 'failure';
  /** Extra facts. SECURITY: never credentials, tokens or message content. */
  details?: Record<string, unknown>;
}

/**
 * Appends an audit record, inside the caller's transaction when given one (else in a transaction of
 * its own), as the next link of the hash chain.
 * SECURITY: the address and the details are sealed (table scope, AAD bound to a random row reference);
 * who, what, on what, when and the outcome stay clear so detection can filter on them. The chain head
 * is locked until the transaction ends, so chain order is commit order (PostgreSQL row lock; SQLite
 * has one writer). The record carries the current request's drill id, if any.
 */
export async function recordAudit(exec: Executor, sealer: Sealer, entry: AuditEntry): Promise<void> {
  if (!exec.isTransaction) {
    await exec.transaction().execute((tx) => recordAudit(tx, sealer, entry));
    return;
  }
  const uid = randomId();
  const address = entry.address ? entry.address : null;
  const details = JSON.stringify(entry.details ?? {});
  const drill = currentDrill() ?? null;
  let prev = await lockHead(exec);
  let key = cachedAuditKey(sealer);
  if (!key) {
    // First record of this process without prepareAuditChain: open the key.
    key = await readyInTx(exec, sealer, entry.at);
    prev = await lockHead(exec);
  }
  const seq = prev.seq + 1;
  const fields: ChainFields = {
    seq,
    ref: uid,
    at: entry.at,
    actorId: entry.actorId,
    action: entry.action,
    target: entry.target ?? null,
    outcome: entry.outcome,
    drill,
    address,
    details,
  };
  const hash = recordHash(prev.hash, fields, key.macKey);
  await exec
    .insertInto('audit_log')
    .values({
      uid,
      at: entry.at,
      actor_id: entry.actorId,
      action: entry.action,
      target: entry.target ?? null,
      address: address === null ? null : sealer.sealText(address, auditAad('address', uid, 0), AUDIT_SCOPE),
      outcome: entry.outcome,
      details: sealer.sealText(details, auditAad('details', uid, 0), AUDIT_SCOPE),
      chain_seq: seq,
      prev_hash: prev.hash,
      hash,
      drill,
    })
    .execute();
  await setHead(exec, seq, hash);
}

/** A stored audit row with its sealed columns opened. */
export interface OpenedAudit {
  id: number;
  at: number;
  actorId: string | null;
  action: string;
  target: string | null;
  address: string | null;
  outcome: 'success' | 'failure';
  details: Record<string, unknown>;
}

type AuditRow = {
  id: number;
  uid: string | null;
  at: number;
  actor_id: string | null;
  action: string;
  target: string | null;
  address: string | null;
  outcome: 'success' | 'failure';
  details: string;
};

/** Opens an audit row's sealed address and details. */
export async function openAudit(sealer: Sealer, r: AuditRow): Promise<OpenedAudit> {
  const id = Number(r.id);
  return {
    id,
    at: Number(r.at),
    actorId: r.actor_id,
    action: r.action,
    target: r.target,
    outcome: r.outcome,
    address: r.address === null ? null : await sealer.openText(r.address, auditAad('address', r.uid, id)),
    details: JSON.parse(await sealer.openText(r.details, auditAad('details', r.uid, id))) as Record<string, unknown>,
  };
}
