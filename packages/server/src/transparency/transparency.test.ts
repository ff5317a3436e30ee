import { readFileSync, existsSync } from 'node:fs';
import {
  DeviceKey,
  KeyTransparency,
  leafHash as clientLeafHash,
  verifyConsistency,
  verifyInclusion,
  type TransparencySource,
} from '@palisade/client';
import {
  decodeDeviceCredential,
  orgKeyEndorsementMessage,
  treeHeadSigningMessage,
  type SignedTreeHead,
} from '@palisade/protocol';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import type { Principal } from '../core/index.js';
import { ed25519SignerFromSeed, randomId, verifyEd25519 } from '../crypto/index.js';
import { aadOf } from '../keys/index.js';
import { createGroup } from '../messaging/index.js';
import type { Db } from '../store/index.js';
import { auditRecords } from '../test-support/audit.js';
import { testDeps } from '../test-support/deps.js';
import { makeUsers, uniqueName } from '../test-support/users.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import {
  currentHead,
  getConsistencyProof,
  getInclusionProof,
  issueCredential,
  leafHash,
  listOrgKeys,
  lookupDirectory,
  OrgSigner,
  reportGossip,
  rootOf,
  rotateOrgKey,
  siblingHeads,
  type TransparencyDeps,
} from './index.js';

const utf8 = (s: string) => new TextEncoder().encode(s);
const raw = (s: string) => new Uint8Array(Buffer.from(s, 'base64url'));

/** A further approved device of `p`'s user, with a real device key (for gossip signatures). */
async function addDevice(db: Db, p: Principal, approved = true): Promise<{ principal: Principal; key: DeviceKey }> {
  const key = DeviceKey.generate();
  const id = randomId();
  await db
    .insertInto('devices')
    .values({
      id,
      user_id: p.userId,
      public_key: key.publicKey,
      name: 'x',
      platform: 'test',
      created_at: 0,
      last_seen_at: 0,
      revoked_at: null,
      approved_at: approved ? 0 : null,
      last_address: null,
    })
    .execute();
  return { principal: { ...p, deviceId: id as Principal['deviceId'] }, key };
}

const sourceOf = (t: TransparencyDeps): TransparencySource => ({
  orgKeys: () => listOrgKeys(t),
  head: () => currentHead(t),
  inclusion: (i, n) => getInclusionProof(t, i, n),
  consistency: (a, b) => getConsistencyProof(t, a, b),
});

async function allLeafHashes(db: Db): Promise<Uint8Array[]> {
  const rows = await db.selectFrom('kt_leaves').select(['leaf_index', 'leaf_hash']).orderBy('leaf_index').execute();
  rows.forEach((r, i) => expect(Number(r.leaf_index)).toBe(i)); // dense, from 0
  return rows.map((r) => raw(r.leaf_hash));
}

async function headVerifies(t: TransparencyDeps, h: SignedTreeHead): Promise<boolean> {
  const key = (await listOrgKeys(t)).find((k) => k.keyId === h.keyId);
  const { signature, ...unsigned } = h;
  return !!key && verifyEd25519(raw(key.publicKey), utf8(treeHeadSigningMessage(unsigned)), raw(signature));
}

withAllStores('transparency', (h) => {
  it('two servers creating the first org key at once end with one active key', async () => {
    const { transparency } = await testDeps(h.get());
    const other: TransparencyDeps = { ...transparency, orgSigner: new OrgSigner() };
    const [a, b] = await Promise.all([transparency.orgSigner.current(transparency), other.orgSigner.current(other)]);
    expect(a.keyId).toBe(b.keyId);
    expect((await listOrgKeys(transparency)).filter((k) => !k.retiredAt)).toHaveLength(1);
  });

  it('issues credentials in log order, idempotently, audited, with heads and proofs the client verifies', async () => {
    const { auth, transparency } = await testDeps(h.get());
    const users = await makeUsers(auth, [uniqueName('kta'), uniqueName('ktb'), uniqueName('ktc')]);
    const before = (await currentHead(transparency)).treeSize;
    const issued = [];
    for (const p of users) issued.push(await issueCredential(transparency, p, '10.1.1.1'));
    expect(issued.map((r) => r.leafIndex)).toEqual([before, before + 1, before + 2]);
    for (const [i, r] of issued.entries()) {
      const c = decodeDeviceCredential(raw(r.credential));
      expect(c.ok && c.value.deviceId).toBe(users[i]!.deviceId);
      expect(c.ok && c.value.userId).toBe(users[i]!.userId);
      expect(await headVerifies(transparency, r.head)).toBe(true);
      expect(
        verifyInclusion(
          clientLeafHash(raw(r.credential)),
          r.leafIndex,
          r.head.treeSize,
          r.inclusion.map(raw),
          raw(r.head.rootHash),
        ),
      ).toBe(true);
    }
    // Same device, same credential and index; a proof under the current head.
    const again = await issueCredential(transparency, users[0]!, '10.1.1.1');
    expect(again.credential).toBe(issued[0]!.credential);
    expect(again.leafIndex).toBe(issued[0]!.leafIndex);
    expect(again.head.treeSize).toBe(before + 3);
    const audits = await auditRecords(h.get().db, transparency.sealer, {
      actorId: users[0]!.userId,
      action: 'e2ee.credential_issued',
    });
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ target: users[0]!.deviceId, address: '10.1.1.1' });
    // Server tree, client verifier: roots agree, and every inclusion and consistency proof verifies.
    const leaves = await allLeafHashes(h.get().db);
    const head = await currentHead(transparency);
    expect(Buffer.from(rootOf(leaves)).toString('base64url')).toBe(head.rootHash);
    for (let n = 1; n <= leaves.length; n++) {
      const root = rootOf(leaves.slice(0, n));
      for (let i = 0; i < n; i++) {
        const proof = (await getInclusionProof(transparency, i, n)).map(raw);
        expect(verifyInclusion(leaves[i]!, i, n, proof, root)).toBe(true);
      }
      for (let m = 0; m <= n; m++) {
        const proof = (await getConsistencyProof(transparency, m, n)).map(raw);
        expect(verifyConsistency(m, n, rootOf(leaves.slice(0, m)), root, proof)).toBe(true);
      }
    }
    expect(leafHash(raw(issued[0]!.credential))).toEqual(clientLeafHash(raw(issued[0]!.credential)));
  });

  it('concurrent issuance yields distinct dense indexes and one linear history', async () => {
    const { auth, transparency } = await testDeps(h.get());
    const [p] = await makeUsers(auth, [uniqueName('ktcc')]);
    const devices = await Promise.all(Array.from({ length: 16 }, () => addDevice(h.get().db, p!)));
    const before = (await currentHead(transparency)).treeSize;
    // Two "servers" (separate key caches) and a duplicate request per device.
    const other: TransparencyDeps = { ...transparency, orgSigner: new OrgSigner() };
    const answers = await Promise.all(
      devices.flatMap((d, i) => [
        issueCredential(i % 2 ? transparency : other, d.principal, null),
        issueCredential(i % 2 ? other : transparency, d.principal, null),
      ]),
    );
    const byDevice = new Map<string, number>();
    for (const [i, a] of answers.entries()) {
      const id = devices[Math.floor(i / 2)]!.principal.deviceId;
      if (byDevice.has(id)) expect(a.leafIndex).toBe(byDevice.get(id));
      byDevice.set(id, a.leafIndex);
    }
    expect([...byDevice.values()].sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => before + i));
    const leaves = await allLeafHashes(h.get().db);
    expect(leaves).toHaveLength(before + 16);
    const head = await currentHead(transparency);
    expect(head.treeSize).toBe(before + 16);
    expect(Buffer.from(rootOf(leaves)).toString('base64url')).toBe(head.rootHash);
    // Every head handed out is a prefix of the final tree.
    for (const a of answers) {
      const proof = (await getConsistencyProof(transparency, a.head.treeSize, head.treeSize)).map(raw);
      expect(verifyConsistency(a.head.treeSize, head.treeSize, raw(a.head.rootHash), raw(head.rootHash), proof)).toBe(
        true,
      );
    }
  });

  it('refuses a device awaiting approval, and out-of-range proofs, with stable codes', async () => {
    const { auth, transparency } = await testDeps(h.get());
    const [p] = await makeUsers(auth, [uniqueName('ktp')]);
    const pending = await addDevice(h.get().db, p!, false);
    await expect(issueCredential(transparency, pending.principal, null)).rejects.toMatchObject({
      code: 'device_approval_required',
    });
    const n = (await currentHead(transparency)).treeSize;
    await expect(getInclusionProof(transparency, n, n)).rejects.toMatchObject({ code: 'kt_range' });
    await expect(getInclusionProof(transparency, 0, n + 1)).rejects.toMatchObject({ code: 'kt_range' });
    await expect(getConsistencyProof(transparency, 2, 1)).rejects.toMatchObject({ code: 'kt_range' });
    await expect(getConsistencyProof(transparency, 0, n + 1)).rejects.toMatchObject({ code: 'kt_range' });
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

  it('the directory lists credentialed active devices of users sharing a conversation, nobody else', async () => {
    const { auth, messaging, transparency } = await testDeps(h.get());
    const [alice, bob, carol] = await makeUsers(auth, [uniqueName('kda'), uniqueName('kdb'), uniqueName('kdc')]);
    await createGroup(messaging, alice!, 'g', [bob!.username]);
    for (const p of [alice!, bob!, carol!]) await issueCredential(transparency, p, null);
    const bob2 = await addDevice(h.get().db, bob!);
    const bob3 = await addDevice(h.get().db, bob!); // no credential: not listed
    await issueCredential(transparency, bob2.principal, null);
    await h.get().db.updateTable('devices').set({ revoked_at: 1 }).where('id', '=', bob2.principal.deviceId).execute();
    const d = await lookupDirectory(transparency, alice!, [alice!.userId, bob!.userId, carol!.userId, 'nobody']);
    expect(d.users.map((u) => u.userId).sort()).toEqual([alice!.userId, bob!.userId].sort());
    const bobs = d.users.find((u) => u.userId === bob!.userId)!;
    expect(bobs.username).toBe(bob!.username);
    expect(bobs.devices.map((x) => x.deviceId)).toEqual([bob!.deviceId]);
    expect(bobs.devices.map((x) => x.deviceId)).not.toContain(bob3.principal.deviceId);
    const client = new KeyTransparency(sourceOf(transparency));
    const dev = bobs.devices[0]!;
    const cred = decodeDeviceCredential(raw(dev.credential));
    await expect(
      client.verifyCredential(raw(dev.credential), cred.ok ? cred.value.signatureKey : '', dev.leafIndex),
    ).resolves.toMatchObject({ userId: bob!.userId });
    expect((await lookupDirectory(transparency, carol!, [alice!.userId])).users).toEqual([]);
  });

  it('gossip: stores signed reports, shows them to the other devices only, refuses forgeries', async () => {
    const { auth, transparency } = await testDeps(h.get());
    const [p] = await makeUsers(auth, [uniqueName('ktg')]);
    const a = await addDevice(h.get().db, p!);
    const b = await addDevice(h.get().db, p!);
    const head = await currentHead(transparency);
    await reportGossip(transparency, a.principal, { head, signature: a.key.signGossip(head) });
    const seenByB = await siblingHeads(transparency, b.principal);
    expect(seenByB).toHaveLength(1);
    expect(seenByB[0]).toMatchObject({ deviceId: a.principal.deviceId, head, signature: a.key.signGossip(head) });
    expect(await siblingHeads(transparency, a.principal)).toEqual([]);
    // B's client checks A's report with A's key.
    const client = new KeyTransparency(sourceOf(transparency));
    await client.checkGossip(seenByB.map((g) => ({ ...g, publicKey: a.key.publicKey })));
    await expect(
      reportGossip(transparency, b.principal, { head, signature: a.key.signGossip(head) }),
    ).rejects.toMatchObject({ code: 'gossip_signature_invalid' });
    const forged = { ...head, treeSize: head.treeSize + 1 };
    await expect(
      reportGossip(transparency, b.principal, { head: forged, signature: b.key.signGossip(forged) }),
    ).rejects.toMatchObject({ code: 'gossip_signature_invalid' });
    await h.get().db.updateTable('devices').set({ revoked_at: 1 }).where('id', '=', a.principal.deviceId).execute();
    expect(await siblingHeads(transparency, b.principal)).toEqual([]);
  });

  it('the org private key is sealed: its seed is nowhere in clear in the database', async () => {
    const { transparency } = await testDeps(h.get());
    await currentHead(transparency);
    const rows = await h.get().db.selectFrom('org_signing_keys').selectAll().execute();
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      const seedText = await transparency.sealer.openText(
        r.private_sealed,
        aadOf('org_signing_keys', 'private_sealed', r.id),
      );
      const seed = Buffer.from(seedText, 'base64url');
      // The unsealed seed is the real key: it derives the published public key.
      expect(Buffer.from(ed25519SignerFromSeed(seed).publicKey).toString('base64url')).toBe(r.public_key);
      const forms = [seedText, seed.toString('base64'), seed.toString('hex')];
      expect(forms.some((f) => r.private_sealed.includes(f))).toBe(false);
      if (h.kind === 'sqlite') {
        const list = await sql<{ file: string }>`PRAGMA database_list`.execute(h.get().db);
        const dbFile = list.rows[0]!.file;
        expect(existsSync(dbFile)).toBe(true);
        const files = [dbFile, `${dbFile}-wal`].filter((x) => existsSync(x));
        const bytes = Buffer.concat(files.map((f) => readFileSync(f)));
        expect(bytes.includes(Buffer.from(r.public_key))).toBe(true); // the search does see the stored text
        expect(bytes.includes(seed)).toBe(false);
        for (const form of forms) expect(bytes.includes(Buffer.from(form))).toBe(false);
      }
    }
  });
});
