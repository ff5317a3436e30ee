import { sign } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceProofMessage } from '@palisade/protocol';
import { FakeClock, silentLogger } from '../core/index.js';
import { claimKeyPackages, submitCommit, uploadKeyPackages } from '../e2ee/index.js';
import { openDirect } from '../messaging/index.js';
import { openStore, type Store } from '../store/index.js';
import { testDeps } from '../test-support/deps.js';
import { FakeSocket } from '../test-support/fake-socket.js';
import {
  b64u,
  makeKeyPackage,
  mlsSecondDevice,
  mlsUsers,
  TestGroup,
  type MlsDevice,
} from '../test-support/mls-fixture.js';
import { uniqueName } from '../test-support/users.js';
import { Connection } from './connection.js';
import type { RealtimeDeps } from './deps.js';
import { Hub } from './hub.js';

describe('realtime: MLS frames go to the right device only (Hub + Connection, fake socket, real SQLite)', () => {
  let store: Store;
  let deps: Awaited<ReturnType<typeof testDeps>>;
  let rdeps: RealtimeDeps;
  let hub: Hub;
  beforeAll(async () => {
    store = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'palisade-rt-mls-')) });
    await store.migrate();
    deps = await testDeps(store, new FakeClock(Date.now()), { e2eeRequired: true });
    rdeps = { auth: deps.auth, messaging: deps.messaging, log: silentLogger, allowedOrigins: [] };
    hub = new Hub(rdeps);
  });
  afterAll(async () => {
    hub.close();
    await store.close();
  });

  async function connect(dev: MlsDevice): Promise<FakeSocket> {
    const s = new FakeSocket();
    new Connection(s.ws, rdeps, hub, '10.0.1.2');
    await expect.poll(() => s.frames().find((f) => f.type === 'challenge')).toBeDefined();
    const nonce = String(s.frames().find((f) => f.type === 'challenge')?.nonce);
    const signature = sign(null, Buffer.from(deviceProofMessage(nonce)), dev.privateKey).toString('base64url');
    s.clientSends({ type: 'auth', token: dev.token, signature });
    await expect.poll(() => s.frames().some((f) => f.type === 'synced')).toBe(true);
    return s;
  }

  it('pushes the Welcome to the added device only, the commit to every device, and key_packages_low to its device', async () => {
    const [a, b] = (await mlsUsers(deps.auth, [uniqueName('fa'), uniqueName('fb')])) as [MlsDevice, MlsDevice];
    const b2 = await mlsSecondDevice(deps.auth, b);
    const conv = (await openDirect(deps.messaging, a.principal, b.principal.username)).id;
    const [sa, sb, sb2] = [await connect(a), await connect(b), await connect(b2)];
    // b's first device has 10 packages: the claim leaves 9, below the low-water mark.
    const kps = await Promise.all(Array.from({ length: 10 }, () => makeKeyPackage(b)));
    await uploadKeyPackages(deps.e2ee, b.principal, { packages: kps.map((k) => ({ keyPackage: b64u(k.bytes) })) });
    const claimed = await claimKeyPackages(deps.e2ee, a.principal, [b.principal.deviceId]);
    const kp = kps.find((k) => b64u(k.bytes) === claimed.packages[0]?.keyPackage);
    await expect
      .poll(() => sb.frames().find((f) => f.type === 'key_packages_low'))
      .toEqual({
        type: 'key_packages_low',
        stock: 9,
      });
    const group = await TestGroup.create(a, conv);
    const c = await group.commit([kp!.publicPackage]);
    const res = await submitCommit(deps.e2ee, a.principal, conv, {
      epoch: 0,
      commit: b64u(c.commit),
      welcome: b64u(c.welcome!),
      groupInfo: b64u(c.groupInfo),
      added: [b.principal.deviceId],
      removed: [],
      suite: 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519',
    });
    await expect
      .poll(() => sb.frames().find((f) => f.type === 'welcome'))
      .toMatchObject({
        type: 'welcome',
        conversationId: conv,
        seq: res.seq,
        welcome: b64u(c.welcome!),
      });
    for (const s of [sa, sb, sb2])
      await expect.poll(() => s.frames().find((f) => f.type === 'msg')).toMatchObject({ seq: 1, kind: 'commit' });
    expect(sb2.frames().filter((f) => f.type === 'welcome' || f.type === 'key_packages_low')).toEqual([]);
    expect(sa.frames().filter((f) => f.type === 'welcome' || f.type === 'key_packages_low')).toEqual([]);

    // The `send` frame takes the same path: plaintext is refused with a stable code, MLS is acknowledged.
    const payload = (b: Uint8Array) => Buffer.from(b).toString('base64');
    sa.clientSends({
      type: 'send',
      ref: 'r1',
      conversationId: conv,
      clientMsgId: 'w1',
      payload: payload(Buffer.from('hi')),
    });
    await expect
      .poll(() => sa.frames().find((f) => f.type === 'error' && f.ref === 'r1'))
      .toMatchObject({
        code: 'e2ee_required',
      });
    group.state = c.next;
    sa.clientSends({
      type: 'send',
      ref: 'r2',
      conversationId: conv,
      clientMsgId: 'w2',
      payload: payload(await group.message('hi')),
    });
    await expect.poll(() => sa.frames().find((f) => f.type === 'sent' && f.ref === 'r2')).toMatchObject({ seq: 2 });
    await expect.poll(() => sb2.frames().find((f) => f.type === 'msg' && f.seq === 2)).toMatchObject({ kind: 'mls' });
  });
});
