import {
  credentialSigningMessage,
  encodeDeviceCredential,
  type DeviceCredential,
  type IssueCredentialResponse,
} from '@palisade/protocol';
import { recordAudit } from '../audit/index.js';
import { AppError, type Principal } from '../core/index.js';
import type { TransparencyDeps } from './deps.js';
import { appendLeaf, currentHead, STALE_ORG_KEY } from './log.js';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');

/** The answer for a leaf already in the log: its credential, index, the current head and the proof. */
async function answerFor(
  deps: TransparencyDeps,
  leaf: { leaf_index: number | string; credential: string },
): Promise<IssueCredentialResponse> {
  const head = await currentHead(deps);
  const leafIndex = Number(leaf.leaf_index);
  const proof = await deps.logCache.inclusion(deps.db, leafIndex, head.treeSize);
  return {
    credential: b64(new TextEncoder().encode(leaf.credential)),
    leafIndex,
    head,
    inclusion: proof.map(b64),
  };
}

const leafOf = (deps: TransparencyDeps, deviceId: string) =>
  deps.db
    .selectFrom('kt_leaves')
    .select(['leaf_index', 'credential'])
    .where('device_id', '=', deviceId)
    .executeTakeFirst();

/**
 * Issues the organisation-signed credential of the CALLER's device (its signature key is the device
 * key the server holds) and appends it to the transparency log in the same transaction, audited.
 * Idempotent: the same device always gets the same credential back, with a proof under the current head.
 * SECURITY: a principal can only ever obtain a credential for its own, approved, unrevoked device.
 */
export async function issueCredential(
  deps: TransparencyDeps,
  principal: Principal,
  address: string | null,
): Promise<IssueCredentialResponse> {
  const existing = await leafOf(deps, principal.deviceId);
  if (existing) return answerFor(deps, existing);
  const device = await deps.db
    .selectFrom('devices')
    .innerJoin('users', 'users.id', 'devices.user_id')
    .select(['devices.public_key', 'devices.approved_at', 'devices.revoked_at', 'users.username'])
    .where('devices.id', '=', principal.deviceId)
    .where('devices.user_id', '=', principal.userId)
    .executeTakeFirst();
  if (!device || device.revoked_at !== null) throw new AppError('session_invalid');
  if (device.approved_at === null) throw new AppError('device_approval_required');
  const input = {
    userId: principal.userId,
    username: device.username,
    deviceId: principal.deviceId,
    // The canonical base64url of the key's 32 bytes, exactly what a client encodes from the leaf's key.
    signatureKey: Buffer.from(device.public_key, 'base64url').toString('base64url'),
  };
  try {
    let answer = await signAndAppend(deps, input, address);
    // Another server rotated the organisation key since this one cached it: sign again with the new key.
    if (answer === STALE_KEY) {
      deps.orgSigner.forget();
      answer = await signAndAppend(deps, input, address);
    }
    if (answer === STALE_KEY) throw new Error('the organisation key keeps changing');
    return answer;
  } catch (e) {
    // A concurrent request for the same device won the unique device_id: answer with its credential.
    const raced = await leafOf(deps, principal.deviceId);
    if (raced) return answerFor(deps, raced);
    throw e;
  }
}

const STALE_KEY = Symbol('stale organisation key');

/** Signs the credential with the active key and appends it, audited, in one transaction. */
async function signAndAppend(
  deps: TransparencyDeps,
  input: Pick<DeviceCredential, 'userId' | 'username' | 'deviceId' | 'signatureKey'>,
  address: string | null,
): Promise<IssueCredentialResponse | typeof STALE_KEY> {
  const key = await deps.orgSigner.current(deps);
  const at = deps.clock.now();
  const unsigned = { v: 1 as const, ...input, issuedAt: new Date(at).toISOString(), keyId: key.keyId };
  const signature = b64(key.signer.sign(new TextEncoder().encode(credentialSigningMessage(unsigned))));
  const credential: DeviceCredential = { ...unsigned, signature };
  const bytes = encodeDeviceCredential(credential);
  const done = await deps.db.transaction().execute(async (tx) => {
    const r = await appendLeaf(tx, key, at, { bytes, userId: input.userId, deviceId: input.deviceId });
    if (r === STALE_ORG_KEY) return STALE_KEY;
    await recordAudit(tx, deps.sealer, {
      at,
      actorId: input.userId,
      action: 'e2ee.credential_issued',
      target: input.deviceId,
      address,
      outcome: 'success',
      details: { leafIndex: r.leafIndex, keyId: key.keyId },
    });
    return r;
  });
  if (done === STALE_KEY) return STALE_KEY;
  const proof = await deps.logCache.inclusion(deps.db, done.leafIndex, done.head.treeSize);
  return { credential: b64(bytes), leafIndex: done.leafIndex, head: done.head, inclusion: proof.map(b64) };
}
