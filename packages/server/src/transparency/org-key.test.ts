import { KeyTransparency } from '@palisade/client';
import { decodeDeviceCredential, orgKeyEndorsementMessage } from '@palisade/protocol';
import { expect, it } from 'vitest';
import { verifyEd25519 } from '../crypto/index.js';
import { auditRecords } from '../test-support/audit.js';
import { testDeps } from '../test-support/deps.js';
import { makeUsers, uniqueName } from '../test-support/users.js';
import { addDevice, headVerifies, raw, sourceOf, utf8 } from '../test-support/transparency.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { currentHead, issueCredential, listOrgKeys, OrgSigner, rotateOrgKey, type TransparencyDeps } from './index.js';

withAllStores('organisation signing key', (h) => {
  it('two servers creating the first org key at once end with one active key', async () => {
    const { transparency } = await testDeps(h.get());
    const other: TransparencyDeps = { ...transparency, orgSigner: new OrgSigner() };
    const [a, b] = await Promise.all([transparency.orgSigner.current(transparency), other.orgSigner.current(other)]);
    expect(a.keyId).toBe(b.keyId);
    expect((await listOrgKeys(transparency)).filter((k) => !k.retiredAt)).toHaveLength(1);
  });

  it('rotation: the new key is endorsed by the old, old credentials still verify, the head is re-signed', async () => {
    const { auth, transparency } = await testDeps(h.get());
    const [p] = await makeUsers(auth, [uniqueName('ktr')]);
    const oldCred = await issueCredential(transparency, p!, null);
    const client = new KeyTransparency(sourceOf(transparency));
    await client.refreshHead(); // pins the current chain
    const { keyId, previousKeyId } = await rotateOrgKey(transparency, { actorId: p!.userId, address: '10.2.2.2' });
    expect(previousKeyId).toBe(decodeDeviceCredential(raw(oldCred.credential)).ok && oldCred.head.keyId);
    const keys = await listOrgKeys(transparency);
    const fresh = keys.find((k) => k.keyId === keyId)!;
    const old = keys.find((k) => k.keyId === previousKeyId)!;
    expect(old.retiredAt).toBeDefined();
    expect(fresh.retiredAt).toBeUndefined();
    expect(fresh.endorsement?.keyId).toBe(previousKeyId);
    expect(
      verifyEd25519(
        raw(old.publicKey),
        utf8(orgKeyEndorsementMessage(keyId, fresh.publicKey)),
        raw(fresh.endorsement!.signature),
      ),
    ).toBe(true);
    const head = await currentHead(transparency);
    expect(head.keyId).toBe(keyId);
    expect(await headVerifies(transparency, head)).toBe(true);
    // A client that pinned the old key follows the endorsement and still accepts the old credential.
    const second = await addDevice(h.get().db, p!);
    const newCred = await issueCredential(transparency, second.principal, null);
    const c = decodeDeviceCredential(raw(newCred.credential));
    expect(c.ok && c.value.keyId).toBe(keyId);
    await expect(client.refreshHead()).resolves.toMatchObject({ keyId });
    const oldDevice = decodeDeviceCredential(raw(oldCred.credential));
    await client.verifyCredential(
      raw(oldCred.credential),
      oldDevice.ok ? oldDevice.value.signatureKey : '',
      oldCred.leafIndex,
    );
    await client.verifyCredential(raw(newCred.credential), second.key.publicKey, newCred.leafIndex);
    expect(Object.keys(client.state.orgKeys)).toEqual(expect.arrayContaining([keyId, previousKeyId]));
    const audits = await auditRecords(h.get().db, transparency.sealer, { action: 'org_key.rotated', target: keyId });
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ actorId: p!.userId, details: { previousKeyId } });
  });
  it('a server whose cached key was rotated away by another signs with the new key, never the retired one', async () => {
    const { auth, transparency: a } = await testDeps(h.get());
    const b: TransparencyDeps = { ...a, orgSigner: new OrgSigner() };
    const [p] = await makeUsers(auth, [uniqueName('kts')]);
    const stale = await b.orgSigner.current(b); // server B caches the active key
    const { keyId } = await rotateOrgKey(a, { actorId: null }); // server A rotates it away
    expect(keyId).not.toBe(stale.keyId);
    const issued = await issueCredential(b, p!, null);
    const c = decodeDeviceCredential(raw(issued.credential));
    expect(c.ok && c.value.keyId).toBe(keyId);
    expect(issued.head.keyId).toBe(keyId);
    expect(await headVerifies(b, issued.head)).toBe(true);
  });
});
