import { request } from 'node:http';
import {
  Api,
  DeviceKey,
  DirectoryApi,
  fromBase64Url,
  KeyTransparency,
  PalisadeError,
  type HttpTransport,
} from '@palisade/client';
import { decodeDeviceCredential } from '@palisade/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveDevice, authenticateToken, createInvite, enrol, login } from '../auth/index.js';
import { keysCommand } from '../cli/admin.js';
import { createGroup } from '../messaging/index.js';
import { startAdminSocket } from '../server/admin-socket.js';
import type { Core } from '../server/index.js';
import { auditRecords } from '../test-support/audit.js';
import { injectableApp } from '../test-support/http-app.js';
import { PASS } from '../test-support/users.js';
import { listOrgKeys } from '../transparency/index.js';
import type { buildHttpApp } from './index.js';

describe('key transparency routes, driven by the real SDK (DirectoryApi + KeyTransparency)', () => {
  let core: Core;
  let app: ReturnType<typeof buildHttpApp>;
  const transport: HttpTransport = {
    async request(method, path, bodyText, headers) {
      const r = await app.inject({
        method: method as 'GET',
        url: path,
        headers: { ...headers, ...(bodyText !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(bodyText !== undefined ? { payload: bodyText } : {}),
      });
      return { status: r.statusCode, body: r.body ? (JSON.parse(r.body) as unknown) : undefined };
    },
  };
  type Person = { userId: string; key: DeviceKey; api: Api; dir: DirectoryApi; username: string };
  const people: Record<string, Person> = {};

  async function signIn(username: string, key: DeviceKey): Promise<Person> {
    const s = await login(
      core.auth,
      { username, password: PASS, device: { publicKey: key.publicKey, name: 'd', platform: 'd' } },
      '127.0.0.1',
    );
    const api = new Api(transport, key);
    api.token = (s as { token: string }).token;
    const p = (await authenticateToken(core.auth, api.token)).principal;
    return { userId: p.userId, key, api, dir: new DirectoryApi(api), username };
  }

  beforeAll(async () => {
    ({ core, app } = await injectableApp('kt-routes'));
    for (const name of ['alice', 'bob', 'carol']) {
      const inv = await createInvite(core.auth, null, { role: 'member', ttlHours: 1 });
      await enrol(core.auth, { token: inv.token, username: name, password: PASS }, '127.0.0.1');
      people[name] = await signIn(name, DeviceKey.generate());
    }
    const alice = (await authenticateToken(core.auth, people.alice!.api.token!)).principal;
    await createGroup(core.messaging, alice, 'g', ['bob']);
  });
  afterAll(async () => {
    await app?.close();
    await core?.store.close();
  });

  it('issues credentials the other side verifies through the directory and the log', async () => {
    const { alice, bob, carol } = people;
    const mine = await alice!.dir.issueCredential();
    const again = await alice!.dir.issueCredential();
    expect(again.credential).toBe(mine.credential);
    await bob!.dir.issueCredential();
    await carol!.dir.issueCredential();
    const kt = new KeyTransparency(alice!.dir);
    const own = await kt.verifyCredential(fromBase64Url(mine.credential), alice!.key.publicKey, mine.leafIndex);
    expect(own.username).toBe('alice');
    const d = await alice!.dir.directory([bob!.userId, carol!.userId]);
    expect(d.users.map((u) => u.username)).toEqual(['bob']); // carol shares no conversation with alice
    const dev = d.users[0]!.devices[0]!;
    const c = await kt.verifyCredential(fromBase64Url(dev.credential), bob!.key.publicKey, dev.leafIndex);
    expect(c.userId).toBe(bob!.userId);
    // Bob's credential presented as the key of someone else is refused.
    await expect(
      kt.verifyCredential(fromBase64Url(dev.credential), carol!.key.publicKey, dev.leafIndex),
    ).rejects.toMatchObject({ code: 'key_mismatch' });
  });

  it("gossip between a user's own devices: reports verify with the sibling's directory key", async () => {
    const alice = people.alice!;
    const key2 = DeviceKey.generate();
    const first = await login(
      core.auth,
      { username: 'alice', password: PASS, device: { publicKey: key2.publicKey, name: 'd2', platform: 'd' } },
      '127.0.0.1',
    ).catch((e: { details?: { deviceId: string } }) => e);
    const pending = (first as { details?: { deviceId: string } }).details?.deviceId;
    expect(pending).toBeDefined();
    await approveDevice(core.auth, (await authenticateToken(core.auth, alice.api.token!)).principal, pending!);
    const alice2 = await signIn('alice', key2);
    await alice2.dir.issueCredential();
    const kt1 = new KeyTransparency(alice.dir);
    const head = await kt1.refreshHead();
    await alice.dir.gossip(head, alice.key.signGossip(head));
    const reports = await alice2.dir.siblingHeads();
    expect(reports.map((r) => r.deviceId)).toHaveLength(1);
    // Alice's second device takes the sibling's key from the directory, verified, and checks its report.
    const kt2 = new KeyTransparency(alice2.dir);
    const d = await alice2.dir.directory([alice.userId]);
    const sibling = d.users[0]!.devices.find((x) => x.deviceId === reports[0]!.deviceId)!;
    const cred = decodeDeviceCredential(fromBase64Url(sibling.credential));
    const verified = await kt2.verifyCredential(
      fromBase64Url(sibling.credential),
      cred.ok ? cred.value.signatureKey : '',
      sibling.leafIndex,
    );
    await kt2.checkGossip(reports.map((r) => ({ ...r, publicKey: verified.signatureKey })));
    const bad = await alice.dir.gossip(head, key2.signGossip(head)).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(PalisadeError);
    expect((bad as PalisadeError).code).toBe('gossip_signature_invalid');
  });

  it('bad input gets stable codes, never a 500', async () => {
    const alice = people.alice!;
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: PalisadeError) => `${e.status} ${e.code}`,
      );
    expect(await code(alice.api.call('GET', '/v1/e2ee/kt/inclusion?leafIndex=abc&treeSize=1'))).toBe('400 bad_request');
    expect(await code(alice.api.call('GET', '/v1/e2ee/kt/inclusion?leafIndex=50&treeSize=2'))).toBe('400 kt_range');
    expect(await code(alice.api.call('GET', '/v1/e2ee/kt/consistency?from=1&to=999999'))).toBe('400 kt_range');
    expect(await code(alice.api.call('GET', '/v1/e2ee/kt/consistency?from=-1&to=2'))).toBe('400 bad_request');
    const many = Array.from({ length: 101 }, (_, i) => `u${i}`).join(',');
    expect(await code(alice.api.call('GET', `/v1/e2ee/directory?userIds=${many}`))).toBe('400 bad_request');
    expect(await code(alice.api.call('GET', '/v1/e2ee/directory?userIds=a,,b'))).toBe('400 bad_request');
    expect(await code(alice.api.call('POST', '/v1/e2ee/kt/gossip', { head: {}, signature: 'x' }))).toBe(
      '400 bad_request',
    );
    expect(await code(alice.api.call('GET', '/v1/e2ee/kt/head', undefined, false))).toBe('401 not_authenticated');
  });

  it('`palisade keys rotate-org-key` rotates through the admin socket, audited; old credentials still verify', async () => {
    const help = keysCommand().commands.find((c) => c.name() === 'rotate-org-key');
    expect(help?.helpInformation()).toMatch(/endorsed/);
    const bob = people.bob!;
    const kt = new KeyTransparency(bob.dir);
    const before = await kt.refreshHead();
    const server = await startAdminSocket(core, () => ({}));
    try {
      const answer = await new Promise<{ status: number; body: { keyId: string; previousKeyId: string } }>(
        (resolve, reject) => {
          const req = request(
            { socketPath: core.adminSocketPath, method: 'POST', path: '/keys/rotate-org-key' },
            (res) => {
              let text = '';
              res.on('data', (c: Buffer) => (text += c.toString()));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as never }));
            },
          );
          req.on('error', reject);
          req.end();
        },
      );
      expect(answer.status).toBe(200);
      expect(answer.body.previousKeyId).toBe(before.keyId);
      const keys = await listOrgKeys(core.transparency);
      expect(keys.find((k) => k.keyId === before.keyId)?.retiredAt).toBeDefined();
      const after = await kt.refreshHead();
      expect(after.keyId).toBe(answer.body.keyId);
      const d = await bob.dir.directory([people.alice!.userId]);
      for (const dev of d.users[0]!.devices) {
        const c = decodeDeviceCredential(fromBase64Url(dev.credential));
        expect(c.ok && c.value.keyId).toBe(before.keyId); // signed by the retired key
        await kt.verifyCredential(fromBase64Url(dev.credential), c.ok ? c.value.signatureKey : '', dev.leafIndex);
      }
      const audit = await auditRecords(core.store.db, core.sealer, { action: 'org_key.rotated' });
      expect(audit.map((a) => a.target)).toEqual([answer.body.keyId]);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
