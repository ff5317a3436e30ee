import { canonicalBlock, exactAddress, sourceNetwork } from '../../limits/index.js';
import type { Db } from '../../store/index.js';
import type { Finding, FindingSubject, ResponseActionKind } from '../types.js';

/** Most accounts one step acts on (a spraying finding lists the accounts it targeted). */
export const MAX_TARGETS = 50;

/** What one containment acts on: the subject stored with it. */
export type Target = FindingSubject;

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : [];

/** The session a finding names (its subject, or `evidence.sessionId`), with its user and device. */
async function sessionOf(db: Db, f: Finding) {
  const id = f.subject.kind === 'session' ? f.subject.id : strings(f.evidence.sessionId)[0];
  if (id === undefined) return undefined;
  return db.selectFrom('sessions').select(['id', 'user_id', 'device_id']).where('id', '=', id).executeTakeFirst();
}

/** The accounts a finding concerns: its subject, the account attacked, and the targeted accounts listed. */
async function accounts(db: Db, f: Finding): Promise<string[]> {
  const ids = new Set<string>();
  if (f.subject.kind === 'account' || f.subject.kind === 'service_account') ids.add(f.subject.id);
  if (f.userId !== undefined) ids.add(f.userId);
  const s = await sessionOf(db, f);
  if (s) ids.add(s.user_id);
  for (const key of ['targetUserIds', 'userIds', 'accounts']) for (const id of strings(f.evidence[key])) ids.add(id);
  if (ids.size === 0) return [];
  // Only accounts that exist (evidence may name user names or unknown ids from failed logins).
  const asked = [...ids].slice(0, MAX_TARGETS * 2);
  const found = new Set(
    (await db.selectFrom('users').select('id').where('id', 'in', asked).execute()).map((r) => r.id),
  );
  return asked.filter((id) => found.has(id)).slice(0, MAX_TARGETS);
}

function address(f: Finding): string | undefined {
  return f.subject.kind === 'address' ? f.subject.id : f.address;
}

/**
 * The subjects a step acts on for a finding (empty: nothing to act on, the step is skipped). Addresses
 * become canonical blocks (`a.b.c.d/32`), networks canonical prefixes; an address that cannot be blocked
 * (loopback, not an IP) gives no target.
 */
export async function targetsOf(db: Db, action: ResponseActionKind, f: Finding): Promise<Target[]> {
  switch (action) {
    case 'block_address': {
      const a = address(f);
      const b = a === undefined ? undefined : canonicalBlock(exactAddress(a).split('/')[0]!);
      return b === undefined ? [] : [{ kind: 'address', id: b }];
    }
    case 'block_network': {
      const a = address(f);
      const raw = f.subject.kind === 'network' ? f.subject.id : a === undefined ? undefined : sourceNetwork(a);
      const b = raw === undefined ? undefined : canonicalBlock(raw);
      return b === undefined ? [] : [{ kind: 'network', id: b }];
    }
    case 'throttle': {
      if (f.subject.kind === 'network') return [{ kind: 'network', id: f.subject.id }];
      const a = address(f);
      if (a !== undefined && f.subject.kind !== 'account') return [{ kind: 'address', id: exactAddress(a) }];
      return (await accounts(db, f)).map((id) => ({ kind: 'account', id }));
    }
    case 'revoke_devices': {
      const s = await sessionOf(db, f);
      return s ? [{ kind: 'session', id: s.id }] : [];
    }
    case 'suspend_service_account': {
      const ids = await accounts(db, f);
      const bots = ids.length
        ? await db.selectFrom('users').select('id').where('id', 'in', ids).where('role', '=', 'service').execute()
        : [];
      return bots.map((b) => ({ kind: 'service_account', id: b.id }));
    }
    case 'require_step_up':
    case 'lock_account':
    case 'revoke_sessions':
      return (await accounts(db, f)).map((id) => ({ kind: 'account', id }));
  }
}
