import { orgKeyEndorsementMessage, type OrgKeyView } from '@palisade/protocol';
import { recordAudit } from '../audit/index.js';
import { ed25519SignerFromSeed, generateEd25519Key, randomId } from '../crypto/index.js';
import { aadOf } from '../keys/index.js';
import type { ActiveOrgKey, OrgKeyCache, TransparencyDeps } from './deps.js';
import { lockState, signHead, writeState } from './state.js';
import { frontierRoot } from './merkle.js';

const SCOPE = 'server';
const aad = (id: string) => aadOf('org_signing_keys', 'private_sealed', id);
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');

/** A fresh key, its seed sealed under the server's data key (the seed buffer is zeroed). */
async function newSealedKey(deps: TransparencyDeps): Promise<{ id: string; key: ActiveOrgKey; sealed: string }> {
  const id = randomId();
  const { seed, signer } = generateEd25519Key();
  try {
    // SECURITY: the seed is never stored in clear: sealed (AES-256-GCM, server data key wrapped by the KMS).
    const sealed = await deps.sealer.seal(new TextEncoder().encode(seed.toString('base64url')), aad(id), SCOPE);
    return { id, key: { keyId: id, signer }, sealed };
  } finally {
    seed.fill(0);
  }
}

/**
 * The active organisation signing key, cached after the first load. Created on first need; a second
 * server racing to create it finds the other's under the log lock and uses that one.
 */
export class OrgSigner implements OrgKeyCache {
  private active: ActiveOrgKey | undefined;

  async current(deps: TransparencyDeps): Promise<ActiveOrgKey> {
    if (this.active) return this.active;
    const row = await deps.db
      .selectFrom('org_signing_keys')
      .select(['id', 'private_sealed'])
      .where('retired_at', 'is', null)
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    if (row) return (this.active = await openKey(deps, row.id, row.private_sealed));
    const fresh = await newSealedKey(deps);
    const created = await deps.db.transaction().execute(async (tx) => {
      await lockState(tx);
      const again = await tx
        .selectFrom('org_signing_keys')
        .select('id')
        .where('retired_at', 'is', null)
        .executeTakeFirst();
      if (again) return false;
      await tx
        .insertInto('org_signing_keys')
        .values({
          id: fresh.id,
          public_key: b64(fresh.key.signer.publicKey),
          private_sealed: fresh.sealed,
          created_at: deps.clock.now(),
          retired_at: null,
          endorsed_by: null,
          endorsement: null,
        })
        .execute();
      await recordAudit(tx, deps.sealer, {
        at: deps.clock.now(),
        actorId: null,
        action: 'org_key.created',
        target: fresh.id,
        outcome: 'success',
      });
      return true;
    });
    if (created) return (this.active = fresh.key);
    return this.current(deps);
  }

  /** Drops the cached key (after a rotation elsewhere). */
  forget(): void {
    this.active = undefined;
  }

  /** Sets the cached key (after this process rotated). */
  use(key: ActiveOrgKey): void {
    this.active = key;
  }
}

async function openKey(deps: TransparencyDeps, id: string, sealed: string): Promise<ActiveOrgKey> {
  const text = await deps.sealer.openText(sealed, aad(id));
  const seed = Buffer.from(text, 'base64url');
  try {
    return { keyId: id, signer: ed25519SignerFromSeed(seed) };
  } finally {
    seed.fill(0);
  }
}

/** Every organisation key, oldest first: retired keys stay published so earlier credentials verify. */
export async function listOrgKeys(deps: Pick<TransparencyDeps, 'db'>): Promise<OrgKeyView[]> {
  const rows = await deps.db
    .selectFrom('org_signing_keys')
    .select(['id', 'public_key', 'created_at', 'retired_at', 'endorsed_by', 'endorsement'])
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    keyId: r.id,
    publicKey: r.public_key,
    createdAt: new Date(Number(r.created_at)).toISOString(),
    ...(r.retired_at === null ? {} : { retiredAt: new Date(Number(r.retired_at)).toISOString() }),
    ...(r.endorsed_by && r.endorsement ? { endorsement: { keyId: r.endorsed_by, signature: r.endorsement } } : {}),
  }));
}

/**
 * Rotates the organisation signing key: a new key, endorsed by the current one over
 * `palisade-org-key-endorsement-v1:<keyId>:<publicKey>`; the current one is retired (still published)
 * and the current tree head is signed again by the new key. Audited.
 */
export async function rotateOrgKey(
  deps: TransparencyDeps,
  actor: { actorId: string | null; address?: string | null },
): Promise<{ keyId: string; previousKeyId: string }> {
  deps.orgSigner.forget(); // SECURITY: endorse with the key the database says is active, not a stale cache
  const previous = await deps.orgSigner.current(deps);
  const fresh = await newSealedKey(deps);
  const publicKey = b64(fresh.key.signer.publicKey);
  const endorsement = b64(
    previous.signer.sign(new TextEncoder().encode(orgKeyEndorsementMessage(fresh.id, publicKey))),
  );
  await deps.db.transaction().execute(async (tx) => {
    const state = await lockState(tx);
    const now = deps.clock.now();
    const retired = await tx
      .updateTable('org_signing_keys')
      .set({ retired_at: now })
      .where('id', '=', previous.keyId)
      .where('retired_at', 'is', null)
      .executeTakeFirst();
    if (Number(retired.numUpdatedRows) !== 1) throw new Error('the organisation key changed during the rotation');
    await tx
      .insertInto('org_signing_keys')
      .values({
        id: fresh.id,
        public_key: publicKey,
        private_sealed: fresh.sealed,
        created_at: now,
        retired_at: null,
        endorsed_by: previous.keyId,
        endorsement,
      })
      .execute();
    const head = signHead(fresh.key, state.treeSize, frontierRoot(state.frontier), now);
    await writeState(tx, { ...state, head });
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: actor.actorId,
      action: 'org_key.rotated',
      target: fresh.id,
      address: actor.address ?? null,
      outcome: 'success',
      details: { previousKeyId: previous.keyId },
    });
  });
  deps.orgSigner.use(fresh.key);
  return { keyId: fresh.id, previousKeyId: previous.keyId };
}
