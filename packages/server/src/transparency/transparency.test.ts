import { readFileSync, existsSync } from 'node:fs';
import { leafHash as clientLeafHash, verifyConsistency, verifyInclusion } from '@palisade/client';
import { decodeDeviceCredential } from '@palisade/protocol';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { ed25519SignerFromSeed } from '../crypto/index.js';
import { aadOf } from '../keys/index.js';
import { auditRecords } from '../test-support/audit.js';
import { testDeps } from '../test-support/deps.js';
import { makeUsers, uniqueName } from '../test-support/users.js';
import { addDevice, allLeafHashes, headVerifies, raw } from '../test-support/transparency.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import {
  currentHead,
  getConsistencyProof,
  getInclusionProof,
  issueCredential,
  leafHash,
  OrgSigner,
  rootOf,
  spendBudget,
  type TransparencyDeps,
} from './index.js';

withAllStores('transparency log', (h) => {
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
  it('budgets transparency requests per device (kt.device)', async () => {
    const { auth, transparency } = await testDeps(h.get());
    const [p] = await makeUsers(auth, [uniqueName('ktl')]);
    for (let i = 0; i < 600; i++) spendBudget(transparency, p!);
    expect(() => spendBudget(transparency, p!)).toThrow(expect.objectContaining({ code: 'rate_limited' }) as Error);
    const other = await addDevice(h.get().db, p!);
    expect(() => spendBudget(transparency, other.principal)).not.toThrow();
  });
});
